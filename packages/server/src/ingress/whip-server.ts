// The WHIP endpoint (RFC 9725) on the server's HTTP listener, in LiveKit ingress's URL shapes: POST /w/<stream key>
// (or POST /w with `Authorization: Bearer <stream key>`) with an SDP offer -> 201, the answer and
// `Location: /w/<stream key>/<resource id>`; DELETE on that location ends the stream. CORS lets browser pages publish.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { IngressInput } from '@livekit/protocol';
import type { IngressInfo } from '@livekit/protocol';
import { newId } from '@atrium/protocol';
import type { Clock, Logger } from '@atrium/webrtc';
import type { MediaFactory } from '../rtc/participant-media.js';
import type { RoomManager } from '../rtc/room-manager.js';
import type { Room } from '../rtc/room.js';
import type { PublishCodecs } from '../rtc/publish-codecs.js';
import { JoinRefusedError } from '../rtc/join-admission.js';
import { SdpError } from '@atrium/webrtc/sdp/sdp-model.js';
import { IngressError } from './ingress-error.js';
import type { IngressErrorCode } from './ingress-error.js';
import type { IngressRegistry } from './ingress-registry.js';
import { readWhipOffer } from './whip-offer.js';
import { WhipSession } from './whip-session.js';
import { startUrlIngress } from './url-ingress.js';

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
  'Access-Control-Expose-Headers': 'Location, ETag, Link, Accept-Post',
};

export interface WhipServerOptions {
  ingresses: IngressRegistry;
  rooms: RoomManager;
  mediaFactory: MediaFactory;
  clock: Clock;
  logger: Logger;
  publishCodecs?: PublishCodecs;
}

class HttpError extends Error {
  constructor(readonly status: number, message: string, readonly headers: Record<string, string> = {}) {
    super(message);
  }
}

export class WhipServer {
  private readonly opts: WhipServerOptions;
  private readonly sessions = new Map<string, WhipSession>();
  private closing = false;

  constructor(opts: WhipServerOptions) {
    this.opts = opts;
  }

  /** True for /w and everything under it. */
  static matches(req: IncomingMessage): boolean {
    const path = (req.url ?? '').split('?')[0] ?? '';
    return path === WHIP_PATH || path.startsWith(`${WHIP_PATH}/`);
  }

  get sessionCount(): number {
    return this.sessions.size;
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

  /** Ends every stream (the node closes). */
  close(): void {
    this.closing = true;
    for (const s of [...this.sessions.values()]) s.stop('the server is shutting down');
  }

  private async serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const parts = (req.url ?? '').split('?')[0]!.slice(WHIP_PATH.length).split('/').filter((p) => p !== '').map(safeDecode);
    const method = req.method ?? '';
    if (parts.length > 2) throw new HttpError(404, 'not found');
    const isResource = parts.length === 2;
    if (method === 'OPTIONS') {
      const methods = isResource ? 'DELETE, PATCH, OPTIONS' : 'POST, OPTIONS';
      res.writeHead(204, { ...CORS, 'Access-Control-Allow-Methods': methods, 'Access-Control-Max-Age': '86400', ...(isResource ? {} : { 'Accept-Post': 'application/sdp' }) });
      res.end();
      return;
    }
    if (isResource) {
      if (method === 'DELETE') return this.deleteResource(res, parts[0]!, parts[1]!);
      // No trickle ICE nor ICE restarts (the answer carries every candidate): RFC 9725 4.3.1's answer for both.
      if (method === 'PATCH') throw new HttpError(405, 'trickle ICE and ICE restarts are not supported on this WHIP resource', { Allow: 'DELETE, OPTIONS' });
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
    if (this.closing) throw new HttpError(503, 'the server is shutting down');
    const ingress = this.opts.ingresses.byStreamKey(streamKey);
    if (!ingress) throw new HttpError(404, 'no ingress has this stream key');
    if (ingress.inputType !== IngressInput.WHIP_INPUT) throw new HttpError(400, `ingress ${ingress.ingressId} is not a WHIP ingress (input type ${IngressInput[ingress.inputType]})`);
    const { session, answer } = await this.openSession(ingress, body);
    const location = `${WHIP_PATH}/${encodeURIComponent(streamKey)}/${session.resourceId}`;
    res.writeHead(201, {
      ...CORS,
      'Content-Type': 'application/sdp',
      'Content-Length': Buffer.byteLength(answer),
      Location: location,
      ETag: `"${session.resourceId}"`,
    });
    res.end(answer);
  }

  /**
   * Starts a stream of `ingress` from an SDP offer: the ingress goes BUFFERING (ingress_started), its participant joins
   * the room and the offer is answered. Used by WHIP senders (over HTTP) and by URL ingresses (our own client PC).
   */
  async openSession(ingress: IngressInfo, offerSdp: string): Promise<{ session: WhipSession; answer: string }> {
    const { ingresses } = this.opts;
    if (this.closing) throw new HttpError(503, 'the server is shutting down');
    const resourceId = newId('WH_');
    const offer = readWhipOffer(offerSdp, { streamId: ingress.ingressId });
    ingresses.checkStartable(ingress.ingressId);
    const room = this.roomFor(ingress.roomName, ingress.participantIdentity);
    ingresses.startStream(ingress.ingressId, { resourceId, roomId: room.sid });
    let session: WhipSession;
    try {
      session = new WhipSession({
        ingress,
        resourceId,
        room,
        offer,
        mediaFactory: this.opts.mediaFactory,
        clock: this.opts.clock,
        logger: this.opts.logger,
        ...(this.opts.publishCodecs ? { publishCodecs: this.opts.publishCodecs } : {}),
        onPublishing: (tracks) => ingresses.streamPublishing(ingress.ingressId, tracks),
        onEnded: (error) => {
          this.sessions.delete(resourceId);
          ingresses.streamEnded(ingress.ingressId, error);
        },
      });
    } catch (err) {
      ingresses.streamEnded(ingress.ingressId, `the stream could not start: ${(err as Error).message}`);
      throw err;
    }
    this.sessions.set(resourceId, session);
    ingresses.attachStream(ingress.ingressId, session);
    let answer: string;
    try {
      answer = await session.answer();
    } catch (err) {
      if (err instanceof SdpError) throw new HttpError(400, `the offer was refused: ${err.message}`);
      throw err;
    }
    if (session.isEnded) throw new HttpError(409, 'the stream ended before it was answered');
    return { session, answer };
  }

  /** A URL ingress was created (or enabled): ffmpeg and our client PC publish it through `openSession`. */
  startUrlIngress(ingress: IngressInfo): void {
    const logger = this.opts.logger.child({ ingressId: ingress.ingressId, room: ingress.roomName });
    void startUrlIngress({
      ingress,
      logger,
      open: (sdp) => this.openSession(ingress, sdp),
      onStartFailed: (error) => this.opts.ingresses.startFailed(ingress.ingressId, error),
    });
  }

  private deleteResource(res: ServerResponse, streamKey: string, resourceId: string): void {
    const session = this.sessions.get(resourceId);
    if (!session || session.streamKey !== streamKey) throw new HttpError(404, 'no live WHIP stream at this location');
    session.stop('the sender deleted the WHIP resource');
    this.reply(res, 200, 'stream ended');
  }

  /** The ingress's room, created as a join would (room.auto_create); refusals say why. */
  private roomFor(roomName: string, identity: string): Room {
    try {
      return this.opts.rooms.roomForJoin(roomName, { identity, isDependent: false, canCreateRoom: true });
    } catch (err) {
      if (err instanceof JoinRefusedError) {
        const status = err.code === 'room_not_found' ? 404 : 503;
        throw new HttpError(status, `the ingress cannot join room ${roomName}: ${err.message}`);
      }
      throw err;
    }
  }

  private reply(res: ServerResponse, status: number, body: string, headers: Record<string, string> = {}): void {
    res.writeHead(status, { ...CORS, ...headers, 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': Buffer.byteLength(body) });
    res.end(body);
  }
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
