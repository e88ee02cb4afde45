import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AimdRateControl } from './aimd-rate-control.js';

const make = (startBps = 1_000_000): AimdRateControl => new AimdRateControl({ startBps, minBps: 30_000, maxBps: 10_000_000 });

test('far from convergence the estimate grows about 8% per second', () => {
  const c = make();
  for (let t = 0; t <= 1000; t += 100) c.update('normal', 1_000_000, t);
  // The first step only leaves hold (+1 kbps minimum), then 10 x 1.08^0.1.
  assert.ok(Math.abs(c.estimateBps - 1_001_000 * 1.08) < 100, `${c.estimateBps}`);
  assert.equal(c.rateControlState, 'increase');
});

test('over-use decreases to 0.85 x acknowledged - 5 kbps, sets the link capacity and holds', () => {
  const c = make();
  c.update('overusing', 800_000, 0);
  assert.equal(c.estimateBps, 0.85 * 800_000 - 5000);
  assert.equal(c.rateControlState, 'hold');
  assert.equal(c.linkCapacity.estimateBps(), 800_000);
  // Under-use holds.
  c.update('underusing', 800_000, 100);
  assert.equal(c.estimateBps, 675_000);
  // An over-use with an acknowledged rate above the estimate does not raise it.
  c.update('overusing', 900_000, 200);
  assert.equal(c.estimateBps, 675_000);
});

test('near the link capacity the increase is additive: one average packet per RTT + 100 ms', () => {
  // [rtt ms, expected bps per second at 1 Mbps: frame 4167 B -> 4 packets of 1042 B = 8333 bits / (rtt + 100 ms)]
  const table: Array<[number, number]> = [[50, 8333.33 / 0.15], [300, 8333.33 / 0.4], [1000, 8333.33 / 1.1]];
  for (const [rtt, want] of table) {
    const c = make();
    c.setRtt(rtt);
    assert.ok(Math.abs(c.nearMaxIncreaseBpsPerS() - want) < 10, `rtt ${rtt}: ${c.nearMaxIncreaseBpsPerS()}`);
    c.update('overusing', 1_176_471, 0); // -> 995 kbps, capacity ~1.18 Mbps
    c.update('normal', 1_000_000, 1000); // leave hold
    const at = c.estimateBps;
    const rate = c.nearMaxIncreaseBpsPerS();
    c.update('normal', 1_000_000, 2000);
    const perS = c.estimateBps - at;
    assert.ok(Math.abs(perS - rate) < 1, `rtt ${rtt}: +${perS}/s vs ${rate}`);
  }
  // Low rates never increase by less than 4 kbps/s.
  const low = make(50_000);
  low.setRtt(1000);
  assert.equal(low.nearMaxIncreaseBpsPerS(), 4000);
});

test('increases stop at 1.5 x acknowledged + 10 kbps (application limited) but do not lower the estimate', () => {
  const c = make(300_000);
  for (let t = 0; t <= 20_000; t += 100) c.update('normal', 300_000, t);
  assert.equal(c.estimateBps, 1.5 * 300_000 + 10_000);
  const d = make(1_000_000);
  for (let t = 0; t <= 5000; t += 100) d.update('normal', 100_000, t);
  assert.equal(d.estimateBps, 1_000_000);
});

test('bounds, time to reduce further and direct set', () => {
  const c = new AimdRateControl({ startBps: 100_000, minBps: 80_000, maxBps: 120_000 });
  c.update('overusing', 10_000, 0);
  assert.equal(c.estimateBps, 80_000);
  for (let t = 100; t <= 10_000; t += 100) c.update('normal', 1_000_000, t);
  assert.equal(c.estimateBps, 120_000);
  c.setRtt(50);
  c.setEstimate(100_000, 20_000);
  assert.equal(c.timeToReduceFurther(20_020, 90_000), false, 'within one RTT');
  assert.equal(c.timeToReduceFurther(20_020, 40_000), true, 'acked below half the estimate');
  assert.equal(c.timeToReduceFurther(20_050, 90_000), true);
});
