import { test } from 'node:test';
import assert from 'node:assert/strict';
import { seededRandom } from '@atrium/webrtc/testing/seeded-random.js';
import { readTracked } from '@atrium/webrtc/testing/read-tracked.js';
import {
  createVp8Descriptor,
  createVp8DescriptorFields,
  parseVp8Descriptor,
  vp8DescriptorSize,
  writeVp8Descriptor,
} from './vp8-descriptor.js';
import type { Vp8Descriptor, Vp8DescriptorFields } from './vp8-descriptor.js';

const parseCases: Array<[string, number[], Partial<Vp8Descriptor>]> = [
  [
    'no extension, start of partition 0, key frame',
    // 0x10: X=0 R=0 N=0 S=1 R=0 PID=0 | 0x00: frame tag, P=0 (key frame)
    [0x10, 0x00],
    { sizeBytes: 1, hasExtension: false, isStartOfPartition: true, partitionIndex: 0, isKeyframe: true },
  ],
  [
    'no extension, N=1, partition 3 continuation',
    // 0x23: N=1 S=0 PID=3 | 0xaa: partition data, not a frame tag
    [0x23, 0xaa],
    { sizeBytes: 1, isNonReference: true, isStartOfPartition: false, partitionIndex: 3, isKeyframe: false },
  ],
  [
    '7-bit picture id',
    // 0x90: X=1 S=1 | 0x80: I=1 | 0x05: M=0, picture id 5 | 0x01: frame tag P=1 (inter frame)
    [0x90, 0x80, 0x05, 0x01],
    { sizeBytes: 3, hasPictureId: true, pictureId: 5, isPictureIdLong: false, isKeyframe: false },
  ],
  [
    '15-bit picture id',
    // 0x90: X=1 S=1 | 0x80: I=1 | 0xab 0xcd: M=1, picture id 0x2bcd | 0x00: key frame tag
    [0x90, 0x80, 0xab, 0xcd, 0x00],
    { sizeBytes: 4, hasPictureId: true, pictureId: 0x2bcd, isPictureIdLong: true, isKeyframe: true },
  ],
  [
    'I L T K all present (as Chromium sends with temporal layers)',
    // 0x90: X=1 S=1 | 0xf0: I L T K | 0x81 0x23: M=1 picture id 0x0123 | 0x07: TL0PICIDX 7
    // 0x b5 = 10 1 10101: TID 2, Y=1, KEYIDX 21 | 0x9d: frame tag P=1
    [0x90, 0xf0, 0x81, 0x23, 0x07, 0xb5, 0x9d],
    {
      sizeBytes: 6,
      pictureId: 0x123,
      isPictureIdLong: true,
      hasTl0PicIdx: true,
      tl0PicIdx: 7,
      hasTid: true,
      tid: 2,
      isLayerSync: true,
      hasKeyIdx: true,
      keyIdx: 21,
      isKeyframe: false,
    },
  ],
  [
    'T without K: KEYIDX bits ignored',
    // 0x80: X=1 S=0 | 0x20: T | 0x5f = 01 0 11111: TID 1, Y=0, KEYIDX bits set but K=0
    [0x80, 0x20, 0x5f, 0x00],
    { sizeBytes: 3, hasTid: true, tid: 1, isLayerSync: false, hasKeyIdx: false, keyIdx: 0, isKeyframe: false },
  ],
  [
    'K without T: TID/Y bits ignored',
    // 0x90: X=1 S=1 | 0x10: K | 0xe3 = 11 1 00011: TID/Y bits set but T=0, KEYIDX 3 | 0x00: key frame tag
    [0x90, 0x10, 0xe3, 0x00],
    { sizeBytes: 3, hasTid: false, tid: 0, isLayerSync: false, hasKeyIdx: true, keyIdx: 3, isKeyframe: true },
  ],
  [
    'L only',
    // 0x90: X=1 S=1 | 0x40: L | 0xff: TL0PICIDX 255 | 0x00: key frame tag
    [0x90, 0x40, 0xff, 0x00],
    { sizeBytes: 3, hasPictureId: false, hasTl0PicIdx: true, tl0PicIdx: 255, isKeyframe: true },
  ],
  [
    'X set with an empty extension byte',
    // 0x90: X=1 S=1 | 0x00: no optional fields | 0x00: key frame tag
    [0x90, 0x00, 0x00],
    { sizeBytes: 2, hasExtension: true, hasPictureId: false, isKeyframe: true },
  ],
  [
    'descriptor only (no VP8 payload byte): parses, not a key frame',
    // 0x90: X=1 S=1 | 0x80: I | 0x81 0x00: picture id 0x100
    [0x90, 0x80, 0x81, 0x00],
    { sizeBytes: 4, pictureId: 0x100, isKeyframe: false },
  ],
  [
    'S=1 in partition 1 is not a key frame start',
    // 0x11: S=1 PID=1 | 0x00: would be a key frame tag in partition 0
    [0x11, 0x00],
    { sizeBytes: 1, partitionIndex: 1, isKeyframe: false },
  ],
];

for (const [name, bytes, expected] of parseCases) {
  test(`parse: ${name}`, () => {
    const d = createVp8Descriptor();
    const buf = Uint8Array.from(bytes);
    assert.equal(parseVp8Descriptor(buf, 0, buf.length, d), true);
    for (const [key, value] of Object.entries(expected)) {
      assert.equal(d[key as keyof Vp8Descriptor], value, key);
    }
  });
}

test('parse: honours offset and length inside a larger packet', () => {
  // 12 bytes of RTP header stand-in, then X=1 S=1, I, 7-bit picture id 9, key frame tag, then trailing junk.
  const buf = Uint8Array.from([...new Array<number>(12).fill(0xee), 0x90, 0x80, 0x09, 0x00, 0xff]);
  const d = createVp8Descriptor();
  assert.equal(parseVp8Descriptor(buf, 12, 4, d), true);
  assert.equal(d.pictureId, 9);
  assert.equal(d.sizeBytes, 3);
  assert.equal(d.isKeyframe, true);
  assert.equal(parseVp8Descriptor(buf, 12, 3, d), true, 'descriptor only');
  assert.equal(d.isKeyframe, false, 'frame tag outside the bounds is not read');
  assert.equal(parseVp8Descriptor(buf, 12, 2, d), false, 'picture id outside the bounds');
  assert.equal(parseVp8Descriptor(buf, 12, 10, d), false, 'length past the end of the buffer');
  assert.equal(parseVp8Descriptor(buf, -1, 2, d), false, 'negative offset');
  assert.equal(parseVp8Descriptor(buf, 0, 0, d), false, 'empty');
});

test('parse: every truncation of a full descriptor fails', () => {
  // X=1 S=1 | I L T K | M=1 picture id 0x7fff | TL0PICIDX 1 | TID 0 Y=1 KEYIDX 1
  const full = Uint8Array.from([0x90, 0xf0, 0xff, 0xff, 0x01, 0x21]);
  const d = createVp8Descriptor();
  for (let len = 0; len < full.length; len++) {
    assert.equal(parseVp8Descriptor(full, 0, len, d), false, `length ${len}`);
  }
  assert.equal(parseVp8Descriptor(full, 0, full.length, d), true);
  assert.equal(d.pictureId, 0x7fff);
});

test('parse: a reused object is fully overwritten', () => {
  const d = createVp8Descriptor();
  const rich = Uint8Array.from([0x90, 0xf0, 0x81, 0x23, 0x07, 0xb5, 0x00]);
  const plain = Uint8Array.from([0x10, 0x01]);
  assert.equal(parseVp8Descriptor(rich, 0, rich.length, d), true);
  assert.equal(parseVp8Descriptor(plain, 0, plain.length, d), true);
  const fresh = createVp8Descriptor();
  assert.equal(parseVp8Descriptor(plain, 0, plain.length, fresh), true);
  assert.deepEqual(d, fresh);
});

function fields(overrides: Partial<Vp8DescriptorFields>): Vp8DescriptorFields {
  return Object.assign(createVp8DescriptorFields(), overrides);
}

const writeCases: Array<[string, Vp8DescriptorFields, number[]]> = [
  ['no optional fields: one byte', fields({ isStartOfPartition: true }), [0x10]],
  ['N and partition index', fields({ isNonReference: true, partitionIndex: 5 }), [0x25]],
  [
    'small picture id still uses the 15-bit form',
    fields({ isStartOfPartition: true, hasPictureId: true, pictureId: 5 }),
    // X=1 S=1 | I | M=1, high bits 0 | 0x05
    [0x90, 0x80, 0x80, 0x05],
  ],
  [
    'all fields',
    fields({
      isStartOfPartition: true,
      hasPictureId: true,
      pictureId: 0x7abc,
      hasTl0PicIdx: true,
      tl0PicIdx: 200,
      hasTid: true,
      tid: 1,
      isLayerSync: true,
      hasKeyIdx: true,
      keyIdx: 31,
    }),
    // X=1 S=1 | I L T K | M=1 0x7a, 0xbc | 200 | 01 1 11111
    [0x90, 0xf0, 0xfa, 0xbc, 0xc8, 0x7f],
  ],
  [
    'TID without picture id',
    fields({ hasTid: true, tid: 3, isLayerSync: false }),
    // X=1 | T | 11 0 00000
    [0x80, 0x20, 0xc0],
  ],
  [
    'out-of-range values are masked to their field widths',
    fields({ partitionIndex: 9, hasPictureId: true, pictureId: 0x18001, hasKeyIdx: true, keyIdx: 33 }),
    // X=1 PID=1 | I K | M=1 0x00, 0x01 | KEYIDX 1
    [0x81, 0x90, 0x80, 0x01, 0x01],
  ],
];

for (const [name, f, bytes] of writeCases) {
  test(`write: ${name}`, () => {
    const out = new Uint8Array(10).fill(0xee);
    const n = writeVp8Descriptor(out, 2, f);
    assert.equal(n, bytes.length);
    assert.equal(vp8DescriptorSize(f), bytes.length);
    assert.deepEqual([...out.subarray(2, 2 + n)], bytes);
    assert.equal(out[1], 0xee, 'nothing before the offset');
    assert.equal(out[2 + n], 0xee, 'nothing after the descriptor');
  });
}

test('write: returns -1 and writes nothing when it does not fit', () => {
  const f = fields({ hasPictureId: true, pictureId: 1, hasTl0PicIdx: true });
  const out = new Uint8Array(5).fill(0xee);
  assert.equal(writeVp8Descriptor(out, 1, f), -1);
  assert.equal(writeVp8Descriptor(out, -1, f), -1);
  assert.deepEqual([...out], [0xee, 0xee, 0xee, 0xee, 0xee]);
  assert.equal(writeVp8Descriptor(out, 0, f), 5);
});

test('rewrite: a 7-bit descriptor grows by one byte when written back with a 15-bit picture id', () => {
  // Incoming payload: X=1 S=1 | I L | picture id 100 (7-bit) | TL0PICIDX 3 | VP8 payload 0x00 0x9d 0x01
  const payload = Uint8Array.from([0x90, 0xc0, 100, 3, 0x00, 0x9d, 0x01]);
  const d = createVp8Descriptor();
  assert.equal(parseVp8Descriptor(payload, 0, payload.length, d), true);
  assert.equal(d.sizeBytes, 4);
  d.pictureId = 30000;
  const out = new Uint8Array(32);
  const n = writeVp8Descriptor(out, 0, d);
  assert.equal(n, 5);
  out.set(payload.subarray(d.sizeBytes), n);
  const total = n + payload.length - d.sizeBytes;
  const back = createVp8Descriptor();
  assert.equal(parseVp8Descriptor(out, 0, total, back), true);
  assert.equal(back.pictureId, 30000);
  assert.equal(back.isPictureIdLong, true);
  assert.equal(back.tl0PicIdx, 3);
  assert.equal(back.isKeyframe, true);
  assert.deepEqual([...out.subarray(back.sizeBytes, total)], [0x00, 0x9d, 0x01]);
});

test('round trip: random fields written then parsed come back unchanged', () => {
  const rand = seededRandom(0x7741);
  const f = createVp8DescriptorFields();
  const d = createVp8Descriptor();
  const buf = new Uint8Array(8);
  for (let i = 0; i < 2000; i++) {
    f.isNonReference = rand() < 0.5;
    f.isStartOfPartition = rand() < 0.5;
    f.partitionIndex = Math.floor(rand() * 8);
    f.hasPictureId = rand() < 0.7;
    f.pictureId = f.hasPictureId ? Math.floor(rand() * 0x8000) : 0;
    f.hasTl0PicIdx = rand() < 0.5;
    f.tl0PicIdx = f.hasTl0PicIdx ? Math.floor(rand() * 256) : 0;
    f.hasTid = rand() < 0.5;
    f.tid = f.hasTid ? Math.floor(rand() * 4) : 0;
    f.isLayerSync = f.hasTid && rand() < 0.5;
    f.hasKeyIdx = rand() < 0.5;
    f.keyIdx = f.hasKeyIdx ? Math.floor(rand() * 32) : 0;
    const n = writeVp8Descriptor(buf, 0, f);
    assert.equal(parseVp8Descriptor(buf, 0, n, d), true);
    assert.equal(d.sizeBytes, n);
    for (const key of Object.keys(f) as Array<keyof Vp8DescriptorFields>) {
      assert.equal(d[key], f[key], `${key} in case ${i}`);
    }
    assert.equal(d.isPictureIdLong, f.hasPictureId);
  }
});

test('fuzz: random input never throws, never reads outside the bounds, size within length', () => {
  const rand = seededRandom(20240607);
  const d = createVp8Descriptor();
  for (let i = 0; i < 5000; i++) {
    const bytes = new Uint8Array(1 + Math.floor(rand() * 12));
    for (let j = 0; j < bytes.length; j++) {
      // Bias towards the flag bits that lengthen the descriptor.
      bytes[j] = rand() < 0.5 ? 0x80 | 0xf0 : Math.floor(rand() * 256);
    }
    const offset = Math.floor(rand() * bytes.length);
    const length = Math.floor(rand() * (bytes.length - offset + 2));
    const tracked = readTracked(bytes);
    const ok = parseVp8Descriptor(tracked.buf, offset, length, d);
    if (offset + length > bytes.length || length < 1) {
      assert.equal(ok, false);
      continue;
    }
    assert.ok(tracked.lo >= offset && tracked.hi < offset + length, `case ${i} read [${tracked.lo}, ${tracked.hi}]`);
    if (ok) assert.ok(d.sizeBytes >= 1 && d.sizeBytes <= length);
  }
});
