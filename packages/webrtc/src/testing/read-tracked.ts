// Test support: a view of a byte array that records the lowest and highest index read through it, to prove a parser
// or writer stays inside the window it was given (negative indexes count too).

export interface ReadTracked {
  /** Read through this view. */
  buf: Uint8Array;
  /** Lowest index read (Infinity before any read). */
  lo: number;
  /** Highest index read (-Infinity before any read). */
  hi: number;
}

export function readTracked(bytes: Uint8Array): ReadTracked {
  const track: ReadTracked = { buf: bytes, lo: Infinity, hi: -Infinity };
  track.buf = new Proxy(bytes, {
    get(target, prop) {
      if (typeof prop === 'string' && /^-?\d+$/.test(prop)) {
        const i = Number(prop);
        track.lo = Math.min(track.lo, i);
        track.hi = Math.max(track.hi, i);
      }
      return Reflect.get(target, prop) as unknown;
    },
  });
  return track;
}

/** Every index read lay in [start, end) (true when nothing was read). */
export function readOnlyInside(track: ReadTracked, start: number, end: number): boolean {
  return track.lo >= start && track.hi < end;
}
