// The pacer's options with their defaults, and the shapes of its probe cluster requests and results
// (pacer-stage.ts).

export interface PacerOptions {
  /** Pacing rate = estimate given to `setRateBps` × this (libwebrtc's pace multiplier, 2.5). */
  pacingFactor?: number;
  /** Bytes the bucket holds, in ms at the pacing rate: a burst this size goes straight through (40). */
  burstMs?: number;
  /** Least time between two drains of the queue, ms (5, libwebrtc's minimum packet-limit interval). */
  intervalMs?: number;
  /** Queued video (and retransmissions) older than this is dropped, ms (500, as LiveKit's leaky bucket bounds it). */
  maxQueueDelayMs?: number;
  /** Most bytes the queue holds; beyond it the oldest video packets are dropped (1 MiB). */
  maxQueueBytes?: number;
  /** The most the bucket can owe (audio sent over budget, one-packet overshoots), in ms at the pacing rate (500). */
  maxDebtMs?: number;
  /** Time between two padding bursts of a probe cluster, ms (2, libwebrtc's minimum probe delta). */
  probeIntervalMs?: number;
  /** A cluster sends at least this many packets, media and padding (5, as libwebrtc's prober). */
  minProbePackets?: number;
}

export const pacerDefaults: Required<PacerOptions> = {
  pacingFactor: 2.5,
  burstMs: 40,
  intervalMs: 5,
  maxQueueDelayMs: 500,
  maxQueueBytes: 1 << 20,
  maxDebtMs: 500,
  probeIntervalMs: 2,
  minProbePackets: 5,
};

/** Where the pacer marks the probe cluster of what it sends (the header-stamp stage records it in SendHistory). */
export interface ProbeClusterMarker {
  probeClusterId: number;
}

export interface ProbeClusterRequest {
  clusterId: number;
  /** Media + padding sent during the cluster adds up to this rate. */
  targetBps: number;
  durationMs: number;
}

/** What a probe cluster sent, reported once when it ends. */
export interface ProbeClusterResult {
  clusterId: number;
  targetBps: number;
  /** Packets and bytes (media and padding) sent in the cluster. */
  packetsSent: number;
  bytesSent: number;
  startMs: number;
  endMs: number;
  /** True when `stopProbe` (or a newer cluster, or losing the last padding-capable stream) cut it short. */
  wasStopped: boolean;
}
