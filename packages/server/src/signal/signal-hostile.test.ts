// Hostile signal requests over a real WebSocket (fake media): oversized and odd metadata, floods, subscription and
// permission requests naming thousands or unknown sids, bad AddTrackRequests, requests after leave, the requests we
// ignore, and a client that never reads. Each must be answered or ignored without errors, and others keep working.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  AddTrackRequest, TrackType, TrackSource, Ping, UpdateParticipantMetadata, UpdateSubscription, SubscriptionPermission,
  TrackPermission, ParticipantTracks, LeaveRequest, RequestResponse_Reason, SubscriptionError, SimulateScenario, SyncState,
  UpdateTrackSettings, UpdateVideoLayers, DisconnectReason, SimulcastCodec, VideoLayer, VideoQuality, ParticipantInfo_State, DataPacket, SignalRequest, SessionDescription, MuteTrackRequest,
} from '@livekit/protocol';
import type { CandidateProtocol, RequestResponse, SignalResponse } from '@livekit/protocol';
import type { WebSocket } from 'ws';
import { waitFor } from '@atrium/webrtc/testing/wait-for.js';
import { createServer } from '../create-server.js';
import type { AtriumServer } from '../create-server.js';
import { devConfig } from '../config/server-config.js';
import { FakeMediaFactory, FakeTrackSource } from '../rtc/fake-media.js';
import { MAX_PENDING_TRACKS } from '../rtc/participant-publications.js';
import { TestSignalClient } from './test-signal-client.js';
import type { Msg } from './test-signal-client.js';
import { errorLogger } from './error-logger.js';
import { RandomMessages } from './random-message.js';
import type { MessageTypeLike } from './random-message.js';
import { webSocketSink, MAX_SIGNAL_BUFFERED_BYTES, MAX_QUEUED_REQUESTS } from './signal-session.js';

const polling = { timeoutMs: 3000, intervalMs: 5 } as const;
let server: AtriumServer;
let fake: FakeMediaFactory;
const logger = errorLogger();
let roomSeq = 0;

before(async () => {
  fake = new FakeMediaFactory();
  server = await createServer(devConfig({ port: 0, rtc: { udpPort: 0 }, room: { departureTimeoutSec: 0 } }), { mediaFactory: fake, logger });
});
after(async () => {
  await server.close();
});

interface Trio {
  victim: TestSignalClient;
  watcher: TestSignalClient;
  room: string;
}

/** A hostile client and a watcher in a fresh room; the test ends with the watcher served and nothing logged as an error. */
async function trio(t: { after(fn: () => unknown): void }, grant: Record<string, unknown> = {}): Promise<Trio> {
  const room = `hostile-${++roomSeq}`;
  const watcher = await TestSignalClient.join(server.url, 'watcher', '', { roomJoin: true, room });
  const victim = await TestSignalClient.join(server.url, 'hostile', '', { roomJoin: true, room, canUpdateOwnMetadata: true, ...grant });
  await watcher.waitFor(isUpdate('hostile'));
  t.after(() => {
    victim.close();
    watcher.close();
  });
  return { victim, watcher, room };
}

const isUpdate = (identity: string, pred: (p: { metadata: string; state: ParticipantInfo_State; attributes: Record<string, string> }) => boolean = () => true) => (m: Msg): boolean =>
  m.case === 'update' && m.value.participants.some((p) => p.identity === identity && pred(p));
const responses = (c: TestSignalClient): RequestResponse[] => c.messages.filter((m) => m.case === 'requestResponse').map((m) => m.value as RequestResponse);

async function assertServed(c: TestSignalClient, label: string): Promise<void> {
  const from = c.messages.length;
  const ts = BigInt(Date.now()) * 1000n + BigInt(from);
  c.send({ case: 'pingReq', value: new Ping({ timestamp: ts }) });
  await c.waitFor((m) => m.case === 'pongResp' && m.value.lastPingTimestamp === ts, { from }).catch(() => assert.fail(`${label}: no pong`));
  assert.deepEqual(logger.errors, [], `${label}: errors logged`);
}

async function publish(c: TestSignalClient, identity: string, cid: string): Promise<string> {
  c.send({ case: 'addTrack', value: new AddTrackRequest({ cid, type: TrackType.VIDEO, source: TrackSource.CAMERA }) });
  const published = await c.waitFor((m) => m.case === 'trackPublished' && m.value.cid === cid);
  const source = new FakeTrackSource('video', 'video/VP8');
  fake.mediaOf(identity).emit('trackPublished', { msidTrackId: cid, msidStreamId: 's', mid: cid, kind: 'video', mimeType: 'video/VP8', rids: [], source });
  return (published.value as { track: { sid: string } }).track.sid;
}

test('updateMetadata: too big is LIMIT_EXCEEDED, invalid UTF-8 and thousands of attributes are taken', async (t) => {
  const { victim, watcher } = await trio(t);
  victim.send({ case: 'updateMetadata', value: new UpdateParticipantMetadata({ metadata: 'm'.repeat(512 * 1024 + 1), requestId: 1 }) });
  victim.send({ case: 'updateMetadata', value: new UpdateParticipantMetadata({ name: 'é'.repeat(129), requestId: 2 }) });
  const manyAttributes: Record<string, string> = {};
  for (let i = 0; i < 5000; i++) manyAttributes[`k${i}`] = 'v';
  victim.send({ case: 'updateMetadata', value: new UpdateParticipantMetadata({ attributes: manyAttributes, requestId: 3 }) });
  // metadata (field 1) = bytes ff fe 41, not UTF-8: decoded with replacement characters, like any lenient decoder.
  victim.ws.send(new Uint8Array([0x7a, 7, 0x0a, 3, 0xff, 0xfe, 0x41, 0x20, 4]));
  await victim.waitFor(() => responses(victim).length >= 4);
  assert.deepEqual(responses(victim).map((r) => [r.requestId, RequestResponse_Reason[r.reason]]), [[1, 'LIMIT_EXCEEDED'], [2, 'LIMIT_EXCEEDED'], [3, 'OK'], [4, 'OK']]);
  await watcher.waitFor(isUpdate('hostile', (p) => Object.keys(p.attributes).length === 5000 && p.metadata === '\ufffd\ufffdA'));
  await assertServed(watcher, 'watcher');
});

test('a flood of updateMetadata (not rate-limited, as LiveKit) is applied in order without starving the others', async (t) => {
  const { victim, watcher } = await trio(t);
  const attributes: Record<string, string> = {};
  for (let i = 0; i < 1000; i++) attributes[`key-${i}`] = `value-${i}`;
  victim.send({ case: 'updateMetadata', value: new UpdateParticipantMetadata({ attributes, requestId: 1 }) });
  await watcher.waitFor(isUpdate('hostile', (p) => Object.keys(p.attributes).length === 1000));
  const FLOOD = 300;
  for (let i = 0; i < FLOOD; i++) victim.send({ case: 'updateMetadata', value: new UpdateParticipantMetadata({ metadata: `flood-${i}`, requestId: 10 + i }) });
  const from = watcher.messages.length;
  watcher.send({ case: 'pingReq', value: new Ping({ timestamp: 77n }) });
  await watcher.waitFor(isUpdate('hostile', (p) => p.metadata === `flood-${FLOOD - 1}`), { from, timeoutMs: 10_000 });
  const rest = watcher.messages.slice(from);
  const pongAt = rest.findIndex((m) => m.case === 'pongResp' && m.value.lastPingTimestamp === 77n);
  const lastAt = rest.findIndex(isUpdate('hostile', (p) => p.metadata === `flood-${FLOOD - 1}`));
  // Before: the whole flood ran in one event-loop turn and the watcher's ping waited behind it.
  assert.ok(pongAt >= 0 && pongAt < lastAt, `the watcher's pong came at ${pongAt}, the end of the flood at ${lastAt}`);
  const metadataSeen = rest.flatMap((m) => (m.case === 'update' ? m.value.participants.filter((p) => p.identity === 'hostile').map((p) => p.metadata) : []));
  assert.deepEqual(metadataSeen, Array.from({ length: FLOOD }, (_, i) => `flood-${i}`), 'every update, in order');
  await assertServed(victim, 'after the flood');
});

test('subscription: thousands of sids, unknown and own tracks get TRACK_NOTFOUND; others unaffected', async (t) => {
  const { victim, watcher } = await trio(t);
  const own = await publish(victim, 'hostile', 'own-cam');
  const theirs = await publish(watcher, 'watcher', 'w-cam');
  const sids = Array.from({ length: 5000 }, (_, i) => `TR_unknown${i}`);
  victim.send({
    case: 'subscription',
    value: new UpdateSubscription({ trackSids: [...sids, own, '', theirs], subscribe: true, participantTracks: [new ParticipantTracks({ participantSid: 'PA_nobody', trackSids: ['TR_x', own] })] }),
  });
  await victim.waitFor(() => victim.messages.filter((m) => m.case === 'subscriptionResponse').length >= 5003, { timeoutMs: 5000 });
  const notFound = victim.messages.filter((m) => m.case === 'subscriptionResponse' && m.value.err === SubscriptionError.SE_TRACK_NOTFOUND);
  assert.equal(notFound.length, 5003, 'each distinct unknown sid, the empty sid and the own track, once');
  assert.ok(notFound.some((m) => (m.value as { trackSid: string }).trackSid === own), 'own track: not found as a subscription target');
  await waitFor(() => fake.mediaOf('hostile').callsOf('subscribe').some((c) => c.trackSid === theirs), { ...polling, label: 'the real track subscribed' });
  // Unsubscribing thousands of unknown sids answers nothing and changes nothing.
  const before = victim.messages.length;
  victim.send({ case: 'subscription', value: new UpdateSubscription({ trackSids: sids, subscribe: false }) });
  await assertServed(victim, 'after unsubscribing unknown sids');
  assert.equal(victim.messages.slice(before).filter((m) => m.case === 'subscriptionResponse').length, 0);
  await assertServed(watcher, 'watcher');
});

test('subscriptionPermission: thousands of entries, empty identities and unknown sids keep the server sane', async (t) => {
  const { victim, watcher } = await trio(t);
  await publish(victim, 'hostile', 'perm-cam');
  const entries = Array.from({ length: 5000 }, (_, i) => new TrackPermission({ participantIdentity: `someone-${i}`, trackSids: [`TR_${i}`, 'TR_other'] }));
  victim.send({ case: 'subscriptionPermission', value: new SubscriptionPermission({ allParticipants: false, trackPermissions: entries }) });
  // Entries with neither identity nor sid: refused as a whole (the previous rules stay).
  victim.send({ case: 'subscriptionPermission', value: new SubscriptionPermission({ allParticipants: false, trackPermissions: [new TrackPermission({ allTracks: true })] }) });
  // Unknown sids are skipped; the watcher is allowed again by allParticipants.
  victim.send({ case: 'subscriptionPermission', value: new SubscriptionPermission({ trackPermissions: [new TrackPermission({ participantSid: 'PA_ghost', allTracks: true })] }) });
  victim.send({ case: 'subscriptionPermission', value: new SubscriptionPermission({ allParticipants: true, trackPermissions: entries }) });
  await assertServed(victim, 'permissions');
  await waitFor(() => fake.mediaOf('watcher').callsOf('subscribe').length >= 1, { ...polling, label: 'the watcher subscribed again under allParticipants' });
  await assertServed(watcher, 'watcher');
});

test('a client that queues requests faster than they are handled is disconnected; others unaffected', async (t) => {
  const { victim, watcher } = await trio(t);
  const mute = new SignalRequest({ message: { case: 'mute', value: new MuteTrackRequest({ sid: 'TR_unknown', muted: true }) } }).toBinary();
  // Sent straight on the socket in one go: far more than the queue holds before one turn of the loop.
  for (let i = 0; i < MAX_QUEUED_REQUESTS * 3; i++) victim.ws.send(mute);
  const leave = await victim.waitFor((m) => m.case === 'leave', { timeoutMs: 5000 });
  assert.equal((leave.value as LeaveRequest).reason, DisconnectReason.STATE_MISMATCH);
  await victim.waitClosed();
  await watcher.waitFor(isUpdate('hostile', (p) => p.state === ParticipantInfo_State.DISCONNECTED));
  await assertServed(watcher, 'watcher');
});

test('AddTrackRequest: data and unknown types UNSUPPORTED_TYPE, unknown backup-codec sid NOT_FOUND, more than 20 pending LIMIT_EXCEEDED', async (t) => {
  const { victim, watcher } = await trio(t);
  victim.send({ case: 'addTrack', value: new AddTrackRequest({ cid: 'd', type: TrackType.DATA }) });
  victim.send({ case: 'addTrack', value: new AddTrackRequest({ cid: 'u', type: 99 as TrackType }) });
  victim.send({ case: 'addTrack', value: new AddTrackRequest({ cid: 'b', sid: 'TR_nothere', type: TrackType.VIDEO }) });
  // Only codecs this server does not forward (h265, a made-up one): refused naming them, not published.
  victim.send({ case: 'addTrack', value: new AddTrackRequest({
    cid: 'h', type: TrackType.VIDEO, simulcastCodecs: [new SimulcastCodec({ codec: 'h265', cid: 'h' }), new SimulcastCodec({ codec: 'constructor' })],
  }) });
  for (let i = 0; i < 500; i++) victim.send({ case: 'addTrack', value: new AddTrackRequest({ cid: `flood-${i}`, name: 'x'.repeat(1000), type: TrackType.AUDIO }) });
  // A cid already pending is answered with its track, not refused.
  victim.send({ case: 'addTrack', value: new AddTrackRequest({ cid: 'flood-0', type: TrackType.AUDIO }) });
  await victim.waitFor(() => responses(victim).length >= 4 + 500 - MAX_PENDING_TRACKS && victim.messages.filter((m) => m.case === 'trackPublished').length >= MAX_PENDING_TRACKS + 1);
  const reasons = responses(victim).map((r) => RequestResponse_Reason[r.reason]);
  assert.deepEqual(reasons.slice(0, 4), ['UNSUPPORTED_TYPE', 'UNSUPPORTED_TYPE', 'NOT_FOUND', 'UNSUPPORTED_TYPE']);
  assert.match(responses(victim)[3]!.message, /codec h265, constructor is not supported by this server \(enabled: video\/VP8, video\/H264, video\/VP9, video\/AV1\)/);
  assert.deepEqual(new Set(reasons.slice(4)), new Set(['LIMIT_EXCEEDED']));
  assert.equal(reasons.length, 4 + 500 - MAX_PENDING_TRACKS);
  const published = victim.messages.filter((m) => m.case === 'trackPublished').map((m) => (m.value as { cid: string }).cid);
  assert.deepEqual(published.slice(-1), ['flood-0']);
  await assertServed(watcher, 'watcher');
});

test('the requests we ignore, odd pings and mutes of unknown tracks are harmless', async (t) => {
  const { victim, watcher } = await trio(t);
  const sends: SignalRequest['message'][] = [
    // Scenarios that end the session (node failure, server leave...) are tested in scenario-simulator.test.ts.
    { case: 'simulate', value: new SimulateScenario({ scenario: { case: 'subscriberBandwidth', value: -1n } }) },
    { case: 'simulate', value: new SimulateScenario({ scenario: { case: 'speakerUpdate', value: -2147483648 } }) },
    { case: 'simulate', value: new SimulateScenario({ scenario: { case: 'switchCandidateProtocol', value: 99 as CandidateProtocol } }) },
    { case: 'simulate', value: new SimulateScenario({ scenario: { case: 'disconnectSignalOnResume', value: false } }) },
    { case: 'syncState', value: new SyncState({ answer: new SessionDescription({ sdp: 'garbage' }), trackSidsDisabled: ['TR_x'] }) },
    { case: 'trackSetting', value: new UpdateTrackSettings({ trackSids: ['TR_x', ''], width: 4294967295, height: 4294967295, fps: 1e9, priority: 4294967295 }) },
    { case: 'updateLayers', value: new UpdateVideoLayers({ trackSid: 'TR_x', layers: [new VideoLayer({ quality: 99 as VideoQuality, width: 4294967295 })] }) },
    { case: 'mute', value: new MuteTrackRequest({ sid: 'TR_unknown', muted: true }) },
    { case: 'mute', value: new MuteTrackRequest({ sid: '', muted: false }) },
    { case: undefined },
  ];
  for (const message of sends) victim.ws.send(new SignalRequest({ message }).toBinary());
  for (const timestamp of [0n, -1n, 2n ** 63n - 1n, -(2n ** 63n)]) {
    victim.send({ case: 'pingReq', value: new Ping({ timestamp, rtt: -5n }) });
    await victim.waitFor((m) => m.case === 'pongResp' && m.value.lastPingTimestamp === timestamp);
  }
  victim.send({ case: 'ping', value: -(2n ** 63n) });
  await victim.waitFor((m) => m.case === 'pong');
  await assertServed(victim, 'victim');
  await assertServed(watcher, 'watcher');
  assert.equal(victim.closed, false);
});

test('requests after leave change nothing; the watcher sees one departure', async (t) => {
  const { victim, watcher } = await trio(t);
  const frames = [
    new SignalRequest({ message: { case: 'leave', value: new LeaveRequest({ reason: 0 }) } }),
    new SignalRequest({ message: { case: 'updateMetadata', value: new UpdateParticipantMetadata({ metadata: 'after-leave', requestId: 9 }) } }),
    new SignalRequest({ message: { case: 'addTrack', value: new AddTrackRequest({ cid: 'late', type: TrackType.AUDIO }) } }),
    new SignalRequest({ message: { case: 'subscription', value: new UpdateSubscription({ trackSids: ['TR_x'], subscribe: true }) } }),
    new SignalRequest({ message: { case: 'subscriptionPermission', value: new SubscriptionPermission({ allParticipants: true }) } }),
    new SignalRequest({ message: { case: 'ping', value: 1n } }),
  ];
  for (const f of frames) victim.ws.send(f.toBinary());
  await watcher.waitFor(isUpdate('hostile', (p) => p.state === ParticipantInfo_State.DISCONNECTED));
  await assertServed(watcher, 'watcher');
  assert.equal(watcher.messages.filter(isUpdate('hostile', (p) => p.state === ParticipantInfo_State.DISCONNECTED)).length, 1);
  assert.equal(watcher.messages.some(isUpdate('hostile', (p) => p.metadata === 'after-leave')), false);
  assert.equal(victim.messages.some((m) => m.case === 'trackPublished' || m.case === 'requestResponse' || m.case === 'subscriptionResponse'), false);
});

test('a client that never reads its signal connection is disconnected once 32 MiB wait for it', () => {
  const sent: number[] = [];
  let terminated = 0;
  const ws = {
    OPEN: 1,
    readyState: 1,
    bufferedAmount: 0,
    send: (b: Uint8Array) => void sent.push(b.length),
    terminate: () => void (terminated += 1),
    close: () => {},
  };
  const sink = webSocketSink(ws as unknown as WebSocket);
  const msg = { toBinary: () => new Uint8Array(10) } as unknown as SignalResponse;
  sink.send(msg);
  ws.bufferedAmount = MAX_SIGNAL_BUFFERED_BYTES; // at the bound: still sent
  sink.send(msg);
  assert.deepEqual([sent.length, terminated], [2, 0]);
  ws.bufferedAmount = 1024 * 1024 * 1024; // far behind (before the fix: queued without end)
  sink.send(msg);
  assert.deepEqual([sent.length, terminated], [2, 1]);
});

test('random and garbage data packets from a publisher are delivered or dropped, never thrown (seeded)', async (t) => {
  const { victim, watcher } = await trio(t);
  const victimSid = ((victim.messages[0]?.value as { participant?: { sid: string } }).participant?.sid) ?? '';
  const rm = new RandomMessages(20261121, { pool: ['watcher', 'hostile', victimSid, 'nobody'], maxEntries: 500, maxStringLength: 4096 });
  const media = fake.mediaOf('hostile');
  const before = fake.mediaOf('watcher').callsOf('sendData').length;
  let valid = 0;
  for (let i = 0; i < 1500; i++) {
    let payload: Uint8Array;
    if (rm.chance(0.2)) {
      payload = new Uint8Array(rm.int(300)).map(() => rm.int(256));
    } else {
      payload = rm.message(DataPacket as unknown as MessageTypeLike<DataPacket>).toBinary();
      valid++;
    }
    media.emit('data', { payload, kind: rm.chance(0.5) ? 'reliable' : 'lossy' });
  }
  await assertServed(watcher, 'after the data packets');
  const delivered = fake.mediaOf('watcher').callsOf('sendData').length - before;
  assert.ok(delivered > 0 && delivered <= valid, `${delivered} of ${valid} decodable packets delivered`);
  for (const call of fake.mediaOf('watcher').callsOf('sendData').slice(before)) {
    const pkt = DataPacket.fromBinary(call.payload);
    assert.equal(pkt.participantIdentity, 'hostile', 'stamped with the real sender');
  }
});

test('everything is released after the hostile sessions', async () => {
  await waitFor(() => {
    const r = server.resources();
    return r.rooms === 0 && r.sessions === 0;
  }, { ...polling, label: 'everything released', describe: () => JSON.stringify(server.resources()) });
  assert.deepEqual(logger.errors, []);
});
