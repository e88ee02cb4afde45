// The webhook event names Atrium sends (docs/livekit-protocol.md 8) and a builder for `WebhookEvent`s,
// so the code that reports room events does not spell names or fields by hand.
import { WebhookEvent } from '@livekit/protocol';
import type { EgressInfo, IngressInfo, ParticipantInfo, Room, TrackInfo } from '@livekit/protocol';

export const WebhookEventName = {
  roomStarted: 'room_started',
  roomFinished: 'room_finished',
  participantJoined: 'participant_joined',
  participantLeft: 'participant_left',
  trackPublished: 'track_published',
  trackUnpublished: 'track_unpublished',
  egressStarted: 'egress_started',
  egressUpdated: 'egress_updated',
  egressEnded: 'egress_ended',
  ingressStarted: 'ingress_started',
  ingressEnded: 'ingress_ended',
} as const;
export type WebhookEventName = (typeof WebhookEventName)[keyof typeof WebhookEventName];

export interface WebhookEventParts {
  /** Absent only in ingress events (LiveKit sends those with the ingress alone). */
  room?: Room;
  participant?: ParticipantInfo;
  track?: TrackInfo;
  ingressInfo?: IngressInfo;
}

/**
 * A `WebhookEvent` holding copies of `parts` (later changes to the live room/participant/track objects do not
 * leak into a queued event). `id` and `createdAt` are left for `WebhookNotifier.notify()` to fill.
 */
export function buildWebhookEvent(name: WebhookEventName, parts: WebhookEventParts): WebhookEvent {
  return new WebhookEvent({
    event: name,
    room: parts.room?.clone(),
    participant: parts.participant?.clone(),
    track: parts.track?.clone(),
    ingressInfo: parts.ingressInfo?.clone(),
  });
}

/** An egress event (LiveKit sends these with `egressInfo` only, no room): a copy of `info` as it is now. */
export function buildEgressWebhookEvent(
  name: typeof WebhookEventName.egressStarted | typeof WebhookEventName.egressUpdated | typeof WebhookEventName.egressEnded,
  info: EgressInfo,
): WebhookEvent {
  return new WebhookEvent({ event: name, egressInfo: info.clone() });
}
