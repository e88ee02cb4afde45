// What a DownTrack needs from the Receiver that feeds it (so down-track.ts does not import receiver.ts),
// and the per-packet facts the receiver computes once for all its DownTracks.
import type { DownTrack } from './down-track.js';

export type MediaKind = 'audio' | 'video';

/** Computed once per incoming packet by the receiver; one reused object, valid during the fan-out call. */
export interface PacketInfo {
  /** Extended (unwrapped) sequence number within the source stream. */
  extSeq: number;
  /** Start of a keyframe (always true for audio). */
  isKeyframe: boolean;
  /** Which input stream (simulcast layer) the packet belongs to; 0 without simulcast. */
  sourceId: number;
  /** Monotonic arrival time (clock.nowMs()). */
  arrivalMs: number;
}

export function createPacketInfo(): PacketInfo {
  return { extSeq: 0, isKeyframe: false, sourceId: 0, arrivalMs: 0 };
}

/** The publisher's last RTCP sender report for one source: its NTP <-> RTP timestamp mapping. */
export interface SenderReportMapping {
  /** The SR's NTP timestamp as Unix-epoch ms (publisher's clock). */
  ntpWallMs: number;
  rtpTimestamp: number;
  /** Monotonic ms (clock.nowMs()) when the SR arrived. */
  receivedAtMs: number;
}

export interface DownTrackSource {
  readonly kind: MediaKind;
  readonly mimeType: string;
  readonly clockRate: number;
  /** The cached original packet (before munging), or undefined when evicted or never received. */
  getPacket(extSeq: number, sourceId: number): Buffer | undefined;
  /** Ask the publisher for a keyframe (throttled by the receiver; no-op for audio). */
  requestKeyframe(): void;
  senderReportMapping(sourceId: number): SenderReportMapping | undefined;
  /** Called by DownTrack.close(). */
  removeDownTrack(downTrack: DownTrack): void;
}
