// Throughput of the packets the receiver acknowledged (libwebrtc AcknowledgedBitrateEstimator/BitrateEstimator, the
// "incoming rate" R_hat of draft-ietf-rmcat-gcc-02 §5.5). Bytes are binned into fixed windows of the receiver's
// arrival clock (500 ms for the first, 150 ms after), so feedback that arrives in bursts does not look like a burst
// of throughput; each window's rate updates a Bayesian estimate whose trust in a sample falls with its distance from
// the estimate (a sample far above counts less than one as far below).

const INITIAL_WINDOW_MS = 500;
/** A raw receive-rate window this recent (arrival time) may stand in for the filtered rate during over-use... */
const OVERUSE_SAMPLE_MAX_AGE_MS = 300;
/** ...when it is below this fraction of the filtered rate (a sharp capacity drop). */
const SHARP_DROP_RATIO = 0.7;
const WINDOW_MS = 150;
/** Sample uncertainty per relative distance from the estimate. */
const UNCERTAINTY_SCALE = 10;
/** Variance added to the estimate before each sample: the rate may drift. */
const PROCESS_VARIANCE = 5;
const INITIAL_VARIANCE = 50;

export class AckedBitrateEstimator {
  private estimateKbps = -1;
  private varianceKbps = INITIAL_VARIANCE;
  private windowSumBytes = 0;
  private windowElapsedMs = 0;
  private prevArrivalMs = -1;
  private hasSample = false;
  /** Rate of the last complete window (kbps), -1 none, and the arrival time it ended at. */
  private lastSampleKbps = -1;
  private lastSampleEndMs = -1;

  /** The acknowledged bitrate in bps, or -1 before the first full window. */
  bitrateBps(): number {
    return this.estimateKbps < 0 ? -1 : this.estimateKbps * 1000;
  }

  /**
   * The rate of the most recent complete window (bps), or -1 when it ended more than `maxAgeMs` of arrival time before
   * the newest packet. While the path is over-used the bottleneck queue is never empty, so this raw sample is the
   * capacity itself, without the filter's lag.
   */
  lastWindowBps(maxAgeMs: number): number {
    if (this.lastSampleKbps < 0 || this.prevArrivalMs - this.lastSampleEndMs > maxAgeMs) return -1;
    return this.lastSampleKbps * 1000;
  }

  /**
   * The rate a delay-based decrease should start from (bps, -1 unknown): the filtered rate, or, while the path is
   * over-used and the last window's raw rate is far below it (a sharp capacity drop the filter still lags), that raw
   * rate. Used by the send-side estimator and the receive-side (REMB) one alike.
   */
  rateForDecreaseBps(isOverusing: boolean): number {
    const filtered = this.bitrateBps();
    if (!isOverusing) return filtered;
    const windowBps = this.lastWindowBps(OVERUSE_SAMPLE_MAX_AGE_MS);
    return windowBps >= 0 && (filtered < 0 || windowBps < SHARP_DROP_RATIO * filtered) ? windowBps : filtered;
  }

  /** Adds one received packet by its arrival time in the receiver's clock (ms). */
  add(arrivalMs: number, sizeBytes: number): void {
    const windowMs = this.hasSample ? WINDOW_MS : INITIAL_WINDOW_MS;
    const sampleKbps = this.addToWindow(arrivalMs, sizeBytes, windowMs);
    if (sampleKbps < 0) return;
    this.hasSample = true;
    this.lastSampleKbps = sampleKbps;
    this.lastSampleEndMs = arrivalMs;
    if (this.estimateKbps < 0) {
      this.estimateKbps = sampleKbps;
      return;
    }
    // Distance relative to the estimate: halving the rate is less uncertain than doubling it.
    const uncertainty = (UNCERTAINTY_SCALE * Math.abs(this.estimateKbps - sampleKbps)) / this.estimateKbps;
    const sampleVar = uncertainty * uncertainty;
    const predVar = this.varianceKbps + PROCESS_VARIANCE;
    this.estimateKbps = (sampleVar * this.estimateKbps + predVar * sampleKbps) / (sampleVar + predVar);
    this.varianceKbps = (sampleVar * predVar) / (sampleVar + predVar);
  }

  /** A fast change is expected (e.g. the sender left the application-limited region): trust samples more. */
  expectFastChange(): void {
    this.varianceKbps += 200;
  }

  reset(): void {
    this.estimateKbps = -1;
    this.varianceKbps = INITIAL_VARIANCE;
    this.windowSumBytes = 0;
    this.windowElapsedMs = 0;
    this.prevArrivalMs = -1;
    this.hasSample = false;
    this.lastSampleKbps = -1;
    this.lastSampleEndMs = -1;
  }

  /** Returns the rate (kbps) of a window this packet completed, or -1. The packet counts in the next window. */
  private addToWindow(arrivalMs: number, sizeBytes: number, windowMs: number): number {
    if (arrivalMs < this.prevArrivalMs) {
      if (this.prevArrivalMs - arrivalMs > windowMs) {
        // The receiver clock went back: start the window over.
        this.prevArrivalMs = -1;
        this.windowSumBytes = 0;
        this.windowElapsedMs = 0;
      } else {
        // Reordered across two feedback reports: count it in the current window.
        this.windowSumBytes += sizeBytes;
        return -1;
      }
    }
    if (this.prevArrivalMs >= 0) {
      const gapMs = arrivalMs - this.prevArrivalMs;
      this.windowElapsedMs += gapMs;
      if (gapMs > windowMs) {
        // Nothing arrived for a whole window: what was collected is not a rate sample.
        this.windowSumBytes = 0;
        this.windowElapsedMs %= windowMs;
      }
    }
    this.prevArrivalMs = arrivalMs;
    let sampleKbps = -1;
    if (this.windowElapsedMs >= windowMs) {
      sampleKbps = (8 * this.windowSumBytes) / windowMs;
      this.windowElapsedMs -= windowMs;
      this.windowSumBytes = 0;
    }
    this.windowSumBytes += sizeBytes;
    return sampleKbps;
  }
}
