// RTP fixed header parsing into a reused object, and in-place header field writers.
// RFC 3550 §5.1 https://www.rfc-editor.org/rfc/rfc3550#section-5.1 ; demux RFC 5761 §4.
import { readU16, readU32, writeU16, writeU32 } from './bytes.js';

export interface RtpHeader {
  version: number;
  padding: boolean;
  extension: boolean;
  marker: boolean;
  payloadType: number;
  sequenceNumber: number;
  timestamp: number;
  ssrc: number;
  csrcCount: number;
  /** 0xBEDE one-byte, 0x1000-0x100F two-byte, 0 if none (other values: unknown profile). */
  extensionProfile: number;
  /** Byte offset of the first extension element (after the 4-byte extension header); 0 if none. */
  extensionOffset: number;
  /** Bytes of extension data, not counting the 4-byte extension header. */
  extensionLength: number;
  /** = header length (fixed header + CSRCs + extension block). */
  payloadOffset: number;
  /** Payload bytes, excluding padding. */
  payloadLength: number;
  paddingLength: number;
}

const RTP_FIXED_HEADER_LENGTH = 12;

export function createRtpHeader(): RtpHeader {
  return {
    version: 0,
    padding: false,
    extension: false,
    marker: false,
    payloadType: 0,
    sequenceNumber: 0,
    timestamp: 0,
    ssrc: 0,
    csrcCount: 0,
    extensionProfile: 0,
    extensionOffset: 0,
    extensionLength: 0,
    payloadOffset: 0,
    payloadLength: 0,
    paddingLength: 0,
  };
}

/**
 * Parses the RTP header of `buf` into `out` (no allocation). Returns false, leaving `out` partly
 * written, if the packet is not version 2, is truncated, or has an impossible padding count.
 */
export function parseRtpHeader(buf: Uint8Array, out: RtpHeader): boolean {
  const len = buf.length;
  if (len < RTP_FIXED_HEADER_LENGTH) return false;
  const b0 = buf[0]!;
  const b1 = buf[1]!;
  const version = b0 >>> 6;
  if (version !== 2) return false;
  const csrcCount = b0 & 0x0f;
  out.version = version;
  out.padding = (b0 & 0x20) !== 0;
  out.extension = (b0 & 0x10) !== 0;
  out.marker = (b1 & 0x80) !== 0;
  out.payloadType = b1 & 0x7f;
  out.sequenceNumber = readU16(buf, 2);
  out.timestamp = readU32(buf, 4);
  out.ssrc = readU32(buf, 8);
  out.csrcCount = csrcCount;
  let offset = RTP_FIXED_HEADER_LENGTH + 4 * csrcCount;
  if (offset > len) return false;
  if (out.extension) {
    if (offset + 4 > len) return false;
    const extLength = readU16(buf, offset + 2) * 4;
    out.extensionProfile = readU16(buf, offset);
    out.extensionOffset = offset + 4;
    out.extensionLength = extLength;
    offset += 4 + extLength;
    if (offset > len) return false;
  } else {
    out.extensionProfile = 0;
    out.extensionOffset = 0;
    out.extensionLength = 0;
  }
  let paddingLength = 0;
  if (out.padding) {
    paddingLength = buf[len - 1]!;
    if (paddingLength === 0 || paddingLength > len - offset) return false;
  }
  out.payloadOffset = offset;
  out.paddingLength = paddingLength;
  out.payloadLength = len - offset - paddingLength;
  return true;
}

/** RFC 5761 §4 demultiplexing: RTCP packet types 192..223 sit where RTP has marker + payload type. */
export function isRtcpPacket(buf: Uint8Array): boolean {
  if (buf.length < 2) return false;
  const pt = buf[1]!;
  return pt >= 192 && pt <= 223;
}

export function writeSequenceNumber(buf: Uint8Array, seq: number): void {
  writeU16(buf, 2, seq);
}

export function writeTimestamp(buf: Uint8Array, ts: number): void {
  writeU32(buf, 4, ts);
}

export function writeSsrc(buf: Uint8Array, ssrc: number): void {
  writeU32(buf, 8, ssrc);
}

/** Rewrites the payload type, keeping the marker bit. */
export function writePayloadType(buf: Uint8Array, pt: number): void {
  buf[1] = (buf[1]! & 0x80) | (pt & 0x7f);
}

export function writeMarker(buf: Uint8Array, marker: boolean): void {
  buf[1] = marker ? buf[1]! | 0x80 : buf[1]! & 0x7f;
}

export {
  findHeaderExtension,
  headerExtensionLength,
  rewriteHeaderExtensionIds,
} from './header-extensions.js';
export type { RtpPacketInit } from './rtp-packet.js';
export { serializeRtpPacket } from './rtp-packet.js';
