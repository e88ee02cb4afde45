// Session resume (docs/resume.md) over real WebSockets with the fake media seam and a manual clock: a participant
// whose signal connection closes without a Leave is kept, a `reconnect=1` connection with its sid reattaches it
// (ReconnectResponse first, then what it missed, then snapshots, and an ICE restart of its subscriber PC), and the
// resumes that cannot be honoured get a LeaveRequest RECONNECT (a full reconnect).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  AddTrackRequest, DisconnectReason, LeaveRequest, LeaveRequest_Action, ParticipantInfo_State, SyncState, TrackInfo,
  TrackPublishedResponse, TrackSource, TrackType, UpdateSubscription, ClientConfigSetting, ParticipantTracks,
  MuteTrackRequest, SignalResponse,
} from '@livekit/protocol';
import type { JoinResponse, ParticipantInfo, ReconnectResponse } from '@livekit/protocol';
import { waitFor } from '@atrium/webrtc/testing/wait-for.js';
import { FakeTrackSource } from '../rtc/fake-media.js';
import type { FakeParticipantMedia } from '../rtc/fake-media.js';
import { RESUME_TIMEOUT_MS } from '../rtc/participant.js';
import type { Participant } from '../rtc/participant.js';
import { SignalOutbox } from '../rtc/signal-outbox.js';
import { TestSignalClient, devToken, expectFullReconnect, isGone, isUpdate, startFakeSignalServer } from './test-signal-client.js';
import type { FakeSignalServer } from './test-signal-client.js';

const polling = { timeoutMs: 3000, intervalMs: 5 } as const;

let env: FakeSignalServer;
let roomSeq = 0;

before(async () => {
  env = await startFakeSignalServer();
});
after(() => env.close());

const newRoom = (): { roomJoin: true; room: string } => ({ roomJoin: true, room: `resume-${++roomSeq}` });

interface Room2 {
  room: string;
  video: { roomJoin: true; room: string };
  alice: TestSignalClient;
  bob: TestSignalClient;
  aliceSid: string;
  aliceMedia: FakeParticipantMedia;
}

/** alice and bob in a new room; alice's media connected (so it may resume). */
async function room2(opts: { connectMedia?: boolean } = {}): Promise<Room2> {
  const video = newRoom();
  const alice = await TestSignalClient.join(env.server.url, 'alice', '', video);
  const bob = await TestSignalClient.join(env.server.url, 'bob', '', video);
  env.clients.push(alice, bob);
  await alice.waitFor(isUpdate('bob'));
  const aliceSid = (alice.messages[0]!.value as JoinResponse).participant!.sid;
  const aliceMedia = env.fake.mediaOf('alice');
  if (opts.connectMedia !== false) {
    aliceMedia.emit('connectionState', { target: 1, state: 'connected' });
    await bob.waitFor(isUpdate('alice', (p) => p.state === ParticipantInfo_State.ACTIVE));
  }
  return { room: video.room, video, alice, bob, aliceSid, aliceMedia };
}

function participantOf(r: Room2): Participant | undefined {
  return env.server.rooms.getRoom(r.room)?.getParticipant(r.aliceSid);
}

async function dropSignal(r: Room2): Promise<void> {
  r.alice.close();
  await waitFor(() => participantOf(r)?.isAwaitingResume === true || participantOf(r) === undefined, { ...polling, label: 'the server saw the close' });
}

async function resume(r: Room2, identity = 'alice', sid = r.aliceSid): Promise<TestSignalClient> {
  const c = await TestSignalClient.connect(env.server.url, await devToken(identity, r.video), `&reconnect=1&sid=${sid}&reconnect_reason=1`);
  env.clients.push(c);
  return c;
}


test('a participant whose signal closes without a Leave is kept; a resume reattaches it with the same sid', async () => {
  const r = await room2();
  await dropSignal(r);
  const kept = participantOf(r);
  assert.ok(kept, 'still in the room');
  assert.equal(kept.isClosed, false);
  assert.equal(r.aliceMedia.closed, false, 'its media session goes on');

  // While away: bob publishes a camera. What alice would have been sent is kept.
  bobPublishes(r);
  await r.bob.waitFor((m) => m.case === 'trackPublished');
  const callsBefore = r.aliceMedia.callsOf('restartIce').length;

  const c = await resume(r);
  const first = await c.waitFor(() => true);
  assert.equal(first.case, 'reconnect', 'the ReconnectResponse comes first');
  const rr = first.value as ReconnectResponse;
  assert.equal(rr.clientConfiguration?.resumeConnection, ClientConfigSetting.ENABLED);
  assert.equal(rr.serverInfo?.protocol, 17);
  // What it missed: bob's update with the new track, then the snapshot of everyone (itself with the same sid).
  await c.waitFor(isUpdate('bob', (p) => p.tracks.length === 1));
  const snapshot = await c.waitFor((m) => m.case === 'update' && m.value.participants.length === 2);
  const infos = (snapshot.value as { participants: ParticipantInfo[] }).participants;
  assert.equal(infos.find((p) => p.identity === 'alice')?.sid, r.aliceSid);
  await c.waitFor((m) => m.case === 'roomUpdate');
  assert.ok(c.messages.findIndex((m) => m.case === 'update') > 0);
  assert.equal(c.messages.filter((m) => m.case === 'join').length, 0, 'no JoinResponse on a resume');
  await waitFor(() => r.aliceMedia.callsOf('restartIce').length === callsBefore + 1, { ...polling, label: 'subscriber ICE restart' });
  assert.equal(participantOf(r)?.resumes, 1);
  assert.equal(participantOf(r)?.isAwaitingResume, false);

  // The resumed connection carries requests as before, and bob never saw alice leave.
  c.send({ case: 'mute', value: new MuteTrackRequest({ sid: 'TR_none', muted: true }) });
  c.send({ case: 'leave', value: new LeaveRequest({ reason: DisconnectReason.CLIENT_INITIATED }) });
  await r.bob.waitFor(isGone('alice'));
  const goneUpdates = r.bob.messages.filter(isGone('alice'));
  assert.equal(goneUpdates.length, 1, 'bob saw alice leave once, when she left for real');
});

/** Advances the clock by `ms` in steps of at most 5 s, `client` pinging (and getting its pong) before each. */
async function advancePinging(ms: number, client: TestSignalClient): Promise<void> {
  let left = ms;
  let n = 0;
  while (left > 0) {
    const step = Math.min(5_000, left);
    const ts = BigInt(++n) + 1_000_000n;
    client.send({ case: 'ping', value: ts });
    await client.waitFor((m) => m.case === 'pong' && client.messages.filter((x) => x.case === 'pong').length >= n);
    env.clock.advance(step);
    left -= step;
  }
}

function bobPublishes(r: Room2, cid = 'bob-cam'): void {
  r.bob.send({ case: 'addTrack', value: new AddTrackRequest({ cid, name: 'cam', type: TrackType.VIDEO, source: TrackSource.CAMERA, width: 640, height: 480 }) });
  void r.bob.waitFor((m) => m.case === 'trackPublished' && m.value.cid === cid).then(() => {
    env.fake.mediaOf('bob').emit('trackPublished', { msidTrackId: cid, msidStreamId: 's', mid: '0', kind: 'video', mimeType: 'video/VP8', rids: [], source: new FakeTrackSource('video', 'video/VP8') });
  });
}

test('others see no disconnect while the participant is away', async () => {
  const r = await room2();
  await dropSignal(r);
  // A marker: bob's own update after alice's drop reached bob, so anything about alice would have too.
  env.fake.mediaOf('bob').emit('connectionState', { target: 1, state: 'connected' });
  await r.bob.waitFor(isUpdate('bob', (p) => p.state === ParticipantInfo_State.ACTIVE));
  assert.equal(r.bob.messages.filter(isGone('alice')).length, 0);
  assert.equal(env.server.rooms.getRoom(r.room)?.participantCount, 2);
});

test('no resume within the timeout: the participant leaves, a later resume gets a full reconnect', async () => {
  const r = await room2();
  await dropSignal(r);
  // bob pings as env.clients do, so only alice's resume window runs out.
  await advancePinging(RESUME_TIMEOUT_MS - 1, r.bob);
  assert.equal(participantOf(r)?.isClosed, false);
  await advancePinging(1, r.bob);
  await r.bob.waitFor(isGone('alice'));
  assert.equal(r.aliceMedia.closed, true);
  assert.equal(participantOf(r), undefined);
  await expectFullReconnect(await resume(r));
});

test('a PC that fails while the signal is down ends the participant', async () => {
  const r = await room2();
  await dropSignal(r);
  r.aliceMedia.emit('connectionState', { target: 1, state: 'failed' });
  await r.bob.waitFor(isGone('alice'));
  assert.equal(r.aliceMedia.closed, true);
});

test('a participant whose media never connected leaves when its signal closes (nothing to resume)', async () => {
  const r = await room2({ connectMedia: false });
  r.alice.close();
  await r.bob.waitFor(isGone('alice'));
  await expectFullReconnect(await resume(r));
});

test('resumes that cannot be honoured get a LeaveRequest RECONNECT and leave the participant as it was', async () => {
  const r = await room2();
  await dropSignal(r);
  await expectFullReconnect(await resume(r, 'alice', 'PA_unknown'));
  // Another identity's token naming alice's sid.
  await expectFullReconnect(await resume(r, 'mallory'));
  // No sid at all.
  const noSid = await TestSignalClient.connect(env.server.url, await devToken('alice', r.video), '&reconnect=1');
  env.clients.push(noSid);
  await expectFullReconnect(noSid);
  assert.equal(participantOf(r)?.isAwaitingResume, true, 'alice is still waiting for her own resume');
  // Her own resume still works.
  const c = await resume(r);
  const first = await c.waitFor(() => true);
  assert.equal(first.case, 'reconnect');
});

test('a resume while the old connection is still open replaces it; the old one no longer speaks for the participant', async () => {
  const r = await room2();
  const c = await resume(r);
  await c.waitFor((m) => m.case === 'reconnect');
  await r.alice.waitClosed();
  // The old socket's close did not end the participant.
  assert.equal(participantOf(r)?.isClosed, false);
  assert.equal(r.bob.messages.filter(isGone('alice')).length, 0);
  c.send({ case: 'leave', value: new LeaveRequest({ reason: DisconnectReason.CLIENT_INITIATED }) });
  await r.bob.waitFor(isGone('alice'));
});

test('SyncState: known published tracks and subscriptions are accepted; an unknown published track forces a full reconnect', async () => {
  const r = await room2();
  r.alice.send({ case: 'addTrack', value: new AddTrackRequest({ cid: 'a-cam', name: 'cam', type: TrackType.VIDEO, source: TrackSource.CAMERA, width: 640, height: 480 }) });
  const pub = await r.alice.waitFor((m) => m.case === 'trackPublished' && m.value.cid === 'a-cam');
  const track = (pub.value as TrackPublishedResponse).track!;
  await dropSignal(r);
  const c = await resume(r);
  await c.waitFor((m) => m.case === 'reconnect');
  c.send({
    case: 'syncState',
    value: new SyncState({
      publishTracks: [new TrackPublishedResponse({ cid: 'a-cam', track })],
      subscription: new UpdateSubscription({ subscribe: false, trackSids: ['TR_unsubscribed'], participantTracks: [new ParticipantTracks({ participantSid: 'PA_x', trackSids: ['TR_unsubscribed'] })] }),
    }),
  });
  // Still served: a ping round trip after the sync state.
  c.send({ case: 'ping', value: 7n });
  await c.waitFor((m) => m.case === 'pong');
  assert.equal(participantOf(r)?.isClosed, false);

  c.send({
    case: 'syncState',
    value: new SyncState({ publishTracks: [new TrackPublishedResponse({ cid: 'x', track: new TrackInfo({ sid: 'TR_notours', type: TrackType.AUDIO }) })] }),
  });
  const leave = await c.waitFor((m) => m.case === 'leave');
  assert.equal((leave.value as LeaveRequest).action, LeaveRequest_Action.RECONNECT);
  assert.equal((leave.value as LeaveRequest).reason, DisconnectReason.STATE_MISMATCH);
  await r.bob.waitFor(isGone('alice'));
});

test('SignalOutbox keeps messages in order, drops superseded ones, and refuses past its bound', () => {
  const box = new SignalOutbox({ maxMessages: 3 });
  const msg = (c: 'update' | 'offer' | 'trickle' | 'roomUpdate'): SignalResponse => new SignalResponse({ message: { case: c, value: {} } } as never);
  box.push(msg('update'));
  box.push(msg('offer'));
  box.push(msg('trickle'));
  box.push(msg('roomUpdate'));
  assert.deepEqual(box.drain().map((m) => m.message.case), ['update', 'roomUpdate']);
  assert.equal(box.size, 0);
  for (let i = 0; i < 4; i++) box.push(msg('update'));
  assert.equal(box.hasOverflowed, true);
  assert.equal(box.size, 0);
});

test('a participant whose outbox overflowed cannot resume', async () => {
  const r = await room2();
  await dropSignal(r);
  const p = participantOf(r)!;
  for (let i = 0; i < 5000; i++) p.send(new SignalResponse({ message: { case: 'refreshToken', value: `t${i}` } }));
  assert.match(p.resumeRefusal() ?? '', /too much/);
  await expectFullReconnect(await resume(r));
});

test('a client silent for the ping timeout loses its socket, not its place: it can resume', async () => {
  const r = await room2();
  // bob pings, alice's socket stays open but silent: after the 15 s ping timeout the server drops the socket only.
  await advancePinging(20_000, r.bob);
  await r.alice.waitClosed();
  await waitFor(() => participantOf(r)?.isAwaitingResume === true, { ...polling, label: 'alice waiting for a resume' });
  assert.equal(r.bob.messages.filter(isGone('alice')).length, 0);
  const c = await resume(r);
  await c.waitFor((m) => m.case === 'reconnect');
  assert.equal(participantOf(r)?.isAwaitingResume, false);
});
