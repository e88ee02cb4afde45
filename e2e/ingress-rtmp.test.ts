// Compatibility: RTMP ingress, as OBS uses it. livekit-server-sdk's IngressClient creates an RTMP_INPUT ingress; Debian's
// ffmpeg pushes a 1280x720 testsrc2 at 30 fps (libx264) and a 440 Hz sine (AAC) to rtmp://127.0.0.1:<port>/x/<key>;
// Atrium transcodes it to the default preset (VP8 simulcast 320x180 / 640x360 / 1280x720 + Opus). A livekit-client
// page sees an INGRESS participant, decodes the top layer at 1280x720 and the low one at 320x180, and hears 440 Hz;
// the publisher killed and restarted with the same key resumes the same ingress (OBS's reconnect). Bad input: a wrong
// stream key and a second publisher on a live key are refused, garbage on the RTMP port harms nothing.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { connect, createServer as createNetServer, type AddressInfo, type Socket } from 'node:net';
import { IngressClient } from 'livekit-server-sdk';
import { IngressInput, IngressState_Status, ParticipantInfo_Kind } from '@livekit/protocol';
import type { IngressInfo, WebhookEvent } from '@livekit/protocol';
import { startWebhookReceiver } from '@atrium/server/webhook/test-webhook-receiver.js';
import { encodeAmf0 } from '@atrium/server/ingress/rtmp/amf0.js';
import { writeMessage } from '@atrium/server/ingress/rtmp/chunk-stream.js';
import { waitFor, withTimeout } from '@atrium/webrtc/testing/wait-for.js';
import { launchBrowser, type BrowserHarness } from './helpers/browser.js';
import type { BrowserParticipant, PageEvent, RemoteTrackStats } from './helpers/browser-participant.js';
import { hasTone, waitForAudioChannels } from './helpers/audio-channels.js';
import { startAtrium, DEV_API_KEY, DEV_API_SECRET, type AtriumUnderTest } from './helpers/server.js';
import { boundedClose } from './helpers/suite.js';
import { createStepRunner } from './helpers/steps.js';

const TONE_HZ = 440;
const ROOM = 'ingress-rtmp-e2e';
const IDENTITY = 'obs';

let server: AtriumUnderTest | undefined;
let browser: BrowserHarness | undefined;
let receiver: Awaited<ReturnType<typeof startWebhookReceiver>> | undefined;
let rtmpPort = 0;
const pushers = new Set<ChildProcess>();

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createNetServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

before(async () => {
  rtmpPort = await freePort();
  receiver = await startWebhookReceiver(DEV_API_KEY, DEV_API_SECRET);
  server = await withTimeout(startAtrium({ config: { webhook: { apiKey: DEV_API_KEY, urls: [receiver.url] }, ingress: { rtmpPort } } }), 15_000, 'Atrium to start');
  browser = await withTimeout(launchBrowser(), 30_000, 'Chromium to launch');
});

after(async () => {
  for (const p of pushers) p.kill('SIGKILL');
  await boundedClose('closing Chromium', () => browser?.close() ?? Promise.resolve(), 15_000);
  await boundedClose('closing Atrium', () => server?.close() ?? Promise.resolve(), 10_000);
  await boundedClose('closing the webhook receiver', () => receiver?.close() ?? Promise.resolve(), 5_000);
});

interface Pusher {
  child: ChildProcess;
  /** Its exit code (null: killed by a signal), once it exited. */
  exited: Promise<number | null>;
  stderr(): string;
}

/** Debian's ffmpeg publishing a test pattern and a tone over RTMP, as OBS would (H.264 + AAC, key frame every second). */
function push(url: string, opts: { seconds?: number } = {}): Pusher {
  const child = spawn('ffmpeg', [
    '-hide_banner', '-loglevel', 'error', '-nostdin', '-re',
    '-f', 'lavfi', '-i', `testsrc2=size=1280x720:rate=30${opts.seconds ? `:duration=${opts.seconds}` : ''}`,
    '-f', 'lavfi', '-i', `sine=frequency=${TONE_HZ}:sample_rate=48000${opts.seconds ? `:duration=${opts.seconds}` : ''}`,
    '-c:v', 'libx264', '-preset', 'ultrafast', '-tune', 'zerolatency', '-pix_fmt', 'yuv420p', '-g', '30', '-b:v', '2500k',
    '-c:a', 'aac', '-b:a', '128k', '-ar', '48000', '-f', 'flv', url,
  ], { stdio: ['ignore', 'ignore', 'pipe'] });
  pushers.add(child);
  let err = '';
  child.stderr?.on('data', (b: Buffer) => (err = (err + b.toString()).slice(-2000)));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => {
    pushers.delete(child);
    resolve(code);
  }));
  return { child, exited, stderr: () => err.trim() };
}

/** A publisher of our own that connects, publishes `url`'s key and then sends nothing (what a dead network leaves). */
async function rawPublish(url: string): Promise<Socket> {
  const { port, pathname } = new URL(url);
  const [app, key] = pathname.slice(1).split('/') as [string, string];
  const s = connect(Number(port), '127.0.0.1');
  await new Promise<void>((r) => s.once('connect', () => r()));
  s.on('data', () => {});
  s.on('error', () => {});
  const cmd = (values: Parameters<typeof encodeAmf0>[0], streamId = 0): Buffer =>
    writeMessage(128, { chunkStreamId: 3, typeId: 20, streamId, timestamp: 0, payload: encodeAmf0(values) });
  s.write(Buffer.concat([
    Buffer.of(3), Buffer.alloc(1536, 1), Buffer.alloc(1536, 2),
    cmd(['connect', 1, { app, tcUrl: url.slice(0, url.lastIndexOf('/')) }]), cmd(['createStream', 2, null]), cmd(['publish', 3, null, key, 'live'], 1),
  ]));
  return s;
}

function eventsOf(ingressId: string): string[] {
  assert.ok(receiver);
  return receiver.received.map((r) => r.event)
    .filter((e: WebhookEvent) => e.ingressInfo?.ingressId === ingressId || (e.room?.name === ROOM && e.participant?.identity === IDENTITY))
    .map((e) => e.event);
}

const videoOf = (rows: RemoteTrackStats[]): RemoteTrackStats | undefined => rows.find((r) => r.participant === IDENTITY && r.kind === 'video');

async function waitForStatus(ingresses: IngressClient, id: string, status: IngressState_Status, label: string, timeoutMs = 10_000): Promise<IngressInfo> {
  return waitFor(async () => {
    const [x] = await ingresses.listIngress({ ingressId: id });
    return x?.state?.status === status ? x : undefined;
  }, { label, timeoutMs, intervalMs: 100 });
}

async function waitForIngressVideo(viewer: BrowserParticipant, fromIndex: number, label: string): Promise<string> {
  const e = await viewer.waitForEvent((ev: PageEvent) => ev.type === 'trackSubscribed' && ev.participant === IDENTITY && ev.kind === 'video', { label, timeoutMs: 20_000, fromIndex });
  return (e as { trackSid?: string }).trackSid ?? '';
}

test('RTMP ingress: ffmpeg pushes H.264/AAC; livekit-client decodes the 1280x720 and 320x180 layers and hears 440 Hz; a reconnect resumes the same ingress', { timeout: 120_000 }, async (t) => {
  assert.ok(server && browser);
  const srv = server;
  const harness = browser;
  const run = createStepRunner({ scenario: 'ingress-rtmp.test.ts', logs: () => harness.logs() });
  const ingresses = new IngressClient(srv.httpUrl, DEV_API_KEY, DEV_API_SECRET);
  const viewer = await harness.openParticipant('viewer');
  await viewer.connect(srv.url, await srv.token({ identity: 'viewer', room: ROOM }));

  const info = await run.step('IngressClient.createIngress(RTMP_INPUT): the URL and stream key to paste into OBS', async () => {
    const created = await ingresses.createIngress(IngressInput.RTMP_INPUT, { roomName: ROOM, participantIdentity: IDENTITY, participantName: 'OBS', participantMetadata: 'studio' });
    assert.equal(created.url, `rtmp://127.0.0.1:${rtmpPort}/x`);
    assert.match(created.streamKey, /^[0-9A-Za-z]{12}$/);
    assert.equal(created.reusable, true);
    assert.equal(created.state?.status, IngressState_Status.ENDPOINT_INACTIVE);
    return created;
  });
  const publishUrl = `${info.url}/${info.streamKey}`;

  let pusher = push(publishUrl);
  let trackSid = await run.step('the viewer sees an INGRESS participant and decodes the top layer at 1280x720', async () => {
    const sid = await waitForIngressVideo(viewer, 0, 'RTMP ingress video subscribed');
    const people = await viewer.call<{ identity: string; kind: number; name: string }[]>('remoteParticipants');
    const obs = people.find((p) => p.identity === IDENTITY);
    assert.equal(obs?.kind, ParticipantInfo_Kind.INGRESS);
    assert.equal(obs?.name, 'OBS');
    const first = await viewer.waitForDecoding(videoOf, (r) => r.frameWidth === 1280 && r.frameHeight === 720, { label: 'the 1280x720 layer', timeoutMs: 20_000 });
    const { fps, row: later } = await viewer.decodeRate(videoOf, first, 2_000);
    run.note(`decoded ${later?.frameWidth}x${later?.frameHeight} at ${fps.toFixed(1)} fps (${later?.codec})`);
    assert.ok(fps >= 15, `decoded frame rate ${fps.toFixed(1)} fps, expected near 30`);
    return sid || (later?.trackSid ?? '');
  });

  await run.step('setVideoQuality(LOW): the viewer decodes the 320x180 layer', async () => {
    await viewer.call('setVideoQuality', trackSid, 'LOW');
    const low = await viewer.waitForDecoding(videoOf, (r) => r.frameWidth === 320 && r.frameHeight === 180, { label: 'the 320x180 layer', timeoutMs: 15_000 });
    run.note(`low layer ${low.frameWidth}x${low.frameHeight}`);
    await viewer.call('setVideoQuality', trackSid, 'HIGH');
  });

  await run.step('the viewer hears 440 Hz; listIngress: PUBLISHING, two tracks, the input H.264 1280x720 and AAC', async () => {
    const row = (await viewer.remoteTrackStats()).find((r) => r.participant === IDENTITY && r.kind === 'audio');
    assert.ok(row, 'an audio track');
    await waitForAudioChannels(viewer, row.trackSid, [TONE_HZ], hasTone(TONE_HZ), { label: 'a 440 Hz peak', timeoutMs: 10_000 });
    const now = await waitForStatus(ingresses, info.ingressId, IngressState_Status.ENDPOINT_PUBLISHING, 'PUBLISHING');
    const s = now.state!;
    assert.equal(s.tracks.length, 2);
    const video = s.tracks.find((x) => x.mimeType.toLowerCase() === 'video/vp8');
    assert.deepEqual(video?.layers.map((l) => `${l.width}x${l.height}`), ['320x180', '640x360', '1280x720']);
    assert.deepEqual([s.video?.mimeType, s.video?.width, s.video?.height, Math.round(s.video?.framerate ?? 0)], ['video/h264', 1280, 720, 30]);
    assert.deepEqual([s.audio?.mimeType, s.audio?.sampleRate], ['audio/aac', 48_000]);
    run.note(`input ${s.video?.mimeType} ${s.video?.width}x${s.video?.height}@${s.video?.framerate} ${s.video?.averageBitrate} b/s, ${s.audio?.mimeType} ${s.audio?.channels}ch ${s.audio?.averageBitrate} b/s`);
  });

  await run.step('a second publisher on the live key is refused (BadName); the first goes on', async () => {
    const second = push(publishUrl, { seconds: 3 });
    const code = await withTimeout(second.exited, 15_000, 'the second publisher to give up');
    run.note(`second ffmpeg: exit ${code}: ${second.stderr().split('\n').slice(-1)[0]}`);
    assert.notEqual(code, 0);
    const [still] = await ingresses.listIngress({ ingressId: info.ingressId });
    assert.equal(still?.state?.status, IngressState_Status.ENDPOINT_PUBLISHING);
  });

  await run.step('the publisher is killed (OBS crashes): the participant leaves, INACTIVE, ingress_ended', async () => {
    const fromIndex = await viewer.eventCount();
    pusher.child.kill('SIGKILL');
    await viewer.waitForEvent((e: PageEvent) => e.type === 'participantDisconnected' && e.participant === IDENTITY, { label: 'the ingress participant left', timeoutMs: 10_000, fromIndex });
    const idle = await waitForStatus(ingresses, info.ingressId, IngressState_Status.ENDPOINT_INACTIVE, 'INACTIVE');
    assert.equal(idle.state?.error, '');
    await waitFor(() => eventsOf(info.ingressId).includes('ingress_ended'), { label: 'ingress_ended', timeoutMs: 5_000, intervalMs: 50 });
  });

  await run.step('the same key again (OBS reconnects): the same ingress publishes again, decoded at 1280x720', async () => {
    const fromIndex = await viewer.eventCount();
    pusher = push(publishUrl);
    trackSid = await waitForIngressVideo(viewer, fromIndex, 'the ingress video again');
    await viewer.waitForDecoding(videoOf, (r) => r.frameWidth === 1280 && r.frameHeight === 720, { label: 'the 1280x720 layer after the reconnect', timeoutMs: 20_000 });
    const again = await waitForStatus(ingresses, info.ingressId, IngressState_Status.ENDPOINT_PUBLISHING, 'PUBLISHING again');
    assert.equal(again.ingressId, info.ingressId);
    const names = eventsOf(info.ingressId);
    run.note(names.join(', '));
    assert.deepEqual(names.filter((n) => n.startsWith('ingress_')), ['ingress_started', 'ingress_ended', 'ingress_started']);
    assert.ok(names.indexOf('participant_left') < names.indexOf('ingress_ended'), names.join(', '));
    pusher.child.kill('SIGKILL');
    await waitForStatus(ingresses, info.ingressId, IngressState_Status.ENDPOINT_INACTIVE, 'INACTIVE at the end');
  });
  await viewer.disconnect();
  t.diagnostic(`steps:\n${run.history()}`);
});

test('RTMP bad input: a wrong stream key is refused; garbage and oversized chunks on the port harm nothing; a good push still works', { timeout: 60_000 }, async (t) => {
  assert.ok(server);
  const srv = server;
  const run = createStepRunner({ scenario: 'ingress-rtmp.test.ts bad input', logs: () => [] });
  const ingresses = new IngressClient(srv.httpUrl, DEV_API_KEY, DEV_API_SECRET);

  await run.step('a wrong stream key: ffmpeg is refused and gives up', async () => {
    const wrong = push(`rtmp://127.0.0.1:${rtmpPort}/x/notAStreamKey`, { seconds: 3 });
    const code = await withTimeout(wrong.exited, 15_000, 'ffmpeg with a wrong key to give up');
    run.note(`exit ${code}: ${wrong.stderr().split('\n').slice(-1)[0]}`);
    assert.notEqual(code, 0);
  });

  await run.step('garbage, an HTTP request and an oversized chunk on the RTMP port: each connection is closed', async () => {
    const c0c1 = Buffer.concat([Buffer.of(3), Buffer.alloc(1536, 1)]);
    const oversized = Buffer.of(0x03, 0, 0, 0, 0xff, 0xff, 0xff, 9, 1, 0, 0, 0); // a 16 MiB message announced
    const inputs = [
      Buffer.from(Array.from({ length: 64 * 1024 }, (_v, i) => (i * 7919) & 0xff)),
      Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'.padEnd(2000, 'x')),
      Buffer.concat([c0c1, Buffer.alloc(1536, 2), oversized]),
    ];
    for (const bytes of inputs) {
      await withTimeout(new Promise<void>((resolve, reject) => {
        const s = connect(rtmpPort, '127.0.0.1', () => s.write(bytes));
        s.on('data', () => {});
        s.on('error', () => resolve());
        s.on('close', () => resolve());
        setTimeout(() => reject(new Error('the server kept a garbage connection open')), 5_000).unref();
      }), 6_000, 'the server to close a garbage connection');
    }
    assert.equal((await fetch(`${srv.httpUrl}/`)).status, 200);
  });

  const info = await ingresses.createIngress(IngressInput.RTMP_INPUT, { roomName: `${ROOM}-2`, participantIdentity: 'after-garbage' });
  await run.step('a good push afterwards reaches PUBLISHING; its end puts the ingress back to INACTIVE', async () => {
    const good = push(`${info.url}/${info.streamKey}`, { seconds: 5 });
    await waitForStatus(ingresses, info.ingressId, IngressState_Status.ENDPOINT_PUBLISHING, 'PUBLISHING after the garbage', 15_000);
    assert.equal(await withTimeout(good.exited, 15_000, 'the good push to end'), 0);
    const done = await waitForStatus(ingresses, info.ingressId, IngressState_Status.ENDPOINT_INACTIVE, 'INACTIVE after the push ended');
    assert.equal(done.state?.error, '');
  });

  await run.step('a publisher that went silent (a half-open connection after a network drop) gives way to a new one after 5 s', async () => {
    const hung = await rawPublish(`${info.url}/${info.streamKey}`);
    await waitForStatus(ingresses, info.ingressId, IngressState_Status.ENDPOINT_BUFFERING, 'BUFFERING for the silent publisher');
    const early = push(`${info.url}/${info.streamKey}`, { seconds: 2 });
    assert.notEqual(await withTimeout(early.exited, 15_000, 'the early publisher to be refused'), 0, 'refused while the first is not yet stale');
    await new Promise((r) => setTimeout(r, 5_000));
    const fresh = push(`${info.url}/${info.streamKey}`, { seconds: 4 });
    await waitForStatus(ingresses, info.ingressId, IngressState_Status.ENDPOINT_PUBLISHING, 'PUBLISHING for the new publisher', 15_000);
    assert.ok(hung.destroyed || (await withTimeout(new Promise<boolean>((r) => hung.once('close', () => r(true))), 5_000, 'the silent connection to be closed')));
    assert.equal(await withTimeout(fresh.exited, 15_000, 'the new push to end'), 0);
    await waitForStatus(ingresses, info.ingressId, IngressState_Status.ENDPOINT_INACTIVE, 'INACTIVE after it');
  });

  await run.step('the transcoding ffmpeg killed mid-stream: ERROR naming it, the publisher is disconnected, the server goes on', async () => {
    const pusher = push(`${info.url}/${info.streamKey}`);
    await waitForStatus(ingresses, info.ingressId, IngressState_Status.ENDPOINT_PUBLISHING, 'PUBLISHING again', 15_000);
    // Atrium runs in this process: its transcoder is our child reading FLV on stdin (pipe:0).
    const ps = execFileSync('ps', ['-o', 'pid=,args=', '--ppid', String(process.pid)], { encoding: 'utf8' });
    const line = ps.split('\n').find((l) => l.includes('ffmpeg') && l.includes('pipe:0'));
    assert.ok(line, `the transcoder among our children:\n${ps}`);
    process.kill(Number(line.trim().split(/\s+/)[0]), 'SIGKILL');
    const failed = await waitForStatus(ingresses, info.ingressId, IngressState_Status.ENDPOINT_ERROR, 'ERROR after the transcoder died');
    run.note(`error: ${failed.state?.error}`);
    assert.match(failed.state?.error ?? '', /ffmpeg exited with signal SIGKILL/);
    const code = await withTimeout(pusher.exited, 10_000, 'the publisher to be disconnected');
    run.note(`publisher: exit ${code}`);
    assert.equal((await fetch(`${srv.httpUrl}/`)).status, 200);
  });
  t.diagnostic(`steps:\n${run.history()}`);
});
