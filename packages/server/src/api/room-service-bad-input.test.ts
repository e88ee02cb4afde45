// RoomService against bad calls: LiveKit's size limits (invalid_argument), rooms and participants that vanish
// while a request's body is still arriving, and DeleteRoom racing joins. Nothing may end as `internal`.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { DisconnectReason } from '@livekit/protocol';
import type { LeaveRequest } from '@livekit/protocol';
import { createAccessToken } from '@atrium/protocol';
import type { VideoGrant } from '@atrium/protocol';
import { waitFor } from '@atrium/webrtc/testing/wait-for.js';
import { createServer } from '../create-server.js';
import type { AtriumServer } from '../create-server.js';
import { devConfig } from '../config/server-config.js';
import { FakeMediaFactory } from '../rtc/fake-media.js';
import { TestSignalClient } from '../signal/test-signal-client.js';
import { errorLogger } from '../signal/error-logger.js';

let server: AtriumServer;
let base: string;
const logger = errorLogger();
let roomCounter = 0;
const newRoomName = (): string => `bad-api-${++roomCounter}`;

before(async () => {
  server = await createServer(devConfig({ port: 0, rtc: { udpPort: 0 }, room: { departureTimeoutSec: 0 } }), { mediaFactory: new FakeMediaFactory(), logger });
  base = `http://127.0.0.1:${server.httpPort}/twirp/livekit.RoomService/`;
});
after(async () => {
  await server.close();
  assert.deepEqual(logger.errors, []);
});

const token = (video: VideoGrant): Promise<string> => createAccessToken({ apiKey: 'devkey', apiSecret: 'secret', identity: '', video });

async function call(methodName: string, body: unknown, video: VideoGrant): Promise<{ status: number; code: string | undefined; msg: string | undefined }> {
  const res = await fetch(base + methodName, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${await token(video)}` },
    body: JSON.stringify(body),
  });
  const json = (await res.json()) as { code?: string; msg?: string };
  return { status: res.status, code: json.code, msg: json.msg };
}

test("LiveKit's limits: long names, big metadata and attributes, bad nonces get invalid_argument", async (t) => {
  const room = newRoomName();
  const admin = { roomAdmin: true, room, roomCreate: true };
  const c = await TestSignalClient.join(server.url, 'alice', '', { roomJoin: true, room });
  t.after(() => c.close());
  const bad = async (methodName: string, body: object, msg: RegExp): Promise<void> => {
    const r = await call(methodName, body, admin);
    assert.equal(r.status, 400, `${methodName}: ${r.code} ${r.msg}`);
    assert.equal(r.code, 'invalid_argument');
    assert.match(r.msg ?? '', msg);
  };
  await bad('CreateRoom', { name: 'r'.repeat(257) }, /room name length exceeds limits/);
  await bad('CreateRoom', { name: 'é'.repeat(129) }, /room name length exceeds limits/); // 258 bytes
  await bad('CreateRoom', { name: newRoomName(), metadata: 'm'.repeat(512 * 1024 + 1) }, /metadata size exceeds limits/);
  await bad('UpdateParticipant', { room, identity: 'alice', name: 'n'.repeat(257) }, /name length exceeds limits/);
  await bad('UpdateParticipant', { room, identity: 'alice', metadata: 'm'.repeat(512 * 1024 + 1) }, /metadata size exceeds limits/);
  await bad('UpdateParticipant', { room, identity: 'alice', attributes: { k: 'v'.repeat(64 * 1024) } }, /attribute size exceeds limits/);
  await bad('UpdateRoomMetadata', { room, metadata: 'm'.repeat(512 * 1024 + 1) }, /metadata size exceeds limits/);
  await bad('SendData', { room, data: 'AAAA', nonce: Buffer.alloc(5).toString('base64') }, /nonce should be 16-bytes/);
  // At the limits: accepted.
  assert.equal((await call('CreateRoom', { name: 'r'.repeat(256), metadata: 'm'.repeat(512 * 1024) }, admin)).status, 200);
  assert.equal((await call('UpdateParticipant', { room, identity: 'alice', name: 'n'.repeat(256) }, admin)).status, 200);
  assert.equal((await call('SendData', { room, data: 'AAAA', nonce: Buffer.alloc(16).toString('base64') }, admin)).status, 200);
  assert.equal((await call('DeleteRoom', { room: 'r'.repeat(256) }, admin)).status, 200);
});

/** Sends a request's headers and the first half of its body, and finishes it when `finish` is called. */
async function slowCall(methodName: string, body: object, video: VideoGrant): Promise<{ finish: () => Promise<{ status: number; code: string }> }> {
  const text = Buffer.from(JSON.stringify(body));
  const req = httpRequest(base + methodName, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', 'Content-Length': text.length, Authorization: `Bearer ${await token(video)}` },
  });
  const answer = new Promise<{ status: number; code: string }>((resolve, reject) => {
    req.on('response', (res) => {
      let data = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (data += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, code: (JSON.parse(data) as { code?: string }).code ?? 'ok' }));
    });
    req.on('error', reject);
  });
  req.write(text.subarray(0, text.length >> 1));
  await new Promise<void>((resolve) => req.once('socket', (s) => (s.connecting ? s.once('connect', resolve) : resolve())));
  return {
    finish: () => {
      req.end(text.subarray(text.length >> 1));
      return answer;
    },
  };
}

test('a room or participant that vanishes while the request body arrives: not_found, never internal', async () => {
  for (const [methodName, body] of [
    ['UpdateParticipant', { identity: 'alice', metadata: 'x', permission: { canSubscribe: true } }],
    ['RemoveParticipant', { identity: 'alice' }],
    ['MutePublishedTrack', { identity: 'alice', trackSid: 'TR_x', muted: true }],
    ['UpdateSubscriptions', { identity: 'alice', trackSids: ['TR_x'], subscribe: true }],
    ['GetParticipant', { identity: 'alice' }],
    ['ListParticipants', {}],
    ['UpdateRoomMetadata', { metadata: 'm' }],
    ['SendData', { data: 'AAAA' }],
    ['DeleteRoom', {}],
  ] as const) {
    for (const vanish of ['room', 'participant'] as const) {
      const room = newRoomName();
      const alice = await TestSignalClient.join(server.url, 'alice', '', { roomJoin: true, room });
      const bob = await TestSignalClient.join(server.url, 'bob', '', { roomJoin: true, room });
      const pending = await slowCall(methodName, { room, ...body }, { roomAdmin: true, room, roomCreate: true });
      if (vanish === 'room') {
        assert.equal((await call('DeleteRoom', { room }, { roomCreate: true })).status, 200);
      } else {
        alice.close();
        await waitFor(() => server.rooms.getRoom(room)?.getParticipantByIdentity('alice') === undefined, { timeoutMs: 3000, intervalMs: 5, label: 'alice gone' });
      }
      const r = await pending.finish();
      assert.ok(r.status === 200 || (r.status === 404 && r.code === 'not_found'), `${methodName} after the ${vanish} vanished: ${r.status} ${r.code}`);
      if (vanish === 'room') assert.equal(r.status, 404, `${methodName}: the room is gone`);
      alice.close();
      bob.close();
    }
  }
  assert.deepEqual(logger.errors, []);
});

test('DeleteRoom racing joins: every join is answered, everyone deleted hears ROOM_DELETED, nothing leaks', async () => {
  const room = newRoomName();
  const clients: TestSignalClient[] = [];
  for (let round = 0; round < 5; round++) {
    const joins = Array.from({ length: 6 }, (_, i) => TestSignalClient.join(server.url, `p${round}-${i}`, '', { roomJoin: true, room }));
    const deletion = call('DeleteRoom', { room }, { roomCreate: true });
    const joined = await Promise.all(joins);
    const deleted = await deletion;
    assert.ok(deleted.status === 200 || deleted.code === 'not_found', `DeleteRoom: ${deleted.status} ${deleted.code}`);
    clients.push(...joined);
  }
  // Each client is either in the room that exists now, or was sent away with ROOM_DELETED.
  const live = server.rooms.getRoom(room);
  for (const c of clients) {
    const sid = (c.messages[0]?.value as { participant?: { sid: string } }).participant?.sid ?? '';
    if (live?.getParticipant(sid)) continue;
    const leave = await c.waitFor((m) => m.case === 'leave');
    assert.equal((leave.value as LeaveRequest).reason, DisconnectReason.ROOM_DELETED);
  }
  for (const c of clients) c.close();
  await waitFor(() => {
    const r = server.resources();
    return r.rooms === 0 && r.sessions === 0;
  }, { timeoutMs: 3000, intervalMs: 5, label: 'everything released', describe: () => JSON.stringify(server.resources()) });
  assert.deepEqual(logger.errors, []);
});
