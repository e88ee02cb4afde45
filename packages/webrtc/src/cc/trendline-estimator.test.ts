import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TrendlineEstimator } from './trendline-estimator.js';

/** Feeds `n` group deltas with the given send and arrival gaps; returns the estimator. */
function feed(n: number, sendDeltaMs: number, arrivalDeltaMs: number, t = new TrendlineEstimator()): TrendlineEstimator {
  let arrival = 1000 + t.deltas * arrivalDeltaMs;
  for (let i = 0; i < n; i++) {
    arrival += arrivalDeltaMs;
    t.update(arrivalDeltaMs, sendDeltaMs, arrival);
  }
  return t;
}

test('trendline slope and modified trend on hand-made delay series', () => {
  // [description, deltas, send gap, arrival gap, expected trend, tolerance, expected modified trend or NaN]
  const table: Array<[string, number, number, number, number, number, number]> = [
    ['window not full: no trend yet', 19, 10, 12, 0, 0, 0],
    ['constant delay', 100, 10, 10, 0, 1e-9, 0],
    ['delay grows 1 ms per 11 ms of arrival', 100, 10, 11, 1 / 11, 2e-3, 60 * 4 * (1 / 11)],
    ['delay shrinks 1 ms per 9 ms of arrival', 100, 10, 9, -1 / 9, 2e-3, 60 * 4 * (-1 / 9)],
    ['queue filling at 2x capacity', 100, 5, 10, 0.5, 5e-3, 60 * 4 * 0.5],
  ];
  for (const [what, n, send, arrival, trend, tol, modified] of table) {
    const t = feed(n, send, arrival);
    assert.ok(Math.abs(t.trend - trend) <= tol, `${what}: trend ${t.trend}`);
    assert.ok(Math.abs(t.modifiedTrend - modified) <= 60 * 4 * tol + 1e-9, `${what}: modified ${t.modifiedTrend}`);
  }
});

test('the modified trend is scaled by the number of deltas up to 60', () => {
  const t = feed(30, 10, 11);
  const at30 = t.modifiedTrend / t.trend;
  assert.ok(Math.abs(at30 - 30 * 4) < 1e-9);
  feed(100, 10, 11, t);
  assert.ok(Math.abs(t.modifiedTrend / t.trend - 60 * 4) < 1e-9);
  t.reset();
  assert.equal(t.deltas, 0);
  assert.equal(t.trend, 0);
});
