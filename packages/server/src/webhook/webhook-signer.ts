// Encodes and signs one LiveKit webhook (docs/livekit-protocol.md 8): the body is the protojson of
// `WebhookEvent`; `Authorization` is a raw HS256 JWT (iss = API key, 5 min validity) whose `sha256` claim is
// the standard base64 SHA-256 of the exact body bytes.
import { createHash, createHmac } from 'node:crypto';
import type { WebhookEvent } from '@livekit/protocol';

/** How long a webhook's token is valid, like LiveKit's notifier. */
export const WEBHOOK_TOKEN_TTL_SEC = 5 * 60;

/** The body LiveKit posts: protojson with camelCase names, defaults omitted, int64 as strings. */
export function encodeWebhookBody(event: WebhookEvent): string {
  return event.toJsonString();
}

/** Standard base64 (with padding) of the SHA-256 of `body`'s UTF-8 bytes. */
export function webhookBodySha256(body: string): string {
  return createHash('sha256').update(body, 'utf8').digest('base64');
}

const base64Url = (s: string): string => Buffer.from(s, 'utf8').toString('base64url');

/** The `Authorization` header value (no `Bearer ` prefix) for `body`, issued at `nowSec`. */
export function signWebhook(body: string, apiKey: string, apiSecret: string, nowSec: number): string {
  const header = base64Url(JSON.stringify({ alg: 'HS256', typ: 'JWT' }));
  const claims = {
    iss: apiKey,
    nbf: nowSec,
    exp: nowSec + WEBHOOK_TOKEN_TTL_SEC,
    sha256: webhookBodySha256(body),
  };
  const signingInput = `${header}.${base64Url(JSON.stringify(claims))}`;
  const signature = createHmac('sha256', apiSecret).update(signingInput).digest('base64url');
  return `${signingInput}.${signature}`;
}
