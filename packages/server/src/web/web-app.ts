// Serves the meeting app (apps/web, built into dist/; docs/web-app.md) on the main HTTP port: /app/ and its assets,
// /rooms/<name> (the app with that room), browsers' GET / redirected to /app/ (everything else keeps the health
// check), /app/config.json, and the development token endpoints /app/token and /app/admin-token (web.dev_tokens).
import { readFile, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createAccessToken, verifyAccessToken } from '@atrium/protocol';
import type { Logger } from '@atrium/webrtc';
import type { ServerConfig } from '../config/server-config.js';

/** apps/web/dist of this checkout (packages/server/src/web -> repo root). */
export const DEFAULT_WEB_APP_DIR = resolve(fileURLToPath(new URL('../../../../apps/web/dist', import.meta.url)));

const CONTENT_TYPES: Record<string, string> = {
  html: 'text/html; charset=utf-8',
  js: 'text/javascript; charset=utf-8',
  css: 'text/css; charset=utf-8',
  map: 'application/json; charset=utf-8',
  json: 'application/json; charset=utf-8',
  txt: 'text/plain; charset=utf-8',
  svg: 'image/svg+xml',
  png: 'image/png',
  ico: 'image/x-icon',
  woff2: 'font/woff2',
};
/** One file name in dist/, no directories, no leading dot: what can be served at all (traversal has no way in). */
const ASSET_NAME = /^[A-Za-z0-9_-][A-Za-z0-9._-]*$/;
/** esbuild's [name]-[hash] outputs: cached for a year. */
const HASHED_ASSET = /-[A-Z0-9]{8}\.(js|css)(\.map)?$/;
const MAX_PARAM_CHARS = 128;
const DEV_TOKEN_TTL_SEC = 6 * 3600;
const ADMIN_TOKEN_TTL_SEC = 10 * 60;
const BASE_HEADERS = { 'X-Content-Type-Options': 'nosniff', 'Referrer-Policy': 'no-referrer' } as const;

type Route =
  | { kind: 'redirect'; location: string }
  | { kind: 'page' }
  | { kind: 'config' }
  | { kind: 'token' }
  | { kind: 'admin-token' }
  | { kind: 'live' }
  | { kind: 'asset'; name: string }
  | { kind: 'not-found' };

/** What an /app/... or /rooms/... path (or a browser's /) is; undefined = not the app's (health check, /rtc ...). */
export function webRoute(pathname: string, acceptsHtml: boolean): Route | undefined {
  if (pathname === '/' || pathname === '') return acceptsHtml ? { kind: 'redirect', location: '/app/' } : undefined;
  if (pathname === '/app') return { kind: 'redirect', location: '/app/' };
  if (/^\/rooms\/[^/]+\/?$/.test(pathname)) return { kind: 'page' };
  if (pathname === '/rooms' || pathname === '/rooms/') return { kind: 'redirect', location: '/app/' };
  if (!pathname.startsWith('/app/')) return undefined;
  const rest = pathname.slice('/app/'.length);
  if (rest === '' || rest === 'index.html' || rest === 'admin' || rest === 'admin/') return { kind: 'page' };
  if (rest === 'config.json') return { kind: 'config' };
  if (rest === 'token') return { kind: 'token' };
  if (rest === 'admin-token') return { kind: 'admin-token' };
  if (rest === 'api/live') return { kind: 'live' };
  if (ASSET_NAME.test(rest)) return { kind: 'asset', name: rest };
  return { kind: 'not-found' };
}

export function contentTypeOf(name: string): string {
  return CONTENT_TYPES[name.slice(name.lastIndexOf('.') + 1).toLowerCase()] ?? 'application/octet-stream';
}

/** Media counters of this node (totals since start) and each subscriber's downlink, for the operator view. */
export interface LiveStats {
  media: Record<'audio' | 'video', { packetsIn: number; bytesIn: number; packetsOut: number; bytesOut: number }>;
  /** By participant sid: the send-side estimate (null before the first), what its video and audio take, paused tracks. */
  subscribers: Record<string, { estimateBps: number | null; allocatedBps: number; audioBps: number; pausedTracks: number }>;
  /** By published track sid: what arrives from its publisher now, in all and per spatial layer (low to high). */
  tracks: Record<string, { bitrateBps: number; layerBitrateBps: number[] }>;
}

export interface WebAppOptions {
  config: ServerConfig['web'];
  keys: Readonly<Record<string, string>>;
  logger: Logger;
  /** What GET /app/api/live answers (with a roomList token); absent = 404. */
  live?: () => LiveStats;
}

interface CachedFile {
  mtimeMs: number;
  size: number;
  body: Buffer;
  gzip: Buffer | undefined;
}

export class WebApp {
  private readonly dir: string;
  private readonly cache = new Map<string, CachedFile>();

  constructor(private readonly opts: WebAppOptions) {
    this.dir = opts.config.dir !== '' ? resolve(opts.config.dir) : DEFAULT_WEB_APP_DIR;
  }

  /** True when the request is the app's (called before the signalling routes). */
  matches(req: IncomingMessage): boolean {
    return this.routeOf(req) !== undefined;
  }

  handle(req: IncomingMessage, res: ServerResponse): void {
    this.handleAsync(req, res).catch((err: unknown) => {
      this.opts.logger.error({ err }, 'web app request failed');
      if (!res.headersSent) this.text(res, 500, 'internal error');
      else res.destroy();
    });
  }

  private routeOf(req: IncomingMessage): Route | undefined {
    let pathname: string;
    try {
      pathname = new URL(req.url ?? '/', 'http://localhost').pathname;
    } catch {
      return undefined;
    }
    // only a GET from a browser goes to the app: HEAD / stays the health check whatever it accepts
    const acceptsHtml = req.method === 'GET' && /\btext\/html\b/.test(req.headers.accept ?? '');
    return webRoute(pathname, acceptsHtml);
  }

  private async handleAsync(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const route = this.routeOf(req);
    if (route === undefined) return this.text(res, 404, 'not found');
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('Allow', 'GET, HEAD');
      return this.text(res, 405, 'method not allowed');
    }
    const url = new URL(req.url ?? '/', 'http://localhost');
    switch (route.kind) {
      case 'redirect':
        res.writeHead(302, { ...BASE_HEADERS, Location: route.location, 'Content-Length': 0 });
        res.end();
        return;
      case 'page':
        return this.file(req, res, 'index.html');
      case 'asset':
        return this.file(req, res, route.name);
      case 'config':
        return this.json(res, 200, { devTokens: this.opts.config.devTokens, tokenEndpoint: this.opts.config.tokenEndpoint });
      case 'token':
        return this.devToken(res, url.searchParams);
      case 'admin-token':
        return this.adminToken(res, url.searchParams);
      case 'live':
        return this.liveStats(req, res);
      case 'not-found':
        return this.text(res, 404, 'not found');
    }
  }

  private firstKey(): [string, string] | undefined {
    return Object.entries(this.opts.keys)[0];
  }

  /** GET /app/token?room=&identity=&name=: a join token for anyone (dev only). */
  private async devToken(res: ServerResponse, q: URLSearchParams): Promise<void> {
    const key = this.firstKey();
    if (!this.opts.config.devTokens || key === undefined) return this.text(res, 404, 'not found');
    const room = q.get('room') ?? '';
    const identity = q.get('identity') ?? '';
    const name = q.get('name') ?? identity;
    for (const [k, v] of [['room', room], ['identity', identity]] as const) {
      if (v.trim() === '') return this.json(res, 400, { error: `${k} is missing` });
    }
    for (const [k, v] of [['room', room], ['identity', identity], ['name', name]] as const) {
      if (v.length > MAX_PARAM_CHARS) return this.json(res, 400, { error: `${k} is longer than ${MAX_PARAM_CHARS} characters` });
    }
    const token = await createAccessToken({
      apiKey: key[0],
      apiSecret: key[1],
      identity,
      name,
      ttlSec: DEV_TOKEN_TTL_SEC,
      video: { roomJoin: true, room, canPublish: true, canSubscribe: true, canPublishData: true, canUpdateOwnMetadata: true },
    });
    this.opts.logger.debug({ room, participant: identity }, 'dev token issued');
    return this.json(res, 200, { token, url: '' });
  }

  /** GET /app/admin-token?room=: roomList, and roomAdmin on `room` (dev only; the operator view). */
  private async adminToken(res: ServerResponse, q: URLSearchParams): Promise<void> {
    const key = this.firstKey();
    if (!this.opts.config.devTokens || key === undefined) return this.text(res, 404, 'not found');
    const room = q.get('room') ?? '';
    if (room.length > MAX_PARAM_CHARS) return this.json(res, 400, { error: `room is longer than ${MAX_PARAM_CHARS} characters` });
    const token = await createAccessToken({
      apiKey: key[0],
      apiSecret: key[1],
      identity: 'atrium-operator-view',
      ttlSec: ADMIN_TOKEN_TTL_SEC,
      video: { roomList: true, ...(room !== '' ? { roomAdmin: true, room } : {}) },
    });
    return this.json(res, 200, { token });
  }

  /** GET /app/api/live with `Authorization: Bearer <token with roomList>`: LiveStats and the time, for rates. */
  private async liveStats(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (this.opts.live === undefined) return this.text(res, 404, 'not found');
    const auth = /^Bearer (\S+)$/i.exec(req.headers.authorization ?? '')?.[1];
    if (auth === undefined) return this.json(res, 401, { error: 'an Authorization: Bearer token with the roomList grant is needed' });
    try {
      const claims = await verifyAccessToken(auth, this.opts.keys);
      if (claims.video?.roomList !== true) return this.json(res, 403, { error: 'the token lacks the roomList grant' });
    } catch {
      return this.json(res, 401, { error: 'invalid token' });
    }
    return this.json(res, 200, { atMs: Date.now(), ...this.opts.live() });
  }

  private async file(req: IncomingMessage, res: ServerResponse, name: string): Promise<void> {
    const path = join(this.dir, name);
    let info;
    try {
      info = await stat(path);
    } catch {
      if (name === 'index.html') return this.text(res, 503, `the web app is not built (no ${path}): run npm run build:web`);
      return this.text(res, 404, 'not found');
    }
    if (!info.isFile()) return this.text(res, 404, 'not found');
    let cached = this.cache.get(name);
    if (!cached || cached.mtimeMs !== info.mtimeMs || cached.size !== info.size) {
      const body = await readFile(path);
      const type = contentTypeOf(name);
      const compressible = /^(text\/|application\/json|image\/svg)/.test(type) && body.length > 1024;
      cached = { mtimeMs: info.mtimeMs, size: info.size, body, gzip: compressible ? gzipSync(body) : undefined };
      this.cache.set(name, cached);
    }
    const useGzip = cached.gzip !== undefined && /\bgzip\b/.test(req.headers['accept-encoding'] ?? '');
    const body = useGzip && cached.gzip ? cached.gzip : cached.body;
    res.writeHead(200, {
      ...BASE_HEADERS,
      'Content-Type': contentTypeOf(name),
      'Content-Length': body.length,
      'Cache-Control': HASHED_ASSET.test(name) ? 'public, max-age=31536000, immutable' : 'no-cache',
      ...(cached.gzip !== undefined ? { Vary: 'Accept-Encoding' } : {}),
      ...(useGzip ? { 'Content-Encoding': 'gzip' } : {}),
    });
    res.end(req.method === 'HEAD' ? undefined : body);
  }

  private json(res: ServerResponse, status: number, body: unknown): void {
    const text = JSON.stringify(body);
    res.writeHead(status, { ...BASE_HEADERS, 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': Buffer.byteLength(text), 'Cache-Control': 'no-store' });
    res.end(res.req.method === 'HEAD' ? undefined : text);
  }

  private text(res: ServerResponse, status: number, body: string): void {
    res.writeHead(status, { ...BASE_HEADERS, 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': Buffer.byteLength(body) });
    res.end(res.req.method === 'HEAD' ? undefined : body);
  }
}
