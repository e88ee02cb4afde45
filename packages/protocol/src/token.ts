// LiveKit access tokens: HS256 JWTs keyed by `iss` = API key (livekit/protocol auth/verifier.go;
// docs/livekit-protocol.md 6). Verification errors carry a stable `code`.
import { SignJWT, jwtVerify, decodeJwt, decodeProtectedHeader } from 'jose';
import type { ClaimGrants, VideoGrant } from './grants.js';

export type TokenErrorCode =
  | 'token_malformed'
  | 'token_unsupported_alg'
  | 'token_unknown_key'
  | 'token_invalid_signature'
  | 'token_expired'
  | 'token_not_yet_valid'
  | 'token_missing_exp';

export class TokenError extends Error {
  readonly code: TokenErrorCode;
  constructor(code: TokenErrorCode, message: string) {
    super(message);
    this.name = 'TokenError';
    this.code = code;
  }
}

export interface VerifyTokenOptions {
  /** Allowed clock skew for exp/nbf; LiveKit's Go server allows 60 s. */
  clockToleranceSec?: number;
  /** "Now" for the exp/nbf checks (tests). */
  currentDate?: Date;
}

const encoder = new TextEncoder();

function asString(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

const VIDEO_GRANT_TYPES: Record<string, 'boolean' | 'string' | 'string[]'> = {
  roomCreate: 'boolean', roomList: 'boolean', roomRecord: 'boolean', roomAdmin: 'boolean', roomJoin: 'boolean', room: 'string',
  canPublish: 'boolean', canSubscribe: 'boolean', canPublishData: 'boolean', canPublishSources: 'string[]',
  canUpdateOwnMetadata: 'boolean', ingressAdmin: 'boolean', hidden: 'boolean', recorder: 'boolean', agent: 'boolean',
  canSubscribeMetrics: 'boolean', canManageAgentSession: 'boolean', destinationRoom: 'string',
};

/**
 * The `video` claim with its known fields type-checked, as Go's json.Unmarshal into LiveKit's VideoGrant does: a
 * wrong type (`"roomJoin": "yes"`, `"room": 5`) makes the token malformed; null means absent; unknown keys are dropped.
 */
function videoGrantOf(video: object): VideoGrant {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(video)) {
    const type = Object.hasOwn(VIDEO_GRANT_TYPES, key) ? VIDEO_GRANT_TYPES[key] : undefined;
    if (type === undefined || value === null) continue;
    // Source lists hold names ('camera'); numbers are tolerated as resolveVideoGrant reads them.
    const ok = type === 'string[]' ? Array.isArray(value) && value.every((x) => typeof x === 'string' || typeof x === 'number') : typeof value === type;
    if (!ok) throw new TokenError('token_malformed', `token claim video.${key} must be ${type === 'string[]' ? 'a list of source names' : `a ${type}`}`);
    out[key] = value;
  }
  return out as VideoGrant;
}

function asStringMap(v: unknown): Record<string, string> | undefined {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return undefined;
  const out: Record<string, string> = {};
  for (const [k, val] of Object.entries(v)) if (typeof val === 'string') out[k] = val;
  return out;
}

/**
 * Verifies a token against `keys` (API key -> secret) and returns its claims.
 * Throws a TokenError with a code and a message fit for a 401 body.
 */
export async function verifyAccessToken(
  token: string,
  keys: Readonly<Record<string, string>>,
  opts: VerifyTokenOptions = {},
): Promise<ClaimGrants> {
  let alg: unknown;
  let iss: unknown;
  try {
    alg = decodeProtectedHeader(token).alg;
    iss = decodeJwt(token).iss;
  } catch {
    throw new TokenError('token_malformed', 'token is not a valid JWT');
  }
  if (alg !== 'HS256') {
    throw new TokenError('token_unsupported_alg', `token algorithm ${String(alg)} is not supported (HS256 only)`);
  }
  if (typeof iss !== 'string' || iss === '') {
    throw new TokenError('token_malformed', 'token has no issuer (iss must be the API key)');
  }
  const secret = Object.prototype.hasOwnProperty.call(keys, iss) ? keys[iss] : undefined;
  if (secret === undefined) throw new TokenError('token_unknown_key', `unknown API key '${iss}'`);

  let payload: Record<string, unknown>;
  try {
    const res = await jwtVerify(token, encoder.encode(secret), {
      algorithms: ['HS256'],
      issuer: iss,
      clockTolerance: opts.clockToleranceSec ?? 60,
      requiredClaims: ['exp'],
      ...(opts.currentDate ? { currentDate: opts.currentDate } : {}),
    });
    payload = res.payload as Record<string, unknown>;
  } catch (err) {
    throw mapJoseError(err);
  }

  const video = payload.video;
  const claims: ClaimGrants = {
    identity: asString(payload.sub) || asString(payload.jti) || '',
    apiKey: iss,
  };
  const name = asString(payload.name);
  if (name !== undefined) claims.name = name;
  const metadata = asString(payload.metadata);
  if (metadata !== undefined) claims.metadata = metadata;
  const attributes = asStringMap(payload.attributes);
  if (attributes) claims.attributes = attributes;
  const kind = asString(payload.kind);
  if (kind !== undefined) claims.kind = kind;
  if (Array.isArray(payload.kindDetails)) claims.kindDetails = payload.kindDetails.filter((x) => typeof x === 'string');
  if (video !== null && typeof video === 'object' && !Array.isArray(video)) claims.video = videoGrantOf(video);
  if (payload.sip && typeof payload.sip === 'object') claims.sip = payload.sip as ClaimGrants['sip'];
  if (payload.agent && typeof payload.agent === 'object') claims.agent = payload.agent as ClaimGrants['agent'];
  const sha256 = asString(payload.sha256);
  if (sha256 !== undefined) claims.sha256 = sha256;
  const roomPreset = asString(payload.roomPreset);
  if (roomPreset !== undefined) claims.roomPreset = roomPreset;
  if (payload.roomConfig !== undefined) claims.roomConfig = payload.roomConfig;
  if (typeof payload.exp === 'number') claims.exp = payload.exp;
  if (typeof payload.nbf === 'number') claims.nbf = payload.nbf;
  return claims;
}

function mapJoseError(err: unknown): TokenError {
  const code = (err as { code?: string }).code;
  const claim = (err as { claim?: string }).claim;
  switch (code) {
    case 'ERR_JWT_EXPIRED':
      return new TokenError('token_expired', 'token has expired');
    case 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED':
      return new TokenError('token_invalid_signature', 'token signature is invalid (wrong API secret?)');
    case 'ERR_JOSE_ALG_NOT_ALLOWED':
      return new TokenError('token_unsupported_alg', 'token algorithm is not supported (HS256 only)');
    case 'ERR_JWT_CLAIM_VALIDATION_FAILED':
      if (claim === 'nbf') return new TokenError('token_not_yet_valid', 'token is not valid yet (nbf is in the future)');
      if (claim === 'exp') return new TokenError('token_missing_exp', 'token has no expiry (exp is required)');
      return new TokenError('token_malformed', `token claim '${claim ?? '?'}' is invalid`);
    default:
      return new TokenError('token_malformed', 'token could not be parsed');
  }
}

export interface CreateAccessTokenOptions {
  apiKey: string;
  apiSecret: string;
  identity?: string;
  name?: string;
  metadata?: string;
  attributes?: Record<string, string>;
  kind?: string;
  kindDetails?: string[];
  video?: VideoGrant;
  /** RoomConfiguration as protobuf JSON, written as given (`roomConfig`). */
  roomConfig?: unknown;
  roomPreset?: string;
  /** Lifetime in seconds; default 6 h like livekit-server-sdk. */
  ttlSec?: number;
  /** Issue time in seconds since the epoch (tests); default now. */
  nowSec?: number;
}

/** Creates an HS256 token in LiveKit's format (for tests, the CLI and dev hints). */
export async function createAccessToken(opts: CreateAccessTokenOptions): Promise<string> {
  if (opts.video?.roomJoin && !opts.identity) throw new Error('identity is required for a roomJoin token');
  const nowSec = opts.nowSec ?? Math.floor(Date.now() / 1000);
  const payload: Record<string, unknown> = {};
  if (opts.name !== undefined) payload.name = opts.name;
  if (opts.metadata !== undefined) payload.metadata = opts.metadata;
  if (opts.attributes !== undefined) payload.attributes = opts.attributes;
  if (opts.kind !== undefined) payload.kind = opts.kind;
  if (opts.kindDetails !== undefined) payload.kindDetails = opts.kindDetails;
  if (opts.video !== undefined) payload.video = opts.video;
  if (opts.roomConfig !== undefined) payload.roomConfig = opts.roomConfig;
  if (opts.roomPreset !== undefined) payload.roomPreset = opts.roomPreset;
  const jwt = new SignJWT(payload)
    .setProtectedHeader({ alg: 'HS256' })
    .setIssuer(opts.apiKey)
    .setNotBefore(nowSec)
    .setIssuedAt(nowSec)
    .setExpirationTime(nowSec + (opts.ttlSec ?? 6 * 3600));
  if (opts.identity) jwt.setSubject(opts.identity);
  return jwt.sign(encoder.encode(opts.apiSecret));
}
