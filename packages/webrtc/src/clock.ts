// Injected time source, so tests control time (architecture.md: "time comes from an injected clock").
export interface Clock {
  /** Monotonic milliseconds (may be fractional). */
  nowMs(): number;
  /** Wall-clock milliseconds since the Unix epoch (for NTP timestamps in sender reports). */
  wallMs(): number;
  setTimeout(fn: () => void, ms: number): TimerHandle;
  clearTimeout(handle: TimerHandle): void;
  setInterval(fn: () => void, ms: number): TimerHandle;
  clearInterval(handle: TimerHandle): void;
}

export interface TimerHandle {
  unref?(): unknown;
}

/**
 * Node's longest timer delay (2^31-1 ms, about 24.8 days). Node runs a longer delay after 1 ms instead, so a
 * room's empty_timeout of 2^32-1 s (a valid uint32 from CreateRoom or a token) would close it at once.
 */
export const MAX_TIMER_DELAY_MS = 2 ** 31 - 1;

/** Delays are capped at MAX_TIMER_DELAY_MS: a longer timer fires after about 24.8 days, never at once. */
export const systemClock: Clock = {
  nowMs: () => performance.now(),
  wallMs: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, Math.min(ms, MAX_TIMER_DELAY_MS)),
  clearTimeout: (h) => clearTimeout(h as ReturnType<typeof setTimeout>),
  setInterval: (fn, ms) => setInterval(fn, Math.min(ms, MAX_TIMER_DELAY_MS)),
  clearInterval: (h) => clearInterval(h as ReturnType<typeof setInterval>),
};

/** A manually driven clock for tests. `advance(ms)` runs due timers in order. */
export class ManualClock implements Clock {
  private now = 0;
  private wallBase = 1_700_000_000_000;
  private nextId = 1;
  private timers = new Map<number, { at: number; fn: () => void; everyMs?: number }>();

  nowMs(): number {
    return this.now;
  }
  wallMs(): number {
    return this.wallBase + this.now;
  }
  setTimeout(fn: () => void, ms: number): TimerHandle {
    const id = this.nextId++;
    this.timers.set(id, { at: this.now + ms, fn });
    return { id } as TimerHandle;
  }
  clearTimeout(handle: TimerHandle): void {
    this.timers.delete((handle as { id: number }).id);
  }
  setInterval(fn: () => void, ms: number): TimerHandle {
    const id = this.nextId++;
    this.timers.set(id, { at: this.now + ms, fn, everyMs: ms });
    return { id } as TimerHandle;
  }
  clearInterval(handle: TimerHandle): void {
    this.clearTimeout(handle);
  }
  advance(ms: number): void {
    const end = this.now + ms;
    for (;;) {
      let nextId = -1;
      let nextAt = Infinity;
      for (const [id, t] of this.timers) {
        if (t.at <= end && t.at < nextAt) {
          nextAt = t.at;
          nextId = id;
        }
      }
      if (nextId < 0) break;
      const t = this.timers.get(nextId)!;
      this.now = t.at;
      if (t.everyMs !== undefined) t.at += Math.max(1, t.everyMs);
      else this.timers.delete(nextId);
      t.fn();
    }
    this.now = end;
  }
  get pendingTimers(): number {
    return this.timers.size;
  }
}
