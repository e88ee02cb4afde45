// The SFU media plane: receivers of published tracks, per-subscriber down tracks, forwarding decisions.
export { Receiver } from './receiver.js';
export type { ReceiverOptions, RtcpSink } from './receiver.js';
export { DownTrack } from './down-track.js';
export type { DownTrackOptions, RtpSink } from './down-track.js';
export { createPacketInfo } from './down-track-source.js';
export type { DownTrackSource, MediaKind, PacketInfo, SenderReportMapping } from './down-track-source.js';
export { Forwarder, DropReason, RetransmitStatus, createForwardResult, createRetransmitInfo } from './forwarder.js';
export type { ForwarderOptions, ForwardResult, RetransmitInfo, DropReasonValue } from './forwarder.js';
export { PacketCache } from './packet-cache.js';
export { NackGenerator } from './nack-generator.js';
export type { NackGeneratorOptions } from './nack-generator.js';
export { ReceiveStats } from './receive-stats.js';
export { ReceiveStream } from './receive-stream.js';
export { CodecKind, codecKindFromMime, isKeyframeStart } from './codec/keyframe.js';
export { isVp8KeyframeStart } from './codec/vp8.js';
export { isH264KeyframeStart } from './codec/h264.js';
export { SfuStats, zeroCounters } from './sfu-stats.js';
export type { SfuStatsOptions, KindCounters, LatencyObserver } from './sfu-stats.js';
