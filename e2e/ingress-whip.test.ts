// Compatibility: WHIP ingress (RFC 9725) as a user sets it up. livekit-server-sdk's IngressClient creates a WHIP_INPUT
// ingress; a Chromium page acting as a plain WHIP client (RTCPeerConnection + fetch, no LiveKit code: VP8 with three
// simulcast encodings of a 1280x720 fake camera, Opus from a 440 Hz tone file as the fake microphone) publishes to its
// URL and stream key; a livekit-client page in the room sees an INGRESS participant, decodes the video at 1280x720 and
// hears 440 Hz. DELETE on the Location ends it: the participant leaves, the ingress is COMPLETE and the webhooks
// ingress_started / ingress_ended arrive in order. Bad requests get clear HTTP errors and the server stays up.
import { execFileSync } from 'node:child_process';
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { IngressClient, RoomServiceClient } from 'livekit-server-sdk';
import { IngressInput, IngressState_Status, ParticipantInfo_Kind, TrackSource } from '@livekit/protocol';
import type { IngressInfo, WebhookEvent } from '@livekit/protocol';
import { startWebhookReceiver } from '@atrium/server/webhook/test-webhook-receiver.js';
import { waitFor, withTimeout } from '@atrium/webrtc/testing/wait-for.js';
import { launchBrowser, type BrowserHarness } from './helpers/browser.js';
import type { BrowserParticipant, PageEvent } from './helpers/browser-participant.js';
import { hasTone, waitForAudioChannels } from './helpers/audio-channels.js';
import { startAtrium, DEV_API_KEY, DEV_API_SECRET, type AtriumUnderTest } from './helpers/server.js';
import { boundedClose } from './helpers/suite.js';
import { createStepRunner } from './helpers/steps.js';
import { writeToneWav } from './helpers/tone.js';

const TONE_HZ = 440;
const ROOM = 'ingress-whip-e2e';
const IDENTITY = 'whip-cam';

let server: AtriumUnderTest | undefined;
let browser: BrowserHarness | undefined;
let receiver: Awaited<ReturnType<typeof startWebhookReceiver>> | undefined;
const wavDir = mkdtempSync(join(tmpdir(), 'atrium-ingress-'));

before(async () => {
  receiver = await startWebhookReceiver(DEV_API_KEY, DEV_API_SECRET);
  server = await withTimeout(
    startAtrium({ config: { webhook: { apiKey: DEV_API_KEY, urls: [receiver.url] } } }),
    15_000,
    'Atrium to start',
  );
  const wav = join(wavDir, 'tone-440.wav');
  writeToneWav(wav, { frequencyHz: TONE_HZ, amplitude: 0.5, seconds: 2 });
  browser = await withTimeout(launchBrowser({ extraArgs: [`--use-file-for-fake-audio-capture=${wav}`] }), 30_000, 'Chromium to launch');
});

after(async () => {
  await boundedClose('closing Chromium', () => browser?.close() ?? Promise.resolve(), 15_000);
  await boundedClose('closing Atrium', () => server?.close() ?? Promise.resolve(), 10_000);
  await boundedClose('closing the webhook receiver', () => receiver?.close() ?? Promise.resolve(), 5_000);
  rmSync(wavDir, { recursive: true, force: true });
});

// The WHIP client, as page script text (nothing is transpiled into the page): no livekit-client involved.
const WHIP_CLIENT = `
window.whipClient = {
  async offerFor(kind, trickle) {
    const pc = new RTCPeerConnection();
    // Trickle ICE (RFC 9725 4.3.1): candidates gathered after the offer go in PATCHes once the resource is known.
    window.whipTrickle = { queue: [], send: null, statuses: [] };
    if (trickle) {
      pc.addEventListener('icecandidate', (e) => {
        const t = window.whipTrickle;
        const line = e.candidate && e.candidate.candidate ? 'a=' + e.candidate.candidate + '\\r\\n' : 'a=end-of-candidates\\r\\n';
        if (t.send) t.send(line); else t.queue.push(line);
      });
    }
    if (kind === 'datachannel-only') {
      pc.createDataChannel('x');
    } else {
      const stream = await navigator.mediaDevices.getUserMedia({
        audio: { echoCancellation: false, noiseSuppression: false, autoGainControl: false },
        video: { width: 1280, height: 720, frameRate: 30 },
      });
      pc.addTransceiver(stream.getAudioTracks()[0], { direction: 'sendonly', streams: [stream] });
      const video = pc.addTransceiver(stream.getVideoTracks()[0], {
        direction: 'sendonly', streams: [stream],
        sendEncodings: [
          { rid: 'q', scaleResolutionDownBy: 4, maxBitrate: 150000 },
          { rid: 'h', scaleResolutionDownBy: 2, maxBitrate: 500000 },
          { rid: 'f', maxBitrate: 1700000 },
        ],
      });
      video.setCodecPreferences(RTCRtpSender.getCapabilities('video').codecs.filter((c) => /vp8|rtx/i.test(c.mimeType)));
      window.whipStream = stream;
    }
    await pc.setLocalDescription(await pc.createOffer());
    if (trickle) return pc;
    await new Promise((resolve) => {
      if (pc.iceGatheringState === 'complete') return resolve();
      pc.addEventListener('icegatheringstatechange', () => { if (pc.iceGatheringState === 'complete') resolve(); });
      setTimeout(resolve, 3000);
    });
    return pc;
  },
  async post(url, body, headers) {
    const res = await fetch(url, { method: 'POST', headers: Object.assign({ 'Content-Type': 'application/sdp' }, headers || {}), body });
    return { status: res.status, body: await res.text(), location: res.headers.get('Location'), contentType: res.headers.get('Content-Type') };
  },
  async publish(endpoint, streamKey) {
    const pc = await this.offerFor('media', true);
    const offer = pc.localDescription.sdp;
    const res = await fetch(endpoint + '/' + encodeURIComponent(streamKey), { method: 'POST', headers: { 'Content-Type': 'application/sdp' }, body: offer });
    const r = { status: res.status, body: await res.text(), location: res.headers.get('Location'), contentType: res.headers.get('Content-Type') };
    if (r.status !== 201) { pc.close(); return r; }
    await pc.setRemoteDescription({ type: 'answer', sdp: r.body });
    window.whipPc = pc;
    window.whipLocation = new URL(r.location, endpoint).href;
    const etag = res.headers.get('ETag');
    const ice = offer.match(/a=ice-ufrag:.*\\r\\na=ice-pwd:.*\\r\\n/)[0];
    const mid = offer.match(/a=mid:(.*)\\r\\n/)[1];
    const t = window.whipTrickle;
    t.send = (line) => {
      const body = ice + 'm=audio 9 UDP/TLS/RTP/SAVPF 0\\r\\na=mid:' + mid + '\\r\\n' + line;
      t.statuses.push(fetch(window.whipLocation, { method: 'PATCH', headers: { 'Content-Type': 'application/trickle-ice-sdpfrag', 'If-Match': etag }, body })
        .then((x) => x.status, () => 0));
    };
    for (const line of t.queue.splice(0)) t.send(line);
    return { status: r.status, location: r.location, contentType: r.contentType, resource: window.whipLocation, acceptPatch: res.headers.get('Accept-Patch'), offerCandidates: (offer.match(/a=candidate:/g) || []).length };
  },
  async patchStatuses() { return Promise.all(window.whipTrickle.statuses); },
  async postOfferOf(kind, url) {
    const pc = await this.offerFor(kind);
    const r = await this.post(url, pc.localDescription.sdp);
    pc.close();
    return r;
  },
  state() { return window.whipPc ? window.whipPc.connectionState : 'none'; },
  async sentEncodings() {
    const out = [];
    (await window.whipPc.getStats()).forEach((s) => {
      if (s.type === 'outbound-rtp' && s.kind === 'video') out.push({ rid: s.rid, bytesSent: s.bytesSent, width: s.frameWidth, height: s.frameHeight });
    });
    return out;
  },
  async remove() {
    const res = await fetch(window.whipLocation, { method: 'DELETE' });
    window.whipPc.close();
    window.whipStream.getTracks().forEach((t) => t.stop());
    return { status: res.status, body: await res.text() };
  },
};`;

interface PostResult { status: number; body: string; location: string | null; contentType: string | null }

function ingressEvents(ingressId: string): WebhookEvent[] {
  assert.ok(receiver);
  return receiver.received.map((r) => r.event).filter((e) => e.ingressInfo?.ingressId === ingressId || e.room?.name === ROOM);
}

function describeEvent(e: WebhookEvent): string {
  return [e.event, e.participant?.identity, e.ingressInfo ? IngressState_Status[e.ingressInfo.state?.status ?? 0] : undefined].filter(Boolean).join(' ');
}

/** Atrium runs in this process: its WHIP transcoders are our ffmpeg children reading an SDP input file. */
function transcoders(): string[] {
  const ps = execFileSync('ps', ['-o', 'pid=,args=', '--ppid', String(process.pid)], { encoding: 'utf8' });
  return ps.split('\n').filter((l) => /^\s*\d+\s+\S*ffmpeg\s/.test(l) && /atrium-ingress-[\w-]+\.sdp/.test(l));
}

/** DELETE on the page's WHIP resource (200), then the viewer sees the ingress participant leave. */
async function deleteResource(whip: BrowserParticipant, viewer: BrowserParticipant, identity: string): Promise<void> {
  const fromIndex = await viewer.eventCount();
  const r = await whip.page.evaluate<{ status: number; body: string }>('window.whipClient.remove()');
  assert.equal(r.status, 200, r.body);
  await viewer.waitForEvent((e: PageEvent) => e.type === 'participantDisconnected' && e.participant === identity, { label: 'the ingress participant left', timeoutMs: 10_000, fromIndex });
}

test('a WHIP client publishes through an IngressClient ingress; a livekit-client page sees, decodes and hears it; DELETE ends it', { timeout: 150_000 }, async (t) => {
  assert.ok(server && browser && receiver);
  const srv = server;
  const harness = browser;
  const run = createStepRunner({ scenario: 'ingress-whip.test.ts', logs: () => harness.logs() });
  const ingressClient = new IngressClient(srv.httpUrl, DEV_API_KEY, DEV_API_SECRET);
  const roomClient = new RoomServiceClient(srv.httpUrl, DEV_API_KEY, DEV_API_SECRET);

  const ingress: IngressInfo = await run.step('IngressClient.createIngress(WHIP_INPUT) returns an inactive ingress with a URL and stream key', async () => {
    const info = await ingressClient.createIngress(IngressInput.WHIP_INPUT, {
      name: 'cam', roomName: ROOM, participantIdentity: IDENTITY, participantName: 'WHIP camera', participantMetadata: '{"via":"whip"}',
    });
    run.note(`${info.ingressId} url ${info.url} key ${info.streamKey}`);
    assert.match(info.ingressId, /^IN_/);
    assert.ok(info.streamKey.length >= 10, 'a stream key');
    assert.equal(info.url, `${srv.httpUrl}/w`);
    assert.equal(info.inputType, IngressInput.WHIP_INPUT);
    assert.equal(info.state?.status, IngressState_Status.ENDPOINT_INACTIVE);
    assert.equal(info.reusable, true);
    return info;
  });

  const whip: BrowserParticipant = await harness.openParticipant('whip');
  await whip.page.evaluate(WHIP_CLIENT);
  const viewer = await harness.openParticipant('viewer');
  await viewer.connect(srv.url, await srv.token({ identity: 'viewer', room: ROOM }));

  await run.step('bad WHIP requests get clear errors (CORS-readable from a page) and change nothing', async () => {
    const endpoint = ingress.url;
    const wrongKey = await whip.page.evaluate<PostResult, string>((u) => (window as any).whipClient.postOfferOf('media', u), `${endpoint}/not-a-stream-key`);
    assert.equal(wrongKey.status, 404, wrongKey.body);
    assert.match(wrongKey.body, /no ingress has this stream key/);
    const noMedia = await whip.page.evaluate<PostResult, string>((u) => (window as any).whipClient.postOfferOf('datachannel-only', u), `${endpoint}/${ingress.streamKey}`);
    assert.equal(noMedia.status, 400, noMedia.body);
    assert.match(noMedia.body, /sends no audio or video/);
    const garbage = await whip.page.evaluate<PostResult, string>((u) => (window as any).whipClient.post(u, 'hello, not sdp'), `${endpoint}/${ingress.streamKey}`);
    assert.equal(garbage.status, 400, garbage.body);
    assert.match(garbage.body, /not an SDP offer/);
    const noKey = await whip.page.evaluate<PostResult, string>((u) => (window as any).whipClient.post(u, 'v=0'), endpoint);
    assert.equal(noKey.status, 401, noKey.body);
    const [info] = await ingressClient.listIngress({ ingressId: ingress.ingressId });
    assert.equal(info?.state?.status, IngressState_Status.ENDPOINT_INACTIVE, 'still inactive after refused offers');
  });

  const published = await run.step('the WHIP client POSTs its offer at once and trickles its candidates (PATCH, 204 each): 201, an SDP answer and a Location; its PeerConnection connects', async () => {
    const r = await whip.page.evaluate<{ status: number; location: string; contentType: string; resource: string; body?: string; acceptPatch?: string; offerCandidates?: number }, [string, string]>(
      ([e, k]) => (window as any).whipClient.publish(e, k),
      [ingress.url, ingress.streamKey],
    );
    assert.equal(r.status, 201, r.body);
    assert.equal(r.contentType, 'application/sdp');
    assert.match(r.location, new RegExp(`^/w/${ingress.streamKey}/WH_`));
    assert.equal(r.acceptPatch, 'application/trickle-ice-sdpfrag');
    await waitFor(async () => (await whip.page.evaluate('window.whipClient.state()')) === 'connected', { label: 'the WHIP PeerConnection connected', timeoutMs: 15_000 });
    const statuses = await waitFor(async () => {
      const all = await whip.page.evaluate<number[]>('window.whipClient.patchStatuses()');
      return all.length > 0 ? all : undefined;
    }, { label: 'trickle PATCHes answered', timeoutMs: 10_000, intervalMs: 200 });
    run.note(`offer with ${r.offerCandidates} candidates; ${statuses.length} PATCHes: ${statuses.join(', ')}`);
    assert.ok(statuses.every((x) => x === 204), `trickle PATCH statuses ${statuses.join(', ')}`);
    return r;
  });
  run.note(`resource ${published.location}`);

  await run.step('the viewer sees an INGRESS participant with the ingress identity, name and metadata, camera and microphone', async () => {
    await viewer.waitForEvent((e: PageEvent) => e.type === 'trackSubscribed' && e.participant === IDENTITY && e.kind === 'video', { label: 'ingress video subscribed', timeoutMs: 20_000 });
    await viewer.waitForEvent((e: PageEvent) => e.type === 'trackSubscribed' && e.participant === IDENTITY && e.kind === 'audio', { label: 'ingress audio subscribed', timeoutMs: 20_000 });
    const people = await viewer.call<{ identity: string; kind: number; name: string; metadata: string }[]>('remoteParticipants');
    const p = people.find((x) => x.identity === IDENTITY);
    assert.ok(p, `ingress participant among ${JSON.stringify(people)}`);
    assert.equal(p.kind, ParticipantInfo_Kind.INGRESS);
    assert.equal(p.name, 'WHIP camera');
    assert.equal(p.metadata, '{"via":"whip"}');
    const listed = (await roomClient.listParticipants(ROOM)).find((x) => x.identity === IDENTITY);
    assert.equal(listed?.kind, ParticipantInfo_Kind.INGRESS);
    const sources = (listed?.tracks ?? []).map((t) => t.source).sort();
    assert.deepEqual(sources, [TrackSource.CAMERA, TrackSource.MICROPHONE]);
    const video = listed?.tracks.find((t) => t.source === TrackSource.CAMERA);
    assert.equal(video?.simulcast, true, 'three rids: a simulcast track');
    assert.equal(video?.layers.length, 3);
  });

  await run.step('the viewer decodes the ingress video at 1280x720 (the f layer) at a camera frame rate', async () => {
    const pick = (rows: Awaited<ReturnType<typeof viewer.remoteTrackStats>>) => rows.find((r) => r.participant === IDENTITY && r.kind === 'video');
    const first = await viewer.waitForDecoding(pick, (r) => r.frameWidth === 1280 && r.frameHeight === 720, { label: 'ingress video at 1280x720', timeoutMs: 40_000 });
    const { fps, row: later } = await viewer.decodeRate(pick, first, 3_000);
    assert.ok(later);
    run.note(`decoded ${later.frameWidth}x${later.frameHeight} at ${fps.toFixed(1)} fps, codec ${later.codec}`);
    assert.equal(later.frameWidth, 1280);
    assert.ok(fps >= 15, `decoded frame rate ${fps.toFixed(1)} fps, expected >= 15`);
    run.note(`sender encodings: ${JSON.stringify(await whip.page.evaluate('window.whipClient.sentEncodings()'))}`);
  });

  await run.step('the viewer hears the ingress tone at 440 Hz', async () => {
    const row = (await viewer.remoteTrackStats()).find((r) => r.participant === IDENTITY && r.kind === 'audio');
    assert.ok(row);
    await waitForAudioChannels(viewer, row.trackSid, [TONE_HZ], hasTone(TONE_HZ), { label: 'a 440 Hz peak in the ingress audio', timeoutMs: 15_000 });
  });

  await run.step('IngressClient.listIngress shows the ingress PUBLISHING with its two tracks and a start time', async () => {
    const [info] = await ingressClient.listIngress({ roomName: ROOM });
    assert.equal(info?.ingressId, ingress.ingressId);
    assert.equal(info?.state?.status, IngressState_Status.ENDPOINT_PUBLISHING);
    assert.equal(info?.state?.tracks.length, 2);
    assert.ok((info?.state?.startedAt ?? 0n) > 0n);
    assert.match(info?.state?.resourceId ?? '', /^WH_/);
    assert.equal(info?.state?.video?.mimeType, 'video/VP8');
    assert.equal(info?.state?.audio?.mimeType, 'audio/opus');
  });

  await run.step('DELETE on the Location ends the stream: the participant leaves, the ingress is COMPLETE', async () => {
    await deleteResource(whip, viewer, IDENTITY);
    const [info] = await ingressClient.listIngress({ ingressId: ingress.ingressId });
    assert.equal(info?.state?.status, IngressState_Status.ENDPOINT_COMPLETE);
    assert.equal(info?.state?.error, '');
    assert.ok((info?.state?.endedAt ?? 0n) >= (info?.state?.startedAt ?? 0n) && (info?.state?.endedAt ?? 0n) > 0n);
    const again = await whip.page.evaluate<{ status: number; body: string }, string>((u) => fetch(u, { method: 'DELETE' }).then(async (x) => ({ status: x.status, body: await x.text() })), published.resource ?? '');
    assert.equal(again.status, 404, 'a second DELETE finds nothing');
  });

  await run.step('webhooks: ingress_started, participant_joined, ..., participant_left, ingress_ended, in order', async () => {
    await waitFor(() => ingressEvents(ingress.ingressId).some((e) => e.event === 'ingress_ended'), {
      label: 'ingress_ended webhook', timeoutMs: 10_000, intervalMs: 50, describe: async () => ingressEvents(ingress.ingressId).map(describeEvent).join(', '),
    });
    const names = ingressEvents(ingress.ingressId).filter((e) => e.event.startsWith('ingress_') || e.participant?.identity === IDENTITY).map((e) => e.event);
    run.note(names.join(', '));
    const at = (n: string): number => names.indexOf(n);
    assert.ok(at('ingress_started') >= 0 && at('ingress_started') < at('participant_joined'), names.join(', '));
    assert.ok(at('participant_joined') < at('participant_left') && at('participant_left') < at('ingress_ended'), names.join(', '));
    const ended = ingressEvents(ingress.ingressId).find((e) => e.event === 'ingress_ended');
    assert.equal(ended?.ingressInfo?.state?.status, IngressState_Status.ENDPOINT_COMPLETE);
  });

  await run.step('RTMP on a server without an RTMP listener (ingress.rtmp_port 0) is refused saying so; the server still answers', async () => {
    await assert.rejects(
      ingressClient.createIngress(IngressInput.RTMP_INPUT, { roomName: ROOM, participantIdentity: 'obs' }),
      (err: { status?: number; code?: string; message: string }) => err.status === 412 && err.code === 'failed_precondition' && /RTMP ingress is off/.test(err.message),
    );
    const deleted = await ingressClient.deleteIngress(ingress.ingressId);
    assert.equal(deleted.ingressId, ingress.ingressId);
    assert.deepEqual(await ingressClient.listIngress({ roomName: ROOM }), []);
  });
  await viewer.disconnect();
  await waitFor(() => srv.server.resources().sessions === 0, { label: 'media sessions back to zero', timeoutMs: 10_000 });
  t.diagnostic(`steps:\n${run.history()}`);
});

// WHIP with enable_transcoding (LiveKit's default video preset: VP8 simulcast 320x180 / 640x360 / 1280x720, Opus):
// the same Chromium WHIP client publishes; the room sees only the ingress's participant with the transcoder's layers.
test('WHIP with enableTranscoding: the viewer decodes the transcoded 1280x720 and 320x180 layers and hears the tone; DELETE ends it; a killed transcoder is ERROR', { timeout: 90_000 }, async (t) => {
  assert.ok(server && browser);
  const srv = server;
  const harness = browser;
  const room = 'ingress-whip-transcode-e2e';
  const identity = 'whip-transcoded';
  const run = createStepRunner({ scenario: 'ingress-whip.test.ts transcoding', logs: () => harness.logs() });
  const ingressClient = new IngressClient(srv.httpUrl, DEV_API_KEY, DEV_API_SECRET);
  const ingress = await ingressClient.createIngress(IngressInput.WHIP_INPUT, { roomName: room, participantIdentity: identity, participantName: 'Transcoded', enableTranscoding: true });
  assert.equal(ingress.enableTranscoding, true);
  const whip = await harness.openParticipant('whip-transcoded');
  await whip.page.evaluate(WHIP_CLIENT);
  const viewer = await harness.openParticipant('viewer-transcoded');
  await viewer.connect(srv.url, await srv.token({ identity: 'viewer2', room }));
  const videoOf = (rows: Awaited<ReturnType<typeof viewer.remoteTrackStats>>) => rows.find((r) => r.participant === identity && r.kind === 'video');

  await run.step('the WHIP client publishes (201); the viewer sees only the INGRESS participant, with the preset layers', async () => {
    const r = await whip.page.evaluate<{ status: number; body?: string }, [string, string]>(([e, k]) => (window as any).whipClient.publish(e, k), [ingress.url, ingress.streamKey]);
    assert.equal(r.status, 201, r.body);
    await viewer.waitForEvent((e: PageEvent) => e.type === 'trackSubscribed' && e.participant === identity && e.kind === 'video', { label: 'transcoded video subscribed', timeoutMs: 30_000 });
    await viewer.waitForEvent((e: PageEvent) => e.type === 'trackSubscribed' && e.participant === identity && e.kind === 'audio', { label: 'transcoded audio subscribed', timeoutMs: 10_000 });
    const people = await viewer.call<{ identity: string; kind: number }[]>('remoteParticipants');
    assert.deepEqual(people.map((p) => [p.identity, p.kind]), [[identity, ParticipantInfo_Kind.INGRESS]], 'the sender and the transcoder stay hidden');
    const [info] = await waitFor(async () => {
      const x = await ingressClient.listIngress({ ingressId: ingress.ingressId });
      return x[0]?.state?.status === IngressState_Status.ENDPOINT_PUBLISHING ? x : undefined;
    }, { label: 'PUBLISHING', timeoutMs: 10_000 });
    const video = info?.state?.tracks.find((x) => x.type === 1);
    assert.deepEqual(video?.layers.map((l) => `${l.width}x${l.height}`), ['320x180', '640x360', '1280x720']);
    assert.equal(info?.state?.tracks.length, 2);
  });

  await run.step('the viewer decodes the top layer at 1280x720, then (setVideoQuality LOW) the 320x180 layer', async () => {
    const first = await viewer.waitForDecoding(videoOf, (r) => r.frameWidth === 1280 && r.frameHeight === 720, { label: 'the 1280x720 layer', timeoutMs: 30_000 });
    const { fps, row: later } = await viewer.decodeRate(videoOf, first, 2_000);
    run.note(`decoded ${later?.frameWidth}x${later?.frameHeight} at ${fps.toFixed(1)} fps (${later?.codec})`);
    assert.ok(fps >= 10, `decoded frame rate ${fps.toFixed(1)} fps`);
    await viewer.call('setVideoQuality', first.trackSid, 'LOW');
    const low = await viewer.waitForDecoding(videoOf, (r) => r.frameWidth === 320 && r.frameHeight === 180, { label: 'the 320x180 layer', timeoutMs: 15_000 });
    run.note(`low layer ${low.frameWidth}x${low.frameHeight}`);
  });

  await run.step('the viewer hears the 440 Hz tone through the transcoder', async () => {
    const row = (await viewer.remoteTrackStats()).find((r) => r.participant === identity && r.kind === 'audio');
    assert.ok(row);
    await waitForAudioChannels(viewer, row.trackSid, [TONE_HZ], hasTone(TONE_HZ), { label: 'a 440 Hz peak in the transcoded audio', timeoutMs: 15_000 });
  });

  await run.step('DELETE ends the stream: the participant leaves, the ingress is COMPLETE, the transcoding ffmpeg is gone', async () => {
    await deleteResource(whip, viewer, identity);
    const [info] = await ingressClient.listIngress({ ingressId: ingress.ingressId });
    assert.equal(info?.state?.status, IngressState_Status.ENDPOINT_COMPLETE, info?.state?.error);
    await waitFor(() => transcoders().length === 0, { label: 'the transcoding ffmpeg gone', timeoutMs: 5_000 });
  });

  await run.step('published again, the transcoding ffmpeg killed mid-stream: ERROR naming it; everything released, the server goes on', async () => {
    const r = await whip.page.evaluate<{ status: number; body?: string }, [string, string]>(([e, k]) => (window as any).whipClient.publish(e, k), [ingress.url, ingress.streamKey]);
    assert.equal(r.status, 201, r.body);
    await waitFor(async () => (await ingressClient.listIngress({ ingressId: ingress.ingressId }))[0]?.state?.status === IngressState_Status.ENDPOINT_PUBLISHING, { label: 'PUBLISHING again', timeoutMs: 15_000 });
    const [line] = transcoders();
    assert.ok(line, 'the transcoder among our children');
    run.note(`killing ${line.trim().slice(0, 120)}`);
    process.kill(Number(line.trim().split(/\s+/)[0]), 'SIGKILL');
    const failed = await waitFor(async () => {
      const [x] = await ingressClient.listIngress({ ingressId: ingress.ingressId });
      return x?.state?.status === IngressState_Status.ENDPOINT_ERROR ? x : undefined;
    }, { label: 'ERROR after the transcoder died', timeoutMs: 10_000 });
    run.note(`error: ${failed.state?.error}`);
    assert.match(failed.state?.error ?? '', /ffmpeg exited with signal SIGKILL/);
    assert.equal((await fetch(`${srv.httpUrl}/`)).status, 200);
    await whip.page.evaluate('window.whipPc.close()');
    await viewer.disconnect();
    await waitFor(() => srv.server.resources().sessions === 0, { label: 'media sessions back to zero', timeoutMs: 10_000 });
    await ingressClient.deleteIngress(ingress.ingressId);
  });
  t.diagnostic(`steps:\n${run.history()}`);
});
