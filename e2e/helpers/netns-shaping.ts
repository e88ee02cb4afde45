// Bandwidth caps on the scenario namespace's loopback, server -> client only, and the kernel's own counters.
// Only inside `runInNetworkNamespace` (see netns.ts, docs/testing.md "Impaired-network tests"). This kernel has no
// sch_netem or prio: an htb root (1:) on lo, one pass-through htb class 1:<n> per cap whose child is a tbf <n>: at
// the cap rate, and a u32 filter (udp, ip sport, optional ip dport) into it. Unmatched packets bypass htb unshaped.
//
//   capBandwidth({ sport, dport?, rateKbit, burstBytes?, latencyMs? }) -> BandwidthCap (update, remove, counters)
//   counters() -> { classes, qdiscs, directPackets, iptables } from `tc -s` and `iptables-save -c`
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { assertInsideScenarioNamespace } from './netns.js';

const execFileAsync = promisify(execFile);

/** Runs a command inside the namespace; the error names the command and its stderr. */
export async function netnsExec(cmd: string, args: string[]): Promise<string> {
  try {
    const { stdout } = await execFileAsync(cmd, args, { timeout: 10_000, maxBuffer: 16 * 1024 * 1024 });
    return stdout;
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`${cmd} ${args.join(' ')} failed: ${(e.stderr ?? '').trim() || e.message}`);
  }
}

let iptablesCmd: Promise<string> | undefined;

/** `iptables` (the nft backend on Debian 12; works in a namespace here), else `iptables-legacy`. ATRIUM_IPTABLES overrides. */
export function iptablesCommand(): Promise<string> {
  iptablesCmd ??= (async () => {
    const candidates = process.env['ATRIUM_IPTABLES'] ? [process.env['ATRIUM_IPTABLES']] : ['iptables', 'iptables-legacy'];
    const errors: string[] = [];
    for (const c of candidates) {
      try {
        await netnsExec(c, ['-w', '-t', 'mangle', '-S', 'OUTPUT']);
        return c;
      } catch (err) {
        errors.push((err as Error).message);
      }
    }
    throw new Error(`no working iptables in this namespace (run \`npm run setup:system\`): ${errors.join('; ')}`);
  })();
  return iptablesCmd;
}

export interface CapOptions {
  /** Source UDP port of the shaped packets: the server's port. */
  sport: number;
  /** Destination UDP port (one client); all destinations when absent. */
  dport?: number;
  rateKbit: number;
  /** tbf bucket; default max(4 full-size packets, 10 ms at the rate). */
  burstBytes?: number;
  /** tbf queue, as the time the queue holds at the rate; packets beyond it are dropped. Default 50 ms. */
  latencyMs?: number;
}

export interface QdiscCounters {
  handle: string;
  kind: string;
  parent?: string;
  bytes: number;
  packets: number;
  drops: number;
  overlimits: number;
  backlogBytes: number;
  qlen: number;
}

export interface ClassCounters {
  kind: string;
  classid: string;
  bytes: number;
  packets: number;
  drops: number;
  overlimits: number;
}

export interface RuleCounters {
  table: string;
  chain: string;
  comment: string;
  packets: number;
  bytes: number;
  rule: string;
}

export interface NetnsCounters {
  classes: ClassCounters[];
  qdiscs: QdiscCounters[];
  /** Packets htb sent unclassified (matched no cap): everything else on lo. */
  directPackets: number;
  /** Rules in the mangle and filter tables with their packet/byte counts. */
  iptables: RuleCounters[];
}

export interface BandwidthCap {
  readonly id: number;
  /** htb class id of this cap, e.g. '1:10'; its tbf is '<id>:'. */
  readonly classid: string;
  rateKbit(): number;
  /** New rate (tc qdisc change on the tbf; the filter and queue stay). A high rate lifts the cap. */
  update(rateKbit: number, opts?: { burstBytes?: number; latencyMs?: number }): Promise<void>;
  /** The tbf's counters: packets/bytes sent through the cap, drops (queue full), overlimits. */
  counters(): Promise<QdiscCounters>;
  /** Removes filter and class (and the tbf under it); idempotent. */
  remove(): Promise<void>;
}

const ROOT_HANDLE = '1:';
const PASS_THROUGH_RATE = '10gbit';
let nextCapId = 10;
let rootReady: Promise<void> | undefined;

function ensureRoot(): Promise<void> {
  rootReady ??= (async () => {
    const qdiscs = await qdiscCounters();
    if (qdiscs.some((q) => q.kind === 'htb' && q.handle === ROOT_HANDLE && q.parent === undefined)) return;
    // No default class: unclassified packets go out directly, unshaped.
    await netnsExec('tc', ['qdisc', 'replace', 'dev', 'lo', 'root', 'handle', ROOT_HANDLE, 'htb']);
  })();
  rootReady.catch(() => (rootReady = undefined));
  return rootReady;
}

function tbfArgs(rateKbit: number, burstBytes: number | undefined, latencyMs: number): string[] {
  if (!(rateKbit > 0)) throw new Error(`rateKbit must be > 0 (got ${rateKbit})`);
  const burst = burstBytes ?? Math.max(4 * 1514, Math.ceil((rateKbit * 1000) / 8 / 100));
  return ['tbf', 'rate', `${Math.round(rateKbit)}kbit`, 'burst', String(burst), 'latency', `${latencyMs}ms`];
}

/** Caps UDP packets from `sport` (to `dport`, if given) on lo at `rateKbit`. Inside the namespace only. */
export async function capBandwidth(opts: CapOptions): Promise<BandwidthCap> {
  assertInsideScenarioNamespace();
  checkPort('sport', opts.sport);
  if (opts.dport !== undefined) checkPort('dport', opts.dport);
  await ensureRoot();
  const id = nextCapId++;
  const classid = `1:${id}`;
  const latencyMs = opts.latencyMs ?? 50;
  let rate = opts.rateKbit;
  const tbf = tbfArgs(rate, opts.burstBytes, latencyMs);
  // The htb class only classifies (a rate no test reaches); the tbf under it is the cap.
  await netnsExec('tc', ['class', 'add', 'dev', 'lo', 'parent', ROOT_HANDLE, 'classid', classid, 'htb', 'rate', PASS_THROUGH_RATE, 'quantum', '65536']);
  await netnsExec('tc', ['qdisc', 'add', 'dev', 'lo', 'parent', classid, 'handle', `${id}:`, ...tbf]);
  const match = ['match', 'ip', 'protocol', '17', '0xff', 'match', 'ip', 'sport', String(opts.sport), '0xffff'];
  if (opts.dport !== undefined) match.push('match', 'ip', 'dport', String(opts.dport), '0xffff');
  await netnsExec('tc', ['filter', 'add', 'dev', 'lo', 'parent', ROOT_HANDLE, 'protocol', 'ip', 'prio', String(id), 'u32', ...match, 'flowid', classid]);
  let removed = false;
  return {
    id,
    classid,
    rateKbit: () => rate,
    async update(rateKbit, u = {}) {
      if (removed) throw new Error(`cap ${classid} was removed`);
      const args = tbfArgs(rateKbit, u.burstBytes ?? opts.burstBytes, u.latencyMs ?? latencyMs);
      await netnsExec('tc', ['qdisc', 'change', 'dev', 'lo', 'parent', classid, 'handle', `${id}:`, ...args]);
      rate = rateKbit;
    },
    async counters() {
      const q = (await qdiscCounters()).find((c) => c.handle === `${id}:`);
      if (!q) throw new Error(`tbf ${id}: not found (cap removed?)`);
      return q;
    },
    async remove() {
      if (removed) return;
      removed = true;
      await netnsExec('tc', ['filter', 'del', 'dev', 'lo', 'parent', ROOT_HANDLE, 'protocol', 'ip', 'prio', String(id)]);
      await netnsExec('tc', ['class', 'del', 'dev', 'lo', 'classid', classid]);
    },
  };
}

function checkPort(name: string, port: number): void {
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new Error(`${name} must be a UDP port (got ${port})`);
}

interface TcQdiscJson {
  kind: string;
  handle: string;
  parent?: string;
  root?: boolean;
  options?: { direct_packets_stat?: number };
  bytes?: number;
  packets?: number;
  drops?: number;
  overlimits?: number;
  backlog?: number;
  qlen?: number;
}

async function qdiscJson(): Promise<TcQdiscJson[]> {
  return JSON.parse(await netnsExec('tc', ['-s', '-j', 'qdisc', 'show', 'dev', 'lo'])) as TcQdiscJson[];
}

async function qdiscCounters(): Promise<QdiscCounters[]> {
  return (await qdiscJson()).map((q) => {
    const c: QdiscCounters = {
      handle: q.handle,
      kind: q.kind,
      bytes: q.bytes ?? 0,
      packets: q.packets ?? 0,
      drops: q.drops ?? 0,
      overlimits: q.overlimits ?? 0,
      backlogBytes: q.backlog ?? 0,
      qlen: q.qlen ?? 0,
    };
    if (q.parent !== undefined) c.parent = q.parent;
    return c;
  });
}

// iproute2 6.1 ignores -j for `tc -s class show` of htb: parse the text.
//   class htb 1:10 root leaf 10: prio 0 rate 10Gbit ...
//    Sent 14588 bytes 14 pkt (dropped 36, overlimits 0 requeues 0)
const CLASS_RE = /^class (\S+) (\S+)[^\n]*\n\s*Sent (\d+) bytes (\d+) pkt \(dropped (\d+), overlimits (\d+)/gm;

async function classCounters(): Promise<ClassCounters[]> {
  const text = await netnsExec('tc', ['-s', 'class', 'show', 'dev', 'lo']);
  const out: ClassCounters[] = [];
  for (const m of text.matchAll(CLASS_RE)) {
    out.push({ kind: m[1]!, classid: m[2]!, bytes: Number(m[3]), packets: Number(m[4]), drops: Number(m[5]), overlimits: Number(m[6]) });
  }
  return out;
}

/** Rules with counters from `iptables-save -c` (mangle and filter tables). */
export async function iptablesCounters(): Promise<RuleCounters[]> {
  const cmd = await iptablesCommand();
  const out: RuleCounters[] = [];
  for (const table of ['mangle', 'filter']) {
    const text = await netnsExec(`${cmd}-save`, ['-c', '-t', table]);
    for (const line of text.split('\n')) {
      const m = /^\[(\d+):(\d+)\] -A (\S+) (.*)$/.exec(line);
      if (!m) continue;
      const comment = /--comment "?([^"\s]+)"?/.exec(m[4]!)?.[1] ?? '';
      out.push({ table, chain: m[3]!, comment, packets: Number(m[1]), bytes: Number(m[2]), rule: m[4]! });
    }
  }
  return out;
}

/** The kernel's counters for lo's qdiscs and classes and for the iptables rules, to check what a rule hit. */
export async function counters(): Promise<NetnsCounters> {
  assertInsideScenarioNamespace();
  const qdiscsRaw = await qdiscJson();
  const root = qdiscsRaw.find((q) => q.root === true && q.kind === 'htb');
  return {
    classes: await classCounters(),
    qdiscs: await qdiscCounters(),
    directPackets: root?.options?.direct_packets_stat ?? 0,
    iptables: await iptablesCounters(),
  };
}
