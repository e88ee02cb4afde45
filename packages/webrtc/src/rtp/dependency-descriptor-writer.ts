// Writing the AV1 RTP Dependency Descriptor header extension (AV1 RTP spec, Appendix A, A.8.2 syntax).
// https://aomediacodec.github.io/av1-rtp-spec/#dependency-descriptor-rtp-header-extension
// Types and parsing: dependency-descriptor.ts.
//
// API (allocation-free):
//   dependencyDescriptorSize(fields, structure): number     bytes the descriptor takes, -1 when it cannot be written
//   writeDependencyDescriptor(out, offset, fields, structure): number   bytes written, -1 (nothing written) when
//       invalid or when out[offset..] is too small
//   rewriteFrameNumber(buf, offset, frameNumber): void      in place: bytes 1..2 of the value at `offset`
//
// What is written, from `fields` (a parsed DependencyDescriptor can be passed as is after changing frameNumber and
// the active decode targets bitmask):
//   - the mandatory fields; templateId as given (it must name a template of the structure in force);
//   - the extended fields only when a structure is attached, hasActiveDecodeTargetsBitmask, or a custom flag is
//     set; then the structure (fields.attachedStructure, which is also the structure in force), the bitmask
//     (decodeTargetCount low bits), and the custom dtis / fdiffs (each in the fewest 4-bit units) / chain diffs
//     exactly as flagged. Resolved spatial/temporal ids are implied by the template and not read.
//   `structure` is the structure in force when none is attached (it may be undefined when one is).
import {
  DD_MAX_DECODE_TARGETS,
  DD_MAX_FDIFFS,
  DD_MAX_SPATIAL_ID,
  DD_MAX_TEMPLATES,
  DD_MAX_TEMPORAL_ID,
} from './dependency-descriptor.js';
import type { DependencyDescriptorFields, DependencyStructure } from './dependency-descriptor.js';

const MANDATORY_BITS = 24;
const EXTENDED_FLAGS_BITS = 5;
const MAX_CUSTOM_FDIFF = 1 << 12;

/** Bits of ns(n) for value v (A.8.2 write_ns), n >= 1, v < n. */
function nsBits(n: number, v: number): number {
  if (n === 1) return 0;
  const w = 32 - Math.clz32(n);
  return v < (1 << w) - n ? w - 1 : w;
}

function isIntIn(v: number | undefined, min: number, max: number): boolean {
  return v !== undefined && Number.isInteger(v) && v >= min && v <= max;
}

/** Bits of template_dependency_structure, or -1 when the structure cannot be expressed on the wire. */
function structureBits(s: DependencyStructure): number {
  const dtCount = s.decodeTargetCount;
  const chainCount = s.chainCount;
  const templates = s.templates;
  if (!isIntIn(s.structureId, 0, DD_MAX_TEMPLATES - 1) || !isIntIn(dtCount, 1, DD_MAX_DECODE_TARGETS)) return -1;
  if (!isIntIn(chainCount, 0, dtCount) || templates.length < 1 || templates.length > DD_MAX_TEMPLATES) return -1;
  let bits = 6 + 5 + 2 * templates.length + 2 * dtCount * templates.length + templates.length;
  let prevSpatial = 0;
  let prevTemporal = 0;
  for (let i = 0; i < templates.length; i++) {
    const t = templates[i]!;
    const sid = t.spatialId;
    const tid = t.temporalId;
    const isNextOk =
      i === 0
        ? sid === 0 && tid === 0
        : (sid === prevSpatial && (tid === prevTemporal || tid === prevTemporal + 1)) ||
          (sid === prevSpatial + 1 && tid === 0);
    if (!isNextOk || sid > DD_MAX_SPATIAL_ID || tid > DD_MAX_TEMPORAL_ID) return -1;
    prevSpatial = sid;
    prevTemporal = tid;
    if (t.dtis.length !== dtCount || t.chainDiffs.length !== chainCount || t.fdiffs.length > DD_MAX_FDIFFS) return -1;
    for (let d = 0; d < dtCount; d++) if (!isIntIn(t.dtis[d], 0, 3)) return -1;
    for (let f = 0; f < t.fdiffs.length; f++) if (!isIntIn(t.fdiffs[f], 1, 16)) return -1;
    for (let c = 0; c < chainCount; c++) if (!isIntIn(t.chainDiffs[c], 0, 15)) return -1;
    bits += 5 * t.fdiffs.length + 4 * chainCount;
  }
  bits += nsBits(dtCount + 1, chainCount);
  if (chainCount > 0) {
    if (s.decodeTargetProtectedByChain.length !== dtCount) return -1;
    for (let d = 0; d < dtCount; d++) {
      const chain = s.decodeTargetProtectedByChain[d];
      if (!isIntIn(chain, 0, chainCount - 1)) return -1;
      bits += nsBits(chainCount, chain!);
    }
  }
  bits += 1;
  const resolutions = s.resolutions;
  if (resolutions.length > 0) {
    if (resolutions.length !== prevSpatial + 1) return -1;
    for (let r = 0; r < resolutions.length; r++) {
      const res = resolutions[r]!;
      if (!isIntIn(res.width, 1, 65536) || !isIntIn(res.height, 1, 65536)) return -1;
    }
    bits += 32 * resolutions.length;
  }
  return bits;
}

function fdiffBits(fdiff: number): number {
  return fdiff <= 16 ? 6 : fdiff <= 256 ? 10 : 14; // next_fdiff_size (2) + 4, 8 or 12 bits
}

function hasExtendedFields(f: DependencyDescriptorFields): boolean {
  return (
    f.attachedStructure !== undefined ||
    f.hasActiveDecodeTargetsBitmask ||
    f.hasCustomDtis ||
    f.hasCustomFdiffs ||
    f.hasCustomChains
  );
}

/** Total bits of the descriptor (without zero padding), or -1 when it cannot be written. */
function descriptorBits(f: DependencyDescriptorFields, structure: DependencyStructure | undefined): number {
  const s = f.attachedStructure ?? structure;
  if (s === undefined || !isIntIn(f.templateId, 0, DD_MAX_TEMPLATES - 1)) return -1;
  const dtCount = s.decodeTargetCount;
  if (!isIntIn(dtCount, 1, DD_MAX_DECODE_TARGETS) || !isIntIn(s.chainCount, 0, dtCount)) return -1;
  const templateIndex = (f.templateId - s.structureId + DD_MAX_TEMPLATES) & (DD_MAX_TEMPLATES - 1);
  if (templateIndex >= s.templates.length) return -1;
  if (!hasExtendedFields(f)) return MANDATORY_BITS;
  let bits = MANDATORY_BITS + EXTENDED_FLAGS_BITS;
  if (f.attachedStructure !== undefined) {
    const sBits = structureBits(f.attachedStructure);
    if (sBits < 0) return -1;
    bits += sBits;
  }
  if (f.hasActiveDecodeTargetsBitmask) bits += dtCount;
  if (f.hasCustomDtis) {
    for (let d = 0; d < dtCount; d++) if (!isIntIn(f.dtis[d], 0, 3)) return -1;
    bits += 2 * dtCount;
  }
  if (f.hasCustomFdiffs) {
    if (!isIntIn(f.fdiffCount, 0, DD_MAX_FDIFFS)) return -1;
    for (let i = 0; i < f.fdiffCount; i++) {
      const fdiff = f.fdiffs[i];
      if (!isIntIn(fdiff, 1, MAX_CUSTOM_FDIFF)) return -1;
      bits += fdiffBits(fdiff!);
    }
    bits += 2; // next_fdiff_size = 0
  }
  if (f.hasCustomChains) {
    for (let c = 0; c < s.chainCount; c++) if (!isIntIn(f.chainDiffs[c], 0, 255)) return -1;
    bits += 8 * s.chainCount;
  }
  return bits;
}

/** Size in bytes of the descriptor `writeDependencyDescriptor` would write, or -1 when it cannot be written. */
export function dependencyDescriptorSize(
  fields: DependencyDescriptorFields,
  structure: DependencyStructure | undefined,
): number {
  const bits = descriptorBits(fields, structure);
  return bits < 0 ? -1 : (bits + 7) >>> 3;
}

// Bit writer into out[wBase..]; the bytes are zeroed first, so writing ORs bits in.
const EMPTY = new Uint8Array(0);
let wBuf: Uint8Array = EMPTY;
let wBase = 0;
let wPos = 0; // bits from wBase

/** write_f(n, v): the low n bits of v (n <= 32, v read as unsigned 32-bit). */
function writeBits(v: number, n: number): void {
  while (n > 0) {
    const avail = 8 - (wPos & 7);
    const take = n < avail ? n : avail;
    const chunk = (v >>> (n - take)) & ((1 << take) - 1);
    const i = wBase + (wPos >>> 3);
    wBuf[i] = wBuf[i]! | (chunk << (avail - take));
    wPos += take;
    n -= take;
  }
}

function writeNs(n: number, v: number): void {
  if (n === 1) return;
  const w = 32 - Math.clz32(n);
  const m = (1 << w) - n;
  if (v < m) writeBits(v, w - 1);
  else writeBits(v + m, w);
}

function writeStructure(s: DependencyStructure): void {
  const templates = s.templates;
  const dtCount = s.decodeTargetCount;
  writeBits(s.structureId, 6);
  writeBits(dtCount - 1, 5);
  for (let i = 1; i < templates.length; i++) {
    const prev = templates[i - 1]!;
    const t = templates[i]!;
    writeBits(t.spatialId !== prev.spatialId ? 2 : t.temporalId !== prev.temporalId ? 1 : 0, 2);
  }
  writeBits(3, 2); // no more templates
  for (let i = 0; i < templates.length; i++) {
    const dtis = templates[i]!.dtis;
    for (let d = 0; d < dtCount; d++) writeBits(dtis[d]!, 2);
  }
  for (let i = 0; i < templates.length; i++) {
    const fdiffs = templates[i]!.fdiffs;
    for (let f = 0; f < fdiffs.length; f++) writeBits(0x10 | (fdiffs[f]! - 1), 5); // fdiff_follows_flag, fdiff - 1
    writeBits(0, 1);
  }
  writeNs(dtCount + 1, s.chainCount);
  if (s.chainCount > 0) {
    for (let d = 0; d < dtCount; d++) writeNs(s.chainCount, s.decodeTargetProtectedByChain[d]!);
    for (let i = 0; i < templates.length; i++) {
      const chainDiffs = templates[i]!.chainDiffs;
      for (let c = 0; c < s.chainCount; c++) writeBits(chainDiffs[c]!, 4);
    }
  }
  writeBits(s.resolutions.length > 0 ? 1 : 0, 1);
  for (let r = 0; r < s.resolutions.length; r++) {
    const res = s.resolutions[r]!;
    writeBits(res.width - 1, 16);
    writeBits(res.height - 1, 16);
  }
}

/** Writes the descriptor at out[offset..]; returns the bytes written, or -1 (out untouched) if invalid or short. */
export function writeDependencyDescriptor(
  out: Uint8Array,
  offset: number,
  fields: DependencyDescriptorFields,
  structure: DependencyStructure | undefined,
): number {
  const bits = descriptorBits(fields, structure);
  if (bits < 0 || !(offset >= 0)) return -1;
  const size = (bits + 7) >>> 3;
  if (offset + size > out.length) return -1;
  out.fill(0, offset, offset + size);
  out[offset] = (fields.isStartOfFrame ? 0x80 : 0) | (fields.isEndOfFrame ? 0x40 : 0) | fields.templateId;
  out[offset + 1] = (fields.frameNumber >>> 8) & 0xff;
  out[offset + 2] = fields.frameNumber & 0xff;
  if (size === 3) return size;
  const s = (fields.attachedStructure ?? structure)!;
  wBuf = out;
  wBase = offset;
  wPos = MANDATORY_BITS;
  writeBits(
    (fields.attachedStructure !== undefined ? 0x10 : 0) |
      (fields.hasActiveDecodeTargetsBitmask ? 0x08 : 0) |
      (fields.hasCustomDtis ? 0x04 : 0) |
      (fields.hasCustomFdiffs ? 0x02 : 0) |
      (fields.hasCustomChains ? 0x01 : 0),
    EXTENDED_FLAGS_BITS,
  );
  if (fields.attachedStructure !== undefined) writeStructure(fields.attachedStructure);
  if (fields.hasActiveDecodeTargetsBitmask) writeBits(fields.activeDecodeTargetsBitmask, s.decodeTargetCount);
  if (fields.hasCustomDtis) for (let d = 0; d < s.decodeTargetCount; d++) writeBits(fields.dtis[d]!, 2);
  if (fields.hasCustomFdiffs) {
    for (let i = 0; i < fields.fdiffCount; i++) {
      const fdiff = fields.fdiffs[i]!;
      const units = fdiff <= 16 ? 1 : fdiff <= 256 ? 2 : 3; // next_fdiff_size: 4-bit units of fdiff_minus_one
      writeBits(units, 2);
      writeBits(fdiff - 1, 4 * units);
    }
    writeBits(0, 2);
  }
  if (fields.hasCustomChains) for (let c = 0; c < s.chainCount; c++) writeBits(fields.chainDiffs[c]!, 8);
  wBuf = EMPTY; // do not keep the caller's buffer alive
  return size;
}

/** Sets frame_number (bytes 1..2 of the descriptor at `offset`) in place; `frameNumber` is taken mod 2^16. */
export function rewriteFrameNumber(buf: Uint8Array, offset: number, frameNumber: number): void {
  if (!(offset >= 0) || offset + 3 > buf.length) return;
  buf[offset + 1] = (frameNumber >>> 8) & 0xff;
  buf[offset + 2] = frameNumber & 0xff;
}
