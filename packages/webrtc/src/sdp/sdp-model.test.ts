import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseSdp, writeSdp, SdpError } from './sdp-model.js';
import { readFixture } from './fixtures/samples.js';

const fixtures = [
  'chromium-publisher-offer.sdp', 'chromium-simulcast-offer.sdp', 'chromium-renegotiation-offer.sdp',
  'chromium-subscriber-answer.sdp', 'atrium-subscriber-offer.sdp', 'atrium-publisher-answer.sdp',
];

for (const name of fixtures) {
  test(`round trip parse -> write -> parse: ${name}`, () => {
    const model = parseSdp(readFixture(name));
    const text = writeSdp(model);
    assert.ok(text.endsWith('\r\n'));
    assert.ok(!/[^\r]\n/.test(text), 'every line ends in CRLF');
    assert.deepEqual(parseSdp(text), model);
    assert.equal(writeSdp(parseSdp(text)), text, 'writing is stable');
  });
}

test('our own fixtures are written byte for byte the same', () => {
  for (const name of ['atrium-subscriber-offer.sdp', 'atrium-publisher-answer.sdp']) {
    const text = readFixture(name);
    assert.equal(writeSdp(parseSdp(text)), text, name);
  }
});

test('parses the Chromium publisher offer', () => {
  const d = parseSdp(readFixture('chromium-publisher-offer.sdp'));
  assert.deepEqual(d.bundle, ['0', '1', '2']);
  assert.equal(d.iceLite, false);
  assert.deepEqual(d.media.map((m) => [m.mid, m.kind, m.direction]), [['0', 'audio', 'sendonly'], ['1', 'video', 'sendonly'], ['2', 'application', 'sendrecv']]);
  const [audio, video, data] = d.media;
  assert.ok(audio && video && data);
  const opus = audio.codecs[0];
  assert.deepEqual(opus, {
    payloadType: 111, mimeType: 'audio/opus', clockRate: 48000, channels: 2, fmtp: 'minptime=10;useinbandfec=1',
    rtcpFeedback: [{ type: 'transport-cc' }],
  });
  const vp8 = video.codecs.find((c) => c.mimeType === 'video/VP8');
  assert.equal(vp8?.payloadType, 96);
  assert.equal(vp8?.rtxPayloadType, 97);
  assert.deepEqual(vp8?.rtcpFeedback.find((f) => f.type === 'nack' && f.parameter === 'pli'), { type: 'nack', parameter: 'pli' });
  assert.ok(!video.codecs.some((c) => c.mimeType.toLowerCase() === 'video/rtx'), 'rtx folds into its apt codec');
  assert.ok(audio.msid && video.msid);
  assert.equal(audio.msid.streamId, video.msid.streamId);
  assert.equal(video.ssrcs.length, 1);
  assert.equal(typeof video.ssrcs[0]?.rtxSsrc, 'number');
  assert.equal(video.ssrcs[0]?.msid, `${video.msid.streamId} ${video.msid.trackId}`);
  assert.equal(data.sctpPort, 5000);
  assert.equal(data.maxMessageSize, 262144);
  assert.equal(audio.setup, 'actpass');
  assert.equal(audio.fingerprint?.algorithm, 'sha-256');
  assert.ok(audio.rtcpMux && audio.rtcpRsize);
});

test('parses rid and simulcast lines', () => {
  const video = parseSdp(readFixture('chromium-simulcast-offer.sdp')).media[1];
  assert.deepEqual(video?.rids, [{ id: 'q', direction: 'send' }, { id: 'h', direction: 'send' }, { id: 'f', direction: 'send' }]);
  assert.deepEqual(video?.simulcast, { direction: 'send', rids: ['q', 'h', 'f'] });
  assert.deepEqual(video?.ssrcs, []);
});

test('keeps candidate lines verbatim', () => {
  const audio = parseSdp(readFixture('chromium-renegotiation-offer.sdp')).media[0];
  assert.ok(audio && audio.candidates.length > 0);
  assert.match(audio.candidates[0] ?? '', /^\d+ 1 udp \d+ \S+ \d+ typ host/);
  const ours = parseSdp(readFixture('atrium-subscriber-offer.sdp')).media[0];
  assert.deepEqual(ours?.candidates, ['1 1 udp 2130706431 127.0.0.1 50000 typ host']);
  assert.equal(ours?.endOfCandidates, true);
});

test('a candidate in RTCIceCandidate form (as our ICE transport gives it) is written with one candidate: prefix', () => {
  const parsed = parseSdp(readFixture('atrium-subscriber-offer.sdp'));
  const m = parsed.media[0]!;
  m.candidates = ['candidate:1 1 udp 2130706431 127.0.0.1 50001 typ host', '2 1 udp 2130706431 127.0.0.1 50002 typ host'];
  const text = writeSdp(parsed);
  assert.ok(text.includes('a=candidate:1 1 udp 2130706431 127.0.0.1 50001 typ host\r\n'), text);
  assert.ok(text.includes('a=candidate:2 1 udp 2130706431 127.0.0.1 50002 typ host\r\n'), text);
  assert.ok(!text.includes('candidate:candidate'), text);
  assert.deepEqual(parseSdp(text).media[0]?.candidates, ['1 1 udp 2130706431 127.0.0.1 50001 typ host', '2 1 udp 2130706431 127.0.0.1 50002 typ host']);
});

const sessionLevel = [
  'v=0', 'o=- 42 7 IN IP4 0.0.0.0', 's=-', 't=0 0', 'a=ice-lite', 'a=ice-ufrag:sess', 'a=ice-pwd:sessionpasswordsessionpwd',
  'a=fingerprint:SHA-256 AA:BB', 'a=setup:passive', 'a=group:BUNDLE a',
  'm=audio 9 UDP/TLS/RTP/SAVPF 111', 'c=IN IP4 0.0.0.0', 'a=mid:a', 'a=rtpmap:111 opus/48000/2', 'a=rtcp-fb:* nack', 'a=recvonly',
  'm=video 0 UDP/TLS/RTP/SAVPF 96', 'a=mid:b', 'a=ice-ufrag:own1', 'a=ice-pwd:ownpasswordownpasswordxx', 'a=rtpmap:96 VP8/90000',
  '',
].join('\r\n');

test('session-level ICE, fingerprint and setup are inherited by media sections', () => {
  const d = parseSdp(sessionLevel);
  assert.equal(d.sessionId, '42');
  assert.equal(d.sessionVersion, 7);
  assert.equal(d.iceLite, true);
  const [a, b] = d.media;
  assert.equal(a?.iceUfrag, 'sess');
  assert.equal(a?.icePwd, 'sessionpasswordsessionpwd');
  assert.deepEqual(a?.fingerprint, { algorithm: 'sha-256', value: 'AA:BB' });
  assert.equal(a?.setup, 'passive');
  assert.deepEqual(a?.codecs[0]?.rtcpFeedback, [{ type: 'nack' }], 'wildcard rtcp-fb applies to every codec');
  assert.equal(b?.iceUfrag, 'own1', 'media-level values win');
  assert.equal(b?.setup, 'passive');
  assert.equal(b?.port, 0);
  assert.equal(b?.direction, 'sendrecv', 'no direction attribute means sendrecv');
  assert.deepEqual(parseSdp(writeSdp(d)), d);
});

test('LF-only input parses the same as CRLF', () => {
  assert.deepEqual(parseSdp(sessionLevel.replace(/\r\n/g, '\n')), parseSdp(sessionLevel));
});

const garbage: [string, unknown][] = [
  ['empty', ''],
  ['text', 'hello world'],
  ['json', '{"type":"offer"}'],
  ['no version line', 'o=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\n'],
  ['no origin', 'v=0\r\ns=-\r\nt=0 0\r\n'],
  ['bad line', 'v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\nnot an sdp line\r\n'],
  ['unknown media kind', 'v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\nm=text 9 RTP/AVP 0\r\n'],
  ['duplicate mid', 'v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\nm=audio 9 RTP/AVP 0\r\na=mid:x\r\nm=audio 9 RTP/AVP 0\r\na=mid:x\r\n'],
  ['not a string', 42],
];
for (const [name, input] of garbage) {
  test(`garbage input throws SdpError sdp_invalid: ${name}`, () => {
    assert.throws(() => parseSdp(input as string), (err: unknown) => err instanceof SdpError && err.code === 'sdp_invalid');
  });
}
