// Builds one transport-wide CC feedback packet (RTPFB FMT 15) incrementally, status by status, knowing its exact
// size at every step, so a generator can stop at a size limit or an oversized delta and start the next packet.
// https://datatracker.ietf.org/doc/html/draft-holmer-rmcat-transport-wide-cc-extensions-01#section-3.1
import { writeU16, writeU24, writeU32 } from './bytes.js';
import { allocRtcp } from './rtcp-common.js';
import { RtcpPacketType, RtpfbFmt } from './rtcp-types.js';
import { TwccSymbol } from './rtcp-twcc.js';

// header(4) | sender SSRC | media SSRC | base seq(2) | status count(2) | reference time(3) | fb pkt count(1)
const FIXED_LENGTH = 20;
const MAX_RUN_LENGTH = 0x1fff;
const ONE_BIT_CAPACITY = 14;
const TWO_BIT_CAPACITY = 7;
const MAX_STATUS_COUNT = 0xffff;

/**
 * One feedback packet under construction. Statuses go into an open ("pending") chunk that is closed as a
 * run-length chunk while all its symbols are equal, else as a one-bit vector of 14 (no large delta) or a two-bit
 * vector of 7; the pending chunk always encodes to exactly one chunk, so the size is known after each add.
 * Reuse one writer: `start` clears it; the scratch arrays are sized once from `maxSizeBytes`.
 */
export class TwccFeedbackWriter {
  readonly maxSizeBytes: number;
  private readonly chunks: Uint16Array;
  private readonly deltas: Uint8Array;
  private chunkCount = 0;
  private deltaBytes = 0;
  private statusCount = 0;
  private receivedCount = 0;
  /** The open chunk: its first up to 14 symbols (a run keeps only its first 14; all are equal then). */
  private readonly pending = new Uint8Array(ONE_BIT_CAPACITY);
  private pendingSize = 0;
  private isPendingAllSame = true;
  private hasPendingLarge = false;
  // Saved state of the last committed add, to undo an add that does not fit.
  private readonly savedPending = new Uint8Array(ONE_BIT_CAPACITY);
  private savedChunkCount = 0;
  private savedPendingSize = 0;
  private wasPendingAllSame = true;
  private hadPendingLarge = false;
  private senderSsrc = 0;
  private mediaSsrc = 0;
  private baseSeq = 0;
  private referenceTime64ms = 0;
  private fbPktCount = 0;

  constructor(opts: { maxSizeBytes?: number } = {}) {
    this.maxSizeBytes = Math.max(FIXED_LENGTH + 4, opts.maxSizeBytes ?? 1200);
    // An add that will be undone may emit a few chunks past the limit first (typed arrays ignore writes past the end).
    this.chunks = new Uint16Array(Math.ceil(this.maxSizeBytes / 2) + 16);
    this.deltas = new Uint8Array(this.maxSizeBytes);
  }

  /** Begins a new packet. `referenceTime64ms` is taken modulo 2^24, `fbPktCount` modulo 256, `baseSeq` modulo 2^16. */
  start(opts: { senderSsrc: number; mediaSsrc: number; baseSeq: number; referenceTime64ms: number; fbPktCount: number }): void {
    this.senderSsrc = opts.senderSsrc >>> 0;
    this.mediaSsrc = opts.mediaSsrc >>> 0;
    this.baseSeq = opts.baseSeq & 0xffff;
    this.referenceTime64ms = ((opts.referenceTime64ms % 0x1000000) + 0x1000000) % 0x1000000;
    this.fbPktCount = opts.fbPktCount & 0xff;
    this.chunkCount = 0;
    this.deltaBytes = 0;
    this.statusCount = 0;
    this.receivedCount = 0;
    this.pendingSize = 0;
    this.isPendingAllSame = true;
    this.hasPendingLarge = false;
  }

  get packetStatusCount(): number {
    return this.statusCount;
  }

  /** Received packets added since `start`. */
  get packetsReceived(): number {
    return this.receivedCount;
  }

  /** Size of the packet as `finish` would write it now, padding included. */
  get sizeBytes(): number {
    return this.sizeWith(0);
  }

  /**
   * Adds `missing` not-received statuses, then one received packet `deltaTicks` (units of 250 µs, signed) after
   * the previous received one (or the reference time). Returns false and leaves the packet unchanged when the delta
   * does not fit 16 bits, or the packet would pass `maxSizeBytes` or 65535 statuses: finish it and start another.
   */
  addReceived(missing: number, deltaTicks: number): boolean {
    if (deltaTicks < -0x8000 || deltaTicks > 0x7fff || !Number.isInteger(deltaTicks)) return false;
    if (this.statusCount + missing + 1 > MAX_STATUS_COUNT) return false;
    const symbol = deltaTicks >= 0 && deltaTicks <= 0xff ? TwccSymbol.SMALL_DELTA : TwccSymbol.LARGE_DELTA;
    this.save();
    if (missing > 0) this.addSymbols(TwccSymbol.NOT_RECEIVED, missing);
    this.addSymbols(symbol, 1);
    if (this.sizeWith(symbol) > this.maxSizeBytes) {
      this.restore();
      return false;
    }
    if (symbol === TwccSymbol.SMALL_DELTA) {
      this.deltas[this.deltaBytes++] = deltaTicks;
    } else {
      this.deltas[this.deltaBytes++] = (deltaTicks >> 8) & 0xff;
      this.deltas[this.deltaBytes++] = deltaTicks & 0xff;
    }
    this.statusCount += missing + 1;
    this.receivedCount++;
    return true;
  }

  /** Serializes the packet (one allocation, padded to 32 bits with the P bit as libwebrtc does). Needs one add. */
  finish(): Buffer {
    if (this.statusCount === 0) throw new RangeError('TWCC feedback needs at least one packet status');
    const chunkCount = this.chunkCount + (this.pendingSize > 0 ? 1 : 0);
    const buf = allocRtcp(RtpfbFmt.TWCC, RtcpPacketType.RTPFB, FIXED_LENGTH - 4 + 2 * chunkCount + this.deltaBytes, true);
    writeU32(buf, 4, this.senderSsrc);
    writeU32(buf, 8, this.mediaSsrc);
    writeU16(buf, 12, this.baseSeq);
    writeU16(buf, 14, this.statusCount);
    writeU24(buf, 16, this.referenceTime64ms);
    buf[19] = this.fbPktCount;
    let o = FIXED_LENGTH;
    for (let i = 0; i < this.chunkCount; i++, o += 2) writeU16(buf, o, this.chunks[i]!);
    if (this.pendingSize > 0) {
      writeU16(buf, o, this.encodePending());
      o += 2;
    }
    buf.set(this.deltas.subarray(0, this.deltaBytes), o);
    return buf;
  }

  /** Size with the pending chunk closed, plus the delta bytes of a symbol about to be added. */
  private sizeWith(extraDeltaBytes: number): number {
    const chunkCount = this.chunkCount + (this.pendingSize > 0 ? 1 : 0);
    return (FIXED_LENGTH + 2 * chunkCount + this.deltaBytes + extraDeltaBytes + 3) & ~3;
  }

  private addSymbols(symbol: number, count: number): void {
    let left = count;
    while (left > 0) {
      if (this.isPendingAllSame && (this.pendingSize === 0 || this.pending[0] === symbol)) {
        // Extend a run of equal symbols in one step.
        const n = Math.min(left, MAX_RUN_LENGTH - this.pendingSize);
        for (let i = this.pendingSize; i < ONE_BIT_CAPACITY && i < this.pendingSize + n; i++) this.pending[i] = symbol;
        this.pendingSize += n;
        if (symbol === TwccSymbol.LARGE_DELTA) this.hasPendingLarge = true;
        left -= n;
        if (left > 0) this.closePending();
        continue;
      }
      if (this.canAdd(symbol)) {
        this.pending[this.pendingSize++] = symbol;
        if (symbol !== this.pending[0]) this.isPendingAllSame = false;
        if (symbol === TwccSymbol.LARGE_DELTA) this.hasPendingLarge = true;
        left--;
      } else {
        this.closePending();
      }
    }
  }

  /** Whether `symbol` fits in the open (mixed) chunk. */
  private canAdd(symbol: number): boolean {
    if (this.pendingSize < TWO_BIT_CAPACITY) return true;
    return this.pendingSize < ONE_BIT_CAPACITY && !this.hasPendingLarge && symbol !== TwccSymbol.LARGE_DELTA;
  }

  /** Emits a chunk from the open one: all of it, or for a two-bit vector its first 7 symbols (the rest stay open). */
  private closePending(): void {
    if (this.isPendingAllSame) {
      this.chunks[this.chunkCount++] = (this.pending[0]! << 13) | this.pendingSize;
      this.pendingSize = 0;
      this.hasPendingLarge = false;
      return;
    }
    if (this.pendingSize === ONE_BIT_CAPACITY && !this.hasPendingLarge) {
      this.chunks[this.chunkCount++] = this.encodePending();
      this.pendingSize = 0;
      this.isPendingAllSame = true;
      return;
    }
    let chunk = 0xc000;
    for (let k = 0; k < TWO_BIT_CAPACITY; k++) chunk |= this.pending[k]! << (2 * (TWO_BIT_CAPACITY - 1 - k));
    this.chunks[this.chunkCount++] = chunk;
    const rest = this.pendingSize - TWO_BIT_CAPACITY;
    this.pending.copyWithin(0, TWO_BIT_CAPACITY, this.pendingSize);
    this.pendingSize = rest;
    this.isPendingAllSame = true;
    this.hasPendingLarge = false;
    for (let k = 0; k < rest; k++) {
      if (this.pending[k] !== this.pending[0]) this.isPendingAllSame = false;
      if (this.pending[k] === TwccSymbol.LARGE_DELTA) this.hasPendingLarge = true;
    }
  }

  /** The open chunk as the last chunk of the packet (unused vector slots stay 0; the status count ends them). */
  private encodePending(): number {
    const n = this.pendingSize;
    if (this.isPendingAllSame) return (this.pending[0]! << 13) | n;
    let chunk: number;
    if (n <= TWO_BIT_CAPACITY) {
      chunk = 0xc000;
      for (let k = 0; k < n; k++) chunk |= this.pending[k]! << (2 * (TWO_BIT_CAPACITY - 1 - k));
    } else {
      chunk = 0x8000;
      for (let k = 0; k < n; k++) chunk |= this.pending[k]! << (ONE_BIT_CAPACITY - 1 - k);
    }
    return chunk;
  }

  private save(): void {
    this.savedChunkCount = this.chunkCount;
    this.savedPendingSize = this.pendingSize;
    this.wasPendingAllSame = this.isPendingAllSame;
    this.hadPendingLarge = this.hasPendingLarge;
    this.savedPending.set(this.pending);
  }

  private restore(): void {
    this.chunkCount = this.savedChunkCount;
    this.pendingSize = this.savedPendingSize;
    this.isPendingAllSame = this.wasPendingAllSame;
    this.hasPendingLarge = this.hadPendingLarge;
    this.pending.set(this.savedPending);
  }
}
