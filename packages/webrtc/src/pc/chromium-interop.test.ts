// Our server role against Chromium's RTCPeerConnection over loopback: Chromium offers camera, microphone
// and a data channel; we answer, receive SRTP media and exchange messages; then we offer the received video
// back on a second peer connection (a minimal forwarder: new SSRC and payload type) and Chromium decodes it.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { UdpMux } from '../udp-mux.js';
import { generateCertificate } from '../dtls/certificate.js';
import {
  createRtpHeader, parseRtpHeader, rewriteHeaderExtensionIds, serializeRtcp, writePayloadType, writeSsrc,
} from '../rtp/index.js';
import { defaultCapabilities } from '../sdp/index.js';
import { launchChromium, type ChromiumSession } from '../sdp/fixtures/chromium.js';
import { PeerConnection } from './peer-connection.js';
import { waitFor } from '../testing/wait-for.js';
import type { RemoteStream } from './remote-stream.js';

/** Real-time waits in this file (Chromium over loopback): 15 s at most, polled every 50 ms. */
const polling = { timeoutMs: 15_000, intervalMs: 50 } as const;

let chromium: ChromiumSession | undefined;
let mux: UdpMux | undefined;
const pcs: PeerConnection[] = [];
after(async () => {
  for (const pc of pcs) pc.close();
  await chromium?.close();
  await mux?.close();
});

test('Chromium publishes to our ICE-lite/DTLS/SRTP/SCTP stack and decodes video we forward back', async () => {
  mux = await UdpMux.bind({ port: 0, address: '127.0.0.1' });
  const certificate = await generateCertificate();
  const upstream = new PeerConnection({ role: 'server', mux, certificate, advertisedAddress: '127.0.0.1' });
  const downstream = new PeerConnection({ role: 'server', mux, certificate, advertisedAddress: '127.0.0.1' });
  pcs.push(upstream, downstream);
  chromium = await launchChromium();
  const page = chromium.page;

  const streams: RemoteStream[] = [];
  upstream.on('remoteStream', (s) => {
    streams.push(s);
  });
  const serverGot: string[] = [];
  upstream.on('dataChannel', (ch) => {
    ch.on('message', (m: Buffer | string) => {
      serverGot.push(m.toString());
      ch.send(`pong:${m.toString()}`);
    });
  });

  const offer = await page.evaluate(async () => {
    const media = await navigator.mediaDevices.getUserMedia({ audio: true, video: true });
    const pc = new RTCPeerConnection({ bundlePolicy: 'max-bundle', rtcpMuxPolicy: 'require' });
    (globalThis as any).pub = pc;
    for (const track of media.getTracks()) pc.addTransceiver(track, { direction: 'sendonly', streams: [media] });
    const ch = pc.createDataChannel('_reliable', { ordered: true });
    (globalThis as any).got = [];
    ch.onmessage = (e) => (globalThis as any).got.push(String(e.data));
    ch.onopen = () => ch.send('ping');
    const o = await pc.createOffer();
    await pc.setLocalDescription(o);
    return o.sdp!;
  });
  const answer = upstream.handleOffer(offer);
  await page.evaluate(async (sdp) => {
    await (globalThis as any).pub.setRemoteDescription({ type: 'answer', sdp });
  }, answer);

  await waitFor(() => upstream.connectionState === 'connected', { ...polling, label: 'upstream connected' });
  await waitFor(() => streams.length === 2 && streams.every((s) => s.packetsReceived > 20), { ...polling, label: 'audio and video packets' });
  await waitFor(async () => (await page.evaluate(() => (globalThis as any).got as string[])).includes('pong:ping'), { ...polling, label: 'the data channel echo from Chromium' });
  assert.deepEqual(serverGot, ['ping']);
  const video = streams.find((s) => s.kind === 'video')!;
  assert.equal(video.primaryCodec?.mimeType.toLowerCase(), 'video/vp8');

  // Forward the video back through a second PC that we offer.
  const vp8 = defaultCapabilities.video.find((c) => c.mimeType.toLowerCase() === 'video/vp8')!;
  const sender = downstream.addSender({ kind: 'video', streamId: 'PA_pub|TR_video', trackId: 'TR_video', codec: vp8 });
  const dropAllExtensions = new Uint8Array(256);
  const h = createRtpHeader();
  video.onRtp = (buf) => {
    const out = Buffer.from(buf);
    if (!parseRtpHeader(out, h)) return;
    writeSsrc(out, sender.ssrc);
    writePayloadType(out, sender.payloadType);
    rewriteHeaderExtensionIds(out, h, dropAllExtensions);
    sender.sendRtp(out);
  };
  const requestKeyframe = (): void =>
    upstream.sendRtcp(serializeRtcp([{ type: 'pli', senderSsrc: 1, mediaSsrc: video.ssrc }]));
  sender.onRtcp = (pkt) => {
    if (pkt.type === 'pli' || pkt.type === 'fir') requestKeyframe();
  };
  const subOffer = downstream.createOffer();
  const subAnswer = await page.evaluate(async (sdp) => {
    const pc = new RTCPeerConnection({ bundlePolicy: 'max-bundle', rtcpMuxPolicy: 'require' });
    (globalThis as any).sub = pc;
    await pc.setRemoteDescription({ type: 'offer', sdp });
    const a = await pc.createAnswer();
    await pc.setLocalDescription(a);
    return a.sdp!;
  }, subOffer);
  downstream.handleAnswer(subAnswer);
  await waitFor(() => downstream.connectionState === 'connected', { ...polling, label: 'downstream connected' });
  requestKeyframe();
  await waitFor(async () => {
    const decoded = await page.evaluate(async () => {
      const stats = await ((globalThis as any).sub as RTCPeerConnection).getStats();
      let frames = 0;
      stats.forEach((r: any) => {
        if (r.type === 'inbound-rtp' && r.kind === 'video') frames = r.framesDecoded ?? 0;
      });
      return frames;
    });
    return decoded > 10;
  }, { ...polling, timeoutMs: 20000, label: 'Chromium decodes the forwarded video' });
});
