// AV1 RTP Dependency Descriptor (DD) header extension: types, per-packet parsing and layer helpers.
// AV1 RTP spec, Appendix A: https://aomediacodec.github.io/av1-rtp-spec/#dependency-descriptor-rtp-header-extension
// Writing lives in dependency-descriptor-writer.ts. The bit reader is module state, so parsing allocates nothing.
//
// API (per-packet calls allocate nothing; reading an attached structure allocates that structure):
//   createDependencyDescriptor(): DependencyDescriptor          the caller-owned, reused per-packet output
//   parseDependencyDescriptor(buf, offset, length, structure, out): boolean
//       `structure` is the latest one known (undefined before the first key frame). A descriptor that carries a
//       structure is resolved against that one and returns it in `out.attachedStructure` (a new object): keep it
//       for the next packets. False on malformed input, on a template id outside the structure's range (no
//       structure, or one the descriptor was not written against), or past `length`; never throws.
//   decodeTargetLayers(structure): DecodeTargetLayer[]           (spatial, temporal) of each decode target (A.8.2);
//       allocates: call once per structure
//   activeDecodeTargetsBitmask(structure, maxSpatialId, maxTemporalId): number
//       decode targets whose layer is within both limits, bit i = decode target i
//   Writing: writeDependencyDescriptor / dependencyDescriptorSize / rewriteFrameNumber (see the writer file).

/** Decode target indications (Table A.1). */
export const DecodeTargetIndication = { NotPresent: 0, Discardable: 1, Switch: 2, Required: 3 } as const;
export type DecodeTargetIndication = (typeof DecodeTargetIndication)[keyof typeof DecodeTargetIndication];

/** dt_cnt_minus_one is 5 bits. */
export const DD_MAX_DECODE_TARGETS = 32;
/** frame_dependency_template_id is 6 bits. */
export const DD_MAX_TEMPLATES = 64;
/** AV1 OBU extension ids: spatial_id is 2 bits, temporal_id 3 bits (templates beyond are rejected). */
export const DD_MAX_SPATIAL_ID = 3;
export const DD_MAX_TEMPORAL_ID = 7;
/** Our cap on frame diffs per template and per custom list (AV1 frames have at most 7 references). */
export const DD_MAX_FDIFFS = 15;

/** One Frame dependency template (A.8.1). */
export interface FrameDependencyTemplate {
  spatialId: number;
  temporalId: number;
  /** One per decode target, DecodeTargetIndication values (0..3). */
  dtis: number[];
  /** Differences to the frame numbers of the referred frames, 1..16 each, at most DD_MAX_FDIFFS. */
  fdiffs: number[];
  /** One per chain, 0..15: frame number difference to the previous frame of that chain (0: none needed). */
  chainDiffs: number[];
}

export interface RenderResolution {
  width: number;
  height: number;
}

/** template_dependency_structure: sent with the first packet of a coded video sequence. */
export interface DependencyStructure {
  /** template_id_offset (0..63): the frame_dependency_template_id of templates[0]; ids wrap at 64. */
  structureId: number;
  /** 1..32. */
  decodeTargetCount: number;
  /** 0..decodeTargetCount (0: no chains). */
  chainCount: number;
  /** The chain protecting each decode target (one per decode target when chainCount > 0, else empty). */
  decodeTargetProtectedByChain: number[];
  /** Ordered by (spatialId, temporalId), the first one S0T0, 1..64 of them. */
  templates: FrameDependencyTemplate[];
  /** Max render resolution per spatial id (0..last template's spatialId), or empty when not sent. */
  resolutions: RenderResolution[];
}

/** What the writer needs from a descriptor (a parsed DependencyDescriptor is one). */
export interface DependencyDescriptorFields {
  isStartOfFrame: boolean;
  isEndOfFrame: boolean;
  /** frame_dependency_template_id as on the wire (0..63; template index = (id - structureId) mod 64). */
  templateId: number;
  /** 16 bits. */
  frameNumber: number;
  /** The structure this packet carries, if any. */
  attachedStructure: DependencyStructure | undefined;
  hasActiveDecodeTargetsBitmask: boolean;
  /**
   * Bit i: decode target i active. Parsed: the value on the wire; when a structure is attached without one,
   * all of its decode targets (A.4); otherwise 0 (unchanged since the last update).
   */
  activeDecodeTargetsBitmask: number;
  /** The frame's dtis/fdiffs/chain diffs are custom (sent in the descriptor), not the template's. */
  hasCustomDtis: boolean;
  hasCustomFdiffs: boolean;
  hasCustomChains: boolean;
  /** decodeTargetCount entries are used. */
  dtis: ArrayLike<number>;
  fdiffCount: number;
  /** fdiffCount entries are used, 1..4096 each (templates: 1..16). */
  fdiffs: ArrayLike<number>;
  /** chainCount entries are used, 0..255 each (templates: 0..15). */
  chainDiffs: ArrayLike<number>;
}

/** The per-packet result, resolved against the structure: template values with the custom ones applied. */
export interface DependencyDescriptor extends DependencyDescriptorFields {
  spatialId: number;
  temporalId: number;
  decodeTargetCount: number;
  dtis: Uint8Array;
  fdiffs: Uint16Array;
  chainCount: number;
  chainDiffs: Uint8Array;
  /** Max render size of the frame's spatial layer, 0 when the structure has no resolutions. */
  maxRenderWidth: number;
  maxRenderHeight: number;
}

export interface DecodeTargetLayer {
  spatialId: number;
  temporalId: number;
}

export function createDependencyDescriptor(): DependencyDescriptor {
  return {
    isStartOfFrame: false,
    isEndOfFrame: false,
    templateId: 0,
    frameNumber: 0,
    attachedStructure: undefined,
    hasActiveDecodeTargetsBitmask: false,
    activeDecodeTargetsBitmask: 0,
    hasCustomDtis: false,
    hasCustomFdiffs: false,
    hasCustomChains: false,
    spatialId: 0,
    temporalId: 0,
    decodeTargetCount: 0,
    dtis: new Uint8Array(DD_MAX_DECODE_TARGETS),
    fdiffCount: 0,
    fdiffs: new Uint16Array(DD_MAX_FDIFFS),
    chainCount: 0,
    chainDiffs: new Uint8Array(DD_MAX_DECODE_TARGETS),
    maxRenderWidth: 0,
    maxRenderHeight: 0,
  };
}

/** All decode targets of a structure with `count` of them, as an unsigned 32-bit mask. */
export function allDecodeTargetsBitmask(count: number): number {
  return count >= 32 ? 0xffffffff : (1 << count) - 1;
}

// Bit reader over buf[base, base + length): single-threaded, so module slots are safe and allocation-free.
let rBuf: Uint8Array = new Uint8Array(0);
let rBase = 0;
let rPos = 0; // bits from rBase
let rEnd = 0; // bits
let rOk = true;

/** f(n), n <= 32. Past the end: 0 and rOk = false (so every loop below ends). */
function readBits(n: number): number {
  if (rPos + n > rEnd) {
    rOk = false;
    rPos = rEnd;
    return 0;
  }
  let v = 0;
  while (n > 0) {
    const avail = 8 - (rPos & 7);
    const take = n < avail ? n : avail;
    const bits = (rBuf[rBase + (rPos >>> 3)]! >>> (avail - take)) & ((1 << take) - 1);
    v = v * (1 << take) + bits; // multiply, not shift: stays unsigned up to 32 bits
    rPos += take;
    n -= take;
  }
  return v;
}

/** ns(n) (A.8.2): non-symmetric unsigned value in 0..n-1, n >= 1. */
function readNs(n: number): number {
  const w = 32 - Math.clz32(n);
  const m = (1 << w) - n;
  const v = readBits(w - 1);
  if (v < m) return v;
  return (v << 1) - m + readBits(1);
}

function readStructure(): DependencyStructure | undefined {
  const structureId = readBits(6);
  const decodeTargetCount = readBits(5) + 1;
  const templates: FrameDependencyTemplate[] = [];
  let spatialId = 0;
  let temporalId = 0;
  let nextLayerIdc = 0;
  do {
    if (templates.length === DD_MAX_TEMPLATES) return undefined;
    templates.push({ spatialId, temporalId, dtis: [], fdiffs: [], chainDiffs: [] });
    nextLayerIdc = readBits(2);
    if (nextLayerIdc === 1) {
      if (++temporalId > DD_MAX_TEMPORAL_ID) return undefined;
    } else if (nextLayerIdc === 2) {
      temporalId = 0;
      if (++spatialId > DD_MAX_SPATIAL_ID) return undefined;
    }
  } while (nextLayerIdc !== 3 && rOk);
  if (!rOk) return undefined;
  for (let i = 0; i < templates.length; i++) {
    const dtis = templates[i]!.dtis;
    for (let dt = 0; dt < decodeTargetCount; dt++) dtis.push(readBits(2));
  }
  for (let i = 0; i < templates.length; i++) {
    const fdiffs = templates[i]!.fdiffs;
    while (readBits(1) === 1) {
      if (fdiffs.length === DD_MAX_FDIFFS) return undefined;
      fdiffs.push(readBits(4) + 1);
    }
  }
  const chainCount = readNs(decodeTargetCount + 1);
  const decodeTargetProtectedByChain: number[] = [];
  if (chainCount > 0) {
    for (let dt = 0; dt < decodeTargetCount; dt++) decodeTargetProtectedByChain.push(readNs(chainCount));
    for (let i = 0; i < templates.length; i++) {
      const chainDiffs = templates[i]!.chainDiffs;
      for (let c = 0; c < chainCount; c++) chainDiffs.push(readBits(4));
    }
  }
  const resolutions: RenderResolution[] = [];
  if (readBits(1) === 1) {
    const spatialLayers = spatialId + 1; // templates are ordered, the last one has the highest spatial id
    for (let s = 0; s < spatialLayers && rOk; s++) {
      const width = readBits(16) + 1;
      resolutions.push({ width, height: readBits(16) + 1 });
    }
  }
  if (!rOk) return undefined;
  return { structureId, decodeTargetCount, chainCount, decodeTargetProtectedByChain, templates, resolutions };
}

/**
 * Parses the extension value buf[offset, offset + length) against `structure` (or the attached one) into
 * `out`. False when malformed or unresolvable; `out` is then partly written and must not be used.
 */
export function parseDependencyDescriptor(
  buf: Uint8Array,
  offset: number,
  length: number,
  structure: DependencyStructure | undefined,
  out: DependencyDescriptor,
): boolean {
  if (!(offset >= 0) || !(length >= 3) || offset + length > buf.length) return false;
  const b0 = buf[offset]!;
  out.isStartOfFrame = (b0 & 0x80) !== 0;
  out.isEndOfFrame = (b0 & 0x40) !== 0;
  out.templateId = b0 & 0x3f;
  out.frameNumber = (buf[offset + 1]! << 8) | buf[offset + 2]!;
  out.attachedStructure = undefined;
  out.hasActiveDecodeTargetsBitmask = false;
  out.activeDecodeTargetsBitmask = 0;
  out.hasCustomDtis = false;
  out.hasCustomFdiffs = false;
  out.hasCustomChains = false;
  rBuf = buf;
  rBase = offset;
  rPos = 24;
  rEnd = length * 8;
  rOk = true;
  let s = structure;
  if (length > 3) {
    const flags = readBits(5);
    out.hasCustomDtis = (flags & 0x04) !== 0;
    out.hasCustomFdiffs = (flags & 0x02) !== 0;
    out.hasCustomChains = (flags & 0x01) !== 0;
    if ((flags & 0x10) !== 0) {
      s = readStructure();
      if (s === undefined) return false;
      out.attachedStructure = s;
      out.activeDecodeTargetsBitmask = allDecodeTargetsBitmask(s.decodeTargetCount);
    }
    if (s === undefined) return false;
    if ((flags & 0x08) !== 0) {
      out.hasActiveDecodeTargetsBitmask = true;
      out.activeDecodeTargetsBitmask = readBits(s.decodeTargetCount);
    }
  }
  if (s === undefined) return false;
  const templateIndex = (out.templateId - s.structureId + DD_MAX_TEMPLATES) & (DD_MAX_TEMPLATES - 1);
  const t = s.templates[templateIndex];
  const dtCount = s.decodeTargetCount;
  const chainCount = s.chainCount;
  if (t === undefined || dtCount > DD_MAX_DECODE_TARGETS || chainCount > dtCount) return false;
  out.spatialId = t.spatialId;
  out.temporalId = t.temporalId;
  out.decodeTargetCount = dtCount;
  out.chainCount = chainCount;
  const dtis = out.dtis;
  if (out.hasCustomDtis) {
    for (let i = 0; i < dtCount; i++) dtis[i] = readBits(2);
  } else {
    for (let i = 0; i < dtCount; i++) dtis[i] = t.dtis[i] ?? 0;
  }
  const fdiffs = out.fdiffs;
  if (out.hasCustomFdiffs) {
    let count = 0;
    for (let size = readBits(2); size !== 0; size = readBits(2)) {
      if (count === DD_MAX_FDIFFS) return false;
      fdiffs[count++] = readBits(4 * size) + 1;
    }
    out.fdiffCount = count;
  } else {
    const count = t.fdiffs.length;
    if (count > DD_MAX_FDIFFS) return false;
    for (let i = 0; i < count; i++) fdiffs[i] = t.fdiffs[i]!;
    out.fdiffCount = count;
  }
  const chainDiffs = out.chainDiffs;
  if (out.hasCustomChains) {
    for (let i = 0; i < chainCount; i++) chainDiffs[i] = readBits(8);
  } else {
    for (let i = 0; i < chainCount; i++) chainDiffs[i] = t.chainDiffs[i] ?? 0;
  }
  if (!rOk) return false;
  const resolution = s.resolutions[t.spatialId];
  out.maxRenderWidth = resolution === undefined ? 0 : resolution.width;
  out.maxRenderHeight = resolution === undefined ? 0 : resolution.height;
  return true;
}

/** (spatialId << 3) | temporalId of decode target `dt`: the highest ids among templates that include it. */
function decodeTargetLayerPacked(structure: DependencyStructure, dt: number): number {
  let spatialId = 0;
  let temporalId = 0;
  const templates = structure.templates;
  for (let i = 0; i < templates.length; i++) {
    const t = templates[i]!;
    if ((t.dtis[dt] ?? 0) === DecodeTargetIndication.NotPresent) continue;
    if (t.spatialId > spatialId) spatialId = t.spatialId;
    if (t.temporalId > temporalId) temporalId = t.temporalId;
  }
  return (spatialId << 3) | temporalId;
}

/** The (spatial, temporal) layer each decode target represents (decode_target_layers, A.8.2). */
export function decodeTargetLayers(structure: DependencyStructure): DecodeTargetLayer[] {
  const layers: DecodeTargetLayer[] = [];
  for (let dt = 0; dt < structure.decodeTargetCount; dt++) {
    const packed = decodeTargetLayerPacked(structure, dt);
    layers.push({ spatialId: packed >>> 3, temporalId: packed & 7 });
  }
  return layers;
}

/** Decode targets whose spatial id <= maxSpatialId and temporal id <= maxTemporalId (bit i = target i). */
export function activeDecodeTargetsBitmask(
  structure: DependencyStructure,
  maxSpatialId: number,
  maxTemporalId: number,
): number {
  let mask = 0;
  const count = Math.min(structure.decodeTargetCount, DD_MAX_DECODE_TARGETS);
  for (let dt = 0; dt < count; dt++) {
    const packed = decodeTargetLayerPacked(structure, dt);
    if (packed >>> 3 <= maxSpatialId && (packed & 7) <= maxTemporalId) mask |= 1 << dt;
  }
  return mask >>> 0;
}
