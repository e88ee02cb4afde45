// The long-term credential check of TURN requests (RFC 8489 section 9.2.4): NONCE (stateless, turn-nonce.ts), REALM,
// the username's password from the embedder, and MESSAGE-INTEGRITY. Says what to answer; the server sends it.
import { StunAttr } from '../stun/stun-constants.js';
import { getStunAttribute, longTermKey, verifyMessageIntegrity } from '../stun/stun-message.js';
import type { StunMessage } from '../stun/stun-message.js';
import { TurnError } from './turn-errors.js';
import { TurnNonces } from './turn-nonce.js';

/** Looks up the password of a username: undefined for an unknown, malformed or (for new allocations) expired one. */
export type TurnPasswordLookup = (username: string, opts: { forNewAllocation: boolean }) => string | undefined;

export type TurnAuthResult =
  | { ok: true; username: string; key: Buffer }
  /** `challenge`: the error carries REALM and a fresh NONCE (401, 438), so the client can retry. */
  | { ok: false; code: number; why: string; challenge: boolean };

export class TurnAuthenticator {
  readonly realm: string;
  private readonly nonces: TurnNonces;
  private readonly passwordOf: TurnPasswordLookup;

  constructor(opts: { realm: string; passwordOf: TurnPasswordLookup; nonceLifetimeMs?: number }) {
    this.realm = opts.realm;
    this.passwordOf = opts.passwordOf;
    this.nonces = new TurnNonces(opts.nonceLifetimeMs !== undefined ? { lifetimeMs: opts.nonceLifetimeMs } : {});
  }

  /** A nonce for a challenge to `clientIp`. */
  nonceFor(clientIp: string, nowMs: number): string {
    return this.nonces.issue(clientIp, nowMs);
  }

  /**
   * Checks `msg` from `clientIp`. `allocationUsername` is the username of the client's existing allocation: an
   * Allocate from another username, or with none, is a new allocation (whose username must not have expired).
   */
  check(msg: StunMessage, clientIp: string, nowMs: number, opts: { isAllocate: boolean; allocationUsername: string | undefined }): TurnAuthResult {
    const fail = (code: number, why: string, challenge = true): TurnAuthResult => ({ ok: false, code, why, challenge });
    if (msg.integrityOffset < 0) return fail(TurnError.unauthorized, 'no MESSAGE-INTEGRITY');
    const username = getStunAttribute(msg, StunAttr.username);
    const realm = getStunAttribute(msg, StunAttr.realm);
    const nonce = getStunAttribute(msg, StunAttr.nonce);
    if (username === undefined || realm === undefined || nonce === undefined) {
      return fail(TurnError.badRequest, 'USERNAME, REALM and NONCE are required with MESSAGE-INTEGRITY', false);
    }
    const nonceCheck = this.nonces.check(Buffer.from(nonce).toString('latin1'), clientIp, nowMs);
    if (nonceCheck !== 'ok') return fail(TurnError.staleNonce, `nonce ${nonceCheck}`);
    if (Buffer.from(realm).toString('utf8') !== this.realm) return fail(TurnError.unauthorized, 'wrong realm');
    const name = Buffer.from(username).toString('utf8');
    // A new allocation needs a username that has not expired; an existing one keeps its username for its lifetime.
    const forNewAllocation = opts.isAllocate && opts.allocationUsername !== name;
    const password = this.passwordOf(name, { forNewAllocation });
    if (password === undefined) return fail(TurnError.unauthorized, 'unknown or expired username');
    const key = longTermKey(name, this.realm, password);
    if (!verifyMessageIntegrity(msg, key)) return fail(TurnError.unauthorized, 'MESSAGE-INTEGRITY mismatch');
    return { ok: true, username: name, key };
  }
}
