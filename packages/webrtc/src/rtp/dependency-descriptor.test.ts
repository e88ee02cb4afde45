import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  activeDecodeTargetsBitmask,
  createDependencyDescriptor,
  decodeTargetLayers,
  parseDependencyDescriptor,
} from './dependency-descriptor.js';
import type { DependencyDescriptor, DependencyStructure } from './dependency-descriptor.js';
import { seededRandom } from '../testing/seeded-random.js';
import {
  CAPTURED_L3T3,
  L1T3,
  L1T3_KEY_PACKET,
  L1T3_LAYOUT,
  L3T3_FULL_SVC,
  L3T3_KEY,
  L3T3_KEY_PACKET,
  bits,
  hex,
} from '../testing/dependency-descriptor-vectors.js';

function parse(buf: Uint8Array, structure: DependencyStructure | undefined): DependencyDescriptor {
  const d = createDependencyDescriptor();
  assert.ok(parseDependencyDescriptor(buf, 0, buf.length, structure, d), 'parses');
  return d;
}

/** The resolved frame dependencies in spec notation, for compact assertions. */
function frame(d: DependencyDescriptor): { s: number; t: number; dtis: string; fdiffs: number[]; chains: number[] } {
  return {
    s: d.spatialId,
    t: d.temporalId,
    dtis: [...d.dtis.subarray(0, d.decodeTargetCount)].map((v) => '-DSR'[v]).join(''),
    fdiffs: [...d.fdiffs.subarray(0, d.fdiffCount)],
    chains: [...d.chainDiffs.subarray(0, d.chainCount)],
  };
}

test('L1T3 golden: the hand-built bit layout is the 16 golden bytes', () => {
  assert.deepEqual(L1T3_LAYOUT, L1T3_KEY_PACKET);
});

test('L1T3 golden: parses the structure and the key frame it rides on', () => {
  const d = parse(L1T3_KEY_PACKET, undefined);
  assert.deepEqual(d.attachedStructure, L1T3);
  assert.equal(d.isStartOfFrame, true);
  assert.equal(d.isEndOfFrame, false);
  assert.equal(d.templateId, 62);
  assert.equal(d.frameNumber, 0xffff);
  assert.equal(d.hasActiveDecodeTargetsBitmask, false);
  assert.equal(d.activeDecodeTargetsBitmask, 0b111, 'a new structure makes every decode target active (A.4)');
  assert.deepEqual(frame(d), { s: 0, t: 0, dtis: 'SSS', fdiffs: [], chains: [0] });
  assert.equal(d.maxRenderWidth, 0);
  assert.deepEqual(decodeTargetLayers(L1T3), [
    { spatialId: 0, temporalId: 0 },
    { spatialId: 0, temporalId: 1 },
    { spatialId: 0, temporalId: 2 },
  ]);
  assert.equal(activeDecodeTargetsBitmask(L1T3, 0, 1), 0b011);
});

test('L1T3 golden: 3-byte descriptors resolve through wrapped template ids', () => {
  const cases: [string, ReturnType<typeof frame>, number][] = [
    // 0xc0 = start, end, template id 0 = template 2 (T1); frame number 0x0001
    ['c0 00 01', { s: 0, t: 1, dtis: '-DS', fdiffs: [2], chains: [2] }, 1],
    // 0x41 = end only, template id 1 = template 3 (T2)
    ['41 00 02', { s: 0, t: 2, dtis: '--D', fdiffs: [1], chains: [1] }, 2],
    // 0xbf = start only, template id 63 = template 1 (T0 delta)
    ['bf 12 34', { s: 0, t: 0, dtis: 'SSS', fdiffs: [4], chains: [4] }, 0x1234],
    // 0x82 = start, template id 2 = template 4
    ['82 00 03', { s: 0, t: 2, dtis: '--D', fdiffs: [1], chains: [3] }, 3],
  ];
  for (const [bytes, expected, frameNumber] of cases) {
    const d = parse(hex(bytes), L1T3);
    assert.deepEqual(frame(d), expected, bytes);
    assert.equal(d.frameNumber, frameNumber);
    assert.equal(d.attachedStructure, undefined);
  }
});

test('L3T3_KEY golden: parses the structure, the key frame and the decode target layers', () => {
  const d = parse(L3T3_KEY_PACKET, undefined);
  assert.deepEqual(d.attachedStructure, L3T3_KEY);
  assert.equal(d.isStartOfFrame && d.isEndOfFrame, true);
  assert.equal(d.templateId, 5);
  assert.equal(d.frameNumber, 0x1234);
  assert.equal(d.activeDecodeTargetsBitmask, 0x1ff);
  assert.deepEqual(frame(d), { s: 0, t: 0, dtis: 'SSSSSSSSS', fdiffs: [], chains: [0, 0, 0] });
  assert.equal(d.maxRenderWidth, 320);
  assert.equal(d.maxRenderHeight, 180);
  const layers = decodeTargetLayers(L3T3_KEY);
  assert.deepEqual(
    layers.map((l) => `S${l.spatialId}T${l.temporalId}`),
    ['S0T0', 'S0T1', 'S0T2', 'S1T0', 'S1T1', 'S1T2', 'S2T0', 'S2T1', 'S2T2'],
  );
  const masks: [number, number, number][] = [
    [2, 2, 0b111111111],
    [0, 0, 0b000000001],
    [1, 1, 0b000011011],
    [2, 0, 0b001001001],
    [0, 2, 0b000000111],
    [-1, 2, 0],
  ];
  for (const [s, t, mask] of masks) assert.equal(activeDecodeTargetsBitmask(L3T3_KEY, s, t), mask, `S${s}T${t}`);
});

test('L3T3_KEY golden: per-packet descriptors with bitmask and custom fields', () => {
  // 3 bytes: 0xce = start, end, template id 14 (template 9, S1T2); frame 0x1235
  assert.deepEqual(frame(parse(hex('ce 12 35'), L3T3_KEY)), {
    s: 1, t: 2, dtis: '-----D---', fdiffs: [3], chains: [10, 9, 8],
  });
  // 1 1 000111 (template 7 = template 2, S0T1) | frame 0x1236 | flags 0 1 0 0 0 | bitmask f(9) 000011011 | pad
  const withMask = parse(bits('1 1 000111 | 0001001000110110 | 01000 | 000011011'), L3T3_KEY);
  assert.equal(withMask.hasActiveDecodeTargetsBitmask, true);
  assert.equal(withMask.activeDecodeTargetsBitmask, 0b000011011);
  assert.deepEqual(frame(withMask), { s: 0, t: 1, dtis: '-DS------', fdiffs: [6], chains: [6, 5, 4] });
  // 1 0 001000 (template 8 = template 3, S0T2) | frame 0x0007 | flags 0 0 1 1 1
  // custom dtis 'R-D------' | custom fdiffs: size 1 + (3 - 1), size 2 + (20 - 1), size 3 + (300 - 1), size 0
  // custom chains f(8): 200, 0, 255
  const custom = parse(
    bits(`1 0 001000 | 0000000000000111 | 00111
          11 00 01 00 00 00 00 00 00
          01 0010 | 10 00010011 | 11 000100101011 | 00
          11001000 00000000 11111111`),
    L3T3_KEY,
  );
  assert.equal(custom.hasCustomDtis && custom.hasCustomFdiffs && custom.hasCustomChains, true);
  assert.deepEqual(frame(custom), { s: 0, t: 2, dtis: 'R-D------', fdiffs: [3, 20, 300], chains: [200, 0, 255] });
  assert.equal(custom.hasActiveDecodeTargetsBitmask, false);
});

test('captured Chrome L3T3 descriptors parse into libwebrtc L3T3 structure and frames', () => {
  let structure: DependencyStructure | undefined;
  const got: string[] = [];
  for (const h of CAPTURED_L3T3) {
    const d = parse(hex(h), structure);
    if (d.attachedStructure !== undefined) {
      assert.deepEqual(d.attachedStructure, L3T3_FULL_SVC);
      structure = d.attachedStructure;
    }
    const f = frame(d);
    const mask = d.hasActiveDecodeTargetsBitmask ? d.activeDecodeTargetsBitmask.toString(2) : '-';
    got.push(`${+d.isStartOfFrame}${+d.isEndOfFrame} #${d.frameNumber} S${f.s}T${f.t} ${f.fdiffs} ${mask}`);
  }
  assert.deepEqual(got, [
    '11 #370 S0T0  -',
    '10 #371 S1T0 1 111111',
    '01 #371 S1T0 1 111111',
    '11 #373 S0T2 3 111111',
    '10 #374 S1T2 3,1 111111',
    '01 #374 S1T2 3,1 111111',
    '11 #376 S0T1 6 111111',
    '11 #370 S0T0  -',
    '10 #371 S1T0 1 -',
    '01 #371 S1T0 1 -',
    '10 #372 S2T0 1 -',
    '00 #372 S2T0 1 -',
    '00 #372 S2T0 1 -',
    '11 #373 S0T2 3 -',
  ]);
});

test('no structure, a template id outside the structure, or a new structure id: false', () => {
  const d = createDependencyDescriptor();
  assert.equal(parseDependencyDescriptor(hex('c0 00 01'), 0, 3, undefined, d), false, 'no structure known');
  // L1T3 ids are 62, 63, 0, 1, 2: id 3 and id 61 name no template
  assert.equal(parseDependencyDescriptor(hex('c3 00 01'), 0, 3, L1T3, d), false);
  assert.equal(parseDependencyDescriptor(hex('fd 00 01'), 0, 3, L1T3, d), false);
  // a descriptor written against L3T3_KEY (ids 5..19) read against L1T3, and the other way round
  assert.equal(parseDependencyDescriptor(hex('ce 12 35'), 0, 3, L1T3, d), false);
  assert.equal(parseDependencyDescriptor(hex('c0 00 01'), 0, 3, L3T3_KEY, d), false);
  // extended fields but no structure
  const masked = bits('11000111 00000000 00000001 01000 000011011');
  assert.equal(parseDependencyDescriptor(masked, 0, masked.length, undefined, d), false);
});

test('malformed: truncation, bad bounds, too many fdiffs, templates or layers', () => {
  const d = createDependencyDescriptor();
  for (const golden of [L1T3_KEY_PACKET, L3T3_KEY_PACKET]) {
    for (let len = 0; len < golden.length; len++) {
      assert.equal(parseDependencyDescriptor(golden, 0, len, undefined, d), false, `prefix ${len}`);
    }
    assert.equal(parseDependencyDescriptor(golden, 1, golden.length, undefined, d), false, 'past buf.length');
    assert.equal(parseDependencyDescriptor(golden, -1, 3, L1T3, d), false, 'negative offset');
  }
  // 16 custom fdiffs (cap 15): template 0 of L1T3 (id 62), flags 00010, then 16 x (01 0000), 00
  const fdiffs16 = bits(`1 1 111110 | 0000000000000000 | 00010 | ${'01 0000 '.repeat(16)} 00`);
  assert.equal(parseDependencyDescriptor(fdiffs16, 0, fdiffs16.length, L1T3, d), false);
  const fdiffs15 = bits(`1 1 111110 | 0000000000000000 | 00010 | ${'01 0000 '.repeat(15)} 00`);
  assert.equal(parseDependencyDescriptor(fdiffs15, 0, fdiffs15.length, L1T3, d), true);
  assert.equal(d.fdiffCount, 15);
  // structures: header, then next_layer_idc bits, then 1 dti per template, no fdiffs, no chains, no resolutions
  const structure = (idcs: string, templates: number): Uint8Array =>
    bits(`1 1 000000 | 0000000000000000 | 10000 | 000000 00000 | ${idcs} | ${'10 '.repeat(templates)}
          ${'0 '.repeat(templates)} | 0 | 0`);
  const ok = structure('00 '.repeat(63) + '11', 64);
  assert.equal(parseDependencyDescriptor(ok, 0, ok.length, undefined, d), true, '64 templates');
  const tooMany = structure('00 '.repeat(64) + '11', 65);
  assert.equal(parseDependencyDescriptor(tooMany, 0, tooMany.length, undefined, d), false, '65 templates');
  const t7 = structure('01 '.repeat(7) + '11', 8);
  assert.equal(parseDependencyDescriptor(t7, 0, t7.length, undefined, d), true, 'temporal id 7');
  const t8 = structure('01 '.repeat(8) + '11', 9);
  assert.equal(parseDependencyDescriptor(t8, 0, t8.length, undefined, d), false, 'temporal id 8');
  const s4 = structure('10 '.repeat(4) + '11', 5);
  assert.equal(parseDependencyDescriptor(s4, 0, s4.length, undefined, d), false, 'spatial id 4');
});

test('parses at an offset inside a larger buffer and reuses the output arrays', () => {
  const buf = new Uint8Array(L3T3_KEY_PACKET.length + 10).fill(0xff);
  buf.set(L3T3_KEY_PACKET, 7);
  const d = createDependencyDescriptor();
  const { dtis, fdiffs, chainDiffs } = d;
  assert.ok(parseDependencyDescriptor(buf, 7, L3T3_KEY_PACKET.length, undefined, d));
  assert.deepEqual(d.attachedStructure, L3T3_KEY);
  buf.set(hex('ce 12 35'), 2);
  assert.ok(parseDependencyDescriptor(buf, 2, 3, d.attachedStructure, d));
  assert.equal(d.attachedStructure, undefined);
  assert.equal(d.dtis, dtis);
  assert.equal(d.fdiffs, fdiffs);
  assert.equal(d.chainDiffs, chainDiffs);
  assert.deepEqual(frame(d), { s: 1, t: 2, dtis: '-----D---', fdiffs: [3], chains: [10, 9, 8] });
});

/** A view that throws on any read outside buf[lo, hi) (and on anything but indexes and length). */
function guarded(buf: Uint8Array, lo: number, hi: number): Uint8Array {
  return new Proxy(buf, {
    get(target, key) {
      if (key === 'length') return target.length;
      if (typeof key === 'string' && /^\d+$/.test(key)) {
        const i = Number(key);
        if (i < lo || i >= hi) throw new Error(`read at ${i} outside [${lo}, ${hi})`);
        return target[i];
      }
      throw new Error(`unexpected access ${String(key)}`);
    },
  });
}

test('fuzz: random, mutated and truncated input never throws nor reads outside [offset, offset + length)', () => {
  const random = seededRandom(0xdd);
  const d = createDependencyDescriptor();
  const seeds = [L1T3_KEY_PACKET, L3T3_KEY_PACKET, ...CAPTURED_L3T3.map(hex)];
  const structures = [undefined, L1T3, L3T3_KEY, L3T3_FULL_SVC];
  let parsed = 0;
  for (let i = 0; i < 4000; i++) {
    let value: Uint8Array;
    if (i % 2 === 0) {
      value = new Uint8Array(Math.floor(random() * 40));
      for (let j = 0; j < value.length; j++) value[j] = Math.floor(random() * 256);
      if (value.length > 3 && random() < 0.5) value[3]! |= 0x80; // often claim a structure
    } else {
      const seed = seeds[Math.floor(random() * seeds.length)]!;
      value = seed.slice(0, Math.floor(random() * (seed.length + 1)));
      for (let flips = Math.floor(random() * 4); flips > 0 && value.length > 0; flips--) {
        value[Math.floor(random() * value.length)]! ^= 1 << Math.floor(random() * 8);
      }
    }
    const offset = Math.floor(random() * 5);
    const buf = new Uint8Array(offset + value.length + 4);
    buf.set(value, offset);
    const structure = structures[Math.floor(random() * structures.length)];
    const view = guarded(buf, offset, offset + value.length);
    const ok = parseDependencyDescriptor(view, offset, value.length, structure, d);
    if (!ok) continue;
    parsed++;
    assert.ok(d.decodeTargetCount >= 1 && d.decodeTargetCount <= 32);
    assert.ok(d.fdiffCount <= 15 && d.chainCount <= d.decodeTargetCount);
    assert.ok(d.frameNumber >= 0 && d.frameNumber <= 0xffff);
  }
  assert.ok(parsed > 200, `some inputs parse (${parsed})`);
});
