// Backup codec with livekit-client in Chromium: a camera published in VP9 (backup codec VP8, livekit-client's default)
// reaches a viewer whose browser cannot decode VP9: the server offers the viewer VP9 then VP8, the viewer's answer takes
// VP8, the server asks the publisher for its backup (SubscribedQualityUpdate naming vp8), the publisher sends it, and
// the viewer decodes VP8 while another viewer keeps decoding VP9. Asserted on the viewers' decoded codec and size.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { useAtriumAndBrowser } from './helpers/suite.js';
import { createStepRunner } from './helpers/steps.js';
import type { BrowserParticipant, LocalEncodingStats, RemoteTrackStats } from './helpers/browser-participant.js';
import { waitFor } from '@atrium/webrtc/testing/wait-for.js';

const MEDIA_TIMEOUT_MS = 30_000;

const suite = useAtriumAndBrowser();

const cameraOf = (rows: RemoteTrackStats[]): RemoteTrackStats | undefined => rows.find((r) => r.participant === 'pub' && r.source === 'camera');

function decoding(viewer: BrowserParticipant, label: string, ok: (r: RemoteTrackStats) => boolean): Promise<RemoteTrackStats> {
  return viewer.waitForDecoding(cameraOf, ok, { label, timeoutMs: MEDIA_TIMEOUT_MS });
}

test('a viewer that cannot decode VP9 gets the backup codec (VP8); another keeps VP9', { timeout: 150_000 }, async () => {
  const { server: srv, browser } = suite.started();
  const run = createStepRunner({ scenario: 'backup-codec.test.ts', logs: () => browser.logs() });
  const room = `backup-${Date.now()}`;
  const [pub, vp9Viewer, vp8Viewer] = await run.step('open three pages', () => browser.openParticipants(['PUB', 'VP9', 'NOVP9']));
  assert.ok(pub && vp9Viewer && vp8Viewer);
  await run.step('the publisher publishes its camera in VP9 (livekit-client adds the VP8 backup and turns dynacast on)', async () => {
    await pub.connect(srv.url, await srv.token({ identity: 'pub', room }));
    await pub.setCameraEnabled(true, { videoCodec: 'vp9' });
  });
  await run.step('a viewer decodes VP9', async () => {
    await vp9Viewer.connect(srv.url, await srv.token({ identity: 'vp9', room }));
    const s = await decoding(vp9Viewer, 'VP9 decoded', (r) => r.codec?.toLowerCase() === 'video/vp9' && r.frameWidth > 0);
    run.note(`viewer: ${s.codec} ${s.frameWidth}x${s.frameHeight}`);
    const sending = (await pub.localVideoSenderStats()).map((r) => `${r.codec}:${r.rid || '-'}`);
    run.note(`publisher sends ${sending.join(', ')}`);
    assert.ok(sending.every((c) => c.startsWith('video/VP9')), 'no backup while nobody needs it');
  });
  await run.step('a viewer whose browser refuses VP9 decodes the VP8 backup', async () => {
    await vp8Viewer.call('refuseCodecs', ['VP9']);
    await vp8Viewer.connect(srv.url, await srv.token({ identity: 'novp9', room }));
    const s = await decoding(vp8Viewer, 'VP8 decoded', (r) => r.codec?.toLowerCase() === 'video/vp8' && r.frameWidth > 0);
    run.note(`viewer: ${s.codec} ${s.frameWidth}x${s.frameHeight}`);
    const updates = (await pub.events()).filter((e) => e.type === 'subscribedQualityUpdate').map((e) => String(e['codecs']));
    run.note(`publisher was asked for: ${updates.join(' | ')}`);
    assert.ok(updates.some((u) => /vp8:[012]+/.test(u)), 'the publisher was asked for VP8');
    const sending = (await pub.localVideoSenderStats()).map((r) => r.codec);
    assert.ok(sending.includes('video/VP8') && sending.includes('video/VP9'), `the publisher sends both: ${sending.join(', ')}`);
  });
  await run.step('each viewer decodes the largest picture the publisher encodes in its codec', async () => {
    // Chromium may scale its encodings down when two encoders share this 2-core machine ('cpu' limitation): the
    // viewers must follow what is really encoded, in their own codec, not a lower layer.
    for (const [viewer, codec] of [[vp9Viewer, 'video/VP9'], [vp8Viewer, 'video/VP8']] as const) {
      let encoded: LocalEncodingStats[] = [];
      let seen: RemoteTrackStats | undefined;
      const s = await waitFor(async () => {
        seen = cameraOf(await viewer.remoteTrackStats());
        if (seen?.codec !== codec) return undefined;
        encoded = (await pub.localVideoSenderStats()).filter((e) => e.codec === codec && e.active && e.frameWidth > 0);
        return encoded.length > 0 && seen.frameWidth === Math.max(...encoded.map((e) => e.frameWidth)) ? seen : undefined;
      }, {
        label: `the ${codec} viewer at the publisher's largest ${codec} encoding`, timeoutMs: MEDIA_TIMEOUT_MS, intervalMs: 250,
        describe: () => `viewer ${seen?.codec} ${seen?.frameWidth}; encoded ${encoded.map((e) => `${e.rid}:${e.frameWidth}`).join(', ')}`,
      });
      run.note(`${codec} viewer ${s.frameWidth}x${s.frameHeight}; publisher encodes ${encoded.map((e) => `${e.rid || '-'}:${e.frameWidth}x${e.frameHeight}(${e.qualityLimitationReason ?? '?'})`).join(', ')}`);
    }
  });
  console.log(run.history());
});
