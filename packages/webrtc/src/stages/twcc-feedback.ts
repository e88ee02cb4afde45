// Transport-wide congestion control feedback towards a sender (draft-holmer-rmcat-transport-wide-cc-extensions-01):
// records the arrival of every packet of the transport that carries a transport-wide sequence number (media, RTX,
// padding probes) and reports them in RTPFB FMT 15 packets on the transport's stage scheduler, so the sender's own
// estimator (Chromium's GoogCC) can run. Modelled on what libwebrtc's receiver does (remote_estimator_proxy).
import { SeqUnwrapper, TwccFeedbackWriter, TWCC_REFERENCE_UNIT_MS, findHeaderExtensionOfLength } from '../rtp/index.js';
import type { RtpHeader } from '../rtp/index.js';
import type { StageContext } from './rtp-stage.js';
import type { TimedStage } from './stage-scheduler.js';

export interface TwccFeedbackOptions {
  /** Time between feedback packets while packets arrive (libwebrtc: 50 ms from about 220 kbit/s up). */
  intervalMs?: number;
  /** Pending packets that make feedback go out at once instead of at the next interval. */
  urgentPackets?: number;
  /** Size limit of one feedback packet in bytes (more pending packets are split over several). */
  maxFeedbackBytes?: number;
  /**
   * Packets whose arrival is kept (a ring of 16 bytes each, allocated once the extension is negotiated); a packet this
   * far behind the newest is too old to report. 4096 is about 2 s at 20 Mbit/s.
   */
  historySize?: number;
  /** Reported packets older than this (behind the newest arrival) are forgotten (libwebrtc: 500 ms). */
  backWindowMs?: number;
}

const defaults = { intervalMs: 50, urgentPackets: 200, maxFeedbackBytes: 1200, historySize: 4096, backWindowMs: 500 } as const;

/** What a sender's transport-wide feedback needs of the RTP receive path (the PeerConnection's demuxer calls it). */
export interface TransportSeqRecorder {
  /** Negotiated id of the transport-cc header extension on this transport; 0 = not negotiated (nothing recorded). */
  readonly extensionId: number;
  /** Hot path: one decrypted, parsed RTP packet read at `arrivalMs`. */
  recordRtp(buf: Uint8Array, h: RtpHeader, arrivalMs: number): void;
}

const US_PER_TICK = 250;
const US_PER_REFERENCE = TWCC_REFERENCE_UNIT_MS * 1000;
/** libwebrtc reports at most this many statuses before the first received packet of a feedback. */
const MAX_MISSING_BEFORE_FIRST = 0x7ffe;
/** Added to unwrapped sequence numbers so that packets late from before the first one stay >= 0. */
const SEQ_OFFSET = 0x10000;

export class TwccFeedbackGenerator implements TimedStage, TransportSeqRecorder {
  private readonly ctx: StageContext;
  private readonly intervalMs: number;
  private readonly urgentPackets: number;
  private readonly backWindowUs: number;
  private readonly capacity: number;
  private readonly writer: TwccFeedbackWriter;
  private readonly unwrapper = new SeqUnwrapper();
  /**
   * Ring by extended sequence number: which number a slot holds (-1: none) and its arrival in µs. Allocated when the
   * extension is first negotiated, so a transport that never receives (a subscriber's) holds none.
   */
  private slotSeq = new Float64Array(0);
  private slotArrivalUs = new Float64Array(0);
  /** Extended sequence numbers [beginSeq, endSeq) may be in the ring; empty when equal. */
  private beginSeq = 0;
  private endSeq = 0;
  /** Sequence numbers below this were forgotten (reported and old, or pushed out of the ring): too late to report. */
  private forgottenBelowSeq = -1;
  /** First sequence number the next feedback covers; -1 before any packet. */
  private windowStartSeq = -1;
  private deadlineMs = Infinity;
  private lastFeedbackMs = -Infinity;
  private mediaSsrc = 0;
  private fbPktCount = 0;
  private isClosed = false;
  /** Feedback is due at once (many packets pending); cleared when it went out. */
  private isUrgent = false;
  extensionId = 0;
  /** Packets recorded (first arrival of each transport-wide sequence number). */
  packetsRecorded = 0;
  /** Packets whose sequence number had already arrived (not recorded again). */
  duplicatePackets = 0;
  /** Late packets not recorded: their sequence number was already forgotten (see `backWindowMs`, `historySize`). */
  stalePackets = 0;
  /** RTPFB FMT 15 packets sent. */
  feedbackPacketsSent = 0;

  constructor(ctx: StageContext, opts: TwccFeedbackOptions = {}) {
    this.ctx = ctx;
    this.intervalMs = opts.intervalMs ?? defaults.intervalMs;
    this.urgentPackets = opts.urgentPackets ?? defaults.urgentPackets;
    this.backWindowUs = (opts.backWindowMs ?? defaults.backWindowMs) * 1000;
    // Within 0x7ffe a feedback never needs more missing statuses before its first packet than libwebrtc allows.
    this.capacity = Math.min(Math.max(16, opts.historySize ?? defaults.historySize), MAX_MISSING_BEFORE_FIRST);
    this.writer = new TwccFeedbackWriter({ maxSizeBytes: opts.maxFeedbackBytes ?? defaults.maxFeedbackBytes });
    ctx.scheduler.add(this);
  }

  /** Sets the negotiated extension id (0 stops recording; what was recorded is still reported). */
  setExtensionId(id: number): void {
    this.extensionId = this.isClosed ? 0 : id;
    if (this.extensionId !== 0 && this.slotSeq.length === 0) {
      this.slotSeq = new Float64Array(this.capacity).fill(-1);
      this.slotArrivalUs = new Float64Array(this.capacity);
    }
  }

  /** Packets recorded and not yet reported. */
  get pendingPackets(): number {
    return this.windowStartSeq < 0 ? 0 : this.endSeq - this.windowStartSeq;
  }

  recordRtp(buf: Uint8Array, h: RtpHeader, arrivalMs: number): void {
    if (this.extensionId === 0 || !h.extension) return;
    const at = findHeaderExtensionOfLength(buf, h, this.extensionId, 2);
    if (at < 0) return;
    this.record((buf[at]! << 8) | buf[at + 1]!, arrivalMs, h.ssrc);
  }

  /** Records one arrival of 16-bit transport-wide sequence number `seq16` on a packet of `ssrc`. Hot path. */
  record(seq16: number, arrivalMs: number, ssrc: number): void {
    if (this.isClosed || this.slotSeq.length === 0) return;
    const seq = this.unwrapper.unwrap(seq16) + SEQ_OFFSET;
    const slot = seq % this.capacity;
    if (this.beginSeq === this.endSeq) {
      this.beginSeq = seq;
      this.endSeq = seq + 1;
    } else if (seq >= this.endSeq) {
      this.endSeq = seq + 1;
      if (this.endSeq - this.beginSeq > this.capacity) {
        this.beginSeq = this.endSeq - this.capacity;
        this.forgottenBelowSeq = this.beginSeq;
      }
    } else if (seq < this.beginSeq) {
      // Late, from before the first recorded packet: keep it if the ring has room; forgotten ones stay forgotten.
      if (seq < this.forgottenBelowSeq || this.endSeq - seq > this.capacity) {
        this.stalePackets++;
        return;
      }
      this.beginSeq = seq;
    }
    if (this.slotSeq[slot] === seq) {
      this.duplicatePackets++;
      return;
    }
    this.slotSeq[slot] = seq;
    this.slotArrivalUs[slot] = arrivalMs * 1000;
    this.packetsRecorded++;
    this.mediaSsrc = ssrc;
    if (this.windowStartSeq < 0 || seq < this.windowStartSeq) this.windowStartSeq = seq;
    if (this.windowStartSeq < this.beginSeq) this.windowStartSeq = this.beginSeq;
    // The clock is read once per interval (arming) and once when feedback becomes urgent, not per packet.
    if (this.deadlineMs === Infinity) {
      this.deadlineMs = Math.max(this.ctx.clock.nowMs(), this.lastFeedbackMs + this.intervalMs);
      this.ctx.scheduler.wake(this.deadlineMs);
    } else if (!this.isUrgent && this.endSeq - this.windowStartSeq >= this.urgentPackets) {
      this.isUrgent = true;
      this.deadlineMs = this.ctx.clock.nowMs();
      this.ctx.scheduler.wake(this.deadlineMs);
    }
  }

  nextDeadlineMs(): number {
    return this.deadlineMs;
  }

  handleTimeout(nowMs: number): void {
    this.deadlineMs = Infinity;
    this.isUrgent = false;
    this.lastFeedbackMs = nowMs;
    this.sendFeedback();
    this.forgetReported();
  }

  close(): void {
    if (this.isClosed) return;
    this.isClosed = true;
    this.extensionId = 0;
    this.deadlineMs = Infinity;
    this.ctx.scheduler.remove(this);
  }

  private isReceived(seq: number): boolean {
    return this.slotSeq[seq % this.capacity] === seq;
  }

  /** Reports [windowStartSeq, endSeq) in as many packets as it takes; trailing losses wait for a later packet. */
  private sendFeedback(): void {
    if (this.windowStartSeq < 0) return;
    const w = this.writer;
    while (this.windowStartSeq < this.endSeq) {
      let first = this.windowStartSeq;
      while (first < this.endSeq && !this.isReceived(first)) first++;
      if (first >= this.endSeq) {
        this.windowStartSeq = this.endSeq;
        break;
      }
      const baseSeq = Math.max(this.windowStartSeq, first - MAX_MISSING_BEFORE_FIRST);
      // The reference time is the first packet's arrival rounded down to 64 ms; its delta counts from there.
      const reference = Math.floor(this.slotArrivalUs[first % this.capacity]! / US_PER_REFERENCE);
      w.start({
        senderSsrc: this.ctx.localSsrc, mediaSsrc: this.mediaSsrc, baseSeq, referenceTime64ms: reference, fbPktCount: this.fbPktCount,
      });
      // The time the sender reconstructs from our rounded deltas, so rounding errors do not add up.
      let reportedUs = reference * US_PER_REFERENCE;
      let next = baseSeq;
      for (let seq = first; seq < this.endSeq; seq++) {
        if (!this.isReceived(seq)) continue;
        const ticks = Math.round((this.slotArrivalUs[seq % this.capacity]! - reportedUs) / US_PER_TICK);
        // Full (size) or a delta beyond 16 bits: this packet ends here, the next starts at `seq`.
        if (!w.addReceived(seq - next, ticks)) break;
        reportedUs += ticks * US_PER_TICK;
        next = seq + 1;
      }
      if (w.packetStatusCount === 0) {
        // Cannot happen (the first delta is under 64 ms); never loop on it.
        this.windowStartSeq = first + 1;
        continue;
      }
      this.fbPktCount = (this.fbPktCount + 1) & 0xff;
      this.windowStartSeq = next;
      this.feedbackPacketsSent++;
      this.ctx.sendRtcpBytes(w.finish());
    }
  }

  /**
   * Forgets reported packets that arrived more than the back window before the newest one. Reported packets are kept
   * that long because a late packet from before the window start makes the next feedback report again from there.
   */
  private forgetReported(): void {
    if (this.beginSeq === this.endSeq) return;
    const newestSlot = (this.endSeq - 1) % this.capacity;
    if (this.slotSeq[newestSlot] !== this.endSeq - 1) return;
    const cutoffUs = this.slotArrivalUs[newestSlot]! - this.backWindowUs;
    while (this.beginSeq < this.windowStartSeq) {
      const slot = this.beginSeq % this.capacity;
      if (this.slotSeq[slot] === this.beginSeq && this.slotArrivalUs[slot]! >= cutoffUs) break;
      this.beginSeq++;
    }
    if (this.beginSeq > this.forgottenBelowSeq) this.forgottenBelowSeq = this.beginSeq;
  }
}

/** A factory for PeerConnection options and tests. */
export function twccFeedbackGenerator(opts: TwccFeedbackOptions = {}): (ctx: StageContext) => TwccFeedbackGenerator {
  return (ctx) => new TwccFeedbackGenerator(ctx, opts);
}
