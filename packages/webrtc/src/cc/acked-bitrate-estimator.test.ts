import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AckedBitrateEstimator } from './acked-bitrate-estimator.js';
import type { PacketResult } from './packet-result.js';
import { SendSideBwe } from './send-side-bwe.js';

test('steady 1 Mbps measures 1 Mbps; nothing before the first 500 ms window', () => {
  const a = new AckedBitrateEstimator();
  for (let t = 0; t < 490; t += 10) a.add(t, 1250);
  assert.equal(a.bitrateBps(), -1);
  for (let t = 490; t < 3000; t += 10) a.add(t, 1250);
  assert.ok(Math.abs(a.bitrateBps() - 1_000_000) < 20_000, `${a.bitrateBps()}`);
});

test('follows a drop to half within about 2 s, and a rise more cautiously', () => {
  const a = new AckedBitrateEstimator();
  let t = 0;
  for (; t < 3000; t += 10) a.add(t, 1250);
  for (; t < 5000; t += 20) a.add(t, 1250); // 500 kbps
  const afterDrop = a.bitrateBps();
  assert.ok(afterDrop < 600_000, `${afterDrop}`);
  for (; t < 7000; t += 10) a.add(t, 1250); // 1 Mbps again
  assert.ok(a.bitrateBps() > 800_000, `${a.bitrateBps()}`);
});

test('the same packets reported in one burst or in many feedbacks give the same acknowledged rate', () => {
  const results: PacketResult[] = [];
  for (let i = 0; i < 400; i++) results.push({ seq: i, sendMs: i * 5, sizeBytes: 1000, arrivalMs: 7000 + i * 5 + (i % 7), probeClusterId: -1 });
  const many = new SendSideBwe();
  for (let i = 0; i < 400; i += 10) many.onFeedback(results.slice(i, i + 10), 100 + i * 5);
  const one = new SendSideBwe();
  one.onFeedback(results.slice(0, 200), 1100);
  one.onFeedback(results.slice(200), 2100);
  assert.ok(Math.abs(many.ackedBitrateBps() - 1_600_000) < 100_000, `${many.ackedBitrateBps()}`);
  assert.equal(one.ackedBitrateBps(), many.ackedBitrateBps());
});
