// Turns the subscriber's transport-wide congestion control feedback (RTPFB FMT 15, draft-holmer-rmcat-transport-wide-
// cc-extensions-01 §3.1) into per-packet results for the send-side estimator: each reported sequence number is matched
// with what the header-stamp stage recorded when the packet left (send time, size, probe cluster), and the receive
// deltas are summed from the reference time into arrival times in the receiver's clock.
import type { TransportWideFeedback } from '../rtp/index.js';
import type { SendHistory } from '../stages/header-stamp-stage.js';
import type { PacketResult } from './packet-result.js';

/** The 24-bit reference time wraps after 2^24 units of 64 ms. */
const REFERENCE_WRAP_MS = 2 ** 24 * 64;

export class TransportFeedbackAdapter {
  private readonly history: SendHistory;
  private readonly results: PacketResult[] = [];
  private count = 0;
  private lastReferenceMs = -1;
  private referenceOffsetMs = 0;
  feedbacks = 0;
  packetsReported = 0;
  packetsLost = 0;
  /** Reported packets we no longer (or never) had in the send history. */
  packetsUnknown = 0;

  constructor(history: SendHistory) {
    this.history = history;
  }

  /**
   * The known packets of one feedback, in sequence order. The returned array and its objects are reused by the next
   * call. Packets older than the history or never sent are left out (counted in packetsUnknown).
   */
  convert(fb: TransportWideFeedback): readonly PacketResult[] {
    this.feedbacks++;
    this.count = 0;
    const history = this.history;
    const newest = history.newestSeq;
    if (newest < 0) return this.view();
    let referenceMs = fb.referenceTimeMs;
    if (this.lastReferenceMs >= 0) {
      const step = referenceMs + this.referenceOffsetMs - this.lastReferenceMs;
      if (step < -REFERENCE_WRAP_MS / 2) this.referenceOffsetMs += REFERENCE_WRAP_MS;
      else if (step > REFERENCE_WRAP_MS / 2) this.referenceOffsetMs -= REFERENCE_WRAP_MS;
    }
    referenceMs += this.referenceOffsetMs;
    this.lastReferenceMs = referenceMs;
    // Extended number of the base: the value nearest to what we last sent (feedback never runs ahead of our sends).
    const diff = ((fb.baseSeq - (newest & 0xffff) + 0x8000) & 0xffff) - 0x8000;
    const baseExt = newest + diff;
    let arrivalUs = referenceMs * 1000;
    const packets = fb.packets;
    for (let i = 0; i < packets.length; i++) {
      const p = packets[i]!;
      const ext = baseExt + i;
      if (p.received && p.deltaUs !== undefined) arrivalUs += p.deltaUs;
      this.packetsReported++;
      if (ext < 0) {
        this.packetsUnknown++;
        continue;
      }
      const sendMs = history.sendTimeMs(ext);
      if (sendMs < 0) {
        this.packetsUnknown++;
        continue;
      }
      const r = this.slot();
      r.seq = ext;
      r.sendMs = sendMs;
      r.sizeBytes = history.sizeBytes(ext);
      r.probeClusterId = history.probeClusterId(ext);
      if (p.received) {
        // Feedback without deltas says a packet arrived but not when: nothing for the estimator to use; left out.
        r.arrivalMs = p.deltaUs === undefined ? -1 : arrivalUs / 1000;
        if (p.deltaUs === undefined) this.count--;
      } else {
        r.arrivalMs = -1;
        this.packetsLost++;
      }
    }
    return this.view();
  }

  private slot(): PacketResult {
    let r = this.results[this.count];
    if (r === undefined) {
      r = { seq: 0, sendMs: 0, sizeBytes: 0, arrivalMs: -1, probeClusterId: -1 };
      this.results.push(r);
    }
    this.count++;
    return r;
  }

  private view(): readonly PacketResult[] {
    // A length-limited view without copying: the array keeps its spare slots for the next feedback.
    if (this.results.length !== this.count) this.results.length = this.count;
    return this.results;
  }
}
