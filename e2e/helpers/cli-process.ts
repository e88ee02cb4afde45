// Runs the `atrium` command (packages/cli/bin/atrium.js) as a child process for e2e tests: without the caller's
// LIVEKIT_* settings, output collected, killed at a deadline.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const ATRIUM_BIN = fileURLToPath(new URL('../../packages/cli/bin/atrium.js', import.meta.url));

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `atrium ...args` to completion (asynchronously: an in-process server keeps serving meanwhile). */
export function runAtrium(args: string[], opts: { deadlineMs: number; env?: Record<string, string> }): Promise<CliRun> {
  const env = { ...process.env };
  for (const key of Object.keys(env)) if (key.startsWith('LIVEKIT_')) delete env[key];
  const child = spawn(process.execPath, [ATRIUM_BIN, ...args], { env: { ...env, ...opts.env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const run: CliRun = { code: null, stdout: '', stderr: '' };
  child.stdout.on('data', (d: Buffer) => (run.stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (run.stderr += d.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), opts.deadlineMs);
  return new Promise((resolve) =>
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve(Object.assign(run, { code }));
    }),
  );
}
