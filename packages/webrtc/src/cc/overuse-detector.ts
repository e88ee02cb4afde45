// Over-use detector with an adaptive threshold (draft-ietf-rmcat-gcc-02 §5.4, as libwebrtc applies it to the
// trendline): compares the modified trend m with a threshold gamma that follows |m| (K_u when |m| > gamma, K_d when
// below, clamped to 6..600, not adapted on spikes > gamma + 15). Over-use needs m > gamma for more than 10 ms over at
// least two deltas while the trend is not falling; m < -gamma is under-use; anything else is normal.
import { BandwidthUsage } from './packet-result.js';

export interface OveruseDetectorOptions {
  /** Threshold gain when |m| is above the threshold (draft K_u = 0.01; libwebrtc's trendline uses 0.0087). */
  kUp?: number;
  /** Threshold gain when |m| is below the threshold (draft K_d = 0.00018; libwebrtc's trendline uses 0.039). */
  kDown?: number;
  /** Starting threshold (libwebrtc: 12.5). */
  initialThreshold?: number;
  /** Time m must stay above the threshold before over-use is signalled (10 ms). */
  overuseTimeThresholdMs?: number;
}

const DETECTOR_DEFAULTS = { kUp: 0.01, kDown: 0.00018, initialThreshold: 12.5, overuseTimeThresholdMs: 10 } as const;
const MIN_THRESHOLD = 6;
const MAX_THRESHOLD = 600;
/** |m| further than this above the threshold is a spike (e.g. a capacity drop) the threshold must not follow. */
const MAX_ADAPT_OFFSET = 15;
/** Largest time step used in one threshold update. */
const MAX_ADAPT_STEP_MS = 100;

export class OveruseDetector {
  private readonly kUp: number;
  private readonly kDown: number;
  private readonly overuseTimeThresholdMs: number;
  threshold: number;
  state: BandwidthUsage = BandwidthUsage.normal;
  private timeOverUsingMs = -1;
  private overuseCounter = 0;
  private prevTrend = 0;
  private lastUpdateMs = -1;

  constructor(opts: OveruseDetectorOptions = {}) {
    this.kUp = opts.kUp ?? DETECTOR_DEFAULTS.kUp;
    this.kDown = opts.kDown ?? DETECTOR_DEFAULTS.kDown;
    this.overuseTimeThresholdMs = opts.overuseTimeThresholdMs ?? DETECTOR_DEFAULTS.overuseTimeThresholdMs;
    this.threshold = opts.initialThreshold ?? DETECTOR_DEFAULTS.initialThreshold;
  }

  /**
   * One detection step: `modifiedTrend` from the trendline, `trend` its raw slope, `sendDeltaMs` the send gap of the
   * group delta, `nowMs` the group's arrival time, `numDeltas` how many deltas the trendline has seen.
   */
  detect(modifiedTrend: number, trend: number, sendDeltaMs: number, nowMs: number, numDeltas: number): BandwidthUsage {
    if (numDeltas < 2) {
      this.state = BandwidthUsage.normal;
      return this.state;
    }
    if (modifiedTrend > this.threshold) {
      // Assume we have been over-using for half the gap since the previous sample.
      this.timeOverUsingMs = this.timeOverUsingMs < 0 ? sendDeltaMs / 2 : this.timeOverUsingMs + sendDeltaMs;
      this.overuseCounter++;
      if (this.timeOverUsingMs > this.overuseTimeThresholdMs && this.overuseCounter > 1 && trend >= this.prevTrend) {
        this.timeOverUsingMs = 0;
        this.overuseCounter = 0;
        this.state = BandwidthUsage.overusing;
      }
    } else if (modifiedTrend < -this.threshold) {
      this.timeOverUsingMs = -1;
      this.overuseCounter = 0;
      this.state = BandwidthUsage.underusing;
    } else {
      this.timeOverUsingMs = -1;
      this.overuseCounter = 0;
      this.state = BandwidthUsage.normal;
    }
    this.prevTrend = trend;
    this.adaptThreshold(modifiedTrend, nowMs);
    return this.state;
  }

  reset(): void {
    this.state = BandwidthUsage.normal;
    this.timeOverUsingMs = -1;
    this.overuseCounter = 0;
    this.prevTrend = 0;
    this.lastUpdateMs = -1;
  }

  private adaptThreshold(modifiedTrend: number, nowMs: number): void {
    if (this.lastUpdateMs < 0) this.lastUpdateMs = nowMs;
    const magnitude = Math.abs(modifiedTrend);
    if (magnitude > this.threshold + MAX_ADAPT_OFFSET) {
      this.lastUpdateMs = nowMs;
      return;
    }
    const k = magnitude < this.threshold ? this.kDown : this.kUp;
    const dtMs = Math.min(Math.max(nowMs - this.lastUpdateMs, 0), MAX_ADAPT_STEP_MS);
    this.threshold += k * (magnitude - this.threshold) * dtMs;
    if (this.threshold < MIN_THRESHOLD) this.threshold = MIN_THRESHOLD;
    else if (this.threshold > MAX_THRESHOLD) this.threshold = MAX_THRESHOLD;
    this.lastUpdateMs = nowMs;
  }
}
