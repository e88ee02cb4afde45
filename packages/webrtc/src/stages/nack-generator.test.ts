import { test } from 'node:test';
import assert from 'node:assert/strict';
import { NackGenerator } from './nack-generator.js';

test('a gap is NACKed after the initial delay, then retried at the interval', () => {
  const g = new NackGenerator({ initialDelayMs: 10, retryIntervalMs: 100, maxRetries: 3, giveUpMs: 1000 });
  g.push(100, 0);
  g.push(101, 0);
  g.push(104, 5); // 102, 103 missing
  assert.equal(g.missingCount, 2);
  assert.equal(g.collect(10), null, 'within the reordering delay');
  assert.deepEqual(g.collect(15), [102, 103]);
  assert.equal(g.collect(50), null, 'retry interval not over');
  g.push(102, 60); // recovered
  assert.deepEqual(g.collect(115), [103]);
  assert.deepEqual(g.collect(215), [103]);
  assert.equal(g.collect(300), null, 'three NACKs sent, waiting one more interval');
  assert.equal(g.collect(315), null);
  assert.equal(g.missingCount, 0, 'given up after maxRetries');
  assert.equal(g.recoveredCount, 1);
  assert.equal(g.givenUpCount, 1);
});

test('reordered packets inside the delay are never NACKed', () => {
  const g = new NackGenerator({ initialDelayMs: 20 });
  g.push(1, 0);
  g.push(3, 0);
  g.push(2, 5);
  assert.equal(g.collect(100), null);
  assert.equal(g.missingCount, 0);
});

test('gives up after giveUpMs even with retries left; uses the RTT as interval when known', () => {
  const g = new NackGenerator({ initialDelayMs: 0, maxRetries: 100, giveUpMs: 1000 });
  g.push(10, 0);
  g.push(12, 0);
  const sent: number[] = [];
  for (let t = 0; t <= 1200; t += 10) if (g.collect(t, 250)) sent.push(t);
  assert.deepEqual(sent, [0, 250, 500, 750]);
  assert.equal(g.givenUpCount, 1);
});

test('sequence numbers are reported as 16-bit values across the wrap', () => {
  const g = new NackGenerator({ initialDelayMs: 0 });
  g.push(65534, 0);
  g.push(65538, 0); // 65535, 65536 (=0), 65537 (=1) missing
  assert.deepEqual(g.collect(0), [65535, 0, 1]);
});

test('a huge jump resets instead of NACKing thousands; capacity drops the oldest', () => {
  const g = new NackGenerator({ initialDelayMs: 0, capacity: 4 });
  g.push(0, 0);
  g.push(1000, 0);
  assert.equal(g.missingCount, 0);
  g.push(1003, 0); // 1001, 1002
  g.push(1007, 0); // 1004..1006 -> 5 missing, capacity 4: 1001 dropped
  assert.deepEqual(g.collect(0), [1002, 1004, 1005, 1006]);
});
