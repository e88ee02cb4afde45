import { test } from 'node:test';
import assert from 'node:assert/strict';
import { seededRandom } from '@atrium/webrtc/testing/seeded-random.js';
import { readTracked } from '@atrium/webrtc/testing/read-tracked.js';
import {
  createVp9Descriptor,
  isVp9KeyframeStart,
  parseVp9Descriptor,
  rewriteVp9PictureId,
} from './vp9-descriptor.js';
import type { Vp9Descriptor } from './vp9-descriptor.js';

type Expected = Partial<Omit<Vp9Descriptor, 'pDiffs' | 'widths' | 'heights'>> & {
  pDiffs?: number[];
  widths?: number[];
  heights?: number[];
};

const parseCases: Array<[string, number[], Expected]> = [
  [
    'first byte only: key frame start without picture id or layers',
    // 0x0c: I=0 P=0 L=0 F=0 B=1 E=1 V=0 Z=0
    [0x0c, 0x82],
    { sizeBytes: 1, isStartOfFrame: true, isEndOfFrame: true, hasPictureId: false, isKeyframe: true },
  ],
  [
    'non-flexible, 15-bit picture id, layer indices and TL0PICIDX',
    // 0xe8: I=1 P=1 L=1 F=0 B=1 | 0x81 0x23: M=1 picture id 0x0123
    // 0x30 = 001 1 000 0: TID 1, U=1, SID 0, D=0 | 0x07: TL0PICIDX 7
    [0xe8, 0x81, 0x23, 0x30, 0x07, 0x00],
    {
      sizeBytes: 5,
      hasPictureId: true,
      pictureId: 0x123,
      isPictureIdLong: true,
      isInterPicturePredicted: true,
      hasLayerIndices: true,
      isFlexibleMode: false,
      tid: 1,
      isSwitchingUpPoint: true,
      sid: 0,
      isInterLayerDependent: false,
      hasTl0PicIdx: true,
      tl0PicIdx: 7,
      pDiffCount: 0,
      isKeyframe: false,
    },
  ],
  [
    'flexible, 7-bit picture id, two P_DIFFs',
    // 0xd8: I=1 P=1 L=0 F=1 B=1 | 0x05: M=0 picture id 5
    // 0x03 = 0000001 1: P_DIFF 1, N=1 (another follows) | 0x04 = 0000010 0: P_DIFF 2, N=0
    [0xd8, 0x05, 0x03, 0x04, 0x00],
    {
      sizeBytes: 4,
      pictureId: 5,
      isPictureIdLong: false,
      isFlexibleMode: true,
      hasTl0PicIdx: false,
      pDiffCount: 2,
      pDiffs: [1, 2, 0],
      isKeyframe: false,
    },
  ],
  [
    'flexible with layer indices: no TL0PICIDX, then three P_DIFFs',
    // 0xf4: I=1 P=1 L=1 F=1 B=0 E=1 | 0x80 0x01: M=1 picture id 1
    // 0x43 = 010 0 001 1: TID 2, U=0, SID 1, D=1
    // 0x03, 0x05, 0xfe: P_DIFF 1 N=1, P_DIFF 2 N=1, P_DIFF 127 N=0
    [0xf4, 0x80, 0x01, 0x43, 0x03, 0x05, 0xfe],
    {
      sizeBytes: 7,
      isEndOfFrame: true,
      isStartOfFrame: false,
      tid: 2,
      sid: 1,
      isInterLayerDependent: true,
      hasTl0PicIdx: false,
      pDiffCount: 3,
      pDiffs: [1, 2, 127],
    },
  ],
  [
    'flexible, P=0 (key picture): no P_DIFF even though the next byte has N set',
    // 0x98: I=1 F=1 B=1 | 0x7f: picture id 127 | 0x01: VP9 payload
    [0x98, 0x7f, 0x01],
    { sizeBytes: 2, pictureId: 127, pDiffCount: 0, isKeyframe: true },
  ],
  [
    'key picture with SS: three spatial layers, resolutions and a picture group',
    // 0xaa: I=1 P=0 L=1 F=0 B=1 E=0 V=1 | 0x80 0x00: M=1 picture id 0
    // 0x00: TID 0 U=0 SID 0 D=0 | 0x00: TL0PICIDX 0
    // SS 0x58 = 010 1 1 000: N_S=2 (3 layers), Y=1, G=1
    // 0x01 0x40 0x00 0xb4: 320x180 | 0x02 0x80 0x01 0x68: 640x360 | 0x05 0x00 0x02 0xd0: 1280x720
    // 0x02: N_G=2 | 0x04 = 000 0 01 00: TID 0 U=0 R=1, then P_DIFF 0x01
    // 0x38 = 001 1 10 00: TID 1 U=1 R=2, then P_DIFFs 0x01 0x02 | 0x82: VP9 payload
    [
      0xaa, 0x80, 0x00, 0x00, 0x00, 0x58, 0x01, 0x40, 0x00, 0xb4, 0x02, 0x80, 0x01, 0x68, 0x05, 0x00, 0x02, 0xd0,
      0x02, 0x04, 0x01, 0x38, 0x01, 0x02, 0x82,
    ],
    {
      sizeBytes: 24,
      hasScalabilityStructure: true,
      spatialLayerCount: 3,
      hasResolutions: true,
      widths: [320, 640, 1280],
      heights: [180, 360, 720],
      hasPictureGroup: true,
      pictureGroupSize: 2,
      isKeyframe: true,
    },
  ],
  [
    'SS with one layer and neither resolutions nor picture group',
    // 0x0a: B=1 V=1 | SS 0x00: N_S=0 (1 layer) Y=0 G=0 | 0x82: VP9 payload
    [0x0a, 0x00, 0x82],
    { sizeBytes: 2, spatialLayerCount: 1, hasResolutions: false, hasPictureGroup: false, isKeyframe: true },
  ],
  [
    'SS with G=1 and N_G=0',
    // 0x0a: B=1 V=1 | SS 0x08: N_S=0 Y=0 G=1 | 0x00: N_G=0
    [0x0a, 0x08, 0x00],
    { sizeBytes: 3, spatialLayerCount: 1, hasPictureGroup: true, pictureGroupSize: 0 },
  ],
  [
    'upper spatial layer of a key picture is not a key frame start',
    // 0x29 = 0 0 1 0 1 0 0 1: L=1 B=1 Z=1 | 0x03 = 000 0 001 1: TID 0, SID 1, D=1 | 0x00: TL0PICIDX
    [0x29, 0x03, 0x00],
    { sizeBytes: 3, sid: 1, isInterLayerDependent: true, isNotReferenceForUpperLayers: true, isKeyframe: false },
  ],
];

for (const [name, bytes, expected] of parseCases) {
  test(`parse: ${name}`, () => {
    const d = createVp9Descriptor();
    const buf = Uint8Array.from(bytes);
    assert.equal(parseVp9Descriptor(buf, 0, buf.length, d), true);
    for (const [key, value] of Object.entries(expected)) {
      const actual = d[key as keyof Vp9Descriptor];
      if (Array.isArray(value)) {
        assert.deepEqual([...(actual as Uint8Array | Uint16Array).subarray(0, value.length)], value, key);
      } else {
        assert.equal(actual, value, key);
      }
    }
    // Every proper prefix of the descriptor is truncated; the descriptor alone parses.
    for (let len = 0; len < d.sizeBytes; len++) {
      assert.equal(parseVp9Descriptor(buf, 0, len, createVp9Descriptor()), false, `prefix ${len}`);
    }
    assert.equal(parseVp9Descriptor(buf, 0, d.sizeBytes, createVp9Descriptor()), true);
  });
}

test('parse: more than three P_DIFFs is rejected', () => {
  // 0x58: P=1 F=1 B=1 | 0x03 0x03 0x03: three P_DIFFs that all say another follows | 0x02
  const buf = Uint8Array.from([0x58, 0x03, 0x03, 0x03, 0x02, 0x00]);
  assert.equal(parseVp9Descriptor(buf, 0, buf.length, createVp9Descriptor()), false);
});

test('parse: resolutions cut short are rejected', () => {
  // 0x0a: B=1 V=1 | SS 0x30: N_S=1 (2 layers) Y=1 | only one and a half resolutions follow
  const buf = Uint8Array.from([0x0a, 0x30, 0x01, 0x40, 0x00, 0xb4, 0x02, 0x80]);
  assert.equal(parseVp9Descriptor(buf, 0, buf.length, createVp9Descriptor()), false);
});

test('parse: a picture group reference count past the end is rejected', () => {
  // 0x0a: B=1 V=1 | SS 0x08: G=1 | N_G=1 | 0x0c: TID 0 R=3 | only two of three P_DIFFs
  const buf = Uint8Array.from([0x0a, 0x08, 0x01, 0x0c, 0x01, 0x02]);
  assert.equal(parseVp9Descriptor(buf, 0, buf.length, createVp9Descriptor()), false);
  assert.equal(parseVp9Descriptor(Uint8Array.from([...buf, 0x03]), 0, buf.length + 1, createVp9Descriptor()), true);
});

test('parse: honours offset and length, and a reused object is fully overwritten', () => {
  const ss = Uint8Array.from([0xaa, 0x80, 0x00, 0x00, 0x00, 0x18, 0x01, 0x40, 0x00, 0xb4, 0x00]);
  const d = createVp9Descriptor();
  assert.equal(parseVp9Descriptor(ss, 0, ss.length, d), true);
  assert.equal(d.hasScalabilityStructure, true);
  // A continuation packet of a non-flexible stream, 4 bytes into a buffer: I=1 L=1 E=1 | 7-bit id 9 | layers
  const buf = Uint8Array.from([0xee, 0xee, 0xee, 0xee, 0xa4, 0x09, 0x20, 0x05, 0x99]);
  assert.equal(parseVp9Descriptor(buf, 4, 5, d), true);
  const fresh = createVp9Descriptor();
  assert.equal(parseVp9Descriptor(buf, 4, 5, fresh), true);
  // Typed arrays keep stale entries past their counts by design; compare everything else.
  const { pDiffs: _a, widths: _b, heights: _c, ...rest } = d;
  const { pDiffs: _d, widths: _e, heights: _f, ...freshRest } = fresh;
  assert.deepEqual(rest, freshRest);
  assert.equal(d.pictureId, 9);
  assert.equal(d.tl0PicIdx, 5);
  assert.equal(d.sizeBytes, 4);
  assert.equal(parseVp9Descriptor(buf, 4, 6, d), false, 'length past the end of the buffer');
  assert.equal(parseVp9Descriptor(buf, 4, 0, d), false, 'empty');
});

const keyframeCases: Array<[string, number[], boolean]> = [
  ['B=1 P=0 no layers', [0x08], true],
  ['B=1 P=1', [0x48], false],
  ['B=0 P=0', [0x00], false],
  ['B=1 P=0 SID 0 (non-flexible)', [0x28, 0x00, 0x00], true],
  ['B=1 P=0 SID 2 (non-flexible)', [0x28, 0x04, 0x00], false],
  ['B=1 P=0 SID 0 flexible with picture id', [0xb8, 0x80, 0x10, 0x00], true],
  ['truncated: layer indices missing', [0x28], false],
];

for (const [name, bytes, expected] of keyframeCases) {
  test(`isVp9KeyframeStart: ${name}`, () => {
    const buf = Uint8Array.from(bytes);
    assert.equal(isVp9KeyframeStart(buf, 0, buf.length), expected);
  });
}

test('rewriteVp9PictureId: rewrites the 15-bit form in place and refuses the others', () => {
  // I=1 B=1 | M=1 picture id 0x0123 | payload
  const long = Uint8Array.from([0x88, 0x81, 0x23, 0x55]);
  assert.equal(rewriteVp9PictureId(long, 0, 0x7ffe), true);
  assert.deepEqual([...long], [0x88, 0xff, 0xfe, 0x55]);
  assert.equal(rewriteVp9PictureId(long, 0, 0x8005), true, 'masked to 15 bits');
  assert.deepEqual([...long], [0x88, 0x80, 0x05, 0x55]);
  const d = createVp9Descriptor();
  assert.equal(parseVp9Descriptor(long, 0, long.length, d), true);
  assert.equal(d.pictureId, 5);

  const short = Uint8Array.from([0x88, 0x23, 0x55]);
  assert.equal(rewriteVp9PictureId(short, 0, 1), false, '7-bit form');
  assert.deepEqual([...short], [0x88, 0x23, 0x55]);
  const none = Uint8Array.from([0x08, 0x81, 0x23]);
  assert.equal(rewriteVp9PictureId(none, 0, 1), false, 'no picture id');
  assert.deepEqual([...none], [0x08, 0x81, 0x23]);
  assert.equal(rewriteVp9PictureId(Uint8Array.from([0x88, 0x81]), 0, 1), false, 'truncated');
  const inPacket = Uint8Array.from([0xee, 0xee, 0x88, 0x81, 0x23]);
  assert.equal(rewriteVp9PictureId(inPacket, 2, 0x4000), true);
  assert.deepEqual([...inPacket], [0xee, 0xee, 0x88, 0xc0, 0x00]);
});

test('fuzz: random input never throws, never reads outside the bounds, size within length', () => {
  const rand = seededRandom(9628);
  const d = createVp9Descriptor();
  let parsed = 0;
  for (let i = 0; i < 5000; i++) {
    const bytes = new Uint8Array(1 + Math.floor(rand() * 40));
    for (let j = 0; j < bytes.length; j++) bytes[j] = Math.floor(rand() * 256);
    const offset = Math.floor(rand() * bytes.length);
    const length = Math.floor(rand() * (bytes.length - offset + 2));
    const tracked = readTracked(bytes);
    const ok = parseVp9Descriptor(tracked.buf, offset, length, d);
    if (offset + length > bytes.length || length < 1) {
      assert.equal(ok, false);
      continue;
    }
    assert.ok(tracked.lo >= offset && tracked.hi < offset + length, `case ${i} read [${tracked.lo}, ${tracked.hi}]`);
    if (ok) {
      parsed++;
      assert.ok(d.sizeBytes >= 1 && d.sizeBytes <= length);
      assert.ok(d.pDiffCount <= 3 && d.spatialLayerCount <= 8);
    }
    const copy = bytes.slice();
    rewriteVp9PictureId(copy, offset, 0x1234);
    for (let j = 0; j < copy.length; j++) {
      if (j < offset + 1 || j > offset + 2) assert.equal(copy[j], bytes[j], 'rewrite touches only the picture id');
    }
  }
  assert.ok(parsed > 1000, `a fair share of random input parses (${parsed})`);
});
