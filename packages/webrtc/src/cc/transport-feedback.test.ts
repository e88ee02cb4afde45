import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SendHistory } from '../stages/header-stamp-stage.js';
import type { TransportWideFeedback, TwccPacketStatus } from '../rtp/index.js';
import { TransportFeedbackAdapter } from './transport-feedback.js';

function feedback(baseSeq: number, referenceTimeMs: number, packets: Omit<TwccPacketStatus, 'seq'>[]): TransportWideFeedback {
  return {
    type: 'twcc', senderSsrc: 1, mediaSsrc: 2, baseSeq, packetStatusCount: packets.length, referenceTimeMs, fbPktCount: 0,
    packets: packets.map((p, i) => ({ ...p, seq: (baseSeq + i) & 0xffff })),
  };
}

test('feedback maps to send times, sizes and arrival times summed from the reference time', () => {
  const history = new SendHistory(64);
  for (let s = 0; s < 5; s++) history.record(s, 1000 + s * 10, 1000 + s);
  const a = new TransportFeedbackAdapter(history);
  const out = a.convert(feedback(1, 6400, [
    { received: true, deltaUs: 2000 }, { received: false }, { received: true, deltaUs: 20_500 }, { received: true, deltaUs: -250 },
  ]));
  assert.deepEqual(out.map((r) => [r.seq, r.sendMs, r.sizeBytes, r.arrivalMs]), [
    [1, 1010, 1001, 6402], [2, 1020, 1002, -1], [3, 1030, 1003, 6422.5], [4, 1040, 1004, 6422.25],
  ]);
  assert.equal(a.packetsLost, 1);
  assert.equal(a.packetsReported, 4);
});

test('16-bit sequence numbers extend around the newest sent; unknown or evicted packets are left out', () => {
  const history = new SendHistory(16);
  for (let s = 65530; s < 65545; s++) history.record(s, s, 100);
  const a = new TransportFeedbackAdapter(history);
  const out = a.convert(feedback(65534, 0, [{ received: true, deltaUs: 0 }, { received: true, deltaUs: 250 }, { received: true, deltaUs: 250 }]));
  assert.deepEqual(out.map((r) => r.seq), [65534, 65535, 65536], 'across the wrap');
  const old = a.convert(feedback(65000 & 0xffff, 0, [{ received: true, deltaUs: 0 }]));
  assert.equal(old.length, 0, 'evicted from the history');
  assert.equal(a.packetsUnknown, 1);
});

test('the 24-bit reference time unwraps', () => {
  const history = new SendHistory(16);
  history.record(0, 0, 100);
  history.record(1, 10, 100);
  const a = new TransportFeedbackAdapter(history);
  const top = (2 ** 24 - 1) * 64;
  assert.equal(a.convert(feedback(0, top, [{ received: true, deltaUs: 0 }]))[0]!.arrivalMs, top);
  assert.equal(a.convert(feedback(1, 0, [{ received: true, deltaUs: 0 }]))[0]!.arrivalMs, top + 64, 'the next unit after the wrap');
});
