// Time-limited TURN credentials in the "TURN REST API" style (draft-uberti-behave-turn-rest-00, also coturn's
// `use-auth-secret`): username = "<expiry unix seconds>:<user id>", password = base64(HMAC-SHA1(secret, username)).
// The server derives the password from the username alone, so nothing per user is stored, and a leaked pair stops
// working once its expiry passes.
import { createHmac, timingSafeEqual } from 'node:crypto';

export interface TurnCredential {
  username: string;
  password: string;
  /** Unix seconds after which new allocations are refused with this username. */
  expiresAtSec: number;
}

/** Why a username cannot be used (for logs; the client only ever sees 401). */
export type TurnUsernameCheck =
  | { ok: true; password: string; userId: string; expiresAtSec: number }
  | { ok: false; reason: 'malformed' | 'expired' };

/** Longest username accepted, bytes: RFC 8489 14.3 limits USERNAME to 509 bytes. */
const MAX_USERNAME_BYTES = 509;

export class TurnRestCredentials {
  private readonly secret: Buffer;

  constructor(secret: Uint8Array) {
    if (secret.length < 16) throw new Error('the TURN credential secret must be at least 16 bytes');
    this.secret = Buffer.from(secret);
  }

  /** A credential for `userId` valid until `nowSec + ttlSec`. userId must not be empty. */
  issue(userId: string, nowSec: number, ttlSec: number): TurnCredential {
    if (userId === '') throw new Error('a TURN credential needs a user id');
    const expiresAtSec = Math.floor(nowSec + ttlSec);
    const username = `${expiresAtSec}:${userId}`;
    return { username, password: this.passwordFor(username), expiresAtSec };
  }

  /** Derives the password of a username and checks its expiry against `nowSec`. Never throws. */
  check(username: string, nowSec: number): TurnUsernameCheck {
    if (Buffer.byteLength(username, 'utf8') > MAX_USERNAME_BYTES) return { ok: false, reason: 'malformed' };
    const colon = username.indexOf(':');
    if (colon <= 0 || colon === username.length - 1) return { ok: false, reason: 'malformed' };
    const stamp = username.slice(0, colon);
    if (!/^\d{1,12}$/.test(stamp)) return { ok: false, reason: 'malformed' };
    const expiresAtSec = Number(stamp);
    if (expiresAtSec < nowSec) return { ok: false, reason: 'expired' };
    return { ok: true, password: this.passwordFor(username), userId: username.slice(colon + 1), expiresAtSec };
  }

  /** Constant-time comparison of a presented password with the derived one (for tests and tools). */
  matches(username: string, password: string): boolean {
    const expected = Buffer.from(this.passwordFor(username));
    const given = Buffer.from(password);
    return expected.length === given.length && timingSafeEqual(expected, given);
  }

  private passwordFor(username: string): string {
    return createHmac('sha1', this.secret).update(username, 'utf8').digest('base64');
  }
}
