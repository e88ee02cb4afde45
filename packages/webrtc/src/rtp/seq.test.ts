import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  ABS_SEND_TIME_UNITS_PER_S, absSendTimeDelta, AbsSendTimeUnwrapper, isSeqNewer, seqDelta, SeqUnwrapper, timestampDelta,
  TimestampUnwrapper,
} from './seq.js';

test('seqDelta is the signed 16-bit distance', () => {
  const cases: [number, number, number][] = [
    [5, 3, 2],
    [3, 5, -2],
    [0, 65535, 1],
    [65535, 0, -1],
    [1, 65534, 3],
    [32767, 0, 32767],
    [32768, 0, -32768],
    [0, 32768, -32768],
    [100, 100, 0],
  ];
  for (const [a, b, want] of cases) assert.equal(seqDelta(a, b), want, `${a} - ${b}`);
});

test('isSeqNewer handles wraparound', () => {
  assert.equal(isSeqNewer(0, 65535), true);
  assert.equal(isSeqNewer(65535, 0), false);
  assert.equal(isSeqNewer(10, 9), true);
  assert.equal(isSeqNewer(9, 9), false);
  assert.equal(isSeqNewer(32768, 0), false);
  assert.equal(isSeqNewer(32767, 0), true);
});

test('SeqUnwrapper extends across the wrap, with late packets from before it', () => {
  const u = new SeqUnwrapper();
  assert.equal(u.highestExtended, -1);
  const input = [65534, 65535, 0, 1, 65533, 65535, 2, 0, 3];
  const want = [65534, 65535, 65536, 65537, 65533, 65535, 65538, 65536, 65539];
  assert.deepEqual(input.map((s) => u.unwrap(s)), want);
  assert.equal(u.highestExtended, 65539);
});

test('SeqUnwrapper handles a wrap going backwards from the start and several cycles', () => {
  const u = new SeqUnwrapper();
  assert.equal(u.unwrap(1), 1);
  assert.equal(u.unwrap(65535), -1); // late packet from before the first one seen
  assert.equal(u.unwrap(2), 2);
  let ext = 2;
  for (let i = 0; i < 5 * 65536; i += 1000) {
    ext += 1000;
    assert.equal(u.unwrap(ext & 0xffff), ext);
  }
  u.reset();
  assert.equal(u.unwrap(40000), 40000);
});

test('timestampDelta and TimestampUnwrapper wrap at 2^32', () => {
  assert.equal(timestampDelta(0, 0xffffffff), 1);
  assert.equal(timestampDelta(0xffffffff, 0), -1);
  const u = new TimestampUnwrapper();
  const input = [0xfffff000, 0xfffffff0, 0x10, 0xffffff00, 0x1000];
  const want = [0xfffff000, 0xfffffff0, 2 ** 32 + 0x10, 0xffffff00, 2 ** 32 + 0x1000];
  assert.deepEqual(input.map((t) => u.unwrap(t)), want);
  // many cycles forward stay exact (well beyond 2^32)
  let ext = 2 ** 32 + 0x1000;
  for (let i = 0; i < 10; i++) {
    ext += 0x7000_0000;
    assert.equal(u.unwrap(ext % 2 ** 32), ext);
  }
});

test('AbsSendTimeUnwrapper: 24-bit 6.18 seconds, wrapping every 64 s, late values from before the wrap', () => {
  assert.equal(ABS_SEND_TIME_UNITS_PER_S * 64, 2 ** 24, 'one wrap is 64 s');
  assert.equal(absSendTimeDelta(0, 0xffffff), 1);
  assert.equal(absSendTimeDelta(0xffffff, 0), -1);
  const u = new AbsSendTimeUnwrapper();
  // 63.99 s, then 64.01 s (wrapped to 0.01 s), a late 63.995 s, then 70 s and 200 s in 10 s steps.
  const units = (s: number): number => Math.round(s * ABS_SEND_TIME_UNITS_PER_S);
  assert.equal(u.unwrap(units(63.99) & 0xffffff), units(63.99));
  assert.equal(u.unwrap(units(64.01) & 0xffffff), units(64.01));
  assert.equal(u.unwrap(units(63.995) & 0xffffff), units(63.995));
  for (let s = 70; s <= 200; s += 10) assert.equal(u.unwrap(units(s) & 0xffffff), units(s), `${s} s`);
  // Input above 24 bits is masked, as the element carries 24.
  u.reset();
  assert.equal(u.unwrap(0x1000005), 5);
});
