// Twirp transport for the server API: POST /twirp/<package.Service>/<Method>, JSON or protobuf bodies,
// Bearer-token auth and Twirp's error JSON (https://twitchtv.github.io/twirp/docs/spec_v7.html; docs/livekit-protocol.md 7.1).
import type { IncomingMessage, ServerResponse } from 'node:http';
import { verifyAccessToken } from '@atrium/protocol';
import type { ClaimGrants } from '@atrium/protocol';
import type { Logger } from '@atrium/webrtc';

export const TWIRP_PREFIX = '/twirp/';
export const MAX_BODY_BYTES = 1 << 20;

/** Twirp error codes and their HTTP statuses (Twirp spec, "Error codes"). */
export const TWIRP_STATUS = {
  canceled: 408,
  unknown: 500,
  invalid_argument: 400,
  malformed: 400,
  deadline_exceeded: 408,
  not_found: 404,
  bad_route: 404,
  already_exists: 409,
  permission_denied: 403,
  unauthenticated: 401,
  resource_exhausted: 429,
  failed_precondition: 412,
  aborted: 409,
  out_of_range: 400,
  unimplemented: 501,
  internal: 500,
  unavailable: 503,
  dataloss: 500,
} as const;
export type TwirpCode = keyof typeof TWIRP_STATUS;

export class TwirpError extends Error {
  readonly code: TwirpCode;
  constructor(code: TwirpCode, msg: string) {
    super(msg);
    this.name = 'TwirpError';
    this.code = code;
  }
  get status(): number {
    return TWIRP_STATUS[this.code];
  }
}

/** LiveKit's answer to a token without the needed grant. */
export function permissionsDenied(): TwirpError {
  return new TwirpError('unauthenticated', 'permissions denied');
}

/** What the transport needs of a protobuf-es message and its class (kept structural on purpose). */
export interface ApiMessage {
  toBinary(): Uint8Array;
  toJsonString(opts?: { emitDefaultValues?: boolean; useProtoFieldName?: boolean }): string;
}
export interface ApiMessageType<I extends ApiMessage> {
  fromJson(json: unknown, opts?: { ignoreUnknownFields?: boolean }): I;
  fromBinary(bytes: Uint8Array): I;
}
type AnyMessage = ApiMessage;

/** One RPC: how to decode its request and how to answer it. `claims` are the verified token's. */
export interface TwirpMethod<I extends AnyMessage = AnyMessage> {
  readonly input: ApiMessageType<I>;
  handle(req: I, claims: ClaimGrants | undefined): Promise<AnyMessage> | AnyMessage;
}

export type TwirpService = Readonly<Record<string, TwirpMethod>>;

/** Helper that keeps the request type of a method checked. */
export function method<I extends AnyMessage>(
  input: ApiMessageType<I>,
  handle: (req: I, claims: ClaimGrants | undefined) => Promise<AnyMessage> | AnyMessage,
): TwirpMethod {
  return { input, handle } as unknown as TwirpMethod;
}

export interface TwirpServerOptions {
  keys: Readonly<Record<string, string>>;
  /** Services by full name, e.g. 'livekit.RoomService'. */
  services: Readonly<Record<string, TwirpService>>;
  logger: Logger;
}

type Encoding = 'json' | 'protobuf';

function encodingOf(contentType: string | undefined): Encoding | undefined {
  const base = (contentType ?? '').split(';')[0]?.trim().toLowerCase();
  if (base === 'application/json') return 'json';
  if (base === 'application/protobuf' || base === 'application/x-protobuf') return 'protobuf';
  return undefined;
}

export function writeTwirpError(res: ServerResponse, err: TwirpError): void {
  const body = JSON.stringify({ code: err.code, msg: err.message });
  res.writeHead(err.status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
}

function writePlain401(res: ServerResponse, msg: string): void {
  res.writeHead(401, { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': Buffer.byteLength(msg) });
  res.end(msg);
}

/**
 * Reads the whole body, at most MAX_BODY_BYTES. A larger body (announced or actual) fails with `malformed`;
 * the rest of it is read and discarded so the error can still be written (the connection is then closed).
 */
function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const tooLarge = (): TwirpError => new TwirpError('malformed', `request body larger than ${MAX_BODY_BYTES} bytes`);
    const announced = Number(req.headers['content-length'] ?? 0);
    if (announced > MAX_BODY_BYTES) {
      req.resume();
      reject(tooLarge());
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size <= MAX_BODY_BYTES) {
        chunks.push(chunk);
        return;
      }
      chunks.length = 0;
      req.off('data', onData);
      req.resume();
      reject(tooLarge());
    };
    req.on('data', onData);
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

/** Serves Twirp requests; `handle` never throws. */
export class TwirpServer {
  private readonly opts: TwirpServerOptions;

  constructor(opts: TwirpServerOptions) {
    this.opts = opts;
  }

  /** True when the request's path is under /twirp/ (and so is this server's to answer). */
  static matches(req: IncomingMessage): boolean {
    return (req.url ?? '').startsWith(TWIRP_PREFIX);
  }

  handle(req: IncomingMessage, res: ServerResponse): void {
    this.serve(req, res).catch((err: unknown) => {
      const twirp = err instanceof TwirpError ? err : new TwirpError('internal', 'internal error');
      if (!(err instanceof TwirpError)) this.opts.logger.error({ err, url: req.url }, 'twirp handler failed');
      if (res.headersSent) {
        res.destroy();
        return;
      }
      // A request whose body was not read to the end cannot leave the connection reusable.
      if (!req.complete) res.setHeader('Connection', 'close');
      writeTwirpError(res, twirp);
    });
  }

  private async serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '').split('?')[0] ?? '';
    const rest = path.slice(TWIRP_PREFIX.length).split('/');
    const service = rest.length === 2 ? this.opts.services[rest[0] ?? ''] : undefined;
    const name = rest[1] ?? '';
    const m = service && Object.prototype.hasOwnProperty.call(service, name) ? service[name] : undefined;
    if (req.method !== 'POST') {
      req.resume();
      throw new TwirpError('bad_route', `unsupported method ${req.method ?? ''} (only POST is allowed)`);
    }
    if (!m) {
      req.resume();
      throw new TwirpError('bad_route', `no handler for path ${path}`);
    }
    const encoding = encodingOf(req.headers['content-type']);
    if (!encoding) {
      req.resume();
      throw new TwirpError('bad_route', `unexpected Content-Type: ${req.headers['content-type'] ?? ''}`);
    }

    // Auth as LiveKit's middleware: no header = no claims (the method then denies); a bad one = plain 401.
    let claims: ClaimGrants | undefined;
    const authorization = req.headers.authorization;
    if (authorization !== undefined) {
      const token = authorization.startsWith('Bearer ') ? authorization.slice(7).trim() : undefined;
      if (!token) {
        req.resume();
        return writePlain401(res, 'invalid authorization header. Must start with Bearer ');
      }
      try {
        claims = await verifyAccessToken(token, this.opts.keys);
      } catch (err) {
        req.resume();
        this.opts.logger.debug({ err }, 'twirp: token rejected');
        return writePlain401(res, 'invalid authorization token');
      }
    }

    const body = await readBody(req);
    let input: AnyMessage;
    try {
      input =
        encoding === 'json'
          ? m.input.fromJson(body.length === 0 ? {} : JSON.parse(body.toString('utf8')), { ignoreUnknownFields: true })
          : m.input.fromBinary(body);
    } catch (err) {
      throw new TwirpError('malformed', `the ${encoding} request could not be decoded: ${(err as Error).message}`);
    }
    const output = await m.handle(input, claims);
    if (encoding === 'json') {
      const text = output.toJsonString({ emitDefaultValues: true, useProtoFieldName: true });
      res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
      res.end(text);
    } else {
      const bytes = output.toBinary();
      res.writeHead(200, { 'Content-Type': 'application/protobuf', 'Content-Length': bytes.length });
      res.end(bytes);
    }
  }
}
