// ffmpeg as a child process that reads a URL (or, for the CLI's `atrium publish`, a local file) in real time (-re), or
// FLV on its stdin (an RTMP publish), and sends VP8 (one stream, or one per simulcast layer, each scaled to its size)
// and Opus as plain RTP to loopback UDP sockets of ours. Its exit is reported once: code 0 is the end of the input; anything else (or a failed spawn) is an error with
// the last lines ffmpeg wrote. `stop()` ends it (SIGTERM, then SIGKILL).
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import type { Writable } from 'node:stream';
import { createSocket } from 'node:dgram';
import type { Socket } from 'node:dgram';
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import { rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freeRtpPorts, rtpInputArgs, waitPortsBound } from '../egress/ffmpeg-muxer.js';
import { ffmpegSdp } from '../egress/rtp-sdp.js';
import type { RtpFormat } from '../egress/track-container.js';

/** The RTP payload types and SSRCs ffmpeg is told to use (rewritten to the negotiated ones before sending on). */
const VIDEO_PT = 96;
const AUDIO_PT = 111;
const KILL_AFTER_MS = 2_000;
const STDERR_KEEP_BYTES = 4_096;
const INPUT_READY_MS = 5_000;

/** One encoded video stream: a simulcast layer (scaled to fit width x height, aspect kept) or the only one. */
export interface VideoEncoding {
  /** 0 = the input's size. */
  width: number;
  height: number;
  kbps: number;
}

export interface FfmpegRtpSourceOptions {
  /** The input URL (http or https; a local file with allowLocalFiles), read in real time. */
  url?: string;
  /** Instead of `url`: FLV written to ffmpeg's stdin (`input` of the source), already in real time (RTMP). */
  flvStdin?: boolean;
  /**
   * Instead of `url`: RTP streams (at most one video and one audio) sent to loopback UDP ports of ffmpeg's
   * (`inputPorts`, in this order), described to it by an SDP file as egress does (WHIP transcoding). `start` returns
   * once ffmpeg holds the ports.
   */
  rtpInput?: readonly RtpFormat[];
  /** The ffmpeg binary (ATRIUM_FFMPEG, else `ffmpeg` on the PATH). */
  ffmpegPath?: string;
  /** The single video stream's bitrate when `videoLayers` is not given (default 1.5 Mbps). */
  videoBitrateKbps?: number;
  /** Let the input be a local file (the CLI's `atrium publish`); the server's URL input never does. */
  allowLocalFiles?: boolean;
  /** Read the input again and again (`-stream_loop -1`). */
  loop?: boolean;
  /** Which streams to send (default both; an input without one of them needs it off). */
  video?: boolean;
  audio?: boolean;
  /** The video streams, lowest first (default: one at the input's size); more than one is simulcast. */
  videoLayers?: readonly VideoEncoding[];
  /** Output frame rate (default: the input's). */
  frameRate?: number;
  audioKbps?: number;
  audioChannels?: 1 | 2;
  /** `layer`: the index in `videoLayers` (0 for audio and a single video stream). */
  onRtp(kind: 'audio' | 'video', packet: Buffer, layer: number): void;
  /** Once: `error` undefined at the end of the input, else why ffmpeg failed. */
  onExit(error: string | undefined): void;
}

export class FfmpegRtpSource {
  private readonly opts: FfmpegRtpSourceOptions;
  private child: ChildProcess | undefined;
  private readonly sockets: Socket[] = [];
  private stderrTail = '';
  private exited = false;
  private stopping = false;
  private killTimer: NodeJS.Timeout | undefined;
  private sdpPath: string | undefined;
  /** With `rtpInput`: the port of each input stream, in its order. */
  inputPorts: readonly number[] = [];

  private constructor(opts: FfmpegRtpSourceOptions) {
    this.opts = opts;
  }

  static async start(opts: FfmpegRtpSourceOptions): Promise<FfmpegRtpSource> {
    const s = new FfmpegRtpSource(opts);
    if (opts.url === undefined && opts.flvStdin !== true && opts.rtpInput === undefined) throw new Error('ffmpeg needs an input: url, flvStdin or rtpInput');
    const videoPorts: number[] = [];
    if (opts.video !== false) for (let i = 0; i < s.videoEncodings.length; i++) videoPorts.push(await s.bind('video', i));
    const audioPort = opts.audio !== false ? await s.bind('audio', 0) : undefined;
    if (opts.rtpInput !== undefined) {
      s.inputPorts = await freeRtpPorts(opts.rtpInput.length);
      s.sdpPath = join(tmpdir(), `atrium-ingress-${randomUUID()}.sdp`);
      await writeFile(s.sdpPath, ffmpegSdp(opts.rtpInput.map((format, i) => ({ format, port: s.inputPorts[i]! }))));
    }
    s.spawn(videoPorts, audioPort);
    if (opts.rtpInput !== undefined && !(await waitPortsBound(s.inputPorts, () => s.exited, INPUT_READY_MS))) {
      s.stop();
      throw new Error(s.exited ? 'ffmpeg exited before it opened its RTP input' : `ffmpeg did not open its RTP input within ${INPUT_READY_MS} ms`);
    }
    return s;
  }

  private get videoEncodings(): readonly VideoEncoding[] {
    const layers = this.opts.videoLayers;
    return layers && layers.length > 0 ? layers : [{ width: 0, height: 0, kbps: this.opts.videoBitrateKbps ?? 1_500 }];
  }

  /** ffmpeg's stdin (FLV input), undefined for a URL input or once ffmpeg is gone. */
  get input(): Writable | undefined {
    return this.exited ? undefined : (this.child?.stdin ?? undefined);
  }

  /** ffmpeg's process id (for CPU accounting), once spawned. */
  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** Ends ffmpeg; its exit is then not an error. */
  stop(): void {
    this.stopping = true;
    this.closeSockets();
    const child = this.child;
    if (!child || this.exited) return;
    child.kill('SIGTERM');
    this.killTimer = setTimeout(() => child.kill('SIGKILL'), KILL_AFTER_MS);
    this.killTimer.unref();
  }

  private bind(kind: 'audio' | 'video', layer: number): Promise<number> {
    return new Promise((resolve, reject) => {
      const socket = createSocket('udp4');
      socket.on('message', (msg) => {
        if (!this.stopping) this.opts.onRtp(kind, msg, layer);
      });
      socket.once('error', reject);
      socket.bind(0, '127.0.0.1', () => {
        socket.off('error', reject);
        socket.on('error', () => {});
        this.sockets.push(socket);
        resolve((socket.address() as AddressInfo).port);
      });
    });
  }

  private spawn(videoPorts: readonly number[], audioPort: number | undefined): void {
    const layers = this.videoEncodings;
    const { url, rtpInput } = this.opts;
    const input = rtpInput !== undefined && this.sdpPath !== undefined
      ? rtpInputArgs(this.sdpPath)
      : url !== undefined
      ? [
        // Only network protocols for the server: a playlist must not make ffmpeg open local files.
        '-protocol_whitelist', this.opts.allowLocalFiles === true ? 'file,http,https,tcp,tls,crypto' : 'http,https,tcp,tls,crypto',
        ...(this.opts.loop === true ? ['-stream_loop', '-1'] : []),
        '-re', '-i', url,
      ]
      // FLV from an RTMP publisher arrives in real time already; a short probe so the first frames go out at once.
      : ['-f', 'flv', '-probesize', '500000', '-analyzeduration', '1000000', '-i', 'pipe:0'];
    const fps = this.opts.frameRate !== undefined && this.opts.frameRate > 0 ? `fps=${this.opts.frameRate},` : '';
    // One decode, split into a scaled branch per layer (sizes fit inside the layer's box, even, aspect kept).
    const scaled = layers.map((l, i) => (l.width > 0 && l.height > 0
      ? `[s${i}]scale=w=${l.width}:h=${l.height}:force_original_aspect_ratio=decrease:force_divisible_by=2[v${i}]`
      : `[s${i}]null[v${i}]`));
    const graph = `[0:v:0]${fps}format=yuv420p,split=${layers.length}${layers.map((_l, i) => `[s${i}]`).join('')};${scaled.join(';')}`;
    const videoOut = layers.flatMap((l, i) => [
      // The cheapest realtime settings (cpu-used 16, one thread: measured the fastest here, 640x360 at ~20x real time
      // on an idle core): the encoder must keep up on a busy machine, where a slower one drops the frame rate.
      '-map', `[v${i}]`, '-c:v', 'libvpx', '-deadline', 'realtime', '-cpu-used', '16', '-threads', '1',
      '-b:v', `${l.kbps}k`, '-maxrate', `${l.kbps}k`, '-bufsize', `${l.kbps * 2}k`, '-g', '60', '-auto-alt-ref', '0', '-error-resilient', '1',
      '-payload_type', String(VIDEO_PT), '-rtpflags', 'skip_rtcp', '-f', 'rtp', `rtp://127.0.0.1:${videoPorts[i]}?pkt_size=1200`,
    ]);
    const audioOut = audioPort === undefined ? [] : [
      '-map', '0:a:0', '-c:a', 'libopus', '-application', 'audio', '-ar', '48000', '-ac', String(this.opts.audioChannels ?? 2),
      '-b:a', `${this.opts.audioKbps ?? 96}k`,
      '-payload_type', String(AUDIO_PT), '-rtpflags', 'skip_rtcp', '-f', 'rtp', `rtp://127.0.0.1:${audioPort}?pkt_size=1200`,
    ];
    const args = [
      '-hide_banner', '-nostats', '-loglevel', 'error', ...(this.opts.flvStdin !== true ? ['-nostdin'] : []),
      ...input,
      ...(videoPorts.length > 0 ? ['-filter_complex', graph, ...videoOut] : []),
      ...audioOut,
    ];
    const stdin = this.opts.flvStdin !== true ? 'ignore' : 'pipe';
    const child = spawn(this.opts.ffmpegPath ?? process.env['ATRIUM_FFMPEG'] ?? 'ffmpeg', args, { stdio: [stdin, 'ignore', 'pipe'] });
    this.child = child;
    // A write after ffmpeg died (EPIPE) is seen as its exit; the stream must not throw.
    child.stdin?.on('error', () => {});
    child.stderr?.on('data', (chunk: Buffer) => {
      this.stderrTail = (this.stderrTail + chunk.toString('utf8')).slice(-STDERR_KEEP_BYTES);
    });
    child.once('error', (err) => this.exit(`ffmpeg could not start: ${err.message}`));
    child.once('exit', (code, signal) => {
      if (code === 0 || this.stopping) return this.exit(undefined);
      const last = this.stderrTail.trim().split('\n').slice(-3).join(' | ');
      this.exit(`ffmpeg exited with ${code !== null ? `code ${code}` : `signal ${signal ?? '?'}`}${last ? `: ${last}` : ''}`);
    });
  }

  private exit(error: string | undefined): void {
    if (this.exited) return;
    this.exited = true;
    if (this.killTimer) clearTimeout(this.killTimer);
    this.closeSockets();
    if (this.sdpPath !== undefined) void rm(this.sdpPath, { force: true });
    this.opts.onExit(error);
  }

  private closeSockets(): void {
    for (const s of this.sockets.splice(0)) {
      try {
        s.close();
      } catch {
        // already closed
      }
    }
  }
}
