// Audio parts of offer/answer: RED (RFC 2198) accepted from and offered to remotes, and per-m-line Opus format
// parameters (RFC 7587 section 7: usedtx, stereo, sprop-stereo, maxaveragebitrate), checked as the SDP lines written.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseSdp, writeSdp, type MediaSection, type SessionDescriptionModel } from './sdp-model.js';
import {
  audioRedCapability, createAnswer, createOffer, defaultCapabilities, redBlockPayloadTypes, withFmtpParams,
  type CodecCapability, type CreateAnswerOptions, type LocalCapabilities,
} from './negotiation.js';
import { audioTrack, readFixture, sampleTransport } from './fixtures/samples.js';

const opus = defaultCapabilities.audio[0]!;
/** A server that takes RED from publishers and offers it to subscribers (what Atrium's media side configures). */
const withRed: LocalCapabilities = { ...defaultCapabilities, audio: [opus, audioRedCapability] };
const opts: CreateAnswerOptions = { transport: sampleTransport, capabilities: withRed, setup: 'passive' };

const section = (d: SessionDescriptionModel, mid: string): MediaSection => {
  const m = d.media.find((x) => x.mid === mid);
  assert.ok(m, `mid ${mid}`);
  return m;
};
/** The rtpmap/fmtp lines of one m-line of `sdp`, in order. */
const codecLines = (sdp: string, kind: 'audio'): string[] => {
  const block = sdp.split(/\r\n(?=m=)/).find((b) => b.startsWith(`m=${kind}`)) ?? '';
  return block.split('\r\n').filter((l) => l.startsWith('m=') || l.startsWith('a=rtpmap:') || l.startsWith('a=fmtp:'));
};

test('withFmtpParams sets parameters in place or appends them in order', () => {
  const cases: [string | undefined, string, string][] = [
    ['minptime=10;useinbandfec=1', 'usedtx=1', 'minptime=10;useinbandfec=1;usedtx=1'],
    ['minptime=10;useinbandfec=1', 'stereo=1;maxaveragebitrate=510000', 'minptime=10;useinbandfec=1;stereo=1;maxaveragebitrate=510000'],
    ['minptime=10;usedtx=0;useinbandfec=1', 'usedtx=1', 'minptime=10;usedtx=1;useinbandfec=1'],
    ['minptime=10; Stereo=0', 'stereo=1', 'minptime=10;stereo=1'],
    [undefined, 'usedtx=1', 'usedtx=1'],
    ['', ';;stereo=1;', 'stereo=1'],
    ['minptime=10', '', 'minptime=10'],
  ];
  for (const [fmtp, params, expected] of cases) assert.equal(withFmtpParams(fmtp, params), expected, `${fmtp} + ${params}`);
});

test('redBlockPayloadTypes reads RFC 2198 format parameters and refuses anything else', () => {
  const cases: [string | undefined, number[]][] = [
    ['111/111', [111, 111]],
    ['111', [111]],
    ['96/97/98', [96, 97, 98]],
    [' 111/111 ', [111, 111]],
    ['111/128', []],
    ['111//111', []],
    ['opus', []],
    ['111/111;x=1', []],
    ['', []],
    [undefined, []],
  ];
  for (const [fmtp, expected] of cases) assert.deepEqual(redBlockPayloadTypes(fmtp), expected, String(fmtp));
});

test('publisher answer: RED is answered with the offered format when we take RED; not otherwise', () => {
  const offer = parseSdp(readFixture('chromium-publisher-offer.sdp'));
  // Chromium offers `111 63 ...`: opus, then red/48000/2 with `111/111`.
  const plain = writeSdp(createAnswer(offer, { ...opts, capabilities: defaultCapabilities }));
  assert.deepEqual(codecLines(plain, 'audio'), [
    'm=audio 9 UDP/TLS/RTP/SAVPF 111',
    'a=rtpmap:111 opus/48000/2',
    'a=fmtp:111 minptime=10;useinbandfec=1',
  ]);
  const red = writeSdp(createAnswer(offer, opts));
  assert.deepEqual(codecLines(red, 'audio'), [
    'm=audio 9 UDP/TLS/RTP/SAVPF 111 63',
    'a=rtpmap:111 opus/48000/2',
    'a=rtpmap:63 red/48000/2',
    'a=fmtp:111 minptime=10;useinbandfec=1',
    'a=fmtp:63 111/111',
  ]);
  // Preferring RED (the track did not disable it) puts it first: Chromium then sends RED.
  const preferred = writeSdp(createAnswer(offer, { ...opts, preferredReceiveCodecs: new Map([['0', 'audio/red']]) }));
  assert.equal(codecLines(preferred, 'audio')[0], 'm=audio 9 UDP/TLS/RTP/SAVPF 63 111');
});

test('publisher answer: RED naming a payload type we do not accept (or none) is left out', () => {
  const variants: [string, (m: MediaSection) => void][] = [
    ['blocks of PCMU (0), which we do not take', (m) => { const r = m.codecs.find((c) => c.mimeType === 'red'); if (r) r.fmtp = '0/0'; }],
    ['no format parameters', (m) => { const r = m.codecs.find((c) => c.mimeType === 'red'); if (r) delete r.fmtp; }],
    ['opus not offered', (m) => { m.codecs = m.codecs.filter((c) => c.mimeType !== 'opus'); }],
  ];
  for (const [name, change] of variants) {
    const offer = parseSdp(readFixture('chromium-publisher-offer.sdp'));
    const audio = section(offer, '0');
    for (const c of audio.codecs) c.mimeType = c.mimeType.replace(/^audio\//, '');
    change(audio);
    for (const c of audio.codecs) c.mimeType = `audio/${c.mimeType}`;
    const answer = section(createAnswer(offer, opts), '0');
    // Without Opus nothing is left: the m-line is rejected (port 0 keeps one offered format for the m= line).
    assert.ok(answer.port === 0 || !answer.codecs.some((c) => c.mimeType.toLowerCase() === 'audio/red'), name);
    assert.equal(answer.port === 0, name === 'opus not offered', name);
  }
});

test('publisher answer: per-m-line Opus parameters (DTX, stereo) as LiveKit writes them', () => {
  const offer = parseSdp(readFixture('chromium-publisher-offer.sdp'));
  const lines = (params: string | undefined): string[] => {
    const receiveFmtpParams = params === undefined ? undefined : new Map([['0', new Map([['audio/opus', params]])]]);
    return codecLines(writeSdp(createAnswer(offer, { ...opts, ...(receiveFmtpParams ? { receiveFmtpParams } : {}) })), 'audio')
      .filter((l) => l.startsWith('a=fmtp:'));
  };
  // A microphone with DTX (LiveKit's default): usedtx=1.
  assert.deepEqual(lines('usedtx=1'), ['a=fmtp:111 minptime=10;useinbandfec=1;usedtx=1', 'a=fmtp:63 111/111']);
  // A stereo track (livekit-client turns DTX off for it): stereo=1 and the 510 kbps ceiling.
  assert.deepEqual(lines('stereo=1;maxaveragebitrate=510000'), [
    'a=fmtp:111 minptime=10;useinbandfec=1;stereo=1;maxaveragebitrate=510000', 'a=fmtp:63 111/111',
  ]);
  assert.deepEqual(lines('usedtx=1;stereo=1;maxaveragebitrate=510000'), [
    'a=fmtp:111 minptime=10;useinbandfec=1;usedtx=1;stereo=1;maxaveragebitrate=510000', 'a=fmtp:63 111/111',
  ]);
  assert.deepEqual(lines(undefined), ['a=fmtp:111 minptime=10;useinbandfec=1', 'a=fmtp:63 111/111']);
  // Other m-lines are untouched.
  const video = section(createAnswer(offer, { ...opts, receiveFmtpParams: new Map([['0', new Map([['audio/opus', 'usedtx=1']])]]) }), '1');
  assert.deepEqual(video.codecs, section(createAnswer(offer, opts), '1').codecs);
});

test('subscriber offer: RED then Opus on one m-line, RED naming our Opus type; stereo Opus keeps its parameters', () => {
  const stereoOpus: CodecCapability = { ...opus, fmtp: 'minptime=10;useinbandfec=1;stereo=1;sprop-stereo=1' };
  const red: CodecCapability = audioRedCapability;
  const d = createOffer({
    transport: sampleTransport, capabilities: withRed, dataChannel: false, sessionId: '1',
    transceivers: [
      { mid: '0', kind: 'audio', direction: 'sendonly', sender: { ...audioTrack, codec: red, codecs: [red, opus] } },
      { mid: '1', kind: 'audio', direction: 'sendonly', sender: { ...audioTrack, ssrc: 1112, trackId: 'TR_a2', codec: red, codecs: [red, stereoOpus] } },
      { mid: '2', kind: 'audio', direction: 'sendonly', sender: { ...audioTrack, ssrc: 1113, trackId: 'TR_a3', codec: stereoOpus } },
    ],
  });
  const text = writeSdp(d);
  assert.deepEqual(parseSdp(text), d, 'the offer survives its own text form');
  const blocks = text.split(/\r\n(?=m=)/).filter((b) => b.startsWith('m=audio'));
  const lines = blocks.map((b) => b.split('\r\n').filter((l) => l.startsWith('m=') || l.startsWith('a=rtpmap:') || l.startsWith('a=fmtp:')));
  assert.deepEqual(lines, [
    ['m=audio 9 UDP/TLS/RTP/SAVPF 63 111', 'a=rtpmap:63 red/48000/2', 'a=rtpmap:111 opus/48000/2', 'a=fmtp:63 111/111',
      'a=fmtp:111 minptime=10;useinbandfec=1'],
    ['m=audio 9 UDP/TLS/RTP/SAVPF 63 111', 'a=rtpmap:63 red/48000/2', 'a=rtpmap:111 opus/48000/2', 'a=fmtp:63 111/111',
      'a=fmtp:111 minptime=10;useinbandfec=1;stereo=1;sprop-stereo=1'],
    ['m=audio 9 UDP/TLS/RTP/SAVPF 111', 'a=rtpmap:111 opus/48000/2', 'a=fmtp:111 minptime=10;useinbandfec=1;stereo=1;sprop-stereo=1'],
  ]);
});

test('subscriber offer: RED follows Opus to another payload type when 111 is taken', () => {
  const caps: LocalCapabilities = { ...withRed, audio: [{ ...opus, preferredPayloadType: 109 }, audioRedCapability] };
  const d = createOffer({
    transport: sampleTransport, capabilities: caps, dataChannel: false, sessionId: '1',
    transceivers: [{ mid: '0', kind: 'audio', direction: 'sendonly', sender: { ...audioTrack, codec: audioRedCapability, codecs: [audioRedCapability, caps.audio[0]!] } }],
  });
  assert.deepEqual(section(d, '0').codecs.map((c) => [c.mimeType, c.payloadType, c.fmtp]), [['audio/red', 63, '109/109'], ['audio/opus', 109, 'minptime=10;useinbandfec=1']]);
});

test('answering an offer of RED then Opus (our client role) keeps both, in the offer order', () => {
  const offer = createOffer({
    transport: sampleTransport, capabilities: withRed, dataChannel: false, sessionId: '1',
    transceivers: [{ mid: '0', kind: 'audio', direction: 'sendonly', sender: { ...audioTrack, codec: audioRedCapability, codecs: [audioRedCapability, opus] } }],
  });
  const answer = createAnswer(
    parseSdp(writeSdp({ ...offer, media: offer.media.map((m) => ({ ...m, direction: 'sendonly' as const })) })),
    { ...opts, setup: 'active' },
  );
  assert.deepEqual(section(answer, '0').codecs.map((c) => [c.mimeType, c.payloadType, c.fmtp]), [
    ['audio/red', 63, '111/111'], ['audio/opus', 111, 'minptime=10;useinbandfec=1'],
  ]);
});
