// The two sides of the fan-out, as interfaces so neither side imports the other (LiveKit's TrackReceiver and
// TrackSender): what a Receiver hands every TrackSender per packet (PacketInfo, computed once for all of them), and
// what a TrackSender (a DownTrack, a recorder, a relay, a test fake) may ask of the source that feeds it.
import type { RtpHeader } from '@atrium/webrtc/rtp/index.js';
import type { Vp8Descriptor } from './codec/vp8-descriptor.js';

export type MediaKind = 'audio' | 'video';

/** Computed once per incoming packet by the receiver; one reused object, valid during the fan-out call. */
export interface PacketInfo {
  /** Extended (unwrapped) sequence number within the source stream. */
  extSeq: number;
  /** Which input stream (simulcast layer) the packet belongs to; 0 without simulcast. */
  sourceId: number;
  /** Monotonic arrival time (clock.nowMs()). */
  arrivalMs: number;
  /** Start of a key frame (always true for audio). */
  isKeyframe: boolean;
  /** Spatial layer: the stream's index for simulcast, the layer id inside the stream for SVC, else 0. */
  spatial: number;
  /** Temporal layer id (VP8 TID, VP9 TID, dependency descriptor), 0 when the codec carries none. */
  temporal: number;
  /** First packet of a (layer) frame. */
  isFrameStart: boolean;
  /** Last packet of a (layer) frame: VP9 E bit, dependency descriptor end_of_frame, else the RTP marker. */
  isFrameEnd: boolean;
  /** A frame at which forwarding may move up to this temporal layer (VP8 Y, VP9 U, a dependency descriptor switch). */
  isTemporalSwitchPoint: boolean;
  /** A frame at which forwarding may start or move up to this spatial layer of an SVC stream (VP9 P=0, DD switch). */
  isSpatialSwitchPoint: boolean;
  /** Codec payload descriptors parsed once by the receiver (reused objects), null when absent. */
  codec: CodecDescriptors;
}

/** The parsed payload descriptors of the current packet; which one is set depends on the track's codec. */
export interface CodecDescriptors {
  /** VP8 (RFC 7741): picture id, TL0PICIDX, KEYIDX, TID (the receiver's reused descriptor). */
  vp8: Vp8Descriptor | null;
  /** Byte offset of the dependency descriptor's value in the packet (-1: none read), and its frame number. */
  ddOffset: number;
  ddFrameNumber: number;
}

export function createPacketInfo(): PacketInfo {
  return {
    extSeq: 0, sourceId: 0, arrivalMs: 0, isKeyframe: false, spatial: 0, temporal: 0, isFrameStart: true,
    isFrameEnd: true, isTemporalSwitchPoint: true, isSpatialSwitchPoint: true,
    codec: { vp8: null, ddOffset: -1, ddFrameNumber: 0 },
  };
}

/** The publisher's last RTCP sender report for one source: its NTP <-> RTP timestamp mapping. */
export interface SenderReportMapping {
  /** The SR's NTP timestamp as Unix-epoch ms (publisher's clock). */
  ntpWallMs: number;
  rtpTimestamp: number;
  /** Monotonic ms (clock.nowMs()) when the SR arrived. */
  receivedAtMs: number;
}

/** The layers a source offers right now (control plane: read by allocators, not per packet). */
export interface SourceLayers {
  /** Spatial layers receiving packets now (bit i = layer i), e.g. 0b101: layers 0 and 2. */
  activeSpatialMask: number;
  /** Highest temporal layer id seen recently per spatial layer (-1: none). */
  maxTemporal: readonly number[];
  /** Measured bitrate per spatial layer over the last second, all temporal layers (bps). */
  bitrateBps: readonly number[];
  /** True for an SVC stream (layers inside one stream: VP9/AV1 with several spatial layers). */
  isSvc: boolean;
}

/** What a TrackSender may ask of the source that feeds it (a Receiver). */
export interface DownTrackSource {
  readonly kind: MediaKind;
  readonly mimeType: string;
  readonly clockRate: number;
  /** The cached original packet (before munging), or undefined when evicted or never received. */
  getPacket(extSeq: number, sourceId: number): Buffer | undefined;
  /** Asks the publisher for a key frame of one stream (simulcast layer), or of every stream (no argument). Throttled. */
  requestKeyframe(sourceId?: number): void;
  /** The stream carrying spatial layer `spatial` (simulcast), or 0 for a single (SVC) stream; -1 when none. */
  sourceForSpatial(spatial: number): number;
  senderReportMapping(sourceId: number): SenderReportMapping | undefined;
  /** What is flowing now (control plane). */
  layers(): SourceLayers;
  /** The publisher's id of the dependency descriptor extension (0: none): forwarders keep its frame numbers going. */
  readonly dependencyDescriptorId: number;
  /** Called by a sender that closes by itself (its subscriber went away). */
  removeSender(sender: TrackSender): void;
}

/**
 * A consumer of one published track, fed by the track's Receiver: a subscriber's DownTrack, a recorder, a relay to
 * another worker, a test fake. `writeRtp` is the hot path (no allocation, no throw); the rest are control events.
 */
export interface TrackSender {
  writeRtp(buf: Uint8Array, h: RtpHeader, info: PacketInfo): void;
  /** The publisher muted (true) or unmuted the track. */
  setSourceMuted(muted: boolean): void;
  /** A layer started or stopped flowing (the receiver's view changed): re-evaluate targets. */
  onSourceLayersChanged(): void;
  /** The source closed (track unpublished): stop and release. */
  close(): void;
}
