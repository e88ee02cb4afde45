// Loss-based send rate control (draft-ietf-rmcat-gcc-02 §6; libwebrtc SendSideBandwidthEstimation, classic rules):
// loss < 2% -> up to 8% above the lowest estimate of the last second (+1 kbps); 2..10% -> hold;
// > 10% -> rate x (1 - 0.5 x loss), at most once per 300 ms + RTT. Capped by the delay-based estimate.
// Loss comes from transport-cc feedback, closed into intervals of >= 20 packets (libwebrtc kLimitNumPackets); the
// decision looks at the intervals of the last second (up to 3 s while they hold < 60 packets) and, to decrease, asks that the loss be above 10% with
// confidence (measured loss minus z standard errors), so steady random loss of a few percent holds the rate instead
// of decaying it through unlucky intervals. During the first 2 s, with no loss yet, it follows the delay-based rate.

export interface LossBasedOptions {
  startBps: number;
  minBps: number;
  maxBps: number;
  /** Fewest packets in one loss interval (libwebrtc: 20). */
  minIntervalPackets?: number;
  /** Loss intervals that ended this recently decide (ms)... */
  decisionWindowMs?: number;
  /** ...reaching further back, up to maxDecisionWindowMs, until they hold this many packets. */
  minDecisionPackets?: number;
  maxDecisionWindowMs?: number;
  /** Standard errors the loss must exceed the high threshold by before a decrease. */
  confidenceZ?: number;
}

const LOW_LOSS = 0.02;
const HIGH_LOSS = 0.1;
const INCREASE_FACTOR = 1.08;
const INCREASE_EXTRA_BPS = 1000;
const INCREASE_INTERVAL_MS = 1000;
const DECREASE_INTERVAL_MS = 300;
const START_PHASE_MS = 2000;
const LOSS_DEFAULTS = { minIntervalPackets: 20, decisionWindowMs: 1000, minDecisionPackets: 60, maxDecisionWindowMs: 3000, confidenceZ: 2 } as const;
const RING = 64;

export class LossBasedBwe {
  private readonly minBps: number;
  private readonly maxBps: number;
  private readonly minIntervalPackets: number;
  private readonly decisionWindowMs: number;
  private readonly minDecisionPackets: number;
  private readonly maxDecisionWindowMs: number;
  private readonly confidenceZ: number;
  private currentBps: number;
  private delayLimitBps = Number.POSITIVE_INFINITY;
  private rttMs = 0;
  private firstReportMs = -1;
  private lastDecreaseMs = Number.NEGATIVE_INFINITY;
  private hasDecreasedSinceInterval = false;
  private pendingLost = 0;
  private pendingExpected = 0;
  private hasLossSinceStart = false;
  /** Closed loss intervals (ring): end time, lost, expected. */
  private readonly ivEndMs = new Float64Array(RING);
  private readonly ivLost = new Float64Array(RING);
  private readonly ivExpected = new Float64Array(RING);
  private ivHead = 0;
  private ivCount = 0;
  /** Sliding minimum of the estimate over the last second (ring deque): time, bps. */
  private readonly minMs = new Float64Array(RING);
  private readonly minBpsHist = new Float64Array(RING);
  private minFront = 0;
  private minLen = 0;
  /** Loss fraction of the last closed interval (0..1). */
  lastLossFraction = 0;
  /** Loss fraction over the decision window at the last decision. */
  windowLossFraction = 0;
  decreases = 0;

  constructor(opts: LossBasedOptions) {
    this.minBps = opts.minBps;
    this.maxBps = opts.maxBps;
    this.minIntervalPackets = opts.minIntervalPackets ?? LOSS_DEFAULTS.minIntervalPackets;
    this.decisionWindowMs = opts.decisionWindowMs ?? LOSS_DEFAULTS.decisionWindowMs;
    this.minDecisionPackets = opts.minDecisionPackets ?? LOSS_DEFAULTS.minDecisionPackets;
    this.maxDecisionWindowMs = opts.maxDecisionWindowMs ?? LOSS_DEFAULTS.maxDecisionWindowMs;
    this.confidenceZ = opts.confidenceZ ?? LOSS_DEFAULTS.confidenceZ;
    this.currentBps = this.clamp(opts.startBps);
  }

  get estimateBps(): number {
    return this.currentBps;
  }

  setRtt(rttMs: number): void {
    this.rttMs = rttMs;
  }

  /** Sets the estimate directly (a probe result), still within the limits. */
  setEstimate(bps: number, nowMs: number): void {
    this.currentBps = this.capped(bps);
    this.minLen = 0;
    this.pushMin(nowMs, this.currentBps);
  }

  /** The delay-based estimate changed: it caps this one. */
  setDelayBasedLimit(bps: number): void {
    this.delayLimitBps = bps;
    this.currentBps = this.capped(this.currentBps);
  }

  /** Counts of one feedback report: packets reported lost and packets reported in all. */
  onPackets(lost: number, total: number, nowMs: number): void {
    if (total <= 0) return;
    if (this.firstReportMs < 0) this.firstReportMs = nowMs;
    this.pendingLost += lost;
    this.pendingExpected += total;
    if (this.pendingExpected < this.minIntervalPackets) return;
    this.lastLossFraction = this.pendingLost / this.pendingExpected;
    if (this.pendingLost > 0) this.hasLossSinceStart = true;
    const i = (this.ivHead + this.ivCount) % RING;
    if (this.ivCount === RING) this.ivHead = (this.ivHead + 1) % RING;
    else this.ivCount++;
    this.ivEndMs[i] = nowMs;
    this.ivLost[i] = this.pendingLost;
    this.ivExpected[i] = this.pendingExpected;
    this.pendingLost = 0;
    this.pendingExpected = 0;
    this.hasDecreasedSinceInterval = false;
    this.decide(nowMs);
  }

  private decide(nowMs: number): void {
    // Window loss over the intervals of the last decisionWindowMs (at least the newest one), further back while
    // there are few packets.
    let lost = 0;
    let expected = 0;
    for (let k = this.ivCount - 1; k >= 0; k--) {
      const i = (this.ivHead + k) % RING;
      const ageMs = nowMs - (this.ivEndMs[i] ?? 0);
      if (expected > 0 && ageMs > this.decisionWindowMs && (expected >= this.minDecisionPackets || ageMs > this.maxDecisionWindowMs)) break;
      lost += this.ivLost[i] ?? 0;
      expected += this.ivExpected[i] ?? 0;
    }
    const loss = expected > 0 ? lost / expected : 0;
    this.windowLossFraction = loss;

    if (!this.hasLossSinceStart && nowMs - this.firstReportMs < START_PHASE_MS && this.delayLimitBps !== Number.POSITIVE_INFINITY) {
      // Start phase without loss: trust the delay-based estimate (and probes) to ramp up.
      if (this.delayLimitBps > this.currentBps) {
        this.minLen = 0;
        this.pushMin(nowMs, this.currentBps);
        this.currentBps = this.capped(this.delayLimitBps);
        return;
      }
    }
    this.updateMinHistory(nowMs);
    if (loss <= LOW_LOSS) {
      const base = this.minLen > 0 ? (this.minBpsHist[this.minFront] ?? this.currentBps) : this.currentBps;
      this.currentBps = this.capped(Math.round(base * INCREASE_FACTOR) + INCREASE_EXTRA_BPS);
      return;
    }
    const standardError = Math.sqrt((loss * (1 - loss)) / expected);
    if (loss - this.confidenceZ * standardError > HIGH_LOSS) {
      if (!this.hasDecreasedSinceInterval && nowMs - this.lastDecreaseMs >= DECREASE_INTERVAL_MS + this.rttMs) {
        this.lastDecreaseMs = nowMs;
        this.hasDecreasedSinceInterval = true;
        this.decreases++;
        this.currentBps = this.capped(this.currentBps * (1 - 0.5 * loss));
        return;
      }
    }
    // 2..10% (or not confidently above 10%): hold.
    this.currentBps = this.capped(this.currentBps);
  }

  /** Keeps the minimum of the estimate over the last second (a monotonic deque). */
  private updateMinHistory(nowMs: number): void {
    while (this.minLen > 0 && nowMs - (this.minMs[this.minFront] ?? 0) + 1 > INCREASE_INTERVAL_MS) {
      this.minFront = (this.minFront + 1) % RING;
      this.minLen--;
    }
    while (this.minLen > 0) {
      const back = (this.minFront + this.minLen - 1) % RING;
      if ((this.minBpsHist[back] ?? 0) < this.currentBps) break;
      this.minLen--;
    }
    this.pushMin(nowMs, this.currentBps);
  }

  private pushMin(nowMs: number, bps: number): void {
    if (this.minLen === RING) {
      this.minFront = (this.minFront + 1) % RING;
      this.minLen--;
    }
    const i = (this.minFront + this.minLen) % RING;
    this.minMs[i] = nowMs;
    this.minBpsHist[i] = bps;
    this.minLen++;
  }

  private capped(bps: number): number {
    return this.clamp(Math.min(bps, this.delayLimitBps));
  }

  private clamp(bps: number): number {
    return Math.min(Math.max(bps, this.minBps), this.maxBps);
  }
}
