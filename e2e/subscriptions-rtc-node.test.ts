// Compatibility: subscription control with unmodified @livekit/rtc-node 1.1: Y connects with autoSubscribe false,
// sees X's tone announced but unsubscribed, subscribes with publication.setSubscribed(true) and hears 440 Hz (X gets
// LocalTrackSubscribed), then unsubscribes with setSubscribed(false) and Atrium stops forwarding.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { RoomEvent, TrackKind, type LocalTrack, type RemoteTrackPublication, type Room } from '@livekit/rtc-node';
import { connectRtcNode, publishSineTone, readAudioWindow, type RunningPublisher, teardownRtcNode } from './helpers/rtc-node.js';
import { startAtrium, type AtriumUnderTest } from './helpers/server.js';
import { createStepRunner } from './helpers/steps.js';
import { dominantFrequency } from './helpers/tone.js';
import { waitFor, withTimeout } from '@atrium/webrtc/testing/wait-for.js';

const SAMPLE_RATE = 48_000;
const TONE_HZ = 440;
const WAIT_MS = 15_000;

let server: AtriumUnderTest | undefined;
const rooms: Room[] = [];
const publishers: RunningPublisher[] = [];
const logLines: string[] = [];

before(async () => {
  server = await withTimeout(startAtrium(), 15_000, 'Atrium to start');
});

after(() =>
  teardownRtcNode({
    publishers,
    rooms,
    also: [{ what: 'closing Atrium', work: () => server?.close() ?? Promise.resolve() }],
  }),
);

function serverSubscriptions(srv: AtriumUnderTest, roomName: string, identity: string): string[] {
  const p = srv.server.rooms.getRoom(roomName)?.getParticipantByIdentity(identity);
  return p ? [...p.subscriptions].sort() : [];
}

test('rtc-node with autoSubscribe false subscribes and unsubscribes with setSubscribed', { timeout: 90_000 }, async (t) => {
  assert.ok(server, 'server started');
  const srv = server;
  const run = createStepRunner({ scenario: 'subscriptions-rtc-node.test.ts', logs: () => logLines });
  const roomName = `subs-rtc-node-${Date.now()}`;
  const subscribedLocally: string[] = [];

  const x = await run.step('X connects and publishes a 440 Hz tone', async () => {
    const room = await connectRtcNode(srv.url, await srv.token({ identity: 'x', room: roomName }), { label: 'X', eventLog: logLines });
    rooms.push(room);
    room.on(RoomEvent.LocalTrackSubscribed, (track: LocalTrack) => subscribedLocally.push(track.sid ?? '?'));
    const tone = await publishSineTone(room, { frequencyHz: TONE_HZ, sampleRate: SAMPLE_RATE, frameMs: 10, maxDurationMs: 60_000 });
    publishers.push(tone);
    return { room, sid: tone.publication.sid ?? '' };
  });

  const y = await run.step('Y connects with autoSubscribe: false', async () => {
    const room = await connectRtcNode(srv.url, await srv.token({ identity: 'y', room: roomName }), {
      label: 'Y', eventLog: logLines, autoSubscribe: false,
    });
    rooms.push(room);
    return room;
  });

  const publication = await run.step("Y sees X's audio track announced and not subscribed", async () => {
    const pub = await waitFor(
      () => {
        const p = y.remoteParticipants.get('x');
        return p ? [...p.trackPublications.values()].find((pub: RemoteTrackPublication) => pub.sid === x.sid) : undefined;
      },
      { label: "[Y] X's audio publication", timeoutMs: WAIT_MS },
    );
    assert.equal(pub.kind, TrackKind.KIND_AUDIO);
    assert.equal(pub.track, undefined);
    assert.deepEqual(serverSubscriptions(srv, roomName, 'y'), []);
    assert.deepEqual(subscribedLocally, [], 'X has no subscriber yet');
    return pub;
  });

  await run.step('Y setSubscribed(true): the track arrives and Y hears 440 Hz; X gets LocalTrackSubscribed', async () => {
    publication.setSubscribed(true);
    const track = await waitFor(() => publication.track, { label: "[Y] X's audio track subscribed", timeoutMs: WAIT_MS });
    const skipSamples = SAMPLE_RATE / 5;
    const received = await readAudioWindow(track, { sampleRate: SAMPLE_RATE, windowSamples: skipSamples + SAMPLE_RATE, timeoutMs: WAIT_MS });
    const found = dominantFrequency(received.samples.subarray(skipSamples), { sampleRate: SAMPLE_RATE, minHz: 100, maxHz: 2_000 });
    run.note(`dominant ${found.frequencyHz} Hz`);
    assert.ok(Math.abs(found.frequencyHz - TONE_HZ) <= 5, `dominant frequency ${found.frequencyHz} Hz`);
    assert.deepEqual(serverSubscriptions(srv, roomName, 'y'), [x.sid]);
    await waitFor(() => subscribedLocally.includes(x.sid), { label: '[X] LocalTrackSubscribed', timeoutMs: WAIT_MS });
  });

  await run.step('Y setSubscribed(false): TrackUnsubscribed, and Atrium no longer forwards the track', async () => {
    let unsubscribed = false;
    y.on(RoomEvent.TrackUnsubscribed, (_track, pub) => {
      if (pub.sid === x.sid) unsubscribed = true;
    });
    publication.setSubscribed(false);
    await waitFor(() => serverSubscriptions(srv, roomName, 'y').length === 0, { label: 'server drops the subscription', timeoutMs: WAIT_MS });
    await waitFor(() => unsubscribed, { label: '[Y] TrackUnsubscribed', timeoutMs: WAIT_MS });
  });
  t.diagnostic(`steps:\n${run.history()}`);
});
