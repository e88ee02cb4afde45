// Compatibility: subscription control with unmodified livekit-client 2.23 pages: connect with autoSubscribe
// false, publication.setSubscribed(true/false) with media flowing and stopping, LocalTrackSubscribed on the
// publisher, SubscriptionResponse TRACK_NOTFOUND, and setTrackSubscriptionPermissions (deny, revoke, grant).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { useAtriumAndBrowser } from './helpers/suite.js';
import type { BrowserParticipant, LocalPublicationInfo, PageEvent } from './helpers/browser-participant.js';
import { RoomServiceClient } from 'livekit-server-sdk';
import { DEV_API_KEY, DEV_API_SECRET, type AtriumUnderTest } from './helpers/server.js';
import { createStepRunner } from './helpers/steps.js';
import { waitFor } from '@atrium/webrtc/testing/wait-for.js';

const MEDIA_TIMEOUT_MS = 20_000;
const EVENT_TIMEOUT_MS = 10_000;
const CONNECT_TIMEOUT_MS = 35_000;
/** livekit-client's SubscriptionError.SE_TRACK_NOTFOUND. */
const SE_TRACK_NOTFOUND = 2;
/** livekit-client's SubscriptionError.SE_CODEC_UNSUPPORTED. */
const SE_CODEC_UNSUPPORTED = 1;

const suite = useAtriumAndBrowser();

interface RemotePublicationRow {
  participant: string;
  trackSid: string;
  source: string;
  kind: string;
  isDesired: boolean;
  isSubscribed: boolean;
  subscriptionStatus: string;
  permissionStatus: string;
}

function sidOf(pubs: LocalPublicationInfo[], source: string): string {
  const sid = pubs.find((p) => p.source === source)?.trackSid;
  assert.ok(sid, `a local ${source} publication`);
  return sid;
}

/** Track sids `identity` is subscribed to on the server (what Atrium forwards to it). */
function serverSubscriptions(srv: AtriumUnderTest, roomName: string, identity: string): string[] {
  const p = srv.server.rooms.getRoom(roomName)?.getParticipantByIdentity(identity);
  return p ? [...p.subscriptions].sort() : [];
}

function waitForServerSubscriptions(srv: AtriumUnderTest, roomName: string, identity: string, expected: string[]): Promise<true> {
  const want = [...expected].sort();
  return waitFor(() => JSON.stringify(serverSubscriptions(srv, roomName, identity)) === JSON.stringify(want), {
    label: `${identity} subscribed on the server to exactly [${want.join(', ')}]`,
    timeoutMs: EVENT_TIMEOUT_MS,
    describe: () => `server subscriptions of ${identity}: [${serverSubscriptions(srv, roomName, identity).join(', ')}]`,
  });
}

function waitForEventOf(
  viewer: BrowserParticipant,
  type: string,
  fields: Partial<PageEvent>,
  fromIndex = 0,
  timeoutMs = EVENT_TIMEOUT_MS,
): Promise<PageEvent> {
  const entries = Object.entries(fields);
  return viewer.waitForEvent((e) => e.type === type && entries.every(([k, v]) => e[k] === v), {
    label: `${type} ${JSON.stringify(fields)}`,
    timeoutMs,
    fromIndex,
  });
}

async function decodesCamera(viewer: BrowserParticipant, publisher: string, moreThanFrames: number): Promise<void> {
  await viewer.waitForStats(
    (rows) => rows.find((r) => r.participant === publisher && r.source === 'camera'),
    (r) => r.subscribed && r.framesDecoded > moreThanFrames && r.frameWidth > 0,
    { label: `${publisher}'s camera decoding (> ${moreThanFrames} frames)`, timeoutMs: MEDIA_TIMEOUT_MS },
  );
}

test('autoSubscribe false: tracks are announced, setSubscribed(true/false) starts and stops media; LocalTrackSubscribed; TRACK_NOTFOUND', { timeout: 120_000 }, async (t) => {
  const { server: srv, browser: harness } = suite.started();
  const run = createStepRunner({ scenario: 'subscriptions.test.ts (autoSubscribe)', logs: () => harness.logs() });
  const roomName = `subs-auto-${Date.now()}`;
  const [a, b] = await run.step('open pages A and B', () => Promise.all([harness.openParticipant('A'), harness.openParticipant('B')]));

  const pubs = await run.step('A (alice) connects and publishes camera and microphone', async () => {
    await a.connect(srv.url, await srv.token({ identity: 'alice', room: roomName }));
    return a.enableCameraAndMicrophone();
  });
  const cam = sidOf(pubs, 'camera');
  const mic = sidOf(pubs, 'microphone');

  await run.step('B (bob) connects with autoSubscribe: false and sees both tracks announced, none subscribed', async () => {
    await b.callWithin(CONNECT_TIMEOUT_MS, 'connect', srv.url, await srv.token({ identity: 'bob', room: roomName }), {}, { autoSubscribe: false });
    // Tracks present at join come in the JoinResponse (no TrackPublished event): read the publications.
    const rows = await waitFor(
      async () => {
        const got = await b.call<RemotePublicationRow[]>('remotePublications');
        return got.length === 2 ? got : undefined;
      },
      { label: "[B] alice's two publications", timeoutMs: EVENT_TIMEOUT_MS },
    );
    assert.deepEqual(rows.map((r) => [r.trackSid, r.isSubscribed, r.subscriptionStatus]).sort(), [[cam, false, 'unsubscribed'], [mic, false, 'unsubscribed']].sort());
    assert.deepEqual(serverSubscriptions(srv, roomName, 'bob'), []);
    assert.equal((await b.events()).some((e) => e.type === 'trackSubscribed'), false);
    assert.equal((await a.events()).some((e) => e.type === 'localTrackSubscribed'), false, 'no subscriber yet');
  });

  await run.step("B setSubscribed(true) on A's camera: TrackSubscribed, frames decode; A gets LocalTrackSubscribed", async () => {
    await b.call('setSubscribed', cam, true);
    await waitForEventOf(b, 'trackSubscribed', { participant: 'alice', trackSid: cam }, 0, MEDIA_TIMEOUT_MS);
    await waitForEventOf(a, 'localTrackSubscribed', { trackSid: cam, source: 'camera' });
    await decodesCamera(b, 'alice', 10);
    await waitForServerSubscriptions(srv, roomName, 'bob', [cam]);
    assert.equal((await a.events()).some((e) => e.type === 'localTrackSubscribed' && e.trackSid === mic), false, 'the microphone has no subscriber');
  });

  await run.step('B setSubscribed(false): TrackUnsubscribed, nothing forwarded any more', async () => {
    const from = await b.eventCount();
    await b.call('setSubscribed', cam, false);
    await waitForEventOf(b, 'trackUnsubscribed', { participant: 'alice', trackSid: cam }, from);
    await waitForServerSubscriptions(srv, roomName, 'bob', []);
  });

  await run.step('B setSubscribed(true) again: subscribed again and decoding', async () => {
    const from = await b.eventCount();
    await b.call('setSubscribed', cam, true);
    await waitForEventOf(b, 'trackSubscribed', { participant: 'alice', trackSid: cam }, from, MEDIA_TIMEOUT_MS);
    await decodesCamera(b, 'alice', 10);
    await waitForServerSubscriptions(srv, roomName, 'bob', [cam]);
  });

  await run.step('an UpdateSubscription for a track that does not exist gets SubscriptionResponse TRACK_NOTFOUND', async () => {
    await b.call('requestSubscription', ['TR_VCdoesnotexist'], true);
    const event = await waitForEventOf(b, 'subscriptionResponse', { trackSid: 'TR_VCdoesnotexist' });
    assert.equal(event['err'], SE_TRACK_NOTFOUND);
    await waitForServerSubscriptions(srv, roomName, 'bob', [cam]);
  });

  await Promise.all([a.disconnect(), b.disconnect()]).catch(() => undefined);
  await Promise.all([a.close(), b.close()]);
  t.diagnostic(`steps:\n${run.history()}`);
});

test('setTrackSubscriptionPermissions: denied subscribers are told, revoking unsubscribes, granting subscribes', { timeout: 120_000 }, async (t) => {
  const { server: srv, browser: harness } = suite.started();
  const run = createStepRunner({ scenario: 'subscriptions.test.ts (permissions)', logs: () => harness.logs() });
  const roomName = `subs-perm-${Date.now()}`;
  const [a, b, c] = await run.step('open pages A, B and C', () => Promise.all([harness.openParticipant('A'), harness.openParticipant('B'), harness.openParticipant('C')]));

  const pubs = await run.step('A (alice) connects and publishes camera and microphone', async () => {
    await a.connect(srv.url, await srv.token({ identity: 'alice', room: roomName }));
    return a.enableCameraAndMicrophone();
  });
  const cam = sidOf(pubs, 'camera');
  const mic = sidOf(pubs, 'microphone');

  await run.step('B (bob) connects and is subscribed to both tracks', async () => {
    await b.connect(srv.url, await srv.token({ identity: 'bob', room: roomName }));
    await Promise.all([cam, mic].map((sid) => waitForEventOf(b, 'trackSubscribed', { participant: 'alice', trackSid: sid }, 0, MEDIA_TIMEOUT_MS)));
    await decodesCamera(b, 'alice', 10);
  });

  await run.step("A allows only carol, and only the microphone: B is told (not_allowed) and unsubscribed", async () => {
    const from = await b.eventCount();
    await a.call('setTrackSubscriptionPermissions', false, [{ participantIdentity: 'carol', allowedTrackSids: [mic] }]);
    for (const sid of [cam, mic]) {
      await waitForEventOf(b, 'trackSubscriptionPermissionChanged', { trackSid: sid, status: 'not_allowed' }, from);
      await waitForEventOf(b, 'trackUnsubscribed', { participant: 'alice', trackSid: sid }, from);
    }
    await waitForServerSubscriptions(srv, roomName, 'bob', []);
    const rows = await b.call<RemotePublicationRow[]>('remotePublications');
    assert.deepEqual(rows.map((r) => [r.trackSid, r.permissionStatus, r.isSubscribed]).sort(), [[cam, 'not_allowed', false], [mic, 'not_allowed', false]].sort());
  });

  await run.step('C (carol) joins: subscribed to the microphone only, told the camera is not allowed', async () => {
    await c.connect(srv.url, await srv.token({ identity: 'carol', room: roomName }));
    await waitForEventOf(c, 'trackSubscribed', { participant: 'alice', trackSid: mic }, 0, MEDIA_TIMEOUT_MS);
    // The denial arrives while the room is still connecting, when livekit-client updates the publication but
    // does not emit room events (emitWhenConnected): read the publication's permission status.
    await waitFor(
      async () => (await c.call<RemotePublicationRow[]>('remotePublications')).some((r) => r.trackSid === cam && r.permissionStatus === 'not_allowed'),
      { label: "[C] alice's camera publication not_allowed", timeoutMs: EVENT_TIMEOUT_MS },
    );
    await waitForServerSubscriptions(srv, roomName, 'carol', [mic]);
    assert.equal((await c.events()).some((e) => e.type === 'trackSubscribed' && e.trackSid === cam), false);
  });

  await run.step('RoomService UpdateSubscriptions (livekit-server-sdk) cannot subscribe B past the permission', async () => {
    const api = new RoomServiceClient(srv.httpUrl, DEV_API_KEY, DEV_API_SECRET);
    await api.updateSubscriptions(roomName, 'bob', [cam, mic], true);
    await api.updateSubscriptions(roomName, 'carol', [cam], true);
    // The server applies UpdateSubscriptions before it answers: the state is final here.
    assert.deepEqual(serverSubscriptions(srv, roomName, 'bob'), []);
    assert.deepEqual(serverSubscriptions(srv, roomName, 'carol'), [mic]);
  });

  await run.step('A allows everyone: B and C are told (allowed), subscribed, and decode the camera', async () => {
    const fromB = await b.eventCount();
    const fromC = await c.eventCount();
    await a.call('setTrackSubscriptionPermissions', true, []);
    for (const sid of [cam, mic]) {
      await waitForEventOf(b, 'trackSubscriptionPermissionChanged', { trackSid: sid, status: 'allowed' }, fromB);
      await waitForEventOf(b, 'trackSubscribed', { participant: 'alice', trackSid: sid }, fromB, MEDIA_TIMEOUT_MS);
    }
    await waitForEventOf(c, 'trackSubscriptionPermissionChanged', { trackSid: cam, status: 'allowed' }, fromC);
    await waitForEventOf(c, 'trackSubscribed', { participant: 'alice', trackSid: cam }, fromC, MEDIA_TIMEOUT_MS);
    await Promise.all([decodesCamera(b, 'alice', 10), decodesCamera(c, 'alice', 10)]);
    await waitForServerSubscriptions(srv, roomName, 'bob', [cam, mic]);
    await waitForServerSubscriptions(srv, roomName, 'carol', [cam, mic]);
  });

  await Promise.all([a.disconnect(), b.disconnect(), c.disconnect()]).catch(() => undefined);
  await Promise.all([a.close(), b.close(), c.close()]);
  t.diagnostic(`steps:\n${run.history()}`);
});

test('a browser that cannot decode the codec gets TrackSubscriptionFailed (CODEC_UNSUPPORTED); other tracks flow', { timeout: 120_000 }, async (t) => {
  const { server: srv, browser: harness } = suite.started();
  const run = createStepRunner({ scenario: 'subscriptions.test.ts (codec)', logs: () => harness.logs() });
  const roomName = `subs-codec-${Date.now()}`;
  const [a, b] = await run.step('open pages A and B', () => Promise.all([harness.openParticipant('A'), harness.openParticipant('B')]));

  const pubs = await run.step('A (alice) connects and publishes a VP8 camera and a microphone', async () => {
    await a.connect(srv.url, await srv.token({ identity: 'alice', room: roomName }));
    return a.enableCameraAndMicrophone();
  });
  const cam = sidOf(pubs, 'camera');
  const mic = sidOf(pubs, 'microphone');

  await run.step('B (bob), whose browser refuses VP8, connects: the camera fails with CODEC_UNSUPPORTED, the microphone plays', async () => {
    await b.call('refuseCodecs', ['VP8']);
    await b.connect(srv.url, await srv.token({ identity: 'bob', room: roomName }));
    const failed = await waitForEventOf(b, 'trackSubscriptionFailed', { participant: 'alice', trackSid: cam }, 0, MEDIA_TIMEOUT_MS);
    assert.equal(failed.reason, String(SE_CODEC_UNSUPPORTED));
    await waitForEventOf(b, 'trackSubscribed', { participant: 'alice', trackSid: mic }, 0, MEDIA_TIMEOUT_MS);
    await b.waitForStats(
      (rows) => rows.find((r) => r.trackSid === mic),
      (r) => r.packetsReceived > 50,
      { label: "alice's microphone packets", timeoutMs: MEDIA_TIMEOUT_MS },
    );
    await waitForServerSubscriptions(srv, roomName, 'bob', [mic]);
    assert.equal((await b.events()).some((e) => e.type === 'trackSubscribed' && e.trackSid === cam), false);
  });

  await Promise.all([a.disconnect(), b.disconnect()]).catch(() => undefined);
  await Promise.all([a.close(), b.close()]);
  t.diagnostic(`steps:\n${run.history()}`);
});
