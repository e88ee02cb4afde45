// VP9 and AV1 with livekit-client in Chromium: published as SVC (one stream, L3T3_KEY, livekit-client's default for
// these codecs), each viewer gets the spatial layer it asks for by the server dropping the layers above it. Asserted on
// what the viewers decode: the codec and the frame size.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { useAtriumAndBrowser } from './helpers/suite.js';
import { createStepRunner } from './helpers/steps.js';
import type { BrowserParticipant, RemoteTrackStats } from './helpers/browser-participant.js';
import { dispose, VideoCodec } from '@livekit/rtc-node';
import { connectRtcNode, publishTestPattern } from './helpers/rtc-node.js';
import type { RunningPublisher } from './helpers/rtc-node.js';
import { after } from 'node:test';
import { withTimeout } from '@atrium/webrtc/testing/wait-for.js';

const MEDIA_TIMEOUT_MS = 25_000;

const suite = useAtriumAndBrowser();

const cameraOf = (identity: string) => (rows: RemoteTrackStats[]): RemoteTrackStats | undefined =>
  rows.find((r) => r.participant === identity && r.source === 'camera');

function waitForWidth(viewer: BrowserParticipant, label: string, ok: (w: number) => boolean): Promise<RemoteTrackStats> {
  return viewer.waitForDecoding(cameraOf('pub'), (r) => ok(r.frameWidth), { label, timeoutMs: MEDIA_TIMEOUT_MS });
}

/**
 * The widest simulcast stream the publisher is encoding now (frames encoded over the last second), and why the encoder
 * holds back if it does. Chromium stops its top stream when the machine is short of CPU (qualityLimitationReason
 * 'cpu'; AV1 in software is heavy): then no server can forward 1280, and the best a viewer can get is the next one.
 */
async function widestSending(pub: BrowserParticipant): Promise<{ width: number; limitation: string }> {
  const camera = async () => (await pub.localVideoSenderStats()).filter((r) => r.source === 'camera');
  const before = await camera();
  await new Promise((res) => setTimeout(res, 1000));
  const after = await camera();
  let width = 0;
  for (const r of after) {
    const prev = before.find((b) => b.rid === r.rid);
    if (r.active && r.framesEncoded > (prev?.framesEncoded ?? 0)) width = Math.max(width, r.frameWidth);
  }
  return { width, limitation: after.map((r) => `${r.rid}:${r.qualityLimitationReason ?? '-'}`).join(' ') };
}

/**
 * Waits until `viewer` decodes the widest stream the publisher sends (re-read every few seconds while waiting, since it
 * changes when the encoder adapts); it must be wider than the q stream, or a test of layer switching means nothing.
 */
async function waitForTopStream(viewer: BrowserParticipant, pub: BrowserParticipant, label: string, note: (s: string) => void): Promise<RemoteTrackStats> {
  const deadline = Date.now() + MEDIA_TIMEOUT_MS;
  for (;;) {
    const top = await widestSending(pub);
    assert.ok(top.width > 320, `the publisher sends only ${top.width} wide (${top.limitation})`);
    if (top.width !== 1280) note(`the publisher's encoder holds back: widest stream ${top.width} (${top.limitation})`);
    try {
      return await viewer.waitForDecoding(cameraOf('pub'), (r) => r.frameWidth === top.width, {
        label: `${label}: ${top.width} wide, the widest stream the publisher sends`,
        timeoutMs: Math.max(1000, Math.min(6000, deadline - Date.now())),
      });
    } catch (err) {
      if (Date.now() >= deadline) throw err;
    }
  }
}

for (const codec of (process.env['SVC_CODECS'] ?? 'vp9,av1').split(',') as ('vp9' | 'av1')[]) {
  test(`${codec.toUpperCase()} SVC: a viewer decodes the full picture, a LOW viewer a quarter of it`, { timeout: 120_000 }, async () => {
    const { server: srv, browser } = suite.started();
    const run = createStepRunner({ scenario: `svc.test.ts (${codec})`, logs: () => browser.logs() });
    const room = `svc-${codec}-${Date.now()}`;
    const [pub, high, low] = await run.step('open three pages', () => browser.openParticipants(['PUB', 'HIGH', 'LOW']));
    assert.ok(pub && high && low);
    await run.step(`the publisher publishes its 1280x720 camera as ${codec} (SVC)`, async () => {
      await pub.connect(srv.url, await srv.token({ identity: 'pub', room }));
      await pub.setCameraEnabled(true, { videoCodec: codec });
      const deadline = Date.now() + MEDIA_TIMEOUT_MS;
      for (;;) {
        const rows = (await pub.localVideoSenderStats()).filter((r) => r.source === 'camera');
        const r = rows[0];
        if (r && r.codec?.toLowerCase() === `video/${codec}` && r.bytesSent > 0) {
          run.note(`publisher: ${rows.length} encoding(s), ${r.codec} ${r.scalabilityMode ?? ''} ${r.frameWidth}x${r.frameHeight}`);
          break;
        }
        if (Date.now() > deadline) throw new Error(`publisher not sending ${codec}: ${JSON.stringify(rows)}`);
        await new Promise((res) => setTimeout(res, 250));
      }
    });
    await run.step('a viewer decodes it at 1280 wide', async () => {
      await high.connect(srv.url, await srv.token({ identity: 'high', room }));
      const s = await waitForWidth(high, 'full size', (w) => w === 1280);
      assert.equal(s.codec?.toLowerCase(), `video/${codec}`);
      run.note(`high viewer: ${s.codec} ${s.frameWidth}x${s.frameHeight}`);
    });
    await run.step('a LOW viewer decodes at most 640 wide; the other stays at 1280', async () => {
      await low.connect(srv.url, await srv.token({ identity: 'low', room }));
      const sub = await low.waitForEvent((e) => e.type === 'trackSubscribed' && e.source === 'camera', { label: 'subscribed', timeoutMs: MEDIA_TIMEOUT_MS });
      await low.call('setVideoQuality', sub.trackSid, 'LOW');
      const s = await waitForWidth(low, 'low layer', (w) => w > 0 && w <= 640);
      assert.equal(s.codec?.toLowerCase(), `video/${codec}`);
      run.note(`low viewer: ${s.codec} ${s.frameWidth}x${s.frameHeight}`);
      const h = await waitForWidth(high, 'still full size', (w) => w === 1280);
      run.note(`high viewer: ${h.frameWidth}x${h.frameHeight}`);
    });
    await run.step('the LOW viewer goes back to HIGH', async () => {
      const sub = (await low.events()).find((e) => e.type === 'trackSubscribed' && e.source === 'camera');
      await low.call('setVideoQuality', sub!.trackSid, 'HIGH');
      await waitForWidth(low, 'back at full size', (w) => w === 1280);
    });
    console.log(run.history());
  });
}

after(async () => {
  await withTimeout(dispose(), 10_000, 'disposing rtc-node').catch((err: unknown) => process.stderr.write(`${String(err)}\n`));
});

for (const codec of (process.env['SVC_CODECS'] ?? 'vp9,av1').split(',') as ('vp9' | 'av1')[]) {
  test(`rtc-node publishes ${codec.toUpperCase()}: a browser viewer decodes it, a LOW viewer a lower layer`, { timeout: 120_000 }, async () => {
    const { server: srv, browser } = suite.started();
    const run = createStepRunner({ scenario: `svc.test.ts (rtc-node ${codec})`, logs: () => browser.logs() });
    const room = `svc-node-${codec}-${Date.now()}`;
    const rooms: Awaited<ReturnType<typeof connectRtcNode>>[] = [];
    const publishers: RunningPublisher[] = [];
    try {
      const node = await connectRtcNode(srv.url, await srv.token({ identity: 'pub', room }), { label: 'rtc-node publisher' });
      rooms.push(node);
      await run.step(`rtc-node publishes a 640x360 pattern as ${codec} SVC (L3T3_KEY)`, async () => {
        publishers.push(
          await publishTestPattern(node, {
            width: 640, height: 360, fps: 15, maxDurationMs: 90_000,
            videoCodec: codec === 'vp9' ? VideoCodec.VP9 : VideoCodec.AV1, scalabilityMode: 'L3T3_KEY',
          }),
        );
      });
      const [high, low] = await run.step('open two pages', () => browser.openParticipants(['HIGH', 'LOW']));
      assert.ok(high && low);
      await run.step('a browser viewer decodes it full size', async () => {
        await high.connect(srv.url, await srv.token({ identity: 'high', room }));
        const s = await waitForWidth(high, 'full size', (w) => w === 640);
        assert.equal(s.codec?.toLowerCase(), `video/${codec}`);
        run.note(`high viewer: ${s.codec} ${s.frameWidth}x${s.frameHeight}`);
      });
      await run.step('a LOW viewer decodes a lower spatial layer', async () => {
        await low.connect(srv.url, await srv.token({ identity: 'low', room }));
        const sub = await low.waitForEvent((e) => e.type === 'trackSubscribed' && e.source === 'camera', { label: 'subscribed', timeoutMs: MEDIA_TIMEOUT_MS });
        await low.call('setVideoQuality', sub.trackSid, 'LOW');
        const s = await waitForWidth(low, 'low layer', (w) => w > 0 && w < 640);
        assert.equal(s.codec?.toLowerCase(), `video/${codec}`);
        run.note(`low viewer: ${s.codec} ${s.frameWidth}x${s.frameHeight}`);
      });
      console.log(run.history());
    } finally {
      // dispose() (the rtc-node runtime) only once, after the file: the next test uses rtc-node again.
      for (const p of publishers) await p.stop().catch(() => undefined);
      for (const r of rooms) await r.disconnect().catch(() => undefined);
    }
  });
}

for (const codec of (process.env['SVC_CODECS'] ?? 'vp9,av1').split(',') as ('vp9' | 'av1')[]) {
  test(`${codec.toUpperCase()} simulcast (L1T3 per rid, the client's choice): each viewer switches streams`, { timeout: 120_000 }, async () => {
    const { server: srv, browser } = suite.started();
    const run = createStepRunner({ scenario: `svc.test.ts (${codec} simulcast)`, logs: () => browser.logs() });
    const room = `svcsim-${codec}-${Date.now()}`;
    const [pub, high, low] = await run.step('open three pages', () => browser.openParticipants(['PUB', 'HIGH', 'LOW']));
    assert.ok(pub && high && low);
    await run.step(`the publisher publishes ${codec} simulcast`, async () => {
      await pub.connect(srv.url, await srv.token({ identity: 'pub', room }));
      await pub.setCameraEnabled(true, { videoCodec: codec, simulcast: true, scalabilityMode: 'L1T3' });
      const deadline = Date.now() + MEDIA_TIMEOUT_MS;
      for (;;) {
        const rows = (await pub.localVideoSenderStats()).filter((r) => r.source === 'camera');
        if (rows.length === 3 && rows.every((r) => r.bytesSent > 0 && r.frameWidth > 0)) {
          run.note(`publisher: ${rows.map((r) => `${r.rid}:${r.codec} ${r.scalabilityMode ?? ''} ${r.frameWidth}`).join(', ')}`);
          break;
        }
        if (Date.now() > deadline) throw new Error(`publisher not sending three ${codec} streams: ${JSON.stringify(rows)}`);
        await new Promise((res) => setTimeout(res, 250));
      }
    });
    await run.step('a viewer decodes the widest stream (1280 unless the encoder holds back)', async () => {
      await high.connect(srv.url, await srv.token({ identity: 'high', room }));
      const s = await waitForTopStream(high, pub, 'full size', (n) => run.note(n));
      assert.equal(s.codec?.toLowerCase(), `video/${codec}`);
    });
    await run.step('a LOW viewer decodes the q stream (320 wide), then HIGH again', async () => {
      await low.connect(srv.url, await srv.token({ identity: 'low', room }));
      const sub = await low.waitForEvent((e) => e.type === 'trackSubscribed' && e.source === 'camera', { label: 'subscribed', timeoutMs: MEDIA_TIMEOUT_MS });
      await waitForTopStream(low, pub, 'low viewer starts at full size', (n) => run.note(n));
      await low.call('setVideoQuality', sub.trackSid, 'LOW');
      const s = await waitForWidth(low, 'low layer', (w) => w > 0 && w <= 320);
      run.note(`low viewer: ${s.codec} ${s.frameWidth}x${s.frameHeight}`);
      await low.call('setVideoQuality', sub.trackSid, 'HIGH');
      await waitForTopStream(low, pub, 'back at full size', (n) => run.note(n));
    });
    console.log(run.history());
  });
}
