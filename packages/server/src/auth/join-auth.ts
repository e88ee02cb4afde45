// Authentication of /rtc and /rtc/validate requests (docs/livekit-protocol.md 1.2, 2.1): the token comes from
// `access_token` or `Authorization: Bearer`; it must grant roomJoin for a named room to a non-empty identity.
import type { IncomingHttpHeaders } from 'node:http';
import { verifyAccessToken, resolveVideoGrant, TokenError } from '@atrium/protocol';
import type { ClaimGrants, ResolvedVideoGrant } from '@atrium/protocol';

export type AuthErrorCode =
  | 'missing_token'
  | TokenError['code']
  | 'permission_denied'
  | 'no_room'
  | 'no_identity'
  | 'name_too_long';

/** An authentication failure; `status` and `message` go into the HTTP response as they are. */
export class AuthError extends Error {
  readonly code: AuthErrorCode;
  readonly status: number;
  constructor(code: AuthErrorCode, status: number, message: string) {
    super(message);
    this.name = 'AuthError';
    this.code = code;
    this.status = status;
  }
}

export interface JoinAuth {
  claims: ClaimGrants;
  grant: ResolvedVideoGrant;
  roomName: string;
  identity: string;
}

/** LiveKit's limit for identities and room names, in UTF-8 bytes. */
export const MAX_NAME_LENGTH = 256;

export function extractToken(query: URLSearchParams, headers: IncomingHttpHeaders): string | undefined {
  const fromQuery = query.get('access_token');
  if (fromQuery) return fromQuery;
  const auth = headers.authorization;
  if (typeof auth === 'string') {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(auth);
    if (m?.[1]) return m[1];
  }
  return undefined;
}

/** Verifies the token and the join grant; throws AuthError. */
export async function authenticateJoin(
  token: string | undefined,
  keys: Readonly<Record<string, string>>,
): Promise<JoinAuth> {
  if (!token) throw new AuthError('missing_token', 401, 'no authorization token: pass access_token or Authorization: Bearer');
  let claims: ClaimGrants;
  try {
    claims = await verifyAccessToken(token, keys);
  } catch (err) {
    if (err instanceof TokenError) throw new AuthError(err.code, 401, `invalid authorization token: ${err.message}`);
    throw err;
  }
  const grant = resolveVideoGrant(claims.video);
  if (!grant.roomJoin) throw new AuthError('permission_denied', 401, 'permissions denied: the token has no roomJoin grant');
  if (!grant.room) throw new AuthError('no_room', 401, 'permissions denied: the token names no room (video.room is empty)');
  if (!claims.identity) throw new AuthError('no_identity', 401, 'permissions denied: the token has no identity (sub)');
  // Bytes, as Go's len() counts them in LiveKit's checks (and as CreateRoom counts them here).
  if (Buffer.byteLength(grant.room) > MAX_NAME_LENGTH || Buffer.byteLength(claims.identity) > MAX_NAME_LENGTH) {
    throw new AuthError('name_too_long', 400, `room name and identity must be at most ${MAX_NAME_LENGTH} bytes`);
  }
  return { claims, grant, roomName: grant.room, identity: claims.identity };
}
