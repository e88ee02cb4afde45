// Runs an e2e scenario script inside a network namespace of its own (`unshare -n`, root), where the
// scenario may shape its loopback traffic; see docs/testing.md "Impaired-network tests".
//
// Outside (the test file):
//   canCreateNetworkNamespaces({ withImpairment? }) -> { ok: true } | { ok: false, reason }
//   runInNetworkNamespace(scriptPath, args, { timeoutMs?, env?, cwd?, echoStderr? }) -> NetnsRunResult
//   processesInNetworkNamespace(netnsId) -> pids still living in a namespace (normally [])
//   isProcessRunning(pid, comm?)        -> false for gone and zombie processes
// Inside (the scenario script, run with tsx by the runner):
//   emitScenarioResult(value)       prints the JSON line the runner returns as `json`
//   networkNamespaceId()            this process's namespace ('net:[inode]')
//   assertInsideScenarioNamespace() throws unless running in a namespace made by the runner
//   capBandwidth / counters (netns-shaping.ts), impair (netns-impair.ts)
import assert from 'node:assert/strict';
import { before } from 'node:test';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, readdirSync, readlinkSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

/** The repository root (scripts run from here so `--import tsx` resolves). */
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Set by the runner in the scenario's environment to the runner's own namespace id ('net:[inode]'); the shaping
 *  helpers refuse to run without it or in that namespace. */
export const NETNS_ENV_FLAG = 'ATRIUM_NETNS';

export interface NetnsRunOptions {
  /** Kill the scenario (SIGTERM, then SIGKILL 2 s later) after this long; default 60 s. */
  timeoutMs?: number;
  /** Added to (and overriding) this process's environment, which is passed through (PATH, HOME...). */
  env?: Record<string, string>;
  /** Working directory; default the repository root. */
  cwd?: string;
  /** Copy the scenario's stderr to this process's stderr as it arrives (default true). */
  echoStderr?: boolean;
}

export interface NetnsRunResult {
  /** Exit code of the scenario (null when killed by a signal). */
  code: number | null;
  signal: NodeJS.Signals | null;
  timedOut: boolean;
  stdout: string;
  stderr: string;
  /** The last non-empty stdout line parsed as JSON (see emitScenarioResult), when it parses. */
  json?: unknown;
  /** The scenario's namespace ('net:[inode]'), when the runner saw it. */
  netnsId?: string;
  /** Processes still in the namespace or the scenario's process group 2 s after the scenario ended; the
   *  runner SIGKILLed them. Empty when the scenario cleaned up after itself. */
  leftoverPids: number[];
}

export type NetnsCheck = { ok: true } | { ok: false; reason: string };

const SETUP_HINT = 'run `npm run setup:system` (as root) to install iproute2, iptables, gcc and libnetfilter-queue-dev';

/**
 * Whether this machine can run namespace scenarios: root, `unshare`, and inside a fresh namespace `tc` with an
 * htb root on lo and `iptables` (nft or legacy) with the mangle table. With `withImpairment`, also builds the
 * NFQUEUE helper (gcc + libnetfilter_queue headers). Tests fail with `reason` rather than skip.
 */
export async function canCreateNetworkNamespaces(opts: { withImpairment?: boolean } = {}): Promise<NetnsCheck> {
  if (process.platform !== 'linux') return { ok: false, reason: `network namespaces need Linux (this is ${process.platform})` };
  if (process.getuid?.() !== 0) return { ok: false, reason: 'network namespace tests need root (unshare -n, tc, iptables)' };
  const probe = [
    'set -e',
    'ip link set lo up',
    'command -v tc >/dev/null || { echo "tc (iproute2) is not installed" >&2; exit 3; }',
    'tc qdisc add dev lo root handle 1: htb || { echo "tc cannot add an htb qdisc (kernel without sch_htb?)" >&2; exit 3; }',
    'tc class add dev lo parent 1: classid 1:1 htb rate 1gbit',
    'tc qdisc add dev lo parent 1:1 handle 2: tbf rate 1mbit burst 5000 latency 50ms || { echo "tc cannot add a tbf qdisc" >&2; exit 3; }',
    '{ iptables -t mangle -S OUTPUT >/dev/null 2>&1 || iptables-legacy -t mangle -S OUTPUT >/dev/null 2>&1; } || { echo "iptables is missing or has no mangle table in a namespace" >&2; exit 3; }',
  ].join('\n');
  try {
    await execFileAsync('unshare', ['-n', 'bash', '-c', probe], { timeout: 10_000 });
  } catch (err) {
    const e = err as { code?: unknown; stderr?: string; message: string };
    if (e.code === 'ENOENT') return { ok: false, reason: `unshare is not installed (util-linux); ${SETUP_HINT}` };
    const detail = (e.stderr ?? '').trim() || e.message;
    return { ok: false, reason: `cannot set up a network namespace here: ${detail}; ${SETUP_HINT}` };
  }
  if (opts.withImpairment) {
    try {
      const { buildNfqHelper } = await import('./netns-impair.js');
      await buildNfqHelper();
    } catch (err) {
      return { ok: false, reason: (err as Error).message };
    }
  }
  return { ok: true };
}

const running = new Set<ChildProcess>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // If the test process goes, take every scenario (and so its namespace) with it.
  process.on('exit', () => {
    for (const child of running) killGroup(child.pid, 'SIGKILL');
  });
}

function killGroup(pid: number | undefined, signal: NodeJS.Signals): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, signal);
  } catch {
    /* already gone */
  }
}

function readNetns(pid: number | 'self'): string | undefined {
  try {
    return readlinkSync(`/proc/${pid}/ns/net`);
  } catch {
    return undefined;
  }
}

/** Pids of processes whose network namespace is `netnsId` (or whose process group is `pgid`). */
export function processesInNetworkNamespace(netnsId: string | undefined, pgid?: number): number[] {
  const pids: number[] = [];
  for (const name of readdirSync('/proc')) {
    const pid = Number(name);
    if (!Number.isInteger(pid) || pid === process.pid) continue;
    if (netnsId !== undefined && readNetns(pid) === netnsId) {
      pids.push(pid);
      continue;
    }
    if (pgid !== undefined && processGroupOf(pid) === pgid) pids.push(pid);
  }
  return pids;
}

/** Whether `pid` is a running process (a zombie waiting for its reaper does not count). With `comm`, also its name. */
export function isProcessRunning(pid: number, comm?: string): boolean {
  try {
    if (comm !== undefined && readFileSync(`/proc/${pid}/comm`, 'utf8').trim() !== comm) return false;
  } catch {
    return false;
  }
  return processGroupOf(pid) !== undefined;
}

function processGroupOf(pid: number): number | undefined {
  try {
    // /proc/<pid>/stat: "pid (comm) state ppid pgrp ..."; comm may contain spaces and parentheses.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const state = rest[0];
    if (state === 'Z' || state === 'X') return undefined; // a zombie is not a leftover process
    return Number(rest[2]);
  } catch {
    return undefined;
  }
}

/**
 * Runs `node --import tsx <scriptPath> ...args` inside `unshare -n` (lo up, nothing else), in a process group of its
 * own. The environment is passed through (plus ATRIUM_NETNS, the runner's namespace), stderr is streamed, stdout collected, and the last
 * stdout line parsed as JSON. On timeout the group gets SIGTERM, then SIGKILL. Afterwards anything still inside the
 * namespace (or the group) is SIGKILLed and reported in `leftoverPids`.
 */
export async function runInNetworkNamespace(scriptPath: string, args: string[] = [], opts: NetnsRunOptions = {}): Promise<NetnsRunResult> {
  const timeoutMs = opts.timeoutMs ?? 60_000;
  const echoStderr = opts.echoStderr ?? true;
  installExitHook();
  const outerNetns = readNetns('self');
  // "$0" "$@" keeps the script path and arguments unquoted by the shell.
  const child = spawn(
    'unshare',
    ['-n', 'bash', '-c', 'ip link set lo up && exec "$0" "$@"', process.execPath, '--import', 'tsx', resolve(scriptPath), ...args],
    {
      cwd: opts.cwd ?? REPO_ROOT,
      env: { ...process.env, ...opts.env, [NETNS_ENV_FLAG]: outerNetns ?? 'unknown' },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true, // own process group: a timeout kills the scenario and every child it started
    },
  );
  running.add(child);
  const pid = child.pid;
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
    if (echoStderr) process.stderr.write(chunk);
  });

  // unshare execs bash which execs node: one pid. Note its namespace once it has left ours.
  let netnsId: string | undefined;
  const nsPoll = setInterval(() => {
    if (pid === undefined) return;
    const ns = readNetns(pid);
    if (ns !== undefined && ns !== outerNetns) {
      netnsId = ns;
      clearInterval(nsPoll);
    }
  }, 5);

  let timedOut = false;
  let killTimer: NodeJS.Timeout | undefined;
  const timer = setTimeout(() => {
    timedOut = true;
    killGroup(pid, 'SIGTERM');
    killTimer = setTimeout(() => killGroup(pid, 'SIGKILL'), 2_000);
  }, timeoutMs);

  const spawnError = new Promise<never>((_, reject) => child.once('error', reject));
  const [code, signal] = await Promise.race([
    new Promise<[number | null, NodeJS.Signals | null]>((res) => child.once('close', (c, s) => res([c, s]))),
    spawnError,
  ]).finally(() => {
    clearTimeout(timer);
    clearTimeout(killTimer);
    clearInterval(nsPoll);
    running.delete(child);
  });

  // Give helpers a moment to notice their parent is gone (the NFQUEUE helper exits on stdin EOF).
  let left = processesInNetworkNamespace(netnsId, pid);
  const deadline = Date.now() + 2_000;
  while (left.length > 0 && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 20));
    left = processesInNetworkNamespace(netnsId, pid);
  }
  for (const p of left) {
    try {
      process.kill(p, 'SIGKILL');
    } catch {
      /* gone */
    }
  }

  const result: NetnsRunResult = { code, signal, timedOut, stdout, stderr, leftoverPids: left };
  if (netnsId !== undefined) result.netnsId = netnsId;
  const lastLine = stdout.trimEnd().split('\n').pop();
  if (lastLine) {
    try {
      result.json = JSON.parse(lastLine);
    } catch {
      /* not a result line */
    }
  }
  return result;
}

/**
 * Runs a scenario that ends by printing a result line `{"ok":...}` (emitScenarioResult), and returns that result once
 * the run is known good: it finished in time, left no process in its namespace, exited 0 and said ok. Otherwise it
 * throws with the scenario's error and the tail of its output. (The result line is looked for from the end: a server
 * may still log after it while closing.)
 */
export async function runScenarioForResult<T extends { ok: boolean; error?: string }>(
  scriptPath: string, args: string[], opts: NetnsRunOptions & { label: string },
): Promise<T> {
  const r = await runInNetworkNamespace(scriptPath, args, opts);
  const line = r.stdout.split('\n').reverse().find((l) => l.startsWith('{"ok":'));
  const json = (line !== undefined ? JSON.parse(line) : r.json) as T | undefined;
  const tail = `${r.stderr.split('\n').slice(-80).join('\n')}\nstdout tail:\n${r.stdout.slice(-2000)}`;
  assert.equal(r.timedOut, false, `${opts.label} timed out; stderr tail:\n${tail}`);
  assert.deepEqual(r.leftoverPids, [], `processes left in the ${opts.label} namespace`);
  assert.ok(json, `${opts.label} printed no result (exit ${r.code}); stderr tail:\n${tail}`);
  assert.ok(json.ok && r.code === 0, `${opts.label} failed: ${json.error}; stderr tail:\n${tail}`);
  return json;
}

/**
 * For a test file whose cases each run one mode of a scenario: checks once (a `before` hook) that network namespaces can
 * be made, and returns `run(mode)`, which fails with that reason when they cannot, runs the mode, logs and returns its
 * result (runScenarioForResult). `verboseEnv`: an environment variable that, set to 1, echoes the scenario's stderr.
 */
export function namespaceScenario<T extends { ok: boolean; error?: string }>(
  scriptPath: string, opts: { timeoutMs: number; verboseEnv: string },
): (mode: string) => Promise<T> {
  let problem: string | undefined;
  before(async () => {
    const check = await canCreateNetworkNamespaces();
    if (!check.ok) problem = check.reason;
  });
  return async (mode) => {
    assert.equal(problem, undefined, problem);
    const json = await runScenarioForResult<T>(scriptPath, [mode], {
      label: `scenario ${mode}`, timeoutMs: opts.timeoutMs, echoStderr: process.env[opts.verboseEnv] === '1',
    });
    console.log(`${mode}: ${JSON.stringify(json)}`);
    return json;
  };
}

/** Prints the scenario's result as the last stdout line (what `runInNetworkNamespace` returns as `json`). */
export function emitScenarioResult(value: unknown): void {
  process.stdout.write(`\n${JSON.stringify(value)}\n`);
}

/** This process's network namespace, e.g. 'net:[4026532281]'. */
export function networkNamespaceId(): string {
  return readlinkSync('/proc/self/ns/net');
}

/**
 * Throws unless this process runs in a namespace made by `runInNetworkNamespace`: the shaping helpers change lo's
 * qdiscs and iptables, which must never happen on the machine's own loopback (other tests share it).
 */
export function assertInsideScenarioNamespace(): void {
  const outer = process.env[NETNS_ENV_FLAG];
  if (!outer) throw new Error(`netns helpers only run inside runInNetworkNamespace (${NETNS_ENV_FLAG} is not set)`);
  // The runner passes its own namespace; pid 1's is checked too where readable (it is not from inside, here).
  let init: string | undefined;
  try {
    init = readlinkSync('/proc/1/ns/net');
  } catch {
    init = undefined;
  }
  const here = networkNamespaceId();
  if (here === outer || here === init) {
    throw new Error("netns helpers refuse to run in the runner's network namespace (they would shape the machine's own lo)");
  }
}

/** The `REPO_ROOT`-relative path of a file next to this one (for scenario scripts). */
export function helperPath(name: string): string {
  return join(REPO_ROOT, 'e2e', 'helpers', name);
}
