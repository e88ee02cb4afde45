// Pieces of a v1 join (docs/signal-v1.md) that v0 does not have: the publisher offer bundled with the JoinRequest,
// answered right after the JoinResponse, and the metadata and attributes a JoinRequest may set.
import { DisconnectReason, SessionDescription } from '@livekit/protocol';
import type { ClaimGrants } from '@atrium/protocol';
import type { Participant } from '../rtc/participant.js';
import type { ConnectParams } from './connect-params.js';
import { PROTOCOL_ERROR_REASON } from './signal-session.js';

/**
 * Answers the offer bundled with a v1 join (or resume). Started at once, so it is applied before any request the client
 * sends after it (they wait in the signal session's queue, one event-loop turn each); the client sends no other offer
 * until this one is answered. An offer we cannot apply ends the session as a bad offer over the socket would.
 */
export function answerBundledOffer(participant: Participant, offer: { sdp: string; id: number }): void {
  participant.handlePublisherOffer(new SessionDescription({ type: 'offer', sdp: offer.sdp, id: offer.id })).catch((err: unknown) => {
    const code = (err as { code?: unknown }).code;
    const isBadInput = typeof code === 'string' && code.startsWith('sdp');
    participant.logger.warn({ err }, 'the offer bundled with the join was rejected; disconnecting');
    participant.close(isBadInput ? PROTOCOL_ERROR_REASON : DisconnectReason.MEDIA_FAILURE, { sendLeave: true });
  });
}

/** The token's claims with the JoinRequest's metadata and attributes over them (the caller checked the permission). */
export function claimsWithJoinRequest(claims: ClaimGrants, params: ConnectParams): ClaimGrants {
  if (params.metadata === undefined && params.attributes === undefined) return claims;
  return {
    ...claims,
    ...(params.metadata !== undefined ? { metadata: params.metadata } : {}),
    ...(params.attributes !== undefined ? { attributes: { ...claims.attributes, ...params.attributes } } : {}),
  };
}
