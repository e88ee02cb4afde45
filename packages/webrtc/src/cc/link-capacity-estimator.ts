// Running estimate of the link capacity seen at over-use (libwebrtc LinkCapacityEstimator, the "average max bitrate"
// of draft-ietf-rmcat-gcc-02 §5.5): an exponential average of the acknowledged rate at each over-use with a normalized
// variance. The AIMD controller increases additively while the rate is within 3 deviations of it.

const MIN_DEVIATION = 0.4;
const MAX_DEVIATION = 2.5;

export class LinkCapacityEstimator {
  /** Estimated capacity in kbps, or -1 when unknown. */
  private estimateKbps = -1;
  /** Variance normalized by the estimate (kbps). */
  private deviationKbps = MIN_DEVIATION;

  hasEstimate(): boolean {
    return this.estimateKbps >= 0;
  }

  /** Capacity estimate in bps, or -1. */
  estimateBps(): number {
    return this.estimateKbps < 0 ? -1 : this.estimateKbps * 1000;
  }

  upperBoundBps(): number {
    if (this.estimateKbps < 0) return Number.POSITIVE_INFINITY;
    return (this.estimateKbps + 3 * this.deviationEstimateKbps()) * 1000;
  }

  lowerBoundBps(): number {
    if (this.estimateKbps < 0) return 0;
    return Math.max(0, this.estimateKbps - 3 * this.deviationEstimateKbps()) * 1000;
  }

  reset(): void {
    this.estimateKbps = -1;
  }

  /** An over-use at this acknowledged rate: a slow (5%) update. */
  onOveruse(ackedBps: number): void {
    this.update(ackedBps / 1000, 0.05);
  }

  /** A probe measured this rate: a fast (50%) update. */
  onProbe(probeBps: number): void {
    this.update(probeBps / 1000, 0.5);
  }

  private update(sampleKbps: number, alpha: number): void {
    this.estimateKbps = this.estimateKbps < 0 ? sampleKbps : (1 - alpha) * this.estimateKbps + alpha * sampleKbps;
    const norm = Math.max(this.estimateKbps, 1);
    const error = this.estimateKbps - sampleKbps;
    this.deviationKbps = (1 - alpha) * this.deviationKbps + (alpha * error * error) / norm;
    if (this.deviationKbps < MIN_DEVIATION) this.deviationKbps = MIN_DEVIATION;
    else if (this.deviationKbps > MAX_DEVIATION) this.deviationKbps = MAX_DEVIATION;
  }

  private deviationEstimateKbps(): number {
    return Math.sqrt(this.deviationKbps * this.estimateKbps);
  }
}
