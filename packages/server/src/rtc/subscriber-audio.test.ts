// What a subscriber of an audio track is offered and then gets, through the real media side and our own client-role
// PeerConnection over loopback: RED then Opus for a RED track (Opus with sprop-stereo for a stereo one), RED packets
// as they came for a subscriber that took RED and the primary Opus frames for one that did not; plain Opus
// RED-encoded with audio.active_red_encoding (not for a track that disabled RED); no RED when it is not enabled.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  audioRedCapability, defaultCapabilities, systemClock, UdpMux, type CodecParams, type LocalCapabilities,
} from '@atrium/webrtc';
import { generateCertificate } from '@atrium/webrtc/dtls/certificate.js';
import { PeerConnection } from '@atrium/webrtc/pc/peer-connection.js';
import { createRtpHeader, parseRtpHeader } from '@atrium/webrtc/rtp/index.js';
import { waitFor } from '@atrium/webrtc/testing/wait-for.js';
import { silentLogger } from '@atrium/webrtc/logger.js';
import { Receiver } from '../sfu/receiver.js';
import { PublishedTrackSource, subscriberCodecsFor, type AudioFeatures } from './webrtc-track-source.js';
import { WebRtcParticipantMedia } from './webrtc-participant-media.js';
import type { SessionDescriptionMessage } from './participant-media.js';

const withRed: LocalCapabilities = { ...defaultCapabilities, audio: [defaultCapabilities.audio[0]!, audioRedCapability] };
const noFeatures: AudioFeatures = { isStereo: false, isRedDisabled: false, isEncrypted: false };

function audioSource(mime: 'audio/red' | 'audio/opus', features: AudioFeatures = noFeatures): PublishedTrackSource {
  const red: CodecParams = { mimeType: 'audio/red', clockRate: 48_000, channels: 2, payloadType: 63, fmtp: '111/111', rtcpFeedback: [] };
  const opus: CodecParams = { mimeType: 'audio/opus', clockRate: 48_000, channels: 2, payloadType: 111, fmtp: 'minptime=10;useinbandfec=1', rtcpFeedback: [] };
  const codec = mime === 'audio/red' ? red : opus;
  const receiver = new Receiver({ kind: 'audio', mimeType: mime, clockRate: 48_000, sendRtcp: () => {}, clock: systemClock });
  const source = new PublishedTrackSource({
    receiver, kind: 'audio', codec, publisherExtensions: [], clock: systemClock,
    payloadTypes: new Map([['audio/opus', 111], ['audio/red', 63]]),
  });
  source.setAudioFeatures(features);
  return source;
}

test('subscriberCodecsFor: what each kind of audio track is offered', () => {
  const names = (source: PublishedTrackSource, activeRedEncoding: boolean, isRedEnabled = true): string[] => {
    const c = subscriberCodecsFor(source, { activeRedEncoding, isRedEnabled });
    return [c.codec, ...c.alternatives].map((x) => `${x.mimeType}${x.fmtp && /stereo/.test(x.fmtp) ? ' ' + x.fmtp : ''}`).concat(`x${c.redEncodingRedundancy}`);
  };
  const stereoOpus = 'audio/opus minptime=10;useinbandfec=1;stereo=1;sprop-stereo=1';
  assert.deepEqual(names(audioSource('audio/red'), false), ['audio/red', 'audio/opus', 'x0']);
  assert.deepEqual(names(audioSource('audio/red', { ...noFeatures, isStereo: true }), false), ['audio/red', stereoOpus, 'x0']);
  assert.deepEqual(names(audioSource('audio/red', { ...noFeatures, isEncrypted: true }), false), ['audio/red', 'x0']);
  assert.deepEqual(names(audioSource('audio/opus'), false), ['audio/opus', 'x0']);
  assert.deepEqual(names(audioSource('audio/opus', { ...noFeatures, isStereo: true }), false), [stereoOpus, 'x0']);
  assert.deepEqual(names(audioSource('audio/opus'), true), ['audio/red', 'audio/opus', 'x2'], 'active RED encoding');
  assert.deepEqual(names(audioSource('audio/opus', { ...noFeatures, isRedDisabled: true }), true), ['audio/opus', 'x0'], 'the publisher disabled RED');
  assert.deepEqual(names(audioSource('audio/opus', { ...noFeatures, isEncrypted: true }), true), ['audio/opus', 'x0'], 'encrypted');
  assert.deepEqual(names(audioSource('audio/opus'), true, false), ['audio/opus', 'x0'], 'RED not enabled');
});

interface Received { pt: number; seq: number; payload: number[] }

/**
 * One subscriber (WebRtcParticipantMedia) of `source`, answered by our client role with `clientCaps`; returns the
 * audio m-line of the offer that carried the track and, once forwarding runs, what the client receives for `packets`.
 */
async function subscribeAndForward(opts: {
  source: PublishedTrackSource;
  clientCaps: LocalCapabilities;
  activeRedEncoding?: boolean;
  /** RTP packets the publisher sends (fed to the track's receiver). */
  packets: Buffer[];
}): Promise<{ audioLines: string[]; received: Received[] }> {
  const serverMux = await UdpMux.bind({ port: 0, address: '127.0.0.1' });
  const clientMux = await UdpMux.bind({ port: 0, address: '127.0.0.1' });
  const media = new WebRtcParticipantMedia({
    mux: serverMux, certificate: await generateCertificate({ commonName: 'test' }), advertisedAddress: '127.0.0.1',
    clock: systemClock, participantSid: 'PA_sub', identity: 'sub', logger: silentLogger, onClose: () => {},
    activeRedEncoding: opts.activeRedEncoding ?? false,
  });
  const client = new PeerConnection({
    role: 'client', mux: clientMux, certificate: await generateCertificate(), advertisedAddress: '127.0.0.1', capabilities: opts.clientCaps,
  });
  const received: Received[] = [];
  client.on('remoteStream', (stream) => {
    stream.onRtp = (buf, h) => received.push({ pt: h.payloadType, seq: h.sequenceNumber, payload: [...buf.subarray(h.payloadOffset, h.payloadOffset + h.payloadLength)] });
  });
  try {
    const offers: SessionDescriptionMessage[] = [];
    const bound: string[] = [];
    media.on('subscriberOffer', (offer) => {
      offers.push(offer);
      media.handleSubscriberAnswer(client.handleOffer(offer.sdp), offer.id);
    });
    media.on('subscriptionBound', ({ trackSid, error }) => bound.push(`${trackSid}:${error ?? 'ok'}`));
    media.subscribe(opts.source, { publisherSid: 'PA_pub', trackSid: 'TR_audio' });
    await waitFor(() => bound.length > 0 || undefined, { label: 'the subscription bound', timeoutMs: 5_000 });
    assert.deepEqual(bound, ['TR_audio:ok']);
    const withTrack = offers.find((o) => Object.values(o.midToTrackId).includes('TR_audio'));
    const block = withTrack?.sdp.split(/\r\n(?=m=)/).find((b) => b.startsWith('m=audio')) ?? '';
    const audioLines = block.split('\r\n').filter((l) => l.startsWith('m=') || l.startsWith('a=fmtp:'));
    await waitFor(() => opts.source.receiver.senderCount === 1 || undefined, { label: 'forwarding started', timeoutMs: 10_000 });
    const h = createRtpHeader();
    for (const p of opts.packets) {
      assert.ok(parseRtpHeader(p, h));
      opts.source.receiver.writeRtp(p, h);
    }
    await waitFor(() => received.length >= opts.packets.length || undefined, {
      label: 'the client received every packet', timeoutMs: 5_000, describe: () => `${received.length} received`,
    });
    return { audioLines, received };
  } finally {
    media.close();
    client.close();
    opts.source.close();
    await serverMux.close();
    await clientMux.close();
  }
}

/** RTP to the receiver: RED with one redundant block (Chromium's shape), frame bytes naming their sequence number. */
function redPacket(seq: number): Buffer {
  const frame = (s: number): number[] => [s, s, s, s];
  return Buffer.from([
    0x80, 63, 0, seq, 0, 0, (seq * 960) >>> 8, (seq * 960) & 0xff, 0, 0, 0, 7, // RTP header, PT 63, SSRC 7
    0x80 | 111, 0x0f, 0x00, 0x04, // redundant block: PT 111, offset 960, length 4
    111, // primary header
    ...frame(seq - 1), ...frame(seq),
  ]);
}

function opusPacket(seq: number): Buffer {
  return Buffer.from([0x80, 111, 0, seq, 0, 0, (seq * 960) >>> 8, (seq * 960) & 0xff, 0, 0, 0, 7, seq, seq, seq, seq, seq]);
}

test('a RED track to a subscriber that takes RED: RED then stereo Opus offered; RED packets arrive as sent', async () => {
  const { audioLines, received } = await subscribeAndForward({
    source: audioSource('audio/red', { ...noFeatures, isStereo: true }), clientCaps: withRed, packets: [redPacket(10), redPacket(11)],
  });
  assert.deepEqual(audioLines, [
    'm=audio 9 UDP/TLS/RTP/SAVPF 63 111', 'a=fmtp:63 111/111', 'a=fmtp:111 minptime=10;useinbandfec=1;stereo=1;sprop-stereo=1',
  ]);
  assert.deepEqual(received.map((r) => [r.pt, r.payload]), [
    [63, [0x80 | 111, 0x0f, 0x00, 0x04, 111, 9, 9, 9, 9, 10, 10, 10, 10]],
    [63, [0x80 | 111, 0x0f, 0x00, 0x04, 111, 10, 10, 10, 10, 11, 11, 11, 11]],
  ]);
});

test('a RED track to a subscriber without RED: the primary Opus frames', async () => {
  const { received } = await subscribeAndForward({ source: audioSource('audio/red'), clientCaps: defaultCapabilities, packets: [redPacket(10), redPacket(11)] });
  assert.deepEqual(received.map((r) => [r.pt, r.payload]), [[111, [10, 10, 10, 10]], [111, [11, 11, 11, 11]]]);
});

test('active RED encoding: a plain Opus track reaches a RED subscriber RED-encoded', async () => {
  const { audioLines, received } = await subscribeAndForward({
    source: audioSource('audio/opus'), clientCaps: withRed, activeRedEncoding: true, packets: [opusPacket(20), opusPacket(21), opusPacket(22)],
  });
  assert.equal(audioLines[0], 'm=audio 9 UDP/TLS/RTP/SAVPF 63 111');
  assert.deepEqual(received.map((r) => [r.pt, r.payload]), [
    [63, [111, 20, 20, 20, 20, 20]],
    [63, [0x80 | 111, 0x0f, 0x00, 0x05, 111, 20, 20, 20, 20, 20, 21, 21, 21, 21, 21]],
    [63, [0x80 | 111, 0x1e, 0x00, 0x05, 0x80 | 111, 0x0f, 0x00, 0x05, 111, 20, 20, 20, 20, 20, 21, 21, 21, 21, 21, 22, 22, 22, 22, 22]],
  ]);
});

test('active RED encoding does not apply to a track whose publisher disabled RED', async () => {
  const { audioLines, received } = await subscribeAndForward({
    source: audioSource('audio/opus', { ...noFeatures, isRedDisabled: true }), clientCaps: withRed, activeRedEncoding: true, packets: [opusPacket(20)],
  });
  assert.deepEqual(audioLines, ['m=audio 9 UDP/TLS/RTP/SAVPF 111', 'a=fmtp:111 minptime=10;useinbandfec=1']);
  assert.deepEqual(received.map((r) => [r.pt, r.payload]), [[111, [20, 20, 20, 20, 20]]]);
});
