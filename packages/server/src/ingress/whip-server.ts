// The WHIP endpoint (RFC 9725) on the server's HTTP listener, in LiveKit ingress's URL shapes: POST /w/<stream key>
// (or POST /w with `Authorization: Bearer <stream key>`) with an SDP offer -> 201, the answer and
// `Location: /w/<stream key>/<resource id>`; DELETE on that location ends the stream; PATCH on it takes trickled ICE
// candidates (whip-trickle.ts). CORS lets browser pages publish.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { IngressInput } from '@livekit/protocol';
import type { Logger } from '@atrium/webrtc';
import { IngressError } from './ingress-error.js';
import type { IngressErrorCode } from './ingress-error.js';
import type { IngressRegistry } from './ingress-registry.js';
import type { IngressSessions } from './ingress-sessions.js';
import { checkTrickle, TrickleError } from './whip-trickle.js';

export const WHIP_PATH = '/w';
/** Largest offer taken; a camera and a microphone with three simulcast layers are about 10 KB. */
export const MAX_OFFER_BYTES = 128 * 1024;

const STATUS_BY_CODE: Record<IngressErrorCode, number> = {
  invalid_argument: 400,
  not_found: 404,
  unimplemented: 501,
  failed_precondition: 412,
  resource_exhausted: 503,
  permission_denied: 403,
  already_exists: 409,
  unavailable: 503,
};

// Authorization must be named: the '*' wildcard does not cover it (Fetch standard, CORS-safelisted headers).
const CORS: Record<string, string> = {
  'Access-Control-Allow-Origin': '*',
  'Access-Control-Allow-Headers': 'Authorization, Content-Type, If-Match, *',
  'Access-Control-Expose-Headers': 'Location, ETag, Link, Accept-Post, Accept-Patch',
};

export interface WhipServerOptions {
  ingresses: IngressRegistry;
  sessions: IngressSessions;
  logger: Logger;
}

class HttpError extends Error {
  constructor(readonly status: number, message: string, readonly headers: Record<string, string> = {}) {
    super(message);
  }
}

export class WhipServer {
  private readonly opts: WhipServerOptions;

  constructor(opts: WhipServerOptions) {
    this.opts = opts;
  }

  /** True for /w and everything under it. */
  static matches(req: IncomingMessage): boolean {
    const path = (req.url ?? '').split('?')[0] ?? '';
    return path === WHIP_PATH || path.startsWith(`${WHIP_PATH}/`);
  }

  /** Never throws; every refusal is a plain-text body saying why. */
  handle(req: IncomingMessage, res: ServerResponse): void {
    this.serve(req, res).catch((err: unknown) => {
      const known = err instanceof HttpError ? err : err instanceof IngressError ? new HttpError(STATUS_BY_CODE[err.code], err.message) : undefined;
      if (!known) this.opts.logger.error({ err, url: req.url }, 'WHIP request failed');
      else this.opts.logger.info({ status: known.status, error: known.message, method: req.method }, 'WHIP request refused');
      if (res.headersSent) {
        res.destroy();
        return;
      }
      if (!req.complete) {
        res.setHeader('Connection', 'close');
        req.resume();
      }
      const e = known ?? new HttpError(500, 'internal error');
      this.reply(res, e.status, e.message, e.headers);
    });
  }

  private async serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const parts = (req.url ?? '').split('?')[0]!.slice(WHIP_PATH.length).split('/').filter((p) => p !== '').map(safeDecode);
    const method = req.method ?? '';
    if (parts.length > 2) throw new HttpError(404, 'not found');
    const isResource = parts.length === 2;
    if (method === 'OPTIONS') {
      const methods = isResource ? 'DELETE, PATCH, OPTIONS' : 'POST, OPTIONS';
      res.writeHead(204, {
        ...CORS, 'Access-Control-Allow-Methods': methods, 'Access-Control-Max-Age': '86400',
        ...(isResource ? { 'Accept-Patch': TRICKLE_TYPE } : { 'Accept-Post': 'application/sdp' }),
      });
      res.end();
      return;
    }
    if (isResource) {
      if (method === 'DELETE') return this.deleteResource(res, parts[0]!, parts[1]!);
      if (method === 'PATCH') return this.trickle(req, res, parts[0]!, parts[1]!);
      throw new HttpError(405, `${method} is not allowed on a WHIP resource`, { Allow: 'DELETE, PATCH, OPTIONS' });
    }
    if (method !== 'POST') throw new HttpError(405, `${method} is not allowed on a WHIP endpoint (POST an SDP offer)`, { Allow: 'POST, OPTIONS' });
    const streamKey = parts[0] ?? bearerOf(req.headers.authorization);
    if (!streamKey) throw new HttpError(401, 'no stream key: POST to /w/<stream key> or send Authorization: Bearer <stream key>', { 'WWW-Authenticate': 'Bearer' });
    const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
    if (type !== 'application/sdp') throw new HttpError(415, `the offer must be sent as application/sdp (got ${type || 'no Content-Type'})`, { 'Accept-Post': 'application/sdp' });
    const body = await readBody(req);
    return this.publish(res, streamKey, body);
  }

  private async publish(res: ServerResponse, streamKey: string, body: string): Promise<void> {
    const ingress = this.opts.ingresses.byStreamKey(streamKey);
    if (!ingress) throw new HttpError(404, 'no ingress has this stream key');
    if (ingress.inputType !== IngressInput.WHIP_INPUT) throw new HttpError(400, `ingress ${ingress.ingressId} is not a WHIP ingress (input type ${IngressInput[ingress.inputType]})`);
    const { session, answer } = await this.opts.sessions.open(ingress, body);
    const location = `${WHIP_PATH}/${encodeURIComponent(streamKey)}/${session.resourceId}`;
    res.writeHead(201, {
      ...CORS,
      'Content-Type': 'application/sdp',
      'Content-Length': Buffer.byteLength(answer),
      Location: location,
      ETag: etagOf(session.resourceId),
      'Accept-Patch': TRICKLE_TYPE,
    });
    res.end(answer);
  }

  /** PATCH with trickled candidates (whip-trickle.ts): 204; an ICE restart 422; a stale ETag 412. */
  private async trickle(req: IncomingMessage, res: ServerResponse, streamKey: string, resourceId: string): Promise<void> {
    const session = this.opts.sessions.byResource(resourceId);
    if (!session || session.streamKey !== streamKey) throw new HttpError(404, 'no live WHIP stream at this location');
    const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
    if (type !== TRICKLE_TYPE) throw new HttpError(415, `PATCH takes ${TRICKLE_TYPE} (got ${type || 'no Content-Type'})`, { 'Accept-Patch': TRICKLE_TYPE });
    // RFC 9725 asks clients for If-Match; one without it is taken as trickling on the current session.
    const ifMatch = req.headers['if-match']?.trim() || undefined;
    if (ifMatch !== undefined && ifMatch !== '*' && ifMatch !== etagOf(resourceId)) {
      throw new HttpError(412, `If-Match ${ifMatch} is not this session's entity tag`);
    }
    const body = await readBody(req);
    try {
      const frag = checkTrickle(body, session.offerIce, ifMatch);
      this.opts.logger.debug({ resourceId, candidates: frag.candidates.length, end: frag.endOfCandidates }, 'WHIP trickle');
    } catch (err) {
      if (err instanceof TrickleError) throw new HttpError(err.status, err.message);
      throw err;
    }
    res.writeHead(204, { ...CORS, ETag: etagOf(resourceId) });
    res.end();
  }

  private deleteResource(res: ServerResponse, streamKey: string, resourceId: string): void {
    const session = this.opts.sessions.byResource(resourceId);
    if (!session || session.streamKey !== streamKey) throw new HttpError(404, 'no live WHIP stream at this location');
    session.stop('the sender deleted the WHIP resource');
    this.reply(res, 200, 'stream ended');
  }

  private reply(res: ServerResponse, status: number, body: string, headers: Record<string, string> = {}): void {
    res.writeHead(status, { ...CORS, ...headers, 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': Buffer.byteLength(body) });
    res.end(body);
  }
}

const TRICKLE_TYPE = 'application/trickle-ice-sdpfrag';

function etagOf(resourceId: string): string {
  return `"${resourceId}"`;
}

function bearerOf(authorization: string | undefined): string | undefined {
  if (!authorization) return undefined;
  const key = authorization.replace(/^Bearer\s+/i, '').trim();
  return key === '' ? undefined : key;
}

function safeDecode(part: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    return part;
  }
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const announced = Number(req.headers['content-length'] ?? 0);
    if (announced > MAX_OFFER_BYTES) {
      reject(new HttpError(413, `the offer is larger than ${MAX_OFFER_BYTES} bytes`));
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size <= MAX_OFFER_BYTES) {
        chunks.push(chunk);
        return;
      }
      req.off('data', onData);
      reject(new HttpError(413, `the offer is larger than ${MAX_OFFER_BYTES} bytes`));
    };
    req.on('data', onData);
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}
