// Per-stream ring buffer of the last N RTP packets, keyed by extended sequence number, for
// retransmission on NACK. Packets are copied into one preallocated slab: no allocation per packet.

export interface PacketCacheOptions {
  /** Number of packets kept (e.g. 512 for video, 64 for audio). */
  capacity: number;
  /** Largest packet stored; larger packets are not cached (counted in `oversizeCount`). */
  maxPacketBytes?: number;
}

const DEFAULT_MAX_PACKET_BYTES = 1500;

export class PacketCache {
  readonly capacity: number;
  readonly maxPacketBytes: number;
  /** Packets not cached because they were larger than maxPacketBytes. */
  oversizeCount = 0;
  private readonly slab: Buffer;
  private readonly slotSeq: Float64Array;
  private readonly slotLength: Uint16Array;

  constructor(opts: PacketCacheOptions) {
    if (!(opts.capacity >= 1)) throw new RangeError('PacketCache capacity must be >= 1');
    this.capacity = Math.floor(opts.capacity);
    this.maxPacketBytes = opts.maxPacketBytes ?? DEFAULT_MAX_PACKET_BYTES;
    this.slab = Buffer.alloc(this.capacity * this.maxPacketBytes);
    this.slotSeq = new Float64Array(this.capacity).fill(-Infinity);
    this.slotLength = new Uint16Array(this.capacity);
  }

  private slotOf(extSeq: number): number {
    const s = extSeq % this.capacity;
    return s < 0 ? s + this.capacity : s;
  }

  /**
   * Copies `packet` in under `extSeq`. A packet older than the one already in its slot (more than
   * `capacity` behind) is ignored; returns whether it was stored.
   */
  put(extSeq: number, packet: Uint8Array): boolean {
    const len = packet.length;
    if (len > this.maxPacketBytes) {
      this.oversizeCount++;
      return false;
    }
    const slot = this.slotOf(extSeq);
    if (this.slotSeq[slot]! > extSeq) return false;
    this.slab.set(packet, slot * this.maxPacketBytes);
    this.slotSeq[slot] = extSeq;
    this.slotLength[slot] = len;
    return true;
  }

  /** The cached packet (a view into the slab, valid until the slot is overwritten), or undefined. */
  get(extSeq: number): Buffer | undefined {
    const slot = this.slotOf(extSeq);
    if (this.slotSeq[slot] !== extSeq) return undefined;
    const start = slot * this.maxPacketBytes;
    return this.slab.subarray(start, start + this.slotLength[slot]!);
  }

  has(extSeq: number): boolean {
    return this.slotSeq[this.slotOf(extSeq)] === extSeq;
  }

  clear(): void {
    this.slotSeq.fill(-Infinity);
  }
}
