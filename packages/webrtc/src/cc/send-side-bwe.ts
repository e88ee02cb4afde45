// Send-side bandwidth estimation (Google Congestion Control, draft-ietf-rmcat-gcc-02; libwebrtc goog_cc) from
// transport-wide congestion control feedback: the delay-based estimate (inter-arrival groups, trendline, over-use
// detector, AIMD), the acknowledged bitrate, probe results, and the loss-based controller. The estimate the
// allocator may spend is min(delay-based, loss-based), within [minBps, maxBps].
import { AckedBitrateEstimator } from './acked-bitrate-estimator.js';
import { DelayBasedBwe } from './delay-based-bwe.js';
import type { OveruseDetectorOptions } from './overuse-detector.js';
import { LossBasedBwe } from './loss-based-bwe.js';
import type { BandwidthUsage, PacketResult } from './packet-result.js';
import { ProbeBitrateEstimator } from './probe-bitrate-estimator.js';
import type { ProbeEstimatorOptions } from './probe-bitrate-estimator.js';

export interface SendSideBweOptions {
  /** Estimate before any feedback (default 1 Mbps). */
  startBps?: number;
  /** Floor of the estimate (default 30 kbps). */
  minBps?: number;
  /** Ceiling of the estimate (default 10 Mbps). */
  maxBps?: number;
  /** Over-use detector tuning (defaults: draft-ietf-rmcat-gcc-02 §5.4). */
  detector?: OveruseDetectorOptions;
  /** Probe cluster rules (ProbeBitrateEstimator; e.g. `minSpanMs` for long clusters). */
  probe?: ProbeEstimatorOptions;
}

/**
 * Defaults, in one place. Start: 1 Mbps, between libwebrtc's 300 kbps and the several Mbps some SFUs start at; a
 * subscriber can see a medium simulcast layer at once, and the detector pulls it down within a second or two if the
 * path is narrower. Min: 30 kbps (audio plus a little). Max: 10 Mbps (several HD streams).
 */
export const SEND_SIDE_BWE_DEFAULTS = { startBps: 1_000_000, minBps: 30_000, maxBps: 10_000_000 } as const;

export class SendSideBwe {
  private readonly delayBased: DelayBasedBwe;
  private readonly lossBased: LossBasedBwe;
  private readonly acked = new AckedBitrateEstimator();
  private readonly probes: ProbeBitrateEstimator;
  /** Indices of received results sorted by arrival; reused across feedbacks. */
  private order = new Int32Array(64);
  private lastProbeBps = -1;
  private lastLoss = 0;

  // Counters for metrics.
  feedbacks = 0;
  packetsReported = 0;
  packetsLost = 0;
  probeResults = 0;

  constructor(opts: SendSideBweOptions = {}) {
    const minBps = opts.minBps ?? SEND_SIDE_BWE_DEFAULTS.minBps;
    const maxBps = Math.max(opts.maxBps ?? SEND_SIDE_BWE_DEFAULTS.maxBps, minBps);
    const startBps = Math.min(Math.max(opts.startBps ?? SEND_SIDE_BWE_DEFAULTS.startBps, minBps), maxBps);
    this.delayBased = new DelayBasedBwe({ startBps, minBps, maxBps, detector: opts.detector });
    this.lossBased = new LossBasedBwe({ startBps, minBps, maxBps });
    this.probes = new ProbeBitrateEstimator(opts.probe);
  }

  /** One transport-cc feedback report's results, in transport sequence order. */
  onFeedback(results: readonly PacketResult[], nowMs: number): void {
    const n = results.length;
    if (n === 0) return;
    this.feedbacks++;
    if (this.order.length < n) this.order = new Int32Array(Math.max(n, this.order.length * 2));
    const order = this.order;
    let received = 0;
    let lost = 0;
    for (let i = 0; i < n; i++) {
      const r = results[i]!;
      if (r.probeClusterId >= 0) this.probes.add(r.probeClusterId, r.sendMs, r.arrivalMs, r.sizeBytes, nowMs);
      if (r.arrivalMs < 0) {
        lost++;
        continue;
      }
      // Insertion sort by arrival time: feedback is nearly always in arrival order already.
      let j = received++;
      while (j > 0 && results[order[j - 1]!]!.arrivalMs > r.arrivalMs) {
        order[j] = order[j - 1]!;
        j--;
      }
      order[j] = i;
    }
    this.packetsReported += n;
    this.packetsLost += lost;

    const delay = this.delayBased;
    delay.beginFeedback(nowMs);
    for (let k = 0; k < received; k++) {
      const r = results[order[k]!]!;
      this.acked.add(r.arrivalMs, r.sizeBytes);
      delay.onPacket(r.sendMs, r.arrivalMs, r.sizeBytes, nowMs);
    }

    const probeBps = this.probes.takeResult();
    if (probeBps >= 0) {
      this.probeResults++;
      this.lastProbeBps = probeBps;
    }
    // Over-use after a sharp capacity drop: the receive rate of the last window is the bottleneck's rate while the
    // filtered one still lags far behind; decrease from the window's rate then.
    const ackedBps = this.acked.rateForDecreaseBps(delay.state === 'overusing');
    const delayBps = delay.endFeedback(ackedBps, probeBps, nowMs);
    const loss = this.lossBased;
    loss.setDelayBasedLimit(delayBps);
    if (probeBps >= 0 && delay.state !== 'overusing' && probeBps > loss.estimateBps) loss.setEstimate(probeBps, nowMs);
    loss.onPackets(lost, n, nowMs);
    this.lastLoss = loss.lastLossFraction;
  }

  /** A round-trip time measurement (RTCP or transport feedback). */
  onRtt(rttMs: number, _nowMs: number): void {
    if (!(rttMs >= 0)) return;
    this.delayBased.rateControl.setRtt(rttMs);
    this.lossBased.setRtt(rttMs);
  }

  /** What the allocator may spend now (bps): min of the delay- and loss-based estimates. */
  estimateBps(): number {
    return this.lossBased.estimateBps;
  }

  /** The delay-based estimate alone (bps). */
  delayBasedBps(): number {
    return this.delayBased.estimateBps;
  }

  get delayState(): BandwidthUsage {
    return this.delayBased.state;
  }

  /** Acknowledged (received) bitrate in bps, or -1 unknown. */
  ackedBitrateBps(): number {
    return this.acked.bitrateBps();
  }

  /** Loss fraction (0..1) of the last closed loss interval. */
  lossFraction(): number {
    return this.lastLoss;
  }

  /** Rate of the last successful probe cluster (bps), or -1. */
  lastProbeResultBps(): number {
    return this.lastProbeBps;
  }

  /** Link capacity estimate of the AIMD controller (bps), or -1. */
  linkCapacityBps(): number {
    return this.delayBased.rateControl.linkCapacity.estimateBps();
  }

  get overuseEvents(): number {
    return this.delayBased.overuseEvents;
  }

  get delayBasedDecreases(): number {
    return this.delayBased.decreases;
  }

  get lossBasedDecreases(): number {
    return this.lossBased.decreases;
  }

  /** Over-use threshold of the detector (ms-scaled), for diagnostics. */
  detectorThreshold(): number {
    return this.delayBased.detector.threshold;
  }
}
