// The WHIP endpoint over real HTTP against a real server (media in this thread), with Chromium's captured offer:
// what a sender gets for good and bad requests, and that nothing is left behind. No browser: the media never connects.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { CreateIngressRequest, IngressInput, ParticipantInfo_Kind, UpdateIngressRequest } from '@livekit/protocol';
import type { IngressInfo } from '@livekit/protocol';
import { silentLogger } from '@atrium/webrtc';
import { createServer } from '../create-server.js';
import type { AtriumServer } from '../create-server.js';
import { devConfig } from '../config/server-config.js';
import { MAX_OFFER_BYTES } from './whip-server.js';

const OFFER = readFileSync(new URL('../../../webrtc/src/sdp/fixtures/chromium-simulcast-offer.sdp', import.meta.url), 'utf8');

let server: AtriumServer;
let base: string;

before(async () => {
  server = await createServer(devConfig({ port: 0, rtc: { udpPort: 0, mediaWorkers: 0 }, ingress: { maxActiveStreams: 2 } }), { logger: process.env['FUZZ_SHOW'] ? (await import('../logger.js')).createLogger({ level: 'error', json: false }) : silentLogger });
  base = `http://127.0.0.1:${server.httpPort}`;
});
after(() => server.close());

/** Creates a WHIP ingress through the Twirp API, as IngressClient would (JSON, an ingressAdmin token). */
async function createIngress(identity: string): Promise<IngressInfo> {
  const { AccessToken } = await import('livekit-server-sdk');
  const at = new AccessToken('devkey', 'secret');
  at.addGrant({ ingressAdmin: true });
  const res = await fetch(`${base}/twirp/livekit.Ingress/CreateIngress`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${await at.toJwt()}` },
    body: new CreateIngressRequest({ inputType: IngressInput.WHIP_INPUT, roomName: 'whip-unit', participantIdentity: identity, participantName: identity.toUpperCase() }).toJsonString(),
  });
  assert.equal(res.status, 200, await res.clone().text());
  const { IngressInfo } = await import('@livekit/protocol');
  return IngressInfo.fromJson(await res.json(), { ignoreUnknownFields: true });
}

const post = (path: string, body: string, headers: Record<string, string> = { 'Content-Type': 'application/sdp' }): Promise<Response> =>
  fetch(`${base}${path}`, { method: 'POST', headers, body });

test('CORS preflights: the endpoint takes POST with Authorization and application/sdp; the resource DELETE and PATCH', async () => {
  const endpoint = await fetch(`${base}/w/anything`, { method: 'OPTIONS' });
  assert.equal(endpoint.status, 204);
  assert.equal(endpoint.headers.get('access-control-allow-origin'), '*');
  assert.match(endpoint.headers.get('access-control-allow-methods') ?? '', /POST/);
  assert.match(endpoint.headers.get('access-control-allow-headers') ?? '', /Authorization/);
  assert.match(endpoint.headers.get('access-control-expose-headers') ?? '', /Location/);
  assert.equal(endpoint.headers.get('accept-post'), 'application/sdp');
  const resource = await fetch(`${base}/w/key/WH_x`, { method: 'OPTIONS' });
  assert.match(resource.headers.get('access-control-allow-methods') ?? '', /DELETE/);
});

test('refusals say why: no key, unknown key, wrong type, not SDP, too large, wrong methods and paths', async () => {
  const ingress = await createIngress('refusals');
  const rows: [string, Promise<Response>, number, RegExp][] = [
    ['no key', post('/w', OFFER), 401, /no stream key/],
    ['unknown key', post('/w/nope', OFFER), 404, /no ingress has this stream key/],
    ['unknown bearer', post('/w', OFFER, { 'Content-Type': 'application/sdp', Authorization: 'Bearer nope' }), 404, /no ingress has this stream key/],
    ['json', post(`/w/${ingress.streamKey}`, '{}', { 'Content-Type': 'application/json' }), 415, /application\/sdp/],
    ['garbage', post(`/w/${ingress.streamKey}`, '\u0000\u0001garbage'), 400, /not an SDP offer/],
    ['too large', post(`/w/${ingress.streamKey}`, 'v=0\r\n' + 'a=x\r\n'.repeat(MAX_OFFER_BYTES / 4)), 413, /larger than/],
    ['GET', fetch(`${base}/w/${ingress.streamKey}`), 405, /POST an SDP offer/],
    ['deep path', fetch(`${base}/w/a/b/c`, { method: 'DELETE' }), 404, /not found/],
    ['DELETE unknown', fetch(`${base}/w/${ingress.streamKey}/WH_nope`, { method: 'DELETE' }), 404, /no live WHIP stream/],
  ];
  for (const [what, pending, status, words] of rows) {
    const res = await pending;
    const body = await res.text();
    assert.equal(res.status, status, `${what}: ${body}`);
    assert.match(body, words, what);
    assert.equal(res.headers.get('access-control-allow-origin'), '*', `${what}: CORS on errors too`);
  }
  assert.equal(server.rooms.getRoom('whip-unit')?.participantCount ?? 0, 0, 'no participant joined');
});

test('an offer: 201 with the answer, Location and ETag; one live stream per ingress; DELETE ends it and frees everything', async () => {
  const ingress = await createIngress('cam');
  const res = await post(`/w/${ingress.streamKey}`, OFFER);
  const answer = await res.text();
  assert.equal(res.status, 201, answer);
  assert.equal(res.headers.get('content-type'), 'application/sdp');
  const location = res.headers.get('location') ?? '';
  assert.match(location, new RegExp(`^/w/${ingress.streamKey}/WH_[0-9A-Za-z]+$`));
  assert.ok(res.headers.get('etag'));
  assert.match(answer, /^v=0/);
  assert.match(answer, /a=candidate:/, 'the answer carries the candidates (no trickle)');
  assert.match(answer, /a=simulcast:recv q;h;f/);
  const room = server.rooms.getRoom('whip-unit');
  const p = room?.getParticipantByIdentity('cam');
  assert.equal(p?.snapshot().kind, ParticipantInfo_Kind.INGRESS);
  assert.equal(p?.snapshot().name, 'CAM');
  const again = await post(`/w/${ingress.streamKey}`, OFFER);
  assert.equal(again.status, 409, await again.text());
  assert.equal(res.headers.get('accept-patch'), 'application/trickle-ice-sdpfrag');
  // Trickle ICE (RFC 9725 4.3.1 / RFC 8840): candidates with the offer's credentials -> 204; what is not -> why.
  const etag = res.headers.get('etag') ?? '';
  const frag = (ufrag: string, pwd: string, extra = '') =>
    `a=ice-ufrag:${ufrag}\r\na=ice-pwd:${pwd}\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:0\r\n` +
    `a=candidate:1 1 udp 2122260223 192.0.2.7 51000 typ host generation 0\r\n${extra}`;
  const patch = (body: string, headers: Record<string, string> = {}) =>
    fetch(`${base}${location}`, { method: 'PATCH', headers: { 'Content-Type': 'application/trickle-ice-sdpfrag', 'If-Match': etag, ...headers }, body });
  const cases: [string, Promise<Response>, number, RegExp][] = [
    ['trickle', patch(frag('nBIs', 'GAxWdQhKUBy0XXDuw3F1opMG', 'a=end-of-candidates\r\n')), 204, /^$/],
    ['no If-Match (lenient)', patch(frag('nBIs', 'GAxWdQhKUBy0XXDuw3F1opMG'), { 'If-Match': '' }), 204, /^$/],
    ['ICE restart: new credentials', patch(frag('newU', 'newPasswordNewPassword12')), 422, /ICE restart/],
    ['ICE restart: If-Match *', patch(frag('nBIs', 'GAxWdQhKUBy0XXDuw3F1opMG'), { 'If-Match': '*' }), 422, /ICE restarts are not supported/],
    ['stale ETag', patch(frag('nBIs', 'GAxWdQhKUBy0XXDuw3F1opMG'), { 'If-Match': '"WH_other"' }), 412, /entity tag/],
    ['wrong type', patch('a=end-of-candidates', { 'Content-Type': 'application/sdp' }), 415, /trickle-ice-sdpfrag/],
    ['garbage', patch('hello world'), 400, /not an SDP fragment line/],
    ['bad candidate', patch('a=candidate:1 1 udp x'), 400, /not an ICE candidate/],
    ['too many', patch(Array.from({ length: 65 }, (_v, i) => `a=candidate:${i} 1 udp 1 192.0.2.1 ${1000 + i} typ host`).join('\r\n')), 400, /more than 64 candidates/],
    ['unknown resource', fetch(`${base}/w/${ingress.streamKey}/WH_nope`, { method: 'PATCH', headers: { 'Content-Type': 'application/trickle-ice-sdpfrag' }, body: 'a=end-of-candidates' }), 404, /no live WHIP stream/],
  ];
  for (const [what, pending, status, words] of cases) {
    const r = await pending;
    const text = await r.text();
    assert.equal(r.status, status, `${what}: ${text}`);
    assert.match(text, words, what);
  }
  const del = await fetch(`${base}${location}`, { method: 'DELETE' });
  assert.equal(del.status, 200, await del.text());
  assert.equal(room?.getParticipantByIdentity('cam'), undefined, 'the participant left');
  assert.equal(server.resources().sessions, 0);
  assert.equal(server.resources().udpRegistrations, 0);
});

test('the node limit (ingress.max_active_streams: 2) and disabled ingresses; the Bearer form works', async () => {
  const [a, b, c] = [await createIngress('a'), await createIngress('b'), await createIngress('c')];
  const ra = await post('/w', OFFER, { 'Content-Type': 'application/sdp', Authorization: `Bearer ${a.streamKey}` });
  assert.equal(ra.status, 201, await ra.text());
  const rb = await post(`/w/${b.streamKey}`, OFFER);
  assert.equal(rb.status, 201, await rb.text());
  const rc = await post(`/w/${c.streamKey}`, OFFER);
  const rcBody = await rc.text();
  assert.equal(rc.status, 503, rcBody);
  assert.match(rcBody, /max_active_streams: 2/);
  for (const r of [ra, rb]) assert.equal((await fetch(`${base}${r.headers.get('location')}`, { method: 'DELETE' })).status, 200);
  // Disabled through the API (an update needs no live stream).
  const { AccessToken } = await import('livekit-server-sdk');
  const at = new AccessToken('devkey', 'secret');
  at.addGrant({ ingressAdmin: true });
  const upd = await fetch(`${base}/twirp/livekit.Ingress/UpdateIngress`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${await at.toJwt()}` },
    body: new UpdateIngressRequest({ ingressId: c.ingressId, enabled: false }).toJsonString(),
  });
  assert.equal(upd.status, 200, await upd.text());
  const disabled = await post(`/w/${c.streamKey}`, OFFER);
  assert.equal(disabled.status, 403, await disabled.clone().text());
  assert.match(await disabled.text(), /disabled/);
  assert.equal(server.resources().sessions, 0);
  const health = await fetch(`${base}/`);
  assert.equal(health.status, 200, 'the server still serves');
});

// FUZZ_SEED=<n> tries another seed; FUZZ_SHOW=1 prints the failing offer and the server's error lines.
test('300 seeded mutations of a real offer: every answer is 201 or a 4xx/503 with a reason, never a 500; nothing is left', async () => {
  const { seededRandom } = await import('@atrium/webrtc/testing/seeded-random.js');
  const seed = Number(process.env['FUZZ_SEED'] ?? 13);
  const random = seededRandom(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;
  const junk = ['a=msid:- -', 'a=rid:q send', 'a=simulcast:send q;h;f;x;y', 'a=mid:', 'a=rtpmap:96 VP8/90000', 'a=fmtp:96 x=' + 'y'.repeat(5000),
    'm=video 9 UDP/TLS/RTP/SAVPF', 'a=ssrc:1 msid:a b', 'a=extmap:99 urn:x', 'a=sendonly', 'a=recvonly', 'c=IN IP4 0.0.0.0', 'a=group:BUNDLE 7', '\u0000'];
  const ingress = await createIngress('fuzzed');
  const base64Lines = OFFER.split('\r\n');
  const counts = new Map<number, number>();
  for (let i = 0; i < 300; i++) {
    const lines = [...base64Lines];
    for (let k = 1 + Math.floor(random() * 4); k > 0; k--) {
      const at = Math.floor(random() * lines.length);
      const op = random();
      if (op < 0.35) lines.splice(at, 1);
      else if (op < 0.6) lines.splice(at, 0, pick(junk));
      else if (op < 0.8) lines[at] = (lines[at] ?? '').slice(0, Math.floor(random() * (lines[at]?.length ?? 0)));
      else lines[at] = (lines[at] ?? '').replace(/\d+/, String(Math.floor(random() * 2 ** 32)));
    }
    const res = await post(`/w/${ingress.streamKey}`, lines.join('\r\n'));
    const body = await res.text();
    counts.set(res.status, (counts.get(res.status) ?? 0) + 1);
    assert.ok(res.status === 201 || (res.status >= 400 && res.status < 500) || res.status === 503, `seed ${seed} case ${i}: ${res.status} ${body}\n${process.env['FUZZ_SHOW'] ? lines.join('\n') : ''}`);
    if (res.status !== 201) assert.ok(body.length > 0, `seed ${seed} case ${i}: a reason`);
    else assert.equal((await fetch(`${base}${res.headers.get('location')}`, { method: 'DELETE' })).status, 200);
  }
  assert.ok((counts.get(201) ?? 0) > 0 && (counts.get(400) ?? 0) > 0, `both outcomes seen: ${JSON.stringify([...counts])}`);
  assert.equal(server.resources().sessions, 0);
  assert.equal(server.resources().udpRegistrations, 0);
  assert.equal((await fetch(`${base}/`)).status, 200);
});
