// Self-test of the browser harness (no server needed): Chromium starts with our flags, the page loads
// livekit-client 2.23.0 as published, and the fake camera, microphone and screen capture work.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { launchBrowser, type BrowserHarness } from './browser.js';
import { withTimeout } from '@atrium/webrtc/testing/wait-for.js';

let browser: BrowserHarness | undefined;

before(async () => {
  browser = await withTimeout(launchBrowser(), 30_000, 'Chromium to launch');
});

after(async () => {
  await browser?.close();
});

test('a page loads livekit-client 2.23.0 and gets fake camera, microphone and screen', async () => {
  assert.ok(browser);
  const page = await browser.openParticipant('probe');
  assert.equal(await page.call('version'), '2.23.0');
  const media = await withTimeout(
    page.call<{
      userMedia: { kind: string; width?: number; height?: number }[];
      displayMedia: { kind: string; width?: number; height?: number }[];
    }>('probeMedia'),
    15_000,
    'getUserMedia/getDisplayMedia in the page',
  );
  assert.deepEqual(media.userMedia.map((t) => t.kind).sort(), ['audio', 'video']);
  const camera = media.userMedia.find((t) => t.kind === 'video');
  assert.equal(camera?.width, 640);
  assert.equal(camera?.height, 480);
  assert.equal(media.displayMedia.length, 1);
  assert.equal(media.displayMedia[0]?.kind, 'video');
  assert.ok((media.displayMedia[0]?.width ?? 0) > 0, 'screen capture has a width');
  assert.equal(await page.connectionState(), 'none');
  await page.close();
});
