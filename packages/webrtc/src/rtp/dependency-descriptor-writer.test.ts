import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  activeDecodeTargetsBitmask,
  createDependencyDescriptor,
  parseDependencyDescriptor,
} from './dependency-descriptor.js';
import type {
  DependencyDescriptor,
  DependencyDescriptorFields,
  DependencyStructure,
  FrameDependencyTemplate,
} from './dependency-descriptor.js';
import {
  dependencyDescriptorSize,
  rewriteFrameNumber,
  writeDependencyDescriptor,
} from './dependency-descriptor-writer.js';
import { seededRandom } from '../testing/seeded-random.js';
import {
  CAPTURED_L3T3,
  L1T3,
  L1T3_KEY_PACKET,
  L3T3_KEY,
  L3T3_KEY_PACKET,
  bits,
  hex,
  tpl,
} from '../testing/dependency-descriptor-vectors.js';

function parse(buf: Uint8Array, structure: DependencyStructure | undefined): DependencyDescriptor {
  const d = createDependencyDescriptor();
  assert.ok(parseDependencyDescriptor(buf, 0, buf.length, structure, d), 'parses');
  return d;
}

function write(fields: DependencyDescriptorFields, structure: DependencyStructure | undefined): Uint8Array {
  const size = dependencyDescriptorSize(fields, structure);
  assert.ok(size >= 3, 'writable');
  const out = new Uint8Array(size);
  assert.equal(writeDependencyDescriptor(out, 0, fields, structure), size);
  return out;
}

/** What a descriptor says on the wire, comparable with deepEqual. */
function wire(d: DependencyDescriptorFields, structure: DependencyStructure): unknown {
  return {
    start: d.isStartOfFrame,
    end: d.isEndOfFrame,
    templateId: d.templateId,
    frameNumber: d.frameNumber,
    attached: d.attachedStructure,
    mask: d.hasActiveDecodeTargetsBitmask ? d.activeDecodeTargetsBitmask : undefined,
    dtis: d.hasCustomDtis ? Array.from(d.dtis).slice(0, structure.decodeTargetCount) : undefined,
    fdiffs: d.hasCustomFdiffs ? Array.from(d.fdiffs).slice(0, d.fdiffCount) : undefined,
    chains: d.hasCustomChains ? Array.from(d.chainDiffs).slice(0, structure.chainCount) : undefined,
  };
}

function fields(init: Partial<DependencyDescriptorFields>): DependencyDescriptorFields {
  return {
    isStartOfFrame: true,
    isEndOfFrame: true,
    templateId: 0,
    frameNumber: 0,
    attachedStructure: undefined,
    hasActiveDecodeTargetsBitmask: false,
    activeDecodeTargetsBitmask: 0,
    hasCustomDtis: false,
    hasCustomFdiffs: false,
    hasCustomChains: false,
    dtis: [],
    fdiffCount: 0,
    fdiffs: [],
    chainDiffs: [],
    ...init,
  };
}

test('golden: writing a parsed descriptor gives back its bytes (hand-built and captured from Chrome)', () => {
  const l3t3Mask = bits('1 1 000111 | 0001001000110110 | 01000 | 000011011');
  const l3t3Custom = bits(`1 0 001000 | 0000000000000111 | 00111 | 11 00 01 00 00 00 00 00 00
    01 0010 | 10 00010011 | 11 000100101011 | 00 | 11001000 00000000 11111111`);
  const cases: [Uint8Array, DependencyStructure | undefined][] = [
    [L1T3_KEY_PACKET, undefined],
    [hex('c0 00 01'), L1T3],
    [L3T3_KEY_PACKET, undefined],
    [hex('ce 12 35'), L3T3_KEY],
    [l3t3Mask, L3T3_KEY],
    [l3t3Custom, L3T3_KEY],
  ];
  for (const [bytes, structure] of cases) {
    const d = parse(bytes, structure);
    assert.deepEqual(write(d, structure), bytes);
  }
  let structure: DependencyStructure | undefined;
  for (const h of CAPTURED_L3T3) {
    const d = parse(hex(h), structure);
    structure = d.attachedStructure ?? structure;
    assert.equal(Buffer.from(write(d, structure)).toString('hex'), h, 'byte for byte what Chrome wrote');
  }
});

test('golden: custom fdiffs take the fewest 4-bit units (next_fdiff_size 1, 2, 3)', () => {
  const f = fields({ templateId: 62, hasCustomFdiffs: true, fdiffCount: 5, fdiffs: [16, 17, 256, 257, 4096] });
  // 1 1 111110 (template 0 of L1T3) | frame 0 | flags 0 0 0 1 0
  // 16 -> 01 1111 | 17 -> 10 00010000 | 256 -> 10 11111111 | 257 -> 11 000100000000 | 4096 -> 11 111111111111 | 00
  const expected = bits(`1 1 111110 | 0000000000000000 | 00010
    01 1111 | 10 00010000 | 10 11111111 | 11 000100000000 | 11 111111111111 | 00`);
  assert.deepEqual(write(f, L1T3), expected);
  assert.deepEqual(Array.from(parse(expected, L1T3).fdiffs.subarray(0, 5)), [16, 17, 256, 257, 4096]);
  assert.equal(dependencyDescriptorSize({ ...f, fdiffs: [16, 17, 256, 257, 4097] }, L1T3), -1);
  assert.equal(dependencyDescriptorSize({ ...f, fdiffs: [0, 17, 256, 257, 4096] }, L1T3), -1);
});

test('golden: ns(n) encodings of chain_cnt (n = 5, the spec table) and decode_target_protected_by', () => {
  // one S0T0 template, 4 decode targets 'SSSS', no fdiffs; protected_by = d mod chainCount
  const cases: [number, string, string][] = [
    [0, '00', ''],
    [1, '01', ''], // ns(1): no bits
    [2, '10', '0 1 0 1'], // ns(2): 1 bit
    [3, '110', '0 10 11 0'], // ns(3): w 2, m 1
    [4, '111', '00 01 10 11'], // ns(4): 2 bits
  ];
  for (const [chainCount, chainCntBits, protectedByBits] of cases) {
    const structure: DependencyStructure = {
      structureId: 0,
      decodeTargetCount: 4,
      chainCount,
      decodeTargetProtectedByChain: chainCount === 0 ? [] : [0, 1, 2, 3].map((d) => d % chainCount),
      templates: [tpl(0, 0, 'SSSS', [], Array<number>(chainCount).fill(0))],
      resolutions: [],
    };
    // mandatory | flags 10000 | offset 0, dt_cnt_minus_one 3 | next_layer_idc 11 | dtis | fdiff_follows 0 |
    // chain_cnt | protected_by | one template's chain diffs | resolutions_present 0
    const expected = bits(`11000000 | 0000000000000000 | 10000 | 000000 00011 | 11 | 10101010 | 0 |
      ${chainCntBits} | ${protectedByBits} | ${'0000 '.repeat(chainCount)} | 0`);
    const d = fields({ attachedStructure: structure });
    assert.deepEqual(write(d, undefined), expected, `chain_cnt ${chainCount}`);
    assert.deepEqual(parse(expected, undefined).attachedStructure, structure);
  }
});

/** libwebrtc-like structure for SxTy: templates per (S, T), decode target S * temporal + T. */
function svcStructure(
  spatial: number,
  temporal: number,
  options: { hasChains: boolean; hasResolutions: boolean; structureId: number },
): DependencyStructure {
  const dtCount = spatial * temporal;
  const chainCount = options.hasChains ? spatial : 0;
  const templates: FrameDependencyTemplate[] = [];
  for (let s = 0; s < spatial; s++) {
    for (let t = 0; t < temporal; t++) {
      for (let copy = 0; copy < (t === 0 ? 2 : 1); copy++) {
        let dtis = '';
        for (let ds = 0; ds < spatial; ds++) {
          for (let dt = 0; dt < temporal; dt++) {
            dtis += ds < s || dt < t ? '-' : dt === t && t > 0 ? 'D' : ds === s ? 'S' : 'R';
          }
        }
        const isKey = copy === 0 && t === 0 && s === 0;
        const fdiffs = isKey ? [] : [1 << Math.max(0, temporal - 1 - t), ...(s > 0 ? [1] : [])];
        const chains = Array.from({ length: chainCount }, (_, c) => (s + t + c + copy) % 16);
        templates.push(tpl(s, t, dtis, fdiffs, chains));
      }
    }
  }
  return {
    structureId: options.structureId,
    decodeTargetCount: dtCount,
    chainCount,
    decodeTargetProtectedByChain:
      chainCount === 0 ? [] : Array.from({ length: dtCount }, (_, d) => Math.floor(d / temporal)),
    templates,
    resolutions: options.hasResolutions
      ? Array.from({ length: spatial }, (_, s) => ({ width: 320 << s, height: 180 << s }))
      : [],
  };
}

test('round trip: parse(write(x)) == x for L1..3 T1..3, with/without chains, resolutions, custom fields, bitmask', () => {
  const random = seededRandom(7);
  let count = 0;
  for (let spatial = 1; spatial <= 3; spatial++) {
    for (let temporal = 1; temporal <= 3; temporal++) {
      for (const hasChains of [false, true]) {
        for (const hasResolutions of [false, true]) {
          const structureId = Math.floor(random() * 64);
          const structure = svcStructure(spatial, temporal, { hasChains, hasResolutions, structureId });
          const key = fields({ templateId: structureId, frameNumber: 65535, attachedStructure: structure });
          const parsedKey = parse(write(key, undefined), undefined);
          assert.deepEqual(parsedKey.attachedStructure, structure);
          assert.deepEqual(wire(parsedKey, structure), wire(key, structure));
          for (let index = 0; index < structure.templates.length; index++) {
            for (let variant = 0; variant < 6; variant++) {
              const dtCount = structure.decodeTargetCount;
              const fdiffCount = Math.floor(random() * 16);
              const f = fields({
                isStartOfFrame: (variant & 1) === 0,
                isEndOfFrame: variant < 3,
                templateId: (structureId + index) % 64,
                frameNumber: Math.floor(random() * 65536),
                attachedStructure: variant === 5 ? structure : undefined,
                hasActiveDecodeTargetsBitmask: variant >= 2,
                activeDecodeTargetsBitmask: activeDecodeTargetsBitmask(structure, variant % spatial, variant % 3),
                hasCustomDtis: variant === 3 || variant === 5,
                dtis: Array.from({ length: dtCount }, () => Math.floor(random() * 4)),
                hasCustomFdiffs: variant >= 4,
                fdiffCount,
                fdiffs: Array.from({ length: fdiffCount }, () => 1 + Math.floor(random() * 4096)),
                hasCustomChains: variant === 4 || (variant === 5 && hasChains),
                chainDiffs: Array.from({ length: structure.chainCount }, () => Math.floor(random() * 256)),
              });
              const bytes = write(f, structure);
              if (variant < 2) assert.equal(bytes.length, 3, 'no extended fields: 3 bytes');
              const d = parse(bytes, structure);
              assert.deepEqual(wire(d, structure), wire(f, structure));
              const t = structure.templates[index]!;
              assert.equal(d.spatialId, t.spatialId);
              assert.equal(d.temporalId, t.temporalId);
              if (!f.hasCustomFdiffs) assert.deepEqual(Array.from(d.fdiffs.subarray(0, d.fdiffCount)), t.fdiffs);
              if (hasResolutions) assert.equal(d.maxRenderWidth, 320 << t.spatialId);
              count++;
            }
          }
        }
      }
    }
  }
  assert.ok(count > 500);
});

test('an SFU forwarding a key frame: new frame number and bitmask, structure kept, then the fast rewrite', () => {
  const key = parse(hex(CAPTURED_L3T3[0]!), undefined);
  const structure = key.attachedStructure!;
  key.frameNumber = 42;
  key.hasActiveDecodeTargetsBitmask = true;
  key.activeDecodeTargetsBitmask = activeDecodeTargetsBitmask(structure, 1, 1); // S0T0 S0T1 S1T0 S1T1
  const out = new Uint8Array(300).fill(0xaa);
  const size = writeDependencyDescriptor(out, 12, key, undefined);
  assert.equal(size, dependencyDescriptorSize(key, undefined));
  assert.equal(size, 97, '95 bytes + 9 bitmask bits');
  assert.ok(out.subarray(0, 12).every((b) => b === 0xaa) && out.subarray(12 + size).every((b) => b === 0xaa));
  const d = createDependencyDescriptor();
  assert.ok(parseDependencyDescriptor(out, 12, size, undefined, d));
  assert.deepEqual(d.attachedStructure, structure);
  assert.equal(d.frameNumber, 42);
  assert.equal(d.activeDecodeTargetsBitmask, 0b000011011);
  rewriteFrameNumber(out, 12, 0x1beef); // mod 2^16
  assert.ok(parseDependencyDescriptor(out, 12, size, undefined, d));
  assert.equal(d.frameNumber, 0xbeef);
  const small = hex('86 01 73');
  rewriteFrameNumber(small, 0, 7);
  assert.deepEqual(small, hex('86 00 07'));
  rewriteFrameNumber(small, 1, 7); // would pass the end: untouched
  assert.deepEqual(small, hex('86 00 07'));
});

test('32 decode targets: the full 32-bit bitmask round-trips', () => {
  const structure: DependencyStructure = {
    structureId: 63,
    decodeTargetCount: 32,
    chainCount: 0,
    decodeTargetProtectedByChain: [],
    templates: [{ spatialId: 0, temporalId: 0, dtis: Array<number>(32).fill(3), fdiffs: [], chainDiffs: [] }],
    resolutions: [],
  };
  for (const mask of [0xffffffff, 0x80000001, 0]) {
    const f = fields({ templateId: 63, hasActiveDecodeTargetsBitmask: true, activeDecodeTargetsBitmask: mask });
    assert.equal(parse(write(f, structure), structure).activeDecodeTargetsBitmask, mask);
  }
  assert.equal(activeDecodeTargetsBitmask(structure, 0, 0), 0xffffffff);
  const keyed = parse(write(fields({ templateId: 63, attachedStructure: structure }), undefined), undefined);
  assert.equal(keyed.activeDecodeTargetsBitmask, 0xffffffff);
});

test('invalid input or a short buffer: -1 and nothing written', () => {
  const base = fields({ templateId: 62 });
  const bad: [string, DependencyDescriptorFields, DependencyStructure | undefined][] = [
    ['no structure', base, undefined],
    ['template id names no template', { ...base, templateId: 3 }, L1T3],
    ['template id above 63', { ...base, templateId: 64 }, L1T3],
    ['custom dti 4', { ...base, hasCustomDtis: true, dtis: [0, 4, 0] }, L1T3],
    ['custom chain diff 256', { ...base, hasCustomChains: true, chainDiffs: [256] }, L1T3],
    ['16 custom fdiffs', { ...base, hasCustomFdiffs: true, fdiffCount: 16, fdiffs: Array<number>(16).fill(1) }, L1T3],
  ];
  const broken = (change: (s: DependencyStructure) => void): DependencyStructure => {
    const s = structuredClone(L3T3_KEY);
    change(s);
    return s;
  };
  const badStructures: [string, DependencyStructure][] = [
    ['first template not S0T0', broken((s) => (s.templates[0]!.temporalId = 1))],
    ['temporal id skips', broken((s) => (s.templates[3]!.temporalId = 3))],
    ['spatial id goes back', broken((s) => (s.templates[14]!.spatialId = 1))],
    ['dtis of the wrong length', broken((s) => s.templates[2]!.dtis.pop())],
    ['template fdiff 17', broken((s) => (s.templates[1]!.fdiffs[0] = 17))],
    ['template chain diff 16', broken((s) => (s.templates[1]!.chainDiffs[0] = 16))],
    ['protected by chain 3 of 3', broken((s) => (s.decodeTargetProtectedByChain[0] = 3))],
    ['resolutions for 2 of 3 spatial layers', broken((s) => s.resolutions.pop())],
    ['more chains than decode targets', broken((s) => (s.chainCount = 10))],
    ['33 decode targets', broken((s) => (s.decodeTargetCount = 33))],
    ['structure id 64', broken((s) => (s.structureId = 64))],
    ['no templates', broken((s) => (s.templates = []))],
  ];
  for (const [name, s] of badStructures) bad.push([name, fields({ templateId: 0, attachedStructure: s }), undefined]);
  const out = new Uint8Array(200).fill(0xaa);
  for (const [name, f, structure] of bad) {
    assert.equal(dependencyDescriptorSize(f, structure), -1, name);
    assert.equal(writeDependencyDescriptor(out, 0, f, structure), -1, name);
  }
  const key = parse(L3T3_KEY_PACKET, undefined);
  assert.equal(writeDependencyDescriptor(out, 200 - L3T3_KEY_PACKET.length + 1, key, undefined), -1, 'one byte short');
  assert.equal(writeDependencyDescriptor(out, -1, key, undefined), -1, 'negative offset');
  assert.ok(out.every((b) => b === 0xaa), 'nothing written');
  assert.equal(writeDependencyDescriptor(out, 200 - L3T3_KEY_PACKET.length, key, undefined), L3T3_KEY_PACKET.length);
});

test('fuzz: random valid structures and descriptors round-trip', () => {
  const random = seededRandom(0xd5);
  const int = (n: number): number => Math.floor(random() * n);
  for (let i = 0; i < 500; i++) {
    const dtCount = 1 + int(32);
    const chainCount = int(dtCount + 1);
    const templates: FrameDependencyTemplate[] = [];
    let s = 0;
    let t = 0;
    for (let n = 1 + int(64); n > 0; n--) {
      templates.push({
        spatialId: s,
        temporalId: t,
        dtis: Array.from({ length: dtCount }, () => int(4)),
        fdiffs: Array.from({ length: int(16) }, () => 1 + int(16)),
        chainDiffs: Array.from({ length: chainCount }, () => int(16)),
      });
      const step = int(3);
      if (step === 1 && t < 7) t++;
      else if (step === 2 && s < 3) [s, t] = [s + 1, 0];
    }
    const structure: DependencyStructure = {
      structureId: int(64),
      decodeTargetCount: dtCount,
      chainCount,
      decodeTargetProtectedByChain: chainCount === 0 ? [] : Array.from({ length: dtCount }, () => int(chainCount)),
      templates,
      resolutions:
        random() < 0.5
          ? []
          : Array.from({ length: templates[templates.length - 1]!.spatialId + 1 }, () => ({
              width: 1 + int(65536),
              height: 1 + int(65536),
            })),
    };
    const fdiffCount = int(16);
    const f = fields({
      isStartOfFrame: random() < 0.5,
      isEndOfFrame: random() < 0.5,
      templateId: (structure.structureId + int(templates.length)) % 64,
      frameNumber: int(65536),
      attachedStructure: random() < 0.5 ? structure : undefined,
      hasActiveDecodeTargetsBitmask: random() < 0.5,
      activeDecodeTargetsBitmask: int(2 ** dtCount),
      hasCustomDtis: random() < 0.5,
      dtis: Array.from({ length: dtCount }, () => int(4)),
      hasCustomFdiffs: random() < 0.5,
      fdiffCount,
      fdiffs: Array.from({ length: fdiffCount }, () => 1 + int(4096)),
      hasCustomChains: random() < 0.5,
      chainDiffs: Array.from({ length: chainCount }, () => int(256)),
    });
    const d = parse(write(f, structure), structure);
    assert.deepEqual(wire(d, structure), wire(f, structure));
  }
});
