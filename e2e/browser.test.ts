// Compatibility: two unmodified livekit-client 2.23 participants in headless Chromium talk through Atrium:
// camera+mic both ways (decoded video, received audio), mute/unmute, screen share, reliable+lossy data, leave.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { useAtriumAndBrowser } from './helpers/suite.js';
import type { BrowserParticipant, RemoteTrackStats } from './helpers/browser-participant.js';
import { createStepRunner } from './helpers/steps.js';
import { waitFor } from '@atrium/webrtc/testing/wait-for.js';

const MEDIA_TIMEOUT_MS = 20_000;
const EVENT_TIMEOUT_MS = 10_000;

const suite = useAtriumAndBrowser();

/** The first remote track of `identity` with `source`, if any. */
function remote(rows: RemoteTrackStats[], identity: string, source: string): RemoteTrackStats | undefined {
  return rows.find((r) => r.participant === identity && r.source === source);
}

function waitForRemoteParticipant(viewer: BrowserParticipant, identity: string): Promise<true> {
  return waitFor(
    async () => (await viewer.call<{ identity: string }[]>('remoteParticipants')).some((p) => p.identity === identity),
    { label: `[${viewer.label}] ${identity} among the remote participants`, timeoutMs: EVENT_TIMEOUT_MS },
  );
}

async function expectRemoteMedia(
  run: ReturnType<typeof createStepRunner>,
  viewer: BrowserParticipant,
  publisher: string,
): Promise<void> {
  const video = await run.step(`${viewer.label} decodes > 30 frames of ${publisher}'s camera with a non-zero size`, () =>
    viewer.waitForStats(
      (rows) => remote(rows, publisher, 'camera'),
      (r) => r.framesDecoded > 30 && r.frameWidth > 0 && r.frameHeight > 0,
      { label: `${publisher}'s camera decoding`, timeoutMs: MEDIA_TIMEOUT_MS },
    ),
  );
  run.note(`${video.codec ?? '?'} ${video.frameWidth}x${video.frameHeight}, ${video.framesDecoded} frames decoded`);
  const audio = await run.step(`${viewer.label} receives > 100 packets of ${publisher}'s microphone`, () =>
    viewer.waitForStats(
      (rows) => remote(rows, publisher, 'microphone'),
      (r) => r.packetsReceived > 100,
      { label: `${publisher}'s microphone packets`, timeoutMs: MEDIA_TIMEOUT_MS },
    ),
  );
  run.note(`${audio.codec ?? '?'} ${audio.packetsReceived} packets received`);
}

test('two livekit-client browsers share camera, microphone, screen and data through Atrium', { timeout: 90_000 }, async (t) => {
  const { server: srv, browser: harness } = suite.started();
  const run = createStepRunner({ scenario: 'browser.test.ts', logs: () => harness.logs() });
  const roomName = `browser-e2e-${Date.now()}`;

  const [a, b] = await run.step('open pages A and B with livekit-client loaded', () =>
    Promise.all([harness.openParticipant('A'), harness.openParticipant('B')]),
  );
  const [tokenA, tokenB] = await Promise.all([
    srv.token({ identity: 'alice', room: roomName }),
    srv.token({ identity: 'bob', room: roomName }),
  ]);

  await run.step('A connects', async () => {
    const joined = await a.connect(srv.url, tokenA);
    assert.equal(joined.identity, 'alice');
    assert.equal(joined.roomName, roomName);
  });
  await run.step('B connects', async () => {
    const joined = await b.connect(srv.url, tokenB);
    assert.equal(joined.identity, 'bob');
  });
  await run.step('A and B see each other', () =>
    Promise.all([
      waitForRemoteParticipant(a, 'bob'),
      waitForRemoteParticipant(b, 'alice'),
    ]),
  );

  await run.step('A and B enable camera and microphone', async () => {
    const [pubsA, pubsB] = await Promise.all([a.enableCameraAndMicrophone(), b.enableCameraAndMicrophone()]);
    for (const pubs of [pubsA, pubsB]) {
      assert.deepEqual(pubs.map((p) => p.source).sort(), ['camera', 'microphone']);
    }
  });

  for (const [viewer, publisher] of [
    [a, 'bob'],
    [b, 'alice'],
  ] as const) {
    await run.step(`${viewer.label} subscribes to ${publisher}'s camera and microphone`, () =>
      Promise.all(
        (['camera', 'microphone'] as const).map((source) =>
          viewer.waitForEvent(
            (e) => e.type === 'trackSubscribed' && e.participant === publisher && e.source === source,
            { label: `trackSubscribed ${publisher} ${source}`, timeoutMs: MEDIA_TIMEOUT_MS },
          ),
        ),
      ),
    );
  }
  await expectRemoteMedia(run, b, 'alice');
  await expectRemoteMedia(run, a, 'bob');

  await run.step("muting A's microphone makes B see TrackMuted", async () => {
    const from = await b.eventCount();
    await a.setMicrophoneEnabled(false);
    await b.waitForEvent(
      (e) => e.type === 'trackMuted' && e.participant === 'alice' && e.source === 'microphone',
      { label: 'trackMuted alice microphone', timeoutMs: EVENT_TIMEOUT_MS, fromIndex: from },
    );
  });
  await run.step("unmuting A's microphone makes B see TrackUnmuted", async () => {
    const from = await b.eventCount();
    await a.setMicrophoneEnabled(true);
    await b.waitForEvent(
      (e) => e.type === 'trackUnmuted' && e.participant === 'alice' && e.source === 'microphone',
      { label: 'trackUnmuted alice microphone', timeoutMs: EVENT_TIMEOUT_MS, fromIndex: from },
    );
  });

  await run.step("A shares the screen and B subscribes to a second video track with source 'screen_share'", async () => {
    const pubs = await a.setScreenShareEnabled(true);
    assert.ok(pubs.some((p) => p.source === 'screen_share' && p.kind === 'video'), 'A publishes a screen_share track');
    const event = await b.waitForEvent(
      (e) => e.type === 'trackSubscribed' && e.participant === 'alice' && e.source === 'screen_share',
      { label: 'trackSubscribed alice screen_share', timeoutMs: MEDIA_TIMEOUT_MS },
    );
    assert.equal(event.kind, 'video');
    const rows = await b.remoteTrackStats();
    const aliceVideo = rows.filter((r) => r.participant === 'alice' && r.kind === 'video' && r.subscribed);
    assert.deepEqual(aliceVideo.map((r) => r.source).sort(), ['camera', 'screen_share']);
  });

  await run.step('B receives reliable data from A with A as sender', async () => {
    await a.publishData('hello reliable', { reliable: true });
    const event = await b.waitForEvent((e) => e.type === 'dataReceived' && e.text === 'hello reliable', {
      label: 'reliable data from alice',
      timeoutMs: EVENT_TIMEOUT_MS,
    });
    assert.equal(event.participant, 'alice');
    assert.equal(event['kind'], 'reliable');
  });
  await run.step('B receives lossy data from A with A as sender', async () => {
    // Lossy may drop in principle, so resend until one arrives (at most every 250 ms, within the deadline).
    const event = await waitFor(
      async () => {
        const got = (await b.events()).find((e) => e.type === 'dataReceived' && e.text === 'hello lossy');
        if (!got) await a.publishData('hello lossy', { reliable: false });
        return got;
      },
      { label: '[B] lossy data from alice', timeoutMs: EVENT_TIMEOUT_MS, intervalMs: 250 },
    );
    assert.equal(event.participant, 'alice');
    assert.equal(event['kind'], 'lossy');
  });

  await run.step('A disconnects and B sees ParticipantDisconnected for A', async () => {
    await a.disconnect();
    await b.waitForEvent((e) => e.type === 'participantDisconnected' && e.participant === 'alice', {
      label: 'participantDisconnected alice',
      timeoutMs: EVENT_TIMEOUT_MS,
    });
  });
  await b.disconnect().catch(() => undefined);
  t.diagnostic(`steps:\n${run.history()}`);
});
