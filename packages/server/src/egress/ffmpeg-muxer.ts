// One ffmpeg process that receives RTP streams on loopback UDP (described by an SDP file) and writes its outputs
// (copied, or transcoded: egress-outputs.ts). Its input never times out, so a muted or silent track keeps the
// recording going (the gap stays in the timestamps; a transcode fills it). Stopped with 'q' on its stdin so it
// finalizes its outputs. ffmpeg reads its stdin only between input packets: while media flows that is at once, and
// when none comes (muted, publisher gone) the caller's `wake` sends a packet that adds nothing (RtpRelay.wake) every
// WAKE_INTERVAL_MS. Signals are no shortcut: one SIGINT waits for the same read, and the second one that would
// interrupt it also aborts writing the trailer (an empty file). Not finished after KILL_AFTER_MS: killed, a failure.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Logger } from '@atrium/webrtc';
import { ffmpegSdp } from './rtp-sdp.js';
import { StderrTail } from './ffmpeg-stderr.js';
import type { OutputContainer, RtpFormat } from './track-container.js';

export interface MuxerExit {
  /** True when ffmpeg finished because we asked it to, with exit code 0. */
  isClean: boolean;
  /** Why it is not clean: exit code or signal and ffmpeg's last error lines. */
  reason: string;
}

const STDERR_LINES_KEPT = 12;
/** After 'q', ffmpeg is killed when it has not exited after this long. */
const KILL_AFTER_MS = 15_000;
const WAKE_INTERVAL_MS = 250;

/** A UDP port pair (RTP on an even port, ffmpeg also binds the next one for RTCP) free at the time of asking. */
export async function freePortPair(): Promise<number> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const a = createSocket('udp4');
    const port = await new Promise<number>((resolve, reject) => {
      a.once('error', reject);
      a.bind(0, '127.0.0.1', () => resolve(a.address().port));
    });
    a.close();
    const even = port - (port % 2);
    if (even >= 1024 && even < 65534 && (await isPortFree(even)) && (await isPortFree(even + 1))) return even;
  }
  throw new Error('no free UDP port pair for ffmpeg');
}

function isPortFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createSocket('udp4');
    s.once('error', () => {
      s.close();
      resolve(false);
    });
    s.bind(port, '127.0.0.1', () => {
      s.close();
      resolve(true);
    });
  });
}

/**
 * Whether every port is bound by now. Read from /proc/net/udp where there is one (a probe bind could take a port at
 * the very moment ffmpeg binds it, and make it fail); elsewhere by trying to bind.
 */
export async function allPortsBound(ports: readonly number[]): Promise<boolean> {
  let table: string | undefined;
  try {
    table = await readFile('/proc/net/udp', 'utf8');
  } catch {
    table = undefined;
  }
  if (table === undefined) {
    for (const p of ports) if (await isPortFree(p)) return false;
    return true;
  }
  // "  sl  local_address rem_address ...": the local address is HEXIP:HEXPORT
  const bound = new Set<number>();
  for (const line of table.split('\n').slice(1)) {
    const local = line.trim().split(/\s+/)[1];
    const port = local ? parseInt(local.split(':')[1] ?? '', 16) : NaN;
    if (Number.isFinite(port)) bound.add(port);
  }
  return ports.every((p) => bound.has(p));
}

/** Waits until ffmpeg holds every port (packets sent earlier would be lost); false when it exited or took too long. */
export async function waitPortsBound(ports: readonly number[], hasExited: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = performance.now() + timeoutMs;
  while (!hasExited()) {
    if (await allPortsBound(ports)) return true;
    if (performance.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 20));
  }
  return false;
}

/** ffmpeg's input arguments for RTP streams on loopback UDP described by the SDP file at `sdpPath`. */
export function rtpInputArgs(sdpPath: string): string[] {
  return [
    '-protocol_whitelist', 'file,udp,rtp',
    // no input timeout: a muted track sends nothing for as long as it is muted (stop() wakes ffmpeg instead)
    '-listen_timeout', '-1',
    // loopback reorders nothing, but retransmissions (NACKed by the subscribing participant) come late: a short queue
    // puts them back in order while keeping ffmpeg's latency and memory low
    '-reorder_queue_size', '32',
    '-i', sdpPath,
  ];
}

/** Ports for `count` RTP streams (each an even port, its RTCP on the next), distinct. */
export async function freeRtpPorts(count: number): Promise<number[]> {
  const ports: number[] = [];
  while (ports.length < count) {
    const port = await freePortPair();
    if (!ports.includes(port)) ports.push(port);
  }
  return ports;
}

export class FfmpegMuxer {
  /** The RTP port of each stream, in the order of `formats` (RTCP on the next port). */
  readonly ports: readonly number[];
  readonly exited: Promise<MuxerExit>;
  private readonly proc: ChildProcess;
  private readonly sdpPath: string;
  private readonly stderrTail: StderrTail;
  private isStopping = false;
  private hasExited = false;

  private constructor(proc: ChildProcess, ports: readonly number[], sdpPath: string, log: Logger) {
    this.proc = proc;
    this.ports = ports;
    this.sdpPath = sdpPath;
    this.stderrTail = new StderrTail(proc.stderr, STDERR_LINES_KEPT, log);
    // A dead ffmpeg closes its stdin: writing 'q' then must not throw an EPIPE at the server.
    proc.stdin?.on('error', () => {});
    this.exited = new Promise<MuxerExit>((resolve) => {
      const done = (code: number | null, signal: NodeJS.Signals | null, spawnError?: Error): void => {
        if (this.hasExited) return;
        this.hasExited = true;
        void rm(this.sdpPath, { force: true });
        const tail = this.stderrTail.last(3);
        if (spawnError) return resolve({ isClean: false, reason: `ffmpeg could not start: ${spawnError.message}` });
        // ffmpeg exits 0 when it could not write (a full disk): its stderr is the only sign
        const writeError = this.stderrTail.writeError;
        if (writeError !== undefined) return resolve({ isClean: false, reason: `ffmpeg could not write its output: ${writeError}` });
        if (this.isStopping && code === 0) return resolve({ isClean: true, reason: '' });
        const how = signal !== null ? `signal ${signal}` : `code ${code ?? '?'}`;
        const why = this.isStopping
          ? `ffmpeg failed to finalize the file (${how})`
          : code === 0
            ? 'ffmpeg ended its input'
            : `ffmpeg exited unexpectedly (${how})`;
        resolve({ isClean: false, reason: tail ? `${why}: ${tail}` : why });
      };
      proc.once('error', (err) => done(null, null, err));
      proc.once('exit', (code, signal) => done(code, signal));
    });
  }

  /**
   * Writes the SDP, spawns ffmpeg and waits until it holds the RTP port (packets sent earlier would be lost).
   * `outputArgs` follow the input (maps, codecs, outputs: egress-outputs.ts); without them the streams are copied into
   * `outputPath` as `container`. `pipeStdout`: ffmpeg's stdout (an output written to pipe:1) is readable as `stdout`.
   */
  static async start(opts: {
    ffmpegPath: string; formats: readonly RtpFormat[]; outputPath: string; logger: Logger; readyTimeoutMs?: number;
    container?: OutputContainer; outputArgs?: readonly string[]; extraDirs?: readonly string[]; pipeStdout?: boolean;
  }): Promise<FfmpegMuxer> {
    for (const dir of new Set([dirname(opts.outputPath), ...(opts.extraDirs ?? [])])) await mkdir(dir, { recursive: true });
    const ports = await freeRtpPorts(opts.formats.length);
    const sdpPath = `${opts.outputPath}.sdp`;
    await writeFile(sdpPath, ffmpegSdp(opts.formats.map((format, i) => ({ format, port: ports[i]! }))));
    const outputArgs = opts.outputArgs ?? ['-map', '0', '-c', 'copy', '-f', opts.container?.muxer ?? 'matroska', '-y', opts.outputPath];
    const args = [
      '-hide_banner', '-loglevel', process.env['ATRIUM_EGRESS_FFMPEG_LOG'] ?? 'warning', '-nostats',
      ...rtpInputArgs(sdpPath),
      ...outputArgs,
    ];
    const proc = spawn(opts.ffmpegPath, args, { stdio: ['pipe', opts.pipeStdout ? 'pipe' : 'ignore', 'pipe'] });
    const muxer = new FfmpegMuxer(proc, ports, sdpPath, opts.logger);
    if (await waitPortsBound(ports, () => muxer.hasExited, opts.readyTimeoutMs ?? 5_000)) return muxer;
    muxer.kill();
    const exit = await muxer.exited;
    throw new Error(exit.reason || 'ffmpeg did not open its RTP port');
  }

  /** ffmpeg's stdout when started with `pipeStdout`. */
  get stdout(): import('node:stream').Readable | null {
    return this.proc.stdout;
  }

  /** Called once when ffmpeg says it cannot write an output (a full disk): the recording is failing now. */
  set onWriteError(fn: ((line: string) => void) | undefined) {
    this.stderrTail.onWriteError = fn;
  }

  get pid(): number | undefined {
    return this.proc.pid;
  }

  /**
   * Asks ffmpeg to finish its outputs; kills it when it has not exited after the grace time. `wake` (called every
   * WAKE_INTERVAL_MS until ffmpeg exits) sends a packet when no media flows, so ffmpeg gets to read its 'q'; false
   * means nothing was ever sent: there is nothing to finalize, and ffmpeg is killed at once.
   */
  stop(wake?: () => boolean): Promise<MuxerExit> {
    if (!this.isStopping && !this.hasExited) {
      this.isStopping = true;
      this.proc.stdin?.write('q');
      this.proc.stdin?.end();
      const kill = setTimeout(() => this.kill(), KILL_AFTER_MS);
      kill.unref();
      let waker: NodeJS.Timeout | undefined;
      if (wake) {
        const tick = (): void => {
          if (!wake()) this.kill();
        };
        tick();
        waker = setInterval(tick, WAKE_INTERVAL_MS);
        waker.unref();
      }
      void this.exited.then(() => {
        clearTimeout(kill);
        clearInterval(waker);
      });
    }
    return this.exited;
  }

  kill(): void {
    if (!this.hasExited) this.proc.kill('SIGKILL');
  }
}
