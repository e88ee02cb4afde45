// Delay-based part of the send-side estimator (draft-ietf-rmcat-gcc-02 §5; libwebrtc DelayBasedBwe): received
// packets in arrival order -> inter-arrival groups -> trendline -> over-use detector; once per feedback the AIMD
// controller moves the estimate. While over-using it decreases at most once per RTT (sooner if the acknowledged
// rate fell below half the estimate); without an acknowledged rate yet it halves every 200 ms. A probe result raises
// the estimate at once when the path is not over-used.
import { AimdRateControl } from './aimd-rate-control.js';
import type { GroupDeltas } from './inter-arrival.js';
import { InterArrival } from './inter-arrival.js';
import { OveruseDetector } from './overuse-detector.js';
import type { OveruseDetectorOptions } from './overuse-detector.js';
import { BandwidthUsage } from './packet-result.js';
import { TrendlineEstimator } from './trendline-estimator.js';
import type { TrendlineOptions } from './trendline-estimator.js';

export interface DelayBasedOptions {
  startBps: number;
  minBps: number;
  maxBps: number;
  trendline?: TrendlineOptions;
  detector?: OveruseDetectorOptions;
}

/** No feedback for this long: the delay history is stale and starts over. */
const STREAM_TIMEOUT_MS = 2000;
const INITIAL_DECREASE_INTERVAL_MS = 200;

export class DelayBasedBwe {
  private readonly interArrival = new InterArrival();
  private readonly trendline: TrendlineEstimator;
  readonly detector: OveruseDetector;
  readonly rateControl: AimdRateControl;
  private readonly deltas: GroupDeltas = { sendDeltaMs: 0, arrivalDeltaMs: 0, sizeDeltaBytes: 0, arrivalMs: 0, sendMs: 0 };
  private lastSeenMs = -1;
  private lastInitialDecreaseMs = Number.NEGATIVE_INFINITY;
  private readonly trendlineOptions: TrendlineOptions;
  /** Times the detector entered over-use. */
  overuseEvents = 0;
  /** Times the AIMD controller lowered the estimate because of over-use. */
  decreases = 0;

  constructor(opts: DelayBasedOptions) {
    this.trendlineOptions = opts.trendline ?? {};
    this.trendline = new TrendlineEstimator(this.trendlineOptions);
    this.detector = new OveruseDetector(opts.detector);
    this.rateControl = new AimdRateControl({ startBps: opts.startBps, minBps: opts.minBps, maxBps: opts.maxBps });
  }

  get estimateBps(): number {
    return this.rateControl.estimateBps;
  }

  get state(): BandwidthUsage {
    return this.detector.state;
  }

  /** Call before the packets of a feedback report. */
  beginFeedback(nowMs: number): void {
    if (this.lastSeenMs >= 0 && nowMs - this.lastSeenMs > STREAM_TIMEOUT_MS) {
      this.interArrival.reset();
      this.trendline.reset();
      this.detector.reset();
    }
    this.lastSeenMs = nowMs;
  }

  /** One received packet, in arrival order. */
  onPacket(sendMs: number, arrivalMs: number, sizeBytes: number, nowMs: number): void {
    const d = this.deltas;
    if (!this.interArrival.add(sendMs, arrivalMs, sizeBytes, nowMs, d)) return;
    const before = this.detector.state;
    const modified = this.trendline.update(d.arrivalDeltaMs, d.sendDeltaMs, d.arrivalMs);
    const after = this.detector.detect(modified, this.trendline.trend, d.sendDeltaMs, d.arrivalMs, this.trendline.deltas);
    if (after === BandwidthUsage.overusing && before !== BandwidthUsage.overusing) this.overuseEvents++;
  }

  /**
   * Once per feedback, after its packets: moves the estimate. `ackedBps` is the acknowledged rate (-1 unknown),
   * `probeBps` a probe result from this feedback (-1 none). Returns the estimate.
   */
  endFeedback(ackedBps: number, probeBps: number, nowMs: number): number {
    const rc = this.rateControl;
    const before = rc.estimateBps;
    if (this.detector.state === BandwidthUsage.overusing) {
      if (ackedBps >= 0) {
        if (rc.timeToReduceFurther(nowMs, ackedBps)) rc.update(BandwidthUsage.overusing, ackedBps, nowMs);
      } else if (nowMs - this.lastInitialDecreaseMs >= INITIAL_DECREASE_INTERVAL_MS) {
        this.lastInitialDecreaseMs = nowMs;
        rc.setEstimate(rc.estimateBps / 2, nowMs);
      }
    } else if (probeBps > rc.estimateBps) {
      rc.setEstimate(probeBps, nowMs);
    } else {
      rc.update(this.detector.state, ackedBps, nowMs);
    }
    if (rc.estimateBps < before && this.detector.state === BandwidthUsage.overusing) this.decreases++;
    return rc.estimateBps;
  }
}
