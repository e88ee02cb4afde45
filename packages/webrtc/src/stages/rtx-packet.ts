// Writers for the packets a sender puts on its RTX SSRC: retransmissions in the RTX payload format
// (RFC 4588 §4 https://www.rfc-editor.org/rfc/rfc4588#section-4) and padding-only packets (RFC 3550 §5.1 padding) that
// carry transport-cc and abs-send-time slots for the header-stamp stage. Into caller-owned buffers; no allocation.
import { ONE_BYTE_PROFILE, TWO_BYTE_PROFILE } from '../rtp/header-extensions.js';
import type { RtpHeader } from '../rtp/index.js';

/** Most RTP padding one packet can carry (the count is one byte). */
export const MAX_PADDING_BYTES = 255;
/** Fixed header + the largest extension block `writePaddingPacket` writes (two-byte form) + the most padding. */
export const PADDING_PACKET_CAPACITY = 12 + 4 + 12 + MAX_PADDING_BYTES;

/**
 * Payload bytes of the packet in `src` whose header ends at `h.payloadOffset`, its own RTP padding left out. Read from
 * the bytes, not from `h`: a forwarding sender's `h` may describe the packet as it arrived (only its header layout
 * must match), while the payload was rewritten since (a VP8 descriptor resized, padding dropped).
 */
function payloadBytes(src: Buffer, h: RtpHeader): number {
  const padding = (src[0]! & 0x20) !== 0 && src.length > h.payloadOffset ? src[src.length - 1]! : 0;
  return Math.max(0, src.length - h.payloadOffset - padding);
}

/** Bytes `writeRtxPacket` writes for the packet in `src` (whose header layout `h` describes). */
export function rtxPacketLength(src: Buffer, h: RtpHeader): number {
  return h.payloadOffset + 2 + payloadBytes(src, h);
}

/**
 * Wraps the RTP packet in `src` (described by `h`) as an RTX packet into `out` (at least `rtxPacketLength(h)` bytes):
 * the same header (timestamp, marker, CSRCs, extension block) with the RTX payload type, sequence number and SSRC,
 * then the original sequence number (2 bytes) and the original payload; the original's RTP padding is left out.
 * `h` need only describe `src`'s header layout (offsets): sequence number and payload length are read from `src`.
 * Fills `outHeader` to describe the result. Returns the RTX packet's length.
 */
export function writeRtxPacket(
  src: Buffer, h: RtpHeader, out: Buffer, outHeader: RtpHeader, rtxPayloadType: number, rtxSeq: number, rtxSsrc: number,
): number {
  const headerLength = h.payloadOffset;
  const payloadLength = payloadBytes(src, h);
  // The original sequence number as it went out (from the bytes: `h` may still hold the number it arrived with).
  const osnHigh = src[2]!;
  const osnLow = src[3]!;
  src.copy(out, 0, 0, headerLength);
  out[0] = out[0]! & 0xdf; // no padding
  out[1] = (out[1]! & 0x80) | (rtxPayloadType & 0x7f);
  out[2] = (rtxSeq >>> 8) & 0xff;
  out[3] = rtxSeq & 0xff;
  out.writeUInt32BE(rtxSsrc >>> 0, 8);
  out[headerLength] = osnHigh;
  out[headerLength + 1] = osnLow;
  src.copy(out, headerLength + 2, headerLength, headerLength + payloadLength);
  outHeader.version = 2;
  outHeader.padding = false;
  outHeader.extension = h.extension;
  outHeader.marker = h.marker;
  outHeader.payloadType = rtxPayloadType & 0x7f;
  outHeader.sequenceNumber = rtxSeq & 0xffff;
  outHeader.timestamp = h.timestamp;
  outHeader.ssrc = rtxSsrc >>> 0;
  outHeader.csrcCount = h.csrcCount;
  outHeader.extensionProfile = h.extensionProfile;
  outHeader.extensionOffset = h.extensionOffset;
  outHeader.extensionLength = h.extensionLength;
  outHeader.payloadOffset = headerLength;
  outHeader.payloadLength = payloadLength + 2;
  outHeader.paddingLength = 0;
  return headerLength + 2 + payloadLength;
}

/**
 * Writes a padding-only RTP packet into `out` (at least PADDING_PACKET_CAPACITY bytes): P bit set, no payload,
 * `paddingBytes` (1..255) of padding whose last byte holds the count, marker clear. When `transportCcId` or
 * `absSendTimeId` is non-zero the packet has an extension block with zeroed slots for them (2 and 3 bytes; the
 * one-byte form when both ids fit it, RFC 8285 §4.2, else the two-byte form, §4.3), for the header-stamp stage to fill.
 * Fills `outHeader`. Returns the packet's length.
 */
export function writePaddingPacket(
  out: Buffer, outHeader: RtpHeader, payloadType: number, seq: number, timestamp: number, ssrc: number,
  transportCcId: number, absSendTimeId: number, paddingBytes: number,
): number {
  const padding = Math.max(1, Math.min(MAX_PADDING_BYTES, Math.floor(paddingBytes)));
  const hasExtension = transportCcId !== 0 || absSendTimeId !== 0;
  out[0] = 0x80 | 0x20 | (hasExtension ? 0x10 : 0);
  out[1] = payloadType & 0x7f;
  out[2] = (seq >>> 8) & 0xff;
  out[3] = seq & 0xff;
  out.writeUInt32BE(timestamp >>> 0, 4);
  out.writeUInt32BE(ssrc >>> 0, 8);
  let pos = 12;
  let profile = 0;
  let extensionLength = 0;
  if (hasExtension) {
    const isOneByte = transportCcId <= 14 && absSendTimeId <= 14;
    profile = isOneByte ? ONE_BYTE_PROFILE : TWO_BYTE_PROFILE;
    let data = 0;
    if (transportCcId !== 0) data += (isOneByte ? 1 : 2) + 2;
    if (absSendTimeId !== 0) data += (isOneByte ? 1 : 2) + 3;
    extensionLength = (data + 3) & ~3;
    out.writeUInt16BE(profile, pos);
    out.writeUInt16BE(extensionLength / 4, pos + 2);
    pos += 4;
    const end = pos + extensionLength;
    out.fill(0, pos, end);
    if (transportCcId !== 0) {
      if (isOneByte) out[pos++] = (transportCcId << 4) | 1;
      else {
        out[pos++] = transportCcId;
        out[pos++] = 2;
      }
      pos += 2;
    }
    if (absSendTimeId !== 0) {
      if (isOneByte) out[pos++] = (absSendTimeId << 4) | 2;
      else {
        out[pos++] = absSendTimeId;
        out[pos++] = 3;
      }
    }
    pos = end;
  }
  const headerLength = pos;
  out.fill(0, headerLength, headerLength + padding - 1);
  out[headerLength + padding - 1] = padding;
  outHeader.version = 2;
  outHeader.padding = true;
  outHeader.extension = hasExtension;
  outHeader.marker = false;
  outHeader.payloadType = payloadType & 0x7f;
  outHeader.sequenceNumber = seq & 0xffff;
  outHeader.timestamp = timestamp >>> 0;
  outHeader.ssrc = ssrc >>> 0;
  outHeader.csrcCount = 0;
  outHeader.extensionProfile = profile;
  outHeader.extensionOffset = hasExtension ? 16 : 0;
  outHeader.extensionLength = extensionLength;
  outHeader.payloadOffset = headerLength;
  outHeader.payloadLength = 0;
  outHeader.paddingLength = padding;
  return headerLength + padding;
}
