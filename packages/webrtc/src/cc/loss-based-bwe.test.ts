import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LossBasedBwe } from './loss-based-bwe.js';

const make = (startBps = 1_000_000): LossBasedBwe => new LossBasedBwe({ startBps, minBps: 30_000, maxBps: 10_000_000 });

/** Feeds 5 packets per 50 ms feedback for `ms`, losing `lostEvery`th packets (0 none); returns the end time. */
function run(b: LossBasedBwe, fromMs: number, ms: number, lostPerFeedback: number, perFeedback = 5): number {
  let t = fromMs;
  for (; t < fromMs + ms; t += 50) b.onPackets(lostPerFeedback, perFeedback, t);
  return t;
}

test('no loss: up to 8% per second over the lowest estimate of the last second', () => {
  const b = make();
  b.setDelayBasedLimit(Number.POSITIVE_INFINITY);
  run(b, 0, 5000, 0);
  // 8%/s compounding, +1 kbps per step: about 1.08^5 = 1.47 over 5 s.
  assert.ok(b.estimateBps > 1_400_000 && b.estimateBps < 1_600_000, `${b.estimateBps}`);
  assert.equal(b.lastLossFraction, 0);
});

test('loss intervals need 20 packets: a few lost packets alone do not decide', () => {
  const b = make();
  b.onPackets(3, 10, 0);
  assert.equal(b.lastLossFraction, 0, 'not yet an interval');
  b.onPackets(0, 9, 50);
  assert.equal(b.lastLossFraction, 0);
  b.onPackets(0, 1, 100);
  assert.equal(b.lastLossFraction, 0.15);
});

test('classic rules: 5% holds, 20% decreases by half the loss at most every 300 ms + RTT', () => {
  // [loss per 20 packets, expected factor after 3 s]
  const hold = make();
  hold.setDelayBasedLimit(5_000_000);
  run(hold, 0, 2500, 0, 20); // grow through the start phase first
  const start = hold.estimateBps;
  run(hold, 2500, 20_000, 1, 20); // exactly 5%
  assert.equal(hold.estimateBps, start);
  assert.equal(hold.decreases, 0);

  const dec = make();
  dec.setRtt(100);
  const t = run(dec, 0, 3000, 4, 20); // 20%
  // Decreases of x0.9 no more often than every 400 ms (from the first interval on).
  assert.ok(dec.decreases >= 6 && dec.decreases <= 8, `${dec.decreases} decreases`);
  assert.ok(Math.abs(dec.estimateBps - 1_000_000 * 0.9 ** dec.decreases) < 1, `${dec.estimateBps}`);
  assert.ok(t > 0);
});

test('steady 5% random loss in small intervals does not decay the estimate (confidence margin)', () => {
  // 1 of 20 lost on average, drawn so that single intervals reach 15-25%.
  const b = make(500_000);
  b.setDelayBasedLimit(500_000);
  let x = 12345;
  let t = 0;
  for (let i = 0; i < 2000; i++, t += 50) {
    let lost = 0;
    for (let k = 0; k < 5; k++) {
      x = (x * 1103515245 + 12345) & 0x7fffffff;
      if (x / 0x7fffffff < 0.05) lost++;
    }
    b.onPackets(lost, 5, t);
  }
  assert.equal(b.decreases, 0);
  assert.equal(b.estimateBps, 500_000);
});

test('the delay-based estimate caps it; a probe result sets it', () => {
  const b = make();
  b.setDelayBasedLimit(600_000);
  assert.equal(b.estimateBps, 600_000);
  b.setDelayBasedLimit(2_000_000);
  b.setEstimate(1_800_000, 0);
  assert.equal(b.estimateBps, 1_800_000);
  b.setDelayBasedLimit(100);
  assert.equal(b.estimateBps, 30_000, 'never below minBps');
});
