// Building whole RTP packets (tests, client role, server-generated packets). Allocates; not for relaying.
// RFC 3550 §5.1 https://www.rfc-editor.org/rfc/rfc3550#section-5.1 ; extensions RFC 8285 §4.
import { writeU16, writeU32 } from './bytes.js';
import { ONE_BYTE_PROFILE, TWO_BYTE_PROFILE } from './header-extensions.js';

export interface RtpPacketInit {
  payloadType: number;
  sequenceNumber: number;
  timestamp: number;
  ssrc: number;
  marker?: boolean;
  csrcs?: number[];
  extensions?: { id: number; value: Uint8Array }[];
  payload: Uint8Array;
  /** 1..255 padding bytes (the last one holds the count); 0 or absent for none. */
  paddingLength?: number;
}

/**
 * Serializes an RTP packet. Extensions use the one-byte form when every id is 1..14 and every value
 * is 1..16 bytes, otherwise the two-byte form (profile 0x1000; ids 1..255, values 0..255 bytes).
 * Throws RangeError on values no form can carry.
 */
export function serializeRtpPacket(p: RtpPacketInit): Buffer {
  const csrcs = p.csrcs ?? [];
  if (csrcs.length > 15) throw new RangeError('at most 15 CSRCs');
  const exts = p.extensions ?? [];
  const paddingLength = p.paddingLength ?? 0;
  if (paddingLength < 0 || paddingLength > 255) throw new RangeError('paddingLength must be 0..255');

  let oneByte = true;
  for (const e of exts) {
    if (e.id < 1 || e.id > 255 || e.value.length > 255) {
      throw new RangeError(`extension id ${e.id} / length ${e.value.length} not encodable`);
    }
    if (e.id > 14 || e.value.length < 1 || e.value.length > 16) oneByte = false;
  }
  let extDataLength = 0;
  for (const e of exts) extDataLength += (oneByte ? 1 : 2) + e.value.length;
  const extPadded = (extDataLength + 3) & ~3;
  const extBlock = exts.length > 0 ? 4 + extPadded : 0;

  const headerLength = 12 + 4 * csrcs.length + extBlock;
  const out = Buffer.alloc(headerLength + p.payload.length + paddingLength);
  out[0] =
    0x80 | (paddingLength > 0 ? 0x20 : 0) | (exts.length > 0 ? 0x10 : 0) | csrcs.length;
  out[1] = (p.marker ? 0x80 : 0) | (p.payloadType & 0x7f);
  writeU16(out, 2, p.sequenceNumber);
  writeU32(out, 4, p.timestamp);
  writeU32(out, 8, p.ssrc);
  let pos = 12;
  for (const c of csrcs) {
    writeU32(out, pos, c);
    pos += 4;
  }
  if (exts.length > 0) {
    writeU16(out, pos, oneByte ? ONE_BYTE_PROFILE : TWO_BYTE_PROFILE);
    writeU16(out, pos + 2, extPadded / 4);
    pos += 4;
    for (const e of exts) {
      if (oneByte) {
        out[pos++] = (e.id << 4) | (e.value.length - 1);
      } else {
        out[pos++] = e.id;
        out[pos++] = e.value.length;
      }
      out.set(e.value, pos);
      pos += e.value.length;
    }
    pos = headerLength; // skip the zero padding of the extension block
  }
  out.set(p.payload, pos);
  if (paddingLength > 0) out[out.length - 1] = paddingLength;
  return out;
}
