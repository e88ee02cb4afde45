// HTTP Basic authentication (RFC 7617) for /metrics: LiveKit's `prometheus.username` / `prometheus.password`.
// Credentials are compared in constant time (hashes of equal length through timingSafeEqual).
import { createHash, timingSafeEqual } from 'node:crypto';
import type { MetricsAuth } from '../config/server-config.js';

/** Value of the WWW-Authenticate header of a 401. */
export const METRICS_AUTH_CHALLENGE = 'Basic realm="atrium metrics", charset="UTF-8"';

function digest(s: string): Buffer {
  return createHash('sha256').update(s, 'utf8').digest();
}

/** Compares two strings without leaking where (or whether early) they differ. */
export function constantTimeEquals(a: string, b: string): boolean {
  return timingSafeEqual(digest(a), digest(b));
}

/** Whether an Authorization header carries exactly these Basic credentials. Never throws. */
export function isAuthorized(header: string | undefined, auth: MetricsAuth): boolean {
  const m = /^Basic[ \t]+([A-Za-z0-9+/=._~-]+)[ \t]*$/i.exec(header ?? '');
  const decoded = m?.[1] === undefined ? '' : Buffer.from(m[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  const username = colon < 0 ? '' : decoded.slice(0, colon);
  const password = colon < 0 ? '' : decoded.slice(colon + 1);
  // Both comparisons always run, so the time does not tell whether the username alone was right.
  const userOk = constantTimeEquals(username, auth.username);
  const passwordOk = constantTimeEquals(password, auth.password);
  return colon >= 0 && userOk && passwordOk;
}
