// /rtc/v1 with fake media (docs/signal-v1.md): the validate endpoint, 400s for a bad join_request, the JoinResponse
// (subscriber_primary false) followed by the answer to the bundled offer with its id, a v1 resume by JoinRequest, and
// the 404 fallback when rtc.signal_v1 is off.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { WebSocket } from 'ws';
import { JoinRequest, SessionDescription, SignalResponse, WrappedJoinRequest, WrappedJoinRequest_Compression, ConnectionSettings } from '@livekit/protocol';
import { gzipSync } from 'node:zlib';
import { createServer } from '../create-server.js';
import type { AtriumServer } from '../create-server.js';
import { devConfig } from '../config/server-config.js';
import { FakeMediaFactory } from '../rtc/fake-media.js';
import { devToken } from './test-signal-client.js';
import { errorLogger } from './error-logger.js';
import { V1_NOT_SUPPORTED } from './rtc-service.js';

let server: AtriumServer;
let off: AtriumServer;
const media = new FakeMediaFactory();
const logger = errorLogger();

before(async () => {
  server = await createServer(devConfig({ port: 0, rtc: { udpPort: 0, signalV1: true } }), { mediaFactory: media, logger });
  off = await createServer(devConfig({ port: 0, rtc: { udpPort: 0, signalV1: false } }), { mediaFactory: new FakeMediaFactory(), logger });
});
after(async () => {
  await server.close();
  await off.close();
});

function joinRequestParam(jr: JoinRequest): string {
  const wrapped = new WrappedJoinRequest({ compression: WrappedJoinRequest_Compression.GZIP, joinRequest: gzipSync(jr.toBinary()) });
  return Buffer.from(wrapped.toBinary()).toString('base64url');
}

/** Opens /rtc/v1 and collects messages; resolves once open (or with the rejection status). */
function openV1(srv: AtriumServer, query: string): Promise<{ ws: WebSocket; messages: SignalResponse['message'][] } | { status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`${srv.url}/rtc/v1?${query}`);
    const messages: SignalResponse['message'][] = [];
    ws.on('message', (d: Buffer) => messages.push(SignalResponse.fromBinary(new Uint8Array(d)).message));
    ws.once('open', () => resolve({ ws, messages }));
    ws.once('unexpected-response', (_req, res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    ws.once('error', reject);
  });
}

async function until<T>(f: () => T | undefined, label: string): Promise<T> {
  const deadline = Date.now() + 3000;
  for (;;) {
    const v = f();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out: ${label}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

test('validate: 200 for a good join_request, 400 naming the fault for a bad or missing one', async () => {
  const token = await devToken('v', { roomJoin: true, room: 'v1room' });
  const good = await fetch(`http://127.0.0.1:${server.httpPort}/rtc/v1/validate?access_token=${token}&join_request=${joinRequestParam(new JoinRequest({}))}`);
  assert.equal(good.status, 200);
  assert.equal(await good.text(), 'success');
  const bad = await fetch(`http://127.0.0.1:${server.httpPort}/rtc/v1/validate?access_token=${token}&join_request=%%%`);
  assert.equal(bad.status, 400);
  assert.equal(bad.headers.get('access-control-allow-origin'), '*');
  assert.match(await bad.text(), /join_request/);
  const missing = await fetch(`http://127.0.0.1:${server.httpPort}/rtc/v1/validate?access_token=${token}`);
  assert.equal(missing.status, 400);
  assert.match(await missing.text(), /join_request is missing/);
  const upgrade = await openV1(server, `access_token=${token}&join_request=AAAA_x`);
  assert.ok('status' in upgrade);
  assert.equal(upgrade.status, 400);
});

test('join: JoinResponse with subscriber_primary false, then the answer to the bundled offer with its id; media is single-PC', async () => {
  const token = await devToken('alice', { roomJoin: true, room: 'v1room' });
  const jr = new JoinRequest({
    connectionSettings: new ConnectionSettings({ autoSubscribe: true }),
    publisherOffer: new SessionDescription({ type: 'offer', sdp: 'v=0 offer-1', id: 7 }),
  });
  const c = await openV1(server, `access_token=${token}&join_request=${joinRequestParam(jr)}`);
  assert.ok('ws' in c);
  const answer = await until(() => c.messages.find((m) => m.case === 'answer'), 'the answer');
  const join = c.messages[0];
  assert.equal(join?.case, 'join', 'the JoinResponse comes first');
  assert.equal(join.value.subscriberPrimary, false);
  assert.equal(answer?.case, 'answer');
  assert.equal(answer.value.id, 7);
  assert.equal(answer.value.sdp, 'answer-to:v=0 offer-1');
  const sid = join.value.participant!.sid;
  assert.equal(media.singlePeerConnection.get(sid), true);
  assert.equal(server.rooms.getRoom('v1room')?.getParticipant(sid)?.isSinglePeerConnection, true);
  assert.equal(media.mediaOf('alice').callsOf('startSubscriber').length, 0, 'no subscriber PC in v1');
  c.ws.close();
});

test('metadata and attributes in the join request: applied with canUpdateOwnMetadata, 403 without, 400 over the limits', async () => {
  const jr = (metadata: string) => joinRequestParam(new JoinRequest({ metadata, participantAttributes: { role: 'host' } }));
  const allowed = await devToken('meta-ok', { roomJoin: true, room: 'v1room', canUpdateOwnMetadata: true });
  const c = await openV1(server, `access_token=${allowed}&join_request=${jr('from the join')}`);
  assert.ok('ws' in c);
  const join = await until(() => c.messages.find((m) => m.case === 'join'), 'join');
  assert.equal(join.value.participant?.metadata, 'from the join');
  assert.equal(join.value.participant?.attributes['role'], 'host');
  c.ws.close();
  const denied = await openV1(server, `access_token=${await devToken('meta-no', { roomJoin: true, room: 'v1room' })}&join_request=${jr('x')}`);
  assert.ok('status' in denied);
  assert.equal(denied.status, 403);
  assert.match(denied.body, /permission/);
  const big = await openV1(server, `access_token=${allowed}&join_request=${jr('m'.repeat(600 * 1024))}`);
  assert.ok('status' in big);
  assert.equal(big.status, 400);
  assert.match(big.body, /metadata size limit/);
});

test('a bundled offer that cannot be applied ends the session with a leave', async () => {
  const token = await devToken('bob', { roomJoin: true, room: 'v1room' });
  const jr = new JoinRequest({ publisherOffer: new SessionDescription({ type: 'offer', sdp: 'garbage', id: 1 }) });
  const c = await openV1(server, `access_token=${token}&join_request=${joinRequestParam(jr)}`);
  assert.ok('ws' in c);
  await until(() => (c.messages.some((m) => m.case === 'leave') ? true : undefined), 'leave');
  assert.equal(c.messages[0]?.case, 'join');
});

test('rtc.signal_v1 off: /rtc/v1 and its validate answer 404 without "requested room does not exist" (the client falls back)', async () => {
  const token = await devToken('carol', { roomJoin: true, room: 'v1room' });
  const r = await openV1(off, `access_token=${token}&join_request=${joinRequestParam(new JoinRequest({}))}`);
  assert.ok('status' in r);
  assert.equal(r.status, 404);
  assert.equal(r.body, V1_NOT_SUPPORTED);
  const v = await fetch(`http://127.0.0.1:${off.httpPort}/rtc/v1/validate?access_token=${token}`);
  assert.equal(v.status, 404);
});
