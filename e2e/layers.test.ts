// Per-subscriber simulcast layers with livekit-client in Chromium, asserting what a viewer would notice: the decoded
// frame size (receiver getStats frameWidth), not packet counts. A viewer that joins after the camera is publishing
// reaches the top layer; setVideoQuality(LOW) brings it to the low layer and HIGH back up; another viewer's choice
// does not change it; the picture keeps decoding across every switch (no frozen seconds).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { useAtriumAndBrowser } from './helpers/suite.js';
import { createStepRunner } from './helpers/steps.js';
import type { StepRunner } from './helpers/steps.js';
import type { BrowserParticipant, RemoteTrackStats } from './helpers/browser-participant.js';

const MEDIA_TIMEOUT_MS = 25_000;
/**
 * Longest time without a new picture a layer switch may cause. A clean switch waits for the new layer's key frame
 * (a PLI round trip and one frame, well under 300 ms on loopback); the broken munging this guards against froze
 * for about 3 s, until Chromium's own key frame request.
 */
const MAX_SWITCH_GAP_MS = 700;

const suite = useAtriumAndBrowser();

/** What the page measured of decoded frames since a time (fixtures/participant-page.js frameGaps). */
interface FrameGaps {
  frames: number;
  maxGapMs: number;
  sizes: string[];
}

function cameraOf(identity: string): (rows: RemoteTrackStats[]) => RemoteTrackStats | undefined {
  return (rows) => rows.find((r) => r.participant === identity && r.source === 'camera');
}

/** Waits until the camera of `identity` decodes at a width satisfying `ok`, and keeps decoding there. */
function waitForWidth(viewer: BrowserParticipant, identity: string, label: string, ok: (w: number) => boolean): Promise<RemoteTrackStats> {
  return viewer.waitForDecoding(cameraOf(identity), (r) => ok(r.frameWidth), { label, timeoutMs: MEDIA_TIMEOUT_MS });
}

/**
 * setVideoQuality(quality) on `viewer`'s subscription to `identity`'s camera, then waits until it decodes at a width
 * `ok` accepts; the longest gap between decoded frames since the request must stay under MAX_SWITCH_GAP_MS.
 */
async function switchQuality(
  run: StepRunner,
  viewer: BrowserParticipant,
  trackSid: string,
  quality: 'LOW' | 'HIGH',
  ok: (w: number) => boolean,
): Promise<void> {
  const t0 = await viewer.call<number>('now');
  await viewer.call('setVideoQuality', trackSid, quality);
  const s = await waitForWidth(viewer, 'pub', `${quality}: the viewer's new layer`, ok);
  const gaps = await viewer.call<FrameGaps>('frameGaps', trackSid, t0);
  run.note(`viewer: ${s.frameWidth}x${s.frameHeight}; since the switch ${gaps.frames} frames (${gaps.sizes.join(' -> ')}), longest gap ${gaps.maxGapMs} ms`);
  assert.ok(gaps.maxGapMs < MAX_SWITCH_GAP_MS, `the picture froze for ${gaps.maxGapMs} ms across the switch to ${quality}`);
}

test('simulcast VP8: a late joiner reaches the top layer; setVideoQuality moves only that viewer', { timeout: 180_000 }, async () => {
  const { server: srv, browser } = suite.started();
  const run = createStepRunner({ scenario: 'layers.test.ts', logs: () => browser.logs() });
  const room = `layers-${Date.now()}`;
  const [pub, late, other] = await run.step('open three pages', () => browser.openParticipants(['PUB', 'LATE', 'OTHER']));
  assert.ok(pub && late && other);
  await run.step('the publisher connects and publishes a 1280x720 simulcast camera', async () => {
    await pub.connect(srv.url, await srv.token({ identity: 'pub', room }));
    await pub.setCameraEnabled(true);
    await pub.page.waitForTimeout(0);
  });
  await run.step('the publisher sends three layers (q, h, f)', async () => {
    const rows = await waitForLayers(pub);
    run.note(JSON.stringify(rows.map((r) => [r.rid, r.frameWidth])));
  });
  const trackSid = await run.step('a late viewer joins and reaches 1280 wide', async () => {
    await late.connect(srv.url, await srv.token({ identity: 'late', room }));
    const s = await waitForWidth(late, 'pub', 'late viewer at the top layer', (w) => w === 1280);
    run.note(`late viewer: ${s.frameWidth}x${s.frameHeight}, ${s.framesDecoded} frames`);
    return s.trackSid;
  });
  await run.step('another viewer joins at the top layer too', async () => {
    await other.connect(srv.url, await srv.token({ identity: 'other', room }));
    await waitForWidth(other, 'pub', 'other viewer at the top layer', (w) => w === 1280);
  });
  await run.step('setVideoQuality(LOW) on the late viewer: it decodes at most 640 wide, without a freeze; the other stays at 1280', async () => {
    await switchQuality(run, late, trackSid, 'LOW', (w) => w > 0 && w <= 640);
    const o = await waitForWidth(other, 'pub', 'other viewer unchanged', (w) => w === 1280);
    assert.equal(o.frameWidth, 1280);
  });
  await run.step('setVideoQuality(HIGH): back to 1280, without a freeze', async () => {
    await switchQuality(run, late, trackSid, 'HIGH', (w) => w === 1280);
  });
  console.log(run.history());
});

test('simulcast H.264: a late joiner reaches the top layer and setVideoQuality(LOW) moves it down without a freeze', { timeout: 120_000 }, async () => {
  const { server: srv, browser } = suite.started();
  const run = createStepRunner({ scenario: 'layers.test.ts (H.264)', logs: () => browser.logs() });
  const room = `layers-h264-${Date.now()}`;
  const [pub, late] = await run.step('open two pages', () => browser.openParticipants(['PUB', 'LATE']));
  assert.ok(pub && late);
  await run.step('the publisher publishes a 1280x720 simulcast camera in H.264', async () => {
    await pub.connect(srv.url, await srv.token({ identity: 'pub', room }));
    await pub.setCameraEnabled(true, { videoCodec: 'h264' });
    const rows = await waitForLayers(pub);
    run.note(JSON.stringify(rows.map((r) => [r.rid, r.codec, r.frameWidth])));
    assert.ok(rows.every((r) => r.codec === 'video/H264'), 'H.264 on every layer');
  });
  const trackSid = await run.step('a late viewer joins and reaches 1280 wide', async () => {
    await late.connect(srv.url, await srv.token({ identity: 'late', room }));
    const s = await waitForWidth(late, 'pub', 'late viewer at the top layer', (w) => w === 1280);
    run.note(`late viewer: ${s.codec} ${s.frameWidth}x${s.frameHeight}`);
    assert.equal(s.codec, 'video/H264');
    return s.trackSid;
  });
  await run.step('setVideoQuality(LOW): at most 640 wide, without a freeze', async () => {
    await switchQuality(run, late, trackSid, 'LOW', (w) => w > 0 && w <= 640);
  });
  console.log(run.history());
});

async function waitForLayers(pub: BrowserParticipant): Promise<{ rid: string; frameWidth: number; codec: string | undefined }[]> {
  const deadline = Date.now() + MEDIA_TIMEOUT_MS;
  for (;;) {
    const rows = (await pub.localVideoSenderStats()).filter((r) => r.source === 'camera');
    if (rows.length === 3 && rows.every((r) => r.frameWidth > 0 && r.bytesSent > 0)) return rows;
    if (Date.now() > deadline) throw new Error(`publisher layers: ${JSON.stringify(rows)}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

test('adaptive stream and dynacast: a small tile gets a low layer, a hidden one is paused, the publisher stops its top layer', { timeout: 180_000 }, async () => {
  const { server: srv, browser } = suite.started();
  const run = createStepRunner({ scenario: 'layers.test.ts (adaptive)', logs: () => browser.logs() });
  const room = `adaptive-${Date.now()}`;
  const [pub, viewer] = await run.step('open two pages', () => browser.openParticipants(['PUB', 'VIEW']));
  assert.ok(pub && viewer);
  await run.step('the publisher (dynacast on) publishes a 1280x720 simulcast camera', async () => {
    await pub.connect(srv.url, await srv.token({ identity: 'pub', room }), { dynacast: true });
    await pub.setCameraEnabled(true);
  });
  const trackSid = await run.step('an adaptive-stream viewer renders it in a 160x90 tile: the low layer', async () => {
    await viewer.connect(srv.url, await srv.token({ identity: 'view', room }), { adaptiveStream: true });
    const sub = await viewer.waitForEvent((e) => e.type === 'trackSubscribed' && e.source === 'camera', { label: 'camera subscribed', timeoutMs: MEDIA_TIMEOUT_MS });
    await viewer.call('setRemoteVideoSize', sub.trackSid, 160, 90);
    const s = await waitForWidth(viewer, 'pub', 'viewer at the low layer', (w) => w > 0 && w <= 320);
    run.note(`viewer: ${s.frameWidth}x${s.frameHeight}`);
    return sub.trackSid!;
  });
  await run.step('dynacast: the publisher stops encoding its top layer (f) and its bytes stop', async () => {
    const deadline = Date.now() + MEDIA_TIMEOUT_MS;
    let rows = await pub.localVideoSenderStats();
    for (;;) {
      const f = rows.find((r) => r.rid === 'f');
      if (f && !f.active) break;
      if (Date.now() > deadline) throw new Error(`f still active: ${JSON.stringify(rows)}`);
      await new Promise((r) => setTimeout(r, 250));
      rows = await pub.localVideoSenderStats();
    }
    const updates = (await pub.events()).filter((e) => e.type === 'subscribedQualityUpdate');
    run.note(`dynacast updates: ${updates.map((e) => `${e.atMs}:${String(e['codecs'])}`).join(' ')}`);
    const before = rows.find((r) => r.rid === 'f')!.bytesSent;
    await new Promise((r) => setTimeout(r, 1500));
    const after = (await pub.localVideoSenderStats()).find((r) => r.rid === 'f')!.bytesSent;
    run.note(`f bytesSent ${before} -> ${after}`);
    assert.ok(after - before < 2000, `f keeps sending: ${before} -> ${after}`);
  });
  await run.step('a 1280x720 tile: the top layer comes back (dynacast turns it on) and the viewer decodes 1280 wide', async () => {
    await viewer.call('setRemoteVideoSize', trackSid, 1280, 720);
    await waitForWidth(viewer, 'pub', 'viewer at the top layer', (w) => w === 1280);
  });
  await run.step('hidden tile: PAUSED, and no more bytes', async () => {
    const from = await viewer.eventCount();
    await viewer.call('setRemoteVideoVisible', trackSid, false);
    await viewer.waitForEvent((e) => e.type === 'trackStreamStateChanged' && e.state === 'paused', { label: 'paused', timeoutMs: MEDIA_TIMEOUT_MS, fromIndex: from });
    const cam = cameraOf('pub');
    const a = cam(await viewer.remoteTrackStats())!;
    await new Promise((r) => setTimeout(r, 1500));
    const b = cam(await viewer.remoteTrackStats())!;
    run.note(`bytes ${a.bytesReceived} -> ${b.bytesReceived}`);
    assert.ok(b.bytesReceived - a.bytesReceived < 2000, `bytes keep arriving while hidden: ${a.bytesReceived} -> ${b.bytesReceived}`);
  });
  await run.step('visible again: ACTIVE, decoding at the top layer', async () => {
    const from = await viewer.eventCount();
    await viewer.call('setRemoteVideoVisible', trackSid, true);
    await viewer.waitForEvent((e) => e.type === 'trackStreamStateChanged' && e.state === 'active', { label: 'active', timeoutMs: MEDIA_TIMEOUT_MS, fromIndex: from });
    await waitForWidth(viewer, 'pub', 'viewer decoding again', (w) => w === 1280);
  });
  await run.step('the viewer leaves: with nobody watching, the publisher stops every encoding', async () => {
    await viewer.disconnect();
    // Downgrades wait video.dynacast_pause_delay (5 s) as LiveKit's do.
    const deadline = Date.now() + MEDIA_TIMEOUT_MS;
    let rows = await pub.localVideoSenderStats();
    while (rows.some((r) => r.active)) {
      if (Date.now() > deadline) throw new Error(`encodings still active: ${JSON.stringify(rows.map((r) => [r.rid, r.active]))}`);
      await new Promise((r) => setTimeout(r, 250));
      rows = await pub.localVideoSenderStats();
    }
    const before = rows.reduce((n, r) => n + r.bytesSent, 0);
    await new Promise((r) => setTimeout(r, 1500));
    const after = (await pub.localVideoSenderStats()).reduce((n, r) => n + r.bytesSent, 0);
    run.note(`all encodings inactive; bytesSent ${before} -> ${after}`);
    assert.ok(after - before < 2000, `the publisher keeps sending: ${before} -> ${after}`);
  });
  console.log(run.history());
});
