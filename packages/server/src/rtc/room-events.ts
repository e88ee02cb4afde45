// The room lifecycle hooks the rest of the server can listen to (webhooks): rooms starting and finishing,
// participants becoming active and leaving, tracks published and unpublished. Called synchronously; must not throw.
import type { ParticipantInfo, Room as RoomInfo, RoomAgentDispatch, RoomEgress, TrackInfo } from '@livekit/protocol';

/** What a room was created with that listeners need beyond its Room info. */
export interface RoomStartConfig {
  /** Agent dispatches of the room's configuration (the token's roomConfig or CreateRoom); absent: none given. */
  agents?: readonly RoomAgentDispatch[];
  /** Auto egress of the room's configuration (the token's roomConfig.egress or CreateRoom's egress). */
  egress?: RoomEgress;
}

export interface RoomEvents {
  /** A room was created (before its first participant joins). */
  roomStarted?(room: RoomInfo, config: RoomStartConfig): void;
  /** A room closed (after every participant in it has left). */
  roomFinished?(room: RoomInfo): void;
  /** A participant's primary peer connection connected (state ACTIVE), as LiveKit's participant_joined. */
  participantJoined?(room: RoomInfo, participant: ParticipantInfo): void;
  /** A participant reported by `participantJoined` left (after its tracks' `trackUnpublished`); `disconnectReason` set. */
  participantLeft?(room: RoomInfo, participant: ParticipantInfo): void;
  /** A track's media arrived and it was published. */
  trackPublished?(room: RoomInfo, participant: ParticipantInfo, track: TrackInfo): void;
  /** A published track ended, or its participant left. */
  trackUnpublished?(room: RoomInfo, participant: ParticipantInfo, track: TrackInfo): void;
}

/** Calls `fn`, logging instead of throwing: a listener never breaks signalling. */
export function callRoomEvent(log: { warn(obj: object, msg: string): void }, fn: () => void): void {
  try {
    fn();
  } catch (err) {
    log.warn({ err }, 'room event listener failed');
  }
}

/** One RoomEvents that calls each of `listeners` in turn (each call guarded by the caller's callRoomEvent). */
export function combineRoomEvents(...listeners: (RoomEvents | undefined)[]): RoomEvents {
  const all = listeners.filter((l): l is RoomEvents => l !== undefined);
  const each =
    <K extends keyof RoomEvents>(key: K) =>
    (...args: Parameters<NonNullable<RoomEvents[K]>>): void => {
      for (const l of all) (l[key] as ((...a: typeof args) => void) | undefined)?.(...args);
    };
  return {
    roomStarted: each('roomStarted'),
    roomFinished: each('roomFinished'),
    participantJoined: each('participantJoined'),
    participantLeft: each('participantLeft'),
    trackPublished: each('trackPublished'),
    trackUnpublished: each('trackUnpublished'),
  };
}
