import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseSdp, writeSdp, type MediaSection, type SessionDescriptionModel } from './sdp-model.js';
import { createAnswer, defaultCapabilities, HeaderExtensionUri, type CreateAnswerOptions } from './negotiation.js';
import { audioTrack, readFixture, sampleTransport, videoTrack } from './fixtures/samples.js';

const opts: CreateAnswerOptions = { transport: sampleTransport, capabilities: defaultCapabilities, setup: 'passive' };
const answerTo = (fixture: string, extra: Partial<CreateAnswerOptions> = {}): { offer: SessionDescriptionModel; answer: SessionDescriptionModel } => {
  const offer = parseSdp(readFixture(fixture));
  const answer = createAnswer(offer, { ...opts, ...extra });
  assert.deepEqual(parseSdp(writeSdp(answer)), answer, 'the answer survives its own text form');
  return { offer, answer };
};
const section = (d: SessionDescriptionModel, mid: string): MediaSection => {
  const m = d.media.find((x) => x.mid === mid);
  assert.ok(m, `mid ${mid}`);
  return m;
};

test('answer to the Chromium publisher offer: recvonly, transport, BUNDLE, ice-lite', () => {
  const { offer, answer } = answerTo('chromium-publisher-offer.sdp');
  assert.equal(answer.iceLite, true);
  assert.deepEqual(answer.bundle, ['0', '1', '2']);
  assert.deepEqual(answer.media.map((m) => m.mid), offer.media.map((m) => m.mid), 'same m-lines in the same order');
  assert.deepEqual(answer.media.map((m) => [m.kind, m.direction]), [['audio', 'recvonly'], ['video', 'recvonly'], ['application', 'sendrecv']]);
  for (const m of answer.media) {
    assert.equal(m.setup, 'passive');
    assert.equal(m.iceUfrag, sampleTransport.iceUfrag);
    assert.equal(m.icePwd, sampleTransport.icePwd);
    assert.deepEqual(m.fingerprint, sampleTransport.fingerprint);
    assert.deepEqual(m.candidates, sampleTransport.candidates);
    assert.equal(m.endOfCandidates, true);
    assert.equal(m.msid, undefined);
    assert.deepEqual(m.ssrcs, []);
  }
  assert.ok(section(answer, '0').rtcpMux && section(answer, '1').rtcpMux);
  const data = section(answer, '2');
  assert.equal(data.sctpPort, 5000);
  assert.equal(data.maxMessageSize, 262144);
});

test('answer codecs: supported subset with the offerer payload types, rtx kept, intersected rtcp-fb', () => {
  const { offer, answer } = answerTo('chromium-publisher-offer.sdp');
  assert.deepEqual(section(answer, '0').codecs, [{
    payloadType: 111, mimeType: 'audio/opus', clockRate: 48000, channels: 2, fmtp: 'minptime=10;useinbandfec=1',
    rtcpFeedback: [{ type: 'transport-cc' }],
  }]);
  const video = section(answer, '1').codecs;
  const offeredVideo = section(offer, '1').codecs;
  // VP8, the packetization-mode=1 H264 baseline/constrained-baseline profiles, VP9 profile 0 and AV1 profile 0; not
  // pm=0, 4d (main), VP9 profile 2, red, ulpfec.
  const expected = offeredVideo.filter((c) => c.mimeType === 'video/VP8'
    || (c.mimeType === 'video/H264' && /packetization-mode=1/.test(c.fmtp ?? '') && /profile-level-id=42(e0|00)1f/.test(c.fmtp ?? ''))
    || (c.mimeType === 'video/VP9' && c.fmtp === 'profile-id=0')
    || (c.mimeType === 'video/AV1' && /profile=0/.test(c.fmtp ?? '')));
  assert.equal(expected.length, 5);
  assert.deepEqual(video.map((c) => [c.payloadType, c.rtxPayloadType]), expected.map((c) => [c.payloadType, c.rtxPayloadType]));
  for (const c of video) {
    const o = expected.find((x) => x.payloadType === c.payloadType);
    assert.equal(c.fmtp, o?.fmtp, 'H264, VP9 and AV1 parameters echo the offer');
    assert.deepEqual(c.rtcpFeedback, [{ type: 'goog-remb' }, { type: 'transport-cc' }, { type: 'ccm', parameter: 'fir' }, { type: 'nack' }, { type: 'nack', parameter: 'pli' }]);
  }
});

test('rtcp-fb in the answer is the intersection', () => {
  const caps = { ...defaultCapabilities, video: defaultCapabilities.video.map((c) => ({ ...c, rtcpFeedback: [{ type: 'nack' }, { type: 'nack', parameter: 'pli' }, { type: 'rrtr' }] })) };
  const { answer } = answerTo('chromium-publisher-offer.sdp', { capabilities: caps });
  for (const c of section(answer, '1').codecs) assert.deepEqual(c.rtcpFeedback, [{ type: 'nack' }, { type: 'nack', parameter: 'pli' }]);
});

test('answer header extensions: supported URIs only, with the offerer ids', () => {
  const { offer, answer } = answerTo('chromium-publisher-offer.sdp');
  for (const mid of ['0', '1']) {
    const kind = section(offer, mid).kind as 'audio' | 'video';
    const supported = new Set(defaultCapabilities.headerExtensions[kind]);
    const expected = section(offer, mid).headerExtensions.filter((e) => supported.has(e.uri));
    assert.deepEqual(section(answer, mid).headerExtensions, expected);
    assert.ok(expected.length >= 4);
  }
  const uris = section(answer, '1').headerExtensions.map((e) => e.uri);
  assert.ok(!uris.includes('http://www.webrtc.org/experiments/rtp-hdrext/video-timing'));
  assert.ok(uris.includes(HeaderExtensionUri.rtpStreamId));
});

test('a superseded extension is accepted only where the offer lacks (or we refuse) the one that supersedes it', () => {
  const caps = { ...defaultCapabilities, extensionsSupersededBy: { [HeaderExtensionUri.absSendTime]: HeaderExtensionUri.transportCc } };
  const uris = (a: SessionDescriptionModel): string[] => section(a, '1').headerExtensions.map((e) => e.uri);
  // Chromium offers both: transport-cc wins, abs-send-time is left out.
  const both = answerTo('chromium-publisher-offer.sdp', { capabilities: caps }).answer;
  assert.ok(uris(both).includes(HeaderExtensionUri.transportCc));
  assert.ok(!uris(both).includes(HeaderExtensionUri.absSendTime));
  // The same offer without transport-cc on the video m-line: abs-send-time is accepted, with the offerer's id.
  const offer = parseSdp(readFixture('chromium-publisher-offer.sdp'));
  const video = section(offer, '1');
  video.headerExtensions = video.headerExtensions.filter((e) => e.uri !== HeaderExtensionUri.transportCc);
  const without = createAnswer(offer, { ...opts, capabilities: caps });
  assert.deepEqual(section(without, '1').headerExtensions.find((e) => e.uri === HeaderExtensionUri.absSendTime), { id: 2, uri: HeaderExtensionUri.absSendTime });
  // We do not accept transport-cc: abs-send-time stays.
  const refusing = {
    ...caps, headerExtensions: { ...caps.headerExtensions, video: caps.headerExtensions.video.filter((u) => u !== HeaderExtensionUri.transportCc) },
  };
  assert.ok(uris(answerTo('chromium-publisher-offer.sdp', { capabilities: refusing }).answer).includes(HeaderExtensionUri.absSendTime));
});

test('answer to the simulcast offer: a=rid recv and a=simulcast:recv', () => {
  const { answer } = answerTo('chromium-simulcast-offer.sdp');
  const video = section(answer, '1');
  assert.equal(video.direction, 'recvonly');
  assert.deepEqual(video.rids, [{ id: 'q', direction: 'recv' }, { id: 'h', direction: 'recv' }, { id: 'f', direction: 'recv' }]);
  assert.deepEqual(video.simulcast, { direction: 'recv', rids: ['q', 'h', 'f'] });
  const text = writeSdp(answer);
  assert.match(text, /\r\na=rid:q recv\r\na=rid:h recv\r\na=rid:f recv\r\na=simulcast:recv q;h;f\r\n/);
  assert.deepEqual(section(answer, '0').rids, []);
  assert.equal(section(answer, '0').simulcast, undefined);
});

test('answer to the renegotiation offer: the removed track is inactive, mids in order', () => {
  const { offer, answer } = answerTo('chromium-renegotiation-offer.sdp');
  assert.equal(section(offer, '0').direction, 'inactive');
  assert.deepEqual(answer.media.map((m) => [m.mid, m.direction]), [['0', 'inactive'], ['1', 'recvonly'], ['2', 'sendrecv']]);
  assert.deepEqual(answer.bundle, ['0', '1', '2']);
  assert.equal(section(answer, '0').port, 9, 'inactive is not rejected');
});

test('a recvonly offered m-line with a sender is answered sendonly with msid and ssrc', () => {
  const offer = parseSdp(readFixture('chromium-publisher-offer.sdp'));
  const audio = section(offer, '0');
  audio.direction = 'recvonly';
  delete audio.msid;
  audio.ssrcs = [];
  const answer = createAnswer(offer, { ...opts, senders: new Map([['0', audioTrack]]) });
  const a = section(answer, '0');
  assert.equal(a.direction, 'sendonly');
  assert.deepEqual(a.msid, { streamId: 'PA_alice|TR_audio1', trackId: 'TR_audio1' });
  assert.deepEqual(a.ssrcs, [{ ssrc: 1111, cname: 'alice', msid: 'PA_alice|TR_audio1 TR_audio1' }]);
  const withoutSender = section(createAnswer(offer, opts), '0');
  assert.equal(withoutSender.direction, 'inactive');
});

test('a sender whose codec the offer lacks does not send; the sender codec goes first', () => {
  const offer = parseSdp(readFixture('chromium-publisher-offer.sdp'));
  const video = section(offer, '1');
  video.direction = 'recvonly';
  const h264 = defaultCapabilities.video[1];
  assert.ok(h264);
  const sendH264 = { ...videoTrack, codec: h264 };
  const answer = section(createAnswer(offer, { ...opts, senders: new Map([['1', sendH264]]) }), '1');
  assert.equal(answer.direction, 'sendonly');
  assert.match(answer.codecs[0]?.fmtp ?? '', /profile-level-id=42e01f/);
  assert.deepEqual(answer.ssrcs, [{ ssrc: 2222, rtxSsrc: 2223, cname: 'alice', msid: 'PA_alice|TR_video1 TR_video1' }]);
  video.codecs = video.codecs.filter((c) => c.mimeType !== 'video/H264');
  const noH264 = section(createAnswer(offer, { ...opts, senders: new Map([['1', sendH264]]) }), '1');
  assert.equal(noH264.direction, 'inactive');
  assert.deepEqual(noH264.ssrcs, []);
  assert.equal(noH264.msid, undefined);
});

const reject: [string, (m: MediaSection) => void][] = [
  ['no codec in common', (m) => { m.codecs = m.codecs.filter((c) => c.mimeType !== 'audio/opus'); }],
  ['port 0 in the offer', (m) => { m.port = 0; }],
];
for (const [name, change] of reject) {
  test(`an m-line is rejected (port 0, out of BUNDLE): ${name}`, () => {
    const offer = parseSdp(readFixture('chromium-publisher-offer.sdp'));
    change(section(offer, '0'));
    const answer = createAnswer(offer, opts);
    const a = section(answer, '0');
    assert.equal(a.port, 0);
    assert.equal(a.direction, 'inactive');
    assert.deepEqual(answer.bundle, ['1', '2']);
    assert.match(writeSdp(answer), /\r\nm=audio 0 UDP\/TLS\/RTP\/SAVPF \d+\r\n/);
  });
}

test('setup active is written when asked', () => {
  const { answer } = answerTo('chromium-publisher-offer.sdp', { setup: 'active' });
  assert.ok(answer.media.every((m) => m.setup === 'active'));
});

// Firefox's shape: session-level fingerprint, extmap directions, msid with braces, H264 listed first.
const firefoxLikeOffer = [
  'v=0', 'o=mozilla...THIS_IS_SDPARTA-99.0 5163364718306435043 0 IN IP4 0.0.0.0', 's=-', 't=0 0',
  'a=fingerprint:sha-256 11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00',
  'a=group:BUNDLE 0 1', 'a=ice-options:trickle', 'a=msid-semantic:WMS *',
  'm=video 9 UDP/TLS/RTP/SAVPF 126 120 97', 'c=IN IP4 0.0.0.0', 'a=sendonly',
  'a=extmap:3 urn:ietf:params:rtp-hdrext:sdes:mid', 'a=extmap:4/sendonly urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id',
  'a=extmap:7 http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01',
  'a=fmtp:126 profile-level-id=42e01f;level-asymmetry-allowed=1;packetization-mode=1', 'a=fmtp:97 apt=120',
  'a=ice-pwd:ffffffffffffffffffffffffffffffff', 'a=ice-ufrag:ffffffff', 'a=mid:0',
  'a=msid:{5b4d1bb3-7d3b-4a8e-9d0b-0f2b2a1b2c3d} {8a0b1c2d-3e4f-5061-7283-94a5b6c7d8e9}',
  'a=rid:q send', 'a=rid:h send', 'a=rtcp-fb:126 nack', 'a=rtcp-fb:126 nack pli', 'a=rtcp-fb:126 ccm fir', 'a=rtcp-fb:126 transport-cc',
  'a=rtcp-fb:120 nack', 'a=rtcp-fb:120 nack pli', 'a=rtcp-mux', 'a=rtcp-rsize', 'a=rtpmap:126 H264/90000', 'a=rtpmap:120 VP8/90000',
  'a=rtpmap:97 rtx/90000', 'a=setup:actpass', 'a=simulcast:send q;h',
  'm=application 9 UDP/DTLS/SCTP webrtc-datachannel', 'c=IN IP4 0.0.0.0', 'a=sendrecv', 'a=ice-pwd:ffffffffffffffffffffffffffffffff',
  'a=ice-ufrag:ffffffff', 'a=mid:1', 'a=setup:actpass', 'a=sctp-port:5000', 'a=max-message-size:1073741823', '',
].join('\r\n');

test('answer to a Firefox-shaped offer (session-level fingerprint, H264 first, rtx on VP8)', () => {
  const offer = parseSdp(firefoxLikeOffer);
  assert.equal(offer.media[0]?.fingerprint?.value.slice(0, 5), '11:22');
  assert.deepEqual(offer.media[0]?.msid, { streamId: '{5b4d1bb3-7d3b-4a8e-9d0b-0f2b2a1b2c3d}', trackId: '{8a0b1c2d-3e4f-5061-7283-94a5b6c7d8e9}' });
  const answer = createAnswer(offer, opts);
  const video = section(answer, '0');
  assert.deepEqual(video.codecs.map((c) => [c.mimeType, c.payloadType, c.rtxPayloadType]), [['video/H264', 126, undefined], ['video/VP8', 120, 97]]);
  assert.deepEqual(video.codecs[1]?.rtcpFeedback, [{ type: 'nack' }, { type: 'nack', parameter: 'pli' }]);
  assert.deepEqual(video.headerExtensions.map((e) => e.id), [3, 4, 7]);
  assert.deepEqual(video.simulcast, { direction: 'recv', rids: ['q', 'h'] });
  assert.equal(section(answer, '1').maxMessageSize, 262144);
  assert.deepEqual(parseSdp(writeSdp(answer)), answer);
});

test('a preferred receive codec goes first in the answer; other m-lines keep the offer order', () => {
  const plain = answerTo('chromium-publisher-offer.sdp').answer;
  assert.equal(section(plain, '1').codecs[0]?.mimeType, 'video/VP8', 'Chromium offers VP8 first');
  const { answer } = answerTo('chromium-publisher-offer.sdp', { preferredReceiveCodecs: new Map([['1', 'video/h264']]) });
  const video = section(answer, '1').codecs;
  assert.equal(video[0]?.mimeType, 'video/H264');
  assert.deepEqual(
    [...video].sort((x, y) => x.payloadType - y.payloadType),
    [...section(plain, '1').codecs].sort((x, y) => x.payloadType - y.payloadType),
    'same codecs, only reordered',
  );
  assert.deepEqual(section(answer, '0').codecs, section(plain, '0').codecs);
});
