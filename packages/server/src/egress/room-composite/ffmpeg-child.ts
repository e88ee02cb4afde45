// An ffmpeg child process of the room composite (a track decoder or the encoder): spawned with the given stdio, its
// stderr kept (last lines, for the reason it died) and logged at debug, and one promise for how it ended.
import { spawn } from 'node:child_process';
import type { ChildProcess, StdioOptions } from 'node:child_process';
import type { Logger } from '@atrium/webrtc';
import { StderrTail } from '../ffmpeg-stderr.js';

export interface ChildExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** Set when it could not be started at all. */
  spawnError?: string;
  /** ffmpeg's last error lines. */
  tail: string;
  /** The line by which ffmpeg said it could not write an output (it exits 0 on a full disk all the same). */
  writeError?: string;
}

const STDERR_LINES_KEPT = 8;

export class FfmpegChild {
  readonly proc: ChildProcess;
  readonly exited: Promise<ChildExit>;
  hasExited = false;
  readonly stderrTail: StderrTail;

  constructor(ffmpegPath: string, args: readonly string[], stdio: StdioOptions, log: Logger) {
    const proc = spawn(ffmpegPath, ['-hide_banner', '-loglevel', process.env['ATRIUM_EGRESS_FFMPEG_LOG'] ?? 'warning', ...args], { stdio });
    this.proc = proc;
    this.stderrTail = new StderrTail(proc.stderr, STDERR_LINES_KEPT, log);
    // a dead ffmpeg closes its pipes: our writes then must not throw EPIPE at the server
    for (const s of proc.stdio) s?.on('error', () => {});
    this.exited = new Promise<ChildExit>((resolve) => {
      const done = (code: number | null, signal: NodeJS.Signals | null, spawnError?: Error): void => {
        if (this.hasExited) return;
        this.hasExited = true;
        const writeError = this.stderrTail.writeError;
        resolve({ code, signal, ...(spawnError ? { spawnError: spawnError.message } : {}), tail: this.stderrTail.last(3), ...(writeError !== undefined ? { writeError } : {}) });
      };
      proc.once('error', (err) => done(null, null, err));
      proc.once('exit', (code, signal) => done(code, signal));
    });
  }

  get pid(): number | undefined {
    return this.proc.pid;
  }

  kill(): void {
    if (!this.hasExited) this.proc.kill('SIGKILL');
  }
}

/** "ffmpeg exited (code 1): <its last lines>" */
export function describeExit(what: string, exit: ChildExit): string {
  if (exit.spawnError !== undefined) return `${what} could not start: ${exit.spawnError}`;
  if (exit.writeError !== undefined) return `${what} could not write its output: ${exit.writeError}`;
  const how = exit.signal !== null ? `signal ${exit.signal}` : `code ${exit.code ?? '?'}`;
  return exit.tail ? `${what} exited (${how}): ${exit.tail}` : `${what} exited (${how})`;
}
