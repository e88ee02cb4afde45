import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { GroupDeltas } from './inter-arrival.js';
import { InterArrival } from './inter-arrival.js';

const out = (): GroupDeltas => ({ sendDeltaMs: 0, arrivalDeltaMs: 0, sizeDeltaBytes: 0, arrivalMs: 0, sendMs: 0 });

test('packets sent within 5 ms form a group; deltas come out when the group after next starts', () => {
  const ia = new InterArrival();
  const d = out();
  // [send, arrival, size, expected deltas or null]
  const table: Array<[number, number, number, [number, number, number] | null]> = [
    [0, 100, 100, null], // group A
    [2, 103, 100, null],
    [5, 106, 100, null], // still A (5 ms after its first packet)
    [10, 115, 200, null], // group B starts: A has no predecessor yet
    [12, 118, 200, null],
    [20, 130, 300, [7, 12, 100]], // C starts: B - A = send 12-5, arrival 118-106, size 400-300
    [31, 140, 300, [8, 12, -100]], // D starts: C - B = send 20-12, arrival 130-118, size 300-400
  ];
  for (const [send, arrival, size, want] of table) {
    const got = ia.add(send, arrival, size, arrival, d);
    if (want === null) assert.equal(got, false, `send ${send}`);
    else {
      assert.equal(got, true, `send ${send}`);
      assert.deepEqual([d.sendDeltaMs, d.arrivalDeltaMs, d.sizeDeltaBytes], want, `send ${send}`);
    }
  }
  assert.equal(ia.groupsCompleted, 2);
});

test('a burst that arrives back to back (less propagation time than the send gap) joins the group', () => {
  const ia = new InterArrival();
  const d = out();
  // Sent 10 ms apart but queued and released together 1 ms apart.
  let computed = 0;
  for (let i = 0; i < 8; i++) if (ia.add(i * 10, 500 + i, 100, 500 + i, d)) computed++;
  assert.equal(computed, 0, 'one burst group, no deltas');
  // The same send pattern arriving 10 ms apart gives groups and deltas.
  const ib = new InterArrival();
  for (let i = 0; i < 8; i++) if (ib.add(i * 10, 500 + i * 10, 100, 500 + i * 10, d)) computed++;
  assert.equal(computed, 6);
  assert.deepEqual([d.sendDeltaMs, d.arrivalDeltaMs], [10, 10]);
});

test('packets sent before the current group are ignored; three reordered groups reset', () => {
  const ia = new InterArrival();
  const d = out();
  ia.add(100, 1000, 100, 0, d);
  assert.equal(ia.add(90, 1001, 100, 0, d), false);
  ia.add(110, 1010, 100, 0, d);
  ia.add(120, 1020, 100, 0, d);
  // Groups whose last arrival is earlier than the previous group's.
  let any = false;
  for (let i = 0; i < 4; i++) any = ia.add(130 + i * 10, 900 - i, 100, 0, d) || any;
  assert.equal(any, false);
});
