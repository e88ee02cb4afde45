// H.264 RTP payload inspection: does this packet start a key frame (IDR slice or SPS)?
// RFC 6184 §5.6-5.8 (single NAL, STAP-A, FU-A) https://www.rfc-editor.org/rfc/rfc6184

const NAL_IDR = 5;
const NAL_SPS = 7;
const NAL_STAP_A = 24;
const NAL_FU_A = 28;

function isKeyNal(type: number): boolean {
  return type === NAL_IDR || type === NAL_SPS;
}

/**
 * True when `payload[offset, offset+length)` is an H.264 payload that carries an IDR slice or an SPS:
 * a single NAL unit of type 5 or 7, a STAP-A aggregating one, or an FU-A start fragment of one.
 */
export function isH264KeyframeStart(payload: Uint8Array, offset: number, length: number): boolean {
  const end = offset + length;
  if (length < 1 || end > payload.length) return false;
  const type = payload[offset]! & 0x1f;
  if (type >= 1 && type <= 23) return isKeyNal(type);
  if (type === NAL_STAP_A) {
    let p = offset + 1;
    while (p + 2 < end) {
      const size = (payload[p]! << 8) | payload[p + 1]!;
      if (size === 0 || p + 2 + size > end) return false;
      if (isKeyNal(payload[p + 2]! & 0x1f)) return true;
      p += 2 + size;
    }
    return false;
  }
  if (type === NAL_FU_A) {
    if (length < 2) return false;
    const fuHeader = payload[offset + 1]!;
    const isStart = (fuHeader & 0x80) !== 0;
    return isStart && isKeyNal(fuHeader & 0x1f);
  }
  return false;
}
