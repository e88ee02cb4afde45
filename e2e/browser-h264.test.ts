// Compatibility: a livekit-client publisher in Chromium sends its camera as H.264 and the other participant
// decodes it; a stopped screen share is unpublished for the viewer; and when both have left, the server
// holds nothing: no room, no media session, no registration on the UDP socket.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { useAtriumAndBrowser } from './helpers/suite.js';
import { createStepRunner } from './helpers/steps.js';
import { waitFor } from '@atrium/webrtc/testing/wait-for.js';

const MEDIA_TIMEOUT_MS = 20_000;
const EVENT_TIMEOUT_MS = 10_000;

// A short departure timeout so the room's clean-up is observable within the test.
const suite = useAtriumAndBrowser({ atrium: { config: { room: { departureTimeoutSec: 1 } } } });

test('H.264 camera, unpublish and a clean server after everyone leaves', { timeout: 90_000 }, async () => {
  const { server: srv, browser: harness } = suite.started();
  const run = createStepRunner({ scenario: 'browser-h264.test.ts', logs: () => harness.logs() });
  const roomName = `h264-e2e-${Date.now()}`;
  const [a, b] = await run.step('open pages A and B', () => harness.openParticipants(['A', 'B']));
  assert.ok(a && b, 'two pages');
  await run.step('A and B connect', async () => {
    await a.connect(srv.url, await srv.token({ identity: 'alice', room: roomName }));
    await b.connect(srv.url, await srv.token({ identity: 'bob', room: roomName }));
  });

  await run.step('A publishes its camera with videoCodec h264', async () => {
    const pubs = await a.setCameraEnabled(true, { videoCodec: 'h264' });
    assert.ok(pubs.some((p) => p.source === 'camera'), 'camera published');
  });
  const stats = await run.step('B decodes > 30 H.264 frames of A\'s camera', () =>
    b.waitForStats(
      (rows) => rows.find((r) => r.participant === 'alice' && r.source === 'camera'),
      (r) => r.framesDecoded > 30 && r.frameWidth > 0,
      { label: "alice's H.264 camera decoding", timeoutMs: MEDIA_TIMEOUT_MS },
    ),
  );
  assert.equal(stats.codec?.toLowerCase(), 'video/h264', `B decodes ${stats.codec}`);

  await run.step('A stops its screen share and B sees the track unpublished', async () => {
    await a.setScreenShareEnabled(true);
    await b.waitForEvent((e) => e.type === 'trackSubscribed' && e.participant === 'alice' && e.source === 'screen_share', {
      label: 'screen share subscribed',
      timeoutMs: MEDIA_TIMEOUT_MS,
    });
    const from = await b.eventCount();
    await a.setScreenShareEnabled(false);
    await b.waitForEvent((e) => e.type === 'trackUnpublished' && e.participant === 'alice' && e.source === 'screen_share', {
      label: 'screen share unpublished',
      timeoutMs: EVENT_TIMEOUT_MS,
      fromIndex: from,
    });
    const rows = await b.remoteTrackStats();
    assert.deepEqual(
      rows.filter((r) => r.participant === 'alice').map((r) => r.source),
      ['camera'],
      'only the camera remains published',
    );
  });

  await run.step('both leave and the server releases every room, session and socket registration', async () => {
    await a.disconnect();
    await b.disconnect();
    const resources = await waitFor(
      () => {
        const r = srv.server.resources();
        return r.rooms === 0 && r.sessions === 0 && r.udpRegistrations === 0 ? r : undefined;
      },
      { label: 'server resources back to zero', timeoutMs: EVENT_TIMEOUT_MS, describe: async () => JSON.stringify(srv.server.resources()) },
    );
    assert.deepEqual(resources, { rooms: 0, sessions: 0, udpRegistrations: 0 });
  });
});
