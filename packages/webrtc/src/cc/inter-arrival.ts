// Groups packets into send-time bursts and yields the deltas between consecutive groups (draft-ietf-rmcat-gcc-02
// §5.2; libwebrtc InterArrival): a group is the packets sent within 5 ms of its first one, plus packets that arrive
// in a burst behind it (arrival gap <= 5 ms and less propagation time than the send gap, at most 100 ms long).

const GROUP_LENGTH_MS = 5;
const BURST_DELTA_MS = 5;
const MAX_BURST_MS = 100;
/** An arrival gap this much longer than the gap between our processing times means the receiver clock jumped. */
const ARRIVAL_OFFSET_RESET_MS = 3000;
/** This many groups in a row arriving before their predecessor reset the state. */
const REORDERED_RESET = 3;

/** Deltas between the last two complete groups, filled by `InterArrival.add` when it returns true. */
export interface GroupDeltas {
  sendDeltaMs: number;
  arrivalDeltaMs: number;
  sizeDeltaBytes: number;
  /** Arrival time of the last packet of the newer group (receiver clock). */
  arrivalMs: number;
  /** Send time of the newer group. */
  sendMs: number;
}

/** One send-time group; reused, never reallocated. */
class Group {
  firstSendMs = -1;
  sendMs = -1;
  firstArrivalMs = -1;
  completeMs = -1;
  lastSystemMs = -1;
  sizeBytes = 0;

  isEmpty(): boolean {
    return this.completeMs < 0;
  }

  reset(): void {
    this.firstSendMs = -1;
    this.sendMs = -1;
    this.firstArrivalMs = -1;
    this.completeMs = -1;
    this.lastSystemMs = -1;
    this.sizeBytes = 0;
  }

  copyFrom(o: Group): void {
    this.firstSendMs = o.firstSendMs;
    this.sendMs = o.sendMs;
    this.firstArrivalMs = o.firstArrivalMs;
    this.completeMs = o.completeMs;
    this.lastSystemMs = o.lastSystemMs;
    this.sizeBytes = o.sizeBytes;
  }
}

export class InterArrival {
  private current = new Group();
  private prev = new Group();
  private reorderedGroups = 0;
  /** Groups completed since the last reset (for tests and diagnostics). */
  groupsCompleted = 0;

  /**
   * Adds one received packet (in arrival order). Returns true when it closed a group and `out` holds the deltas
   * between the two last complete groups.
   */
  add(sendMs: number, arrivalMs: number, sizeBytes: number, systemMs: number, out: GroupDeltas): boolean {
    const cur = this.current;
    let computed = false;
    if (cur.firstSendMs < 0) {
      cur.firstSendMs = sendMs;
      cur.sendMs = sendMs;
      cur.firstArrivalMs = arrivalMs;
    } else if (sendMs < cur.firstSendMs) {
      return false; // sent before the group began: reordered, ignored
    } else if (this.isNewGroup(sendMs, arrivalMs)) {
      const prev = this.prev;
      if (!prev.isEmpty()) {
        const sendDelta = cur.sendMs - prev.sendMs;
        const arrivalDelta = cur.completeMs - prev.completeMs;
        const systemDelta = cur.lastSystemMs - prev.lastSystemMs;
        if (arrivalDelta - systemDelta >= ARRIVAL_OFFSET_RESET_MS) {
          this.reset();
          // Start over with this packet as the first of a new group.
          this.current.firstSendMs = sendMs;
          this.current.sendMs = sendMs;
          this.current.firstArrivalMs = arrivalMs;
          this.current.sizeBytes = sizeBytes;
          this.current.completeMs = arrivalMs;
          this.current.lastSystemMs = systemMs;
          return false;
        }
        if (arrivalDelta < 0) {
          this.reorderedGroups++;
          if (this.reorderedGroups >= REORDERED_RESET) this.reset();
          return false;
        }
        this.reorderedGroups = 0;
        out.sendDeltaMs = sendDelta;
        out.arrivalDeltaMs = arrivalDelta;
        out.sizeDeltaBytes = cur.sizeBytes - prev.sizeBytes;
        out.arrivalMs = cur.completeMs;
        out.sendMs = cur.sendMs;
        this.groupsCompleted++;
        computed = true;
      }
      prev.copyFrom(cur);
      cur.firstSendMs = sendMs;
      cur.sendMs = sendMs;
      cur.firstArrivalMs = arrivalMs;
      cur.sizeBytes = 0;
    } else if (sendMs > cur.sendMs) {
      cur.sendMs = sendMs;
    }
    cur.sizeBytes += sizeBytes;
    cur.completeMs = arrivalMs;
    cur.lastSystemMs = systemMs;
    return computed;
  }

  reset(): void {
    this.current.reset();
    this.prev.reset();
    this.reorderedGroups = 0;
  }

  private isNewGroup(sendMs: number, arrivalMs: number): boolean {
    const cur = this.current;
    if (cur.isEmpty()) return false;
    if (this.belongsToBurst(sendMs, arrivalMs)) return false;
    return sendMs - cur.firstSendMs > GROUP_LENGTH_MS;
  }

  /** A packet that arrives right behind the group, having queued less than its send gap, extends the group. */
  private belongsToBurst(sendMs: number, arrivalMs: number): boolean {
    const cur = this.current;
    const arrivalDelta = arrivalMs - cur.completeMs;
    const sendDelta = sendMs - cur.sendMs;
    if (sendDelta === 0) return true;
    const propagationDelta = arrivalDelta - sendDelta;
    return propagationDelta < 0 && arrivalDelta <= BURST_DELTA_MS && arrivalMs - cur.firstArrivalMs < MAX_BURST_MS;
  }
}
