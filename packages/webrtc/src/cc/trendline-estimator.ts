// Delay-gradient filter of the send-side estimator (libwebrtc TrendlineEstimator; the trendline variant of
// draft-ietf-rmcat-gcc-02 §5.3): accumulates the one-way delay variation of each group delta, smooths it, and fits a
// least-squares line over the last ~20 points (x: arrival time, y: smoothed accumulated delay). The slope estimates
// (send rate - capacity) / capacity; it is scaled by min(deltas, 60) x threshold gain for the over-use detector.

export interface TrendlineOptions {
  /** Points in the regression window (libwebrtc: 20). */
  windowSize?: number;
  /** Exponential smoothing of the accumulated delay (libwebrtc: 0.9). */
  smoothingCoef?: number;
  /** Gain applied to the slope before it is compared with the threshold (libwebrtc: 4). */
  thresholdGain?: number;
}

const TREND_DEFAULTS = { windowSize: 20, smoothingCoef: 0.9, thresholdGain: 4 } as const;
/** The slope is scaled by the number of deltas seen, up to this many (libwebrtc kMinNumDeltas). */
const MIN_NUM_DELTAS = 60;
const DELTA_COUNTER_MAX = 1000;

export class TrendlineEstimator {
  private readonly windowSize: number;
  private readonly smoothingCoef: number;
  private readonly thresholdGain: number;
  /** Ring buffers of the regression points. */
  private readonly xs: Float64Array;
  private readonly ys: Float64Array;
  private head = 0;
  private count = 0;
  private firstArrivalMs = -1;
  private accumulatedDelayMs = 0;
  private smoothedDelayMs = 0;
  private numDeltas = 0;
  /** Last raw slope (ms of delay per ms), kept when the window cannot be fitted. */
  trend = 0;
  /** Last slope scaled for the detector: min(deltas, 60) x trend x gain. */
  modifiedTrend = 0;

  constructor(opts: TrendlineOptions = {}) {
    this.windowSize = opts.windowSize ?? TREND_DEFAULTS.windowSize;
    this.smoothingCoef = opts.smoothingCoef ?? TREND_DEFAULTS.smoothingCoef;
    this.thresholdGain = opts.thresholdGain ?? TREND_DEFAULTS.thresholdGain;
    this.xs = new Float64Array(this.windowSize);
    this.ys = new Float64Array(this.windowSize);
  }

  /** Deltas processed, capped at 1000 (the detector stays normal below 2). */
  get deltas(): number {
    return this.numDeltas;
  }

  /** Adds one group delta; returns the modified trend. */
  update(arrivalDeltaMs: number, sendDeltaMs: number, arrivalMs: number): number {
    const deltaMs = arrivalDeltaMs - sendDeltaMs;
    if (this.numDeltas < DELTA_COUNTER_MAX) this.numDeltas++;
    if (this.firstArrivalMs < 0) this.firstArrivalMs = arrivalMs;
    this.accumulatedDelayMs += deltaMs;
    this.smoothedDelayMs = this.smoothingCoef * this.smoothedDelayMs + (1 - this.smoothingCoef) * this.accumulatedDelayMs;

    this.xs[this.head] = arrivalMs - this.firstArrivalMs;
    this.ys[this.head] = this.smoothedDelayMs;
    this.head = (this.head + 1) % this.windowSize;
    if (this.count < this.windowSize) this.count++;

    if (this.count === this.windowSize) {
      const slope = this.fitSlope();
      if (!Number.isNaN(slope)) this.trend = slope;
    }
    this.modifiedTrend = Math.min(this.numDeltas, MIN_NUM_DELTAS) * this.trend * this.thresholdGain;
    return this.modifiedTrend;
  }

  reset(): void {
    this.head = 0;
    this.count = 0;
    this.firstArrivalMs = -1;
    this.accumulatedDelayMs = 0;
    this.smoothedDelayMs = 0;
    this.numDeltas = 0;
    this.trend = 0;
    this.modifiedTrend = 0;
  }

  /** Least-squares slope of the window, NaN when all x are equal. */
  private fitSlope(): number {
    const n = this.count;
    let sumX = 0;
    let sumY = 0;
    for (let i = 0; i < n; i++) {
      sumX += this.xs[i] ?? 0;
      sumY += this.ys[i] ?? 0;
    }
    const meanX = sumX / n;
    const meanY = sumY / n;
    let num = 0;
    let den = 0;
    for (let i = 0; i < n; i++) {
      const dx = (this.xs[i] ?? 0) - meanX;
      num += dx * ((this.ys[i] ?? 0) - meanY);
      den += dx * dx;
    }
    return den === 0 ? Number.NaN : num / den;
  }
}
