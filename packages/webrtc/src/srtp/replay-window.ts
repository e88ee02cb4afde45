// Sliding replay window over extended packet indices (RFC 3711 section 3.3.2,
// https://www.rfc-editor.org/rfc/rfc3711#section-3.3.2), as a ring bitmap so old bits never need shifting.

/** Window width in packets. RFC 3711 requires at least 64; we keep 1024 (128 bytes per stream). */
export const REPLAY_WINDOW_SIZE = 1024;
const WORDS = REPLAY_WINDOW_SIZE / 32;

export const ReplayCheck = { ok: 0, duplicate: 1, tooOld: 2 } as const;
export type ReplayCheckResult = (typeof ReplayCheck)[keyof typeof ReplayCheck];

export class ReplayWindow {
  /** Highest index accepted so far, -1 before the first. */
  highestIndex = -1;
  readonly #bits = new Uint32Array(WORDS);

  /** Would `index` be accepted? Does not change state (call `accept` only after authentication). */
  check(index: number): ReplayCheckResult {
    if (index > this.highestIndex) return ReplayCheck.ok;
    if (this.highestIndex - index >= REPLAY_WINDOW_SIZE) return ReplayCheck.tooOld;
    const slot = index % REPLAY_WINDOW_SIZE;
    return ((this.#bits[slot >>> 5] ?? 0) & (1 << (slot & 31))) !== 0 ? ReplayCheck.duplicate : ReplayCheck.ok;
  }

  /** Marks `index` as received; `check(index)` must have returned ok. */
  accept(index: number): void {
    const bits = this.#bits;
    if (index > this.highestIndex) {
      const advance = index - this.highestIndex;
      if (this.highestIndex < 0 || advance >= REPLAY_WINDOW_SIZE) {
        bits.fill(0);
      } else {
        // Clear the slots of the skipped indices highestIndex+1 .. index (they wrap around the ring).
        for (let i = this.highestIndex + 1; i <= index; i++) {
          const slot = i % REPLAY_WINDOW_SIZE;
          if ((slot & 31) === 0 && i + 31 <= index) {
            bits[slot >>> 5] = 0;
            i += 31;
          } else {
            bits[slot >>> 5] = (bits[slot >>> 5] ?? 0) & ~(1 << (slot & 31));
          }
        }
      }
      this.highestIndex = index;
    }
    const slot = index % REPLAY_WINDOW_SIZE;
    bits[slot >>> 5] = (bits[slot >>> 5] ?? 0) | (1 << (slot & 31));
  }
}
