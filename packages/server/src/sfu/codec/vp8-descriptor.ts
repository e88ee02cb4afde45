// VP8 RTP payload descriptor: parse into a reused object, and write one (for picture id / TL0PICIDX / KEYIDX
// rewriting). RFC 7741 §4.2 https://www.rfc-editor.org/rfc/rfc7741#section-4.2 ; key frame test from the
// VP8 frame tag, RFC 6386 §9.1 https://www.rfc-editor.org/rfc/rfc6386#section-9.1

/** The descriptor fields a sender chooses; what `writeVp8Descriptor` writes. */
export interface Vp8DescriptorFields {
  /** N: the frame can be discarded without affecting any other frame. */
  isNonReference: boolean;
  /** S: this packet starts a VP8 partition. */
  isStartOfPartition: boolean;
  /** PID: the partition index, 0-7. */
  partitionIndex: number;
  /** I: a picture id is present. */
  hasPictureId: boolean;
  /** Running frame index, 7 or 15 bits when parsed; written in the 15-bit form. */
  pictureId: number;
  /** L: TL0PICIDX is present. */
  hasTl0PicIdx: boolean;
  /** Running index of the temporal base layer frames (8 bits). */
  tl0PicIdx: number;
  /** T: TID and Y are present. */
  hasTid: boolean;
  /** Temporal layer index (2 bits); 0 when absent. */
  tid: number;
  /** Y: layer sync, the frame depends only on temporal base layer frames. */
  isLayerSync: boolean;
  /** K: KEYIDX is present. */
  hasKeyIdx: boolean;
  /** Temporal key frame index (5 bits). */
  keyIdx: number;
}

/** A parsed descriptor (reuse one per receiver; `parseVp8Descriptor` overwrites every field). */
export interface Vp8Descriptor extends Vp8DescriptorFields {
  /** Bytes the descriptor occupies at the start of the payload; the VP8 payload follows. */
  sizeBytes: number;
  /** X: the extension byte is present. */
  hasExtension: boolean;
  /** M: the picture id was sent in the 15-bit form. */
  isPictureIdLong: boolean;
  /** S=1, partition 0 and the frame tag's P (inverse key frame) bit clear: the first packet of a key frame. */
  isKeyframe: boolean;
}

export function createVp8DescriptorFields(): Vp8DescriptorFields {
  return {
    isNonReference: false,
    isStartOfPartition: false,
    partitionIndex: 0,
    hasPictureId: false,
    pictureId: 0,
    hasTl0PicIdx: false,
    tl0PicIdx: 0,
    hasTid: false,
    tid: 0,
    isLayerSync: false,
    hasKeyIdx: false,
    keyIdx: 0,
  };
}

export function createVp8Descriptor(): Vp8Descriptor {
  return {
    ...createVp8DescriptorFields(),
    sizeBytes: 0,
    hasExtension: false,
    isPictureIdLong: false,
    isKeyframe: false,
  };
}

// First byte: |X|R|N|S|R| PID |
const BIT_X = 0x80;
const BIT_N = 0x20;
const BIT_S = 0x10;
const MASK_PID = 0x07;
// Extension byte: |I|L|T|K| RSV |
const BIT_I = 0x80;
const BIT_L = 0x40;
const BIT_T = 0x20;
const BIT_K = 0x10;
// Picture id first byte: |M| PictureID |
const BIT_M = 0x80;
// T/K byte: |TID|Y| KEYIDX |
const SHIFT_TID = 6;
const BIT_Y = 0x20;
const MASK_KEYIDX = 0x1f;

/**
 * Parses the descriptor at `buf[offset, offset+length)` (the RTP payload) into `out`. Returns false when the
 * bounds are invalid or the descriptor is truncated; `out` is then unspecified. A payload that is only a
 * descriptor parses (isKeyframe false: no frame tag to look at). Reads nothing past `offset + length`.
 */
export function parseVp8Descriptor(buf: Uint8Array, offset: number, length: number, out: Vp8Descriptor): boolean {
  const end = offset + length;
  if (length < 1 || offset < 0 || end > buf.length) return false;
  const b0 = buf[offset]!;
  out.hasExtension = (b0 & BIT_X) !== 0;
  out.isNonReference = (b0 & BIT_N) !== 0;
  out.isStartOfPartition = (b0 & BIT_S) !== 0;
  out.partitionIndex = b0 & MASK_PID;
  out.hasPictureId = false;
  out.pictureId = 0;
  out.isPictureIdLong = false;
  out.hasTl0PicIdx = false;
  out.tl0PicIdx = 0;
  out.hasTid = false;
  out.tid = 0;
  out.isLayerSync = false;
  out.hasKeyIdx = false;
  out.keyIdx = 0;
  out.isKeyframe = false;
  let p = offset + 1;
  if (out.hasExtension) {
    if (p >= end) return false;
    const x = buf[p++]!;
    if ((x & BIT_I) !== 0) {
      if (p >= end) return false;
      const m = buf[p++]!;
      out.hasPictureId = true;
      if ((m & BIT_M) !== 0) {
        if (p >= end) return false;
        out.isPictureIdLong = true;
        out.pictureId = ((m & 0x7f) << 8) | buf[p++]!;
      } else {
        out.pictureId = m;
      }
    }
    if ((x & BIT_L) !== 0) {
      if (p >= end) return false;
      out.hasTl0PicIdx = true;
      out.tl0PicIdx = buf[p++]!;
    }
    if ((x & (BIT_T | BIT_K)) !== 0) {
      if (p >= end) return false;
      const tk = buf[p++]!;
      if ((x & BIT_T) !== 0) {
        out.hasTid = true;
        out.tid = tk >> SHIFT_TID;
        out.isLayerSync = (tk & BIT_Y) !== 0;
      }
      if ((x & BIT_K) !== 0) {
        out.hasKeyIdx = true;
        out.keyIdx = tk & MASK_KEYIDX;
      }
    }
  }
  out.sizeBytes = p - offset;
  // Frame tag (RFC 6386 §9.1): bit 0 of the first byte is P, 0 for a key frame. Only the first packet of
  // partition 0 carries it.
  out.isKeyframe = out.isStartOfPartition && out.partitionIndex === 0 && p < end && (buf[p]! & 0x01) === 0;
  return true;
}

/** Bytes `writeVp8Descriptor` writes for these fields (1 to 6). */
export function vp8DescriptorSize(fields: Vp8DescriptorFields): number {
  const hasExtension = fields.hasPictureId || fields.hasTl0PicIdx || fields.hasTid || fields.hasKeyIdx;
  if (!hasExtension) return 1;
  let size = 2;
  if (fields.hasPictureId) size += 2;
  if (fields.hasTl0PicIdx) size++;
  if (fields.hasTid || fields.hasKeyIdx) size++;
  return size;
}

/**
 * Writes a descriptor for `d` at `out[offset]`: the extension byte only when some optional field is present,
 * the picture id always in the 15-bit form (M=1). Values are masked to their field widths. Returns the bytes
 * written, or -1 (writing nothing) when they do not fit in `out`.
 */
export function writeVp8Descriptor(out: Uint8Array, offset: number, d: Vp8DescriptorFields): number {
  const size = vp8DescriptorSize(d);
  if (offset < 0 || offset + size > out.length) return -1;
  let b0 = d.partitionIndex & MASK_PID;
  if (d.isNonReference) b0 |= BIT_N;
  if (d.isStartOfPartition) b0 |= BIT_S;
  if (size === 1) {
    out[offset] = b0;
    return 1;
  }
  out[offset] = b0 | BIT_X;
  let x = 0;
  let p = offset + 2;
  if (d.hasPictureId) {
    x |= BIT_I;
    out[p++] = BIT_M | ((d.pictureId >> 8) & 0x7f);
    out[p++] = d.pictureId & 0xff;
  }
  if (d.hasTl0PicIdx) {
    x |= BIT_L;
    out[p++] = d.tl0PicIdx & 0xff;
  }
  if (d.hasTid || d.hasKeyIdx) {
    let tk = 0;
    if (d.hasTid) {
      x |= BIT_T;
      tk |= (d.tid & 0x03) << SHIFT_TID;
      if (d.isLayerSync) tk |= BIT_Y;
    }
    if (d.hasKeyIdx) {
      x |= BIT_K;
      tk |= d.keyIdx & MASK_KEYIDX;
    }
    out[p++] = tk;
  }
  out[offset + 1] = x;
  return size;
}
