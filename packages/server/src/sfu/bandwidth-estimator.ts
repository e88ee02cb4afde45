// How much a subscriber's downlink can take, as the layer allocator asks it. Congestion control (transport-wide CC
// feedback, a delay- and loss-based estimator) implements this interface; until one is attached a subscriber is
// treated as unlimited and gets the layers it asks for.
export interface BandwidthEstimator {
  /** Bits per second available for this subscriber's media now; Infinity when there is no limit known. */
  availableBps(): number;
}

/** No estimate: every subscriber gets what it asks for. */
export const unlimitedBandwidth: BandwidthEstimator = { availableBps: () => Infinity };

/** A fixed budget (tests, and a configured cap). */
export function fixedBandwidth(bps: number): BandwidthEstimator {
  return { availableBps: () => bps };
}
