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

/** Signed 24-bit distance a - b, for abs-send-time values (6.18 fixed-point seconds, wrapping every 64 s). */
export function absSendTimeDelta(a: number, b: number): number {
  return ((a - b + 0x800000) & 0xffffff) - 0x800000;
}

/**
 * Turns wrapping counters (16-bit sequence numbers, 24-bit abs-send-time, 32-bit timestamps) into extended (unbounded) values,
 * across wraps both ways. The first value maps to itself; each later value is placed within half the range
 * of the highest seen, so packets late from before a wrap get their pre-wrap value (can go below 0 at first).
 */
class Unwrapper {
  private readonly delta: (a: number, b: number) => number;
  private readonly modulus: number;
  /** Bits kept of an input value (0: all 32, as an unsigned value). */
  private readonly mask: number;
  private highest = 0;
  private started = false;

  constructor(bits: 16 | 24 | 32, delta: (a: number, b: number) => number) {
    this.modulus = 2 ** bits;
    this.mask = bits === 32 ? 0 : this.modulus - 1;
    this.delta = delta;
  }

  unwrap(value: number): number {
    const v = this.mask !== 0 ? value & this.mask : value >>> 0;
    if (!this.started) {
      this.started = true;
      this.highest = v;
      return v;
    }
    const ext = this.highest + this.delta(v, this.highest % this.modulus);
    if (ext > this.highest) this.highest = ext;
    return ext;
  }

  /** Highest extended value seen, or -1 before the first. */
  get highestExtended(): number {
    return this.started ? this.highest : -1;
  }

  reset(): void {
    this.started = false;
    this.highest = 0;
  }
}

/** Extended RTP sequence numbers (16-bit, RFC 3550 §A.1). */
export class SeqUnwrapper extends Unwrapper {
  constructor() {
    super(16, seqDelta);
  }
}

/** Extended RTP timestamps (32-bit, placed within ±2^31 of the highest seen). */
export class TimestampUnwrapper extends Unwrapper {
  constructor() {
    super(32, timestampDelta);
  }
}

/**
 * Extended abs-send-time values (24-bit, 2^18 units a second, so a wrap every 64 s; placed within ±32 s of the
 * highest seen). http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time
 */
export class AbsSendTimeUnwrapper extends Unwrapper {
  constructor() {
    super(24, absSendTimeDelta);
  }
}

/** Units of abs-send-time per second (6.18 fixed point). */
export const ABS_SEND_TIME_UNITS_PER_S = 1 << 18;
