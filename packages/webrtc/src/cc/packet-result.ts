// The input of the send-side bandwidth estimator: one result per packet of a transport-wide congestion control
// feedback report (draft-holmer-rmcat-transport-wide-cc-extensions-01), and the delay detector's states (GCC §5.4).

/** What one transport-cc feedback said about one packet we sent. */
export interface PacketResult {
  /** Extended transport-wide sequence number (monotonic, never wraps). */
  seq: number;
  /** Our send time (monotonic ms). */
  sendMs: number;
  /** Whole RTP packet size in bytes. */
  sizeBytes: number;
  /** Arrival time in the receiver's clock (ms, arbitrary offset), or -1 when reported lost. */
  arrivalMs: number;
  /** Probe cluster the packet belonged to, or -1 when it was not a probe. */
  probeClusterId: number;
}

/** The over-use detector's hypothesis about the path (draft-ietf-rmcat-gcc-02 §5.4). */
export const BandwidthUsage = {
  normal: 'normal',
  overusing: 'overusing',
  underusing: 'underusing',
} as const;
export type BandwidthUsage = (typeof BandwidthUsage)[keyof typeof BandwidthUsage];
