import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  DropReason,
  Forwarder,
  RetransmitStatus,
  createForwardResult,
  createRetransmitInfo,
} from './forwarder.js';
import { createPacketInfo } from './down-track-source.js';
import { NO_LAYER } from './video-layers.js';

interface In {
  seq: number; // extended
  ts?: number;
  key?: boolean;
  len?: number;
  /** Stream (simulcast layer); its spatial layer is the same number unless `spatial` says otherwise (SVC). */
  src?: number;
  spatial?: number;
  tid?: number;
  /** First packet of a frame (default: key frames only, and every packet when a tid is given). */
  start?: boolean;
  /** Layer sync / switching point (default: TID 0 frames and key frames). */
  sync?: boolean;
  /** Last packet of a layer frame, and the RTP marker as sent. */
  end?: boolean;
  marker?: boolean;
  at?: number;
}

/** Runs packets through a forwarder; returns [outSeq, outTs] (plus the marker when asked) or a drop reason. */
function run(f: Forwarder, packets: In[], opts: { withMarker?: boolean } = {}): Array<number[] | number> {
  const r = createForwardResult();
  const info = createPacketInfo();
  return packets.map((p) => {
    info.extSeq = p.seq;
    info.sourceId = p.src ?? 0;
    info.spatial = p.spatial ?? p.src ?? 0;
    info.temporal = p.tid ?? 0;
    info.isKeyframe = p.key ?? false;
    info.isFrameStart = p.start ?? (p.key === true || p.tid !== undefined);
    info.isFrameEnd = p.end ?? p.marker ?? false;
    info.isTemporalSwitchPoint = p.sync ?? (p.key === true || (p.tid ?? 0) === 0);
    info.isSpatialSwitchPoint = p.sync ?? p.key ?? false;
    info.arrivalMs = p.at ?? 0;
    const reason = f.forward(info, p.ts ?? p.seq * 100, p.marker ?? false, p.len ?? 100, r);
    if (reason !== DropReason.NONE) return reason;
    return opts.withMarker ? [r.outSeq, r.outTimestamp, r.marker ? 1 : 0] : [r.outSeq, r.outTimestamp];
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
  f.setTarget(0, 2);
  const got = run(f, [{ seq: 100, ts: 9000, key: true, at: 0 }, { seq: 101, ts: 12000, at: 33 }]);
  assert.equal(f.needsKeyframe, false);
  f.setTarget(1, 2);
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
    DropReason.OTHER_SOURCE,
    [1003, 14000],
    [1004, 14900],
    DropReason.OTHER_SOURCE,
    [1005, 17900],
  ]);
  assert.equal(f.currentSourceId, 1);
  assert.equal(f.needsKeyframe, false);
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

// ---- layers ----

/** A simulcast forwarder that wants spatial layer `target`, and all temporal layers. */
const wanting = (target: number): Forwarder => {
  const f = video();
  f.setTarget(target, 2);
  return f;
};

test('late joiner: starts on the first acceptable key frame and climbs to the target at its key frame', () => {
  const f = wanting(2);
  const got = run(f, [
    { seq: 10, src: 0 }, // delta of q: not a start
    { seq: 20, src: 2 }, // delta of f
    { seq: 11, src: 0, key: true, at: 0 }, // q key frame: start here (below the target)
    { seq: 12, src: 0, at: 33 },
    { seq: 21, src: 2, at: 40 }, // f delta: cannot switch yet
    { seq: 22, src: 2, key: true, at: 66 }, // f key frame: switch up
    { seq: 13, src: 0, at: 70 }, // q now dropped
    { seq: 23, src: 2, at: 99 },
  ]);
  assert.deepEqual(got.map((g) => (Array.isArray(g) ? g[0] : g)), [
    DropReason.NOT_STARTED, DropReason.NOT_STARTED, 1000, 1001, DropReason.OTHER_SOURCE, 1002, DropReason.OTHER_SOURCE, 1003,
  ]);
  assert.equal(f.currentSpatial, 2);
  assert.equal(f.needsKeyframe, false);
});

test('a target above every layer sent (no key frame there) never holds forwarding hostage below it', () => {
  const f = wanting(1);
  assert.deepEqual(run(f, [{ seq: 5, src: 2, key: true }, { seq: 6, src: 0, key: true }]).map((g) => (Array.isArray(g) ? g[0] : g)), [
    DropReason.NOT_STARTED, 1000,
  ]);
  assert.equal(f.needsKeyframe, true, 'still short of layer 1: keeps asking');
});

test("switching down: at the lower stream's key frame, with sequence numbers and timestamps continuous", () => {
  const f = wanting(2);
  run(f, [{ seq: 50, src: 2, key: true, ts: 1000, at: 0 }, { seq: 51, src: 2, ts: 4000, at: 33 }]);
  f.setTarget(0, 2);
  const got = run(f, [
    { seq: 52, src: 2, ts: 7000, at: 66 }, // still on f until q's key frame
    { seq: 900, src: 0, ts: 123, at: 70 }, // q delta: no
    { seq: 901, src: 0, ts: 456, key: true, at: 80 }, // q key frame: switch, +14 ms = 1260 ticks after the last out
    { seq: 53, src: 2, ts: 10000, at: 99 },
    { seq: 902, src: 0, ts: 3456, at: 113 },
  ]);
  assert.deepEqual(got, [[1002, 11000], DropReason.OTHER_SOURCE, [1003, 12260], DropReason.OTHER_SOURCE, [1004, 15260]]);
  assert.equal(f.currentSpatial, 0);
});

test('temporal layers: frames above the target are dropped without a gap; up again at a layer sync frame', () => {
  const f = wanting(0);
  f.setTarget(0, 0);
  // Frames of 2 packets: TID pattern 0 2 1 2 0 2 1 2; the second packet of a frame is not a frame start.
  const frame = (seq: number, tid: number, key = false, sync?: boolean): In[] => [
    { seq, tid, key, ...(sync !== undefined ? { sync } : {}), start: true },
    { seq: seq + 1, tid, start: false },
  ];
  const got1 = run(f, [...frame(10, 0, true), ...frame(12, 2), ...frame(14, 1), ...frame(16, 2), ...frame(18, 0)]);
  assert.deepEqual(got1.map((g) => (Array.isArray(g) ? g[0] : g)), [
    1000, 1001, DropReason.LAYER_DROPPED, DropReason.LAYER_DROPPED, DropReason.LAYER_DROPPED, DropReason.LAYER_DROPPED,
    DropReason.LAYER_DROPPED, DropReason.LAYER_DROPPED, 1002, 1003,
  ]);
  f.setTarget(0, 2);
  // TID 2 without sync: not yet; TID 1 with sync (Y): up to 1; next TID 2 with sync: up to 2.
  const got2 = run(f, [...frame(20, 2, false, false), ...frame(22, 1, false, true), ...frame(24, 2, false, true), ...frame(26, 0)]);
  assert.deepEqual(got2.map((g) => (Array.isArray(g) ? g[0] : g)), [
    DropReason.LAYER_DROPPED, DropReason.LAYER_DROPPED, 1004, 1005, 1006, 1007, 1008, 1009,
  ]);
  assert.equal(f.currentTemporal, 2);
  // Down at once, at the next frame start.
  f.setTarget(0, 0);
  assert.deepEqual(run(f, [...frame(28, 2), ...frame(30, 0)]).map((g) => (Array.isArray(g) ? g[0] : g)), [
    DropReason.LAYER_DROPPED, DropReason.LAYER_DROPPED, 1010, 1011,
  ]);
});

test('SVC (layers in one stream): upper spatial layers dropped, the marker moves to the last forwarded layer', () => {
  const f = wanting(1);
  // One picture = 3 layer frames of one packet each (S0, S1, S2); the RTP marker is on S2.
  const picture = (seq: number, key: boolean): In[] => [
    { seq, spatial: 0, key, sync: key, start: true, end: true },
    { seq: seq + 1, spatial: 1, sync: key, start: true, end: true },
    { seq: seq + 2, spatial: 2, sync: key, start: true, end: true, marker: true },
  ];
  // [out seq, marker] per packet.
  const seqMarker = (packets: In[]): Array<number[] | number> =>
    run(f, packets, { withMarker: true }).map((g) => (Array.isArray(g) ? [g[0]!, g[2]!] : g));
  assert.deepEqual(seqMarker([...picture(100, true), ...picture(103, false)]), [
    [1000, 0], // S0 of the key picture; S1 follows in the same picture, so no marker here
    [1001, 1], // S1 ends the picture for this subscriber
    DropReason.LAYER_DROPPED,
    [1002, 0],
    [1003, 1],
    DropReason.LAYER_DROPPED,
  ]);
  // Up to S2 only at a switching point (key picture).
  f.setTarget(2, 2);
  assert.deepEqual(run(f, picture(106, false)).map((g) => (Array.isArray(g) ? g[0] : g)), [1004, 1005, DropReason.LAYER_DROPPED]);
  assert.equal(f.needsKeyframe, true);
  assert.deepEqual(seqMarker(picture(109, true)), [[1006, 0], [1007, 0], [1008, 1]]);
  // Down to S0 at the next picture start.
  f.setTarget(0, 2);
  assert.deepEqual(seqMarker(picture(112, false)), [[1009, 1], DropReason.LAYER_DROPPED, DropReason.LAYER_DROPPED]);
});

test('pause (no target layer) absorbs packets; resuming waits for a key frame', () => {
  const f = wanting(0);
  run(f, [{ seq: 1, key: true }, { seq: 2 }]);
  f.setTarget(NO_LAYER, NO_LAYER);
  assert.equal(f.isPaused, true);
  assert.equal(f.needsKeyframe, false);
  const paused = run(f, [{ seq: 3 }, { seq: 4, key: true }]);
  f.setTarget(0, 2);
  assert.equal(f.needsKeyframe, true);
  const resumed = run(f, [{ seq: 5 }, { seq: 6, key: true }, { seq: 7 }]);
  assert.deepEqual([...paused, ...resumed].map((g) => (Array.isArray(g) ? g[0] : g)), [
    DropReason.PAUSED, DropReason.PAUSED, DropReason.NOT_STARTED, 1002, 1003,
  ]);
});
