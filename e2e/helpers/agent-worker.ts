// Runs one of the example @livekit/agents workers (examples/agents/*.mjs, their own npm workspace) as a child
// process for the agent e2e tests: `node <script> dev` under `timeout`, in its own process group so stopping it
// also ends the job processes it forks, with its output collected for failure dumps.
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEV_API_KEY, DEV_API_SECRET } from './server.js';
import { waitFor, withTimeout } from '@atrium/webrtc/testing/wait-for.js';

export const examplesAgentsDir = join(fileURLToPath(import.meta.url), '..', '..', '..', 'examples', 'agents');

export interface AgentWorker {
  child: ChildProcess;
  /** Output lines (stdout and stderr, colours stripped) so far. */
  output: string[];
  /** Stops the worker's process group: SIGTERM, then SIGKILL after 5 s. Idempotent. */
  stop(): Promise<void>;
}

/**
 * Spawns `node <script> dev --log-level info` in examples/agents against `url` with the dev key, and waits until
 * the worker logs `registered worker`. The process is killed by `timeout` after `maxLifetimeS` even if the test
 * process dies without stopping it.
 */
export async function startAgentWorker(options: {
  script: string;
  url: string;
  maxLifetimeS: number;
  registerTimeoutMs?: number;
  env?: Record<string, string>;
}): Promise<AgentWorker> {
  const child = spawn(
    'timeout',
    ['-k', '5', String(options.maxLifetimeS), process.execPath, options.script, 'dev', '--log-level', 'info'],
    {
      cwd: examplesAgentsDir,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        ...process.env,
        LIVEKIT_URL: options.url,
        LIVEKIT_API_KEY: DEV_API_KEY,
        LIVEKIT_API_SECRET: DEV_API_SECRET,
        NO_COLOR: '1',
        ...options.env,
      },
    },
  );
  const output: string[] = [];
  const collect = (chunk: Buffer): void => {
    // eslint-disable-next-line no-control-regex
    for (const line of chunk.toString('utf8').replace(/\x1b\[[0-9;]*m/g, '').split('\n')) if (line.trim()) output.push(line);
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  let stopping: Promise<void> | undefined;
  const worker: AgentWorker = {
    child,
    output,
    stop: () => (stopping ??= stopProcessGroup(child)),
  };
  try {
    await waitFor(() => output.some((l) => l.includes('registered worker')) || undefined, {
      label: `${options.script} to log "registered worker"`,
      timeoutMs: options.registerTimeoutMs ?? 20_000,
      describe: () => `worker exit ${String(child.exitCode)}; last output: ${output.slice(-5).join(' | ')}`,
    });
  } catch (err) {
    await worker.stop();
    throw err;
  }
  return worker;
}

/** Stops a detached child's whole process group (the worker and the job processes it forks). */
async function stopProcessGroup(child: ChildProcess): Promise<void> {
  if (!child.pid || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const signalGroup = (signal: NodeJS.Signals): void => {
    try {
      process.kill(-child.pid!, signal);
    } catch {
      /* already gone */
    }
  };
  signalGroup('SIGTERM');
  const killed = await withTimeout(exited, 5_000, 'the agent worker to exit').then(() => true, () => false);
  if (!killed) {
    signalGroup('SIGKILL');
    await withTimeout(exited, 5_000, 'the agent worker to die').catch(() => undefined);
  }
}
