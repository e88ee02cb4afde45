// What a resume carries beyond the signal messages (docs/resume.md): last_message_seq (the reliable data the server has
// from the client, so the client resends only what follows, and a resend is not delivered twice), SyncState's
// track_sids_disabled (disabled subscriptions stay disabled), and the resume window from rtc.resume_timeout.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  AddTrackRequest, DataPacket, DataPacket_Kind, DisconnectReason, LeaveRequest_Action, ParticipantInfo_State, SyncState, TrackPublishedResponse, TrackSource,
  TrackType, UserPacket,
} from '@livekit/protocol';
import type { JoinResponse, ParticipantInfo, ReconnectResponse } from '@livekit/protocol';
import { waitFor } from '@atrium/webrtc/testing/wait-for.js';
import { FakeTrackSource } from '../rtc/fake-media.js';
import type { FakeParticipantMedia } from '../rtc/fake-media.js';
import type { Participant } from '../rtc/participant.js';
import { TestSignalClient, devToken, expectFullReconnect, isUpdate, startFakeSignalServer } from './test-signal-client.js';
import type { FakeSignalServer } from './test-signal-client.js';

const polling = { timeoutMs: 3000, intervalMs: 5 } as const;

let env: FakeSignalServer;
let roomSeq = 0;

before(async () => {
  env = await startFakeSignalServer();
});
after(() => env.close());


interface Room2 {
  e: FakeSignalServer;
  room: string;
  video: { roomJoin: true; room: string };
  alice: TestSignalClient;
  bob: TestSignalClient;
  aliceSid: string;
  aliceMedia: FakeParticipantMedia;
  bobMedia: FakeParticipantMedia;
}

async function room2(e: FakeSignalServer = env): Promise<Room2> {
  const video = { roomJoin: true as const, room: `resume-state-${++roomSeq}` };
  const alice = await TestSignalClient.join(e.server.url, 'alice', '', video);
  const bob = await TestSignalClient.join(e.server.url, 'bob', '', video);
  env.clients.push(alice, bob);
  await alice.waitFor(isUpdate('bob'));
  const aliceSid = (alice.messages[0]!.value as JoinResponse).participant!.sid;
  const aliceMedia = e.fake.mediaOf('alice');
  const bobMedia = e.fake.mediaOf('bob');
  aliceMedia.emit('connectionState', { target: 1, state: 'connected' });
  bobMedia.emit('connectionState', { target: 1, state: 'connected' });
  await bob.waitFor(isUpdate('alice', (p) => p.state === ParticipantInfo_State.ACTIVE));
  return { e, room: video.room, video, alice, bob, aliceSid, aliceMedia, bobMedia };
}

const participantOf = (r: Room2): Participant | undefined => r.e.server.rooms.getRoom(r.room)?.getParticipant(r.aliceSid);

async function dropSignal(r: Room2): Promise<void> {
  r.alice.close();
  await waitFor(() => participantOf(r)?.isAwaitingResume === true || participantOf(r)?.isClosed === true || participantOf(r) === undefined, {
    ...polling, label: 'the server saw the close',
  });
}

async function resume(r: Room2): Promise<TestSignalClient> {
  const c = await TestSignalClient.connect(r.e.server.url, await devToken('alice', r.video), `&reconnect=1&sid=${r.aliceSid}&reconnect_reason=1`);
  env.clients.push(c);
  return c;
}

/** alice sends a reliable chat-like packet with `sequence` over her data channel. */
function aliceSends(r: Room2, sequence: number, text: string): void {
  const pkt = new DataPacket({ sequence, kind: DataPacket_Kind.RELIABLE, value: { case: 'user', value: new UserPacket({ payload: new TextEncoder().encode(text) }) } });
  r.aliceMedia.emit('data', { payload: pkt.toBinary(), kind: 'reliable' });
}

/** What bob's data channel was given, as text. */
function bobReceived(r: Room2): string[] {
  return r.bobMedia.callsOf('sendData').map((c) => {
    const v = DataPacket.fromBinary(c.payload).value;
    return v.case === 'user' ? new TextDecoder().decode(v.value.payload) : `(${v.case})`;
  });
}

test('last_message_seq: the ReconnectResponse names the last reliable packet received; resent ones are not delivered twice', async () => {
  const r = await room2();
  aliceSends(r, 1, 'one');
  aliceSends(r, 2, 'two');
  await waitFor(() => bobReceived(r).length === 2 || undefined, { ...polling, label: 'two packets at bob' });
  await dropSignal(r);
  const c = await resume(r);
  const first = await c.waitFor(() => true);
  assert.equal(first.case, 'reconnect');
  assert.equal((first.value as ReconnectResponse).lastMessageSeq, 2);
  // livekit-client resends what it buffered after last_message_seq; a packet at or below it is a duplicate.
  aliceSends(r, 2, 'two (resent)');
  aliceSends(r, 3, 'three');
  aliceSends(r, 3, 'three (resent)');
  // Lossy and unsequenced packets are not sequence-checked.
  r.aliceMedia.emit('data', { payload: new DataPacket({ value: { case: 'user', value: new UserPacket({ payload: new TextEncoder().encode('lossy') }) } }).toBinary(), kind: 'lossy' });
  await waitFor(() => bobReceived(r).length === 4 || undefined, { ...polling, label: 'four packets at bob' });
  await new Promise((res) => setTimeout(res, 20));
  assert.deepEqual(bobReceived(r), ['one', 'two', 'three', 'lossy']);
  assert.equal(participantOf(r)?.lastReliableSequence, 3);
});

test('last_message_seq is 0 for a client that sent no reliable data (it then resends nothing)', async () => {
  const r = await room2();
  await dropSignal(r);
  const c = await resume(r);
  const first = await c.waitFor(() => true);
  assert.equal((first.value as ReconnectResponse).lastMessageSeq, 0);
});

test('SyncState track_sids_disabled: the subscriptions named stay disabled after the resume; unknown sids are ignored', async () => {
  const r = await room2();
  r.bob.send({ case: 'addTrack', value: new AddTrackRequest({ cid: 'bob-cam', name: 'cam', type: TrackType.VIDEO, source: TrackSource.CAMERA, width: 640, height: 480 }) });
  const published = await r.bob.waitFor((m) => m.case === 'trackPublished');
  const trackSid = (published.value as TrackPublishedResponse).track!.sid;
  r.bobMedia.emit('trackPublished', { msidTrackId: 'bob-cam', msidStreamId: 's', mid: '0', kind: 'video', mimeType: 'video/VP8', rids: [], source: new FakeTrackSource('video', 'video/VP8') });
  await waitFor(() => participantOf(r)?.subscriptions.has(trackSid) || undefined, { ...polling, label: 'alice subscribed to bob\'s camera' });
  await dropSignal(r);
  const c = await resume(r);
  await c.waitFor((m) => m.case === 'roomUpdate');
  const before = r.aliceMedia.callsOf('updateTrackSettings').length;
  c.send({ case: 'syncState', value: new SyncState({ trackSidsDisabled: [trackSid, 'TR_unknown'] }) });
  await waitFor(() => r.aliceMedia.callsOf('updateTrackSettings').length > before || undefined, { ...polling, label: 'settings applied' });
  const applied = r.aliceMedia.callsOf('updateTrackSettings').slice(before);
  assert.deepEqual(applied.map((x) => [x.trackSid, x.settings.isDisabled]), [[trackSid, true]]);
  assert.equal(participantOf(r)?.isClosed, false);
});

test('rtc.resume_timeout: the window is the configured one; 0 means no resume', async () => {
  const short = await startFakeSignalServer({ resumeTimeoutSec: 3 });
  const none = await startFakeSignalServer({ resumeTimeoutSec: 0 });
  try {
    const r = await room2(short);
    await dropSignal(r);
    assert.equal(participantOf(r)?.isAwaitingResume, true);
    // bob answers pings so only alice's window runs out.
    for (let i = 0; i < 3; i++) {
      r.bob.send({ case: 'ping', value: BigInt(i + 1) });
      await r.bob.waitFor((m) => m.case === 'pong' && r.bob.messages.filter((x) => x.case === 'pong').length > i);
      short.clock.advance(999);
    }
    assert.equal(participantOf(r)?.isAwaitingResume, true, 'still waiting at 2.997 s');
    short.clock.advance(3);
    await waitFor(() => participantOf(r) === undefined || undefined, { ...polling, label: 'alice left after 3 s' });
    await expectFullReconnect(await resume(r));

    const n = await room2(none);
    await dropSignal(n);
    assert.equal(participantOf(n), undefined, 'with 0, a dropped signal connection ends the participant at once');
    await n.bob.waitFor(isUpdate('alice', (p) => p.state === ParticipantInfo_State.DISCONNECTED));
  } finally {
    await short.server.close();
    await none.server.close();
  }
});

test('a PC that loses consent while the signal is up: LeaveRequest RESUME, the socket closed, kept for a resume', async () => {
  const r = await room2();
  r.aliceMedia.emit('connectionState', { target: 0, state: 'failed' });
  await r.alice.waitClosed();
  const leave = r.alice.messages.find((m) => m.case === 'leave');
  assert.ok(leave?.case === 'leave');
  assert.equal(leave.value.action, LeaveRequest_Action.RESUME);
  assert.equal(leave.value.reason, DisconnectReason.CONNECTION_TIMEOUT);
  assert.equal(leave.value.canReconnect, true);
  await waitFor(() => participantOf(r)?.isAwaitingResume || undefined, { ...polling, label: 'kept for a resume' });
  const restarts = r.aliceMedia.callsOf('restartIce').length;
  const c = await resume(r);
  await c.waitFor((m) => m.case === 'roomUpdate');
  await waitFor(() => r.aliceMedia.callsOf('restartIce').length === restarts + 1 || undefined, { ...polling, label: 'ICE restarted' });
  assert.equal(r.bob.messages.filter(isUpdate('alice', (p) => p.state === ParticipantInfo_State.DISCONNECTED)).length, 0, 'bob saw nothing');

  // Fails again and the client never comes back: it leaves with CONNECTION_TIMEOUT when the window ends.
  r.aliceMedia.emit('connectionState', { target: 1, state: 'failed' });
  await c.waitClosed();
  await waitFor(() => participantOf(r)?.isAwaitingResume || undefined, { ...polling, label: 'kept again' });
  for (let i = 0; i < 5; i++) {
    r.bob.send({ case: 'ping', value: BigInt(100 + i) });
    await r.bob.waitFor((m) => m.case === 'pong' && r.bob.messages.filter((x) => x.case === 'pong').length > i);
    r.e.clock.advance(4_000);
  }
  const gone = await r.bob.waitFor(isUpdate('alice', (p) => p.state === ParticipantInfo_State.DISCONNECTED));
  const info = (gone.value as { participants: ParticipantInfo[] }).participants.find((p) => p.identity === 'alice')!;
  assert.equal(info.disconnectReason, DisconnectReason.CONNECTION_TIMEOUT);
});

test('a PC that fails before it ever connected changes nothing (the client gives up on its own)', async () => {
  const video = { roomJoin: true as const, room: `resume-state-${++roomSeq}` };
  const c = await TestSignalClient.join(env.server.url, 'carol', '', video);
  env.clients.push(c);
  env.fake.mediaOf('carol').emit('connectionState', { target: 1, state: 'failed' });
  c.send({ case: 'ping', value: 7n });
  await c.waitFor((m) => m.case === 'pong');
  assert.equal(c.closed, false);
  assert.equal(c.messages.filter((m) => m.case === 'leave').length, 0);
});
