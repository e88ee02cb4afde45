// Loss and delay for server -> client UDP on the scenario namespace's lo (this kernel has no sch_netem): an
// iptables mangle/OUTPUT rule sends the packets to an NFQUEUE, and atrium-nfq (nfq/atrium-nfq.c, built with gcc
// on first use) drops a seeded share (NF_DROP, silent to the sender) and releases the rest after the delay.
//
//   buildNfqHelper() -> path of the compiled helper (cached by source hash under node_modules/.cache/atrium-nfq)
//   impair({ sport, dport?, lossPercent, delayMs, seed? }) -> Impairment (stats, set, ruleCounters, stop)
// The rule uses --queue-bypass: while no helper is bound (before start, after stop, or if it dies) packets pass
// unimpaired instead of being blackholed. The rule is added only once the helper is bound and removed before it
// stops; the helper releases what it holds when stopped, and exits on its own when this process dies (stdin EOF).
import { execFile, spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { promisify } from 'node:util';
import { REPO_ROOT, assertInsideScenarioNamespace } from './netns.js';
import { iptablesCommand, iptablesCounters, netnsExec, type RuleCounters } from './netns-shaping.js';

const execFileAsync = promisify(execFile);

const SOURCE = join(REPO_ROOT, 'e2e', 'helpers', 'nfq', 'atrium-nfq.c');
const CFLAGS = ['-O2', '-Wall', '-Wextra'];
const LIBS = ['-lnetfilter_queue', '-lnfnetlink'];

let built: Promise<string> | undefined;

/** Compiles the helper once per source version (cache keyed by the source and flags); clear errors when it cannot. */
export function buildNfqHelper(): Promise<string> {
  built ??= (async () => {
    const source = readFileSync(SOURCE);
    const hash = createHash('sha256').update(source).update(CFLAGS.join(' ') + LIBS.join(' ')).digest('hex').slice(0, 16);
    const dir = join(REPO_ROOT, 'node_modules', '.cache', 'atrium-nfq', hash);
    const binary = join(dir, 'atrium-nfq');
    if (existsSync(binary)) return binary;
    if (!existsSync('/usr/include/libnetfilter_queue/libnetfilter_queue.h')) {
      throw new Error('the NFQUEUE helper needs libnetfilter_queue headers (apt package libnetfilter-queue-dev): run `npm run setup:system`');
    }
    mkdirSync(dir, { recursive: true });
    const tmp = `${binary}.${process.pid}.tmp`;
    try {
      await execFileAsync('gcc', [...CFLAGS, '-o', tmp, SOURCE, ...LIBS], { timeout: 60_000 });
    } catch (err) {
      const e = err as { code?: unknown; stderr?: string; message: string };
      if (e.code === 'ENOENT') throw new Error('the NFQUEUE helper needs gcc: run `npm run setup:system`');
      throw new Error(`building ${SOURCE} failed (run \`npm run setup:system\`): ${(e.stderr ?? '').trim() || e.message}`);
    }
    renameSync(tmp, binary); // atomic: a concurrent build never sees half a binary
    return binary;
  })();
  built.catch(() => (built = undefined));
  return built;
}

export interface ImpairOptions {
  /** Source UDP port of the impaired packets (the server's port). */
  sport: number;
  /** Destination UDP port (one client); all destinations when absent. */
  dport?: number;
  /** Share of packets dropped, 0..100. */
  lossPercent: number;
  /** Added one-way delay for the packets that are not dropped. */
  delayMs: number;
  /** PRNG seed for the loss pattern (default 1): same seed and packet order, same drops. */
  seed?: number;
}

/** The helper's own counters. */
export interface ImpairStats {
  /** Packets the helper got from the queue. */
  seen: number;
  dropped: number;
  /** Held for the delay (seen - dropped when delayMs > 0). */
  delayed: number;
  /** Given NF_ACCEPT (after the delay). */
  released: number;
  /** Held right now, and the most ever held at once. */
  pending: number;
  maxPending: number;
  /** IP bytes seen and dropped. */
  seenBytes: number;
  droppedBytes: number;
  verdictErrors: number;
  lossPercent: number;
  delayMs: number;
}

export interface Impairment {
  readonly queueNum: number;
  readonly pid: number;
  /** Comment on the iptables rule (to find it in `counters().iptables`). */
  readonly comment: string;
  stats(): Promise<ImpairStats>;
  /** New loss/delay for packets queued from now on. */
  set(opts: { lossPercent?: number; delayMs?: number }): Promise<ImpairStats>;
  /** The iptables rule's own counters (packets that hit it). */
  ruleCounters(): Promise<RuleCounters>;
  /** Removes the rule, releases held packets, stops the helper; returns its final counters. Idempotent. */
  stop(): Promise<ImpairStats>;
}

let nextQueue = 100;
const live = new Set<ChildProcessWithoutNullStreams>();
let hooksInstalled = false;

function installHooks(): void {
  if (hooksInstalled) return;
  hooksInstalled = true;
  process.on('exit', () => {
    for (const h of live) h.kill('SIGTERM');
  });
  for (const sig of ['SIGTERM', 'SIGINT'] as const) {
    process.once(sig, () => {
      for (const h of live) h.kill('SIGTERM');
      process.exit(128 + (sig === 'SIGTERM' ? 15 : 2));
    });
  }
}

/** Starts loss/delay on UDP packets from `sport` (to `dport`, if given). Inside the namespace only. */
export async function impair(opts: ImpairOptions): Promise<Impairment> {
  assertInsideScenarioNamespace();
  if (!(opts.lossPercent >= 0 && opts.lossPercent <= 100)) throw new Error(`lossPercent must be 0..100 (got ${opts.lossPercent})`);
  if (!(opts.delayMs >= 0)) throw new Error(`delayMs must be >= 0 (got ${opts.delayMs})`);
  const binary = await buildNfqHelper();
  const iptables = await iptablesCommand();
  installHooks();
  const queueNum = nextQueue++;
  const comment = `atrium-impair-${queueNum}`;
  const child = spawn(binary, ['--queue', String(queueNum), '--loss', String(opts.lossPercent), '--delay-ms', String(opts.delayMs), '--seed', String(opts.seed ?? 1)], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  live.add(child);
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => {
    stderr += d;
    process.stderr.write(`[atrium-nfq ${queueNum}] ${d}`);
  });
  // One JSON line per command, in order.
  const waiting: Array<{ resolve: (v: Record<string, unknown>) => void; reject: (e: Error) => void }> = [];
  let exited: Error | undefined;
  let finalStats: ImpairStats | undefined;
  const exitedPromise = new Promise<void>((res) =>
    child.once('close', (code, signal) => {
      live.delete(child);
      exited = new Error(`atrium-nfq (queue ${queueNum}) exited (code ${code}, signal ${signal}): ${stderr.trim()}`);
      for (const w of waiting.splice(0)) w.reject(exited);
      res();
    }),
  );
  child.once('error', (err) => {
    exited = err;
    for (const w of waiting.splice(0)) w.reject(err);
  });
  createInterface({ input: child.stdout }).on('line', (line) => {
    if (!line.trim()) return;
    let msg: Record<string, unknown>;
    try {
      msg = JSON.parse(line) as Record<string, unknown>;
    } catch {
      return;
    }
    if (msg['final'] === true) finalStats = msg as unknown as ImpairStats;
    waiting.shift()?.resolve(msg);
  });
  const next = () =>
    new Promise<Record<string, unknown>>((resolve, reject) => {
      if (exited) reject(exited);
      else waiting.push({ resolve, reject });
    });
  const command = async (line: string) => {
    const reply = next();
    child.stdin.write(`${line}\n`);
    const msg = await reply;
    if (typeof msg['error'] === 'string') throw new Error(`atrium-nfq: ${msg['error']} (${line})`);
    return msg as unknown as ImpairStats;
  };

  const ready = await next().catch((err: Error) => {
    throw new Error(`atrium-nfq did not start: ${err.message}`);
  });
  if (ready['ready'] !== true) throw new Error(`atrium-nfq: unexpected first line ${JSON.stringify(ready)}`);

  const spec = ['OUTPUT', '-p', 'udp', '--sport', String(opts.sport)];
  if (opts.dport !== undefined) spec.push('--dport', String(opts.dport));
  spec.push('-m', 'comment', '--comment', comment, '-j', 'NFQUEUE', '--queue-num', String(queueNum), '--queue-bypass');
  try {
    await netnsExec(iptables, ['-w', '-t', 'mangle', '-A', ...spec]);
  } catch (err) {
    child.kill('SIGTERM');
    throw err;
  }

  let stopping: Promise<ImpairStats> | undefined;
  return {
    queueNum,
    pid: child.pid!,
    comment,
    stats: () => command('stats'),
    set: (s) => {
      const parts: string[] = [];
      if (s.lossPercent !== undefined) parts.push(`loss=${s.lossPercent}`);
      if (s.delayMs !== undefined) parts.push(`delay=${s.delayMs}`);
      return command(`set ${parts.join(' ')}`);
    },
    async ruleCounters() {
      const rule = (await iptablesCounters()).find((r) => r.comment === comment);
      if (!rule) throw new Error(`iptables rule ${comment} not found (stopped?)`);
      return rule;
    },
    stop() {
      stopping ??= (async () => {
        // Rule first, so nothing new is queued; then the helper releases what it holds and exits.
        await netnsExec(iptables, ['-w', '-t', 'mangle', '-D', ...spec]).catch((err: Error) => process.stderr.write(`${err.message}\n`));
        if (!exited) {
          const last = next().catch(() => undefined);
          child.stdin.end('stop\n');
          await last;
        }
        await exitedPromise;
        if (!finalStats) throw exited ?? new Error(`atrium-nfq (queue ${queueNum}) gave no final counters`);
        return finalStats;
      })();
      return stopping;
    },
  };
}
