// The SFU media plane: receivers of published tracks fanning out to TrackSenders (DownTracks, one per subscriber),
// per-subscriber sessions (settings, layer allocation, stream states), forwarding decisions, dynacast.
export { Receiver } from './receiver.js';
export type { ReceiverOptions, RtcpSink } from './receiver.js';
export { DownTrack } from './down-track.js';
export type { DownTrackOptions, DownTrackListener, RtpSink } from './down-track.js';
export { createPacketInfo } from './down-track-source.js';
export type { DownTrackSource, MediaKind, PacketInfo, SenderReportMapping, SourceLayers, TrackSender } from './down-track-source.js';
export { Forwarder, DropReason, RetransmitStatus, createForwardResult, createRetransmitInfo } from './forwarder.js';
export type { ForwarderOptions, ForwardResult, RetransmitInfo, DropReasonValue } from './forwarder.js';
export { ReceiveStream } from './receive-stream.js';
export { SubscriberSession } from './subscriber-session.js';
export type { SubscriberSessionOptions, TrackSettings, StreamStateChange } from './subscriber-session.js';
export { allocateLayers, bestLayer } from './layer-allocator.js';
export { DynacastController } from './dynacast.js';
export { unlimitedBandwidth, fixedBandwidth } from './bandwidth-estimator.js';
export type { BandwidthEstimator } from './bandwidth-estimator.js';
export { Quality, NO_LAYER, spatialForQuality, qualityForSpatial, qualityForSize } from './video-layers.js';
export type { LayerSpec, QualityValue } from './video-layers.js';
export { CodecKind, codecKindFromMime, isKeyframeStart } from './codec/keyframe.js';
export { isVp8KeyframeStart } from './codec/vp8.js';
export { isH264KeyframeStart } from './codec/h264.js';
export { SfuStats, zeroCounters } from './sfu-stats.js';
export type { SfuStatsOptions, KindCounters, LatencyObserver } from './sfu-stats.js';
