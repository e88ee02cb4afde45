// An Atrium server in a child process for the load benchmarks, so its CPU (every thread: main, media workers, libuv
// pool) is measured apart from the load generator's, from /proc.
import { spawn } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
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

export interface ServerProcess {
  pid: number;
  url: string;
  /** The media worker threads' OS ids (from the server's 'media worker started' lines). */
  workerThreadIds: number[];
  stop(): Promise<void>;
}

/** Starts `atrium-server --dev` on ephemeral ports with `yaml` (LIVEKIT_CONFIG) on top; resolves once it listens. */
export async function startServerProcess(opts: { yaml?: string; logLevel?: string } = {}): Promise<ServerProcess> {
  const main = fileURLToPath(new URL('../../packages/server/src/main.ts', import.meta.url));
  // Info level for the start-up lines (the workers' thread ids); the bench does not read what follows.
  const child = spawn(process.execPath, ['--import', 'tsx', main, '--dev', '--port', '0', '--udp-port', '0', '--log-level', opts.logLevel ?? 'info'], {
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
    child.once('exit', (code) => reject(new Error(`server exited (${code}) before listening`)));
  });
  child.stdout.resume();
  return {
    pid: child.pid!,
    url,
    workerThreadIds,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) {
          resolve();
          return;
        }
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}
