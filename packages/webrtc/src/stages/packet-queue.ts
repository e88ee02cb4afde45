// The pacer's packet storage: pooled copies of RTP packets (so a queued packet costs one copy and no allocation once
// the pool is warm) and a growable ring FIFO of them.

/** One queued packet: a copy of the bytes and what the pacer needs to send it later. */
export class QueuedPacket<T> {
  buf: Buffer;
  length = 0;
  /** Monotonic ms when it was queued. */
  enqueuedMs = 0;
  /** Where it goes when it leaves (the pacer's per-stream stage); null while pooled. */
  owner: T | null = null;

  constructor(capacity: number) {
    this.buf = Buffer.allocUnsafe(capacity);
  }

  /** The packet's bytes (a view; valid until the packet goes back to the pool). */
  view(): Buffer {
    return this.buf.subarray(0, this.length);
  }
}

/** Free list of QueuedPackets whose buffers are reused; keeps at most `maxPooled`. */
export class PacketPool<T> {
  private readonly free: QueuedPacket<T>[] = [];
  private readonly bufferBytes: number;
  private readonly maxPooled: number;

  constructor(opts: { bufferBytes?: number; maxPooled?: number } = {}) {
    this.bufferBytes = opts.bufferBytes ?? 1500;
    this.maxPooled = opts.maxPooled ?? 1024;
  }

  /** A packet holding a copy of `src`, queued at `nowMs` for `owner`. */
  take(src: Buffer, nowMs: number, owner: T): QueuedPacket<T> {
    let p = this.free.pop();
    if (p === undefined) p = new QueuedPacket<T>(Math.max(this.bufferBytes, src.length));
    else if (p.buf.length < src.length) p.buf = Buffer.allocUnsafe(src.length);
    src.copy(p.buf, 0, 0, src.length);
    p.length = src.length;
    p.enqueuedMs = nowMs;
    p.owner = owner;
    return p;
  }

  give(p: QueuedPacket<T>): void {
    p.owner = null;
    if (this.free.length < this.maxPooled) this.free.push(p);
  }

  get pooled(): number {
    return this.free.length;
  }
}

/** FIFO ring of queued packets that grows by doubling; tracks its byte count. */
export class PacketFifo<T> {
  private items: (QueuedPacket<T> | undefined)[] = new Array<QueuedPacket<T> | undefined>(64);
  private head = 0;
  size = 0;
  bytes = 0;

  push(p: QueuedPacket<T>): void {
    if (this.size === this.items.length) this.grow();
    this.items[(this.head + this.size) & (this.items.length - 1)] = p;
    this.size++;
    this.bytes += p.length;
  }

  peek(): QueuedPacket<T> | undefined {
    return this.size === 0 ? undefined : this.items[this.head];
  }

  shift(): QueuedPacket<T> | undefined {
    if (this.size === 0) return undefined;
    const p = this.items[this.head]!;
    this.items[this.head] = undefined;
    this.head = (this.head + 1) & (this.items.length - 1);
    this.size--;
    this.bytes -= p.length;
    return p;
  }

  private grow(): void {
    const next = new Array<QueuedPacket<T> | undefined>(this.items.length * 2);
    for (let i = 0; i < this.size; i++) next[i] = this.items[(this.head + i) & (this.items.length - 1)];
    this.items = next;
    this.head = 0;
  }
}
