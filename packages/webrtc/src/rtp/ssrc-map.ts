// A Map keyed by SSRC, for lookups made once per packet. Three quarters of random SSRCs are 2^30 or more, which V8
// does not hold as small integers: a Map lookup then boxes the key and hashes a heap number
// (Builtins_FindOrderedHashMapEntry was 1.5-6% of profiles of the server and the load tester). A small direct-mapped
// cache in front answers the repeated lookups of the same few SSRCs with one compare of doubles.

/** Cache slots (a power of two): a transport carries a few to a few dozen SSRCs. */
const SLOTS = 64;
const MASK = SLOTS - 1;
/** Marks an empty slot (no SSRC is negative). */
const EMPTY = -1;

export class SsrcMap<T> implements Iterable<[number, T]> {
  private readonly map = new Map<number, T>();
  private readonly slotKeys = new Float64Array(SLOTS).fill(EMPTY);
  private readonly slotValues: (T | undefined)[] = new Array<T | undefined>(SLOTS).fill(undefined);

  /** Hot path. `ssrc` as an unsigned 32-bit number (what parseRtpHeader and the RTCP parsers give). */
  get(ssrc: number): T | undefined {
    const slot = ssrc & MASK;
    if (this.slotKeys[slot] === ssrc) return this.slotValues[slot];
    const value = this.map.get(ssrc);
    if (value !== undefined) {
      this.slotKeys[slot] = ssrc;
      this.slotValues[slot] = value;
    }
    return value;
  }

  has(ssrc: number): boolean {
    return this.get(ssrc) !== undefined || this.map.has(ssrc);
  }

  set(ssrc: number, value: T): this {
    this.map.set(ssrc, value);
    const slot = ssrc & MASK;
    this.slotKeys[slot] = ssrc;
    this.slotValues[slot] = value;
    return this;
  }

  delete(ssrc: number): boolean {
    const slot = ssrc & MASK;
    if (this.slotKeys[slot] === ssrc) {
      this.slotKeys[slot] = EMPTY;
      this.slotValues[slot] = undefined;
    }
    return this.map.delete(ssrc);
  }

  clear(): void {
    this.map.clear();
    this.slotKeys.fill(EMPTY);
    this.slotValues.fill(undefined);
  }

  get size(): number {
    return this.map.size;
  }

  /** In insertion order, as a Map's; deleting while iterating is allowed, as with a Map. */
  keys(): IterableIterator<number> {
    return this.map.keys();
  }

  values(): IterableIterator<T> {
    return this.map.values();
  }

  entries(): IterableIterator<[number, T]> {
    return this.map.entries();
  }

  [Symbol.iterator](): IterableIterator<[number, T]> {
    return this.map.entries();
  }
}
