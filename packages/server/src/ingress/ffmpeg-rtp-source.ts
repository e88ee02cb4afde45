// ffmpeg as a child process that reads a URL in real time (-re) and sends VP8 and Opus as plain RTP to two loopback
// UDP sockets of ours. Its exit is reported once: code 0 is the end of the input; anything else (or a failed spawn) is
// an error with the last lines ffmpeg wrote. `stop()` ends it (SIGTERM, then SIGKILL).
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { createSocket } from 'node:dgram';
import type { Socket } from 'node:dgram';
import type { AddressInfo } from 'node:net';

/** The RTP payload types and SSRCs ffmpeg is told to use (rewritten to the negotiated ones before sending on). */
const VIDEO_PT = 96;
const AUDIO_PT = 111;
const KILL_AFTER_MS = 2_000;
const STDERR_KEEP_BYTES = 4_096;

export interface FfmpegRtpSourceOptions {
  /** The input URL (http or https). */
  url: string;
  /** The ffmpeg binary (ATRIUM_FFMPEG, else `ffmpeg` on the PATH). */
  ffmpegPath?: string;
  videoBitrateKbps?: number;
  /** Let the input be a local file (the CLI's `atrium publish`); the server's URL input never does. */
  allowLocalFiles?: boolean;
  /** Read the input again and again (`-stream_loop -1`). */
  loop?: boolean;
  /** Which streams to send (default both; an input without one of them needs it off). */
  video?: boolean;
  audio?: boolean;
  onRtp(kind: 'audio' | 'video', packet: Buffer): void;
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

  private constructor(opts: FfmpegRtpSourceOptions) {
    this.opts = opts;
  }

  static async start(opts: FfmpegRtpSourceOptions): Promise<FfmpegRtpSource> {
    const s = new FfmpegRtpSource(opts);
    const [videoPort, audioPort] = [await s.bind('video'), await s.bind('audio')];
    s.spawn(videoPort, audioPort);
    return s;
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

  private bind(kind: 'audio' | 'video'): Promise<number> {
    return new Promise((resolve, reject) => {
      const socket = createSocket('udp4');
      socket.on('message', (msg) => {
        if (!this.stopping) this.opts.onRtp(kind, msg);
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

  private spawn(videoPort: number, audioPort: number): void {
    const kbps = this.opts.videoBitrateKbps ?? 1_500;
    const args = [
      '-hide_banner', '-nostats', '-loglevel', 'error', '-nostdin',
      // Only network protocols for the server: a playlist must not make ffmpeg open local files.
      '-protocol_whitelist', this.opts.allowLocalFiles === true ? 'file,http,https,tcp,tls,crypto' : 'http,https,tcp,tls,crypto',
      ...(this.opts.loop === true ? ['-stream_loop', '-1'] : []),
      '-re', '-i', this.opts.url,
    ];
    if (this.opts.video !== false) {
      args.push(
        // The cheapest realtime settings (cpu-used 16, one thread: measured the fastest here, 640x360 at ~20x real time
        // on an idle core): the encoder must keep up on a busy machine, where a slower one drops the frame rate.
        '-map', '0:v:0', '-c:v', 'libvpx', '-deadline', 'realtime', '-cpu-used', '16', '-threads', '1', '-pix_fmt', 'yuv420p',
        '-b:v', `${kbps}k`, '-maxrate', `${kbps}k`, '-bufsize', `${kbps * 2}k`, '-g', '60', '-auto-alt-ref', '0', '-error-resilient', '1',
        '-payload_type', String(VIDEO_PT), '-rtpflags', 'skip_rtcp', '-f', 'rtp', `rtp://127.0.0.1:${videoPort}?pkt_size=1200`,
      );
    }
    if (this.opts.audio !== false) {
      args.push(
        '-map', '0:a:0', '-c:a', 'libopus', '-application', 'audio', '-ar', '48000', '-ac', '2', '-b:a', '96k',
        '-payload_type', String(AUDIO_PT), '-rtpflags', 'skip_rtcp', '-f', 'rtp', `rtp://127.0.0.1:${audioPort}?pkt_size=1200`,
      );
    }
    const child = spawn(this.opts.ffmpegPath ?? process.env['ATRIUM_FFMPEG'] ?? 'ffmpeg', args, { stdio: ['ignore', 'ignore', 'pipe'] });
    this.child = child;
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
