// AIMD rate controller of the delay-based estimate (draft-ietf-rmcat-gcc-02 §5.5; libwebrtc AimdRateControl).
// Normal -> increase: multiplicative (8%/s) far from the link capacity estimate, additive (one average packet per
// response time = RTT + 100 ms) near it; never above 1.5 x acknowledged + 10 kbps (application-limited senders do not
// inflate it, and it is not lowered either). Over-use -> decrease to 0.85 x acknowledged rate, then hold.
// Under-use -> hold (the queues are draining).
import { BandwidthUsage } from './packet-result.js';
import { LinkCapacityEstimator } from './link-capacity-estimator.js';

export const RateControlState = { hold: 'hold', increase: 'increase', decrease: 'decrease' } as const;
export type RateControlState = (typeof RateControlState)[keyof typeof RateControlState];

export interface AimdOptions {
  startBps: number;
  minBps: number;
  maxBps: number;
  /** Multiplicative decrease factor on over-use (0.85). */
  beta?: number;
}

const MULTIPLICATIVE_INCREASE_PER_S = 1.08;
const MIN_MULTIPLICATIVE_INCREASE_BPS = 1000;
const MIN_ADDITIVE_INCREASE_BPS_PER_S = 4000;
/** Assumed time from a rate change to its over-use signal, added to the RTT. */
const DETECTOR_DELAY_MS = 100;
const FRAME_INTERVAL_S = 1 / 30;
const MAX_PACKET_BYTES = 1200;
const DEFAULT_RTT_MS = 200;
/** Increase cap relative to the acknowledged rate: 1.5 x acked + 10 kbps. */
const ACKED_CAP_FACTOR = 1.5;
const ACKED_CAP_MARGIN_BPS = 10_000;
/** Subtracted from the decreased rate so repeated over-use converges below the throughput. */
const DECREASE_MARGIN_BPS = 5000;

export class AimdRateControl {
  private readonly minBps: number;
  private readonly maxBps: number;
  private readonly beta: number;
  private currentBps: number;
  private state: RateControlState = RateControlState.hold;
  private lastChangeMs = -1;
  private lastDecreaseMs = -1;
  private latestAckedBps = -1;
  private rttMs = DEFAULT_RTT_MS;
  readonly linkCapacity = new LinkCapacityEstimator();

  constructor(opts: AimdOptions) {
    this.minBps = opts.minBps;
    this.maxBps = opts.maxBps;
    this.beta = opts.beta ?? 0.85;
    this.currentBps = this.clamp(opts.startBps);
  }

  get estimateBps(): number {
    return this.currentBps;
  }

  get rateControlState(): RateControlState {
    return this.state;
  }

  setRtt(rttMs: number): void {
    this.rttMs = rttMs;
  }

  /** Sets the estimate directly (start rate, probe result). */
  setEstimate(bps: number, nowMs: number): void {
    const prev = this.currentBps;
    this.currentBps = this.clamp(bps);
    this.lastChangeMs = nowMs;
    if (this.currentBps < prev) this.lastDecreaseMs = nowMs;
  }

  /**
   * Whether another decrease is due while over-using: at most once per RTT (10..200 ms), and sooner only if the
   * acknowledged rate fell below half the estimate.
   */
  timeToReduceFurther(nowMs: number, ackedBps: number): boolean {
    const intervalMs = Math.min(Math.max(this.rttMs, 10), 200);
    if (nowMs - this.lastChangeMs >= intervalMs) return true;
    return ackedBps < 0.5 * this.currentBps;
  }

  /** Additive increase rate near convergence: one average packet per response time (bps per second). */
  nearMaxIncreaseBpsPerS(): number {
    const frameBits = this.currentBps * FRAME_INTERVAL_S;
    const packetsPerFrame = Math.max(1, Math.ceil(frameBits / (8 * MAX_PACKET_BYTES)));
    const avgPacketBits = frameBits / packetsPerFrame;
    const responseTimeS = (this.rttMs + DETECTOR_DELAY_MS) / 1000;
    return Math.max(MIN_ADDITIVE_INCREASE_BPS_PER_S, avgPacketBits / responseTimeS);
  }

  /** One controller step per feedback: the detector's state and the acknowledged rate (-1 unknown). */
  update(usage: BandwidthUsage, ackedBps: number, nowMs: number): number {
    let acked = ackedBps;
    if (acked < 0) acked = this.latestAckedBps;
    else this.latestAckedBps = acked;

    this.changeState(usage, nowMs);
    let next = this.currentBps;
    switch (this.state) {
      case RateControlState.hold:
        break;
      case RateControlState.increase: {
        if (acked >= 0 && acked > this.linkCapacity.upperBoundBps()) this.linkCapacity.reset();
        const cap = acked >= 0 ? ACKED_CAP_FACTOR * acked + ACKED_CAP_MARGIN_BPS : Number.POSITIVE_INFINITY;
        if (this.currentBps < cap) {
          const increased = this.linkCapacity.hasEstimate()
            ? this.currentBps + this.additiveIncrease(nowMs)
            : this.currentBps + this.multiplicativeIncrease(nowMs);
          next = Math.min(increased, cap);
        }
        this.lastChangeMs = nowMs;
        break;
      }
      case RateControlState.decrease: {
        if (acked >= 0) {
          let decreased = acked * this.beta;
          if (decreased > DECREASE_MARGIN_BPS) decreased -= DECREASE_MARGIN_BPS;
          // The acknowledged rate lags; if it is still above the estimate, fall back on the capacity estimate.
          if (decreased > this.currentBps && this.linkCapacity.hasEstimate()) decreased = this.beta * this.linkCapacity.estimateBps();
          if (decreased < this.currentBps) next = decreased;
          if (acked < this.linkCapacity.lowerBoundBps()) this.linkCapacity.reset();
          this.linkCapacity.onOveruse(acked);
        }
        this.state = RateControlState.hold;
        this.lastChangeMs = nowMs;
        this.lastDecreaseMs = nowMs;
        break;
      }
    }
    this.currentBps = this.clamp(next);
    return this.currentBps;
  }

  private changeState(usage: BandwidthUsage, nowMs: number): void {
    switch (usage) {
      case BandwidthUsage.normal:
        if (this.state === RateControlState.hold) {
          this.lastChangeMs = nowMs;
          this.state = RateControlState.increase;
        }
        break;
      case BandwidthUsage.overusing:
        this.state = RateControlState.decrease;
        break;
      case BandwidthUsage.underusing:
        this.state = RateControlState.hold;
        break;
    }
  }

  private multiplicativeIncrease(nowMs: number): number {
    let alpha = MULTIPLICATIVE_INCREASE_PER_S;
    if (this.lastChangeMs >= 0) alpha = Math.pow(alpha, Math.min((nowMs - this.lastChangeMs) / 1000, 1));
    return Math.max(this.currentBps * (alpha - 1), MIN_MULTIPLICATIVE_INCREASE_BPS);
  }

  private additiveIncrease(nowMs: number): number {
    const dtS = this.lastChangeMs >= 0 ? Math.max(nowMs - this.lastChangeMs, 0) / 1000 : 0;
    return this.nearMaxIncreaseBpsPerS() * dtS;
  }

  private clamp(bps: number): number {
    return Math.min(Math.max(bps, this.minBps), this.maxBps);
  }

  /** Time of the last decrease, or -1. */
  get lastDecreaseAtMs(): number {
    return this.lastDecreaseMs;
  }
}
