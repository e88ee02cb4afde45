// Subscription rules at room level over real signalling with fake media: auto_subscribe=0 with explicit
// UpdateSubscription, TRACK_NOTFOUND, TrackSubscribed to the publisher, SubscriptionPermission (by identity and
// sid, revoke and grant) on every subscription path, and bad permission messages.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  AddTrackRequest, SessionDescription, UpdateSubscription, ParticipantTracks, SubscriptionPermission, TrackPermission,
  SubscriptionError, TrackType, TrackSource,
} from '@livekit/protocol';
import type { SignalRequest, SubscriptionPermissionUpdate, SubscriptionResponse } from '@livekit/protocol';
import { silentLogger } from '@atrium/webrtc';
import { createServer } from '../create-server.js';
import type { AtriumServer } from '../create-server.js';
import { devConfig } from '../config/server-config.js';
import { FakeMediaFactory, FakeTrackSource } from './fake-media.js';
import { TestSignalClient } from '../signal/test-signal-client.js';
import type { Msg } from '../signal/test-signal-client.js';
import type { VideoGrant } from '@atrium/protocol';

let server: AtriumServer;
let fake: FakeMediaFactory;
let roomSeq = 0;
let barrierId = 1000;

before(async () => {
  fake = new FakeMediaFactory();
  server = await createServer(devConfig({ port: 0, rtc: { udpPort: 0 } }), { mediaFactory: fake, logger: silentLogger });
});
after(async () => {
  await server.close();
});

const newRoom = (): { roomJoin: true; room: string } => ({ roomJoin: true, room: `subs-${++roomSeq}` });

/** Waits until every request `c` sent so far has been handled: an offer goes through the same queue. */
async function settle(...clients: TestSignalClient[]): Promise<void> {
  for (const c of clients) {
    const id = ++barrierId;
    c.send({ case: 'offer', value: new SessionDescription({ type: 'offer', sdp: 'v=0 barrier', id }) });
    await c.waitFor((m) => m.case === 'answer' && m.value.id === id);
  }
}

async function publish(c: TestSignalClient, identity: string, cid: string, kind: 'audio' | 'video'): Promise<string> {
  const isVideo = kind === 'video';
  c.send({
    case: 'addTrack',
    value: new AddTrackRequest({ cid, name: cid, type: isVideo ? TrackType.VIDEO : TrackType.AUDIO, source: isVideo ? TrackSource.CAMERA : TrackSource.MICROPHONE }),
  });
  const published = await c.waitFor((m) => m.case === 'trackPublished' && m.value.cid === cid);
  const sid = (published.value as { track: { sid: string } }).track.sid;
  const mimeType = isVideo ? 'video/VP8' : 'audio/opus';
  const source = new FakeTrackSource(kind, mimeType);
  fake.mediaOf(identity).emit('trackPublished', { msidTrackId: cid, msidStreamId: 's', mid: cid, kind, mimeType, rids: [], source });
  return sid;
}

/** The subscriber's media reports that its answer bound (or refused) the subscription's m-line. */
const bind = (identity: string, trackSid: string, error?: 'codec_unsupported'): void => {
  fake.mediaOf(identity).emit('subscriptionBound', { trackSid, error });
};

const subscribedSids = (identity: string): string[] => {
  const m = fake.mediaOf(identity);
  const now = new Set<string>();
  for (const c of m.calls) {
    if (c.method === 'subscribe') now.add(c.trackSid);
    if (c.method === 'unsubscribe') now.delete(c.trackSid);
  }
  return [...now].sort();
};
const permissionUpdates = (c: TestSignalClient): SubscriptionPermissionUpdate[] =>
  c.messages.flatMap((m) => (m.case === 'subscriptionPermissionUpdate' ? [m.value] : []));
const trackSubscribed = (c: TestSignalClient): string[] => c.messages.flatMap((m) => (m.case === 'trackSubscribed' ? [m.value.trackSid] : []));
const sees = (sid: string) => (m: Msg): boolean => m.case === 'update' && m.value.participants.some((p) => p.tracks.some((t) => t.sid === sid));

function subscription(trackSids: string[], subscribe: boolean): SignalRequest['message'] {
  // As livekit-client sends it: both track_sids and participant_tracks (with an empty participant sid).
  return {
    case: 'subscription',
    value: new UpdateSubscription({ trackSids, subscribe, participantTracks: [new ParticipantTracks({ participantSid: '', trackSids })] }),
  };
}

/** Joins and becomes ACTIVE (its primary, subscriber PC connects) unless `active` is false. */
async function join(identity: string, video: VideoGrant, query = '', active = true): Promise<TestSignalClient> {
  const c = await TestSignalClient.join(server.url, identity, query, video);
  if (active) fake.mediaOf(identity).emit('connectionState', { target: 1, state: 'connected' });
  return c;
}

test('auto_subscribe=0: announced, not subscribed; UpdateSubscription subscribes and unsubscribes; TrackSubscribed once', async () => {
  const video = newRoom();
  const alice = await join('alice', video);
  const bob = await join('bob', video, '&auto_subscribe=0');
  const cam = await publish(alice, 'alice', 'cam', 'video');
  const mic = await publish(alice, 'alice', 'mic', 'audio');
  await bob.waitFor(sees(mic));
  await settle(alice, bob);
  assert.deepEqual(subscribedSids('bob'), [], 'nothing subscribed before bob asks');
  assert.deepEqual(trackSubscribed(alice), []);

  bob.send(subscription([cam], true));
  await settle(bob, alice);
  assert.deepEqual(subscribedSids('bob'), [cam]);
  assert.deepEqual(trackSubscribed(alice), [], 'not before the subscriber has answered');
  bind('bob', cam);
  await alice.waitFor((m) => m.case === 'trackSubscribed' && m.value.trackSid === cam);
  assert.deepEqual(permissionUpdates(bob), [], 'no permission message while everything is allowed');

  bob.send(subscription([cam], false));
  bob.send(subscription([mic, cam], true));
  await settle(bob);
  bind('bob', cam);
  bind('bob', mic);
  await settle(alice);
  assert.deepEqual(subscribedSids('bob'), [cam, mic].sort());
  assert.deepEqual(fake.mediaOf('bob').callsOf('unsubscribe').map((c) => c.trackSid), [cam]);
  assert.deepEqual(trackSubscribed(alice).sort(), [cam, mic].sort(), 'TrackSubscribed once per track, on its first subscriber');
  assert.deepEqual(server.rooms.getRoom(video.room)?.subscriptionRules.wantedBy(server.rooms.getRoom(video.room)!.getParticipantByIdentity('bob')!).sort(), [cam, mic].sort());
  alice.close();
  bob.close();
});

test('a subscription to a track that does not exist gets SubscriptionResponse TRACK_NOTFOUND', async () => {
  const video = newRoom();
  const alice = await join('alice', video);
  const bob = await join('bob', video, '&auto_subscribe=0');
  const cam = await publish(alice, 'alice', 'cam', 'video');
  await bob.waitFor(sees(cam));
  bob.send(subscription(['TR_VCnothere'], true));
  const resp = (await bob.waitFor((m) => m.case === 'subscriptionResponse')).value as SubscriptionResponse;
  assert.equal(resp.trackSid, 'TR_VCnothere');
  assert.equal(resp.err, SubscriptionError.SE_TRACK_NOTFOUND);
  // Its own track is not something to subscribe to either; unsubscribing from unknown tracks is silent.
  alice.send(subscription([cam], true));
  const own = (await alice.waitFor((m) => m.case === 'subscriptionResponse')).value as SubscriptionResponse;
  assert.equal(own.trackSid, cam);
  bob.send(subscription(['TR_VCnothere'], false));
  await settle(bob, alice);
  assert.equal(bob.messages.filter((m) => m.case === 'subscriptionResponse').length, 1);
  assert.deepEqual(subscribedSids('alice'), []);
  alice.close();
  bob.close();
});

test('SubscriptionPermission: denied auto-subscribers are told and not subscribed; revoke unsubscribes; grant subscribes', async () => {
  const video = newRoom();
  const alice = await join('alice', video);
  const bob = await join('bob', video);
  const carol = await join('carol', video);
  const bobSid = server.rooms.getRoom(video.room)!.getParticipantByIdentity('bob')!.sid;
  const aliceSid = server.rooms.getRoom(video.room)!.getParticipantByIdentity('alice')!.sid;
  // Only bob (named by sid) may subscribe, and only to the camera.
  alice.send({
    case: 'subscriptionPermission',
    value: new SubscriptionPermission({ allParticipants: false, trackPermissions: [new TrackPermission({ participantSid: bobSid, trackSids: [] })] }),
  });
  await settle(alice);
  const cam = await publish(alice, 'alice', 'cam', 'video');
  const mic = await publish(alice, 'alice', 'mic', 'audio');
  await settle(alice, bob, carol);
  assert.deepEqual(subscribedSids('bob'), [], 'bob is listed but with no track');
  assert.deepEqual(subscribedSids('carol'), []);
  assert.deepEqual(permissionUpdates(carol).map((u) => [u.participantSid, u.trackSid, u.allowed]), [[aliceSid, cam, false], [aliceSid, mic, false]]);

  alice.send({
    case: 'subscriptionPermission',
    value: new SubscriptionPermission({ trackPermissions: [new TrackPermission({ participantIdentity: 'bob', trackSids: [cam] })] }),
  });
  await settle(alice, bob, carol);
  assert.deepEqual(subscribedSids('bob'), [cam]);
  assert.deepEqual(permissionUpdates(bob).map((u) => [u.trackSid, u.allowed]), [[cam, false], [mic, false], [cam, true]]);
  assert.equal(permissionUpdates(carol).length, 2, 'carol: nothing changed, nothing told');
  bind('bob', cam);
  await settle(alice);
  assert.deepEqual(trackSubscribed(alice), [cam]);

  // Revoke while subscribed: bob is told and unsubscribed.
  alice.send({ case: 'subscriptionPermission', value: new SubscriptionPermission({ allParticipants: false }) });
  await settle(alice, bob);
  assert.deepEqual(subscribedSids('bob'), []);
  assert.deepEqual(permissionUpdates(bob).slice(3).map((u) => [u.trackSid, u.allowed]), [[cam, false]]);

  // Everyone allowed again: both are told and subscribed to both tracks.
  alice.send({ case: 'subscriptionPermission', value: new SubscriptionPermission({ allParticipants: true }) });
  await settle(alice, bob, carol);
  assert.deepEqual(subscribedSids('bob'), [cam, mic].sort());
  assert.deepEqual(subscribedSids('carol'), [cam, mic].sort());
  assert.deepEqual(permissionUpdates(carol).slice(2).map((u) => [u.trackSid, u.allowed]).sort(), [[cam, true], [mic, true]].sort());
  alice.close();
  bob.close();
  carol.close();
});

test('permissions hold for explicit requests and RoomService UpdateSubscriptions; a renewed request repeats the denial', async () => {
  const video = newRoom();
  const alice = await join('alice', video);
  const bob = await join('bob', video, '&auto_subscribe=0');
  const cam = await publish(alice, 'alice', 'cam', 'video');
  alice.send({ case: 'subscriptionPermission', value: new SubscriptionPermission({ allParticipants: false }) });
  await settle(alice, bob);
  assert.deepEqual(permissionUpdates(bob), [], 'bob does not want the track: nothing to tell');

  bob.send(subscription([cam], true));
  await settle(bob);
  assert.deepEqual(permissionUpdates(bob).map((u) => u.allowed), [false]);
  bob.send(subscription([cam], true));
  await settle(bob);
  assert.deepEqual(permissionUpdates(bob).map((u) => u.allowed), [false, false], 'asked again: told again');

  const room = server.rooms.getRoom(video.room)!;
  const bobP = room.getParticipantByIdentity('bob')!;
  bob.send(subscription([cam], false));
  await settle(bob);
  room.updateSubscriptions(bobP, [cam], true); // RoomService path
  await settle(bob);
  assert.deepEqual(subscribedSids('bob'), []);
  assert.deepEqual(permissionUpdates(bob).map((u) => u.allowed), [false, false, false]);

  // Granted later: the wanted subscription happens.
  alice.send({
    case: 'subscriptionPermission',
    value: new SubscriptionPermission({ trackPermissions: [new TrackPermission({ participantIdentity: 'bob', allTracks: true })] }),
  });
  await settle(alice, bob);
  assert.deepEqual(permissionUpdates(bob).map((u) => u.allowed), [false, false, false, true]);
  assert.deepEqual(subscribedSids('bob'), [cam]);
  alice.close();
  bob.close();
});

test('permission updates wait until the subscriber is ACTIVE (livekit-client drops them before)', async () => {
  const video = newRoom();
  const alice = await join('alice', video);
  const cam = await publish(alice, 'alice', 'cam', 'video');
  alice.send({ case: 'subscriptionPermission', value: new SubscriptionPermission({ allParticipants: false }) });
  await settle(alice);
  const bob = await join('bob', video, '', false);
  await settle(bob);
  assert.deepEqual(permissionUpdates(bob), []);
  assert.deepEqual(subscribedSids('bob'), []);
  fake.mediaOf('bob').emit('connectionState', { target: 1, state: 'connected' });
  const update = (await bob.waitFor((m) => m.case === 'subscriptionPermissionUpdate')).value as SubscriptionPermissionUpdate;
  assert.deepEqual([update.trackSid, update.allowed], [cam, false]);
  alice.close();
  bob.close();
});

test('canSubscribe revoked and restored keeps what was wanted; hidden subscribers do not trigger TrackSubscribed', async () => {
  const video = newRoom();
  const alice = await join('alice', video);
  const bob = await join('bob', video);
  const ghost = await join('ghost', { ...video, hidden: true });
  const cam = await publish(alice, 'alice', 'cam', 'video');
  await settle(alice, bob, ghost);
  assert.deepEqual(subscribedSids('ghost'), [cam]);
  assert.deepEqual(subscribedSids('bob'), [cam]);
  bind('ghost', cam);
  await settle(alice);
  assert.deepEqual(trackSubscribed(alice), [], 'a hidden subscriber does not count');
  bind('bob', cam);
  await settle(alice);
  assert.deepEqual(trackSubscribed(alice), [cam]);
  const room = server.rooms.getRoom(video.room)!;
  const bobP = room.getParticipantByIdentity('bob')!;
  const perm = bobP.snapshot().permission!;
  room.setParticipantPermission(bobP, Object.assign(perm.clone(), { canSubscribe: false }));
  assert.deepEqual(subscribedSids('bob'), []);
  room.setParticipantPermission(bobP, Object.assign(perm.clone(), { canSubscribe: true }));
  assert.deepEqual(subscribedSids('bob'), [cam]);
  bind('bob', cam);
  await settle(alice);
  assert.deepEqual(trackSubscribed(alice), [cam], 'still once');
  alice.close();
  bob.close();
  ghost.close();
});

test('a bad SubscriptionPermission keeps the old rules and the session', async () => {
  const video = newRoom();
  const alice = await join('alice', video);
  const bob = await join('bob', video);
  const cam = await publish(alice, 'alice', 'cam', 'video');
  await settle(alice, bob);
  assert.deepEqual(subscribedSids('bob'), [cam]);
  alice.send({ case: 'subscriptionPermission', value: new SubscriptionPermission({ trackPermissions: [new TrackPermission({ allTracks: true })] }) });
  await settle(alice, bob);
  assert.deepEqual(subscribedSids('bob'), [cam]);
  assert.equal(alice.closed, false);
  // Unpublishing forgets the track: a later request for it is TRACK_NOTFOUND.
  fake.mediaOf('alice').emit('trackEnded', { mid: 'cam', msidTrackId: 'cam' });
  await bob.waitFor((m) => m.case === 'update' && m.value.participants.some((p) => p.identity === 'alice' && p.tracks.length === 0));
  assert.deepEqual(subscribedSids('bob'), []);
  bob.send(subscription([cam], true));
  await bob.waitFor((m) => m.case === 'subscriptionResponse' && m.value.trackSid === cam);
  alice.close();
  bob.close();
});

test('a subscriber that cannot decode the codec gets SubscriptionResponse CODEC_UNSUPPORTED and is unsubscribed', async () => {
  const video = newRoom();
  const alice = await join('alice', video);
  const bob = await join('bob', video);
  const cam = await publish(alice, 'alice', 'cam', 'video');
  await settle(alice, bob);
  assert.deepEqual(subscribedSids('bob'), [cam]);
  bind('bob', cam, 'codec_unsupported');
  const resp = (await bob.waitFor((m) => m.case === 'subscriptionResponse')).value as SubscriptionResponse;
  assert.deepEqual([resp.trackSid, resp.err], [cam, SubscriptionError.SE_CODEC_UNSUPPORTED]);
  assert.deepEqual(subscribedSids('bob'), []);
  const room = server.rooms.getRoom(video.room)!;
  assert.deepEqual(room.subscriptionRules.wantedBy(room.getParticipantByIdentity('bob')!), [], 'no longer wanted');
  await settle(alice);
  assert.deepEqual(trackSubscribed(alice), []);
  alice.close();
  bob.close();
});

test("a hidden publisher's tracks: a hidden recorder (the WHIP transcoder) may subscribe; others get TRACK_NOTFOUND and nothing", async () => {
  const room = newRoom();
  const source = await join('source', { ...room, hidden: true });
  const viewer = await join('viewer', room, '&auto_subscribe=0');
  const ghost = await join('ghost', { ...room, hidden: true }, '&auto_subscribe=0');
  const recorder = await join('recorder', { ...room, hidden: true, recorder: true }, '&auto_subscribe=0');
  const cam = await publish(source, 'source', 'cam', 'video');
  await settle(source);
  for (const c of [viewer, ghost, recorder]) c.send({ case: 'subscription', value: new UpdateSubscription({ trackSids: [cam], subscribe: true }) });
  await settle(viewer, ghost, recorder);
  assert.deepEqual(subscribedSids('recorder'), [cam], 'the hidden recorder is subscribed');
  assert.deepEqual(subscribedSids('viewer'), []);
  assert.deepEqual(subscribedSids('ghost'), [], 'hidden without the recorder grant: not subscribed');
  for (const c of [viewer, ghost]) {
    const resp = (await c.waitFor((m) => m.case === 'subscriptionResponse' && m.value.trackSid === cam)).value as SubscriptionResponse;
    assert.equal(resp.err, SubscriptionError.SE_TRACK_NOTFOUND);
  }
  for (const c of [source, viewer, ghost, recorder]) c.close();
});
