// Turns room lifecycle hooks (rtc/room-events.ts) into LiveKit webhooks (docs/livekit-protocol.md 8) handed to a
// WebhookNotifier; `notify()` is fire and forget, so no hook ever waits on the network.
import type { RoomEvents } from '../rtc/room-events.js';
import { buildWebhookEvent, WebhookEventName } from './webhook-events.js';
import type { WebhookNotifier } from './webhook-notifier.js';

export function webhookRoomEvents(notifier: Pick<WebhookNotifier, 'notify'>): RoomEvents {
  return {
    roomStarted: (room) => notifier.notify(buildWebhookEvent(WebhookEventName.roomStarted, { room })),
    roomFinished: (room) => notifier.notify(buildWebhookEvent(WebhookEventName.roomFinished, { room })),
    participantJoined: (room, participant) =>
      notifier.notify(buildWebhookEvent(WebhookEventName.participantJoined, { room, participant })),
    participantLeft: (room, participant) =>
      notifier.notify(buildWebhookEvent(WebhookEventName.participantLeft, { room, participant })),
    trackPublished: (room, participant, track) =>
      notifier.notify(buildWebhookEvent(WebhookEventName.trackPublished, { room, participant, track })),
    trackUnpublished: (room, participant, track) =>
      notifier.notify(buildWebhookEvent(WebhookEventName.trackUnpublished, { room, participant, track })),
  };
}
