// ingress_started / ingress_ended webhooks (LiveKit's names, the IngressInfo as it is at that moment) through the
// server's WebhookNotifier; notify() is fire and forget, so a stream never waits on the network.
import { buildWebhookEvent, WebhookEventName } from '../webhook/webhook-events.js';
import type { WebhookNotifier } from '../webhook/webhook-notifier.js';
import type { IngressEvents } from './ingress-registry.js';

export function ingressWebhooks(notifier: Pick<WebhookNotifier, 'notify'>): IngressEvents {
  return {
    // Queued with the ingress's room, so ingress_started comes before its participant_joined and ingress_ended after
    // its participant_left.
    started: (ingressInfo) => notifier.notify(buildWebhookEvent(WebhookEventName.ingressStarted, { ingressInfo }), { roomName: ingressInfo.roomName }),
    ended: (ingressInfo) => notifier.notify(buildWebhookEvent(WebhookEventName.ingressEnded, { ingressInfo }), { roomName: ingressInfo.roomName }),
  };
}
