// How much a subscriber's downlink can take, as the stream allocator asks it. The subscriber transport's congestion
// controller (transport-wide CC feedback into a delay- and loss-based estimator, webrtc/cc) implements it; without
// one a subscriber is treated as unlimited and gets the layers it asks for.
export interface BandwidthEstimator {
  /** Bits per second available for this subscriber's media now; Infinity when there is no limit known. */
  availableBps(): number;
  /**
   * Sends padding so that the subscriber's traffic reaches `targetBps` for a short while, to learn whether the link
   * takes it before layers are raised. False when it cannot (no RTX stream to pad on, or not connected).
   */
  probe?(targetBps: number): boolean;
}

/** No estimate: every subscriber gets what it asks for. */
export const unlimitedBandwidth: BandwidthEstimator = { availableBps: () => Infinity };

/** A fixed budget (tests, and a configured cap). */
export function fixedBandwidth(bps: number): BandwidthEstimator {
  return { availableBps: () => bps };
}
