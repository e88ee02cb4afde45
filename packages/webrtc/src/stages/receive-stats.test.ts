import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ReceiveStats } from './receive-stats.js';

test('loss: cumulative and per-interval fraction (RFC 3550 A.3)', () => {
  const s = new ReceiveStats(90000);
  for (const seq of [65530, 65531, 65533, 65534, 65536, 65537]) s.update(seq, seq * 3000, seq, 100);
  const rb = s.reportBlock(0x1234, 0, 0);
  assert.equal(rb.ssrc, 0x1234);
  assert.equal(rb.cumulativeLost, 2); // 65532, 65535
  assert.equal(rb.fractionLost, Math.floor((2 * 256) / 8));
  assert.equal(rb.highestSeq, 65537, 'cycles << 16 | seq');
  // Next interval: no loss, one late packet recovered (cumulative falls, fraction 0).
  s.update(65538, 0, 65538, 100);
  s.update(65532, 0, 65539, 100);
  const rb2 = s.reportBlock(0x1234, 0, 0);
  assert.equal(rb2.cumulativeLost, 1);
  assert.equal(rb2.fractionLost, 0);
  assert.equal(s.packetsLost, 1);
  assert.equal(s.bytesReceived, 800);
});

test('jitter: zero for perfectly paced packets, grows with arrival variation', () => {
  const steady = new ReceiveStats(90000);
  for (let i = 0; i < 50; i++) steady.update(i, (i * 3000) >>> 0, i * (1000 / 30), 1000);
  assert.ok(steady.jitterMs < 1e-6, `${steady.jitterMs}`);
  const jittery = new ReceiveStats(90000);
  for (let i = 0; i < 200; i++) jittery.update(i, i * 3000, i * (1000 / 30) + (i % 2 ? 10 : 0), 1000);
  // |D| alternates 10 ms: J converges to 10 ms = 900 units.
  assert.ok(Math.abs(jittery.jitterMs - 10) < 0.1, `${jittery.jitterMs}`);
  assert.equal(jittery.reportBlock(1, 0, 0).jitter, 899);
});

test('timestamp wrap does not produce a jitter spike', () => {
  const s = new ReceiveStats(48000);
  for (let i = 0; i < 10; i++) s.update(i, (0xfffff000 + i * 960) >>> 0, i * 20, 100);
  assert.ok(s.jitterMs < 1e-6);
});

test('LSR / DLSR fields', () => {
  const s = new ReceiveStats(48000);
  s.update(1, 0, 0, 10);
  assert.deepEqual(
    [s.reportBlock(1, 0xabcd1234, 500).lastSr, s.reportBlock(1, 0xabcd1234, 500).delaySinceLastSr],
    [0xabcd1234, 32768],
  );
  assert.equal(s.reportBlock(1, 0, 500).delaySinceLastSr, 0);
});
