// An Atrium server in a child process for the load benchmarks (load, workers, compare), so its CPU (every thread:
// main, media workers, libuv pool) is measured apart from the load generator's, from /proc.
import { execFileSync, spawn } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';

const CLK_TCK = 100; // Linux USER_HZ

function cpuOfStat(stat: string): number {
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLK_TCK; // utime, stime (fields 14 and 15 of the whole line)
}

/** User + system CPU seconds of a process so far (all its threads). */
export function processCpuSec(pid: number): number {
  return cpuOfStat(readFileSync(`/proc/${pid}/stat`, 'utf8'));
}

/** CPU seconds per thread id (/proc/<pid>/task/<tid>/stat). */
export function threadCpuSec(pid: number): Map<number, number> {
  const out = new Map<number, number>();
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      out.set(Number(tid), cpuOfStat(readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8')));
    } catch {
      // the thread ended between the listing and the read
    }
  }
  return out;
}

/** A free TCP port on loopback (for a server's metrics or API listener). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

export interface ServerProcess {
  pid: number;
  url: string;
  /** The media worker threads' OS ids (from the server's 'media worker started' lines; needs log level info). */
  workerThreadIds: number[];
  /** How the process ended if it did before stop() (an exit code or signal), else undefined. */
  exitedEarly(): string | undefined;
  stop(): Promise<void>;
}

/**
 * Starts `atrium-server --dev` on ephemeral ports with `yaml` (LIVEKIT_CONFIG) on top; resolves once it listens.
 * `profileDir`: the server writes a V8 CPU profile there when it exits.
 */
export async function startServerProcess(opts: { yaml?: string; logLevel?: string; profileDir?: string } = {}): Promise<ServerProcess> {
  const main = fileURLToPath(new URL('../../packages/server/src/main.ts', import.meta.url));
  const profiling = opts.profileDir === undefined ? [] : ['--cpu-prof', '--cpu-prof-interval', '200', '--cpu-prof-dir', opts.profileDir];
  const child = spawn(process.execPath, [...profiling, '--import', 'tsx', main, '--dev', '--port', '0', '--udp-port', '0', '--log-level', opts.logLevel ?? 'warn'], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, ...(opts.yaml !== undefined ? { LIVEKIT_CONFIG: opts.yaml } : {}) },
  });
  const workerThreadIds: number[] = [];
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      for (const m of out.matchAll(/media worker started.*?tid=(\d+)/g)) if (!workerThreadIds.includes(Number(m[1]))) workerThreadIds.push(Number(m[1]));
      const m = /listening at (ws:\/\/\S+)/.exec(out);
      if (m) resolve(m[1]!);
    });
    child.once('exit', (code) => reject(new Error(`atrium exited (${code}) before listening`)));
  });
  child.stdout.resume();
  let isStopping = false;
  let early: string | undefined;
  child.once('exit', (code, signal) => {
    if (!isStopping) early = signal !== null ? `signal ${signal}` : `exit code ${code}`;
  });
  return {
    pid: child.pid!,
    url,
    workerThreadIds,
    exitedEarly: () => early,
    stop: () =>
      new Promise<void>((resolve) => {
        isStopping = true;
        if (child.exitCode !== null) {
          resolve();
          return;
        }
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

/** The ffmpeg children of `pid` (the server also has tsx's esbuild service as a child). */
export function ffmpegChildrenOf(pid: number): number[] {
  try {
    return execFileSync('ps', ['-o', 'pid=,comm=', '--ppid', String(pid)], { encoding: 'utf8' }).split('\n')
      .map((l) => l.trim().split(/\s+/)).filter(([, comm]) => comm === 'ffmpeg').map(([p]) => Number(p));
  } catch {
    return [];
  }
}

/** CPU seconds used so far by these processes together (those gone count nothing). */
export function cpuOf(pids: readonly number[]): number {
  let sum = 0;
  for (const pid of pids) {
    try {
      sum += processCpuSec(pid);
    } catch {
      // gone
    }
  }
  return sum;
}
