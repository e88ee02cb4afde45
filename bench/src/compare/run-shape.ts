// Runs one load shape against one server (a TargetInstance) with the load tester's client role and media, and
// measures over a window that starts once everyone joined and a warm-up passed: what subscribers received
// (forwarded packets), loss from sequence gaps, one-way delay from the payload trailer (sender and receiver share
// this machine's clock), the server's CPU from /proc/<pid>/stat, this process's (the load generator's) CPU and
// event-loop delay, and the whole machine's busy time from /proc/stat.
import { readFileSync } from 'node:fs';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { generateCertificate } from '@atrium/webrtc/dtls/certificate.js';
import type { SubscriptionSink } from '@atrium/cli/load-test/load-participant.js';
import { LatencyHistogram } from '@atrium/cli/load-test/stats.js';
import { readTrailer, wallClockMs } from '@atrium/cli/load-test/packetizer.js';
import type { Shape } from './shapes.js';
import { latencyPercentileNs } from './prometheus.js';
import type { ServerCounters } from './prometheus.js';
import { expectedSubscriptions } from './shapes.js';
import { processCpuSec } from '../server-process.js';
import type { BenchPeer, TargetFactory, TargetInstance } from './targets.js';

const TICK_MS = 5;
const CLK_TCK = 100; // Linux USER_HZ

/** Busy and total CPU seconds of the whole machine (all cores) so far. */
export function machineCpuSec(): { busy: number; total: number } {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0]!;
  const v = line.trim().split(/\s+/).slice(1).map(Number);
  const total = v.reduce((a, b) => a + b, 0);
  const idle = (v[3] ?? 0) + (v[4] ?? 0); // idle + iowait
  return { busy: (total - idle) / CLK_TCK, total: total / CLK_TCK };
}

/** One subscriber's view of one track: packets, sequence span; one-way delay into a shared histogram while measuring. */
class Sink implements SubscriptionSink {
  packets = 0;
  bytes = 0;
  firstExtSeq = 0;
  highestExtSeq = -1;
  constructor(private readonly run: { isMeasuring: boolean; latency: LatencyHistogram }) {}
  onRtp(buf: Buffer, payloadOffset: number, payloadLength: number, extSeq: number): void {
    if (this.packets === 0) this.firstExtSeq = extSeq;
    this.packets++;
    this.bytes += buf.length;
    if (extSeq > this.highestExtSeq) this.highestExtSeq = extSeq;
    if (this.run.isMeasuring) {
      const sentAt = readTrailer(buf, payloadOffset, payloadLength);
      if (sentAt === sentAt) this.run.latency.add(wallClockMs() - sentAt);
    }
  }
  get expected(): number {
    return this.packets === 0 ? 0 : this.highestExtSeq - this.firstExtSeq + 1;
  }
}

export interface ShapeResult {
  target: string;
  version: string;
  shape: string;
  joined: number;
  expectedPeers: number;
  receiving: number;
  expectedSubscriptions: number;
  windowSec: number;
  sentPerSec: number;
  forwarded: number;
  forwardedPerSec: number;
  /** Mean bitrate a receiving subscription got over the window (tells which simulcast layer was forwarded). */
  kbpsPerSubscription: number;
  lossPct: number;
  serverCpuSec: number;
  serverCpuPct: number;
  serverUsPerForwarded: number;
  generatorCpuSec: number;
  generatorCpuPct: number;
  /** Generator CPU per packet it handled (sent + received). */
  generatorUsPerPacket: number;
  /** Generator CPU per forwarded packet (all its work, sending included, over what it received). */
  generatorUsPerForwarded: number;
  generatorLoopDelayP99Ms: number;
  machineBusyPct: number;
  latencyP50Ms: number;
  latencyP99Ms: number;
  /** Packets/s the server says it sent to subscribers (Atrium's metrics), NaN when it has no such counter. */
  serverSentPerSec: number;
  /** In-server forwarding latency (receive -> sent to every subscriber, sampled; Atrium's histogram), ms, bucket bounds. */
  serverLatencyP50Ms: number;
  serverLatencyP99Ms: number;
  joinSec: number;
  problems: string[];
  /** Participants' connection states at the end of the window, grouped, most common first. */
  endStates: string[];
  warnings: string;
}

export interface RunOptions {
  durationSec: number;
  warmupSec: number;
  numPerSecond: number;
  progress: (line: string) => void;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export async function runShape(shape: Shape, factory: TargetFactory, opts: RunOptions): Promise<ShapeResult> {
  const certificate = await generateCertificate();
  const run = { isMeasuring: false, latency: new LatencyHistogram() };
  const sinks: Sink[] = [];
  const problems: string[] = [];
  const publishers = shape.videoPublishers + shape.audioPublishers + shape.meeting;
  const target: TargetInstance = await factory({
    room: `compare-${shape.key}`, publishers, certificate,
    sinkFor: () => {
      const s = new Sink(run);
      sinks.push(s);
      return s;
    },
    onProblem: (what) => problems.push(what),
  });
  const peers: BenchPeer[] = [];
  const members: BenchPeer[] = [];
  const errors: string[] = [];
  const sources = (): { packetsSent: number; tick(now: number): void }[] => peers.flatMap((p) => p.tracks.map((t) => t.source));
  let ticking: { packetsSent: number; tick(now: number): void }[] = [];
  const ticker = setInterval(() => {
    const now = performance.now();
    for (const s of ticking) s.tick(now);
  }, TICK_MS);
  const t0 = performance.now();
  const progress = setInterval(() => {
    opts.progress(`${target.name} ${shape.key}: ${((performance.now() - t0) / 1000).toFixed(0)} s, joined ${peers.length}, streams ${sinks.length}, received ${sinks.reduce((n, s) => n + s.packets, 0)}${errors.length > 0 ? `, ${errors.length} failed joins` : ''}`);
  }, 2000);
  const gapMs = 1000 / opts.numPerSecond;
  const paced = async (count: number, start: (i: number) => Promise<void>): Promise<void> => {
    const started: Promise<void>[] = [];
    for (let i = 0; i < count; i++) {
      started.push(start(i).catch((err: unknown) => void errors.push(err instanceof Error ? err.message : String(err))));
      if (i < count - 1) await sleep(gapMs);
    }
    await Promise.all(started);
  };
  let result: ShapeResult;
  const added = (p: BenchPeer): void => {
    peers.push(p);
    ticking = sources();
  };
  try {
    await paced(shape.videoPublishers, async (i) => added(await target.publish(`video_${i}`, { video: shape.publisherVideo }, false)));
    await paced(shape.audioPublishers, async (i) => added(await target.publish(`audio_${i}`, { audio: true }, false)));
    await paced(shape.meeting, async (i) => {
      const p = await target.publish(`member_${i}`, { video: shape.meetingVideo }, true);
      added(p);
      members.push(p);
    });
    await paced(members.length, (i) => target.subscribeOthers(members[i]!));
    await paced(shape.subscribers, async (i) => added(await target.subscribe(`sub_${i}`)));
    const joinSec = (performance.now() - t0) / 1000;
    await sleep(opts.warmupSec * 1000);

    const count = (): { sent: number; received: number; bytes: number; expected: number } => ({
      sent: ticking.reduce((n, s) => n + s.packetsSent, 0),
      received: sinks.reduce((n, s) => n + s.packets, 0),
      bytes: sinks.reduce((n, s) => n + s.bytes, 0),
      expected: sinks.reduce((n, s) => n + s.expected, 0),
    });
    const serverCpu = (): number => {
      try {
        return processCpuSec(target.pid);
      } catch {
        throw new Error(`the ${target.name} server (pid ${target.pid}) is gone: ${target.exitedEarly() ?? 'no exit seen yet'}`);
      }
    };
    const loop = monitorEventLoopDelay({ resolution: 5 });
    const counters = async (): Promise<ServerCounters | undefined> => target.counters?.().catch((err: unknown) => void problems.push(`metrics: ${String(err)}`));
    const ca = await counters();
    const a = { at: performance.now(), c: count(), server: serverCpu(), gen: process.cpuUsage(), machine: machineCpuSec() };
    loop.enable();
    run.isMeasuring = true;
    await sleep(opts.durationSec * 1000);
    run.isMeasuring = false;
    loop.disable();
    const b = { at: performance.now(), c: count(), server: serverCpu(), gen: process.cpuUsage(a.gen), machine: machineCpuSec() };
    const cb = await counters();
    const seconds = (b.at - a.at) / 1000;
    const forwarded = b.c.received - a.c.received;
    const expected = b.c.expected - a.c.expected;
    const serverCpuSec = b.server - a.server;
    const genCpu = (b.gen.user + b.gen.system) / 1e6;
    const sent = b.c.sent - a.c.sent;
    const receiving = sinks.filter((s) => s.packets > 0).length;
    // How the participants' connections ended the window, grouped (e.g. "publisher PC connected: 1")
    const states = new Map<string, number>();
    for (const p of peers) {
      const d = p.diagnostics().replace(/\d+ (offers answered|streams)/g, 'N $1');
      states.set(d, (states.get(d) ?? 0) + 1);
    }
    result = {
      target: target.name, version: target.version, shape: shape.key,
      joined: peers.length, expectedPeers: publishers + shape.subscribers,
      receiving, expectedSubscriptions: expectedSubscriptions(shape),
      windowSec: seconds, sentPerSec: sent / seconds, forwarded, forwardedPerSec: forwarded / seconds,
      kbpsPerSubscription: (8 * (b.c.bytes - a.c.bytes)) / seconds / 1000 / Math.max(1, receiving),
      lossPct: expected > 0 ? (100 * Math.max(0, expected - forwarded)) / expected : 0,
      serverCpuSec, serverCpuPct: (100 * serverCpuSec) / seconds, serverUsPerForwarded: (serverCpuSec * 1e6) / Math.max(1, forwarded),
      generatorCpuSec: genCpu, generatorCpuPct: (100 * genCpu) / seconds, generatorUsPerPacket: (genCpu * 1e6) / Math.max(1, forwarded + sent),
      generatorUsPerForwarded: (genCpu * 1e6) / Math.max(1, forwarded),
      generatorLoopDelayP99Ms: loop.percentile(99) / 1e6,
      machineBusyPct: (100 * (b.machine.busy - a.machine.busy)) / Math.max(1e-9, b.machine.total - a.machine.total),
      latencyP50Ms: run.latency.percentile(50), latencyP99Ms: run.latency.percentile(99),
      serverSentPerSec: ca && cb ? (cb.sent - ca.sent) / seconds : NaN,
      serverLatencyP50Ms: ca && cb ? latencyPercentileNs(ca, cb, 50) / 1e6 : NaN,
      serverLatencyP99Ms: ca && cb ? latencyPercentileNs(ca, cb, 99) / 1e6 : NaN,
      joinSec, problems: [...errors.map((e) => `join failed: ${e}`), ...problems], warnings: '',
      endStates: [...states.entries()].sort((x, y) => y[1] - x[1]).map(([d, n]) => `${n} x ${d}`),
    };
  } finally {
    clearInterval(ticker);
    clearInterval(progress);
    await Promise.all(peers.map((p) => p.leave().catch(() => undefined)));
    await target.stop().catch(() => undefined);
  }
  result.warnings = target.warnings();
  return result;
}
