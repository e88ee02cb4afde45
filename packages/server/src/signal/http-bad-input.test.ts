// The HTTP surfaces against odd requests over raw TCP: the signalling listener (`/`, `/rtc`, `/rtc/validate`, upgrades)
// and the Prometheus listener (`/metrics`), with odd methods, paths, query strings and huge headers. Every request gets
// a client-error (or a normal) answer, nothing is logged as an error, and both listeners keep serving.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { createServer } from '../create-server.js';
import type { AtriumServer } from '../create-server.js';
import { devConfig } from '../config/server-config.js';
import { FakeMediaFactory } from '../rtc/fake-media.js';
import { createAccessToken } from '@atrium/protocol';
import type { VideoGrant } from '@atrium/protocol';
import { TrackSource } from '@livekit/protocol';
import type { JoinResponse } from '@livekit/protocol';
import { devToken, TestSignalClient } from './test-signal-client.js';
import { errorLogger } from './error-logger.js';

let server: AtriumServer;
const logger = errorLogger();

before(async () => {
  server = await createServer(devConfig({ port: 0, rtc: { udpPort: 0 } }), { mediaFactory: new FakeMediaFactory(), logger, prometheusPort: 0 });
});
after(() => server.close());

/** Sends `head` (and `body`) as they are and returns the status code of the answer (0 = closed without one). */
function raw(port: number, head: string, body: Buffer | string = ''): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => socket.destroy(new Error(`no answer to ${JSON.stringify(head.slice(0, 80))}`)), 3000);
    socket.on('connect', () => {
      socket.write(head);
      if (body.length > 0) socket.write(body);
    });
    socket.on('data', (d) => {
      chunks.push(d);
      // One answer is enough: stop at the end of its head (bodies here are short and sent at once).
      const text = Buffer.concat(chunks).toString('latin1');
      if (/\r\n\r\n/.test(text)) {
        clearTimeout(timer);
        socket.destroy();
        resolve({ status: Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0), text });
      }
    });
    socket.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    socket.on('close', () => {
      clearTimeout(timer);
      const text = Buffer.concat(chunks).toString('latin1');
      resolve({ status: Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0), text });
    });
  });
}

const req = (method: string, target: string, headers: string[] = []): string =>
  `${method} ${target} HTTP/1.1\r\nHost: x\r\n${headers.map((h) => `${h}\r\n`).join('')}Connection: close\r\n\r\n`;

async function assertServing(label: string): Promise<void> {
  const health = await raw(server.httpPort, req('GET', '/'));
  assert.equal(health.status, 200, `${label}: GET / after it`);
  const metrics = await raw(server.metricsPort!, req('GET', '/metrics'));
  assert.equal(metrics.status, 200, `${label}: GET /metrics after it`);
  assert.deepEqual(logger.errors, [], `${label}: errors logged`);
}

test('odd methods, paths and headers on both listeners get a 4xx (or a normal answer), never a 5xx or a hang', async () => {
  const huge = 'a'.repeat(20 * 1024);
  const requests: [string, string][] = [];
  for (const method of ['PUT', 'DELETE', 'PATCH', 'TRACE', 'PROPFIND', 'POST', 'CONNECT']) {
    for (const path of ['/', '/metrics', '/rtc', '/rtc/validate', '/twirp/livekit.RoomService/ListRooms']) requests.push([method, req(method, path)]);
  }
  for (const path of ['//', '/%', '/%zz/rtc', '/rtc/%ff', `/${'x'.repeat(60_000)}`, '*', 'http://evil/rtc/validate', '/rtc/../../etc/passwd', '/rtc/v1/validate?x=%', '/twirp/', '/twirp/%/%', '/twirp/livekit.RoomService/constructor', '/twirp/livekit.RoomService/__proto__', '/twirp/constructor/x']) {
    requests.push(['GET', req('GET', path)]);
    requests.push(['POST', req('POST', path, ['Content-Type: application/json', 'Content-Length: 2'])]);
  }
  requests.push(['huge header', req('GET', '/', [`X-Big: ${huge}`])]);
  requests.push(['many headers', req('GET', '/rtc/validate', Array.from({ length: 3000 }, (_, i) => `X-H${i}: v`))]);
  requests.push(['bad header', 'GET / HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n']);
  requests.push(['bad version', 'GET / HTTP/9.9\r\nHost: x\r\n\r\n']);
  requests.push(['garbage', '\x00\x01\x02 nonsense\r\n\r\n']);
  requests.push(['bad content-length', req('POST', '/twirp/livekit.RoomService/ListRooms', ['Content-Length: -5', 'Content-Type: application/json'])]);
  requests.push(['two content-lengths', req('POST', '/twirp/livekit.RoomService/ListRooms', ['Content-Length: 2', 'Content-Length: 3', 'Content-Type: application/json'])]);
  for (const [label, head] of requests) {
    for (const port of [server.httpPort, server.metricsPort!]) {
      const body = head.startsWith('POST') ? '{}' : '';
      const r = await raw(port, head, body);
      assert.ok(r.status === 0 || r.status < 500, `${label} ${JSON.stringify(head.slice(0, 60))} on ${port === server.httpPort ? 'http' : 'metrics'}: ${r.status}`);
    }
  }
  await assertServing('odd requests');
});

test('/rtc/validate and /rtc with garbage query strings: 4xx with a reason, never a 5xx', async () => {
  const token = await devToken('q-user', { roomJoin: true, room: 'q-room' });
  const queries = [
    '', 'access_token', 'access_token=', 'access_token=%', 'access_token=%zz', `access_token=${'x'.repeat(50_000)}`, 'access_token=a.b.c',
    `access_token=${token}&protocol=abc`, `access_token=${token}&protocol=99999999999`, `access_token=${token}&protocol=-1`,
    `access_token=${token}&auto_subscribe=maybe&adaptive_stream=%ff`, `access_token=${token}&access_token=other`,
    `access_token=${token}&reconnect_reason=1e9`, `access_token=${token}&client_protocol=%00`, `access_token=${token}&sdk=${'%ff'.repeat(1000)}`,
    `access_token[]=${token}`, '&&&==&=', '%ff%fe=%fd', `access_token=${token}#fragment`,
  ];
  for (const q of queries) {
    const r = await raw(server.httpPort, req('GET', `/rtc/validate?${q}`));
    assert.ok(r.status >= 200 && r.status < 500, `validate ?${q.slice(0, 60)}: ${r.status}`);
    const up = await raw(server.httpPort, req('GET', `/rtc?${q}`, ['Upgrade: websocket', 'Connection: Upgrade', 'Sec-WebSocket-Version: 13', 'Sec-WebSocket-Key: AAAAAAAAAAAAAAAAAAAAAA==']));
    assert.ok(up.status === 101 || (up.status >= 400 && up.status < 500), `upgrade ?${q.slice(0, 60)}: ${up.status}`);
  }
  // Broken upgrades: no key, a bad key, an unknown version, another protocol.
  for (const headers of [
    ['Upgrade: websocket', 'Connection: Upgrade', 'Sec-WebSocket-Version: 13'],
    ['Upgrade: websocket', 'Connection: Upgrade', 'Sec-WebSocket-Version: 13', 'Sec-WebSocket-Key: short'],
    ['Upgrade: websocket', 'Connection: Upgrade', 'Sec-WebSocket-Version: 99', 'Sec-WebSocket-Key: AAAAAAAAAAAAAAAAAAAAAA=='],
    ['Upgrade: h2c', 'Connection: Upgrade'],
  ]) {
    const up = await raw(server.httpPort, req('GET', `/rtc?access_token=${token}`, headers));
    assert.ok(up.status === 0 || (up.status >= 400 && up.status < 500), `${headers.join(', ')}: ${up.status}`);
  }
  await assertServing('garbage queries');
});

test('tokens signed with the right key but with wrongly typed grants get a 401, never a 5xx or a crash', async () => {
  const sign = (payload: { sub: string; video: object }): Promise<string> =>
    createAccessToken({ apiKey: 'devkey', apiSecret: 'secret', identity: payload.sub, video: payload.video as VideoGrant });
  for (const video of [
    { roomJoin: 'yes', room: 'typed' }, { roomJoin: true, room: 5 }, { roomJoin: true, room: ['typed'] }, { roomJoin: true, room: 'typed', canPublishSources: 5 },
    { roomJoin: true, room: 'typed', hidden: 'no' }, { roomJoin: true, room: 'typed', canUpdateOwnMetadata: {} },
  ]) {
    const token = await sign({ sub: 'typed-user', video });
    const r = await raw(server.httpPort, req('GET', `/rtc/validate?access_token=${token}`));
    assert.equal(r.status, 401, `${JSON.stringify(video)}: ${r.text.slice(0, 200)}`);
    assert.match(r.text, /token claim video\.\w+ must be/);
    const twirp = await raw(server.httpPort, `POST /twirp/livekit.RoomService/ListRooms HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nAuthorization: Bearer ${token}\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}`);
    assert.equal(twirp.status, 401, `twirp ${JSON.stringify(video)}`);
  }
  // Source names that are Object.prototype members are ignored: the join works.
  const odd = await sign({ sub: 'typed-user', video: { roomJoin: true, room: 'typed', canPublishSources: ['constructor', 'microphone'] } });
  const client = await TestSignalClient.connect(server.url, odd);
  const join = await client.waitFor((m) => m.case === 'join' || m.case === 'leave');
  assert.equal(join.case, 'join');
  assert.deepEqual((join.value as JoinResponse).participant?.permission?.canPublishSources, [TrackSource.MICROPHONE]);
  client.close();
  await assertServing('typed tokens');
});
