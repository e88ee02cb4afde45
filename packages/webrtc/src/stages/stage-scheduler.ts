// One deadline per transport (str0m's poll_timeout/handle_timeout): timed stages say when they next need to run,
// and a single clock timer fires at the earliest deadline and runs every stage that is due. Time is an input, so
// tests drive it with a ManualClock.
import type { Clock, TimerHandle } from '../clock.js';
import type { Logger } from '../logger.js';
import { silentLogger } from '../logger.js';

export interface TimedStage {
  /** Monotonic ms at which `handleTimeout` should next run; Infinity when nothing is pending. */
  nextDeadlineMs(): number;
  handleTimeout(nowMs: number): void;
}

export class StageScheduler {
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly stages: TimedStage[] = [];
  private timer: TimerHandle | null = null;
  private armedAtMs = Infinity;
  private isRunning = false;
  private isClosed = false;

  constructor(opts: { clock: Clock; logger?: Logger }) {
    this.clock = opts.clock;
    this.logger = opts.logger ?? silentLogger;
  }

  /** Timers currently armed (0 or 1): what a closed transport must hold (none). */
  get armedTimers(): number {
    return this.timer === null ? 0 : 1;
  }

  add(stage: TimedStage): void {
    if (this.isClosed || this.stages.includes(stage)) return;
    this.stages.push(stage);
    this.rearm();
  }

  remove(stage: TimedStage): void {
    const i = this.stages.indexOf(stage);
    if (i >= 0) this.stages.splice(i, 1);
    this.rearm();
  }

  /** A stage's deadline may have moved earlier (to `deadlineMs`): arms the timer sooner if needed. Cheap. */
  wake(deadlineMs: number): void {
    if (this.isClosed || this.isRunning || deadlineMs >= this.armedAtMs) return;
    this.arm(deadlineMs);
  }

  close(): void {
    this.isClosed = true;
    this.stages.length = 0;
    this.disarm();
  }

  /** `floorMs`: after a run, a stage that did not move its deadline waits at least 1 ms (never a busy loop). */
  private rearm(floorMs = -Infinity): void {
    if (this.isClosed || this.isRunning) return;
    let next = Infinity;
    for (const s of this.stages) {
      const d = s.nextDeadlineMs();
      if (d < next) next = d;
    }
    if (next < floorMs) next = floorMs;
    if (next === this.armedAtMs) return;
    this.disarm();
    if (next !== Infinity) this.arm(next);
  }

  private arm(deadlineMs: number): void {
    this.disarm();
    this.armedAtMs = deadlineMs;
    const delayMs = Math.max(0, deadlineMs - this.clock.nowMs());
    this.timer = this.clock.setTimeout(() => this.run(), delayMs);
    this.timer.unref?.();
  }

  private disarm(): void {
    if (this.timer !== null) this.clock.clearTimeout(this.timer);
    this.timer = null;
    this.armedAtMs = Infinity;
  }

  private run(): void {
    this.timer = null;
    this.armedAtMs = Infinity;
    if (this.isClosed) return;
    const nowMs = this.clock.nowMs();
    this.isRunning = true;
    try {
      for (const s of [...this.stages]) {
        if (s.nextDeadlineMs() > nowMs) continue;
        try {
          s.handleTimeout(nowMs);
        } catch (err) {
          this.logger.warn({ err }, 'stage timeout handler threw');
        }
      }
    } finally {
      this.isRunning = false;
    }
    this.rearm(nowMs + 1);
  }
}
