import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Vp8Munger } from './vp8-munger.js';
import {
  createVp8Descriptor,
  createVp8DescriptorFields,
  parseVp8Descriptor,
  writeVp8Descriptor,
} from './vp8-descriptor.js';
import type { Vp8Descriptor, Vp8DescriptorFields } from './vp8-descriptor.js';

interface Pkt {
  /** Picture id; omit for a stream without picture ids. */
  pid?: number;
  /** 7-bit form (M=0); default 15-bit. */
  short?: boolean;
  tl0?: number;
  tid?: number;
  keyIdx?: number;
  key?: boolean;
  /** Not the first packet of the frame. */
  cont?: boolean;
}

function desc(p: Pkt): Vp8Descriptor {
  const d = createVp8Descriptor();
  d.hasExtension = true;
  d.isStartOfPartition = p.cont !== true;
  d.hasPictureId = p.pid !== undefined;
  d.pictureId = p.pid ?? 0;
  d.isPictureIdLong = d.hasPictureId && p.short !== true;
  d.hasTl0PicIdx = p.tl0 !== undefined;
  d.tl0PicIdx = p.tl0 ?? 0;
  d.hasTid = p.tid !== undefined;
  d.tid = p.tid ?? 0;
  d.hasKeyIdx = p.keyIdx !== undefined;
  d.keyIdx = p.keyIdx ?? 0;
  d.isKeyframe = p.key === true;
  return d;
}

/** Maps one packet; returns [pictureId, tl0PicIdx, keyIdx] or null when the munger says drop. */
function map(m: Vp8Munger, p: Pkt, out: Vp8DescriptorFields = createVp8DescriptorFields()): number[] | null {
  if (!m.mapPacket(desc(p), out)) return null;
  const pictureId = out.hasPictureId ? out.pictureId : -1;
  return [pictureId, out.hasTl0PicIdx ? out.tl0PicIdx : -1, out.hasKeyIdx ? out.keyIdx : -1];
}

function start(m: Vp8Munger, p: Pkt): number[] | null {
  m.startAt(desc(p));
  return map(m, p);
}

test('not started: nothing maps', () => {
  const m = new Vp8Munger();
  assert.equal(map(m, { pid: 1 }), null);
  m.dropFrame(desc({ pid: 2 }));
  assert.deepEqual(start(m, { pid: 3, key: true }), [3, -1, -1]);
});

test('the first stream keeps its own values; other fields pass through', () => {
  const m = new Vp8Munger();
  assert.deepEqual(start(m, { pid: 1000, tl0: 50, tid: 0, keyIdx: 7, key: true }), [1000, 50, 7]);
  const out = createVp8DescriptorFields();
  const d = desc({ pid: 1001, tl0: 50, tid: 2, keyIdx: 7 });
  d.isLayerSync = true;
  d.isNonReference = true;
  d.partitionIndex = 0;
  assert.equal(m.mapPacket(d, out), true);
  assert.deepEqual(out, {
    isNonReference: true,
    isStartOfPartition: true,
    partitionIndex: 0,
    hasPictureId: true,
    pictureId: 1001,
    hasTl0PicIdx: true,
    tl0PicIdx: 50,
    hasTid: true,
    tid: 2,
    isLayerSync: true,
    hasKeyIdx: true,
    keyIdx: 7,
  });
});

test('switch between two streams with unrelated picture ids continues every sequence', () => {
  const m = new Vp8Munger();
  // Stream A (low layer): picture ids 100..104, TL0PICIDX 10.., KEYIDX 3.
  assert.deepEqual(start(m, { pid: 100, tl0: 10, tid: 0, keyIdx: 3, key: true }), [100, 10, 3]);
  for (let i = 1; i < 5; i++) {
    assert.deepEqual(map(m, { pid: 100 + i, tl0: 10 + i, tid: 0, keyIdx: 3 }), [100 + i, 10 + i, 3]);
  }
  // Switch to stream B (high layer) at its key frame: picture id 20000, TL0PICIDX 200, KEYIDX 30.
  assert.deepEqual(start(m, { pid: 20000, tl0: 200, tid: 0, keyIdx: 30, key: true }), [105, 15, 4]);
  assert.deepEqual(map(m, { pid: 20001, tl0: 201, tid: 0, keyIdx: 30 }), [106, 16, 4]);
  assert.deepEqual(map(m, { pid: 20001, tl0: 201, tid: 0, keyIdx: 30, cont: true }), [106, 16, 4]);
  // A late packet of stream B from before the switch point maps to nothing. (Packets of stream A are the
  // forwarder's to drop: the munger cannot tell streams apart.)
  assert.equal(map(m, { pid: 19999, tl0: 199, tid: 0, keyIdx: 30, cont: true }), null);
  // Back to stream A at a later key frame.
  assert.deepEqual(start(m, { pid: 150, tl0: 60, tid: 0, keyIdx: 4, key: true }), [107, 17, 5]);
  assert.deepEqual(map(m, { pid: 151, tl0: 61, tid: 0, keyIdx: 4 }), [108, 18, 5]);
});

test('7-bit input stream: output is 15-bit and keeps counting through the input wrap', () => {
  const m = new Vp8Munger();
  assert.deepEqual(start(m, { pid: 3000, key: true }), [3000, -1, -1]);
  assert.deepEqual(start(m, { pid: 125, short: true, key: true }), [3001, -1, -1]);
  const got: number[] = [];
  for (const pid of [126, 127, 0, 1, 2]) got.push(map(m, { pid, short: true })![0]!);
  assert.deepEqual(got, [3002, 3003, 3004, 3005, 3006]);
  // A late packet from before the input wrap still finds its frame.
  assert.deepEqual(map(m, { pid: 127, short: true, cont: true }), [3003, -1, -1]);
  // The sender may widen to 15 bits after 127 (RFC 7741 §4.2): 3 short, then 4 as a 15-bit id.
  assert.deepEqual(map(m, { pid: 3, short: true }), [3007, -1, -1]);
  assert.deepEqual(map(m, { pid: 4 }), [3008, -1, -1]);
});

test('wrap-around of picture id (2^15), TL0PICIDX (2^8) and KEYIDX (2^5)', () => {
  const m = new Vp8Munger();
  assert.deepEqual(start(m, { pid: 32766, tl0: 254, tid: 0, keyIdx: 30, key: true }), [32766, 254, 30]);
  assert.deepEqual(map(m, { pid: 32767, tl0: 255, tid: 0, keyIdx: 31 }), [32767, 255, 31]);
  assert.deepEqual(map(m, { pid: 0, tl0: 0, tid: 0, keyIdx: 0 }), [0, 0, 0]);
  assert.deepEqual(map(m, { pid: 32767, tl0: 255, tid: 0, keyIdx: 31, cont: true }), [32767, 255, 31], 'late');
  // A switch whose offsets wrap: next output is 1, 1, 1 whatever the new stream carries.
  assert.deepEqual(start(m, { pid: 5, tl0: 9, tid: 0, keyIdx: 2, key: true }), [1, 1, 1]);
  // And a switch landing the output right before the wrap.
  const n = new Vp8Munger();
  start(n, { pid: 32765, tl0: 255, keyIdx: 31, key: true });
  assert.deepEqual(start(n, { pid: 40, tl0: 3, keyIdx: 9, key: true }), [32766, 0, 0]);
  assert.deepEqual(map(n, { pid: 41, tl0: 4, keyIdx: 9 }), [32767, 1, 0]);
  assert.deepEqual(map(n, { pid: 42, tl0: 5, keyIdx: 9 }), [0, 2, 0]);
});

// L1T3 frame pattern: TID 0, 2, 1, 2, 0, 2, 1, 2, ... TL0PICIDX advances on each TID 0 frame.
const L1T3 = [0, 2, 1, 2];

function l1t3Frame(i: number, firstPid: number, firstTl0: number): Pkt {
  const tid = L1T3[i % 4]!;
  return { pid: (firstPid + i) & 0x7fff, tid, tl0: (firstTl0 + Math.floor(i / 4)) & 0xff };
}

test('temporal layer dropping: TID 2 frames dropped, picture ids consecutive, TL0PICIDX pattern kept', () => {
  const m = new Vp8Munger();
  const pids: number[] = [];
  const tl0s: number[] = [];
  for (let i = 0; i < 40; i++) {
    const p = l1t3Frame(i, 32760, 250); // crosses both wraps on the way
    if (i === 0) m.startAt(desc({ ...p, key: true }));
    if (p.tid! > 1) {
      m.dropFrame(desc(p));
      m.dropFrame(desc({ ...p, cont: true })); // every packet of the frame: counted once
      continue;
    }
    const got = map(m, p)!;
    assert.deepEqual(map(m, { ...p, cont: true }), got, 'second packet of the frame');
    pids.push(got[0]!);
    tl0s.push(got[1]!);
  }
  const expectedPids: number[] = [];
  const expectedTl0s: number[] = [];
  for (let k = 0; k < 20; k++) {
    expectedPids.push((32760 + k) & 0x7fff);
    expectedTl0s.push((250 + (k >> 1)) & 0xff);
  }
  assert.deepEqual(pids, expectedPids); // 32760 .. 32767, 0 .. 11
  assert.deepEqual(tl0s, expectedTl0s); // 250, 250, 251, 251, ... 255, 255, 0, 0, ... 3, 3
});

test('temporal layer dropping then a switch: no gap at the switch', () => {
  const m = new Vp8Munger();
  start(m, { pid: 10, tid: 0, tl0: 1, key: true });
  m.dropFrame(desc({ pid: 11, tid: 2, tl0: 1 }));
  assert.deepEqual(map(m, { pid: 12, tid: 1, tl0: 1 }), [11, 1, -1]);
  m.dropFrame(desc({ pid: 13, tid: 2, tl0: 1 }));
  assert.deepEqual(start(m, { pid: 900, tid: 0, tl0: 77, key: true }), [12, 2, -1]);
});

test('late and retransmitted packets of a forwarded frame get the values of its first packet', () => {
  const m = new Vp8Munger();
  start(m, { pid: 500, tid: 0, tl0: 5, key: true });
  assert.deepEqual(map(m, { pid: 501, tid: 2, tl0: 5 }), [501, 5, -1]);
  m.dropFrame(desc({ pid: 502, tid: 2, tl0: 5 }));
  assert.deepEqual(map(m, { pid: 503, tid: 0, tl0: 6 }), [502, 6, -1]);
  // The tail of 501 arrives after 503 (reordering) and again later (NACK retransmission).
  assert.deepEqual(map(m, { pid: 501, tid: 2, tl0: 5, cont: true }), [501, 5, -1]);
  for (let i = 4; i < 100; i++) map(m, { pid: 500 + i, tid: 0, tl0: 6 });
  assert.deepEqual(map(m, { pid: 501, tid: 2, tl0: 5, cont: true }), [501, 5, -1], '100 frames later');
  for (let i = 100; i < 700; i++) map(m, { pid: 500 + i, tid: 0, tl0: 6 });
  assert.equal(map(m, { pid: 501, tid: 2, tl0: 5, cont: true }), null, 'too old: outside the window');
  assert.equal(map(m, { pid: 499, tid: 0, tl0: 5 }), null, 'from before the start');
});

test('packets of a dropped frame are never forwarded, even when offered to mapPacket', () => {
  const m = new Vp8Munger();
  start(m, { pid: 7, tid: 0, tl0: 0, key: true });
  m.dropFrame(desc({ pid: 8, tid: 2, tl0: 0 }));
  assert.deepEqual(map(m, { pid: 9, tid: 1, tl0: 0 }), [8, 0, -1]);
  assert.equal(map(m, { pid: 8, tid: 2, tl0: 0, cont: true }), null, 'late packet of the dropped frame');
  m.dropFrame(desc({ pid: 8, tid: 2, tl0: 0, cont: true }));
  assert.deepEqual(map(m, { pid: 10, tid: 0, tl0: 1 }), [9, 1, -1], 'a repeated drop does not move ids again');
  // Dropping a frame already forwarded changes nothing.
  m.dropFrame(desc({ pid: 9, tid: 1, tl0: 0, cont: true }));
  assert.deepEqual(map(m, { pid: 11, tid: 2, tl0: 1 }), [10, 1, -1]);
});

test('a frame lost upstream keeps its gap; if it turns up late it fills it', () => {
  const m = new Vp8Munger();
  start(m, { pid: 20, key: true });
  assert.deepEqual(map(m, { pid: 23 }), [23, -1, -1], 'gap of two frames kept');
  assert.deepEqual(map(m, { pid: 22 }), [22, -1, -1], 'reordered frame takes its reserved id');
  // A reordered frame that turns out to be dropped leaves its id unused (later ids went out already).
  m.dropFrame(desc({ pid: 21, tid: 2 }));
  assert.equal(map(m, { pid: 21, tid: 2, cont: true }), null);
  assert.deepEqual(map(m, { pid: 24 }), [24, -1, -1]);
  // A very large jump forward does bounded work and still maps.
  assert.deepEqual(map(m, { pid: 10000 }), [10000, -1, -1]);
});

test('a stream without picture ids: TL0PICIDX and KEYIDX still continue across a switch', () => {
  const m = new Vp8Munger();
  assert.deepEqual(start(m, { tl0: 30, tid: 0, keyIdx: 1, key: true }), [-1, 30, 1]);
  assert.deepEqual(map(m, { tl0: 31, tid: 0, keyIdx: 1 }), [-1, 31, 1]);
  assert.deepEqual(map(m, { tl0: 30, tid: 1, keyIdx: 1 }), [-1, 30, 1], 'older TL0PICIDX passes through');
  assert.deepEqual(start(m, { pid: 600, tl0: 9, tid: 0, keyIdx: 20, key: true }), [600, 32, 2]);
  assert.deepEqual(start(m, { pid: 77, tl0: 100, tid: 0, keyIdx: 0, key: true }), [601, 33, 3]);
});

test('bytes in, bytes out: parse, map, write a 15-bit descriptor, copy the rest', () => {
  const m = new Vp8Munger();
  const d = createVp8Descriptor();
  const fields = createVp8DescriptorFields();
  const out = new Uint8Array(64);
  const back = createVp8Descriptor();
  const send = (payload: number[]): number[] => {
    const buf = Uint8Array.from(payload);
    assert.equal(parseVp8Descriptor(buf, 0, buf.length, d), true);
    if (d.isKeyframe) m.startAt(d);
    assert.equal(m.mapPacket(d, fields), true);
    const n = writeVp8Descriptor(out, 0, fields);
    out.set(buf.subarray(d.sizeBytes), n);
    const total = n + buf.length - d.sizeBytes;
    assert.equal(parseVp8Descriptor(out, 0, total, back), true);
    assert.equal(back.isKeyframe, d.isKeyframe);
    return [...out.subarray(0, total)];
  };
  // Stream A, 15-bit: X S | I L T | 0x8f 0xff = picture id 4095 | TL0PICIDX 1 | TID 0 | key frame tag 0x00 0x9d
  const keyA = [0x90, 0xe0, 0x8f, 0xff, 0x01, 0x00, 0x00, 0x9d];
  assert.deepEqual(send(keyA), keyA);
  // Stream B, 7-bit: X S | I L T | picture id 90 | TL0PICIDX 200 | TID 0 | key frame tag
  // -> picture id 4096 written as 15-bit 0x90 0x00, TL0PICIDX 2: one byte longer.
  assert.deepEqual(send([0x90, 0xe0, 90, 200, 0x00, 0x00, 0x9d]), [0x90, 0xe0, 0x90, 0x00, 0x02, 0x00, 0x00, 0x9d]);
  // Next frame of B, inter (tag 0x01), TID 0 Y=1: picture id 4097, TL0PICIDX 3.
  assert.deepEqual(send([0x90, 0xe0, 91, 201, 0x20, 0x01]), [0x90, 0xe0, 0x90, 0x01, 0x03, 0x20, 0x01]);
});
