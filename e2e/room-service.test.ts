// Compatibility: livekit-server-sdk's RoomServiceClient drives Atrium's RoomService while unmodified
// @livekit/rtc-node participants are connected, and the test checks what those participants observe.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { RoomEvent, type Room } from '@livekit/rtc-node';
import { AccessToken, RoomServiceClient, TwirpError, DataPacket_Kind } from 'livekit-server-sdk';
import { DisconnectReason } from '@livekit/protocol';
import { TestSignalClient } from '@atrium/server/signal/test-signal-client.js';
import { connectRtcNode, publishSineTone, type RunningPublisher, teardownRtcNode } from './helpers/rtc-node.js';
import { startAtrium, DEV_API_KEY, DEV_API_SECRET, type AtriumUnderTest } from './helpers/server.js';
import { waitFor, withTimeout } from '@atrium/webrtc/testing/wait-for.js';

const EVENT_TIMEOUT_MS = 10_000;

let server: AtriumUnderTest | undefined;
let api: RoomServiceClient;
const rooms: Room[] = [];
const publishers: RunningPublisher[] = [];

before(async () => {
  server = await withTimeout(startAtrium(), 15_000, 'Atrium to start');
  api = new RoomServiceClient(server.httpUrl, DEV_API_KEY, DEV_API_SECRET);
});

after(() =>
  teardownRtcNode({
    publishers,
    rooms,
    also: [
      { what: 'closing Atrium', work: () => server?.close() ?? Promise.resolve() },
    ],
  }),
);

/** Resolves with the arguments of the first `event` on `room` that `pred` accepts (listen before acting). */
function nextEvent<A extends unknown[]>(room: Room, event: RoomEvent, pred: (...args: A) => boolean = () => true): Promise<A> {
  return withTimeout(
    new Promise<A>((resolve) => {
      const listener = (...args: A): void => {
        if (!pred(...args)) return;
        room.off(event, listener as never);
        resolve(args);
      };
      room.on(event, listener as never);
    }),
    EVENT_TIMEOUT_MS,
    `rtc-node event ${event}`,
  );
}

async function connect(identity: string, roomName: string): Promise<Room> {
  assert.ok(server);
  const room = await connectRtcNode(server.url, await server.token({ identity, room: roomName }), { label: identity });
  rooms.push(room);
  return room;
}

async function connectManual(identity: string, roomName: string): Promise<Room> {
  assert.ok(server);
  const room = await connectRtcNode(server.url, await server.token({ identity, room: roomName }), { label: identity, autoSubscribe: false });
  rooms.push(room);
  return room;
}

async function expectTwirpError(work: Promise<unknown>, status: number, code: string | undefined): Promise<void> {
  await assert.rejects(work, (err: unknown) => {
    assert.ok(err instanceof TwirpError, `a TwirpError, got ${String(err)}`);
    assert.equal(err.status, status);
    assert.equal(err.code, code);
    return true;
  });
}

test('RoomService methods and what connected rtc-node participants observe', { timeout: 120_000 }, async () => {
  assert.ok(server);
  const roomName = `room-service-e2e-${Date.now()}`;

  // CreateRoom / ListRooms
  const created = await api.createRoom({ name: roomName, metadata: 'initial', emptyTimeout: 120 });
  assert.equal(created.name, roomName);
  assert.match(created.sid, /^RM_/);
  assert.equal(created.metadata, 'initial');
  assert.equal(created.emptyTimeout, 120);
  const listed = await api.listRooms([roomName]);
  assert.deepEqual(listed.map((r) => [r.name, r.sid]), [[roomName, created.sid]]);

  const x = await connect('x', roomName);
  const y = await connect('y', roomName);
  assert.equal(x.metadata, 'initial', 'the joined room carries the metadata set by CreateRoom');
  await waitFor(() => x.remoteParticipants.has('y'), { timeoutMs: EVENT_TIMEOUT_MS, label: 'x sees y' });

  // ListParticipants / GetParticipant
  const participants = await api.listParticipants(roomName);
  assert.deepEqual(participants.map((p) => p.identity).sort(), ['x', 'y']);
  const gotY = await api.getParticipant(roomName, 'y');
  assert.equal(gotY.identity, 'y');
  assert.equal(gotY.sid, y.localParticipant?.sid);

  // UpdateRoomMetadata -> RoomMetadataChanged
  const metaChanged = nextEvent<[string]>(x, RoomEvent.RoomMetadataChanged, (m) => m === 'updated');
  const updatedRoom = await api.updateRoomMetadata(roomName, 'updated');
  assert.equal(updatedRoom.metadata, 'updated');
  await metaChanged;

  // UpdateParticipant -> metadata, name and attributes seen by others
  const yMeta = nextEvent<[string | undefined, { identity: string }]>(x, RoomEvent.ParticipantMetadataChanged, (m, p) => p.identity === 'y' && m === 'y-meta');
  const yName = nextEvent<[string, { identity: string }]>(x, RoomEvent.ParticipantNameChanged, (n, p) => p.identity === 'y' && n === 'Why');
  const yAttrs = nextEvent<[Record<string, string>, { identity: string }]>(x, RoomEvent.ParticipantAttributesChanged, (a, p) => p.identity === 'y' && a['role'] === 'speaker');
  const updatedY = await api.updateParticipant(roomName, 'y', { metadata: 'y-meta', name: 'Why', attributes: { role: 'speaker' } });
  assert.equal(updatedY.metadata, 'y-meta');
  assert.equal(updatedY.name, 'Why');
  await Promise.all([yMeta, yName, yAttrs]);

  // SendData -> DataReceived (everyone, then only the destination)
  const payload = new TextEncoder().encode('hello from the server');
  const xData = nextEvent<[Uint8Array, unknown, unknown, string | undefined]>(x, RoomEvent.DataReceived, (_d, _p, _k, topic) => topic === 'news');
  const yData = nextEvent<[Uint8Array, unknown, unknown, string | undefined]>(y, RoomEvent.DataReceived, (_d, _p, _k, topic) => topic === 'news');
  await api.sendData(roomName, payload, DataPacket_Kind.RELIABLE, { topic: 'news' });
  for (const [data, participant] of await Promise.all([xData, yData])) {
    assert.equal(new TextDecoder().decode(data), 'hello from the server');
    assert.equal(participant, undefined, 'server data has no sender participant');
  }
  const seenByX: string[] = [];
  x.on(RoomEvent.DataReceived, (_d, _p, _k, topic) => {
    if (topic !== undefined) seenByX.push(topic);
  });
  const yOnly = nextEvent<[Uint8Array, unknown, unknown, string | undefined]>(y, RoomEvent.DataReceived, (_d, _p, _k, topic) => topic === 'for-y');
  await api.sendData(roomName, payload, DataPacket_Kind.RELIABLE, { topic: 'for-y', destinationIdentities: ['y'] });
  await yOnly;
  // A later broadcast reaches x; if the targeted packet had leaked to x it would have arrived before it.
  const xLater = nextEvent<[Uint8Array, unknown, unknown, string | undefined]>(x, RoomEvent.DataReceived, (_d, _p, _k, topic) => topic === 'later');
  await api.sendData(roomName, payload, DataPacket_Kind.RELIABLE, { topic: 'later' });
  await xLater;
  assert.deepEqual(seenByX, ['later']);

  // MutePublishedTrack -> the publisher mutes, others see TrackMuted
  const tone = await publishSineTone(x, { frequencyHz: 440, maxDurationMs: 60_000 });
  publishers.push(tone);
  const trackSid = tone.publication.sid;
  assert.ok(trackSid);
  await waitFor(() => y.remoteParticipants.get('x')?.trackPublications.has(trackSid) === true, { timeoutMs: EVENT_TIMEOUT_MS, label: 'y sees x track' });
  const muted = nextEvent<[{ sid?: string }, { identity: string }]>(y, RoomEvent.TrackMuted, (pub, p) => p.identity === 'x' && pub.sid === trackSid);
  const mutedInfo = await api.mutePublishedTrack(roomName, 'x', trackSid, true);
  assert.equal(mutedInfo.sid, trackSid);
  assert.equal(mutedInfo.muted, true);
  await muted;
  await waitFor(() => tone.publication.muted, { timeoutMs: EVENT_TIMEOUT_MS, label: "x's own publication muted by the server" });
  await expectTwirpError(api.mutePublishedTrack(roomName, 'x', trackSid, false), 412, 'failed_precondition');

  // UpdateSubscriptions -> a participant that does not auto-subscribe gets, then loses, x's track
  const z = await connectManual('z', roomName);
  await waitFor(() => z.remoteParticipants.get('x')?.trackPublications.has(trackSid) === true, { timeoutMs: EVENT_TIMEOUT_MS, label: 'z sees x track' });
  const zSubscribed = nextEvent<[unknown, { sid?: string }, { identity: string }]>(z, RoomEvent.TrackSubscribed, (_t, pub) => pub.sid === trackSid);
  await api.updateSubscriptions(roomName, 'z', [trackSid], true);
  await zSubscribed;
  // rtc-node 1.1 did not raise TrackUnsubscribed for a server-side unsubscribe within 10 s when tried, so
  // this checks the server's subscription state; the unit test checks that the down track is removed.
  const zOnServer = server.server.rooms.getRoom(roomName)?.getParticipantByIdentity('z');
  assert.equal(zOnServer?.subscriptions.has(trackSid), true);
  await api.updateSubscriptions(roomName, 'z', [trackSid], false);
  assert.equal(zOnServer.subscriptions.has(trackSid), false);
  const zLeft = nextEvent<[{ identity: string }]>(x, RoomEvent.ParticipantDisconnected, (p) => p.identity === 'z');
  await z.disconnect();
  await zLeft;

  // UpdateParticipant permission -> the participant's own update carries it (raw signalling client)
  const w = await TestSignalClient.join(server.url, 'w', '', { roomJoin: true, room: roomName });
  const wInfo = await api.updateParticipant(roomName, 'w', { permission: { canSubscribe: true, canPublish: false, canPublishData: false } });
  assert.equal(wInfo.permission?.canPublish, false);
  await w.waitFor(
    (m) => m.case === 'update' && m.value.participants.some((p) => p.identity === 'w' && p.permission?.canPublish === false && p.permission.canSubscribe),
    { timeoutMs: EVENT_TIMEOUT_MS },
  );
  const wLeft = nextEvent<[{ identity: string }]>(x, RoomEvent.ParticipantDisconnected, (p) => p.identity === 'w');
  w.close();
  await wLeft;

  // RemoveParticipant -> y is disconnected with PARTICIPANT_REMOVED, x sees y leave
  const yGone = nextEvent<[{ identity: string }]>(x, RoomEvent.ParticipantDisconnected, (p) => p.identity === 'y');
  const yDisconnected = nextEvent<[number]>(y, RoomEvent.Disconnected);
  await api.removeParticipant(roomName, 'y');
  const [yReason] = await yDisconnected;
  assert.equal(yReason, DisconnectReason.PARTICIPANT_REMOVED);
  await yGone;
  assert.deepEqual((await api.listParticipants(roomName)).map((p) => p.identity), ['x']);

  // DeleteRoom -> x is disconnected with ROOM_DELETED, the room is gone
  const xDisconnected = nextEvent<[number]>(x, RoomEvent.Disconnected);
  await api.deleteRoom(roomName);
  const [xReason] = await xDisconnected;
  assert.equal(xReason, DisconnectReason.ROOM_DELETED);
  assert.deepEqual(await api.listRooms([roomName]), []);
});

test('missing grants, bad tokens and bad arguments get Twirp errors through the SDK', { timeout: 30_000 }, async () => {
  assert.ok(server);
  const srv = server;
  const roomName = `room-service-errors-${Date.now()}`;
  await api.createRoom({ name: roomName });

  // A fixed token without the needed grants.
  const at = new AccessToken(DEV_API_KEY, DEV_API_SECRET, { ttl: '5m' });
  at.addGrant({ roomRecord: true, room: roomName });
  const weak = new RoomServiceClient(srv.httpUrl, undefined, undefined, { token: await at.toJwt() });
  await expectTwirpError(weak.createRoom({ name: 'nope' }), 401, 'unauthenticated');
  await expectTwirpError(weak.listRooms(), 401, 'unauthenticated');
  await expectTwirpError(weak.deleteRoom(roomName), 401, 'unauthenticated');
  await expectTwirpError(weak.listParticipants(roomName), 401, 'unauthenticated');

  // roomAdmin for another room.
  const other = new AccessToken(DEV_API_KEY, DEV_API_SECRET, { ttl: '5m' });
  other.addGrant({ roomAdmin: true, room: 'some-other-room' });
  const otherAdmin = new RoomServiceClient(srv.httpUrl, undefined, undefined, { token: await other.toJwt() });
  await expectTwirpError(otherAdmin.listParticipants(roomName), 401, 'unauthenticated');

  // Wrong secret: the token is rejected (plain-text 401, as LiveKit's auth middleware answers).
  const wrongSecret = new RoomServiceClient(srv.httpUrl, DEV_API_KEY, 'not-the-secret');
  await expectTwirpError(wrongSecret.listRooms(), 401, undefined);
  const unknownKey = new RoomServiceClient(srv.httpUrl, 'nokey', DEV_API_SECRET);
  await expectTwirpError(unknownKey.listRooms(), 401, undefined);

  // Bad arguments and missing things.
  await expectTwirpError(api.createRoom({ name: '' }), 400, 'invalid_argument');
  await expectTwirpError(api.getParticipant(roomName, 'nobody'), 404, 'not_found');
  await expectTwirpError(api.removeParticipant(roomName, 'nobody'), 404, 'not_found');
  await expectTwirpError(api.listParticipants('no-such-room'), 404, 'not_found');
  await expectTwirpError(api.deleteRoom('no-such-room'), 404, 'not_found');
  await expectTwirpError(api.updateRoomMetadata('no-such-room', 'm'), 404, 'not_found');
  await api.deleteRoom(roomName);
});
