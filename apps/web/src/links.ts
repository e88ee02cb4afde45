// Pure helpers for the app's addresses and tokens (no DOM): the room named by /rooms/<name>, a token in ?token=,
// the claims inside a token (read for display only: the server verifies it), and the token endpoint's request/answer.

/** `/rooms/<name>` -> name (URL-decoded); anything else -> undefined. */
export function roomFromPath(pathname: string): string | undefined {
  const m = /^\/rooms\/([^/]+)\/?$/.exec(pathname);
  if (!m || m[1] === undefined) return undefined;
  try {
    const name = decodeURIComponent(m[1]);
    return name.trim() === '' ? undefined : name;
  } catch {
    return undefined;
  }
}

export interface TokenClaims {
  room?: string;
  identity?: string;
  name?: string;
  /** Expiry, seconds since the epoch. */
  exp?: number;
}

/** The claims of a LiveKit JWT, unverified (display and the room name only); undefined when it is not a JWT. */
export function decodeTokenClaims(token: string): TokenClaims | undefined {
  const parts = token.split('.');
  if (parts.length !== 3 || parts[1] === undefined) return undefined;
  try {
    const b64 = parts[1].replace(/-/g, '+').replace(/_/g, '/');
    const json = JSON.parse(new TextDecoder().decode(Uint8Array.from(atob(b64 + '='.repeat((4 - (b64.length % 4)) % 4)), (c) => c.charCodeAt(0)))) as Record<string, unknown>;
    const video = (json['video'] ?? {}) as Record<string, unknown>;
    const out: TokenClaims = {};
    if (typeof video['room'] === 'string') out.room = video['room'];
    if (typeof json['sub'] === 'string') out.identity = json['sub'];
    if (typeof json['name'] === 'string') out.name = json['name'];
    if (typeof json['exp'] === 'number') out.exp = json['exp'];
    return out;
  } catch {
    return undefined;
  }
}

/** An identity for a display name: its letters and digits, plus a random suffix so two people called Sam do not clash. */
export function identityFor(name: string, random: () => number = Math.random): string {
  const base = name.normalize('NFKD').replace(/[^A-Za-z0-9]+/g, '-').replace(/^-+|-+$/g, '').toLowerCase().slice(0, 32) || 'guest';
  const suffix = Math.floor(random() * 36 ** 4).toString(36).padStart(4, '0');
  return `${base}-${suffix}`;
}

/** GET <endpoint>?room=&identity=&name= (relative endpoints resolve against the page). */
export function tokenRequestUrl(endpoint: string, base: string, q: { room: string; identity: string; name: string }): string {
  const url = new URL(endpoint, base);
  url.searchParams.set('room', q.room);
  url.searchParams.set('identity', q.identity);
  url.searchParams.set('name', q.name);
  return url.toString();
}

/** A token endpoint's answer: Atrium's `{token, url}` or LiveKit Meet's `{participantToken, serverUrl}`. */
export function parseTokenAnswer(body: unknown): { token: string; url: string } | undefined {
  if (typeof body !== 'object' || body === null) return undefined;
  const b = body as Record<string, unknown>;
  const token = typeof b['token'] === 'string' ? b['token'] : typeof b['participantToken'] === 'string' ? b['participantToken'] : undefined;
  if (token === undefined || token === '') return undefined;
  const url = typeof b['url'] === 'string' ? b['url'] : typeof b['serverUrl'] === 'string' ? b['serverUrl'] : '';
  return { token, url };
}

/** The signalling URL of the server that serves the page: ws(s)://host. */
export function sameOriginSignalUrl(location: { protocol: string; host: string }): string {
  return `${location.protocol === 'https:' ? 'wss:' : 'ws:'}//${location.host}`;
}

/** Grid columns for `count` tiles in `widthPx`: near-square, at most one per 260 px (one column at phone width). */
export function gridColumns(count: number, widthPx: number): number {
  if (count <= 1) return 1;
  const maxCols = Math.max(1, Math.floor(widthPx / 260));
  return Math.max(1, Math.min(maxCols, Math.ceil(Math.sqrt(count))));
}
