// The webhook event names Atrium sends (docs/livekit-protocol.md 8) and a builder for `WebhookEvent`s,
// so the code that reports room events does not spell names or fields by hand.
import { WebhookEvent } from '@livekit/protocol';
import type { ParticipantInfo, Room, TrackInfo } from '@livekit/protocol';

export const WebhookEventName = {
  roomStarted: 'room_started',
  roomFinished: 'room_finished',
  participantJoined: 'participant_joined',
  participantLeft: 'participant_left',
  trackPublished: 'track_published',
  trackUnpublished: 'track_unpublished',
} as const;
export type WebhookEventName = (typeof WebhookEventName)[keyof typeof WebhookEventName];

export interface WebhookEventParts {
  room: Room;
  participant?: ParticipantInfo;
  track?: TrackInfo;
}

/**
 * A `WebhookEvent` holding copies of `parts` (later changes to the live room/participant/track objects do not
 * leak into a queued event). `id` and `createdAt` are left for `WebhookNotifier.notify()` to fill.
 */
export function buildWebhookEvent(name: WebhookEventName, parts: WebhookEventParts): WebhookEvent {
  return new WebhookEvent({
    event: name,
    room: parts.room.clone(),
    participant: parts.participant?.clone(),
    track: parts.track?.clone(),
  });
}
