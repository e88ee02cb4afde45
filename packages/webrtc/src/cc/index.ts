// Congestion control: the send-side bandwidth estimator (GCC, draft-ietf-rmcat-gcc-02) behind one facade.
// The parts are exported from their own paths (e.g. '@atrium/webrtc/cc/trendline-estimator.js').
export { SendSideBwe, SEND_SIDE_BWE_DEFAULTS } from './send-side-bwe.js';
export type { SendSideBweOptions } from './send-side-bwe.js';
export { BandwidthUsage } from './packet-result.js';
export type { PacketResult } from './packet-result.js';
export { SendSideController } from './send-side-controller.js';
export type { SendSideControllerOptions } from './send-side-controller.js';
export { TransportFeedbackAdapter } from './transport-feedback.js';
