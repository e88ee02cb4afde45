// What a Participant talks to: its signal sink (the WebSocket, behind signal/) and its host (the room).
import type { SignalResponse, TrackInfo, DisconnectReason, UpdateSubscription, SubscriptionPermission } from '@livekit/protocol';
import type { Participant } from './participant.js';
import type { MediaTrackSource, DataKind, SubscriptionBindError } from './participant-media.js';

/** Where a participant's signal responses go (the WebSocket, behind signal/). */
export interface SignalSink {
  send(msg: SignalResponse): void;
  /** Closes the connection after everything already sent. */
  close(): void;
}

/** What a participant tells its room. */
export interface ParticipantHost {
  onParticipantChanged(p: Participant): void;
  onTrackPublished(p: Participant, track: PublishedTrack): void;
  onTrackUnpublished(p: Participant, track: PublishedTrack): void;
  onData(p: Participant, payload: Uint8Array, kind: DataKind): void;
  onParticipantClosed(p: Participant, reason: DisconnectReason): void;
  /** p resumed on a new signal connection: it gets fresh snapshots of the room and its participants. */
  onParticipantResumed(p: Participant): void;
  /** SignalRequest.subscription: p subscribes to or unsubscribes from tracks. */
  onUpdateSubscription(p: Participant, req: UpdateSubscription): void;
  /** SignalRequest.subscription_permission: who may subscribe to p's tracks. */
  onSubscriptionPermission(p: Participant, permission: SubscriptionPermission): void;
  /** p's subscriber answer bound (or refused, with `error`) its subscription to `trackSid`. */
  onSubscriptionBound(p: Participant, trackSid: string, error: SubscriptionBindError | undefined): void;
}

export interface PublishedTrack {
  readonly info: TrackInfo;
  readonly source: MediaTrackSource;
  readonly mid: string;
  readonly msidTrackId: string;
  /** Sids of participants subscribed to this track. */
  readonly subscribers: Set<string>;
}
