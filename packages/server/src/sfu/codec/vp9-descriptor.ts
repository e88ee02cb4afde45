// VP9 RTP payload descriptor (flexible and non-flexible modes) and scalability structure, parsed into a
// reused object; in-place picture id rewrite. RFC 9628 §4.2 https://www.rfc-editor.org/rfc/rfc9628#section-4.2
// (formerly draft-ietf-payload-vp9).

/** Spatial layers an SS can describe: N_S is 3 bits, so 1 to 8. */
export const VP9_MAX_SPATIAL_LAYERS = 8;
/** Reference indices (P_DIFF) a flexible-mode descriptor may carry. */
export const VP9_MAX_P_DIFFS = 3;

/** A parsed descriptor (reuse one per receiver; `parseVp9Descriptor` overwrites every field it owns). */
export interface Vp9Descriptor {
  /** Bytes the descriptor (including any SS) occupies at the start of the payload; the VP9 data follows. */
  sizeBytes: number;
  /** I: a picture id is present. */
  hasPictureId: boolean;
  /** P: inter-picture predicted (the frame refers to an earlier picture of the same spatial layer). */
  isInterPicturePredicted: boolean;
  /** L: layer indices are present. */
  hasLayerIndices: boolean;
  /** F: flexible mode (P_DIFF references) rather than non-flexible (TL0PICIDX and an SS picture group). */
  isFlexibleMode: boolean;
  /** B: this packet starts a frame (of one spatial layer). */
  isStartOfFrame: boolean;
  /** E: this packet ends a frame. */
  isEndOfFrame: boolean;
  /** V: a scalability structure follows. */
  hasScalabilityStructure: boolean;
  /** Z: not used as a reference by upper spatial layers. */
  isNotReferenceForUpperLayers: boolean;
  /** Running picture index, 7 or 15 bits. */
  pictureId: number;
  /** M: the 15-bit form was used. */
  isPictureIdLong: boolean;
  /** Temporal layer index (3 bits); 0 without layer indices. */
  tid: number;
  /** U: switching up point. */
  isSwitchingUpPoint: boolean;
  /** Spatial layer index (3 bits); 0 without layer indices. */
  sid: number;
  /** D: depends on the next lower spatial layer of the same picture. */
  isInterLayerDependent: boolean;
  /** Non-flexible mode with layer indices: TL0PICIDX is present. */
  hasTl0PicIdx: boolean;
  tl0PicIdx: number;
  /** Flexible mode, P=1: how many entries of `pDiffs` are valid (1 to 3), else 0. */
  pDiffCount: number;
  /** Reference indices: the referenced picture id is pictureId - pDiff (7 bits each). */
  readonly pDiffs: Uint8Array;
  /** SS (V=1): the number of spatial layers, N_S + 1; 0 without SS. */
  spatialLayerCount: number;
  /** SS Y bit: `widths`/`heights` hold each spatial layer's resolution. */
  hasResolutions: boolean;
  readonly widths: Uint16Array;
  readonly heights: Uint16Array;
  /** SS G bit: a picture group description is present (skipped; its size is `pictureGroupSize`). */
  hasPictureGroup: boolean;
  /** N_G: pictures in the described picture group. */
  pictureGroupSize: number;
  /** B=1, P=0 and spatial layer 0 (or no layer indices): the first packet of a key picture. */
  isKeyframe: boolean;
}

export function createVp9Descriptor(): Vp9Descriptor {
  return {
    sizeBytes: 0,
    hasPictureId: false,
    isInterPicturePredicted: false,
    hasLayerIndices: false,
    isFlexibleMode: false,
    isStartOfFrame: false,
    isEndOfFrame: false,
    hasScalabilityStructure: false,
    isNotReferenceForUpperLayers: false,
    pictureId: 0,
    isPictureIdLong: false,
    tid: 0,
    isSwitchingUpPoint: false,
    sid: 0,
    isInterLayerDependent: false,
    hasTl0PicIdx: false,
    tl0PicIdx: 0,
    pDiffCount: 0,
    pDiffs: new Uint8Array(VP9_MAX_P_DIFFS),
    spatialLayerCount: 0,
    hasResolutions: false,
    widths: new Uint16Array(VP9_MAX_SPATIAL_LAYERS),
    heights: new Uint16Array(VP9_MAX_SPATIAL_LAYERS),
    hasPictureGroup: false,
    pictureGroupSize: 0,
    isKeyframe: false,
  };
}

// First byte: |I|P|L|F|B|E|V|Z|
const BIT_I = 0x80;
const BIT_P = 0x40;
const BIT_L = 0x20;
const BIT_F = 0x10;
const BIT_B = 0x08;
const BIT_E = 0x04;
const BIT_V = 0x02;
const BIT_Z = 0x01;
// Picture id: |M| PICTURE ID | (EXTENDED PID) ; layer indices: |TID(3)|U|SID(3)|D|
const BIT_M = 0x80;
// SS header: |N_S(3)|Y|G|-|-|- ; picture group entry: |TID(3)|U|R(2)|-|-
const BIT_SS_Y = 0x10;
const BIT_SS_G = 0x08;

/** Parses the SS at `buf[p, end)` into `out`; returns the offset after it, or -1 when truncated. */
function parseScalabilityStructure(buf: Uint8Array, p: number, end: number, out: Vp9Descriptor): number {
  if (p >= end) return -1;
  const header = buf[p++]!;
  const layerCount = (header >> 5) + 1;
  out.spatialLayerCount = layerCount;
  out.hasResolutions = (header & BIT_SS_Y) !== 0;
  out.hasPictureGroup = (header & BIT_SS_G) !== 0;
  if (out.hasResolutions) {
    if (p + 4 * layerCount > end) return -1;
    for (let i = 0; i < layerCount; i++) {
      out.widths[i] = (buf[p]! << 8) | buf[p + 1]!;
      out.heights[i] = (buf[p + 2]! << 8) | buf[p + 3]!;
      p += 4;
    }
  }
  if (out.hasPictureGroup) {
    if (p >= end) return -1;
    const pictureCount = buf[p++]!;
    out.pictureGroupSize = pictureCount;
    for (let i = 0; i < pictureCount; i++) {
      if (p >= end) return -1;
      const referenceCount = (buf[p++]! >> 2) & 0x03;
      p += referenceCount; // one P_DIFF byte each
      if (p > end) return -1;
    }
  }
  return p;
}

/**
 * Parses the descriptor at `buf[offset, offset+length)` (the RTP payload) into `out`. Returns false when the
 * bounds are invalid, the descriptor or its SS is truncated, or a flexible-mode descriptor chains more than
 * three P_DIFFs; `out` is then unspecified. Reads nothing past `offset + length`.
 */
export function parseVp9Descriptor(buf: Uint8Array, offset: number, length: number, out: Vp9Descriptor): boolean {
  const end = offset + length;
  if (length < 1 || offset < 0 || end > buf.length) return false;
  const b0 = buf[offset]!;
  out.hasPictureId = (b0 & BIT_I) !== 0;
  out.isInterPicturePredicted = (b0 & BIT_P) !== 0;
  out.hasLayerIndices = (b0 & BIT_L) !== 0;
  out.isFlexibleMode = (b0 & BIT_F) !== 0;
  out.isStartOfFrame = (b0 & BIT_B) !== 0;
  out.isEndOfFrame = (b0 & BIT_E) !== 0;
  out.hasScalabilityStructure = (b0 & BIT_V) !== 0;
  out.isNotReferenceForUpperLayers = (b0 & BIT_Z) !== 0;
  out.pictureId = 0;
  out.isPictureIdLong = false;
  out.tid = 0;
  out.isSwitchingUpPoint = false;
  out.sid = 0;
  out.isInterLayerDependent = false;
  out.hasTl0PicIdx = false;
  out.tl0PicIdx = 0;
  out.pDiffCount = 0;
  out.spatialLayerCount = 0;
  out.hasResolutions = false;
  out.hasPictureGroup = false;
  out.pictureGroupSize = 0;
  out.isKeyframe = false;
  let p = offset + 1;
  if (out.hasPictureId) {
    if (p >= end) return false;
    const m = buf[p++]!;
    if ((m & BIT_M) !== 0) {
      if (p >= end) return false;
      out.isPictureIdLong = true;
      out.pictureId = ((m & 0x7f) << 8) | buf[p++]!;
    } else {
      out.pictureId = m;
    }
  }
  if (out.hasLayerIndices) {
    if (p >= end) return false;
    const li = buf[p++]!;
    out.tid = li >> 5;
    out.isSwitchingUpPoint = (li & 0x10) !== 0;
    out.sid = (li >> 1) & 0x07;
    out.isInterLayerDependent = (li & 0x01) !== 0;
    if (!out.isFlexibleMode) {
      if (p >= end) return false;
      out.hasTl0PicIdx = true;
      out.tl0PicIdx = buf[p++]!;
    }
  }
  if (out.isFlexibleMode && out.isInterPicturePredicted) {
    // |P_DIFF(7)|N|: N=1 means another P_DIFF follows; at most three.
    for (;;) {
      if (p >= end || out.pDiffCount === VP9_MAX_P_DIFFS) return false;
      const r = buf[p++]!;
      out.pDiffs[out.pDiffCount++] = r >> 1;
      if ((r & 0x01) === 0) break;
    }
  }
  if (out.hasScalabilityStructure) {
    p = parseScalabilityStructure(buf, p, end, out);
    if (p < 0) return false;
  }
  out.sizeBytes = p - offset;
  out.isKeyframe = out.isStartOfFrame && !out.isInterPicturePredicted && out.sid === 0;
  return true;
}

/** Scratch for `isVp9KeyframeStart` (single-threaded: no re-entrancy). */
const scratch = createVp9Descriptor();

/**
 * True when `payload[offset, offset+length)` is a VP9 payload that starts a key picture: B=1, P=0 and spatial
 * layer 0 (or no layer indices). A caller that parses the descriptor anyway should read `isKeyframe` instead.
 */
export function isVp9KeyframeStart(payload: Uint8Array, offset: number, length: number): boolean {
  return parseVp9Descriptor(payload, offset, length, scratch) && scratch.isKeyframe;
}

/**
 * Overwrites the 15-bit picture id of the descriptor at `buf[offset]` with `pictureId` (masked to 15 bits).
 * Returns false, changing nothing, when the descriptor has no picture id, uses the 7-bit form, or the bytes
 * are not inside `buf`.
 */
export function rewriteVp9PictureId(buf: Uint8Array, offset: number, pictureId: number): boolean {
  if (offset < 0 || offset + 3 > buf.length) return false;
  if ((buf[offset]! & BIT_I) === 0 || (buf[offset + 1]! & BIT_M) === 0) return false;
  buf[offset + 1] = BIT_M | ((pictureId >> 8) & 0x7f);
  buf[offset + 2] = pictureId & 0xff;
  return true;
}
