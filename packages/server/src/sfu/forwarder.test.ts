import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  DropReason,
  Forwarder,
  RetransmitStatus,
  createForwardResult,
  createRetransmitInfo,
} from './forwarder.js';

interface In {
  seq: number; // extended
  ts?: number;
  key?: boolean;
  len?: number;
  src?: number;
  at?: number;
}

/** Runs packets through a forwarder; returns [outSeq, outTs] or a drop reason per packet. */
function run(f: Forwarder, packets: In[]): Array<[number, number] | number> {
  const r = createForwardResult();
  return packets.map((p) => {
    const reason = f.forward(p.seq, p.ts ?? p.seq * 100, p.key ?? false, p.len ?? 100, p.src ?? 0, p.at ?? 0, r);
    return reason === DropReason.NONE ? [r.outSeq, r.outTimestamp] : reason;
  });
}

const video = (): Forwarder => new Forwarder({ isVideo: true, clockRate: 90000, initialSeq: 1000, initialTimestamp: 5000 });
const audio = (): Forwarder => new Forwarder({ isVideo: false, clockRate: 48000, initialSeq: 1000, initialTimestamp: 5000 });

test('video waits for a keyframe; audio starts at once', () => {
  assert.deepEqual(run(video(), [{ seq: 10 }, { seq: 11 }, { seq: 12, key: true }, { seq: 13 }]), [
    DropReason.NOT_STARTED,
    DropReason.NOT_STARTED,
    [1000, 5000],
    [1001, 5100],
  ]);
  assert.deepEqual(run(audio(), [{ seq: 10 }, { seq: 11 }]), [
    [1000, 5000],
    [1001, 5100],
  ]);
});

test('table: continuous outgoing sequence through forwarder drops, loss and reordering', () => {
  const cases: Array<{ name: string; packets: In[]; expected: Array<[number, number] | number> }> = [
    {
      name: 'padding in the middle is absorbed',
      packets: [{ seq: 1 }, { seq: 2, len: 0 }, { seq: 3 }, { seq: 4, len: 0 }, { seq: 5, len: 0 }, { seq: 6 }],
      expected: [[1000, 5000], DropReason.PADDING, [1001, 5200], DropReason.PADDING, DropReason.PADDING, [1002, 5500]],
    },
    {
      name: 'network loss leaves a gap (so the subscriber can NACK)',
      packets: [{ seq: 1 }, { seq: 3 }, { seq: 4 }],
      expected: [[1000, 5000], [1002, 5200], [1003, 5300]],
    },
    {
      name: 'late packet after a drop maps with the offset in force at its position',
      packets: [{ seq: 1 }, { seq: 3, len: 0 }, { seq: 4 }, { seq: 2 }],
      expected: [[1000, 5000], DropReason.PADDING, [1002, 5300], [1001, 5100]],
    },
    {
      name: 'late packet inside an absorbed range is dropped',
      packets: [{ seq: 1 }, { seq: 3, len: 0 }, { seq: 5, len: 0 }, { seq: 6 }, { seq: 4 }, { seq: 2 }],
      expected: [[1000, 5000], DropReason.PADDING, DropReason.PADDING, [1003, 5500], [1002, 5300], [1001, 5100]],
    },
    {
      name: 'merged consecutive drops, late packet in the merged range is dropped',
      packets: [{ seq: 1 }, { seq: 2, len: 0 }, { seq: 3, len: 0 }, { seq: 5 }, { seq: 3 }, { seq: 4 }],
      expected: [[1000, 5000], DropReason.PADDING, DropReason.PADDING, [1002, 5400], DropReason.IN_DROPPED_RANGE, [1001, 5300]],
    },
    {
      name: 'packets older than the start are dropped',
      packets: [{ seq: 10 }, { seq: 9 }],
      expected: [[1000, 5000], DropReason.TOO_OLD],
    },
    {
      name: 'duplicate of the newest is forwarded with the same mapping',
      packets: [{ seq: 10 }, { seq: 10 }],
      expected: [[1000, 5000], [1000, 5000]],
    },
  ];
  for (const c of cases) assert.deepEqual(run(audio(), c.packets), c.expected, c.name);
});

test('16-bit wraparound of input and output sequence numbers and 32-bit timestamps', () => {
  const f = new Forwarder({ isVideo: false, clockRate: 48000, initialSeq: 65534, initialTimestamp: 0xffffff00 });
  const got = run(f, [
    { seq: 70000, ts: 0 },
    { seq: 70001, ts: 0x80 },
    { seq: 70002, ts: 0x100, len: 0 },
    { seq: 70003, ts: 0x180 },
    { seq: 70004, ts: 0x200 },
  ]);
  assert.deepEqual(got, [[65534, 0xffffff00], [65535, 0xffffff80], DropReason.PADDING, [0, 0x80], [1, 0x100]]);
});

test('input wrap from 65535 to 65536 (extended) keeps output contiguous', () => {
  const f = audio();
  const got = run(f, [{ seq: 65534 }, { seq: 65535 }, { seq: 65536 }, { seq: 65537 }]);
  assert.deepEqual(
    got.map((g) => (Array.isArray(g) ? g[0] : g)),
    [1000, 1001, 1002, 1003],
  );
});

test('mute absorbs packets; video unmute waits for the next keyframe', () => {
  const f = video();
  const r1 = run(f, [{ seq: 1, key: true }, { seq: 2 }]);
  f.setMuted(true);
  assert.equal(f.needsKeyframe, false);
  const r2 = run(f, [{ seq: 3 }, { seq: 4 }]);
  f.setMuted(false);
  assert.equal(f.needsKeyframe, true);
  const r3 = run(f, [{ seq: 5 }, { seq: 6, key: true }, { seq: 7 }]);
  assert.deepEqual([...r1, ...r2, ...r3], [
    [1000, 5000],
    [1001, 5100],
    DropReason.MUTED,
    DropReason.MUTED,
    DropReason.NOT_STARTED,
    [1002, 5500],
    [1003, 5600],
  ]);
  assert.equal(f.needsKeyframe, false);
});

test('source switch: new stream continues seq, timestamp jumps by the wall-clock gap', () => {
  const f = video();
  const got = run(f, [{ seq: 100, ts: 9000, key: true, at: 0 }, { seq: 101, ts: 12000, at: 33 }]);
  f.switchSource(1);
  assert.equal(f.needsKeyframe, true);
  const after = run(f, [
    { seq: 102, ts: 15000, at: 66 }, // old source keeps flowing until the switch
    { seq: 7000, ts: 777, src: 1, at: 70 }, // new source, not a keyframe yet
    { seq: 103, ts: 18000, at: 100 },
    { seq: 7001, ts: 800, src: 1, key: true, at: 110 }, // switch here: gap 10 ms = 900 ticks
    { seq: 104, ts: 21000, at: 133 }, // old source now dropped
    { seq: 7002, ts: 3800, src: 1, at: 143 },
  ]);
  assert.deepEqual(got, [[1000, 5000], [1001, 8000]]);
  assert.deepEqual(after, [
    [1002, 11000],
    DropReason.NOT_STARTED,
    [1003, 14000],
    [1004, 14900],
    DropReason.OTHER_SOURCE,
    [1005, 17900],
  ]);
  assert.equal(f.currentSourceId, 1);
});

test('mapSeqForRetransmit maps outgoing seq to incoming, across wrap, and throttles', () => {
  const f = new Forwarder({ isVideo: true, clockRate: 90000, initialSeq: 65535, initialTimestamp: 0, historySize: 8 });
  run(f, [{ seq: 500, ts: 10, key: true }, { seq: 501, ts: 20, len: 0 }, { seq: 502, ts: 30 }, { seq: 503, ts: 40 }]);
  const info = createRetransmitInfo();
  assert.equal(f.mapSeqForRetransmit(65535, 0, 100, 3, info), RetransmitStatus.OK);
  assert.deepEqual(info, { inExtSeq: 500, outTimestamp: 0, sourceId: 0 });
  assert.equal(f.mapSeqForRetransmit(0, 0, 100, 3, info), RetransmitStatus.OK);
  assert.deepEqual(info, { inExtSeq: 502, outTimestamp: 20, sourceId: 0 });
  assert.equal(f.mapSeqForRetransmit(1, 0, 100, 3, info), RetransmitStatus.OK);
  assert.equal(info.inExtSeq, 503);
  assert.equal(f.mapSeqForRetransmit(2, 0, 100, 3, info), RetransmitStatus.UNKNOWN, 'not sent yet');
  assert.equal(f.mapSeqForRetransmit(1, 50, 100, 3, info), RetransmitStatus.THROTTLED, 'within 100 ms');
  assert.equal(f.mapSeqForRetransmit(1, 100, 100, 3, info), RetransmitStatus.OK);
  assert.equal(f.mapSeqForRetransmit(1, 200, 100, 3, info), RetransmitStatus.OK);
  assert.equal(f.mapSeqForRetransmit(1, 300, 100, 3, info), RetransmitStatus.THROTTLED, 'max 3 retransmits');
  // History of 8: after 10 more packets the first ones are forgotten.
  for (let s = 504; s < 514; s++) run(f, [{ seq: s }]);
  assert.equal(f.mapSeqForRetransmit(65535, 1000, 100, 3, info), RetransmitStatus.UNKNOWN);
  assert.equal(f.mapSeqForRetransmit(11, 1000, 100, 3, info), RetransmitStatus.OK);
  assert.equal(info.inExtSeq, 513);
});

test('nothing to retransmit before start', () => {
  const info = createRetransmitInfo();
  assert.equal(video().mapSeqForRetransmit(1000, 0, 0, 1, info), RetransmitStatus.UNKNOWN);
});
