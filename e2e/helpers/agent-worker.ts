// Unmodified @livekit/agents workers (examples/agents/*.mjs, their own npm workspace with rtc-node 0.13) as child
// processes of an e2e test: each runs `node <script> dev` under `timeout -k 5 N` in its own process group, so it dies
// even when the test process does not get to run its `after` hook, and stopping it also ends the job processes it
// forks; its output is kept line by line (colours stripped) with the time each line arrived, and the test waits for
// lines such as the library's "registered worker".
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { waitFor, withTimeout } from '@atrium/webrtc/testing/wait-for.js';
import { DEV_API_KEY, DEV_API_SECRET } from './server.js';

/** The npm workspace with @livekit/agents 1.9 and the agents run by the tests. */
export const examplesAgentsDir = join(fileURLToPath(import.meta.url), '..', '..', '..', 'examples', 'agents');

/** A worker is killed by `timeout` after this many seconds even if the test process dies without cleaning up. */
export const DEFAULT_WORKER_LIFETIME_S = 120;

export interface WorkerLine {
  /** Date.now() when the test process read the line. */
  atMs: number;
  text: string;
}

export interface SpawnAgentWorkerOptions {
  /** Prefixes the worker's lines in logs(). */
  label: string;
  /** Atrium's ws:// URL. */
  url: string;
  /** The agent file in examples/agents (default echo-agent.mjs). */
  script?: string;
  /** `dev` (default) or `start`. */
  mode?: 'dev' | 'start';
  /** The worker's --log-level (default info). */
  logLevel?: 'debug' | 'info' | 'warn';
  apiKey?: string;
  apiSecret?: string;
  /** Extra environment (e.g. the fixture agent's AGENT_* knobs, LIVEKIT_AGENT_NAME). */
  env?: Record<string, string>;
  maxLifetimeS?: number;
}

export interface WaitForLineOptions {
  label: string;
  timeoutMs: number;
  /** Only lines at or after this index (lines.length earlier) count. */
  fromIndex?: number;
}

/** What a test needs of a worker it started: its process, its output so far, and a way to stop it. */
export interface AgentWorker {
  child: ChildProcess;
  /** Output lines (stdout and stderr, colours stripped) so far. */
  output: string[];
  /** Stops the worker's process group: SIGTERM, then SIGKILL after 5 s. Idempotent. */
  stop(): Promise<unknown>;
}

export class AgentWorkerProcess implements AgentWorker {
  readonly label: string;
  readonly child: ChildProcess;
  readonly lines: WorkerLine[] = [];
  /** The same lines as text. */
  readonly output: string[] = [];
  /** Resolves when the process (`timeout`, the group leader) has exited. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private partial = '';

  constructor(label: string, child: ChildProcess) {
    this.label = label;
    this.child = child;
    this.exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
    const collect = (chunk: Buffer): void => {
      // eslint-disable-next-line no-control-regex
      const text = this.partial + chunk.toString('utf8').replace(/\x1b\[[0-9;]*m/g, '');
      const parts = text.split('\n');
      this.partial = parts.pop() ?? '';
      const atMs = Date.now();
      for (const line of parts) {
        if (!line.trim()) continue;
        this.lines.push({ atMs, text: line });
        this.output.push(line);
      }
    };
    child.stdout?.on('data', collect);
    child.stderr?.on('data', collect);
  }

  get hasExited(): boolean {
    return this.child.exitCode !== null || this.child.signalCode !== null;
  }

  /** The output so far, one string per line, prefixed with the label. */
  labelledOutput(): string[] {
    return this.lines.map((l) => `[${this.label}] ${l.text}`);
  }

  /** The first line (at or after fromIndex) matching `match`, waiting for it. */
  waitForLine(match: RegExp | string, options: WaitForLineOptions): Promise<WorkerLine & { index: number; match: RegExpExecArray | undefined }> {
    const fromIndex = options.fromIndex ?? 0;
    return waitFor(
      () => {
        for (let i = fromIndex; i < this.lines.length; i++) {
          const line = this.lines[i]!;
          if (typeof match === 'string') {
            if (line.text.includes(match)) return { ...line, index: i, match: undefined };
          } else {
            const m = match.exec(line.text);
            if (m) return { ...line, index: i, match: m };
          }
        }
        return undefined;
      },
      {
        label: `[${this.label}] a line matching ${String(match)} (${options.label})`,
        timeoutMs: options.timeoutMs,
        describe: () => `exit ${String(this.child.exitCode ?? this.child.signalCode)}; last lines: ${this.lines.slice(-8).map((l) => l.text).join(' | ')}`,
      },
    );
  }

  /** Sends `signal` to the worker's whole process group (the worker and the job processes it forked). */
  signalGroup(signal: NodeJS.Signals): void {
    if (!this.child.pid) return;
    try {
      process.kill(-this.child.pid, signal);
    } catch {
      /* already gone */
    }
  }

  /**
   * SIGTERM to the group, then SIGKILL if it has not exited within `graceMs` (default 5 s). Idempotent. Resolves with
   * how long it took and whether SIGKILL was needed.
   */
  async stop(graceMs = 5_000): Promise<{ ms: number; killed: boolean }> {
    const startMs = Date.now();
    let exited = this.hasExited;
    if (!exited) {
      this.signalGroup('SIGTERM');
      exited = await withTimeout(this.exited, graceMs, `[${this.label}] to exit`).then(() => true, () => false);
    }
    if (!exited) {
      this.signalGroup('SIGKILL');
      await withTimeout(this.exited, 5_000, `[${this.label}] to die`).catch(() => undefined);
    }
    // Job processes ignore SIGTERM (the worker asks them to stop over IPC) and, like the worker's other children,
    // can outlive a worker that exited: whatever is left of the group goes, so nothing holds the output pipes (and
    // this process) open.
    this.signalGroup('SIGKILL');
    this.child.stdout?.destroy();
    this.child.stderr?.destroy();
    return { ms: Date.now() - startMs, killed: !exited };
  }
}

/** Starts `node <script> dev` in examples/agents under `timeout`, in a process group of its own. */
export function spawnAgentWorker(options: SpawnAgentWorkerOptions): AgentWorkerProcess {
  const lifetime = options.maxLifetimeS ?? DEFAULT_WORKER_LIFETIME_S;
  const args = ['-k', '5', String(lifetime), process.execPath, options.script ?? 'echo-agent.mjs', options.mode ?? 'dev', '--log-level', options.logLevel ?? 'info'];
  const child = spawn('timeout', args, {
    cwd: examplesAgentsDir,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      ...process.env,
      LIVEKIT_URL: options.url,
      LIVEKIT_API_KEY: options.apiKey ?? DEV_API_KEY,
      LIVEKIT_API_SECRET: options.apiSecret ?? DEV_API_SECRET,
      NO_COLOR: '1',
      ...options.env,
    },
  });
  return new AgentWorkerProcess(options.label, child);
}

export interface RegisteredWorker {
  worker: AgentWorkerProcess;
  /** The worker id Atrium gave it (`AW_…`), from the library's "registered worker" log entry. */
  workerId: string;
  /** Date.now() when the "registered worker" line arrived. */
  registeredAtMs: number;
}

/**
 * Waits for the library's "registered worker" entry and the `id: "AW_…"` field printed under it (pino-pretty prints
 * an entry's fields on the lines after its message).
 */
export async function waitForRegistration(worker: AgentWorkerProcess, timeoutMs = 30_000): Promise<RegisteredWorker> {
  const registered = await worker.waitForLine('registered worker', { label: 'registered on /agent', timeoutMs });
  const id = await worker.waitForLine(/^\s+id: "(AW_\w+)"/, { label: 'its worker id', timeoutMs: 5_000, fromIndex: registered.index + 1 });
  return { worker, workerId: id.match![1]!, registeredAtMs: registered.atMs };
}

/** spawnAgentWorker, then waitForRegistration. The worker is added to `into` first, so `after` stops it either way. */
export async function startRegisteredWorker(
  options: SpawnAgentWorkerOptions,
  into: AgentWorkerProcess[],
  timeoutMs = 30_000,
): Promise<RegisteredWorker> {
  const worker = spawnAgentWorker(options);
  into.push(worker);
  return waitForRegistration(worker, timeoutMs);
}

/**
 * Spawns `node <script> dev --log-level info` in examples/agents against `url` with the dev key, and waits until
 * the worker logs `registered worker` (stopping it if it does not). The process is killed by `timeout` after
 * `maxLifetimeS` even if the test process dies without stopping it.
 */
export async function startAgentWorker(options: {
  script: string;
  url: string;
  maxLifetimeS: number;
  registerTimeoutMs?: number;
  env?: Record<string, string>;
}): Promise<AgentWorkerProcess> {
  const worker = spawnAgentWorker({
    label: options.script,
    url: options.url,
    script: options.script,
    maxLifetimeS: options.maxLifetimeS,
    ...(options.env ? { env: options.env } : {}),
  });
  try {
    await waitForRegistration(worker, options.registerTimeoutMs ?? 20_000);
  } catch (err) {
    await worker.stop();
    throw err;
  }
  return worker;
}

/** Stops every worker (in parallel); for `after` hooks. Says on stderr which ones needed SIGKILL. */
export async function stopAgentWorkers(workers: AgentWorkerProcess[], graceMs?: number): Promise<void> {
  await Promise.all(
    workers.map(async (w) => {
      const r = await w.stop(graceMs);
      if (r.killed) process.stderr.write(`agent worker ${w.label} did not exit on SIGTERM within ${graceMs ?? 5_000} ms: killed\n`);
    }),
  );
}

/** Every worker's output, for a failing step's log dump. */
export function agentWorkerOutput(workers: AgentWorkerProcess[], lastLines = 80): string[] {
  return workers.flatMap((w) => ['--- ' + w.label + ' ---', ...w.labelledOutput().slice(-lastLines)]);
}
