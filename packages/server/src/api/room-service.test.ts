// RoomService over Twirp against an in-process server with fake media: routing, JSON and protobuf
// encodings, grant checks, Twirp error codes, and what raw signalling clients receive.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import {
  AddTrackRequest,
  TrackType,
  TrackSource,
  Room as RoomInfo,
  ListRoomsRequest,
  ListRoomsResponse,
  DataPacket,
  DisconnectReason,
  LeaveRequest_Action,
} from '@livekit/protocol';
import { silentLogger } from '@atrium/webrtc';
import { createAccessToken } from '@atrium/protocol';
import type { VideoGrant } from '@atrium/protocol';
import { createServer } from '../create-server.js';
import { MAX_BODY_BYTES } from './twirp.js';
import type { AtriumServer } from '../create-server.js';
import { devConfig } from '../config/server-config.js';
import { FakeMediaFactory, FakeTrackSource } from '../rtc/fake-media.js';
import { TestSignalClient } from '../signal/test-signal-client.js';

let server: AtriumServer;
let fake: FakeMediaFactory;
let base: string;
let roomCounter = 0;

before(async () => {
  fake = new FakeMediaFactory();
  server = await createServer(devConfig({ port: 0, rtc: { udpPort: 0 } }), { mediaFactory: fake, logger: silentLogger });
  base = `http://127.0.0.1:${server.httpPort}/twirp/livekit.RoomService/`;
});
after(() => server.close());

test('a body over 1 MiB gets a malformed error (announced or streamed) and the server keeps serving', async () => {
  const big = JSON.stringify({ names: ['x'.repeat(MAX_BODY_BYTES + 10)] });
  const announced = await call('ListRooms', big, { roomList: true });
  assert.equal(announced.status, 400, announced.text);
  assert.equal(announced.json?.['code'], 'malformed');
  assert.match(String(announced.json?.['msg']), /larger than 1048576 bytes/);

  // Chunked (no Content-Length): the limit is found while reading.
  const token = await apiToken({ roomList: true });
  const streamed = await new Promise<{ status: number; body: string }>((resolve, reject) => {
    const req = httpRequest(base + 'ListRooms', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${token}`, 'Transfer-Encoding': 'chunked' },
    });
    req.on('response', (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    const chunk = Buffer.alloc(64 * 1024, 0x20);
    for (let i = 0; i < 20; i++) req.write(chunk);
    req.end();
  });
  assert.equal(streamed.status, 400, streamed.body);
  assert.equal((JSON.parse(streamed.body) as { code: string }).code, 'malformed');

  const after = await call('ListRooms', {}, { roomList: true });
  assert.equal(after.status, 200);
});

const apiToken = (video: VideoGrant, secret = 'secret'): Promise<string> =>
  createAccessToken({ apiKey: 'devkey', apiSecret: secret, identity: '', video });

async function call(
  methodName: string,
  body: unknown,
  video: VideoGrant | undefined,
  headers: Record<string, string> = {},
): Promise<{ status: number; contentType: string | null; json: Record<string, unknown> | undefined; text: string }> {
  const h: Record<string, string> = { 'Content-Type': 'application/json', ...headers };
  if (video) h['Authorization'] = `Bearer ${await apiToken(video)}`;
  const res = await fetch(base + methodName, { method: 'POST', headers: h, body: typeof body === 'string' ? body : JSON.stringify(body) });
  const text = await res.text();
  let json: Record<string, unknown> | undefined;
  try {
    json = JSON.parse(text) as Record<string, unknown>;
  } catch {
    json = undefined;
  }
  return { status: res.status, contentType: res.headers.get('content-type'), json, text };
}

function newRoomName(): string {
  return `api-room-${++roomCounter}`;
}
const admin = (room: string): VideoGrant => ({ roomAdmin: true, room });

test('CreateRoom (JSON) creates a room with metadata; ListRooms sees it; the answer uses proto field names', async () => {
  const name = newRoomName();
  const r = await call('CreateRoom', { name, metadata: 'hello', emptyTimeout: 42 }, { roomCreate: true });
  assert.equal(r.status, 200);
  assert.equal(r.contentType, 'application/json');
  const room = RoomInfo.fromJson(r.json as never);
  assert.equal(room.name, name);
  assert.equal(room.metadata, 'hello');
  assert.equal(room.emptyTimeout, 42);
  assert.match(room.sid, /^RM_/);
  assert.ok(r.json && 'num_participants' in r.json, 'snake_case with defaults, like the Go server');
  assert.equal(server.rooms.getRoom(name)?.sid, room.sid);
  // Creating again returns the same room.
  const again = await call('CreateRoom', { name }, { roomCreate: true });
  assert.equal(RoomInfo.fromJson(again.json as never).sid, room.sid);

  const list = await call('ListRooms', { names: [name] }, { roomList: true });
  assert.equal(list.status, 200);
  const rooms = (list.json?.['rooms'] as unknown[]).map((x) => RoomInfo.fromJson(x as never));
  assert.deepEqual(rooms.map((x) => x.name), [name]);
});

test('protobuf bodies are answered in protobuf', async () => {
  const name = newRoomName();
  server.rooms.getOrCreateRoom(name);
  const res = await fetch(base + 'ListRooms', {
    method: 'POST',
    headers: { 'Content-Type': 'application/protobuf', Authorization: `Bearer ${await apiToken({ roomList: true })}` },
    body: Buffer.from(new ListRoomsRequest({ names: [name] }).toBinary()),
  });
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('content-type'), 'application/protobuf');
  const decoded = ListRoomsResponse.fromBinary(new Uint8Array(await res.arrayBuffer()));
  assert.deepEqual(decoded.rooms.map((r) => r.name), [name]);
});

test('grant checks: missing grant, wrong room, no token -> unauthenticated "permissions denied"', async () => {
  const name = newRoomName();
  server.rooms.getOrCreateRoom(name);
  const cases: [string, unknown, VideoGrant | undefined][] = [
    ['CreateRoom', { name }, { roomList: true }],
    ['ListRooms', {}, { roomCreate: true }],
    ['DeleteRoom', { room: name }, { roomAdmin: true, room: name }],
    ['ListParticipants', { room: name }, { roomAdmin: true, room: 'other' }],
    ['ListParticipants', { room: name }, { room: name }],
    ['ListRooms', {}, undefined],
  ];
  for (const [m, body, video] of cases) {
    const r = await call(m, body, video);
    assert.equal(r.status, 401, `${m} ${JSON.stringify(video)}`);
    assert.equal(r.contentType, 'application/json');
    assert.deepEqual(r.json, { code: 'unauthenticated', msg: 'permissions denied' });
  }
});

test('a bad token or a non-Bearer header gets a plain-text 401', async () => {
  const bad = await createAccessToken({ apiKey: 'devkey', apiSecret: 'wrong', identity: '', video: { roomList: true } });
  for (const authorization of [`Bearer ${bad}`, 'Bearer not-a-jwt', `Basic ${bad}`]) {
    const r = await call('ListRooms', {}, undefined, { Authorization: authorization });
    assert.equal(r.status, 401);
    assert.notEqual(r.contentType, 'application/json');
  }
});

test('routing and body errors: bad_route, malformed, invalid_argument, not_found', async () => {
  const expect = (r: Awaited<ReturnType<typeof call>>, status: number, code: string): void => {
    assert.equal(r.status, status, r.text);
    assert.equal(r.contentType, 'application/json');
    assert.equal(r.json?.['code'], code);
    assert.equal(typeof r.json?.['msg'], 'string');
  };
  expect(await call('NoSuchMethod', {}, { roomList: true }), 404, 'bad_route');
  const get = await fetch(base + 'ListRooms');
  assert.equal(get.status, 404);
  assert.equal(((await get.json()) as { code: string }).code, 'bad_route');
  expect(await call('ListRooms', {}, { roomList: true }, { 'Content-Type': 'text/plain' }), 404, 'bad_route');
  expect(await call('ListRooms', '{not json', { roomList: true }), 400, 'malformed');
  expect(await call('ListRooms', { names: 5 }, { roomList: true }), 400, 'malformed');
  expect(await call('CreateRoom', { name: '' }, { roomCreate: true }), 400, 'invalid_argument');
  expect(await call('DeleteRoom', { room: 'absent-room' }, { roomCreate: true }), 404, 'not_found');
  expect(await call('ListParticipants', { room: 'absent-room' }, admin('absent-room')), 404, 'not_found');
  const name = newRoomName();
  server.rooms.getOrCreateRoom(name);
  const missing = await call('GetParticipant', { room: name, identity: 'nobody' }, admin(name));
  expect(missing, 404, 'not_found');
  assert.equal(missing.json?.['msg'], 'participant does not exist');
});

test('participants: list, get, update, remove (LeaveRequest PARTICIPANT_REMOVED)', async () => {
  const room = newRoomName();
  const alice = await TestSignalClient.join(server.url, 'alice', '', { roomJoin: true, room });
  const bob = await TestSignalClient.join(server.url, 'bob', '', { roomJoin: true, room });
  const list = await call('ListParticipants', { room }, admin(room));
  assert.equal(list.status, 200);
  assert.deepEqual((list.json?.['participants'] as { identity: string }[]).map((p) => p.identity), ['alice', 'bob']);
  const got = await call('GetParticipant', { room, identity: 'bob' }, admin(room));
  assert.equal(got.json?.['identity'], 'bob');

  const from = alice.messages.length;
  const upd = await call('UpdateParticipant', { room, identity: 'bob', metadata: 'm1', name: 'Bob', attributes: { a: '1' } }, admin(room));
  assert.equal(upd.status, 200, upd.text);
  assert.equal(upd.json?.['metadata'], 'm1');
  const seen = await alice.waitFor(
    (m) => m.case === 'update' && m.value.participants.some((p) => p.identity === 'bob' && p.metadata === 'm1' && p.name === 'Bob' && p.attributes['a'] === '1'),
    { from },
  );
  assert.ok(seen);

  const removed = await call('RemoveParticipant', { room, identity: 'bob' }, admin(room));
  assert.equal(removed.status, 200);
  const leave = await bob.waitFor((m) => m.case === 'leave');
  assert.equal(leave.case, 'leave');
  assert.equal(leave.value.reason, DisconnectReason.PARTICIPANT_REMOVED);
  assert.equal(leave.value.action, LeaveRequest_Action.DISCONNECT);
  await bob.waitClosed();
  await alice.waitFor((m) => m.case === 'update' && m.value.participants.some((p) => p.identity === 'bob' && p.state === 3));
  alice.close();
});

test('MutePublishedTrack sends SignalResponse.mute and marks the track muted; unmute is refused', async () => {
  const room = newRoomName();
  const alice = await TestSignalClient.join(server.url, 'alice', '', { roomJoin: true, room, canPublish: true });
  const bob = await TestSignalClient.join(server.url, 'bob', '', { roomJoin: true, room });
  alice.send({ case: 'addTrack', value: new AddTrackRequest({ cid: 'cam-1', name: 'cam', type: TrackType.VIDEO, source: TrackSource.CAMERA, width: 640, height: 480 }) });
  const published = await alice.waitFor((m) => m.case === 'trackPublished');
  const trackSid = (published.value as { track: { sid: string } }).track.sid;
  const source = new FakeTrackSource('video', 'video/VP8');
  fake.mediaOf('alice').emit('trackPublished', { msidTrackId: 'cam-1', msidStreamId: 's', mid: '0', kind: 'video', mimeType: 'video/VP8', rids: [], source });
  await bob.waitFor((m) => m.case === 'update' && m.value.participants.some((p) => p.identity === 'alice' && p.tracks.length === 1));

  const r = await call('MutePublishedTrack', { room, identity: 'alice', trackSid, muted: true }, admin(room));
  assert.equal(r.status, 200, r.text);
  assert.equal((r.json?.['track'] as { muted: boolean }).muted, true);
  const mute = await alice.waitFor((m) => m.case === 'mute');
  assert.equal(mute.case === 'mute' ? mute.value.sid : undefined, trackSid);
  assert.equal(mute.case === 'mute' ? mute.value.muted : undefined, true);
  await bob.waitFor((m) => m.case === 'update' && m.value.participants.some((p) => p.identity === 'alice' && p.tracks[0]?.muted === true));
  assert.deepEqual(source.mutedCalls, [true]);

  const unmute = await call('MutePublishedTrack', { room, identity: 'alice', trackSid, muted: false }, admin(room));
  assert.equal(unmute.json?.['code'], 'failed_precondition');
  const unknown = await call('MutePublishedTrack', { room, identity: 'alice', trackSid: 'TR_nope', muted: true }, admin(room));
  assert.equal(unknown.json?.['code'], 'not_found');
  alice.close();
  bob.close();
});

test('UpdateRoomMetadata sends RoomUpdate; SendData reaches everyone or only the destinations; DeleteRoom disconnects with ROOM_DELETED', async () => {
  const room = newRoomName();
  const alice = await TestSignalClient.join(server.url, 'alice', '', { roomJoin: true, room });
  const bob = await TestSignalClient.join(server.url, 'bob', '', { roomJoin: true, room });

  const meta = await call('UpdateRoomMetadata', { room, metadata: 'room-meta' }, admin(room));
  assert.equal(meta.json?.['metadata'], 'room-meta');
  for (const c of [alice, bob]) await c.waitFor((m) => m.case === 'roomUpdate' && m.value.room?.metadata === 'room-meta');

  const aliceMedia = fake.mediaOf('alice');
  const bobMedia = fake.mediaOf('bob');
  const payload = Buffer.from('hi').toString('base64');
  const sent = await call('SendData', { room, data: payload, kind: 'RELIABLE', topic: 't', destinationIdentities: ['bob'] }, admin(room));
  assert.equal(sent.status, 200, sent.text);
  assert.equal(aliceMedia.callsOf('sendData').length, 0);
  const toBob = bobMedia.callsOf('sendData');
  assert.equal(toBob.length, 1);
  const pkt = DataPacket.fromBinary(toBob[0]!.payload);
  assert.equal(pkt.value.case, 'user');
  assert.equal(pkt.participantIdentity, '');
  assert.equal(Buffer.from(pkt.value.case === 'user' ? pkt.value.value.payload : []).toString(), 'hi');
  assert.equal(pkt.value.case === 'user' ? pkt.value.value.topic : undefined, 't');
  await call('SendData', { room, data: payload, kind: 'LOSSY' }, admin(room));
  assert.equal(aliceMedia.callsOf('sendData').at(-1)?.kind, 'lossy');
  assert.equal(bobMedia.callsOf('sendData').length, 2);

  const del = await call('DeleteRoom', { room }, { roomCreate: true });
  assert.equal(del.status, 200);
  for (const c of [alice, bob]) {
    const leave = await c.waitFor((m) => m.case === 'leave');
    assert.equal(leave.case === 'leave' ? leave.value.reason : undefined, DisconnectReason.ROOM_DELETED);
    await c.waitClosed();
  }
  assert.equal(server.rooms.getRoom(room), undefined);
});

test('UpdateSubscriptions subscribes and unsubscribes a participant that does not auto-subscribe', async () => {
  const room = newRoomName();
  const alice = await TestSignalClient.join(server.url, 'alice', '', { roomJoin: true, room, canPublish: true });
  const bob = await TestSignalClient.join(server.url, 'bob', '&auto_subscribe=0', { roomJoin: true, room });
  alice.send({ case: 'addTrack', value: new AddTrackRequest({ cid: 'mic-1', name: 'mic', type: TrackType.AUDIO, source: TrackSource.MICROPHONE }) });
  const published = await alice.waitFor((m) => m.case === 'trackPublished');
  const trackSid = (published.value as { track: { sid: string } }).track.sid;
  fake.mediaOf('alice').emit('trackPublished', { msidTrackId: 'mic-1', msidStreamId: 's', mid: '0', kind: 'audio', mimeType: 'audio/opus', rids: [], source: new FakeTrackSource('audio', 'audio/opus') });
  await bob.waitFor((m) => m.case === 'update' && m.value.participants.some((p) => p.identity === 'alice' && p.tracks.length === 1));
  const bobMedia = fake.mediaOf('bob');
  assert.equal(bobMedia.callsOf('subscribe').length, 0, 'no auto-subscription');

  const sub = await call('UpdateSubscriptions', { room, identity: 'bob', trackSids: [trackSid, 'TR_unknown'], subscribe: true }, admin(room));
  assert.equal(sub.status, 200, sub.text);
  assert.deepEqual(bobMedia.callsOf('subscribe').map((c) => c.trackSid), [trackSid]);
  const unsub = await call('UpdateSubscriptions', { room, identity: 'bob', participantTracks: [{ participantSid: 'x', trackSids: [trackSid] }], subscribe: false }, admin(room));
  assert.equal(unsub.status, 200, unsub.text);
  assert.deepEqual(bobMedia.callsOf('unsubscribe').map((c) => c.trackSid), [trackSid]);
  assert.equal((await call('UpdateSubscriptions', { room, identity: 'nobody', trackSids: [trackSid], subscribe: true }, admin(room))).json?.['code'], 'not_found');
  alice.close();
  bob.close();
});

test('UpdateParticipant permission: updates are broadcast, lost publish unpublishes, lost subscribe unsubscribes', async () => {
  const room = newRoomName();
  const alice = await TestSignalClient.join(server.url, 'alice', '', { roomJoin: true, room, canPublish: true });
  const bob = await TestSignalClient.join(server.url, 'bob', '', { roomJoin: true, room });
  alice.send({ case: 'addTrack', value: new AddTrackRequest({ cid: 'mic-1', name: 'mic', type: TrackType.AUDIO, source: TrackSource.MICROPHONE }) });
  const published = await alice.waitFor((m) => m.case === 'trackPublished');
  const trackSid = (published.value as { track: { sid: string } }).track.sid;
  fake.mediaOf('alice').emit('trackPublished', { msidTrackId: 'mic-1', msidStreamId: 's', mid: '0', kind: 'audio', mimeType: 'audio/opus', rids: [], source: new FakeTrackSource('audio', 'audio/opus') });
  const bobMedia = fake.mediaOf('bob');
  await bob.waitFor((m) => m.case === 'update' && m.value.participants.some((p) => p.identity === 'alice' && p.tracks.length === 1));
  assert.deepEqual(bobMedia.callsOf('subscribe').map((c) => c.trackSid), [trackSid]);

  const r = await call('UpdateParticipant', { room, identity: 'alice', permission: { canSubscribe: true, canPublish: false, canPublishData: true } }, admin(room));
  assert.equal(r.status, 200, r.text);
  assert.equal((r.json?.['permission'] as { can_publish: boolean }).can_publish, false);
  const unpublished = await alice.waitFor((m) => m.case === 'trackUnpublished');
  assert.equal(unpublished.case === 'trackUnpublished' ? unpublished.value.trackSid : undefined, trackSid);
  await bob.waitFor((m) => m.case === 'update' && m.value.participants.some((p) => p.identity === 'alice' && p.permission?.canPublish === false));

  const r2 = await call('UpdateParticipant', { room, identity: 'bob', permission: { canSubscribe: false, canPublish: false } }, admin(room));
  assert.equal(r2.status, 200, r2.text);
  assert.deepEqual(bobMedia.callsOf('unsubscribe').map((c) => c.trackSid), [trackSid]);
  await alice.waitFor((m) => m.case === 'update' && m.value.participants.some((p) => p.identity === 'bob' && p.permission?.canSubscribe === false));
  alice.close();
  bob.close();
});
