import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BottleneckSim } from './bottleneck-sim.js';
import type { PacketResult } from './packet-result.js';
import { SendSideBwe, SEND_SIDE_BWE_DEFAULTS } from './send-side-bwe.js';

const kbps = (bps: number): string => `${Math.round(bps / 1000)} kbps`;

test('step down 2 Mbps -> 500 kbps: below 600 kbps well within 2 s, never below 250 kbps, the queue drains', () => {
  const bwe = new SendSideBwe({ startBps: 1_500_000 });
  const sim = new BottleneckSim(bwe, { capacityBps: 2_000_000, queueLimitMs: 3000 });
  sim.runUntil(10_000);
  const before = bwe.estimateBps();
  assert.ok(before > 1_700_000 && before < 2_300_000, `converged near 2 Mbps first: ${kbps(before)}`);
  sim.capacityBps = 500_000;
  sim.runUntil(20_000);
  const below = sim.firstTime(10_000, (e) => e <= 600_000);
  assert.ok(below > 0 && below - 10_000 <= 600, `<= 600 kbps ${below - 10_000} ms after the drop`);
  const { min } = sim.estimateRange(10_000, 20_000);
  assert.ok(min >= 300_000, `no collapse: min ${kbps(min)}`);
  // Without a congestion window the sender learns of the drop only as the queue delivers: about 0.85 s of queue
  // builds up before the decrease reaches the link, then drains at the 15% margin.
  const peakQueue = sim.maxQueueDelayMs(10_000, 20_000);
  assert.ok(peakQueue < 1000, `peak queue ${peakQueue.toFixed(0)} ms`);
  assert.ok(sim.maxQueueDelayMs(15_000, 20_000) < 100, 'queue drained within 5 s');
  assert.ok(bwe.overuseEvents >= 1 && bwe.delayBasedDecreases >= 2);
  const after = bwe.estimateBps();
  assert.ok(after > 400_000 && after < 700_000, `settles near 500 kbps: ${kbps(after)}`);
});

function stepUp(probe: boolean): { sim: BottleneckSim; bwe: SendSideBwe } {
  const bwe = new SendSideBwe({ startBps: 300_000 });
  const sim = new BottleneckSim(bwe, { capacityBps: 500_000 });
  sim.runUntil(10_000);
  assert.ok(bwe.estimateBps() < 600_000, `held near 500 kbps: ${kbps(bwe.estimateBps())}`);
  sim.capacityBps = 2_500_000;
  if (probe) sim.probeAt(1, 2_000_000, 10);
  sim.runUntil(probe ? 20_000 : 40_000);
  return { sim, bwe };
}

test('step up 500 kbps -> 2.5 Mbps without probes: multiplicative increase passes 1.5 Mbps in about 19 s', () => {
  const { sim, bwe } = stepUp(false);
  const t = sim.firstTime(10_000, (e) => e > 1_500_000) - 10_000;
  assert.ok(t > 10_000 && t < 22_000, `above 1.5 Mbps after ${t} ms`);
  const { max } = sim.estimateRange(30_000, 40_000);
  assert.ok(max > 2_200_000 && max < 3_200_000, `reaches the new capacity: ${kbps(max)}`);
  assert.equal(bwe.lastProbeResultBps(), -1);
});

test('step up with a 2 Mbps probe cluster: the estimate jumps to the probed rate at once', () => {
  const { sim, bwe } = stepUp(true);
  const t = sim.firstTime(10_000, (e) => e > 1_500_000) - 10_000;
  assert.ok(t >= 0 && t < 300, `above 1.5 Mbps after ${t} ms (the probe's feedback)`);
  const probe = bwe.lastProbeResultBps();
  assert.ok(probe > 1_850_000 && probe < 2_150_000, `probe result ${kbps(probe)}`);
  assert.equal(bwe.probeResults >= 1, true);
  const { min } = sim.estimateRange(10_000 + t, 20_000);
  assert.ok(min >= 1_900_000, `stays up after the probe: min ${kbps(min)}`);
});

test('5% random loss without congestion holds the estimate; 20% loss decreases it', () => {
  for (const lossRate of [0.05, 0.2]) {
    const bwe = new SendSideBwe({ startBps: 1_000_000 });
    const sim = new BottleneckSim(bwe, { capacityBps: 50_000_000, seed: 7 });
    sim.runUntil(5_000);
    const atLossStart = bwe.estimateBps();
    sim.lossRate = lossRate;
    sim.runUntil(25_000);
    const { min } = sim.estimateRange(5_000, 25_000);
    const end = bwe.estimateBps();
    if (lossRate === 0.05) {
      assert.ok(min >= atLossStart, `5%: never below ${kbps(atLossStart)} (min ${kbps(min)})`);
      assert.equal(bwe.lossBasedDecreases, 0);
      assert.ok(bwe.lossFraction() < 0.15);
    } else {
      assert.ok(end < 0.5 * atLossStart, `20%: ${kbps(atLossStart)} -> ${kbps(end)}`);
      assert.ok(bwe.lossBasedDecreases >= 3);
    }
  }
});

test('RTT 50 -> 300 ms on a steady link: no decrease from the jump, additive increase slows', () => {
  const bwe = new SendSideBwe({ startBps: 800_000 });
  const sim = new BottleneckSim(bwe, { capacityBps: 1_200_000, baseDelayMs: 25, returnDelayMs: 25 });
  // Increase rate over 3 s starting 0.5 s after a sawtooth decrease.
  const slopeAfterNextDecrease = (): { slopeBpsPerS: number; decreasesDuring: number; startMs: number } => {
    const d0 = bwe.delayBasedDecreases;
    while (bwe.delayBasedDecreases === d0) sim.runUntil(sim.nowMs + 10);
    sim.runUntil(sim.nowMs + 500);
    return { slopeBpsPerS: 0, decreasesDuring: 0, startMs: sim.nowMs };
  };
  sim.runUntil(8_000);
  const a = slopeAfterNextDecrease();
  const a0 = bwe.estimateBps();
  const ad = bwe.delayBasedDecreases;
  sim.runUntil(a.startMs + 3000);
  const slope50 = (bwe.estimateBps() - a0) / 3;
  assert.equal(bwe.delayBasedDecreases, ad, 'no decrease in the 3 s after (RTT 50)');

  const b = slopeAfterNextDecrease();
  sim.returnDelayMs = 275; // the feedback path gets 250 ms longer; onRtt reports 300 ms within 1 s
  const b0 = bwe.estimateBps();
  const bd = bwe.delayBasedDecreases;
  const overuse = bwe.overuseEvents;
  sim.runUntil(b.startMs + 3000);
  const slope300 = (bwe.estimateBps() - b0) / 3;
  assert.equal(bwe.delayBasedDecreases, bd, 'no decrease from the RTT jump');
  assert.equal(bwe.overuseEvents, overuse);
  assert.equal(bwe.estimateBps() >= b0, true);
  assert.ok(slope50 > 30_000, `RTT 50: +${kbps(slope50)}/s`);
  assert.ok(slope300 < 0.6 * slope50 && slope300 > 5_000, `RTT 300: +${kbps(slope300)}/s vs ${kbps(slope50)}/s`);
});

test('application-limited at 300 kbps on a 5 Mbps link: bounded near 1.5 x acked, never dropping', () => {
  const bwe = new SendSideBwe({ startBps: 300_000 });
  const sim = new BottleneckSim(bwe, { capacityBps: 5_000_000, appRateBps: 300_000 });
  sim.runUntil(30_000);
  const acked = bwe.ackedBitrateBps();
  assert.ok(acked > 250_000 && acked < 350_000, `acked ${kbps(acked)}`);
  const { min, max } = sim.estimateRange(0, 30_000);
  assert.ok(max <= 1.5 * 330_000 + 10_000 && max < 2 * acked + 50_000, `bounded: max ${kbps(max)}`);
  assert.ok(min >= 300_000, `never below the start: min ${kbps(min)}`);
  assert.ok(bwe.estimateBps() > 400_000, `grew to the cap: ${kbps(bwe.estimateBps())}`);

  // Starting above the cap: the estimate is neither raised further nor lowered.
  const high = new SendSideBwe({ startBps: 1_000_000 });
  const sim2 = new BottleneckSim(high, { capacityBps: 5_000_000, appRateBps: 300_000 });
  sim2.runUntil(20_000);
  const r = sim2.estimateRange(2_000, 20_000);
  assert.ok(r.min >= 1_000_000 && r.max - r.min < 1, `held at ${kbps(r.min)}..${kbps(r.max)}`);
});

test('defaults, bounds and empty input', () => {
  const bwe = new SendSideBwe();
  assert.equal(bwe.estimateBps(), SEND_SIDE_BWE_DEFAULTS.startBps);
  assert.equal(bwe.ackedBitrateBps(), -1);
  assert.equal(bwe.lastProbeResultBps(), -1);
  assert.equal(bwe.delayState, 'normal');
  bwe.onFeedback([], 0);
  assert.equal(bwe.feedbacks, 0);
  const clamped = new SendSideBwe({ startBps: 5, minBps: 50_000, maxBps: 100_000 });
  assert.equal(clamped.estimateBps(), 50_000);
  const high = new SendSideBwe({ startBps: 1e9, maxBps: 2_000_000 });
  assert.equal(high.estimateBps(), 2_000_000);
});

test('everything lost: the estimate falls but not below minBps; results out of arrival order are sorted', () => {
  const bwe = new SendSideBwe({ startBps: 1_000_000, minBps: 100_000 });
  let seq = 0;
  for (let f = 0; f < 100; f++) {
    const results: PacketResult[] = [];
    for (let i = 0; i < 10; i++, seq++) results.push({ seq, sendMs: seq * 5, sizeBytes: 1200, arrivalMs: -1, probeClusterId: -1 });
    bwe.onFeedback(results, f * 50 + 100);
  }
  assert.equal(bwe.estimateBps(), 100_000);
  assert.equal(bwe.lossFraction(), 1);
  assert.equal(bwe.packetsLost, 1000);

  // Reordered arrivals in one report: processed in arrival order, nothing breaks.
  const b2 = new SendSideBwe();
  const r: PacketResult[] = [];
  for (let i = 0; i < 50; i++) r.push({ seq: i, sendMs: i * 2, sizeBytes: 1000, arrivalMs: 1000 + i * 2 + (i % 3 === 0 ? 3 : 0), probeClusterId: -1 });
  b2.onFeedback(r, 200);
  assert.equal(b2.delayState, 'normal');
  assert.equal(b2.packetsReported, 50);
});
