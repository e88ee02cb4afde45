// Upstream loss recovery: tracks missing sequence numbers of one received stream and says which to
// NACK now (after a short reordering delay, retried a few times, given up after about a second).
// RFC 4585 §6.2.1 (Generic NACK) https://www.rfc-editor.org/rfc/rfc4585#section-6.2.1

export interface NackGeneratorOptions {
  /** Wait this long after a gap appears before the first NACK (reordering tolerance). Default 15. */
  initialDelayMs?: number;
  /** Minimum time between two NACKs of one packet when no RTT is known. Default 100. */
  retryIntervalMs?: number;
  /** NACKs per missing packet. Default 5. */
  maxRetries?: number;
  /** Forget a missing packet this long after the gap appeared. Default 1000. */
  giveUpMs?: number;
  /** Missing packets tracked at once; a larger gap resets the list. Default 256. */
  capacity?: number;
}

const DEFAULTS = { initialDelayMs: 15, retryIntervalMs: 100, maxRetries: 5, giveUpMs: 1000, capacity: 256 };

export class NackGenerator {
  private readonly initialDelayMs: number;
  private readonly retryIntervalMs: number;
  private readonly maxRetries: number;
  private readonly giveUpMs: number;
  private readonly capacity: number;
  private readonly seqs: Float64Array; // extended seq, -1 = recovered
  private readonly firstMs: Float64Array;
  private readonly lastSentMs: Float64Array;
  private readonly retries: Uint8Array;
  private count = 0;
  private highest = -1;
  private started = false;
  /** Packets that arrived after being reported missing. */
  recoveredCount = 0;
  /** Packets given up on (never arrived within giveUpMs or maxRetries). */
  givenUpCount = 0;

  constructor(opts: NackGeneratorOptions = {}) {
    this.initialDelayMs = opts.initialDelayMs ?? DEFAULTS.initialDelayMs;
    this.retryIntervalMs = opts.retryIntervalMs ?? DEFAULTS.retryIntervalMs;
    this.maxRetries = opts.maxRetries ?? DEFAULTS.maxRetries;
    this.giveUpMs = opts.giveUpMs ?? DEFAULTS.giveUpMs;
    this.capacity = opts.capacity ?? DEFAULTS.capacity;
    this.seqs = new Float64Array(this.capacity);
    this.firstMs = new Float64Array(this.capacity);
    this.lastSentMs = new Float64Array(this.capacity);
    this.retries = new Uint8Array(this.capacity);
  }

  /** Missing packets currently tracked. */
  get missingCount(): number {
    let n = 0;
    for (let i = 0; i < this.count; i++) if (this.seqs[i]! >= 0) n++;
    return n;
  }

  /** True while any missing packet may still be tracked (recovered ones leave at the next collect). */
  get hasMissing(): boolean {
    return this.count > 0;
  }

  /** Per received packet (hot path, no allocation). */
  push(extSeq: number, nowMs: number): void {
    if (!this.started) {
      this.started = true;
      this.highest = extSeq;
      return;
    }
    if (extSeq > this.highest) {
      const gap = extSeq - this.highest - 1;
      if (gap > this.capacity) {
        this.count = 0; // a jump this large is a stream restart, not loss
      } else {
        for (let s = this.highest + 1; s < extSeq; s++) this.add(s, nowMs);
      }
      this.highest = extSeq;
      return;
    }
    for (let i = 0; i < this.count; i++) {
      if (this.seqs[i] === extSeq) {
        this.seqs[i] = -1;
        this.recoveredCount++;
        return;
      }
    }
  }

  private add(extSeq: number, nowMs: number): void {
    if (this.count === this.capacity) {
      this.compact();
      if (this.count === this.capacity) this.removeAt(0);
    }
    const i = this.count++;
    this.seqs[i] = extSeq;
    this.firstMs[i] = nowMs;
    this.lastSentMs[i] = -Infinity;
    this.retries[i] = 0;
  }

  private removeAt(index: number): void {
    this.seqs.copyWithin(index, index + 1, this.count);
    this.firstMs.copyWithin(index, index + 1, this.count);
    this.lastSentMs.copyWithin(index, index + 1, this.count);
    this.retries.copyWithin(index, index + 1, this.count);
    this.count--;
  }

  private compact(): void {
    let w = 0;
    for (let r = 0; r < this.count; r++) {
      if (this.seqs[r]! < 0) continue;
      if (w !== r) {
        this.seqs[w] = this.seqs[r]!;
        this.firstMs[w] = this.firstMs[r]!;
        this.lastSentMs[w] = this.lastSentMs[r]!;
        this.retries[w] = this.retries[r]!;
      }
      w++;
    }
    this.count = w;
  }

  /**
   * Called from a timer: the 16-bit sequence numbers to NACK now (ascending, wrap-aware), or null.
   * With a known `rttMs` the retry interval is the RTT (at least 20 ms) instead of retryIntervalMs.
   */
  collect(nowMs: number, rttMs = 0): number[] | null {
    const interval = rttMs > 0 ? Math.max(20, rttMs) : this.retryIntervalMs;
    let out: number[] | null = null;
    for (let i = 0; i < this.count; i++) {
      const seq = this.seqs[i]!;
      if (seq < 0) continue;
      const age = nowMs - this.firstMs[i]!;
      const sinceSentMs = nowMs - this.lastSentMs[i]!;
      const isExhausted = this.retries[i]! >= this.maxRetries;
      if (age >= this.giveUpMs || (isExhausted && sinceSentMs >= interval)) {
        this.givenUpCount++;
        this.seqs[i] = -1;
        continue;
      }
      if (isExhausted || age < this.initialDelayMs || sinceSentMs < interval) continue;
      this.retries[i] = this.retries[i]! + 1;
      this.lastSentMs[i] = nowMs;
      (out ??= []).push(seq % 65536);
    }
    this.compact();
    return out;
  }

  reset(): void {
    this.count = 0;
    this.started = false;
    this.highest = -1;
  }
}
