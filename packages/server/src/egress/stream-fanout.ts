// The stream outputs of one egress: the encoder writes MPEG-TS (H.264 + AAC) to its stdout, and one small ffmpeg per
// RTMP/RTMPS URL copies it to FLV (`-c copy`, no encoding). Adding or removing a URL (UpdateStream) starts or stops
// only that process; the file and segments of the same egress never notice. A URL whose ffmpeg fails (connection
// refused, the server went away) becomes FAILED with ffmpeg's reason and the egress goes on. Bounded: a URL whose
// ffmpeg does not keep up (more than MAX_PENDING_BYTES queued) is failed rather than queued without limit, and the
// encoder's output is read and dropped when no URL takes it, so the encoder never blocks.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import type { Readable } from 'node:stream';
import type { Logger } from '@atrium/webrtc';
import { redactStreamUrl, streamInfo } from './egress-outputs.js';
import type { StreamState } from './egress-outputs.js';
import type { StreamInfo } from '@livekit/protocol';

const MAX_PENDING_BYTES = 8 * 1024 * 1024;
/** After the input ended (or a removal), a stream ffmpeg that has not exited is killed. */
const FINISH_TIMEOUT_MS = 5_000;
const STDERR_LINES_KEPT = 6;

interface Pusher {
  state: StreamState;
  proc: ChildProcess;
  tail: string[];
  isRemoving: boolean;
  exited: Promise<void>;
}

export interface StreamFanoutOptions {
  ffmpegPath: string;
  logger: Logger;
  nowMs: () => number;
  /** A URL's state changed (EgressInfo.stream_results, egress_updated). */
  onChange?: () => void;
}

export class StreamFanout {
  private readonly opts: StreamFanoutOptions;
  private readonly pushers: Pusher[] = [];
  private isInputEnded = false;

  constructor(opts: StreamFanoutOptions) {
    this.opts = opts;
  }

  /** Reads the encoder's MPEG-TS and hands each chunk to every live URL. */
  attach(input: Readable): void {
    input.on('data', (chunk: Buffer) => {
      for (const p of this.pushers) {
        if (p.state.status !== 'active' || p.isRemoving) continue;
        const stdin = p.proc.stdin;
        if (!stdin || stdin.destroyed) continue;
        if (stdin.writableLength > MAX_PENDING_BYTES) {
          this.failPusher(p, `the stream is not keeping up (more than ${MAX_PENDING_BYTES / 1024 / 1024} MB pending)`);
          continue;
        }
        stdin.write(chunk);
      }
    });
    input.on('end', () => this.endInput());
    input.on('error', () => this.endInput());
  }

  get urls(): string[] {
    return this.pushers.filter((p) => p.state.status === 'active' && !p.isRemoving).map((p) => p.state.url);
  }

  /** Every URL ever pushed to, as StreamInfo (redacted). */
  results(): StreamInfo[] {
    return this.pushers.map((p) => streamInfo(p.state));
  }

  add(url: string): void {
    if (this.isInputEnded) return;
    const args = [
      '-hide_banner', '-loglevel', 'error', '-nostats',
      '-f', 'mpegts', '-i', 'pipe:0',
      '-map', '0', '-c', 'copy', '-f', 'flv',
      // the TCP connection: fail rather than hang when the server does not answer
      '-rw_timeout', '10000000',
      url,
    ];
    const proc = spawn(this.opts.ffmpegPath, args, { stdio: ['pipe', 'ignore', 'pipe'] });
    const p: Pusher = { state: { url, status: 'active', startedAtMs: this.opts.nowMs() }, proc, tail: [], isRemoving: false, exited: Promise.resolve() };
    proc.stdin?.on('error', () => {});
    proc.stderr?.setEncoding('utf8');
    proc.stderr?.on('data', (chunk: string) => {
      for (const line of chunk.split(/\r?\n/)) {
        const t = line.trim().split(url).join(redactStreamUrl(url));
        if (t === '') continue;
        p.tail.push(t);
        if (p.tail.length > STDERR_LINES_KEPT) p.tail.shift();
        this.opts.logger.debug({ stream: redactStreamUrl(url), ffmpeg: t }, 'stream ffmpeg');
      }
    });
    p.exited = new Promise<void>((resolve) => {
      const done = (code: number | null, signal: NodeJS.Signals | null, err?: Error): void => {
        if (p.state.status === 'active') {
          if ((p.isRemoving || this.isInputEnded) && code === 0) this.finishPusher(p, 'finished');
          else this.finishPusher(p, 'failed', err ? `ffmpeg could not start: ${err.message}` : `stream ended (${signal ?? `code ${code}`})${p.tail.length ? `: ${p.tail.slice(-2).join(' | ')}` : ''}`);
        }
        resolve();
      };
      proc.once('error', (err) => done(null, null, err));
      proc.once('exit', (code, signal) => done(code, signal));
    });
    this.pushers.push(p);
    this.opts.logger.info({ stream: redactStreamUrl(url) }, 'stream output started');
    this.opts.onChange?.();
  }

  /** Stops pushing to `url` (its FLV is ended cleanly); false when it is not an active URL. */
  remove(url: string): boolean {
    const p = this.pushers.find((x) => x.state.url === url && x.state.status === 'active' && !x.isRemoving);
    if (!p) return false;
    p.isRemoving = true;
    p.proc.stdin?.end();
    const kill = setTimeout(() => p.proc.kill('SIGKILL'), FINISH_TIMEOUT_MS);
    kill.unref();
    void p.exited.then(() => clearTimeout(kill));
    return true;
  }

  private finishPusher(p: Pusher, status: 'finished' | 'failed', error?: string): void {
    p.state.status = status;
    p.state.endedAtMs = this.opts.nowMs();
    if (error !== undefined) p.state.error = error;
    const log = { stream: redactStreamUrl(p.state.url), status, error };
    if (status === 'failed') this.opts.logger.warn(log, 'stream output failed');
    else this.opts.logger.info(log, 'stream output finished');
    this.opts.onChange?.();
  }

  private failPusher(p: Pusher, error: string): void {
    this.finishPusher(p, 'failed', error);
    p.proc.kill('SIGKILL');
  }

  private endInput(): void {
    if (this.isInputEnded) return;
    this.isInputEnded = true;
    for (const p of this.pushers) if (p.state.status === 'active') p.proc.stdin?.end();
  }

  /** Ends every URL (after the encoder finished, its stdout closes them) and waits, killing stragglers. */
  async close(): Promise<void> {
    this.endInput();
    const kill = setTimeout(() => {
      for (const p of this.pushers) p.proc.kill('SIGKILL');
    }, FINISH_TIMEOUT_MS);
    kill.unref();
    await Promise.all(this.pushers.map((p) => p.exited));
    clearTimeout(kill);
  }
}
