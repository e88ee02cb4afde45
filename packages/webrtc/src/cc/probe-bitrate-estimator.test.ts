import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ProbeBitrateEstimator } from './probe-bitrate-estimator.js';

/** Adds a cluster of `n` 1,200-byte packets sent `sendGapMs` apart, arriving `arrivalGapMs` apart; `lost` indices. */
function cluster(p: ProbeBitrateEstimator, id: number, n: number, sendGapMs: number, arrivalGapMs: number, lost: number[] = []): number {
  let last = -1;
  for (let i = 0; i < n; i++) {
    const r = p.add(id, 1000 + i * sendGapMs, lost.includes(i) ? -1 : 5000 + i * arrivalGapMs, 1200, 2000);
    if (r >= 0) last = r;
  }
  return last;
}

test('probe cluster results', () => {
  // [what, packets, send gap, arrival gap, lost, expected bps (-1 none)]
  const table: Array<[string, number, number, number, number[], number]> = [
    ['2 Mbps sent and received', 10, 4.8, 4.8, [], 2_000_000],
    ['received slower than 90% of sent: 95% of the receive rate', 10, 4.8, 9.6, [], 950_000],
    ['received a little slower: min of both', 10, 4.8, 5.0, [], (9 * 1200 * 8000) / 45],
    ['4 packets are too few', 4, 4.8, 4.8, [], -1],
    ['only 70% received', 10, 4.8, 4.8, [1, 3, 5], -1],
    ['90% received still counts', 10, 4.8, 4.8, [4], 2_000_000 * (8 * 1200 * 8 / 43.2) / (9 * 1200 * 8 / 43.2)],
    ['receive rate over twice the send rate is not trusted', 10, 4.8, 2, [], -1],
  ];
  for (const [what, n, sendGap, arrivalGap, lost, want] of table) {
    const p = new ProbeBitrateEstimator();
    const got = cluster(p, 1, n, sendGap, arrivalGap, lost);
    if (want < 0) assert.equal(got, -1, what);
    else assert.ok(Math.abs(got - want) < 1000, `${what}: ${got} vs ${want}`);
  }
});

test('takeResult returns the latest result once', () => {
  const p = new ProbeBitrateEstimator();
  cluster(p, 3, 10, 4.8, 4.8);
  assert.ok(Math.abs(p.takeResult() - 2_000_000) < 1);
  assert.equal(p.takeResult(), -1);
  assert.equal(p.lastClusterId, 3);
});
