// Signalling v0 over a real WebSocket against createServer with a fake media factory.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  SessionDescription, TrickleRequest, AddTrackRequest, MuteTrackRequest, LeaveRequest, Ping, DataPacket, UserPacket,
  ChatMessage, TrackType, TrackSource, ParticipantInfo_State, DisconnectReason, LeaveRequest_Action, ClientConfigSetting,
  DataPacket_Kind, SignalTarget as PbSignalTarget,
} from '@livekit/protocol';
import type { JoinResponse, ParticipantInfo, SignalResponse } from '@livekit/protocol';
import { silentLogger } from '@atrium/webrtc';
import { createServer } from '../create-server.js';
import type { AtriumServer } from '../create-server.js';
import { devConfig } from '../config/server-config.js';
import { FakeMediaFactory, FakeTrackSource } from '../rtc/fake-media.js';
import { TestSignalClient, expectFullReconnect } from './test-signal-client.js';
import type { Msg } from './test-signal-client.js';
import { waitFor } from '@atrium/webrtc/testing/wait-for.js';

/** Real-time waits in this file (signalling over a local WebSocket): 3 s at most, polled every 5 ms. */
const polling = { timeoutMs: 3000, intervalMs: 5 } as const;

let server: AtriumServer;
let fake: FakeMediaFactory;
let roomSeq = 0;

before(async () => {
  fake = new FakeMediaFactory();
  server = await createServer(devConfig({ port: 0, rtc: { udpPort: 0 } }), { mediaFactory: fake, logger: silentLogger });
});
after(async () => {
  await server.close();
});

const newRoom = (): { roomJoin: true; room: string } => ({ roomJoin: true, room: `room-${++roomSeq}` });
const joinOf = (c: TestSignalClient): JoinResponse => {
  const m = c.messages[0];
  assert.equal(m?.case, 'join');
  return m.value as JoinResponse;
};
const updatesFor = (c: TestSignalClient, identity: string): ParticipantInfo[] =>
  c.messages.flatMap((m) => (m.case === 'update' ? m.value.participants.filter((p) => p.identity === identity) : []));
const isUpdate = (identity: string, pred: (p: ParticipantInfo) => boolean = () => true) => (m: Msg): boolean =>
  m.case === 'update' && m.value.participants.some((p) => p.identity === identity && pred(p));

async function pair(): Promise<[TestSignalClient, TestSignalClient]> {
  const video = newRoom();
  const alice = await TestSignalClient.join(server.url, 'alice', '', video);
  const bob = await TestSignalClient.join(server.url, 'bob', '', video);
  await alice.waitFor(isUpdate('bob'));
  return [alice, bob];
}

/** alice publishes a camera track (AddTrackRequest + media) and returns its sid. */
async function publishCamera(alice: TestSignalClient, cid = 'cam-1'): Promise<{ sid: string; source: FakeTrackSource }> {
  alice.send({ case: 'addTrack', value: new AddTrackRequest({ cid, name: 'cam', type: TrackType.VIDEO, source: TrackSource.CAMERA, width: 640, height: 480 }) });
  const published = await alice.waitFor((m) => m.case === 'trackPublished' && m.value.cid === cid);
  const sid = (published.value as { track: { sid: string } }).track.sid;
  const source = new FakeTrackSource('video', 'video/VP8');
  fake.mediaOf('alice').emit('trackPublished', { msidTrackId: cid, msidStreamId: 'stream', mid: '0', kind: 'video', mimeType: 'video/VP8', rids: [], source });
  return { sid, source };
}

test('first frame is a JoinResponse with what clients need', async () => {
  const video = newRoom();
  const alice = await TestSignalClient.join(server.url, 'alice', '', video);
  const j = joinOf(alice);
  assert.match(j.room!.sid, /^RM_/);
  assert.equal(j.room!.name, video.room);
  assert.match(j.participant!.sid, /^PA_/);
  assert.equal(j.participant!.identity, 'alice');
  assert.equal(j.participant!.state, ParticipantInfo_State.JOINED);
  assert.equal(j.participant!.permission?.canPublish, true);
  assert.equal(j.participant!.permission?.canSubscribe, true);
  assert.deepEqual(j.otherParticipants, []);
  assert.equal(j.serverVersion, '1.13.7');
  assert.equal(j.serverInfo?.version, '1.13.7');
  assert.equal(j.serverInfo?.protocol, 17);
  assert.equal(j.serverInfo?.edition, 0);
  assert.equal(j.serverInfo?.nodeId, server.nodeId);
  assert.equal(j.subscriberPrimary, true);
  assert.equal(j.pingInterval, 5);
  assert.equal(j.pingTimeout, 15);
  assert.equal(j.clientConfiguration?.resumeConnection, ClientConfigSetting.ENABLED);
  assert.deepEqual(j.enabledPublishCodecs.map((c) => c.mime), ['audio/opus', 'audio/red', 'video/VP8', 'video/H264', 'video/VP9', 'video/AV1']);
  const media = fake.mediaOf('alice');
  await waitFor(() => media.callsOf('startSubscriber').length === 1, { ...polling, label: 'startSubscriber' });
  // The subscriber offer from media becomes SignalResponse.offer.
  media.emit('subscriberOffer', { sdp: 'v=0 sub', id: 1, midToTrackId: {} });
  const offer = await alice.waitFor((m) => m.case === 'offer');
  assert.deepEqual([(offer.value as SessionDescription).type, (offer.value as SessionDescription).sdp, (offer.value as SessionDescription).id], ['offer', 'v=0 sub', 1]);
  // A second participant sees the first in other_participants.
  const bob = await TestSignalClient.join(server.url, 'bob', '', video);
  assert.deepEqual(joinOf(bob).otherParticipants.map((p) => p.identity), ['alice']);
  assert.equal(joinOf(bob).room!.sid, j.room!.sid);
  await alice.waitFor(isUpdate('bob', (p) => p.state === ParticipantInfo_State.JOINED));
  alice.close();
  bob.close();
});

test('query parameters reach ParticipantInfo (client_protocol, capabilities)', async () => {
  const c = await TestSignalClient.join(server.url, 'rusty', '&client_protocol=1&capabilities=CAP_PACKET_TRAILER,CAP_BOGUS', newRoom());
  assert.equal(joinOf(c).participant!.clientProtocol, 1);
  assert.deepEqual(joinOf(c).participant!.capabilities, [1]);
  c.close();
});

test('canSubscribe false: publisher primary, no subscriber PC', async () => {
  const c = await TestSignalClient.join(server.url, 'viewer-less', '', { ...newRoom(), canSubscribe: false });
  assert.equal(joinOf(c).subscriberPrimary, false);
  assert.equal(fake.mediaOf('viewer-less').callsOf('startSubscriber').length, 0);
  c.close();
});

test('ping -> pong, ping_req -> pong_resp with the timestamp echoed', async () => {
  const c = await TestSignalClient.join(server.url, 'pinger', '', newRoom());
  const before = Date.now();
  c.send({ case: 'ping', value: 123n });
  c.send({ case: 'pingReq', value: new Ping({ timestamp: 456n, rtt: 10n }) });
  const pong = await c.waitFor((m) => m.case === 'pong');
  assert.ok(Number(pong.value) >= before - 1000 && Number(pong.value) < Date.now() + 1000, 'pong is server time in ms');
  const resp = await c.waitFor((m) => m.case === 'pongResp');
  assert.equal((resp.value as { lastPingTimestamp: bigint }).lastPingTimestamp, 456n);
  c.close();
});

test('publisher offer -> answer with the same id and mid_to_track_id', async () => {
  const c = await TestSignalClient.join(server.url, 'offerer', '', newRoom());
  fake.mediaOf('offerer').answerMidToTrackId = { '0': 'TR_x' };
  c.send({ case: 'offer', value: new SessionDescription({ type: 'offer', sdp: 'v=0 pub', id: 7 }) });
  const answer = (await c.waitFor((m) => m.case === 'answer')).value as SessionDescription;
  assert.equal(answer.type, 'answer');
  assert.equal(answer.id, 7);
  assert.equal(answer.sdp, 'answer-to:v=0 pub');
  assert.deepEqual(answer.midToTrackId, { '0': 'TR_x' });
  assert.deepEqual(fake.mediaOf('offerer').callsOf('handlePublisherOffer').map((x) => x.id), [7]);
  // Rust clients use id 0: echoed as 0.
  c.send({ case: 'offer', value: new SessionDescription({ type: 'offer', sdp: 'v=0 again', id: 0 }) });
  const a2 = (await c.waitFor((m) => m.case === 'answer' && m.value.sdp === 'answer-to:v=0 again')).value as SessionDescription;
  assert.equal(a2.id, 0);
  c.send({ case: 'answer', value: new SessionDescription({ type: 'answer', sdp: 'v=0 sub-answer', id: 1 }) });
  await waitFor(() => fake.mediaOf('offerer').callsOf('handleSubscriberAnswer').length === 1, { ...polling, label: 'the subscriber answer handed to media' });
  assert.deepEqual(fake.mediaOf('offerer').callsOf('handleSubscriberAnswer')[0], { method: 'handleSubscriberAnswer', sdp: 'v=0 sub-answer', id: 1 });
  c.close();
});

test('trickle in both directions', async () => {
  const c = await TestSignalClient.join(server.url, 'trickler', '', newRoom());
  const media = fake.mediaOf('trickler');
  const cand = '{"candidate":"candidate:1 1 udp 1 127.0.0.1 5000 typ host","sdpMid":"0","sdpMLineIndex":0}';
  c.send({ case: 'trickle', value: new TrickleRequest({ candidateInit: cand, target: PbSignalTarget.SUBSCRIBER }) });
  c.send({ case: 'trickle', value: new TrickleRequest({ candidateInit: cand, target: PbSignalTarget.PUBLISHER }) });
  await waitFor(() => media.callsOf('addRemoteCandidate').length === 2, { ...polling, label: 'both remote candidates handed to media' });
  assert.deepEqual(media.callsOf('addRemoteCandidate').map((x) => [x.candidateInit, x.target]), [[cand, 1], [cand, 0]]);
  media.emit('iceCandidate', { candidateInit: '{"candidate":"candidate:2 1 udp 2 127.0.0.1 7882 typ host"}', target: 1 });
  media.emit('iceCandidate', { candidateInit: '{"candidate":""}', target: 1 }); // end-of-candidates: not sent
  media.emit('iceCandidate', { candidateInit: '{"candidate":"candidate:3","sdpMid":"1","sdpMLineIndex":1}', target: 0 });
  const t1 = (await c.waitFor((m) => m.case === 'trickle' && m.value.target === 1)).value as TrickleRequest;
  assert.deepEqual(JSON.parse(t1.candidateInit), { candidate: 'candidate:2 1 udp 2 127.0.0.1 7882 typ host', sdpMid: '0', sdpMLineIndex: 0 });
  const t0 = (await c.waitFor((m) => m.case === 'trickle' && m.value.target === 0)).value as TrickleRequest;
  assert.deepEqual(JSON.parse(t0.candidateInit), { candidate: 'candidate:3', sdpMid: '1', sdpMLineIndex: 1 });
  assert.equal(c.messages.filter((m) => m.case === 'trickle').length, 2);
  c.close();
});

test('add_track -> TrackPublishedResponse; media -> update to others, then subscribe', async () => {
  const [alice, bob] = await pair();
  const bobMedia = fake.mediaOf('bob');
  // Like the real media, subscribe() renegotiates: its offer must reach bob after the update.
  bobMedia.on('subscriberOffer', () => {});
  const origSubscribe = bobMedia.subscribe.bind(bobMedia);
  bobMedia.subscribe = (source, opts) => {
    origSubscribe(source, opts);
    bobMedia.emit('subscriberOffer', { sdp: `sub-offer-${opts.trackSid}`, id: 2, midToTrackId: { '1': opts.trackSid } });
  };
  alice.send({ case: 'addTrack', value: new AddTrackRequest({ cid: 'cam-1', name: 'cam', type: TrackType.VIDEO, source: TrackSource.CAMERA, width: 640, height: 480 }) });
  const resp = (await alice.waitFor((m) => m.case === 'trackPublished')).value as { cid: string; track: { sid: string; type: number; source: number; name: string; width: number; height: number; codecs: { mimeType: string }[] } };
  assert.equal(resp.cid, 'cam-1');
  assert.match(resp.track.sid, /^TR_VC/);
  assert.equal(resp.track.type, TrackType.VIDEO);
  assert.equal(resp.track.source, TrackSource.CAMERA);
  assert.equal(resp.track.name, 'cam');
  assert.equal(resp.track.width, 640);
  assert.equal(resp.track.codecs[0]?.mimeType, 'video/VP8');
  assert.equal(bobMedia.callsOf('subscribe').length, 0, 'nothing to subscribe before media arrives');
  const source = new FakeTrackSource('video', 'video/VP8');
  fake.mediaOf('alice').emit('trackPublished', { msidTrackId: 'cam-1', msidStreamId: 's', mid: '2', kind: 'video', mimeType: 'video/VP8', rids: [], source });
  const sid = resp.track.sid;
  await bob.waitFor((m) => m.case === 'offer' && m.value.sdp === `sub-offer-${sid}`);
  const updateIdx = bob.messages.findIndex(isUpdate('alice', (p) => p.tracks.some((t) => t.sid === sid)));
  const offerIdx = bob.messages.findIndex((m) => m.case === 'offer' && m.value.sdp === `sub-offer-${sid}`);
  assert.ok(updateIdx >= 0 && updateIdx < offerIdx, 'ParticipantUpdate with the track precedes the subscriber offer');
  const track = updatesFor(bob, 'alice').at(-1)!.tracks[0]!;
  assert.equal(track.mid, '2');
  assert.equal(track.mimeType, 'video/VP8');
  const sub = bobMedia.callsOf('subscribe');
  assert.equal(sub.length, 1);
  assert.equal(sub[0]!.trackSid, sid);
  assert.equal(sub[0]!.publisherSid, joinOf(alice).participant!.sid);
  assert.equal(sub[0]!.source, source);
  assert.equal(fake.mediaOf('alice').callsOf('subscribe').length, 0, 'no self-subscription');
  // The publisher sees its own update too.
  await alice.waitFor(isUpdate('alice', (p) => p.tracks.length === 1));
  // A later joiner is subscribed to the existing track after its JoinResponse.
  const carol = await TestSignalClient.join(server.url, 'carol', '', { roomJoin: true, room: joinOf(alice).room!.name });
  assert.equal(joinOf(carol).otherParticipants.find((p) => p.identity === 'alice')?.tracks[0]?.sid, sid);
  const carolMedia = fake.mediaOf('carol');
  await waitFor(() => carolMedia.callsOf('subscribe').length === 1, { ...polling, label: 'carol subscribed' });
  assert.ok(carolMedia.calls.findIndex((c) => c.method === 'startSubscriber') < carolMedia.calls.findIndex((c) => c.method === 'subscribe'));
  // Unpublish: the m-line ends -> update without the track, everyone unsubscribed.
  fake.mediaOf('alice').emit('trackEnded', { mid: '2', msidTrackId: 'cam-1' });
  await bob.waitFor(isUpdate('alice', (p) => p.tracks.length === 0), { from: updateIdx + 1 });
  assert.deepEqual(bobMedia.callsOf('unsubscribe').map((c) => c.trackSid), [sid]);
  await waitFor(() => carolMedia.callsOf('unsubscribe').length === 1, { ...polling, label: 'carol unsubscribed' });
  for (const c of [alice, bob, carol]) c.close();
});

test('media before its AddTrackRequest waits and binds when the request comes', async () => {
  const [alice, bob] = await pair();
  const source = new FakeTrackSource('audio', 'audio/opus');
  fake.mediaOf('alice').emit('trackPublished', { msidTrackId: 'mic-1', msidStreamId: 's', mid: '0', kind: 'audio', mimeType: 'audio/opus', rids: [], source });
  alice.send({ case: 'addTrack', value: new AddTrackRequest({ cid: 'mic-1', type: TrackType.AUDIO, source: TrackSource.MICROPHONE, muted: true }) });
  await bob.waitFor(isUpdate('alice', (p) => p.tracks.length === 1 && p.tracks[0]!.muted));
  assert.deepEqual(source.mutedCalls, [true]);
  await waitFor(() => fake.mediaOf('bob').callsOf('subscribe').length === 1, { ...polling, label: 'bob subscribed to the track that waited' });
  alice.close();
  bob.close();
});

test('mute is broadcast and applied to the source', async () => {
  const [alice, bob] = await pair();
  const { sid, source } = await publishCamera(alice);
  await bob.waitFor(isUpdate('alice', (p) => p.tracks.length === 1));
  alice.send({ case: 'mute', value: new MuteTrackRequest({ sid, muted: true }) });
  await bob.waitFor(isUpdate('alice', (p) => p.tracks[0]?.muted === true));
  assert.deepEqual(source.mutedCalls, [true]);
  alice.send({ case: 'mute', value: new MuteTrackRequest({ sid, muted: false }) });
  await bob.waitFor(isUpdate('alice', (p) => p.tracks.length === 1 && p.tracks[0]?.muted === false), { from: bob.messages.findIndex(isUpdate('alice', (p) => p.tracks[0]?.muted === true)) + 1 });
  assert.deepEqual(source.mutedCalls, [true, false]);
  // Versions seen by bob for alice rise strictly.
  const versions = updatesFor(bob, 'alice').map((p) => p.version);
  for (let i = 1; i < versions.length; i++) assert.ok(versions[i]! > versions[i - 1]!, `versions ${versions.join(',')}`);
  assert.ok(versions.length >= 3);
  alice.close();
  bob.close();
});

test('data is stamped, honours destinations and keeps its kind', async () => {
  const video = newRoom();
  const alice = await TestSignalClient.join(server.url, 'alice', '', video);
  const bob = await TestSignalClient.join(server.url, 'bob', '', video);
  const carol = await TestSignalClient.join(server.url, 'carol', '', video);
  const muted = await TestSignalClient.join(server.url, 'nodata', '', { ...video, canPublishData: false });
  const [am, bm, cm] = [fake.mediaOf('alice'), fake.mediaOf('bob'), fake.mediaOf('carol')];
  const aliceSid = joinOf(alice).participant!.sid;
  const user = new DataPacket({ participantIdentity: 'spoofed', value: { case: 'user', value: new UserPacket({ payload: new Uint8Array([1, 2, 3]), topic: 't' }) } });
  am.emit('data', { payload: user.toBinary(), kind: 'reliable' });
  await waitFor(() => bm.callsOf('sendData').length === 1 && cm.callsOf('sendData').length === 1, { ...polling, label: 'the data at bob and carol' });
  assert.equal(am.callsOf('sendData').length, 0, 'not echoed to the sender');
  const got = DataPacket.fromBinary(bm.callsOf('sendData')[0]!.payload);
  assert.equal(bm.callsOf('sendData')[0]!.kind, 'reliable');
  assert.equal(got.participantIdentity, 'alice');
  assert.equal(got.participantSid, aliceSid);
  assert.equal(got.kind, DataPacket_Kind.RELIABLE);
  assert.equal(got.value.case, 'user');
  const up = got.value.value as UserPacket;
  assert.equal(up.participantIdentity, 'alice');
  assert.equal(up.participantSid, aliceSid);
  assert.deepEqual([...up.payload], [1, 2, 3]);
  // Destinations and lossy kind.
  const chat = new DataPacket({ destinationIdentities: ['carol'], value: { case: 'chatMessage', value: new ChatMessage({ id: 'x', message: 'hi' }) } });
  am.emit('data', { payload: chat.toBinary(), kind: 'lossy' });
  await waitFor(() => cm.callsOf('sendData').length === 2, { ...polling, label: 'the chat message at carol' });
  assert.equal(bm.callsOf('sendData').length, 1);
  assert.equal(cm.callsOf('sendData')[1]!.kind, 'lossy');
  assert.equal(DataPacket.fromBinary(cm.callsOf('sendData')[1]!.payload).kind, DataPacket_Kind.LOSSY);
  // Deprecated UserPacket destinations are honoured too.
  const old = new DataPacket({ value: { case: 'user', value: new UserPacket({ payload: new Uint8Array([9]), destinationIdentities: ['bob'] }) } });
  am.emit('data', { payload: old.toBinary(), kind: 'reliable' });
  await waitFor(() => bm.callsOf('sendData').length === 2, { ...polling, label: 'the UserPacket for bob' });
  assert.deepEqual(DataPacket.fromBinary(bm.callsOf('sendData')[1]!.payload).destinationIdentities, ['bob']);
  // Dropped: garbage, and a sender without canPublishData.
  am.emit('data', { payload: new Uint8Array([0xff, 0xff, 0xff]), kind: 'reliable' });
  fake.mediaOf('nodata').emit('data', { payload: user.toBinary(), kind: 'reliable' });
  // A marker packet after them proves they were dropped, not delayed.
  am.emit('data', { payload: new DataPacket({ destinationIdentities: ['bob'], value: { case: 'user', value: new UserPacket({ payload: new Uint8Array([7]) }) } }).toBinary(), kind: 'reliable' });
  await waitFor(() => bm.callsOf('sendData').length >= 3, { ...polling, label: 'the marker packet at bob' });
  assert.equal(bm.callsOf('sendData').length, 3);
  assert.deepEqual([...(DataPacket.fromBinary(bm.callsOf('sendData')[2]!.payload).value.value as UserPacket).payload], [7]);
  for (const c of [alice, bob, carol, muted]) c.close();
});

test('duplicate identity: the old session gets LeaveRequest DUPLICATE_IDENTITY, others see it disconnect', async () => {
  const [alice, bob] = await pair();
  const oldSid = joinOf(alice).participant!.sid;
  const oldMedia = fake.mediaOf('alice');
  const alice2 = await TestSignalClient.join(server.url, 'alice', '', { roomJoin: true, room: joinOf(alice).room!.name });
  const leave = (await alice.waitFor((m) => m.case === 'leave')).value as LeaveRequest;
  assert.equal(leave.reason, DisconnectReason.DUPLICATE_IDENTITY);
  assert.equal(leave.action, LeaveRequest_Action.DISCONNECT);
  await alice.waitClosed();
  assert.equal(oldMedia.closed, true);
  const gone = await bob.waitFor((m) => m.case === 'update' && m.value.participants.some((p) => p.sid === oldSid && p.state === ParticipantInfo_State.DISCONNECTED));
  assert.equal((gone.value as { participants: ParticipantInfo[] }).participants[0]!.disconnectReason, DisconnectReason.DUPLICATE_IDENTITY);
  const newSid = joinOf(alice2).participant!.sid;
  assert.notEqual(newSid, oldSid);
  await bob.waitFor((m) => m.case === 'update' && m.value.participants.some((p) => p.sid === newSid));
  assert.deepEqual(joinOf(alice2).otherParticipants.map((p) => p.identity), ['bob']);
  alice2.close();
  bob.close();
});

test('leave and socket close: others see DISCONNECTED, media closed', async () => {
  const [alice, bob] = await pair();
  const aliceMedia = fake.mediaOf('alice');
  alice.send({ case: 'leave', value: new LeaveRequest({ reason: DisconnectReason.CLIENT_INITIATED, action: LeaveRequest_Action.DISCONNECT }) });
  alice.close();
  const u = await bob.waitFor(isUpdate('alice', (p) => p.state === ParticipantInfo_State.DISCONNECTED));
  assert.equal((u.value as { participants: ParticipantInfo[] }).participants[0]!.disconnectReason, DisconnectReason.CLIENT_INITIATED);
  assert.equal(aliceMedia.closed, true);
  // Plain socket close without leave.
  const bobMedia = fake.mediaOf('bob');
  const carol = await TestSignalClient.join(server.url, 'carol', '', { roomJoin: true, room: joinOf(bob).room!.name });
  bob.ws.terminate();
  await carol.waitFor(isUpdate('bob', (p) => p.state === ParticipantInfo_State.DISCONNECTED));
  assert.equal(bobMedia.closed, true);
  carol.close();
});

test('reconnect=1 gets only LeaveRequest RECONNECT / STATE_MISMATCH', async () => {
  const c = await TestSignalClient.connect(server.url, (await import('./test-signal-client.js').then((m) => m.devToken('resumer', newRoom()))), '&reconnect=1&sid=PA_old');
  await expectFullReconnect(c);
});

test('ACTIVE when the primary PC connects; hidden participants stay invisible', async () => {
  const video = newRoom();
  const alice = await TestSignalClient.join(server.url, 'alice', '', video);
  const ghost = await TestSignalClient.join(server.url, 'ghost', '', { ...video, hidden: true });
  const bob = await TestSignalClient.join(server.url, 'bob', '', video);
  assert.deepEqual(joinOf(bob).otherParticipants.map((p) => p.identity), ['alice']);
  fake.mediaOf('alice').emit('connectionState', { target: 0, state: 'connected' }); // publisher: not primary
  fake.mediaOf('alice').emit('connectionState', { target: 1, state: 'connected' });
  await bob.waitFor(isUpdate('alice', (p) => p.state === ParticipantInfo_State.ACTIVE));
  fake.mediaOf('ghost').emit('connectionState', { target: 1, state: 'connected' });
  await ghost.waitFor(isUpdate('ghost', (p) => p.state === ParticipantInfo_State.ACTIVE));
  // Its media connected, so a bare close would keep it for a resume (resume.test.ts): it leaves.
  ghost.send({ case: 'leave', value: new LeaveRequest({ reason: DisconnectReason.CLIENT_INITIATED }) });
  ghost.close();
  await waitFor(() => fake.mediaOf('ghost').closed, { ...polling, label: 'the media of the hidden participant closed' });
  // A marker update proves ordering: nothing about the ghost reached bob before it.
  fake.mediaOf('bob').emit('connectionState', { target: 1, state: 'connected' });
  await bob.waitFor(isUpdate('bob', (p) => p.state === ParticipantInfo_State.ACTIVE));
  assert.equal(updatesFor(bob, 'ghost').length, 0);
  assert.equal(updatesFor(alice, 'ghost').length, 0);
  alice.close();
  bob.close();
});

test('bad frames: text or undecodable -> LeaveRequest and close; others keep working', async () => {
  const [alice, bob] = await pair();
  alice.ws.send('{"offer":{}}');
  const leave = (await alice.waitFor((m) => m.case === 'leave')).value as LeaveRequest;
  assert.equal(leave.action, LeaveRequest_Action.DISCONNECT);
  await alice.waitClosed();
  await bob.waitFor(isUpdate('alice', (p) => p.state === ParticipantInfo_State.DISCONNECTED));
  bob.ws.send(new Uint8Array([0x0a, 0xff, 0xff, 0xff, 0xff, 0xff]));
  await bob.waitFor((m) => m.case === 'leave');
  await bob.waitClosed();
  // An offer the media side cannot apply ends that session with a leave too.
  const dave = await TestSignalClient.join(server.url, 'dave', '', newRoom());
  dave.send({ case: 'offer', value: new SessionDescription({ type: 'offer', sdp: 'not sdp', id: 3 }) });
  assert.equal(((await dave.waitFor((m) => m.case === 'leave')).value as LeaveRequest).reason, DisconnectReason.STATE_MISMATCH);
  await dave.waitClosed();
  // Unknown / empty requests are ignored, not fatal.
  const carol = await TestSignalClient.join(server.url, 'carol', '', newRoom());
  carol.ws.send(new Uint8Array(0));
  carol.send({ case: 'ping', value: 1n });
  await carol.waitFor((m: SignalResponse['message']) => m.case === 'pong');
  assert.equal(carol.closed, false);
  carol.close();
});

test('auto_subscribe=0: no automatic subscription', async () => {
  const video = newRoom();
  const alice = await TestSignalClient.join(server.url, 'alice', '', video);
  const bob = await TestSignalClient.join(server.url, 'bob', '&auto_subscribe=0', video);
  const { sid } = await publishCamera(alice);
  await bob.waitFor(isUpdate('alice', (p) => p.tracks.some((t) => t.sid === sid)));
  assert.equal(fake.mediaOf('bob').callsOf('subscribe').length, 0);
  alice.close();
  bob.close();
});

test('a throwing media call is contained; the session keeps working', async () => {
  const c = await TestSignalClient.join(server.url, 'thrower', '', newRoom());
  const media = fake.mediaOf('thrower');
  media.addRemoteCandidate = () => {
    throw new Error('boom');
  };
  media.on('connectionState', () => {
    throw new Error('listener boom');
  });
  c.send({ case: 'trickle', value: new TrickleRequest({ candidateInit: '{}', target: PbSignalTarget.PUBLISHER }) });
  media.emit('connectionState', { target: 1, state: 'connected' });
  await c.waitFor(isUpdate('thrower', (p) => p.state === ParticipantInfo_State.ACTIVE));
  c.send({ case: 'ping', value: 5n });
  await c.waitFor((m) => m.case === 'pong');
  c.send({ case: 'offer', value: new SessionDescription({ type: 'offer', sdp: 'v=0 after', id: 4 }) });
  assert.equal(((await c.waitFor((m) => m.case === 'answer')).value as SessionDescription).id, 4);
  assert.equal(c.closed, false);
  c.close();
});
