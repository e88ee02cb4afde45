// Send stage, last before encryption: writes the transport-wide sequence number
// (draft-holmer-rmcat-transport-wide-cc-extensions-01 §2) and abs-send-time (webrtc.org abs-send-time, 6.18 fixed
// point seconds) into packets that carry those elements, and records each stamped packet's send time and size for a
// send-side bandwidth estimator. One sequence counter per transport, whatever stream the packet belongs to.
import { HeaderExtensionUri } from '../sdp/capabilities.js';
import { findHeaderExtension, headerExtensionLength } from '../rtp/index.js';
import type { RtpHeader } from '../rtp/index.js';
import type {
  RtpSendStage, SendStageFactory, SendStreamInfo, StageContext, TransportSendStage,
} from './rtp-stage.js';

/** Ring of recently stamped packets by transport-wide sequence number (extended, so it never wraps). */
export class SendHistory {
  readonly capacity: number;
  private readonly seqs: Float64Array;
  private readonly sendMs: Float64Array;
  private readonly sizes: Uint16Array;
  private readonly clusters: Int32Array;
  /** Extended transport-wide sequence number of the newest entry, -1 before any. */
  newestSeq = -1;

  constructor(capacity = 8192) {
    this.capacity = capacity;
    this.seqs = new Float64Array(capacity).fill(-1);
    this.sendMs = new Float64Array(capacity);
    this.sizes = new Uint16Array(capacity);
    this.clusters = new Int32Array(capacity).fill(-1);
  }

  /** `probeClusterId`: the probe cluster the packet was sent in, -1 for none. */
  record(extSeq: number, sendMs: number, sizeBytes: number, probeClusterId = -1): void {
    const slot = extSeq % this.capacity;
    this.seqs[slot] = extSeq;
    this.sendMs[slot] = sendMs;
    this.sizes[slot] = Math.min(sizeBytes, 0xffff);
    this.clusters[slot] = probeClusterId;
    this.newestSeq = extSeq;
  }

  /** Send time of a packet, or -1 when it is no longer (or never was) in the ring. */
  sendTimeMs(extSeq: number): number {
    const slot = extSeq % this.capacity;
    return this.seqs[slot] === extSeq ? this.sendMs[slot]! : -1;
  }

  /** Size in bytes of a packet, or -1 when unknown. */
  sizeBytes(extSeq: number): number {
    const slot = extSeq % this.capacity;
    return this.seqs[slot] === extSeq ? this.sizes[slot]! : -1;
  }

  /** The probe cluster a packet was sent in (padding or media), or -1 when none or unknown. */
  probeClusterId(extSeq: number): number {
    const slot = extSeq % this.capacity;
    return this.seqs[slot] === extSeq ? this.clusters[slot]! : -1;
  }
}

class StampStreamStage implements RtpSendStage {
  private readonly owner: HeaderStampStage;
  private readonly stream: SendStreamInfo;
  private readonly next: RtpSendStage;
  private cachedVersion = -1;
  private transportCcId = 0;
  private absSendTimeId = 0;

  constructor(owner: HeaderStampStage, stream: SendStreamInfo, next: RtpSendStage) {
    this.owner = owner;
    this.stream = stream;
    this.next = next;
  }

  send(buf: Buffer, h: RtpHeader): void {
    if (h.extension) {
      if (this.cachedVersion !== this.stream.negotiationVersion) {
        this.cachedVersion = this.stream.negotiationVersion;
        this.transportCcId = this.stream.extensionId(HeaderExtensionUri.transportCc);
        this.absSendTimeId = this.stream.extensionId(HeaderExtensionUri.absSendTime);
      }
      if (this.transportCcId !== 0 || this.absSendTimeId !== 0) this.owner.stamp(buf, h, this.transportCcId, this.absSendTimeId);
    }
    this.next.send(buf, h);
  }
}

export class HeaderStampStage implements TransportSendStage {
  private readonly ctx: StageContext;
  /** Next transport-wide sequence number, extended (the wire carries the low 16 bits). */
  private nextSeq = 0;
  readonly history: SendHistory;
  packetsStamped = 0;
  /**
   * The probe cluster of the packets being sent right now, -1 outside a cluster. The pacer sets it around each send
   * during a cluster, so the history marks what actually left in the cluster.
   */
  probeClusterId = -1;

  constructor(ctx: StageContext, opts: { historySize?: number } = {}) {
    this.ctx = ctx;
    this.history = new SendHistory(opts.historySize);
  }

  bindLocalStream(stream: SendStreamInfo, next: RtpSendStage): RtpSendStage | null {
    return new StampStreamStage(this, stream, next);
  }

  unbindLocalStream(): void {}

  /** Writes the elements the packet carries (ids 0 = not negotiated); hot path. */
  stamp(buf: Buffer, h: RtpHeader, transportCcId: number, absSendTimeId: number): void {
    const nowMs = this.ctx.clock.nowMs();
    if (transportCcId !== 0) {
      const at = findHeaderExtension(buf, h, transportCcId);
      if (at >= 0 && headerExtensionLength(buf, h, transportCcId) === 2) {
        const seq = this.nextSeq++;
        buf[at] = (seq >>> 8) & 0xff;
        buf[at + 1] = seq & 0xff;
        this.history.record(seq, nowMs, buf.length, this.probeClusterId);
        this.packetsStamped++;
      }
    }
    if (absSendTimeId !== 0) {
      const at = findHeaderExtension(buf, h, absSendTimeId);
      if (at >= 0 && headerExtensionLength(buf, h, absSendTimeId) === 3) {
        // 6.18 fixed point seconds, 24 bits: 2^18 units per second.
        const units = Math.floor((nowMs * 262144) / 1000) & 0xffffff;
        buf[at] = units >>> 16;
        buf[at + 1] = (units >>> 8) & 0xff;
        buf[at + 2] = units & 0xff;
      }
    }
  }

  close(): void {}
}

export function headerStampStage(opts: { historySize?: number } = {}): SendStageFactory {
  return (ctx) => new HeaderStampStage(ctx, opts);
}
