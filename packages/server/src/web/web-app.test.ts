// The web app's HTTP side through the whole server (createServer, fake media): static files with their content types
// and caching, path traversal refused, GET / still the health check for anything but a browser, the dev token
// endpoints on only with web.dev_tokens, and web.enabled: false leaving only the health check.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { verifyAccessToken } from '@atrium/protocol';
import { createServer, type AtriumServer } from '../create-server.js';
import { devConfig, type ServerConfigOverrides } from '../config/server-config.js';
import { FakeMediaFactory } from '../rtc/fake-media.js';
import { errorLogger } from '../signal/error-logger.js';

const root = mkdtempSync(join(tmpdir(), 'atrium-web-'));
const dist = join(root, 'dist');
const logger = errorLogger();
const BIG_JS = `console.log(${JSON.stringify('x'.repeat(4000))});\n`;
const servers: AtriumServer[] = [];

async function start(web: ServerConfigOverrides['web'], development = true): Promise<string> {
  const s = await createServer(devConfig({ port: 0, rtc: { udpPort: 0 }, development, web: { dir: dist, ...web } }), { mediaFactory: new FakeMediaFactory(), logger });
  servers.push(s);
  return `http://127.0.0.1:${s.httpPort}`;
}

/** Sends the request line as written (fetch would normalise `..`); returns status, headers and body. */
function raw(port: number, path: string, headers = ''): Promise<{ status: number; head: string; body: string }> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    socket.on('connect', () => socket.write(`GET ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n${headers}\r\n`));
    socket.on('data', (d) => chunks.push(d));
    socket.on('error', reject);
    socket.on('close', () => {
      const text = Buffer.concat(chunks).toString('latin1');
      const [head = '', body = ''] = text.split('\r\n\r\n');
      resolve({ status: Number(/^HTTP\/1\.1 (\d+)/.exec(head)?.[1] ?? 0), head, body });
    });
  });
}

let base: string;
let port: number;
before(async () => {
  mkdirSync(dist);
  writeFileSync(join(dist, 'index.html'), '<!doctype html><title>app</title>');
  writeFileSync(join(dist, 'app-ABCDEF12.js'), BIG_JS);
  writeFileSync(join(dist, 'notes.css'), 'body{}');
  writeFileSync(join(dist, '.secret'), 'hidden');
  mkdirSync(join(dist, 'sub'));
  writeFileSync(join(dist, 'sub', 'x.js'), 'nested');
  writeFileSync(join(root, 'outside.txt'), 'TOP SECRET');
  base = await start({});
  port = Number(new URL(base).port);
});
after(async () => {
  await Promise.all(servers.map((s) => s.close()));
  rmSync(root, { recursive: true, force: true });
});

test('GET /: OK for health checks and API clients, a redirect to /app/ for browsers', async () => {
  const plain = await fetch(`${base}/`);
  assert.equal(plain.status, 200);
  assert.equal(await plain.text(), 'OK');
  const json = await fetch(`${base}/`, { headers: { accept: 'application/json' } });
  assert.equal(await json.text(), 'OK');
  const browser = await fetch(`${base}/`, { headers: { accept: 'text/html,application/xhtml+xml,*/*;q=0.8' }, redirect: 'manual' });
  assert.equal(browser.status, 302);
  assert.equal(browser.headers.get('location'), '/app/');
  const head = await fetch(`${base}/`, { method: 'HEAD', headers: { accept: 'text/html' }, redirect: 'manual' });
  assert.equal(head.status, 200);
});

test('the app page at /app/, /app/admin and /rooms/<name>, not cached', async () => {
  for (const path of ['/app/', '/app/admin', '/rooms/my%20room', '/rooms/demo/']) {
    const res = await fetch(`${base}${path}`);
    assert.equal(res.status, 200, path);
    assert.equal(res.headers.get('content-type'), 'text/html; charset=utf-8', path);
    assert.equal(res.headers.get('cache-control'), 'no-cache', path);
    assert.equal(res.headers.get('x-content-type-options'), 'nosniff', path);
    assert.equal(await res.text(), '<!doctype html><title>app</title>', path);
  }
  const bare = await fetch(`${base}/app`, { redirect: 'manual' });
  assert.equal(bare.status, 302);
  assert.equal(bare.headers.get('location'), '/app/');
});

test('assets: content types, a year of caching for hashed names, gzip when asked', async () => {
  const js = await raw(port, '/app/app-ABCDEF12.js');
  assert.equal(js.status, 200);
  assert.match(js.head, /content-type: text\/javascript; charset=utf-8/i);
  assert.match(js.head, /cache-control: public, max-age=31536000, immutable/i);
  assert.equal(js.body, BIG_JS);
  const gz = await new Promise<Buffer>((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    socket.on('connect', () => socket.write('GET /app/app-ABCDEF12.js HTTP/1.1\r\nHost: x\r\nAccept-Encoding: gzip\r\nConnection: close\r\n\r\n'));
    socket.on('data', (d) => chunks.push(d));
    socket.on('error', reject);
    socket.on('close', () => resolve(Buffer.concat(chunks)));
  });
  const split = gz.indexOf('\r\n\r\n');
  assert.match(gz.subarray(0, split).toString(), /content-encoding: gzip/i);
  assert.equal(gunzipSync(gz.subarray(split + 4)).toString(), BIG_JS);
  const css = await fetch(`${base}/app/notes.css`);
  assert.equal(css.headers.get('content-type'), 'text/css; charset=utf-8');
  assert.equal(css.headers.get('cache-control'), 'no-cache');
  assert.equal((await fetch(`${base}/app/missing.js`)).status, 404);
  assert.equal((await fetch(`${base}/app/app-ABCDEF12.js`, { method: 'POST' })).status, 405);
});

test('path traversal, hidden files and subdirectories are refused', async () => {
  for (const path of [
    '/app/../outside.txt', '/app/..%2foutside.txt', '/app/%2e%2e/outside.txt', '/app/%2e%2e%2foutside.txt', '/app/..\\outside.txt',
    '/app/.secret', '/app/sub/x.js', '/app/sub%2fx.js', '/app/%00', '/rooms/../../outside.txt', '/app//etc/passwd',
  ]) {
    const res = await raw(port, path);
    assert.ok(res.status === 404 || res.status === 400, `${path}: ${res.status}`);
    assert.doesNotMatch(res.body, /TOP SECRET|hidden|nested/, path);
  }
});

test('dev tokens: /app/token signs a join token for the room and identity; /app/admin-token a roomList/roomAdmin one', async () => {
  const config = (await (await fetch(`${base}/app/config.json`)).json()) as Record<string, unknown>;
  assert.deepEqual(config, { devTokens: true, tokenEndpoint: '' });
  const res = await fetch(`${base}/app/token?room=demo&identity=sam-1&name=Sam`);
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('cache-control'), 'no-store');
  const { token } = (await res.json()) as { token: string };
  const claims = await verifyAccessToken(token, { devkey: 'secret' });
  assert.equal(claims.identity, 'sam-1');
  assert.equal(claims.name, 'Sam');
  assert.equal(claims.video?.room, 'demo');
  assert.equal(claims.video?.roomJoin, true);
  assert.equal(claims.video?.roomAdmin, undefined);
  assert.equal((await fetch(`${base}/app/token?room=demo`)).status, 400);
  assert.equal((await fetch(`${base}/app/token?room=${'r'.repeat(200)}&identity=x`)).status, 400);
  const admin = (await (await fetch(`${base}/app/admin-token?room=demo`)).json()) as { token: string };
  const adminClaims = await verifyAccessToken(admin.token, { devkey: 'secret' });
  assert.equal(adminClaims.video?.roomList, true);
  assert.equal(adminClaims.video?.roomAdmin, true);
  assert.equal(adminClaims.video?.room, 'demo');
  assert.equal(adminClaims.video?.roomJoin, undefined);
});

test('/app/api/live: media totals and downlinks for a token with roomList only', async () => {
  assert.equal((await fetch(`${base}/app/api/live`)).status, 401);
  assert.equal((await fetch(`${base}/app/api/live`, { headers: { authorization: 'Bearer nonsense' } })).status, 401);
  const joinToken = ((await (await fetch(`${base}/app/token?room=demo&identity=x`)).json()) as { token: string }).token;
  assert.equal((await fetch(`${base}/app/api/live`, { headers: { authorization: `Bearer ${joinToken}` } })).status, 403);
  const admin = ((await (await fetch(`${base}/app/admin-token`)).json()) as { token: string }).token;
  const res = await fetch(`${base}/app/api/live`, { headers: { authorization: `Bearer ${admin}` } });
  assert.equal(res.status, 200);
  const body = (await res.json()) as { atMs: number; media: { video: { bytesIn: number } }; subscribers: object; tracks: object };
  assert.equal(typeof body.atMs, 'number');
  assert.equal(body.media.video.bytesIn, 0);
  assert.deepEqual(body.subscribers, {});
  assert.deepEqual(body.tracks, {});
});

test('production: no dev tokens (404), the token endpoint in config.json; web.enabled false leaves the health check', async () => {
  const prod = await start({ tokenEndpoint: 'https://example.com/token' }, false);
  assert.equal((await fetch(`${prod}/app/token?room=demo&identity=x`)).status, 404);
  assert.equal((await fetch(`${prod}/app/admin-token`)).status, 404);
  assert.deepEqual(await (await fetch(`${prod}/app/config.json`)).json(), { devTokens: false, tokenEndpoint: 'https://example.com/token' });
  assert.equal((await fetch(`${prod}/app/`)).status, 200);
  const off = await start({ enabled: false });
  const browser = await fetch(`${off}/`, { headers: { accept: 'text/html' }, redirect: 'manual' });
  assert.equal(browser.status, 200);
  assert.equal(await browser.text(), 'OK');
  assert.equal((await fetch(`${off}/app/`)).status, 404);
  assert.equal((await fetch(`${off}/app/token?room=a&identity=b`)).status, 404);
});

test('an app that is not built answers 503 saying how to build it', async () => {
  const missing = await start({ dir: join(root, 'nowhere') });
  const res = await fetch(`${missing}/app/`);
  assert.equal(res.status, 503);
  assert.match(await res.text(), /npm run build:web/);
});
