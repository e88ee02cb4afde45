// Stateless NONCEs for the long-term credential mechanism (RFC 8489 section 9.2): the issue time and the client's
// address, authenticated with a per-server key, so nothing is stored per client and a nonce from another address or
// one older than its lifetime is refused (438 Stale Nonce, and the client retries with the new one).
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/** coturn's default nonce lifetime (600 s); Chromium retries transparently on 438. */
export const DEFAULT_NONCE_LIFETIME_MS = 600_000;

const MAC_HEX_CHARS = 24;

export class TurnNonces {
  private readonly key: Buffer;
  private readonly lifetimeMs: number;

  constructor(opts: { lifetimeMs?: number; key?: Uint8Array } = {}) {
    this.key = Buffer.from(opts.key ?? randomBytes(32));
    this.lifetimeMs = opts.lifetimeMs ?? DEFAULT_NONCE_LIFETIME_MS;
  }

  /** A nonce for `clientKey` (the client's transport address) issued at `nowMs`. */
  issue(clientKey: string, nowMs: number): string {
    const stamp = Math.floor(nowMs).toString(36);
    return `${stamp}-${this.mac(stamp, clientKey)}`;
  }

  /** 'ok', 'stale' (ours, but too old) or 'invalid' (not ours, or for another client). Never throws. */
  check(nonce: string, clientKey: string, nowMs: number): 'ok' | 'stale' | 'invalid' {
    const dash = nonce.indexOf('-');
    if (dash <= 0 || nonce.length - dash - 1 !== MAC_HEX_CHARS) return 'invalid';
    const stamp = nonce.slice(0, dash);
    if (!/^[0-9a-z]{1,12}$/.test(stamp)) return 'invalid';
    const expected = Buffer.from(this.mac(stamp, clientKey));
    const given = Buffer.from(nonce.slice(dash + 1));
    if (expected.length !== given.length || !timingSafeEqual(expected, given)) return 'invalid';
    const issuedMs = parseInt(stamp, 36);
    return nowMs - issuedMs > this.lifetimeMs || issuedMs > nowMs + 1000 ? 'stale' : 'ok';
  }

  private mac(stamp: string, clientKey: string): string {
    return createHmac('sha256', this.key).update(`${stamp}|${clientKey}`).digest('hex').slice(0, MAC_HEX_CHARS);
  }
}
