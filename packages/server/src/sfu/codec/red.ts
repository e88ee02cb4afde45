// RED redundant audio (RFC 2198 §3, https://www.rfc-editor.org/rfc/rfc2198#section-3) for Opus as WebRTC sends it
// (`a=rtpmap:63 red/48000/2`, `a=fmtp:63 111/111`): parse, unwrap to plain Opus, recover lost frames (the
// encoder is red-encoder.ts).
// Hot path: no allocation, no closures, nothing thrown on bad input (false / -1 instead).
import { writeU16, writeU32 } from '@atrium/webrtc/rtp/bytes.js';

/**
 * Blocks (redundant + primary) a parsed payload may hold; more is treated as malformed. libwebrtc sends 1 redundant
 * block by default and at most 9 (field trial WebRTC-Audio-Red-For-Opus/Enabled-N/), so 10 covers every sender.
 */
export const RED_MAX_BLOCKS = 10;
/** Largest timestamp offset a redundant block header can carry (14 bits). */
export const RED_MAX_TIMESTAMP_OFFSET_TICKS = 0x3fff;
/** Largest redundant block a header can describe (10 bits). */
export const RED_MAX_BLOCK_LENGTH_BYTES = 0x3ff;

const RTP_FIXED_HEADER_BYTES = 12;
const REDUNDANT_HEADER_BYTES = 4;
const PRIMARY_HEADER_BYTES = 1;
const F_BIT = 0x80;
const RTP_PADDING_BIT = 0x20;
const RTP_MARKER_BIT = 0x80;

/**
 * One parsed RED payload, reused across packets. Blocks are in wire order: redundant blocks oldest first,
 * the primary last (index `blockCount - 1`, timestamp offset 0, length = whatever follows the other blocks).
 */
export interface RedPayload {
  /** Blocks including the primary; 0 after a failed parse. */
  blockCount: number;
  /** 7-bit block payload type (the Opus payload type for WebRTC's RED). */
  readonly payloadTypes: Uint8Array;
  /** Block timestamp = RTP timestamp - offset (mod 2^32). */
  readonly timestampOffsetsTicks: Uint16Array;
  /** Where each block's data starts, as an index into the parsed buffer (not relative to the payload). */
  readonly blockOffsets: Uint32Array;
  readonly blockLengthsBytes: Uint32Array;
}

export function createRedPayload(): RedPayload {
  return {
    blockCount: 0,
    payloadTypes: new Uint8Array(RED_MAX_BLOCKS),
    timestampOffsetsTicks: new Uint16Array(RED_MAX_BLOCKS),
    blockOffsets: new Uint32Array(RED_MAX_BLOCKS),
    blockLengthsBytes: new Uint32Array(RED_MAX_BLOCKS),
  };
}

/**
 * Parses the RED payload `buf[offset, offset + length)` into `out`. False (and `out.blockCount = 0`) when the
 * headers are truncated, the redundant lengths run past the end, there is no primary header, or there are more
 * than RED_MAX_BLOCKS blocks. A zero-length primary is accepted (the format allows it). Reads nothing outside.
 */
export function parseRedPayload(buf: Uint8Array, offset: number, length: number, out: RedPayload): boolean {
  out.blockCount = 0;
  if (!(offset >= 0 && length >= 1 && offset + length <= buf.length)) return false;
  const end = offset + length;
  let pos = offset;
  let count = 0;
  for (;;) {
    if (pos >= end || count >= RED_MAX_BLOCKS) return false;
    const b0 = buf[pos]!;
    out.payloadTypes[count] = b0 & 0x7f;
    if ((b0 & F_BIT) === 0) {
      out.timestampOffsetsTicks[count] = 0;
      pos += PRIMARY_HEADER_BYTES;
      count++;
      break;
    }
    if (pos + REDUNDANT_HEADER_BYTES > end) return false;
    // |F|  block PT (7)  | timestamp offset (14) | block length (10) |
    const b1 = buf[pos + 1]!;
    const b2 = buf[pos + 2]!;
    out.timestampOffsetsTicks[count] = (b1 << 6) | (b2 >>> 2);
    out.blockLengthsBytes[count] = ((b2 & 0x03) << 8) | buf[pos + 3]!;
    pos += REDUNDANT_HEADER_BYTES;
    count++;
  }
  for (let i = 0; i < count - 1; i++) {
    out.blockOffsets[i] = pos;
    pos += out.blockLengthsBytes[i]!;
    if (pos > end) return false;
  }
  out.blockOffsets[count - 1] = pos;
  out.blockLengthsBytes[count - 1] = end - pos;
  out.blockCount = count;
  return true;
}

/**
 * Writes `packet[0, headerLength)` (the RTP header, padding bit cleared) and then the primary block of `red`
 * (parsed from this `packet`) into `out`: a plain Opus packet whose SSRC/PT/seq/ts the caller rewrites.
 * Returns its length, or -1 when `red` does not fit `packet` or `out` is too small.
 */
export function writeRedPrimaryPacket(packet: Uint8Array, headerLength: number, red: RedPayload, out: Uint8Array): number {
  const primary = red.blockCount - 1;
  if (primary < 0) return -1;
  return writeBlockPacket(packet, headerLength, red.blockOffsets[primary]!, red.blockLengthsBytes[primary]!, out);
}

/**
 * Parses the RED payload of an RTP packet (payload bounds from `parseRtpHeader`: RTP padding excluded) into the
 * reused `red` and writes the plain Opus packet (header + primary block) into `out`. Returns its length or -1.
 * `out` may be `packet` itself: the primary only moves towards the front, so the unwrap can be done in place.
 */
export function unwrapRedPacket(
  packet: Uint8Array,
  payloadOffset: number,
  payloadLength: number,
  red: RedPayload,
  out: Uint8Array,
): number {
  if (!parseRedPayload(packet, payloadOffset, payloadLength, red)) return -1;
  return writeRedPrimaryPacket(packet, payloadOffset, red, out);
}

/** Which redundant blocks of a RED packet carry frames lost upstream, oldest first. Reused across calls. */
export interface RedRecovery {
  count: number;
  /** Index into the RedPayload's blocks. */
  readonly blockIndexes: Uint8Array;
  /** RTP timestamp of the frame: packet timestamp - block offset (mod 2^32). */
  readonly timestamps: Uint32Array;
  /** How many packets before the RED packet this frame was sent in (1 = the one right before). */
  readonly sequenceDistances: Uint8Array;
}

export function createRedRecovery(): RedRecovery {
  return {
    count: 0,
    blockIndexes: new Uint8Array(RED_MAX_BLOCKS),
    timestamps: new Uint32Array(RED_MAX_BLOCKS),
    sequenceDistances: new Uint8Array(RED_MAX_BLOCKS),
  };
}

/**
 * After a gap of `missedPackets` packets right before this RED packet, finds the redundant blocks that carry
 * the missing frames; returns how many (also `out.count`). The k-th block from the end (k = 1 newest) is taken
 * to be the frame of the packet k before this one (one frame per packet, as libwebrtc sends), so it is used
 * only when k <= missedPackets, its timestamp is after `previousTimestamp` (the newest timestamp already
 * forwarded) and before the primary, it is not empty and has the primary's payload type.
 */
export function findRecoverableBlocks(
  red: RedPayload,
  packetTimestamp: number,
  previousTimestamp: number,
  missedPackets: number,
  out: RedRecovery,
): number {
  out.count = 0;
  const primary = red.blockCount - 1;
  if (!(missedPackets >= 1) || primary < 1) return 0;
  const primaryPayloadType = red.payloadTypes[primary]!;
  let newerOffset = 0;
  let count = 0;
  for (let i = primary - 1; i >= 0; i--) {
    const distance = primary - i;
    if (distance > missedPackets) break;
    const offsetTicks = red.timestampOffsetsTicks[i]!;
    // Offsets must grow going back in time; otherwise the blocks do not line up with packets.
    if (offsetTicks <= newerOffset) break;
    newerOffset = offsetTicks;
    const timestamp = (packetTimestamp - offsetTicks) >>> 0;
    const sincePrevious = (timestamp - previousTimestamp) >>> 0;
    if (sincePrevious === 0 || sincePrevious >= 0x80000000) break; // already forwarded; older blocks too
    if (red.blockLengthsBytes[i] === 0 || red.payloadTypes[i] !== primaryPayloadType) continue;
    out.blockIndexes[count] = i;
    out.timestamps[count] = timestamp;
    out.sequenceDistances[count] = distance;
    count++;
  }
  // Collected newest first; hand them back oldest first, the order to send them in.
  for (let a = 0, b = count - 1; a < b; a++, b--) {
    const index = out.blockIndexes[a]!;
    out.blockIndexes[a] = out.blockIndexes[b]!;
    out.blockIndexes[b] = index;
    const timestamp = out.timestamps[a]!;
    out.timestamps[a] = out.timestamps[b]!;
    out.timestamps[b] = timestamp;
    const distance = out.sequenceDistances[a]!;
    out.sequenceDistances[a] = out.sequenceDistances[b]!;
    out.sequenceDistances[b] = distance;
  }
  out.count = count;
  return count;
}

/**
 * Writes block `blockIndex` of `red` (parsed from `packet`) as its own plain Opus RTP packet into `out`: the
 * header of `packet` with the given sequence number and timestamp, padding and marker bits cleared (a recovered
 * frame's marker is unknown, RFC 2198 §4). Returns its length, or -1.
 */
export function writeRedBlockPacket(
  packet: Uint8Array,
  headerLength: number,
  red: RedPayload,
  blockIndex: number,
  sequenceNumber: number,
  timestamp: number,
  out: Uint8Array,
): number {
  if (!(blockIndex >= 0 && blockIndex < red.blockCount)) return -1;
  const written = writeBlockPacket(packet, headerLength, red.blockOffsets[blockIndex]!, red.blockLengthsBytes[blockIndex]!, out);
  if (written < 0) return -1;
  out[1] = out[1]! & ~RTP_MARKER_BIT;
  writeU16(out, 2, sequenceNumber & 0xffff);
  writeU32(out, 4, timestamp >>> 0);
  return written;
}

/**
 * Sets the payload type in every block header of the RED payload at `payloadOffset` of `buf` (parsed into `red`),
 * e.g. when a subscriber negotiated Opus under another number than the publisher. In place; false if `red` does
 * not fit `buf`.
 */
export function writeRedBlockPayloadTypes(buf: Uint8Array, payloadOffset: number, red: RedPayload, payloadType: number): boolean {
  const count = red.blockCount;
  const headersEnd = payloadOffset + (count - 1) * REDUNDANT_HEADER_BYTES + PRIMARY_HEADER_BYTES;
  if (!(count >= 1 && payloadOffset >= 0 && headersEnd <= buf.length)) return false;
  const pt = payloadType & 0x7f;
  for (let i = 0; i < count; i++) {
    const at = payloadOffset + i * REDUNDANT_HEADER_BYTES;
    buf[at] = (buf[at]! & F_BIT) | pt;
  }
  return true;
}

function writeBlockPacket(packet: Uint8Array, headerLength: number, blockOffset: number, blockLength: number, out: Uint8Array): number {
  const total = headerLength + blockLength;
  if (!(headerLength >= RTP_FIXED_HEADER_BYTES && blockOffset >= headerLength && blockOffset + blockLength <= packet.length)) {
    return -1;
  }
  if (total > out.length) return -1;
  copyBytes(packet, 0, headerLength, out, 0);
  out[0] = out[0]! & ~RTP_PADDING_BIT;
  copyBytes(packet, blockOffset, blockOffset + blockLength, out, headerLength);
  return total;
}

/** Byte loop instead of `set(subarray(...))`: audio frames are short and this allocates no view. */
function copyBytes(src: Uint8Array, start: number, end: number, dst: Uint8Array, at: number): void {
  for (let i = start; i < end; i++) dst[at + i - start] = src[i]!;
}
