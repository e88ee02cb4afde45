// Per-track RED encoder (RFC 2198 §3, https://www.rfc-editor.org/rfc/rfc2198#section-3): wraps plain Opus for
// subscribers that accepted `red/48000/2`, repeating the previous frames (LiveKit's `audio.active_red_encoding`).
import { readU16, readU32 } from '@atrium/webrtc/rtp/bytes.js';
import { RED_MAX_BLOCKS, RED_MAX_BLOCK_LENGTH_BYTES, RED_MAX_TIMESTAMP_OFFSET_TICKS } from './red.js';

const RTP_FIXED_HEADER_BYTES = 12;
const REDUNDANT_HEADER_BYTES = 4;
const PRIMARY_HEADER_BYTES = 1;
const F_BIT = 0x80;
const RTP_PADDING_BIT = 0x20;

export interface RedEncoderOptions {
  /** Payload type written into every block header: the Opus payload type of the subscribers. */
  opusPayloadType: number;
  /** Earlier frames repeated in each packet, 0..RED_MAX_BLOCKS-1 (default 2, as LiveKit; libwebrtc sends 1). */
  redundancy?: number;
  /** Largest Opus payload kept for repeating, 1..RED_MAX_BLOCK_LENGTH_BYTES (default 1000). */
  maxPayloadBytes?: number;
  /** Largest packet (RTP header + RED payload) redundancy may grow a packet to (default 1200, libwebrtc's). */
  mtuBytes?: number;
}

const DEFAULT_REDUNDANCY = 2;
const DEFAULT_MAX_PAYLOAD_BYTES = 1000;
const DEFAULT_MTU_BYTES = 1200;

/**
 * Per-track RED encoder for subscribers that accepted RED while the publisher sends plain Opus (LiveKit's
 * `audio.active_red_encoding`). Keeps copies of the last `redundancy` payloads in one preallocated slab and
 * repeats those of the immediately preceding packets (consecutive sequence numbers, timestamp offset
 * 1..2^14-1, within the MTU); anything else is left out, so a packet may carry fewer blocks, or none.
 */
export class RedEncoder {
  readonly opusPayloadType: number;
  readonly redundancy: number;
  readonly maxPayloadBytes: number;
  readonly mtuBytes: number;
  private readonly slab: Uint8Array;
  private readonly slotLengths: Uint16Array;
  private readonly slotTimestamps: Uint32Array;
  private readonly slotSequenceNumbers: Uint16Array;
  private newestSlot = 0;
  private storedCount = 0;

  constructor(opts: RedEncoderOptions) {
    const redundancy = opts.redundancy ?? DEFAULT_REDUNDANCY;
    const maxPayloadBytes = opts.maxPayloadBytes ?? DEFAULT_MAX_PAYLOAD_BYTES;
    if (!(Number.isInteger(opts.opusPayloadType) && opts.opusPayloadType >= 0 && opts.opusPayloadType <= 127)) {
      throw new RangeError('RedEncoder opusPayloadType must be 0..127');
    }
    if (!(Number.isInteger(redundancy) && redundancy >= 0 && redundancy < RED_MAX_BLOCKS)) {
      throw new RangeError(`RedEncoder redundancy must be 0..${RED_MAX_BLOCKS - 1}`);
    }
    if (!(Number.isInteger(maxPayloadBytes) && maxPayloadBytes >= 1 && maxPayloadBytes <= RED_MAX_BLOCK_LENGTH_BYTES)) {
      throw new RangeError(`RedEncoder maxPayloadBytes must be 1..${RED_MAX_BLOCK_LENGTH_BYTES}`);
    }
    this.opusPayloadType = opts.opusPayloadType;
    this.redundancy = redundancy;
    this.maxPayloadBytes = maxPayloadBytes;
    this.mtuBytes = opts.mtuBytes ?? DEFAULT_MTU_BYTES;
    this.slab = new Uint8Array(redundancy * maxPayloadBytes);
    this.slotLengths = new Uint16Array(redundancy);
    this.slotTimestamps = new Uint32Array(redundancy);
    this.slotSequenceNumbers = new Uint16Array(redundancy);
  }

  /** Forgets the remembered payloads (e.g. when the publisher's stream restarts). */
  reset(): void {
    this.storedCount = 0;
  }

  /**
   * Writes `header + RED block headers + redundant payloads + primary` for the plain Opus RTP `packet` (payload
   * `[payloadOffset, payloadOffset + payloadLength)`, RTP padding excluded; header copied with the padding bit
   * cleared, PT left for the caller to set to RED) into `out`, and remembers the payload for the next packets.
   * Returns the length; -1 on bad bounds or when even the primary alone does not fit `out`. A primary too large
   * for the MTU is still sent, without redundancy. `out` must not overlap `packet` (the packet grows).
   */
  encode(packet: Uint8Array, payloadOffset: number, payloadLength: number, out: Uint8Array): number {
    if (!(payloadOffset >= RTP_FIXED_HEADER_BYTES && payloadLength >= 0 && payloadOffset + payloadLength <= packet.length)) {
      return -1;
    }
    const sequenceNumber = readU16(packet, 2);
    const timestamp = readU32(packet, 4);
    const capacity = this.redundancy;
    const limit = this.mtuBytes < out.length ? this.mtuBytes : out.length;
    let total = payloadOffset + PRIMARY_HEADER_BYTES + payloadLength;
    if (total > out.length) return -1;

    // Newest first: repeat the previous packet's frame, then the one before, until one does not qualify.
    let blocks = 0;
    while (blocks < this.storedCount) {
      const slot = (this.newestSlot - blocks + capacity) % capacity;
      const expectedSequence = (sequenceNumber - blocks - 1) & 0xffff;
      const offsetTicks = (timestamp - this.slotTimestamps[slot]!) >>> 0;
      const lengthBytes = this.slotLengths[slot]!;
      if (this.slotSequenceNumbers[slot] !== expectedSequence) break;
      if (offsetTicks === 0 || offsetTicks > RED_MAX_TIMESTAMP_OFFSET_TICKS) break;
      if (total + REDUNDANT_HEADER_BYTES + lengthBytes > limit) break;
      total += REDUNDANT_HEADER_BYTES + lengthBytes;
      blocks++;
    }

    copyBytes(packet, 0, payloadOffset, out, 0);
    out[0] = out[0]! & ~RTP_PADDING_BIT;
    let headerAt = payloadOffset;
    let dataAt = payloadOffset + blocks * REDUNDANT_HEADER_BYTES + PRIMARY_HEADER_BYTES;
    for (let k = blocks - 1; k >= 0; k--) {
      const slot = (this.newestSlot - k + capacity) % capacity;
      const offsetTicks = (timestamp - this.slotTimestamps[slot]!) >>> 0;
      const lengthBytes = this.slotLengths[slot]!;
      out[headerAt] = F_BIT | this.opusPayloadType; // F=1, block PT
      out[headerAt + 1] = offsetTicks >>> 6; // timestamp offset, high 8 of 14 bits
      out[headerAt + 2] = ((offsetTicks & 0x3f) << 2) | (lengthBytes >>> 8); // offset low 6 bits, length high 2
      out[headerAt + 3] = lengthBytes & 0xff; // length low 8 bits
      headerAt += REDUNDANT_HEADER_BYTES;
      const from = slot * this.maxPayloadBytes;
      copyBytes(this.slab, from, from + lengthBytes, out, dataAt);
      dataAt += lengthBytes;
    }
    out[headerAt] = this.opusPayloadType; // F=0: the primary's header
    copyBytes(packet, payloadOffset, payloadOffset + payloadLength, out, dataAt);

    this.remember(packet, payloadOffset, payloadLength, sequenceNumber, timestamp);
    return total;
  }

  private remember(packet: Uint8Array, payloadOffset: number, payloadLength: number, sequenceNumber: number, timestamp: number): void {
    const capacity = this.redundancy;
    if (capacity === 0 || payloadLength === 0 || payloadLength > this.maxPayloadBytes) return;
    if (this.storedCount > 0) {
      const ahead = (sequenceNumber - this.slotSequenceNumbers[this.newestSlot]!) & 0xffff;
      if (ahead === 0 || ahead >= 0x8000) return; // duplicate or reordered: keep the newer history
    }
    const slot = this.storedCount === 0 ? 0 : (this.newestSlot + 1) % capacity;
    copyBytes(packet, payloadOffset, payloadOffset + payloadLength, this.slab, slot * this.maxPayloadBytes);
    this.slotLengths[slot] = payloadLength;
    this.slotTimestamps[slot] = timestamp;
    this.slotSequenceNumbers[slot] = sequenceNumber;
    this.newestSlot = slot;
    if (this.storedCount < capacity) this.storedCount++;
  }
}

/** Byte loop instead of `set(subarray(...))`: audio frames are short and this allocates no view. */
function copyBytes(src: Uint8Array, start: number, end: number, dst: Uint8Array, at: number): void {
  for (let i = start; i < end; i++) dst[at + i - start] = src[i]!;
}
