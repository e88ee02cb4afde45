// Compatibility: URL ingress. An MP4 made here by ffmpeg (testsrc2 640x360 at 30 fps + a 440 Hz sine) is served over
// HTTP; livekit-server-sdk's IngressClient creates a URL_INPUT ingress for it; Atrium's ffmpeg pulls and encodes it to
// VP8 + Opus and publishes it into the room. A livekit-client page sees an INGRESS participant, decodes 640x360 video
// and hears 440 Hz, from the MP4 and from an HLS playlist of it; the end of the file completes the ingress (participant gone, ingress_ended). A URL that fails
// (HTTP 404) or an ffmpeg killed mid-stream ends its ingress in ERROR with the reason while the server goes on;
// DeleteIngress stops a playing one.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createReadStream, mkdtempSync, rmSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { IngressClient } from 'livekit-server-sdk';
import { IngressInput, IngressState_Status, ParticipantInfo_Kind } from '@livekit/protocol';
import type { WebhookEvent } from '@livekit/protocol';
import { startWebhookReceiver } from '@atrium/server/webhook/test-webhook-receiver.js';
import { waitFor, withTimeout } from '@atrium/webrtc/testing/wait-for.js';
import { launchBrowser, type BrowserHarness } from './helpers/browser.js';
import type { PageEvent } from './helpers/browser-participant.js';
import { hasTone, waitForAudioChannels } from './helpers/audio-channels.js';
import { startAtrium, DEV_API_KEY, DEV_API_SECRET, type AtriumUnderTest } from './helpers/server.js';
import { boundedClose } from './helpers/suite.js';
import { createStepRunner } from './helpers/steps.js';

const TONE_HZ = 440;
const MEDIA_SECONDS = 10;
const ROOM = 'ingress-url-e2e';
const IDENTITY = 'file-player';

let server: AtriumUnderTest | undefined;
let browser: BrowserHarness | undefined;
let receiver: Awaited<ReturnType<typeof startWebhookReceiver>> | undefined;
let files: Server | undefined;
let filesUrl = '';
const dir = mkdtempSync(join(tmpdir(), 'atrium-ingress-url-'));

/** A static file server with byte ranges (ffmpeg's HTTP reader asks for them). */
function serveDir(): Promise<Server> {
  const s = createServer((req, res) => {
    const name = (req.url ?? '/').split('?')[0]!.replace(/^\/+/, '');
    const path = join(dir, name);
    let size: number;
    try {
      if (name.includes('/') || name.includes('..')) throw new Error('bad path');
      size = statSync(path).size;
    } catch {
      res.writeHead(404).end('not found');
      return;
    }
    const range = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? '');
    const start = range ? Number(range[1]) : 0;
    const end = range && range[2] !== '' ? Number(range[2]) : size - 1;
    res.writeHead(range ? 206 : 200, {
      'Content-Type': 'video/mp4', 'Accept-Ranges': 'bytes', 'Content-Length': end - start + 1,
      ...(range ? { 'Content-Range': `bytes ${start}-${end}/${size}` } : {}),
    });
    createReadStream(path, { start, end }).pipe(res);
  });
  return new Promise((resolve) => s.listen(0, '127.0.0.1', () => resolve(s)));
}

before(async () => {
  execFileSync('ffmpeg', [
    '-hide_banner', '-loglevel', 'error', '-y',
    '-f', 'lavfi', '-i', `testsrc2=size=640x360:rate=30:duration=${MEDIA_SECONDS}`,
    '-f', 'lavfi', '-i', `sine=frequency=${TONE_HZ}:sample_rate=48000:duration=${MEDIA_SECONDS}`,
    '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', '-g', '30', '-c:a', 'aac', '-b:a', '128k',
    '-movflags', '+faststart', join(dir, 'test.mp4'),
  ]);
  // the same media as an HLS playlist of 2 s MPEG-TS segments, as a live packager would serve it
  execFileSync('ffmpeg', [
    '-hide_banner', '-loglevel', 'error', '-y', '-i', join(dir, 'test.mp4'), '-c', 'copy', '-f', 'hls', '-hls_time', '2', '-hls_playlist_type', 'vod',
    '-hls_segment_filename', join(dir, 'seg_%03d.ts'), join(dir, 'test.m3u8'),
  ]);
  files = await serveDir();
  filesUrl = `http://127.0.0.1:${(files.address() as AddressInfo).port}`;
  receiver = await startWebhookReceiver(DEV_API_KEY, DEV_API_SECRET);
  server = await withTimeout(startAtrium({ config: { webhook: { apiKey: DEV_API_KEY, urls: [receiver.url] } } }), 15_000, 'Atrium to start');
  browser = await withTimeout(launchBrowser(), 30_000, 'Chromium to launch');
});

after(async () => {
  await boundedClose('closing Chromium', () => browser?.close() ?? Promise.resolve(), 15_000);
  await boundedClose('closing Atrium', () => server?.close() ?? Promise.resolve(), 10_000);
  await boundedClose('closing the webhook receiver', () => receiver?.close() ?? Promise.resolve(), 5_000);
  await boundedClose('closing the file server', () => new Promise<void>((r) => (files ? files.close(() => r()) : r())), 5_000);
  rmSync(dir, { recursive: true, force: true });
});

function eventsOf(ingressId: string): WebhookEvent[] {
  assert.ok(receiver);
  return receiver.received.map((r) => r.event).filter((e) => e.ingressInfo?.ingressId === ingressId || (e.room?.name === ROOM && e.participant?.identity === IDENTITY));
}

test('a URL ingress plays an MP4 into the room: 640x360 video and 440 Hz decoded by livekit-client; the end of the file completes it', { timeout: 120_000 }, async (t) => {
  assert.ok(server && browser);
  const srv = server;
  const harness = browser;
  const run = createStepRunner({ scenario: 'ingress-url.test.ts', logs: () => harness.logs() });
  const ingresses = new IngressClient(srv.httpUrl, DEV_API_KEY, DEV_API_SECRET);
  const viewer = await harness.openParticipant('viewer');
  await viewer.connect(srv.url, await srv.token({ identity: 'viewer', room: ROOM }));

  const info = await run.step('IngressClient.createIngress(URL_INPUT) with the file URL starts it at once', async () => {
    const created = await ingresses.createIngress(IngressInput.URL_INPUT, {
      roomName: ROOM, participantIdentity: IDENTITY, participantName: 'File player', url: `${filesUrl}/test.mp4`,
    });
    assert.match(created.ingressId, /^IN_/);
    assert.equal(created.url, `${filesUrl}/test.mp4`);
    assert.equal(created.reusable, false);
    return created;
  });

  await run.step('the viewer sees an INGRESS participant and decodes its video at 640x360', async () => {
    await viewer.waitForEvent((e: PageEvent) => e.type === 'trackSubscribed' && e.participant === IDENTITY && e.kind === 'video', { label: 'URL ingress video subscribed', timeoutMs: 20_000 });
    const people = await viewer.call<{ identity: string; kind: number; name: string }[]>('remoteParticipants');
    assert.equal(people.find((p) => p.identity === IDENTITY)?.kind, ParticipantInfo_Kind.INGRESS);
    const pick = (rows: Awaited<ReturnType<typeof viewer.remoteTrackStats>>) => rows.find((r) => r.participant === IDENTITY && r.kind === 'video');
    const first = await viewer.waitForDecoding(pick, (r) => r.frameWidth === 640 && r.frameHeight === 360, { label: 'URL ingress video at 640x360', timeoutMs: 20_000 });
    const { fps, row: later } = await viewer.decodeRate(pick, first, 2_000);
    run.note(`decoded ${later?.frameWidth}x${later?.frameHeight} at ${fps.toFixed(1)} fps (${later?.codec})`);
    // The file is 30 fps; measured 29.7 on our shared 2-core machines (load average near 10 from other jobs). With a
    // slower encoder setting (libvpx cpu-used 8) the same run decoded 13-20 fps: the bound catches an encoder that
    // cannot keep up as well as a stalled stream.
    assert.ok(fps >= 20, `decoded frame rate ${fps.toFixed(1)} fps, expected close to the file's 30`);
  });

  await run.step('the viewer hears 440 Hz; listIngress says PUBLISHING', async () => {
    const row = (await viewer.remoteTrackStats()).find((r) => r.participant === IDENTITY && r.kind === 'audio');
    assert.ok(row, 'an audio track');
    await waitForAudioChannels(viewer, row.trackSid, [TONE_HZ], hasTone(TONE_HZ), { label: 'a 440 Hz peak', timeoutMs: 10_000 });
    const [now] = await ingresses.listIngress({ ingressId: info.ingressId });
    assert.equal(now?.state?.status, IngressState_Status.ENDPOINT_PUBLISHING);
  });

  await run.step('the end of the file completes the ingress: the participant leaves, COMPLETE, ingress_ended after participant_left', async () => {
    await viewer.waitForEvent((e: PageEvent) => e.type === 'participantDisconnected' && e.participant === IDENTITY, { label: 'the ingress participant left at the end of the file', timeoutMs: MEDIA_SECONDS * 1000 + 10_000 });
    const [done] = await ingresses.listIngress({ ingressId: info.ingressId });
    assert.equal(done?.state?.status, IngressState_Status.ENDPOINT_COMPLETE, done?.state?.error);
    await waitFor(() => eventsOf(info.ingressId).some((e) => e.event === 'ingress_ended'), { label: 'ingress_ended', timeoutMs: 10_000, intervalMs: 50 });
    const names = eventsOf(info.ingressId).map((e) => e.event);
    run.note(names.join(', '));
    assert.equal(names[0], 'ingress_started', names.join(', '));
    assert.ok(names.indexOf('participant_left') < names.indexOf('ingress_ended'), names.join(', '));
  });

  await run.step('an HLS playlist URL plays too: 640x360 decoded and 440 Hz heard; DeleteIngress stops it', async () => {
    const fromIndex = await viewer.eventCount();
    const hls = await ingresses.createIngress(IngressInput.URL_INPUT, { roomName: ROOM, participantIdentity: 'hls-player', url: `${filesUrl}/test.m3u8` });
    await viewer.waitForEvent((e: PageEvent) => e.type === 'trackSubscribed' && e.participant === 'hls-player' && e.kind === 'video', { label: 'HLS ingress video subscribed', timeoutMs: 20_000, fromIndex });
    const pick = (rows: Awaited<ReturnType<typeof viewer.remoteTrackStats>>) => rows.find((r) => r.participant === 'hls-player' && r.kind === 'video');
    await viewer.waitForDecoding(pick, (r) => r.frameWidth === 640 && r.frameHeight === 360, { label: 'HLS ingress video at 640x360', timeoutMs: 20_000 });
    const audio = (await viewer.remoteTrackStats()).find((r) => r.participant === 'hls-player' && r.kind === 'audio');
    assert.ok(audio, 'an audio track from the playlist');
    await waitForAudioChannels(viewer, audio.trackSid, [TONE_HZ], hasTone(TONE_HZ), { label: 'a 440 Hz peak from the playlist', timeoutMs: 10_000 });
    await ingresses.deleteIngress(hls.ingressId);
    await viewer.waitForEvent((e: PageEvent) => e.type === 'participantDisconnected' && e.participant === 'hls-player', { label: 'the HLS ingress participant left', timeoutMs: 5_000, fromIndex });
  });

  await run.step('DeleteIngress on a playing URL ingress stops it: the participant leaves, the ingress is gone', async () => {
    const fromIndex = await viewer.eventCount();
    const second = await ingresses.createIngress(IngressInput.URL_INPUT, { roomName: ROOM, participantIdentity: 'second-player', url: `${filesUrl}/test.mp4` });
    await viewer.waitForEvent((e: PageEvent) => e.type === 'trackSubscribed' && e.participant === 'second-player' && e.kind === 'video', { label: 'second URL ingress subscribed', timeoutMs: 20_000, fromIndex });
    const deleted = await ingresses.deleteIngress(second.ingressId);
    assert.equal(deleted.state?.status, IngressState_Status.ENDPOINT_COMPLETE);
    await viewer.waitForEvent((e: PageEvent) => e.type === 'participantDisconnected' && e.participant === 'second-player', { label: 'the second ingress participant left', timeoutMs: 5_000, fromIndex });
    assert.deepEqual((await ingresses.listIngress({ ingressId: second.ingressId })), []);
  });

  await run.step('ffmpeg killed mid-stream (SIGKILL): the ingress ends in ERROR naming it, its participant leaves, the server goes on', async () => {
    const fromIndex = await viewer.eventCount();
    const url = `${filesUrl}/test.mp4?crash=1`;
    const third = await ingresses.createIngress(IngressInput.URL_INPUT, { roomName: ROOM, participantIdentity: 'crashing-player', url });
    await viewer.waitForEvent((e: PageEvent) => e.type === 'trackSubscribed' && e.participant === 'crashing-player' && e.kind === 'video', { label: 'crashing URL ingress subscribed', timeoutMs: 20_000, fromIndex });
    // Atrium runs in this process, so its ffmpeg is our child: found by parent pid and its URL, killed by pid.
    const ps = execFileSync('ps', ['-o', 'pid=,args=', '--ppid', String(process.pid)], { encoding: 'utf8' });
    const line = ps.split('\n').find((l) => l.includes('ffmpeg') && l.includes(url));
    assert.ok(line, `the ingress's ffmpeg among our children:\n${ps}`);
    process.kill(Number(line.trim().split(/\s+/)[0]), 'SIGKILL');
    await viewer.waitForEvent((e: PageEvent) => e.type === 'participantDisconnected' && e.participant === 'crashing-player', { label: 'the crashed ingress participant left', timeoutMs: 5_000, fromIndex });
    const [after] = await ingresses.listIngress({ ingressId: third.ingressId });
    assert.equal(after?.state?.status, IngressState_Status.ENDPOINT_ERROR);
    assert.match(after?.state?.error ?? '', /ffmpeg exited with signal SIGKILL/);
    run.note(`error: ${after?.state?.error}`);
    assert.equal((await fetch(`${srv.httpUrl}/`)).status, 200);
  });

  await run.step('a URL that fails (HTTP 404) ends its ingress in ERROR with the reason; the server goes on', async () => {
    const bad = await ingresses.createIngress(IngressInput.URL_INPUT, { roomName: ROOM, participantIdentity: 'missing-file', url: `${filesUrl}/missing.mp4` });
    const failed = await waitFor(
      async () => {
        const [x] = await ingresses.listIngress({ ingressId: bad.ingressId });
        return x?.state?.status === IngressState_Status.ENDPOINT_ERROR ? x : undefined;
      },
      { label: 'the failing URL ingress in ERROR', timeoutMs: 15_000, intervalMs: 200 },
    );
    run.note(`error: ${failed.state?.error}`);
    assert.match(failed.state?.error ?? '', /ffmpeg exited with code \d+/);
    assert.equal((await fetch(`${srv.httpUrl}/`)).status, 200);
  });
  await viewer.disconnect();
  await waitFor(() => srv.server.resources().sessions === 0, { label: 'media sessions back to zero', timeoutMs: 10_000 });
  t.diagnostic(`steps:\n${run.history()}`);
});
