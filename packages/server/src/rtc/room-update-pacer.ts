// Paces RoomUpdate broadcasts as LiveKit does (pkg/rtc/room.go, roomUpdateInterval): metadata and recording
// changes go out at once; participant/publisher count changes at most once per interval (5 s), the last one kept.
import type { Clock, TimerHandle } from '@atrium/webrtc';

/** LiveKit's roomUpdateInterval: how often participant-count changes are sent at most. */
export const ROOM_UPDATE_INTERVAL_MS = 5000;

export interface RoomUpdatePacerOptions {
  clock: Clock;
  /** Sends the current room info to the room's participants. */
  send: () => void;
  intervalMs?: number;
}

export class RoomUpdatePacer {
  private readonly clock: Clock;
  private readonly send: () => void;
  private readonly intervalMs: number;
  private lastSentMs = Number.NEGATIVE_INFINITY;
  private timer: TimerHandle | undefined;
  private closed = false;

  constructor(opts: RoomUpdatePacerOptions) {
    this.clock = opts.clock;
    this.send = opts.send;
    this.intervalMs = opts.intervalMs ?? ROOM_UPDATE_INTERVAL_MS;
  }

  /**
   * Something in the room info changed. `immediate` (metadata, recording) sends now; otherwise it sends now when
   * nothing went out within the interval, else once when the interval is over (changes in between coalesce).
   */
  markChanged(opts: { immediate?: boolean } = {}): void {
    if (this.closed) return;
    const nowMs = this.clock.nowMs();
    if (opts.immediate || nowMs - this.lastSentMs >= this.intervalMs) {
      this.flush();
      return;
    }
    if (this.timer !== undefined) return;
    this.timer = this.clock.setTimeout(() => {
      this.timer = undefined;
      this.flush();
    }, this.lastSentMs + this.intervalMs - nowMs);
  }

  private flush(): void {
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.timer = undefined;
    this.lastSentMs = this.clock.nowMs();
    this.send();
  }

  /** Drops a pending update and its timer. Idempotent. */
  close(): void {
    this.closed = true;
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.timer = undefined;
  }
}
