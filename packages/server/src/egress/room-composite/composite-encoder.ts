// The room composite's encoder: one ffmpeg reading the composed video as raw I420 on stdin and the mixed audio as
// s16le on fd 3, both at fixed rates (so the frame and sample counts are the timeline, and A/V sync is by
// construction), encoding H.264 (libx264) and AAC or Opus into the file. Stopped by closing its inputs: ffmpeg then
// finishes the file (MP4's index, moved to the front with +faststart).
// Writes never queue without bound: `canWrite*` says whether the pipe has room, and the compositor holds its frames
// back (and past a limit, drops them) while it has not.
import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Writable } from 'node:stream';
import type { Logger } from '@atrium/webrtc';
import { CHANNELS, SAMPLE_RATE } from './audio-mixer.js';
import { FfmpegChild } from './ffmpeg-child.js';
import type { ChildExit } from './ffmpeg-child.js';
import type { CompositeEncoding } from './composite-request.js';

/** Bytes queued in a pipe beyond which the writer waits: two video frames, or a quarter second of audio. */
const VIDEO_QUEUE_FRAMES = 2;
const AUDIO_QUEUE_BYTES = (SAMPLE_RATE / 4) * CHANNELS * 2;

export class CompositeEncoder {
  readonly exited: Promise<ChildExit>;
  private readonly child: FfmpegChild;
  private readonly video: Writable | undefined;
  private readonly audio: Writable | undefined;
  private readonly frameBytes: number;
  private isStopping = false;

  private constructor(child: FfmpegChild, enc: CompositeEncoding) {
    this.child = child;
    this.exited = child.exited;
    this.video = enc.video ? child.proc.stdio[0] as Writable : undefined;
    this.audio = enc.audio ? child.proc.stdio[3] as Writable : undefined;
    this.frameBytes = enc.video ? enc.video.width * enc.video.height * 1.5 : 0;
  }

  static async start(opts: { ffmpegPath: string; encoding: CompositeEncoding; outputPath: string; logger: Logger }): Promise<CompositeEncoder> {
    await mkdir(dirname(opts.outputPath), { recursive: true });
    const child = new FfmpegChild(opts.ffmpegPath, encoderArgs(opts.encoding, opts.outputPath), [opts.encoding.video ? 'pipe' : 'ignore', 'ignore', 'pipe', opts.encoding.audio ? 'pipe' : 'ignore'], opts.logger);
    return new CompositeEncoder(child, opts.encoding);
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get isRunning(): boolean {
    return !this.child.hasExited && !this.isStopping;
  }

  canWriteVideo(): boolean {
    return this.video !== undefined && this.isRunning && this.video.writableLength < VIDEO_QUEUE_FRAMES * this.frameBytes;
  }

  canWriteAudio(): boolean {
    return this.audio !== undefined && this.isRunning && this.audio.writableLength < AUDIO_QUEUE_BYTES;
  }

  /** Everything written so far has been read by ffmpeg. */
  isDrained(): boolean {
    return (this.video?.writableLength ?? 0) === 0 && (this.audio?.writableLength ?? 0) === 0;
  }

  writeVideo(frame: Buffer): void {
    if (this.isRunning) this.video?.write(frame);
  }

  writeAudio(pcm: Buffer): void {
    if (this.isRunning) this.audio?.write(pcm);
  }

  /** Closes the inputs so ffmpeg finishes the file; killed when that takes longer than `killAfterMs`. */
  stop(killAfterMs = 15_000): Promise<ChildExit> {
    if (!this.isStopping) {
      this.isStopping = true;
      this.video?.end();
      this.audio?.end();
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

/** ffmpeg's arguments for an encoding (exported for tests). */
export function encoderArgs(enc: CompositeEncoding, outputPath: string): string[] {
  const args: string[] = ['-nostdin'];
  // both inputs are read by their own thread (ffmpeg does so with several inputs); a few packets of slack each
  if (enc.video) {
    args.push('-thread_queue_size', '64', '-f', 'rawvideo', '-pix_fmt', 'yuv420p', '-video_size', `${enc.video.width}x${enc.video.height}`, '-framerate', String(enc.video.fps), '-i', 'pipe:0');
  }
  if (enc.audio) {
    args.push('-thread_queue_size', '64', '-f', 's16le', '-ar', String(SAMPLE_RATE), '-ac', String(CHANNELS), '-i', 'pipe:3');
  }
  if (enc.video) {
    const v = enc.video;
    args.push(
      '-map', '0:v',
      '-c:v', 'libx264', '-preset', 'veryfast', '-tune', 'zerolatency', '-profile:v', v.profile, '-pix_fmt', 'yuv420p',
      '-b:v', `${v.bitrateKbps}k`, '-maxrate', `${v.bitrateKbps}k`, '-bufsize', `${2 * v.bitrateKbps}k`,
      // a key frame every keyFrameIntervalSec exactly, none in between (players seek by them)
      '-g', String(Math.max(1, Math.round(v.keyFrameIntervalSec * v.fps))), '-sc_threshold', '0',
    );
  }
  const a = enc.audio;
  if (a) {
    args.push('-map', enc.video ? '1:a' : '0:a');
    args.push('-c:a', a.codec === 'opus' ? 'libopus' : 'aac', '-b:a', `${a.bitrateKbps}k`, '-ar', String(a.codec === 'opus' ? 48_000 : a.sampleRate), '-ac', '2');
  }
  if (enc.container.muxer === 'mp4') args.push('-movflags', '+faststart');
  args.push('-f', enc.container.muxer, '-y', outputPath);
  return args;
}
