// Room rules over a real WebSocket against createServer with fake media and a ManualClock: auto_create,
// max_participants, RoomUpdate pacing, client metadata updates, refresh tokens and the timeouts from the config.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  DisconnectReason, LeaveRequest_Action, RequestResponse_Reason, UpdateParticipantMetadata, ParticipantPermission, AddTrackRequest, TrackType,
  TrackSource,
} from '@livekit/protocol';
import type { LeaveRequest, RequestResponse, Room as RoomInfo, ParticipantInfo, JoinResponse } from '@livekit/protocol';
import { ManualClock, silentLogger } from '@atrium/webrtc';
import { createAccessToken, verifyAccessToken } from '@atrium/protocol';
import type { VideoGrant } from '@atrium/protocol';
import { waitFor } from '@atrium/webrtc/testing/wait-for.js';
import { createServer } from '../create-server.js';
import type { AtriumServer } from '../create-server.js';
import { devConfig } from '../config/server-config.js';
import type { ServerConfigOverrides } from '../config/server-config.js';
import { FakeMediaFactory } from '../rtc/fake-media.js';
import { TestSignalClient } from './test-signal-client.js';
import type { Msg } from './test-signal-client.js';

const polling = { timeoutMs: 3000, intervalMs: 5 } as const;
const KEYS = { devkey: 'secret' };

async function withServer(room: ServerConfigOverrides['room'], run: (server: AtriumServer, clock: ManualClock) => Promise<void>): Promise<void> {
  const clock = new ManualClock();
  const server = await createServer(devConfig({ port: 0, rtc: { udpPort: 0 }, room }), { mediaFactory: new FakeMediaFactory(), logger: silentLogger, clock });
  try {
    await run(server, clock);
  } finally {
    await server.close();
  }
}

const httpUrl = (server: AtriumServer): string => server.url.replace('ws://', 'http://');
const leaveOf = (m: Msg | undefined): LeaveRequest => {
  assert.equal(m?.case, 'leave');
  return m.value as LeaveRequest;
};
const roomUpdates = (c: TestSignalClient): RoomInfo[] => c.messages.flatMap((m) => (m.case === 'roomUpdate' && m.value.room ? [m.value.room] : []));
const tokens = (c: TestSignalClient): string[] => c.messages.flatMap((m) => (m.case === 'refreshToken' ? [m.value] : []));
const updatesFor = (c: TestSignalClient, identity: string): ParticipantInfo[] =>
  c.messages.flatMap((m) => (m.case === 'update' ? m.value.participants.filter((p) => p.identity === identity) : []));

test('auto_create false: a missing room is 404 "requested room does not exist" on validate and upgrade; created rooms can be joined', async () => {
  await withServer({ autoCreate: false }, async (server) => {
    const token = await createAccessToken({ apiKey: 'devkey', apiSecret: 'secret', identity: 'alice', video: { roomJoin: true, room: 'missing' } });
    const res = await fetch(`${httpUrl(server)}/rtc/validate?access_token=${token}`);
    assert.equal(res.status, 404);
    assert.equal(await res.text(), 'requested room does not exist');
    assert.equal(res.headers.get('access-control-allow-origin'), '*');
    await assert.rejects(TestSignalClient.connect(server.url, token), /upgrade rejected: 404/);
    assert.equal(server.rooms.roomCount, 0, 'nothing created');

    server.rooms.getOrCreateRoom('made'); // what RoomService CreateRoom does
    const ok = await createAccessToken({ apiKey: 'devkey', apiSecret: 'secret', identity: 'alice', video: { roomJoin: true, room: 'made' } });
    assert.equal((await fetch(`${httpUrl(server)}/rtc/validate?access_token=${ok}`)).status, 200);
    const alice = await TestSignalClient.connect(server.url, ok);
    await alice.waitFor((m) => m.case === 'join');

    // As LiveKit: a token that may create rooms creates it by joining.
    const creator = await TestSignalClient.join(server.url, 'bob', '', { roomJoin: true, room: 'by-token', roomCreate: true });
    assert.ok(server.rooms.getRoom('by-token'));
    alice.close();
    creator.close();
  });
});

test('max_participants: the next join gets LeaveRequest JOIN_FAILURE only; rejoins, recorders and agents are admitted', async () => {
  await withServer({ maxParticipants: 2 }, async (server) => {
    const video: VideoGrant = { roomJoin: true, room: 'r' };
    const a = await TestSignalClient.join(server.url, 'a', '', video);
    const b = await TestSignalClient.join(server.url, 'b', '', video);
    const room = server.rooms.getRoom('r');
    assert.equal(room?.info().maxParticipants, 2);
    const cToken = await createAccessToken({ apiKey: 'devkey', apiSecret: 'secret', identity: 'c', video });
    // LiveKit's validate does not look at the participant count.
    assert.equal((await fetch(`${httpUrl(server)}/rtc/validate?access_token=${cToken}`)).status, 200);
    const c = await TestSignalClient.connect(server.url, cToken);
    await c.waitClosed();
    assert.equal(c.messages.length, 1, 'the leave is the first and only message');
    const leave = leaveOf(c.messages[0]);
    assert.equal(leave.reason, DisconnectReason.JOIN_FAILURE);
    assert.equal(leave.action, LeaveRequest_Action.DISCONNECT);
    assert.equal(room?.participantCount, 2);

    const recorder = await TestSignalClient.join(server.url, 'rec', '', { ...video, recorder: true, hidden: true });
    const agentToken = await createAccessToken({ apiKey: 'devkey', apiSecret: 'secret', identity: 'agent', kind: 'agent', video });
    const agent = await TestSignalClient.connect(server.url, agentToken);
    await agent.waitFor((m) => m.case === 'join');
    const b2 = await TestSignalClient.join(server.url, 'b', '', video);
    assert.equal(leaveOf(await b.waitFor((m) => m.case === 'leave')).reason, DisconnectReason.DUPLICATE_IDENTITY);
    assert.equal(room?.participantCount, 4);
    assert.equal(room?.info().numParticipants, 2, 'recorders and agents are not counted');
    for (const x of [a, b2, recorder, agent]) x.close();
  });
});

test("the token's roomConfig sets the limit of the room its join creates", async () => {
  await withServer({}, async (server) => {
    const token = await createAccessToken({
      apiKey: 'devkey', apiSecret: 'secret', identity: 'first', video: { roomJoin: true, room: 'cfg' },
      roomConfig: { maxParticipants: 1, departureTimeout: 4 },
    });
    const first = await TestSignalClient.connect(server.url, token);
    await first.waitFor((m) => m.case === 'join');
    assert.equal(server.rooms.getRoom('cfg')?.info().departureTimeout, 4);
    const second = await TestSignalClient.connect(server.url, await createAccessToken({ apiKey: 'devkey', apiSecret: 'secret', identity: 'second', video: { roomJoin: true, room: 'cfg' } }));
    await second.waitClosed();
    assert.equal(leaveOf(second.messages[0]).reason, DisconnectReason.JOIN_FAILURE);
    first.close();
  });
});

test('RoomUpdate: counts paced to one per 5 s, recording and metadata at once', async () => {
  await withServer({}, async (server, clock) => {
    const video: VideoGrant = { roomJoin: true, room: 'ru' };
    const alice = await TestSignalClient.join(server.url, 'alice', '', video);
    await alice.waitFor((m) => m.case === 'roomUpdate');
    assert.equal(roomUpdates(alice).at(-1)?.numParticipants, 1);
    const bob = await TestSignalClient.join(server.url, 'bob', '', video);
    await alice.waitFor((m) => m.case === 'update' && m.value.participants.some((p) => p.identity === 'bob'));
    assert.equal(roomUpdates(alice).length, 1, 'held within the interval');
    clock.advance(5000);
    await waitFor(() => roomUpdates(alice).length === 2 && roomUpdates(bob).length === 1, { ...polling, label: 'paced update' });
    assert.equal(roomUpdates(alice)[1]?.numParticipants, 2);
    assert.equal(roomUpdates(alice)[1]?.activeRecording, false);

    const rec = await TestSignalClient.join(server.url, 'rec', '', { ...video, recorder: true, hidden: true });
    await waitFor(() => roomUpdates(alice).some((r) => r.activeRecording), { ...polling, label: 'recording on, at once' });
    assert.equal(roomUpdates(alice).at(-1)?.numParticipants, 2, 'the hidden recorder is not counted');
    assert.equal(updatesFor(alice, 'rec').length, 0, 'nor announced');
    rec.close();
    await waitFor(() => roomUpdates(alice).at(-1)?.activeRecording === false, { ...polling, label: 'recording off, at once' });

    server.rooms.getRoom('ru')?.setMetadata('hello');
    await waitFor(() => roomUpdates(bob).at(-1)?.metadata === 'hello', { ...polling, label: 'metadata at once' });
    alice.close();
    bob.close();
  });
});

test('UpdateParticipantMetadata: applied with canUpdateOwnMetadata and answered; refused NOT_ALLOWED / LIMIT_EXCEEDED', async () => {
  await withServer({}, async (server) => {
    const room = { roomJoin: true, room: 'md' };
    const alice = await TestSignalClient.join(server.url, 'alice', '', { ...room, canUpdateOwnMetadata: true });
    const bob = await TestSignalClient.join(server.url, 'bob', '', room);
    await alice.waitFor((m) => m.case === 'update' && m.value.participants.some((p) => p.identity === 'bob'));
    const response = (c: TestSignalClient, id: number) =>
      c.waitFor((m) => m.case === 'requestResponse' && m.value.requestId === id).then((m) => m.value as RequestResponse);

    alice.send({ case: 'updateMetadata', value: new UpdateParticipantMetadata({ requestId: 7, name: 'Alice', metadata: 'm1', attributes: { a: '1' } }) });
    const ok = await response(alice, 7);
    assert.equal(ok.reason, RequestResponse_Reason.OK);
    assert.equal(ok.request.case, 'updateMetadata');
    await bob.waitFor((m) => m.case === 'update' && m.value.participants.some((p) => p.identity === 'alice' && p.name === 'Alice' && p.metadata === 'm1' && p.attributes['a'] === '1'));
    alice.send({ case: 'updateMetadata', value: new UpdateParticipantMetadata({ requestId: 8, name: 'Alice', metadata: 'm1', attributes: { a: '' } }) });
    await bob.waitFor((m) => m.case === 'update' && m.value.participants.some((p) => p.identity === 'alice' && !('a' in p.attributes)));

    const seen = bob.messages.length;
    bob.send({ case: 'updateMetadata', value: new UpdateParticipantMetadata({ requestId: 9, metadata: 'mine' }) });
    const refused = await response(bob, 9);
    assert.equal(refused.reason, RequestResponse_Reason.NOT_ALLOWED);
    assert.equal(refused.message, 'does not have permission to update own metadata');
    alice.send({ case: 'updateMetadata', value: new UpdateParticipantMetadata({ requestId: 10, name: 'x'.repeat(300) }) });
    const tooLong = await response(alice, 10);
    assert.equal(tooLong.reason, RequestResponse_Reason.LIMIT_EXCEEDED);
    assert.equal(tooLong.message, 'exceeds name length limit');
    assert.ok(updatesFor(alice, 'bob').every((p) => p.metadata === ''), 'nothing applied');
    assert.ok(bob.messages.slice(seen).every((m) => m.case !== 'update'), 'no broadcast for refused updates');
    alice.close();
    bob.close();
  });
});

test('refresh_token: after join, every 5 min, and at once when UpdateParticipant changes the claims', async () => {
  await withServer({}, async (server, clock) => {
    const alice = await TestSignalClient.join(server.url, 'alice', '', { roomJoin: true, room: 'tok' });
    await waitFor(() => tokens(alice).length === 1, { ...polling, label: 'first refresh token' });
    const first = await verifyAccessToken(tokens(alice)[0] ?? '', KEYS, { currentDate: new Date(clock.wallMs()) });
    assert.equal(first.identity, 'alice');
    assert.equal(first.video?.room, 'tok');
    assert.ok((first.exp ?? 0) >= Math.floor(clock.wallMs() / 1000) + 600, 'valid for at least 10 min');
    // Five minutes in 10 s steps, pinging like a client so the ping timeout does not end the session.
    for (let i = 0; i < 30; i++) {
      const pongs = alice.messages.filter((m) => m.case === 'pong').length;
      alice.send({ case: 'ping', value: BigInt(i) });
      await waitFor(() => alice.messages.filter((m) => m.case === 'pong').length > pongs, { ...polling, label: 'pong' });
      clock.advance(i === 29 ? 9_999 : 10_000);
    }
    assert.equal(tokens(alice).length, 1);
    clock.advance(1);
    await waitFor(() => tokens(alice).length === 2, { ...polling, label: 'refresh after 5 min' });

    const room = server.rooms.getRoom('tok');
    const p = room?.getParticipantByIdentity('alice');
    assert.ok(room && p);
    // What RoomService UpdateParticipant does: permission, then name/metadata/attributes; one token carries both.
    room.setParticipantPermission(p, new ParticipantPermission({ canPublish: true, canSubscribe: true, canPublishData: true, canUpdateMetadata: true }));
    p.updateFromServer({ name: 'Alice A', metadata: 'md', attributes: { k: 'v' } });
    await waitFor(async () => {
      const last = tokens(alice).at(-1);
      if (!last) return false;
      const c = await verifyAccessToken(last, KEYS, { currentDate: new Date(clock.wallMs()) });
      return c.name === 'Alice A' && c.metadata === 'md' && c.attributes?.['k'] === 'v' && c.video?.canUpdateOwnMetadata === true;
    }, { ...polling, label: 'token with the updated claims' });
    assert.equal(tokens(alice).length, 3, 'permission and name/metadata changed together: one token');
    alice.close();
    await alice.waitClosed();
    await waitFor(() => room.participantCount === 0, { ...polling, label: 'left' });
    clock.advance(20_000);
    assert.equal(clock.pendingTimers, 0, 'the refresh timer stops with the session');
  });
});

test('empty_timeout and departure_timeout come from the config', async () => {
  await withServer({ emptyTimeoutSec: 7, departureTimeoutSec: 3 }, async (server, clock) => {
    const idle = server.rooms.getOrCreateRoom('idle');
    assert.equal(idle.info().emptyTimeout, 7);
    clock.advance(6_999);
    assert.equal(idle.isClosed, false);
    clock.advance(1);
    assert.equal(idle.isClosed, true);

    const alice = await TestSignalClient.join(server.url, 'alice', '', { roomJoin: true, room: 'used' });
    const used = server.rooms.getRoom('used');
    assert.equal(used?.info().departureTimeout, 3);
    alice.close();
    await waitFor(() => used?.participantCount === 0, { ...polling, label: 'left' });
    clock.advance(2_999);
    assert.equal(used?.isClosed, false);
    clock.advance(1);
    assert.equal(used?.isClosed, true);
    assert.equal(server.rooms.roomCount, 0);
  });
});

test('canPublishSources: an AddTrackRequest for another source is refused with NOT_ALLOWED and nothing is published', async () => {
  await withServer({}, async (server) => {
    const video: VideoGrant = { roomJoin: true, room: 'src' };
    const mic = await TestSignalClient.join(server.url, 'mic', '', { ...video, canPublishSources: ['microphone'] });
    const watcher = await TestSignalClient.join(server.url, 'watcher', '', video);
    mic.send({ case: 'addTrack', value: new AddTrackRequest({ cid: 'cam', type: TrackType.VIDEO, source: TrackSource.CAMERA }) });
    const refused = (await mic.waitFor((m) => m.case === 'requestResponse')).value as RequestResponse;
    assert.equal(refused.reason, RequestResponse_Reason.NOT_ALLOWED);
    assert.equal(refused.request.case, 'addTrack');
    mic.send({ case: 'addTrack', value: new AddTrackRequest({ cid: 'mic', type: TrackType.AUDIO, source: TrackSource.MICROPHONE }) });
    await mic.waitFor((m) => m.case === 'trackPublished' && m.value.cid === 'mic');
    assert.equal(mic.messages.filter((m) => m.case === 'trackPublished' && m.value.cid === 'cam').length, 0);
    const self = (mic.messages[0]?.value as JoinResponse).participant;
    assert.deepEqual(self?.permission?.canPublishSources, [TrackSource.MICROPHONE]);
    mic.close();
    watcher.close();
  });
});
