// One Twirp call with a protobuf-es request, for the services whose SDK clients take loose arguments rather than the
// request message itself (Egress, Ingress): the CLI reads LiveKit's request JSON (as `lk egress start` and
// `lk ingress create` do) and sends it unchanged. JSON over HTTP, signed with a short-lived token carrying `grant`;
// error answers become TwirpErrors, so describeApiError words them like the SDK clients' errors.
import { AccessToken, TwirpError } from 'livekit-server-sdk';
import type { VideoGrant } from 'livekit-server-sdk';
import { REQUEST_TIMEOUT_SEC, describeApiError } from './api-client.js';
import type { Connection } from './connection.js';

/** What protobuf-es messages offer: JSON out, and a class to read the answer with. */
export interface RequestMessage {
  toJson(options?: { emitDefaultValues?: boolean }): unknown;
}
export interface MessageType<T> {
  fromJson(json: never, options?: { ignoreUnknownFields?: boolean }): T;
}

export interface TwirpTarget {
  /** e.g. 'livekit.Egress' */
  service: string;
  method: string;
  grant: VideoGrant;
}

type Fetch = (url: string, init: RequestInit) => Promise<Response>;

/** POSTs `request` to `conn.url`/twirp/<service>/<method> and reads the answer as `answer`. */
export async function twirpCall<T>(conn: Connection, target: TwirpTarget, request: RequestMessage, answer: MessageType<T>, fetchFn: Fetch = fetch): Promise<T> {
  try {
    const at = new AccessToken(conn.apiKey, conn.apiSecret, { ttl: '10m' });
    at.addGrant(target.grant);
    const token = await at.toJwt();
    const res = await fetchFn(`${conn.url.replace(/\/+$/, '')}/twirp/${target.service}/${target.method}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify(request.toJson()),
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_SEC * 1000),
    });
    const text = await res.text();
    if (!res.ok) {
      let code: string | undefined;
      let msg = text;
      try {
        const body = JSON.parse(text) as { code?: unknown; msg?: unknown };
        if (typeof body.code === 'string') code = body.code;
        if (typeof body.msg === 'string') msg = body.msg;
      } catch {
        // not a Twirp error body: keep the text
      }
      throw new TwirpError(res.statusText, msg, res.status, code);
    }
    return answer.fromJson(JSON.parse(text) as never, { ignoreUnknownFields: true });
  } catch (err) {
    throw describeApiError(err, conn.url);
  }
}
