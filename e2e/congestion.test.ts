// Congestion control under real impairment (issue 8): livekit-client 2.23 in headless Chromium against Atrium, in a
// network namespace where only what Atrium sends to one subscriber's PeerConnection is impaired (5% loss + 40 ms
// delay, 600 and 150 kbit/s caps with a 150 ms queue, a lifted cap, one capped and one clean subscriber). The
// scenario (helpers/congestion-scenario.ts) measures what the subscribers decode and hear; this file asserts the
// issue's acceptance points on those numbers and prints them per phase. Needs root: fails with the reason otherwise.
// ATRIUM_CC_LONG=1 measures the 600 kbit/s cap over 30 s (the window) instead of 20 s.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { ReceiveStats } from './helpers/congestion-sampler.js';
import { canCreateNetworkNamespaces, helperPath, runInNetworkNamespace } from './helpers/netns.js';

const SCENARIO = helperPath('congestion-scenario.ts');

interface PhaseResult {
  phase: string;
  link: string;
  subscribers: Record<string, ReceiveStats>;
  /** The server's estimate, allocation and paused share for each subscriber over the phase (kbit/s, %). */
  server: Record<string, { estimateKbps: { min: number; median: number; max: number } | null; allocatedKbpsMedian: number | null; pausedPercent: number }>;
  timings: Record<string, number | null>;
  publisher: string[];
  tc?: { packets: number; drops: number; bytes: number };
  impair?: { seen: number; dropped: number; delayed: number };
  timeline?: string[];
}
interface ScenarioResult {
  ok: boolean;
  error?: string;
  allowPause: boolean;
  long: boolean;
  totalMs: number;
  phases: PhaseResult[];
}

/** Chain A runs with LiveKit's default allow_pause: false; chain B with allow_pause: true (the pause phase). */
const CHAIN_A = ['clean', 'loss', 'cap600', 'lift', 'two'];
const CHAIN_B = ['--allow-pause', 'pause', 'lift'];
const isLong = process.env['ATRIUM_CC_LONG'] === '1';
/**
 * Audio concealment allowed while the video is paused under 150 kbit/s: the 10%. Measured with congestion
 * control: 2.1-4.6% over 10 s at 4dcc025-e5a28c2, 0.5-6.5% at 43ac7b7; without it (e9b9be7, the video still sent into
 * the cap) 5.6-6.9%, which passes too. A tighter bound would not be stable, so what shows the pause working is the
 * PAUSED state, kept to the end of the window.
 */
const PAUSED_MAX_CONCEALED_PERCENT = 10;

const results: ScenarioResult[] = [];
/** Why a chain has no result (the namespace check or the scenario failed). */
const chainErrors: (Error | undefined)[] = [];

async function runChain(args: string[], timeoutMs: number): Promise<ScenarioResult> {
  const t0 = Date.now();
  const r = await runInNetworkNamespace(SCENARIO, args, { timeoutMs, echoStderr: process.env['E2E_CC_VERBOSE'] === '1' });
  const json = r.json as ScenarioResult | undefined;
  const tail = r.stderr.split('\n').slice(-60).join('\n');
  assert.equal(r.timedOut, false, `scenario ${args.join(' ')} timed out after ${timeoutMs} ms; stderr tail:\n${tail}`);
  assert.deepEqual(r.leftoverPids, [], 'processes left in the scenario namespace');
  assert.ok(json, `scenario ${args.join(' ')} printed no result (exit ${r.code}); stderr tail:\n${tail}`);
  assert.ok(json.ok && r.code === 0, `scenario ${args.join(' ')} failed: ${json.error}; stderr tail:\n${tail}`);
  console.log(`scenario ${args.join(' ')}: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  return json;
}

function phase(name: string, chain: 0 | 1 = 0): PhaseResult {
  const err = chainErrors[chain];
  if (err) throw err;
  const p = results[chain]?.phases.find((x) => x.phase === name);
  if (!p) throw new Error(`phase ${name} did not run`);
  return p;
}

function sub(p: PhaseResult, label = 'sub'): ReceiveStats {
  const s = p.subscribers[label];
  if (!s) throw new Error(`phase ${p.phase} has no subscriber ${label}`);
  return s;
}

/** One line of figures for assertion messages. */
function figures(s: ReceiveStats): string {
  const v = s.video;
  const p = results.flatMap((r) => r?.phases ?? []).find((x) => Object.values(x.subscribers).includes(s));
  const label = p && Object.entries(p.subscribers).find(([, x]) => x === s)?.[0];
  const srv = p && label ? p.server[label] : undefined;
  const server = srv ? `; server estimate ${est(srv.estimateKbps)} kbit/s (min/median/max), allocated ${srv.allocatedKbpsMedian}, paused ${srv.pausedPercent}% of samples` : '';
  return (
    `fps ${v.fps}, last width ${v.lastWidth}, widths ${JSON.stringify(v.widths)}, freezes ${v.freezeMs} ms (longest gap ${v.longestGapMs} ms), ` +
    `lost ${v.packetsLost}, NACKs ${v.nackCount}, RTX received ${v.retransmittedPacketsReceived}, PLIs ${v.pliCount}, ${v.kbps} kbit/s; ` +
    `audio concealed ${s.audio.concealedPercent}%, stream states [${s.streamStates.join(',')}] (at end ${s.streamStateAtEnd}), quality [${s.quality.join(',')}]${server}`
  );
}

describe('congestion control with livekit-client under an impaired server -> subscriber link', { timeout: 400_000 }, () => {
  before(async () => {
    // Failures are kept per chain so every acceptance point reports (and fails with the reason) on its own.
    const check = await canCreateNetworkNamespaces({ withImpairment: true });
    if (!check.ok) {
      chainErrors[0] = chainErrors[1] = new Error(check.reason);
      return;
    }
    const chains: [string[], number][] = [[isLong ? ['--long', ...CHAIN_A] : CHAIN_A, 200_000], [CHAIN_B, 120_000]];
    for (const [i, [args, timeoutMs]] of chains.entries()) {
      try {
        results[i] = await runChain(args, timeoutMs);
      } catch (err) {
        chainErrors[i] = err as Error;
      }
    }
  });

  after(() => {
    console.log(table());
  });

  it('clean link: the top layer (1280 wide) at >= 20 fps', () => {
    const s = sub(phase('clean'));
    assert.equal(s.video.lastWidth, 1280, figures(s));
    assert.ok(s.video.fps >= 20, figures(s));
  });

  it('5% loss + 40 ms delay: video keeps decoding at >= 15 fps, audio concealment < 10%, NACKs answered with retransmissions', () => {
    const s = sub(phase('loss'));
    assert.ok(s.video.nackCount > 0, `no NACKs sent: ${figures(s)}`);
    assert.ok((s.video.retransmittedPacketsReceived ?? 0) > 0, `no retransmissions received: ${figures(s)}`);
    assert.ok(s.audio.concealedPercent !== null && s.audio.concealedPercent < 10, figures(s));
    assert.ok(s.video.fps >= 15, figures(s));
  });

  it(`600 kbit/s cap: decoding a lower layer within 5 s, then >= 10 fps and < 3 s of freezes over ${isLong ? 30 : 20} s`, () => {
    const p = phase('cap600');
    const s = sub(p);
    const down = p.timings['below1280Ms'];
    assert.ok(down !== null && down !== undefined && down <= 5_000, `decoding below 1280 wide (15 frames in a row) after ${down} ms: ${figures(s)}`);
    assert.ok(s.video.lastWidth > 0 && s.video.lastWidth < 1280, figures(s));
    assert.ok(s.video.fps >= 10, figures(s));
    assert.ok(s.video.freezeMs < 3_000, figures(s));
  });

  it('cap lifted: back to 1280 wide within 15 s (after the 600 kbit/s cap and after a pause)', () => {
    for (const chain of [0, 1] as const) {
      const p = phase('lift', chain);
      const up = p.timings['back1280Ms'];
      assert.ok(up !== null && up !== undefined && up <= 15_000, `chain ${chain}: decoding at 1280 (15 frames in a row) after ${up} ms: ${figures(sub(p))}`);
    }
  });

  it(`150 kbit/s cap with allow_pause: the video is PAUSED and audio stays clean (concealment < ${PAUSED_MAX_CONCEALED_PERCENT}%)`, () => {
    const p = phase('pause', 1);
    const s = sub(p);
    assert.ok(p.timings['pausedAfterMs'] !== null, `no PAUSED StreamState: ${figures(s)}`);
    assert.equal(s.streamStateAtEnd, 'paused', `the video did not stay paused under the cap: ${figures(s)}`);
    assert.ok(s.audio.concealedPercent !== null && s.audio.concealedPercent < PAUSED_MAX_CONCEALED_PERCENT, figures(s));
  });

  it('two subscribers, one capped at 600 kbit/s: the clean one stays at 1280 wide and >= 20 fps, the capped one moves down', () => {
    const p = phase('two');
    const clean = sub(p, 'clean');
    const capped = sub(p, 'sub');
    assert.equal(clean.video.lastWidth, 1280, `clean: ${figures(clean)}`);
    assert.deepEqual(Object.keys(clean.video.widths), ['1280'], `clean: ${figures(clean)}`);
    assert.ok(clean.video.fps >= 20, `clean: ${figures(clean)}`);
    assert.ok(capped.video.lastWidth > 0 && capped.video.lastWidth < 1280, `capped: ${figures(capped)}`);
  });
});

const est = (e: { min: number; median: number; max: number } | null | undefined): string => (e ? `${e.min}/${e.median}/${e.max}` : '-');

/** The per-phase figures as a text table, for the CI log. */
function table(): string {
  const rows: string[][] = [['phase', 'link', 'subscriber', 'fps', 'last w', 'frames per width', 'freeze ms', 'longest gap', 'audio concealed %', 'audio lost', 'audio jb ms', 'rtt med/max', 'lost', 'NACKs', 'RTX rx', 'kbit/s', 'server est. min/med/max', 'alloc', 'states', 'quality', 'timings']];
  results.forEach((r, chain) => {
    if (!r) return;
    for (const p of r.phases) {
      for (const [label, s] of Object.entries(p.subscribers)) {
        rows.push([
          `${chain === 0 ? 'A' : 'B'}:${p.phase}`, p.link, label, String(s.video.fps), String(s.video.lastWidth),
          Object.entries(s.video.widths).map(([w, n]) => `${w}:${n}`).join(' '), String(s.video.freezeMs), String(s.video.longestGapMs),
          String(s.audio.concealedPercent), String(s.audio.packetsLost), String(s.audio.jitterBufferMs), s.rttMs ? `${s.rttMs.median}/${s.rttMs.max}` : '-', String(s.video.packetsLost), String(s.video.nackCount), String(s.video.retransmittedPacketsReceived),
          String(s.video.kbps), est(p.server[label]?.estimateKbps), String(p.server[label]?.allocatedKbpsMedian ?? '-'), s.streamStates.join(',') + (s.streamStateAtEnd ? ` (end ${s.streamStateAtEnd})` : ''), s.quality.join(','),
          Object.entries(p.timings).map(([k, v]) => `${k}=${v}`).join(' '),
        ]);
      }
      const tc = p.tc ? `tbf sent ${p.tc.packets} dropped ${p.tc.drops}` : '';
      const imp = p.impair ? `nfq seen ${p.impair.seen} dropped ${p.impair.dropped}` : '';
      if (tc || imp) rows.push(['', `  ${tc}${imp}`]);
      if (p.timeline) rows.push(['', `  per second (server estimate/allocated kbit/s, width decoded): ${p.timeline.join(', ')}`]);
    }
  });
  // Two-cell rows (counters, timelines) are notes under their phase, printed as they are.
  const widths = rows[0]!.map((_, i) => Math.max(...rows.filter((r) => r.length > 2).map((r) => (r[i] ?? '').length)));
  const lines = rows.map((r) => (r.length > 2 ? r.map((c, i) => c.padEnd(widths[i]!)).join(' | ').trimEnd() : r.join(' | ')));
  const total = results.flatMap((r, i) => (r ? [`chain ${i === 0 ? 'A' : 'B'}: ${(r.totalMs / 1000).toFixed(1)} s`] : [])).join(', ');
  return `\ncongestion control under impairment (${total})\n${lines.join('\n')}\n`;
}
