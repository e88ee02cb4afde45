// The room composite's encoder: one ffmpeg reading the composed video (raw I420) and the mixed audio (s16le) as one
// live Matroska stream on stdin, every frame and audio chunk with its wall-clock timestamp (mkv-writer.ts), encoding
// H.264 (libx264) and AAC or Opus into the file. Video is made constant-rate by ffmpeg (-fps_mode cfr): a frame we
// did not hand over (the encoder behind) becomes a repeat of the previous one at its time, so audio and video keep
// the wall clock's timeline and stay aligned. Stopped by closing stdin: ffmpeg then finishes the file (MP4's index,
// moved to the front with +faststart).
// Writes never queue without bound: `canWrite*` says whether the pipe has room; the compositor skips a frame (and
// past a larger bound an audio chunk) while it has not.
import { mkdir } from 'node:fs/promises';
import { dirname, join as joinPath } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import type { Logger } from '@atrium/webrtc';
import { CHANNELS, SAMPLE_RATE } from './audio-mixer.js';
import { FfmpegChild } from './ffmpeg-child.js';
import type { ChildExit } from './ffmpeg-child.js';
import type { CompositeEncoding } from './composite-request.js';
import { MkvWriter } from './mkv-writer.js';
import { ffmpegOutputArgs } from '../egress-outputs.js';
import type { OutputPlan } from '../egress-outputs.js';

/** Bytes queued in the pipe beyond which a video frame is skipped: two frames. Audio waits past eight (or 1 s). */
const VIDEO_QUEUE_FRAMES = 2;
const AUDIO_QUEUE_FRAMES = 8;
const AUDIO_QUEUE_MIN_BYTES = SAMPLE_RATE * CHANNELS * 2;

export class CompositeEncoder {
  readonly exited: Promise<ChildExit>;
  private readonly child: FfmpegChild;
  private readonly input: Writable;
  private readonly mkv: MkvWriter;
  private readonly frameBytes: number;
  private isStopping = false;

  private constructor(child: FfmpegChild, enc: CompositeEncoding) {
    this.child = child;
    this.exited = child.exited;
    this.input = child.proc.stdio[0] as Writable;
    this.frameBytes = enc.video ? enc.video.width * enc.video.height * 1.5 : 0;
    this.mkv = new MkvWriter({
      ...(enc.video ? { video: { width: enc.video.width, height: enc.video.height } } : {}),
      ...(enc.audio ? { audio: { sampleRate: SAMPLE_RATE, channels: CHANNELS } } : {}),
    });
    this.input.write(this.mkv.header());
  }

  /**
   * Starts the encoder writing `outputPath`, or with `plan` every output of the plan (file, HLS, images; a stream
   * output's MPEG-TS on stdout, for the stream fan-out).
   */
  static async start(opts: { ffmpegPath: string; encoding: CompositeEncoding; outputPath: string; logger: Logger; plan?: OutputPlan }): Promise<CompositeEncoder> {
    const { plan } = opts;
    const dirs = [opts.outputPath, plan?.segments && joinPath(plan.segments.localDir, plan.segments.segmentPrefix), plan?.image && joinPath(plan.image.localDir, plan.image.prefix)];
    for (const d of new Set(dirs.filter((x): x is string => x !== undefined && x !== '').map((x) => dirname(x)))) await mkdir(d, { recursive: true });
    const child = new FfmpegChild(opts.ffmpegPath, encoderArgs(opts.encoding, opts.outputPath, plan), ['pipe', plan?.stream ? 'pipe' : 'ignore', 'pipe'], opts.logger);
    return new CompositeEncoder(child, opts.encoding);
  }

  /** The encoder's MPEG-TS for the stream outputs (started with a plan that has one). */
  get stdout(): Readable | undefined {
    return (this.child.proc.stdout ?? undefined) as Readable | undefined;
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  /** Called once when ffmpeg says it cannot write an output (a full disk): the recording is failing now. */
  set onWriteError(fn: ((line: string) => void) | undefined) {
    this.child.stderrTail.onWriteError = fn;
  }

  get isRunning(): boolean {
    return !this.child.hasExited && !this.isStopping;
  }

  canWriteVideo(): boolean {
    return this.mkv.videoTrack !== undefined && this.isRunning && this.input.writableLength < VIDEO_QUEUE_FRAMES * this.frameBytes;
  }

  canWriteAudio(): boolean {
    return this.mkv.audioTrack !== undefined && this.isRunning && this.input.writableLength < Math.max(AUDIO_QUEUE_MIN_BYTES, AUDIO_QUEUE_FRAMES * this.frameBytes);
  }

  /** Everything written so far has been read by ffmpeg. */
  isDrained(): boolean {
    return this.input.writableLength === 0;
  }

  /** A frame (I420 at the encoding's size) shown from `timeMs` on the file's timeline. */
  writeVideo(frame: Buffer, timeMs: number): void {
    if (!this.isRunning || this.mkv.videoTrack === undefined) return;
    for (const b of this.mkv.block(this.mkv.videoTrack, timeMs, frame)) this.input.write(b);
  }

  /** s16le stereo 48 kHz starting at `timeMs`. */
  writeAudio(pcm: Buffer, timeMs: number): void {
    if (!this.isRunning || this.mkv.audioTrack === undefined) return;
    for (const b of this.mkv.block(this.mkv.audioTrack, timeMs, pcm)) this.input.write(b);
  }

  /** Closes the input so ffmpeg finishes the file; killed when that takes longer than `killAfterMs`. */
  stop(killAfterMs = 15_000): Promise<ChildExit> {
    if (!this.isStopping) {
      this.isStopping = true;
      this.input.end();
      const kill = setTimeout(() => this.child.kill(), killAfterMs);
      kill.unref();
      void this.exited.then(() => clearTimeout(kill));
    }
    return this.exited;
  }

  kill(): void {
    this.child.kill();
  }
}

/** ffmpeg's arguments for an encoding, into `outputPath` or the plan's outputs (exported for tests). */
export function encoderArgs(enc: CompositeEncoding, outputPath: string, plan?: OutputPlan): string[] {
  const live = plan !== undefined && (plan.segments !== undefined || plan.stream !== undefined);
  // the stream's header says everything about its tracks: no need to wait for probing
  const args: string[] = ['-nostdin', '-probesize', '32768', '-analyzeduration', '0', '-f', 'matroska', '-i', 'pipe:0'];
  if (enc.video) {
    const v = enc.video;
    args.push(
      '-map', '0:v',
      // constant rate: a missing frame is the previous one repeated at its time
      '-fps_mode', 'cfr', '-r', String(v.fps),
      '-c:v', 'libx264', '-preset', 'veryfast', '-tune', 'zerolatency', '-profile:v', v.profile, '-pix_fmt', 'yuv420p',
      '-b:v', `${v.bitrateKbps}k`, '-maxrate', `${v.bitrateKbps}k`, '-bufsize', `${2 * v.bitrateKbps}k`,
      // a key frame every keyFrameIntervalSec exactly, none in between (players seek by them)
      '-g', String(Math.max(1, Math.round(v.keyFrameIntervalSec * v.fps))), '-sc_threshold', '0',
      // SPS/PPS with every key frame: each HLS segment and a stream joined later decode on their own
      ...(live ? ['-x264-params', 'repeat-headers=1'] : []),
    );
  }
  const a = enc.audio;
  if (a) {
    args.push('-map', '0:a');
    args.push('-c:a', a.codec === 'opus' ? 'libopus' : 'aac', '-b:a', `${a.bitrateKbps}k`, '-ar', String(a.codec === 'opus' ? 48_000 : a.sampleRate), '-ac', '2');
  }
  if (plan) {
    // the tee muxer's MP4 and HLS want the codec headers out of band
    args.push('-flags', '+global_header');
    args.push(...ffmpegOutputArgs(plan, { videoInput: enc.video ? '0:v' : undefined }));
    return args;
  }
  if (enc.container.muxer === 'mp4') args.push('-movflags', '+faststart');
  args.push('-f', enc.container.muxer, '-y', outputPath);
  return args;
}
