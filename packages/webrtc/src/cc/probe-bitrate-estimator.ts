// Rate measured by a probe cluster (libwebrtc ProbeBitrateEstimator; the probing of draft-ietf-rmcat-gcc-02 §5 leaves
// it to the implementation). Once a cluster has >= 5 packets received and >= 80% of its reported packets received,
// send rate = bytes minus the last sent / send span, receive rate = bytes minus the first received / arrival span;
// the result is min of both, or 95% of the receive rate when that is below 90% of the send rate (the probe found the
// bottleneck). Spans over 1 s or receive/send ratios over 2 are not trusted. Clusters older than 1 s are forgotten.

export interface ProbeEstimatorOptions {
  /** Fewest received packets in a cluster before it gives a result (5). */
  minPackets?: number;
  /** Fewest received / reported packets in a cluster (0.8). */
  minReceivedRatio?: number;
}

const MAX_VALID_RATIO = 2;
const MIN_RATIO_FOR_UNSATURATED = 0.9;
const TARGET_UTILIZATION = 0.95;
const MAX_SPAN_MS = 1000;
const CLUSTER_HISTORY_MS = 1000;

class Cluster {
  id = -1;
  firstSendMs = Number.POSITIVE_INFINITY;
  lastSendMs = Number.NEGATIVE_INFINITY;
  lastSendSize = 0;
  firstArrivalMs = Number.POSITIVE_INFINITY;
  lastArrivalMs = Number.NEGATIVE_INFINITY;
  firstArrivalSize = 0;
  totalBytes = 0;
  received = 0;
  lost = 0;
  /** Latest time (our clock) a packet of the cluster was reported. */
  touchedMs = 0;

  init(id: number): void {
    this.id = id;
    this.firstSendMs = Number.POSITIVE_INFINITY;
    this.lastSendMs = Number.NEGATIVE_INFINITY;
    this.lastSendSize = 0;
    this.firstArrivalMs = Number.POSITIVE_INFINITY;
    this.lastArrivalMs = Number.NEGATIVE_INFINITY;
    this.firstArrivalSize = 0;
    this.totalBytes = 0;
    this.received = 0;
    this.lost = 0;
  }
}

export class ProbeBitrateEstimator {
  private readonly minPackets: number;
  private readonly minReceivedRatio: number;
  /** A handful of live clusters; probes are sent one cluster at a time. */
  private readonly clusters: Cluster[] = [];
  private pendingBps = -1;
  lastEstimateBps = -1;
  lastClusterId = -1;

  constructor(opts: ProbeEstimatorOptions = {}) {
    this.minPackets = opts.minPackets ?? 5;
    this.minReceivedRatio = opts.minReceivedRatio ?? 0.8;
  }

  /** Adds one probe packet result; `nowMs` is our clock. Returns the cluster's rate so far, or -1. */
  add(clusterId: number, sendMs: number, arrivalMs: number, sizeBytes: number, nowMs: number): number {
    const c = this.cluster(clusterId, nowMs);
    c.touchedMs = nowMs;
    if (arrivalMs < 0) {
      c.lost++;
      return -1;
    }
    if (sendMs < c.firstSendMs) c.firstSendMs = sendMs;
    if (sendMs > c.lastSendMs) {
      c.lastSendMs = sendMs;
      c.lastSendSize = sizeBytes;
    }
    if (arrivalMs < c.firstArrivalMs) {
      c.firstArrivalMs = arrivalMs;
      c.firstArrivalSize = sizeBytes;
    }
    if (arrivalMs > c.lastArrivalMs) c.lastArrivalMs = arrivalMs;
    c.totalBytes += sizeBytes;
    c.received++;

    if (c.received < this.minPackets || c.received < this.minReceivedRatio * (c.received + c.lost)) return -1;
    const sendSpanMs = c.lastSendMs - c.firstSendMs;
    const arrivalSpanMs = c.lastArrivalMs - c.firstArrivalMs;
    if (sendSpanMs <= 0 || sendSpanMs > MAX_SPAN_MS || arrivalSpanMs <= 0 || arrivalSpanMs > MAX_SPAN_MS) return -1;
    // The last sent packet's transmission is not inside the send span, nor the first received one's in the arrival span.
    const sendBps = (8000 * (c.totalBytes - c.lastSendSize)) / sendSpanMs;
    const receiveBps = (8000 * (c.totalBytes - c.firstArrivalSize)) / arrivalSpanMs;
    if (receiveBps / sendBps > MAX_VALID_RATIO) return -1;
    let bps = Math.min(sendBps, receiveBps);
    if (receiveBps < MIN_RATIO_FOR_UNSATURATED * sendBps) bps = TARGET_UTILIZATION * receiveBps;
    this.pendingBps = bps;
    this.lastEstimateBps = bps;
    this.lastClusterId = clusterId;
    return bps;
  }

  /** The latest result since the last call (-1 none), then forgets it. */
  takeResult(): number {
    const r = this.pendingBps;
    this.pendingBps = -1;
    return r;
  }

  private cluster(id: number, nowMs: number): Cluster {
    let free: Cluster | undefined;
    for (const c of this.clusters) {
      if (c.id === id) return c;
      if (free === undefined && (c.id < 0 || nowMs - c.touchedMs > CLUSTER_HISTORY_MS)) free = c;
    }
    if (free === undefined) {
      free = new Cluster();
      this.clusters.push(free);
    }
    free.init(id);
    return free;
  }
}
