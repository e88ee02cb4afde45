// The one place where RTP sequence numbers and timestamps are unwrapped (architecture.md §2).
// Serial number arithmetic as in RFC 3550 §A.1 / RFC 1982.

/** Signed 16-bit distance a - b, in [-32768, 32767]. */
export function seqDelta(a: number, b: number): number {
  return ((a - b + 32768) & 0xffff) - 32768;
}

/** True if `a` comes after `b` in 16-bit sequence space (a distance of exactly 32768 is not newer). */
export function isSeqNewer(a: number, b: number): boolean {
  return seqDelta(a, b) > 0;
}

/** Signed 32-bit distance a - b for RTP timestamps. */
export function timestampDelta(a: number, b: number): number {
  return (a - b) | 0;
}

/**
 * Turns 16-bit sequence numbers into extended (unbounded) ones, across wraps both ways.
 * The first value maps to itself; each later value is placed within ±32768 of the highest seen,
 * so packets late from before a wrap get their pre-wrap extended value (can go below 0 at the start).
 */
export class SeqUnwrapper {
  private highest = 0;
  private started = false;

  unwrap(seq16: number): number {
    const seq = seq16 & 0xffff;
    if (!this.started) {
      this.started = true;
      this.highest = seq;
      return seq;
    }
    const ext = this.highest + seqDelta(seq, this.highest % 65536);
    if (ext > this.highest) this.highest = ext;
    return ext;
  }

  /** Highest extended sequence number seen, or -1 before the first packet. */
  get highestExtended(): number {
    return this.started ? this.highest : -1;
  }

  reset(): void {
    this.started = false;
    this.highest = 0;
  }
}

/** Like SeqUnwrapper, for 32-bit RTP timestamps (placed within ±2^31 of the highest seen). */
export class TimestampUnwrapper {
  private highest = 0;
  private started = false;

  unwrap(ts32: number): number {
    const ts = ts32 >>> 0;
    if (!this.started) {
      this.started = true;
      this.highest = ts;
      return ts;
    }
    const ext = this.highest + timestampDelta(ts, this.highest % 4294967296);
    if (ext > this.highest) this.highest = ext;
    return ext;
  }

  get highestExtended(): number {
    return this.started ? this.highest : -1;
  }

  reset(): void {
    this.started = false;
    this.highest = 0;
  }
}
