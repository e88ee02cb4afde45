// Receive-side bandwidth estimation and REMB (draft-alvestrand-rmcat-remb-03) towards a sender that negotiated
// goog-remb and abs-send-time but not transport-cc: the send time of each packet comes from its abs-send-time element,
// the arrival time from our clock, and they feed the same delay-based estimator as our send side (GCC §5); the
// incoming rate plays the acknowledged rate. Modelled on libwebrtc's remote_bitrate_estimator_abs_send_time.
import { AckedBitrateEstimator } from '../cc/acked-bitrate-estimator.js';
import { DelayBasedBwe } from '../cc/delay-based-bwe.js';
import { BandwidthUsage } from '../cc/packet-result.js';
import { ABS_SEND_TIME_UNITS_PER_S, AbsSendTimeUnwrapper, findHeaderExtensionOfLength, serializeRemb } from '../rtp/index.js';
import type { RtpHeader } from '../rtp/index.js';
import type { StageContext } from './rtp-stage.js';
import type { TimedStage } from './stage-scheduler.js';

export interface RembGeneratorOptions {
  /** REMB at least this often while packets arrive (GCC: every second). */
  intervalMs?: number;
  /** A REMB goes out at once when the estimate is this fraction below the last one sent (GCC, libwebrtc: 3%). */
  dropFraction?: number;
  /** The estimator's AIMD step runs this often while packets arrive (at once when the detector enters over-use). */
  updateIntervalMs?: number;
  /** No REMB during the first this many ms of packets (unless the estimate falls): the incoming rate is unknown. */
  warmupMs?: number;
  /** After the warm-up the estimate starts at max(this, incoming rate). */
  startBps?: number;
  minBps?: number;
  maxBps?: number;
  /** The SSRCs a REMB names (the transport's incoming video streams); empty: the last packet's SSRC. */
  mediaSsrcs?: () => readonly number[];
}

/** Defaults, in one place (start, min and max as the send-side estimator and its controller). */
export const REMB_DEFAULTS = {
  intervalMs: 1000, dropFraction: 0.03, updateIntervalMs: 100, warmupMs: 1000, startBps: 1_000_000, minBps: 30_000,
  maxBps: 10_000_000,
} as const;

const MS_PER_UNIT = 1000 / ABS_SEND_TIME_UNITS_PER_S;
/** A gap in arrivals this long makes the next abs-send-time value ambiguous (half the 64 s wrap): start over. */
const UNWRAP_RESET_GAP_MS = 30_000;

/** What the receive-side estimator needs of the RTP receive path (the PeerConnection's demuxer calls it). */
export interface AbsSendTimeRecorder {
  /** Negotiated id of the abs-send-time header extension; 0 = not in use (nothing recorded). */
  readonly extensionId: number;
  /** Hot path: one decrypted, parsed RTP packet read at `arrivalMs`. */
  recordRtp(buf: Uint8Array, h: RtpHeader, arrivalMs: number): void;
}

/**
 * One per PeerConnection, created once a receiving m-line negotiated it. Implements the demuxer's recorder interface
 * (`extensionId` is the abs-send-time id, 0 = off); hot path per packet: unwrap, two estimator updates, no allocation.
 */
export class RembGenerator implements TimedStage, AbsSendTimeRecorder {
  private readonly ctx: StageContext;
  private readonly intervalMs: number;
  private readonly keepRatio: number;
  private readonly updateIntervalMs: number;
  private readonly warmupMs: number;
  private readonly startBps: number;
  private readonly mediaSsrcs: (() => readonly number[]) | undefined;
  private readonly unwrapper = new AbsSendTimeUnwrapper();
  private readonly delay: DelayBasedBwe;
  private readonly incoming = new AckedBitrateEstimator();
  private deadlineMs = Infinity;
  private lastUpdateMs = -Infinity;
  private firstArrivalMs = -1;
  private lastArrivalMs = -1;
  private lastRembMs = -1;
  private lastSsrc = 0;
  private isStarted = false;
  private isClosed = false;
  extensionId = 0;
  /** Packets with an abs-send-time element fed to the estimator. */
  packetsRecorded = 0;
  /** REMB packets sent. */
  rembsSent = 0;
  /** Bitrate of the last REMB sent (bps), -1 before the first. */
  lastRembBps = -1;

  constructor(ctx: StageContext, opts: RembGeneratorOptions = {}) {
    this.ctx = ctx;
    this.intervalMs = opts.intervalMs ?? REMB_DEFAULTS.intervalMs;
    this.keepRatio = 1 - (opts.dropFraction ?? REMB_DEFAULTS.dropFraction);
    this.updateIntervalMs = opts.updateIntervalMs ?? REMB_DEFAULTS.updateIntervalMs;
    this.warmupMs = opts.warmupMs ?? REMB_DEFAULTS.warmupMs;
    const minBps = opts.minBps ?? REMB_DEFAULTS.minBps;
    const maxBps = Math.max(opts.maxBps ?? REMB_DEFAULTS.maxBps, minBps);
    this.startBps = Math.min(Math.max(opts.startBps ?? REMB_DEFAULTS.startBps, minBps), maxBps);
    this.mediaSsrcs = opts.mediaSsrcs;
    this.delay = new DelayBasedBwe({ startBps: this.startBps, minBps, maxBps });
    ctx.scheduler.add(this);
  }

  /** Sets the negotiated abs-send-time id (0 stops recording and REMB). */
  setExtensionId(id: number): void {
    this.extensionId = this.isClosed ? 0 : id;
    if (this.extensionId === 0) this.deadlineMs = Infinity;
  }

  /** The receive-side estimate (bps). */
  get estimateBps(): number {
    return this.delay.estimateBps;
  }

  /** The incoming bitrate (bps) of the packets fed, or -1 before the first full window. */
  get incomingBps(): number {
    return this.incoming.bitrateBps();
  }

  get delayState(): BandwidthUsage {
    return this.delay.state;
  }

  recordRtp(buf: Uint8Array, h: RtpHeader, arrivalMs: number): void {
    if (this.extensionId === 0 || !h.extension) return;
    const at = findHeaderExtensionOfLength(buf, h, this.extensionId, 3);
    if (at < 0) return;
    this.record((buf[at]! << 16) | (buf[at + 1]! << 8) | buf[at + 2]!, arrivalMs, buf.length, h.ssrc);
  }

  /** One packet: its 24-bit abs-send-time, arrival in our clock, whole RTP size and SSRC. Hot path. */
  record(absSendTime24: number, arrivalMs: number, sizeBytes: number, ssrc: number): void {
    if (this.extensionId === 0) return;
    if (this.lastArrivalMs >= 0 && arrivalMs - this.lastArrivalMs > UNWRAP_RESET_GAP_MS) this.unwrapper.reset();
    const sendMs = this.unwrapper.unwrap(absSendTime24) * MS_PER_UNIT;
    if (this.firstArrivalMs < 0) this.firstArrivalMs = arrivalMs;
    this.lastArrivalMs = arrivalMs;
    this.lastSsrc = ssrc;
    this.packetsRecorded++;
    this.incoming.add(arrivalMs, sizeBytes);
    const delay = this.delay;
    delay.beginFeedback(arrivalMs);
    const overuses = delay.overuseEvents;
    delay.onPacket(sendMs, arrivalMs, sizeBytes, arrivalMs);
    if (delay.overuseEvents !== overuses) {
      // Entered over-use: the estimate moves (and a lower REMB goes out) now, not at the next tick.
      this.deadlineMs = arrivalMs;
      this.ctx.scheduler.wake(arrivalMs);
    } else if (this.deadlineMs === Infinity) {
      this.deadlineMs = Math.max(arrivalMs, this.lastUpdateMs + this.updateIntervalMs);
      this.ctx.scheduler.wake(this.deadlineMs);
    }
  }

  nextDeadlineMs(): number {
    return this.deadlineMs;
  }

  handleTimeout(nowMs: number): void {
    this.deadlineMs = Infinity;
    this.lastUpdateMs = nowMs;
    if (this.firstArrivalMs < 0) return;
    const delay = this.delay;
    const incomingBps = this.incoming.rateForDecreaseBps(delay.state === BandwidthUsage.overusing);
    delay.endFeedback(incomingBps, -1, nowMs);
    if (!this.isStarted) {
      // Without a decrease, nothing to say until the incoming rate is known; then start from it (at least startBps).
      if (delay.decreases === 0) {
        if (nowMs - this.firstArrivalMs < this.warmupMs) return;
        if (incomingBps > this.startBps) delay.rateControl.setEstimate(incomingBps, nowMs);
      }
      this.isStarted = true;
    }
    const bps = Math.round(delay.estimateBps);
    if (this.lastRembMs < 0 || nowMs - this.lastRembMs >= this.intervalMs || bps < this.lastRembBps * this.keepRatio) {
      this.sendRemb(bps, nowMs);
    }
  }

  close(): void {
    if (this.isClosed) return;
    this.isClosed = true;
    this.extensionId = 0;
    this.deadlineMs = Infinity;
    this.ctx.scheduler.remove(this);
  }

  private sendRemb(bps: number, nowMs: number): void {
    const listed = this.mediaSsrcs?.() ?? [];
    const ssrcs = listed.length > 0 ? listed.slice(0, 255) : [this.lastSsrc];
    this.lastRembMs = nowMs;
    this.lastRembBps = bps;
    this.rembsSent++;
    this.ctx.sendRtcpBytes(serializeRemb({ type: 'remb', senderSsrc: this.ctx.localSsrc, bitrateBps: bps, ssrcs }));
  }
}

/** A factory for PeerConnection options and tests. */
export function rembGenerator(opts: RembGeneratorOptions = {}): (ctx: StageContext) => RembGenerator {
  return (ctx) => new RembGenerator(ctx, opts);
}
