// Access tokens made by livekit-server-sdk's AccessToken against /rtc/validate and the /rtc WebSocket upgrade.
// "Wrong room": on /rtc the room comes from the token itself, so the room-level failure is a token whose
// `video.room` grant is missing or empty; it gets 401 like the other token problems.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { WebSocket } from 'ws';
import { AccessToken } from 'livekit-server-sdk';
import { SignalResponse } from '@livekit/protocol';
import type { VideoGrant } from 'livekit-server-sdk';
import { startAtrium } from './helpers/server.js';
import type { AtriumUnderTest } from './helpers/server.js';
import { TestSignalClient } from '../packages/server/src/signal/test-signal-client.js';

let server: AtriumUnderTest;
let keeper: TestSignalClient;

async function sdkToken(opts: { key?: string; secret?: string; ttl?: number | string; grant?: VideoGrant; identity?: string } = {}): Promise<string> {
  const at = new AccessToken(opts.key ?? 'devkey', opts.secret ?? 'secret', { identity: opts.identity ?? 'tok-user', ttl: opts.ttl ?? '10m' });
  at.addGrant(opts.grant ?? { roomJoin: true, room: 'tokens' });
  return at.toJwt();
}

/** GET /rtc/validate with the token in the query or in an Authorization header. */
async function validate(token: string, via: 'query' | 'header'): Promise<{ status: number; body: string; cors: string | null }> {
  const url = `${server.httpUrl}/rtc/validate?protocol=17&sdk=js${via === 'query' ? `&access_token=${encodeURIComponent(token)}` : ''}`;
  const res = await fetch(url, via === 'header' ? { headers: { Authorization: `Bearer ${token}` } } : {});
  return { status: res.status, body: await res.text(), cors: res.headers.get('access-control-allow-origin') };
}

/** Opens /rtc; resolves with 'open' or the rejected upgrade's status and body. */
function upgrade(token: string, via: 'query' | 'header'): Promise<{ status: number; body: string; ws?: WebSocket; first?: Buffer }> {
  const url = `${server.url}/rtc?protocol=17&sdk=rust${via === 'query' ? `&access_token=${encodeURIComponent(token)}` : ''}`;
  const ws = new WebSocket(url, via === 'header' ? { headers: { Authorization: `Bearer ${token}` } } : {});
  return new Promise((resolve, reject) => {
    // Resolves on the first frame, so nothing sent right after the upgrade is missed.
    ws.once('message', (first: Buffer) => resolve({ status: 101, body: '', ws, first }));
    ws.once('unexpected-response', (_req, res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    ws.once('error', (err) => reject(err));
  });
}

async function keeperStillAlive(): Promise<void> {
  const from = keeper.messages.length;
  keeper.send({ case: 'ping', value: BigInt(Date.now()) });
  await keeper.waitFor((m) => m.case === 'pong', { from });
  assert.equal(keeper.closed, false);
}

before(async () => {
  server = await startAtrium();
  keeper = await TestSignalClient.connect(server.url, await sdkToken({ identity: 'keeper' }));
  await keeper.waitFor((m) => m.case === 'join');
});
after(async () => {
  keeper?.close();
  await server?.close();
});

test('a livekit-server-sdk token is accepted by validate and the WebSocket (query and Bearer)', async () => {
  const token = await sdkToken();
  for (const via of ['query', 'header'] as const) {
    const v = await validate(token, via);
    assert.deepEqual([v.status, v.body, v.cors], [200, 'success', '*'], via);
    const u = await upgrade(await sdkToken({ identity: `joiner-${via}` }), via);
    assert.equal(u.status, 101, via);
    assert.equal(SignalResponse.fromBinary(new Uint8Array(u.first!)).message.case, 'join', via);
    u.ws!.close();
  }
  await keeperStillAlive();
});

test('bad tokens get 401 with a clear message on validate and on the upgrade', async () => {
  const cases: [string, Promise<string>, RegExp][] = [
    ['expired', sdkToken({ ttl: -3600 }), /expired/],
    ['wrongly signed', sdkToken({ secret: 'not-the-secret' }), /signature/],
    ['unknown API key', sdkToken({ key: 'nokey' }), /unknown API key/],
    ['no roomJoin grant', sdkToken({ grant: { room: 'tokens', canPublish: true } }), /roomJoin/],
    ['no room (wrong-room)', sdkToken({ grant: { roomJoin: true } }), /no room/],
    ['empty room (wrong-room)', sdkToken({ grant: { roomJoin: true, room: '' } }), /no room/],
    ['not a JWT', Promise.resolve('garbage.token.here'), /invalid authorization token/],
  ];
  for (const [what, tokenP, re] of cases) {
    const token = await tokenP;
    for (const via of ['query', 'header'] as const) {
      const v = await validate(token, via);
      assert.equal(v.status, 401, `${what} validate ${via}: ${v.body}`);
      assert.match(v.body, re, `${what} validate ${via}`);
      assert.equal(v.cors, '*', `${what}: CORS on errors`);
      const u = await upgrade(token, via);
      assert.equal(u.status, 401, `${what} upgrade ${via}: ${u.body}`);
      assert.match(u.body, re, `${what} upgrade ${via}`);
    }
  }
  // No token at all.
  const none = await fetch(`${server.httpUrl}/rtc/validate`);
  assert.equal(none.status, 401);
  assert.match(await none.text(), /no authorization token/);
  await keeperStillAlive();
});

/** The HTTP status a WebSocket upgrade to `url` gets (101: it opened). */
function upgradeStatus(url: string): Promise<number> {
  const ws = new WebSocket(url);
  return new Promise<number>((resolve) => {
    ws.once('unexpected-response', (_req, r) => resolve(r.statusCode ?? 0));
    ws.once('open', () => {
      ws.close();
      resolve(101);
    });
    ws.once('error', () => resolve(-1));
  });
}

test('v1 paths are served: a missing join_request is a 400 naming it, a bad token a 401, with CORS; switched off they answer 404 (clients fall back)', async () => {
  const token = await sdkToken();
  const res = await fetch(`${server.httpUrl}/rtc/v1/validate?access_token=${token}`);
  assert.equal(res.status, 400);
  assert.equal(res.headers.get('access-control-allow-origin'), '*');
  assert.match(await res.text(), /join_request is missing/);
  const forged = await fetch(`${server.httpUrl}/rtc/v1/validate?access_token=${await sdkToken({ secret: 'not-the-secret-not-the-secret-xx' })}`);
  assert.equal(forged.status, 401);
  assert.equal(await upgradeStatus(`${server.url}/rtc/v1?access_token=${token}`), 400);
  const off = await startAtrium({ config: { rtc: { signalV1: false } } });
  try {
    const notServed = await fetch(`${off.httpUrl}/rtc/v1/validate?access_token=${token}`);
    assert.equal(notServed.status, 404);
    assert.equal(notServed.headers.get('access-control-allow-origin'), '*');
    assert.doesNotMatch(await notServed.text(), /requested room does not exist/, 'that text would stop the client from falling back');
    assert.equal(await upgradeStatus(`${off.url}/rtc/v1?access_token=${token}`), 404);
  } finally {
    await off.close();
  }
  const health = await fetch(`${server.httpUrl}/`);
  assert.deepEqual([health.status, await health.text()], [200, 'OK']);
  const head = await fetch(`${server.httpUrl}/`, { method: 'HEAD' });
  assert.equal(head.status, 200);
  const pre = await fetch(`${server.httpUrl}/rtc/validate`, { method: 'OPTIONS' });
  assert.equal(pre.status, 204);
  assert.equal(pre.headers.get('access-control-allow-origin'), '*');
  assert.equal((await fetch(`${server.httpUrl}/nope`)).status, 404);
  await keeperStillAlive();
});
