import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseSdp } from './sdp-model.js';
import { createAnswer, defaultCapabilities, negotiatedFromAnswer, negotiatedFromOffer } from './negotiation.js';
import { readFixture, sampleTransport } from './fixtures/samples.js';

test('negotiatedFromAnswer on the captured Chromium answer to our subscriber offer', () => {
  const offer = parseSdp(readFixture('atrium-subscriber-offer.sdp'));
  const answer = parseSdp(readFixture('chromium-subscriber-answer.sdp'));
  const n = negotiatedFromAnswer(offer, answer);
  assert.deepEqual(n.map((m) => [m.mid, m.kind, m.direction, m.rejected]), [
    ['0', 'audio', 'sendonly', false], ['1', 'video', 'sendonly', false], ['2', 'application', 'sendrecv', false],
  ]);
  const [audio, video, data] = n;
  assert.deepEqual(audio?.codecs.map((c) => [c.mimeType, c.payloadType]), [['audio/opus', 111]]);
  assert.deepEqual(video?.codecs.map((c) => [c.mimeType, c.payloadType, c.rtxPayloadType]), [['video/VP8', 96, 97]]);
  assert.deepEqual(video?.codecs[0]?.rtcpFeedback.map((f) => `${f.type} ${f.parameter ?? ''}`.trim()), ['goog-remb', 'transport-cc', 'ccm fir', 'nack', 'nack pli']);
  // Chromium answers with our ids for the URIs it supports.
  const ourIds = new Map(offer.media[1]?.headerExtensions.map((e) => [e.uri, e.id]));
  assert.ok((video?.headerExtensions.length ?? 0) >= 4);
  for (const e of video?.headerExtensions ?? []) assert.equal(ourIds.get(e.uri), e.id);
  assert.deepEqual(audio?.headerExtensions.map((e) => e.id).sort(), [1, 2, 3, 4]);
  assert.deepEqual(data?.codecs, []);
});

test('negotiatedFromAnswer marks rejected and missing m-lines', () => {
  const offer = parseSdp(readFixture('atrium-subscriber-offer.sdp'));
  const answer = parseSdp(readFixture('chromium-subscriber-answer.sdp'));
  const video = answer.media[1];
  assert.ok(video);
  video.port = 0;
  answer.media.pop();
  const n = negotiatedFromAnswer(offer, answer);
  assert.deepEqual(n.map((m) => [m.mid, m.rejected, m.direction]), [['0', false, 'sendonly'], ['1', true, 'inactive'], ['2', true, 'inactive']]);
});

test('negotiatedFromAnswer drops an rtx type the answer does not bind like the offer', () => {
  const offer = parseSdp(readFixture('atrium-subscriber-offer.sdp'));
  const answer = parseSdp(readFixture('chromium-subscriber-answer.sdp'));
  const vp8 = answer.media[1]?.codecs[0];
  assert.ok(vp8);
  vp8.rtxPayloadType = 120;
  assert.equal(negotiatedFromAnswer(offer, answer)[1]?.codecs[0]?.rtxPayloadType, undefined);
});

test('negotiatedFromOffer on our answer to the Chromium publisher offer', () => {
  const offer = parseSdp(readFixture('chromium-publisher-offer.sdp'));
  const answer = createAnswer(offer, { transport: sampleTransport, capabilities: defaultCapabilities, setup: 'passive' });
  const n = negotiatedFromOffer(offer, answer);
  assert.deepEqual(n.map((m) => [m.mid, m.direction, m.rejected]), [['0', 'recvonly', false], ['1', 'recvonly', false], ['2', 'sendrecv', false]]);
  assert.deepEqual(n[1]?.codecs, answer.media[1]?.codecs);
  assert.deepEqual(n[1]?.headerExtensions.find((e) => e.uri === 'urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id'), { id: 10, uri: 'urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id' });
});
