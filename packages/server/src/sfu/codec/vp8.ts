// VP8 RTP payload inspection: is this packet the first packet of a key frame?
// RFC 7741 §4.2 (payload descriptor) and §4.3 (payload header) https://www.rfc-editor.org/rfc/rfc7741
// RFC 6386 §9.1 (frame tag: P bit 0 = key frame).

/**
 * True when `payload[offset, offset+length)` is a VP8 payload that starts a key frame: S bit set,
 * partition index 0, and the frame tag's P (inverse key frame) bit clear. Never throws on short input.
 */
export function isVp8KeyframeStart(payload: Uint8Array, offset: number, length: number): boolean {
  const end = offset + length;
  if (length < 1 || end > payload.length) return false;
  const b0 = payload[offset]!;
  const hasExtension = (b0 & 0x80) !== 0;
  const isStart = (b0 & 0x10) !== 0;
  const partitionId = b0 & 0x07;
  if (!isStart || partitionId !== 0) return false;
  let p = offset + 1;
  if (hasExtension) {
    if (p >= end) return false;
    const x = payload[p]!;
    p++;
    if ((x & 0x80) !== 0) {
      // I: picture id, 7 or 15 bits (M bit selects the long form).
      if (p >= end) return false;
      p += (payload[p]! & 0x80) !== 0 ? 2 : 1;
    }
    if ((x & 0x40) !== 0) p++; // L: TL0PICIDX
    if ((x & 0x30) !== 0) p++; // T or K: TID/Y/KEYIDX byte
  }
  if (p >= end) return false;
  return (payload[p]! & 0x01) === 0;
}
