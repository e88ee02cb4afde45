// Congestion control of one sending transport (a subscriber's PeerConnection): the remote's transport-wide feedback
// goes through the send history into the send-side estimator (delay- and loss-based, GCC), whose estimate sets the
// pacer's rate and is what the SFU's stream allocator may spend; probes (padding clusters through the pacer) are
// started on the allocator's request and cut short when the estimator sees over-use. RTT comes from the receiver
// reports of the transport's streams.
//
// Warm-up: until the first `warmUpMs` of feedback have been seen there is no estimate (Infinity: the allocator gives
// each track what it asks for), and the estimator then starts from what actually arrived in that time, not from a
// guess: a subscriber on a good link keeps its layers, one behind a narrow link starts near its capacity. libwebrtc
// similarly takes the acknowledged rate as the first estimate of its delay-based controller.
import type { Clock } from '../clock.js';
import type { TransportWideFeedback } from '../rtp/index.js';
import type { SendHistory } from '../stages/header-stamp-stage.js';
import type { PacerStage } from '../stages/pacer-stage.js';
import { SEND_SIDE_BWE_DEFAULTS, SendSideBwe } from './send-side-bwe.js';
import type { SendSideBweOptions } from './send-side-bwe.js';
import { TransportFeedbackAdapter } from './transport-feedback.js';

export interface SendSideControllerOptions extends SendSideBweOptions {
  clock: Clock;
  history: SendHistory;
  /** The transport's pacer, given the estimate (it paces at a multiple of it); absent: no pacing, no probes. */
  pacer?: PacerStage | undefined;
  /** Pace (pacer-stage: leaky bucket at a multiple of the estimate); false: the pacer only sends probes. */
  isPacing?: boolean;
  /** A probe cluster lasts this long (default 600 ms). */
  probeDurationMs?: number;
  /** Feedback time (receiver clock) before the first estimate (default 1000 ms). */
  warmUpMs?: number;
  /** Called when the estimate falls by more than 10% (the allocator drops layers at once then). */
  onEstimateDrop?: () => void;
}

/** The estimate's ceiling unless told otherwise. */
export const DEFAULT_MAX_BPS = 50_000_000;

export class SendSideController {
  private bwe: SendSideBwe | null = null;
  private readonly bweOptions: SendSideBweOptions;
  private readonly clock: Clock;
  private readonly adapter: TransportFeedbackAdapter;
  private readonly pacer: PacerStage | undefined;
  private readonly isPacing: boolean;
  private readonly probeDurationMs: number;
  private readonly warmUpMs: number;
  private readonly onEstimateDrop: (() => void) | undefined;
  private nextClusterId = 1;
  private lastEstimateBps = Infinity;
  private rttMs = 0;
  /** Warm-up: the first and last arrival seen and the bytes that arrived between them. */
  private warmFirstArrivalMs = -1;
  private warmLastArrivalMs = -1;
  private warmBytes = 0;
  private isClosed = false;
  /** Feedback packets taken, and probes started / stopped early for over-use. */
  feedbacks = 0;
  probesStarted = 0;
  probesStopped = 0;

  constructor(opts: SendSideControllerOptions) {
    this.clock = opts.clock;
    this.bweOptions = {
      ...(opts.startBps !== undefined ? { startBps: opts.startBps } : {}),
      ...(opts.minBps !== undefined ? { minBps: opts.minBps } : {}),
      // An SFU sends one subscriber many streams (a grid of cameras, a screen share): more than one encoder's 10 Mbps.
      maxBps: opts.maxBps ?? DEFAULT_MAX_BPS,
    };
    this.adapter = new TransportFeedbackAdapter(opts.history);
    this.pacer = opts.pacer;
    this.isPacing = opts.isPacing ?? true;
    this.probeDurationMs = opts.probeDurationMs ?? 600;
    this.warmUpMs = opts.warmUpMs ?? 1000;
    this.onEstimateDrop = opts.onEstimateDrop;
  }

  /** Bits per second the allocator may spend now; Infinity before the first estimate. */
  estimateBps(): number {
    return this.bwe === null ? Infinity : this.bwe.estimateBps();
  }

  /** The estimator, once warmed up (its state and counters for metrics). */
  get estimator(): SendSideBwe | null {
    return this.bwe;
  }

  /** The transport's feedback counters (reported, lost, unknown packets). */
  get feedbackStats(): Pick<TransportFeedbackAdapter, 'feedbacks' | 'packetsReported' | 'packetsLost' | 'packetsUnknown'> {
    return this.adapter;
  }

  onTransportFeedback(fb: TransportWideFeedback): void {
    if (this.isClosed) return;
    this.feedbacks++;
    const nowMs = this.clock.nowMs();
    const results = this.adapter.convert(fb);
    if (results.length === 0) return;
    let bwe = this.bwe;
    if (bwe === null) {
      bwe = this.warmUp(results);
      if (bwe === null) return;
    }
    bwe.onFeedback(results, nowMs);
    if (bwe.delayState === 'overusing' && this.pacer?.isProbing === true) {
      this.pacer.stopProbe();
      this.probesStopped++;
    }
    const estimate = bwe.estimateBps();
    if (this.isPacing) this.pacer?.setRateBps(estimate);
    const previous = this.lastEstimateBps;
    this.lastEstimateBps = estimate;
    if (estimate < previous * 0.9) this.onEstimateDrop?.();
  }

  /** Counts what arrived; after `warmUpMs` of arrivals, starts the estimator at that rate. */
  private warmUp(results: readonly { arrivalMs: number; sizeBytes: number }[]): SendSideBwe | null {
    for (const r of results) {
      if (r.arrivalMs < 0) continue;
      if (this.warmFirstArrivalMs < 0) this.warmFirstArrivalMs = r.arrivalMs;
      else this.warmBytes += r.sizeBytes;
      if (r.arrivalMs > this.warmLastArrivalMs) this.warmLastArrivalMs = r.arrivalMs;
    }
    const spanMs = this.warmLastArrivalMs - this.warmFirstArrivalMs;
    if (this.warmFirstArrivalMs < 0 || spanMs < this.warmUpMs) return null;
    const measuredBps = (this.warmBytes * 8 * 1000) / spanMs;
    // Never below the usual start: the first second of a subscription is often a ramp (a key frame, then layers
    // starting), not the link's limit; a narrow link brings it down within a few feedback reports.
    const startBps = Math.max(this.bweOptions.startBps ?? SEND_SIDE_BWE_DEFAULTS.startBps, measuredBps);
    const bwe = new SendSideBwe({ ...this.bweOptions, startBps });
    if (this.rttMs > 0) bwe.onRtt(this.rttMs, this.clock.nowMs());
    this.bwe = bwe;
    return bwe;
  }

  onRtt(rttMs: number): void {
    if (this.isClosed || !(rttMs > 0)) return;
    this.rttMs = rttMs;
    this.bwe?.onRtt(rttMs, this.clock.nowMs());
  }

  /** Pads the transport's traffic up to `targetBps` for a probe cluster; false when no probe can be sent now. */
  probe(targetBps: number): boolean {
    if (this.isClosed || this.pacer === undefined || this.pacer.isProbing) return false;
    if (this.bwe?.delayState === 'overusing') return false;
    const clusterId = this.nextClusterId++;
    const started = this.pacer.startProbe({ clusterId, targetBps, durationMs: this.probeDurationMs });
    if (started) this.probesStarted++;
    return started;
  }

  close(): void {
    if (this.isClosed) return;
    this.isClosed = true;
    if (this.pacer?.isProbing === true) this.pacer.stopProbe();
  }
}
