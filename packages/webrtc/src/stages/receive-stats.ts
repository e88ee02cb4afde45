// Receive statistics of one RTP stream for receiver reports: cumulative and interval loss, and
// interarrival jitter. RFC 3550 §6.4.1, §A.3 and §A.8 https://www.rfc-editor.org/rfc/rfc3550#appendix-A.3
import { timestampDelta } from '../rtp/index.js';
import type { ReportBlock } from '../rtp/index.js';

export class ReceiveStats {
  readonly clockRate: number;
  private started = false;
  private baseExt = 0;
  private highestExt = 0;
  private received = 0;
  private expectedPrior = 0;
  private receivedPrior = 0;
  private lastArrivalMs = 0;
  private lastTimestamp = 0;
  /** Interarrival jitter in timestamp units (RFC 3550 J, kept unrounded). */
  private jitterUnits = 0;
  /** Payload bytes received (excluding headers and padding). */
  bytesReceived = 0;

  constructor(clockRate: number) {
    this.clockRate = clockRate;
  }

  get packetsReceived(): number {
    return this.received;
  }
  get highestExtSeq(): number {
    return this.highestExt;
  }
  get jitterMs(): number {
    return (this.jitterUnits * 1000) / this.clockRate;
  }
  get packetsLost(): number {
    return this.started ? Math.max(0, this.highestExt - this.baseExt + 1 - this.received) : 0;
  }

  /** Per packet: extended seq, RTP timestamp, monotonic arrival ms, payload bytes. */
  update(extSeq: number, timestamp: number, arrivalMs: number, payloadBytes: number): void {
    this.received++;
    this.bytesReceived += payloadBytes;
    if (!this.started) {
      this.started = true;
      this.baseExt = extSeq;
      this.highestExt = extSeq;
      this.lastArrivalMs = arrivalMs;
      this.lastTimestamp = timestamp;
      return;
    }
    if (extSeq < this.baseExt) this.baseExt = extSeq;
    if (extSeq <= this.highestExt) return; // late or duplicate: counted, no jitter sample
    this.highestExt = extSeq;
    const arrivalUnits = ((arrivalMs - this.lastArrivalMs) * this.clockRate) / 1000;
    const d = arrivalUnits - timestampDelta(timestamp, this.lastTimestamp);
    this.jitterUnits += (Math.abs(d) - this.jitterUnits) / 16;
    this.lastArrivalMs = arrivalMs;
    this.lastTimestamp = timestamp;
  }

  /**
   * A report block for `ssrc` covering the interval since the previous call. `lastSr` is the middle
   * 32 bits of the last SR's NTP time (0 if none) and `delaySinceLastSrMs` the time since it arrived.
   */
  reportBlock(ssrc: number, lastSr: number, delaySinceLastSrMs: number): ReportBlock {
    const expected = this.started ? this.highestExt - this.baseExt + 1 : 0;
    const expectedInterval = expected - this.expectedPrior;
    const receivedInterval = this.received - this.receivedPrior;
    this.expectedPrior = expected;
    this.receivedPrior = this.received;
    const lostInterval = expectedInterval - receivedInterval;
    const fractionLost =
      expectedInterval <= 0 || lostInterval <= 0 ? 0 : Math.min(255, Math.floor((lostInterval * 256) / expectedInterval));
    const lost = Math.max(-0x800000, Math.min(0x7fffff, expected - this.received));
    return {
      ssrc,
      fractionLost,
      cumulativeLost: lost,
      highestSeq: this.highestExt >>> 0,
      jitter: Math.floor(this.jitterUnits) >>> 0,
      lastSr: lastSr >>> 0,
      delaySinceLastSr: lastSr === 0 ? 0 : Math.max(0, Math.floor((delaySinceLastSrMs * 65536) / 1000)) >>> 0,
    };
  }
}
