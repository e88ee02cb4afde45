import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '@atrium/webrtc';
import { createRtpHeader, parseRtpHeader, serializeRtpPacket } from '@atrium/webrtc/rtp/index.js';
import { HeaderExtensionUri } from '@atrium/webrtc/sdp/capabilities.js';
import { createAnswer } from '@atrium/webrtc/sdp/negotiation.js';
import { parseSdp } from '@atrium/webrtc/sdp/sdp-model.js';
import { readFixture, sampleTransport } from '@atrium/webrtc/sdp/fixtures/samples.js';
import { RemoteStream } from '@atrium/webrtc/pc/remote-stream.js';
import { Receiver } from '../sfu/receiver.js';
import { createOffer } from '@atrium/webrtc/sdp/create-offer.js';
import { writeSdp } from '@atrium/webrtc/sdp/sdp-model.js';
import type { LocalCapabilities } from '@atrium/webrtc/sdp/capabilities.js';
import { audioTrack, videoTrack } from '@atrium/webrtc/sdp/fixtures/samples.js';
import { PublishedTrackSource, publisherCapabilities, subscriberCapabilities, withoutTransportCc } from './webrtc-track-source.js';

test("the publisher answer keeps the audio-level extension with the offer's id", () => {
  const offer = parseSdp(readFixture('chromium-publisher-offer.sdp'));
  const answer = createAnswer(offer, { transport: sampleTransport, capabilities: publisherCapabilities, setup: 'passive' });
  const audio = answer.media.find((m) => m.kind === 'audio');
  const offered = offer.media.find((m) => m.kind === 'audio')?.headerExtensions.find((e) => e.uri === HeaderExtensionUri.audioLevel);
  assert.ok(offered, 'Chromium offers the audio level');
  assert.deepEqual(audio?.headerExtensions.find((e) => e.uri === HeaderExtensionUri.audioLevel), offered);
});

test('the publisher answer takes transport-cc on video (feedback drives the browser estimate), not on audio', () => {
  const offer = parseSdp(readFixture('chromium-publisher-offer.sdp'));
  const answer = createAnswer(offer, { transport: sampleTransport, capabilities: publisherCapabilities, setup: 'passive' });
  const has = (kind: string): boolean =>
    answer.media.find((m) => m.kind === kind)?.headerExtensions.some((e) => e.uri === HeaderExtensionUri.transportCc) ?? false;
  assert.equal(has('video'), true);
  assert.equal(has('audio'), false);
});

test('publisher answers: Chromium offers (transport-cc) are answered exactly as without abs-send-time; a REMB-only offer gets it', () => {
  const before = {
    ...publisherCapabilities,
    headerExtensions: { ...publisherCapabilities.headerExtensions, video: publisherCapabilities.headerExtensions.video.filter((u) => u !== HeaderExtensionUri.absSendTime) },
  };
  for (const fixture of ['chromium-publisher-offer.sdp', 'chromium-simulcast-offer.sdp', 'chromium-renegotiation-offer.sdp']) {
    const offer = parseSdp(readFixture(fixture));
    const opts = { transport: sampleTransport, setup: 'passive' as const, sessionId: '1', sessionVersion: 2 };
    assert.deepEqual(createAnswer(offer, { ...opts, capabilities: publisherCapabilities }), createAnswer(offer, { ...opts, capabilities: before }), fixture);
  }
  const offer = parseSdp(readFixture('chromium-publisher-offer.sdp'));
  for (const m of offer.media) m.headerExtensions = m.headerExtensions.filter((e) => e.uri !== HeaderExtensionUri.transportCc);
  const answer = createAnswer(offer, { transport: sampleTransport, capabilities: publisherCapabilities, setup: 'passive' });
  const abs = (kind: string): unknown => answer.media.find((m) => m.kind === kind)?.headerExtensions.find((e) => e.uri === HeaderExtensionUri.absSendTime);
  assert.deepEqual(abs('video'), { id: 2, uri: HeaderExtensionUri.absSendTime });
  assert.equal(abs('audio'), undefined, 'video only: audio stays out of the estimate');
  assert.ok(answer.media.find((m) => m.kind === 'video')?.codecs.every((c) => c.rtcpFeedback.some((f) => f.type === 'goog-remb')));
});

test('an audio source reads levels on the negotiated id and reports receive counters', () => {
  const clock = new ManualClock();
  const receiver = new Receiver({ kind: 'audio', mimeType: 'audio/opus', clockRate: 48_000, sendRtcp: () => {}, clock });
  const codec = { mimeType: 'audio/opus', clockRate: 48_000, payloadType: 111, rtcpFeedback: [] };
  const source = new PublishedTrackSource({
    receiver, kind: 'audio', codec, clock,
    publisherExtensions: [{ id: 9, uri: HeaderExtensionUri.sdesMid }, { id: 5, uri: HeaderExtensionUri.audioLevel }],
  });
  // The transport's stream (its core keeps the receive statistics) feeds the receiver.
  const stream = new RemoteStream({ mid: '0', rid: undefined, ssrc: 7, kind: 'audio', codecs: new Map([[111, codec]]), payloadType: 111 });
  source.attach(stream);
  const h = createRtpHeader();
  for (let seq = 0; seq < 40; seq++) {
    if (seq === 20) continue; // one lost packet
    const p = serializeRtpPacket({
      payloadType: 111, sequenceNumber: seq, timestamp: seq * 960, ssrc: 7, marker: false,
      extensions: [{ id: 5, value: Uint8Array.of(12) }], payload: Buffer.alloc(30),
    });
    assert.ok(parseRtpHeader(p, h));
    stream.handleRtp(p, h, clock.nowMs());
    clock.advance(20);
  }
  assert.ok(source.speakingLevel(clock.nowMs()) > 0.1, 'speaking');
  source.setMuted(true);
  assert.equal(source.speakingLevel(clock.nowMs()), 0, 'muted: not speaking');
  const q = source.receiveQuality();
  assert.deepEqual([q.packetsExpected, q.packetsLost, q.isMuted, q.side], [40, 1, true, 'publisher']);
  source.close();
});

test('subscriber offers: transport-cc (extension and feedback) on every m-line; none at all with congestion control off', () => {
  const audioCodec = subscriberCapabilities.audio.find((c) => c.mimeType === 'audio/opus')!;
  const videoCodec = subscriberCapabilities.video.find((c) => c.mimeType === 'video/VP8')!;
  const offer = (capabilities: LocalCapabilities): Map<string, string[]> => {
    const text = writeSdp(createOffer({
      transport: sampleTransport, capabilities, dataChannel: false, sessionId: '1',
      transceivers: [
        { mid: '0', kind: 'audio', direction: 'sendonly', sender: { ...audioTrack, codec: audioCodec } },
        { mid: '1', kind: 'video', direction: 'sendonly', sender: { ...videoTrack, codec: videoCodec } },
      ],
    }));
    const byKind = new Map<string, string[]>();
    for (const block of text.split(/\r\n(?=m=)/).filter((b) => b.startsWith('m='))) {
      byKind.set(block.slice(2, 7), block.split('\r\n').filter((l) => /transport-cc|transport-wide-cc/.test(l)));
    }
    return byKind;
  };
  const on = offer(subscriberCapabilities);
  for (const kind of ['audio', 'video']) {
    assert.equal(on.get(kind)?.filter((l) => l.startsWith('a=extmap:')).length, 1, `${kind}: the extension`);
    assert.ok((on.get(kind)?.filter((l) => l.startsWith('a=rtcp-fb:')).length ?? 0) >= 1, `${kind}: the feedback`);
  }
  const off = offer(withoutTransportCc(subscriberCapabilities));
  assert.deepEqual([off.get('audio'), off.get('video')], [[], []]);
});
