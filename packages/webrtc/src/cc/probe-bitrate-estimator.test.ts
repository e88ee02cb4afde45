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

test('minSpanMs: a long cluster through a shaper gives no result from its burst-fed start, only from most of its span', () => {
  // 1 Mbps sent for 500 ms through a 500 kbit/s token bucket whose 7,500-byte burst lets the first packets pass at once.
  const run = (opts: ConstructorParameters<typeof ProbeBitrateEstimator>[0]) => {
    const p = new ProbeBitrateEstimator(opts);
    const results: number[] = [];
    let bucket = 7500;
    let linkFreeMs = 0;
    for (let i = 0; i * 9.6 <= 500; i++) {
      const sendMs = i * 9.6;
      let arrivalMs: number;
      if (bucket >= 1200) {
        bucket -= 1200;
        arrivalMs = sendMs + 1;
      } else {
        linkFreeMs = Math.max(linkFreeMs, sendMs) + (1200 * 8) / 500;
        arrivalMs = linkFreeMs + 1;
      }
      const r = p.add(1, sendMs, arrivalMs, 1200, sendMs);
      if (r >= 0) results.push(r);
    }
    return results;
  };
  const eager = run({});
  assert.ok(eager[0]! > 900_000, `without a minimum span the first result is the burst: ${eager[0]}`);
  const patient = run({ minSpanMs: 400 });
  assert.ok(patient.length > 0);
  assert.ok(patient.every((r) => r < 700_000), `with it every result is near the link: ${patient.map(Math.round).join(', ')}`);
});
