// Decodes one subscribed track for the compositor: ffmpeg receives its RTP on loopback UDP (the SDP the track egress
// uses, fed by an RtpRelay) and writes raw media on stdout. Video comes out as I420 at one fixed size, the source
// letterboxed into it (sources change size mid-stream when the publisher adapts; a fixed size keeps frame boundaries
// on stdout trivial); audio as s16le 48 kHz stereo. The input never times out: a muted track sends nothing for as long
// as it is muted, and the decoder is killed when its track goes away or the egress ends.
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '@atrium/webrtc';
import { allPortsBound, freePortPair } from '../ffmpeg-muxer.js';
import { ffmpegSdp } from '../rtp-sdp.js';
import type { RtpFormat } from '../track-container.js';
import { CHANNELS, SAMPLE_RATE } from './audio-mixer.js';
import { FfmpegChild } from './ffmpeg-child.js';
import type { ChildExit } from './ffmpeg-child.js';
import { i420Size } from './i420.js';

export interface TrackDecoderOptions {
  ffmpegPath: string;
  format: RtpFormat;
  /** Where the SDP file goes (a private directory of the egress). */
  workDir: string;
  /** The size of the decoded video frames (even numbers). */
  videoSize: { width: number; height: number };
  logger: Logger;
  /** A decoded frame (video: one I420 frame; audio: some s16le stereo frames, whole samples). */
  onData: (data: Buffer) => void;
  readyTimeoutMs?: number;
}

export class TrackDecoder {
  readonly port: number;
  readonly kind: 'audio' | 'video';
  readonly exited: Promise<ChildExit>;
  private readonly child: FfmpegChild;

  private constructor(child: FfmpegChild, port: number, kind: 'audio' | 'video') {
    this.child = child;
    this.port = port;
    this.kind = kind;
    this.exited = child.exited;
  }

  static async start(opts: TrackDecoderOptions): Promise<TrackDecoder> {
    const kind = opts.format.encodingName === 'opus' ? 'audio' : 'video';
    await mkdir(opts.workDir, { recursive: true });
    const port = await freePortPair();
    const sdpPath = join(opts.workDir, `decode-${port}.sdp`);
    await writeFile(sdpPath, ffmpegSdp([{ format: opts.format, port }]));
    const { width, height } = opts.videoSize;
    const output = kind === 'video'
      ? ['-an', '-vf', `scale=${width}:${height}:force_original_aspect_ratio=decrease,pad=${width}:${height}:(ow-iw)/2:(oh-ih)/2,format=yuv420p`,
        // every decoded frame, stamped in the input's 90 kHz time base (a coarser one collides and drops frames)
        '-fps_mode', 'passthrough', '-enc_time_base', '-1', '-f', 'rawvideo', 'pipe:1']
      : ['-vn', '-ar', String(SAMPLE_RATE), '-ac', String(CHANNELS), '-f', 's16le', 'pipe:1'];
    const args = [
      '-nostdin', '-protocol_whitelist', 'file,udp,rtp',
      '-listen_timeout', '-1',
      '-reorder_queue_size', '32',
      // a second of probing at most: enough to learn a VP8/H.264 frame size from the first key frame
      '-analyzeduration', '1000000', '-flags', 'low_delay',
      '-i', sdpPath,
      ...output,
    ];
    const child = new FfmpegChild(opts.ffmpegPath, args, ['ignore', 'pipe', 'pipe'], opts.logger);
    void child.exited.then(() => rm(sdpPath, { force: true }));
    const decoder = new TrackDecoder(child, port, kind);
    decoder.readOutput(kind === 'video' ? i420Size(width, height) : 2 * CHANNELS, kind === 'video', opts.onData);
    const deadline = performance.now() + (opts.readyTimeoutMs ?? 5_000);
    while (!child.hasExited) {
      if (await allPortsBound([port])) return decoder;
      if (performance.now() > deadline) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    child.kill();
    await child.exited;
    throw new Error('the decoder ffmpeg did not open its RTP port');
  }

  /** Cuts stdout into whole units: one frame per call for video, whole sample frames for audio. */
  private readOutput(unit: number, isVideo: boolean, onData: (b: Buffer) => void): void {
    let pending: Buffer[] = [];
    let pendingBytes = 0;
    this.child.proc.stdout?.on('data', (chunk: Buffer) => {
      pending.push(chunk);
      pendingBytes += chunk.length;
      if (pendingBytes < unit) return;
      const all = pending.length === 1 ? pending[0]! : Buffer.concat(pending, pendingBytes);
      const whole = pendingBytes - (pendingBytes % unit);
      if (isVideo) {
        // only the newest complete frame matters to the compositor; older ones in the same read are skipped
        onData(Buffer.from(all.subarray(whole - unit, whole)));
      } else {
        onData(Buffer.from(all.subarray(0, whole)));
      }
      const rest = all.subarray(whole);
      pending = rest.length > 0 ? [Buffer.from(rest)] : [];
      pendingBytes = rest.length;
    });
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  /** Nothing to finalize: the decoder is killed. */
  stop(): void {
    this.child.kill();
  }
}
