import { test } from 'node:test';
import assert from 'node:assert/strict';
import { OveruseDetector } from './overuse-detector.js';

// Each step: [modified trend, raw trend, send delta ms, expected state]. Time advances 5 ms per step; threshold 12.5.
type Step = [number, number, number, string];

test('over-use detector state tables', () => {
  const cases: Array<[string, Step[]]> = [
    ['below the threshold stays normal', [[5, 0.02, 5, 'normal'], [12, 0.05, 5, 'normal'], [-12, -0.05, 5, 'normal']]],
    ['over-use needs > 10 ms above the threshold and two samples', [
      [20, 0.1, 5, 'normal'], // 2.5 ms
      [20, 0.1, 5, 'normal'], // 7.5 ms
      [20, 0.1, 5, 'overusing'], // 12.5 ms, 3 samples
    ]],
    ['one long sample is not enough, the second is', [[20, 0.1, 20, 'normal'], [20, 0.1, 20, 'overusing']]],
    ['a falling trend does not trigger over-use', [[20, 0.1, 5, 'normal'], [20, 0.09, 5, 'normal'], [20, 0.08, 5, 'normal']]],
    ['over-use holds while m stays high, then normal below the threshold', [
      [20, 0.1, 20, 'normal'], [20, 0.1, 20, 'overusing'], [20, 0.1, 5, 'overusing'], [3, 0.01, 5, 'normal'],
    ]],
    ['under-use below -threshold, and back', [[-20, -0.1, 5, 'underusing'], [-20, -0.1, 5, 'underusing'], [0, 0, 5, 'normal']]],
    ['dipping below the threshold restarts the over-use timer', [
      [20, 0.1, 5, 'normal'], [20, 0.1, 5, 'normal'], [0, 0, 5, 'normal'], [20, 0.1, 5, 'normal'], [20, 0.1, 5, 'normal'],
    ]],
  ];
  for (const [what, steps] of cases) {
    const d = new OveruseDetector();
    let now = 0;
    steps.forEach(([m, trend, sendDelta, want], i) => {
      now += 5;
      assert.equal(d.detect(m, trend, sendDelta, now, 100), want, `${what}, step ${i}`);
    });
  }
});

test('fewer than two deltas is always normal', () => {
  const d = new OveruseDetector();
  assert.equal(d.detect(1000, 1, 50, 0, 1), 'normal');
});

test('the threshold follows |m| with K_u above and K_d below, ignores spikes, and stays within 6..600', () => {
  // [start threshold, m, dt ms, expected threshold]
  const table: Array<[number, number, number, number]> = [
    [12.5, 20, 100, 12.5 + 0.01 * 7.5 * 100], // K_u up towards |m| (dt capped at 100 ms)
    [12.5, 20, 500, 12.5 + 0.01 * 7.5 * 100],
    [12.5, 0, 100, 12.5 - 0.00018 * 12.5 * 100], // K_d down
    [12.5, -5, 50, 12.5 - 0.00018 * 7.5 * 50],
    [12.5, 40, 100, 12.5], // spike > threshold + 15: not followed
    [6.05, 0, 100, 6], // floor
  ];
  for (const [start, m, dt, want] of table) {
    const d = new OveruseDetector({ initialThreshold: start });
    d.detect(0.0001, 0, 5, 0, 100); // first update sets the clock (|m| ~ 0 moves it by 0)
    d.threshold = start;
    d.detect(m, m / 240, 5, dt, 100);
    assert.ok(Math.abs(d.threshold - want) < 1e-9, `start ${start}, m ${m}, dt ${dt}: ${d.threshold} != ${want}`);
  }
  const d = new OveruseDetector({ initialThreshold: 590 });
  for (let t = 1; t < 100; t++) d.detect(604, 1, 5, t * 100, 100);
  assert.equal(d.threshold, 600, 'ceiling');
});
