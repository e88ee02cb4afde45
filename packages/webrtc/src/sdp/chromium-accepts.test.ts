// Live check that headless Chromium accepts our SDP: our subscriber offer (setRemoteDescription + answer)
// and our answer to its publisher offer. Skipped when /usr/bin/chromium is missing.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { parseSdp, writeSdp } from './sdp-model.js';
import { audioRedCapability, createAnswer, createOffer, defaultCapabilities, negotiatedFromAnswer, type LocalCapabilities } from './negotiation.js';
import { chromiumAnswersInOrder, chromiumAnswerTo, chromiumAppliesAnswer, hasChromium, launchChromium, type ChromiumSession } from './fixtures/chromium.js';
import { audioTrack, sampleTransport, screenTrack, subscriberTransceivers, videoTrack } from './fixtures/samples.js';

const skip = hasChromium() ? false : 'no /usr/bin/chromium';
let session: ChromiumSession | undefined;

before(async () => {
  if (!skip) session = await launchChromium();
});
after(async () => {
  await session?.close();
});

test('Chromium accepts our subscriber offer, and its renegotiation', { skip, timeout: 20_000 }, async () => {
  assert.ok(session);
  const first = createOffer({ transport: sampleTransport, capabilities: defaultCapabilities, transceivers: subscriberTransceivers, dataChannel: true });
  // Renegotiation on the same PeerConnection: one track removed (inactive), one added.
  const second = createOffer({
    transport: sampleTransport, capabilities: defaultCapabilities, dataChannel: true, previous: first,
    transceivers: [{ mid: '1', kind: 'video', direction: 'sendonly', sender: videoTrack }, { mid: '3', kind: 'video', direction: 'sendonly', sender: screenTrack }],
  });
  const [answerText, answerText2] = await chromiumAnswersInOrder(session.page, [writeSdp(first), writeSdp(second)]);
  const answer = parseSdp(answerText ?? '');
  const answer2 = parseSdp(answerText2 ?? '');
  assert.deepEqual(negotiatedFromAnswer(first, answer).map((m) => [m.mid, m.direction, m.rejected]), [
    ['0', 'sendonly', false], ['1', 'sendonly', false], ['2', 'sendrecv', false],
  ]);
  assert.ok(answer.media.every((m) => m.setup === 'active'), 'Chromium takes the DTLS client role');
  assert.deepEqual(negotiatedFromAnswer(second, answer2).map((m) => [m.mid, m.direction, m.rejected]), [
    ['0', 'inactive', false], ['1', 'sendonly', false], ['2', 'sendrecv', false], ['3', 'sendonly', false],
  ]);
});

test('Chromium applies our answers to its publisher offer and to its renegotiation', { skip, timeout: 20_000 }, async () => {
  assert.ok(session);
  const r = await chromiumAppliesAnswer(session.page, (offer) => writeSdp(createAnswer(parseSdp(offer), {
    transport: sampleTransport, capabilities: defaultCapabilities, setup: 'passive',
  })));
  assert.match(r.answer, /a=ice-lite/);
  assert.deepEqual(parseSdp(r.renegotiationAnswer).media.map((m) => [m.mid, m.direction]), [['0', 'inactive'], ['1', 'recvonly'], ['2', 'sendrecv']]);
});

test('Chromium answers our RED + Opus audio m-lines (mono and stereo Opus on one payload type) with RED first', { skip, timeout: 20_000 }, async () => {
  assert.ok(session);
  const opus = defaultCapabilities.audio[0]!;
  const caps: LocalCapabilities = { ...defaultCapabilities, audio: [opus, audioRedCapability] };
  const stereo = { ...opus, fmtp: 'minptime=10;useinbandfec=1;stereo=1;sprop-stereo=1' };
  const offer = createOffer({
    transport: sampleTransport, capabilities: caps, dataChannel: true,
    transceivers: [
      { mid: '0', kind: 'audio', direction: 'sendonly', sender: { ...audioTrack, codec: audioRedCapability, codecs: [audioRedCapability, opus] } },
      { mid: '1', kind: 'audio', direction: 'sendonly', sender: { ...audioTrack, ssrc: 1112, trackId: 'TR_a2', codec: audioRedCapability, codecs: [audioRedCapability, stereo] } },
    ],
  });
  const answer = parseSdp(await chromiumAnswerTo(session.page, writeSdp(offer)));
  for (const mid of ['0', '1']) {
    const m = answer.media.find((x) => x.mid === mid);
    assert.equal(m?.port, 9);
    // Chromium keeps our order and types; its answer does not ask for stereo by itself (livekit-client adds stereo=1).
    assert.deepEqual(m?.codecs.map((c) => [c.mimeType.toLowerCase(), c.payloadType, c.fmtp]), [
      ['audio/red', 63, '111/111'], ['audio/opus', 111, 'minptime=10;useinbandfec=1'],
    ]);
  }
});

test('Chromium applies our publisher answer that prefers RED and sets Opus usedtx/stereo', { skip, timeout: 20_000 }, async () => {
  assert.ok(session);
  const caps: LocalCapabilities = { ...defaultCapabilities, audio: [defaultCapabilities.audio[0]!, audioRedCapability] };
  const r = await chromiumAppliesAnswer(session.page, (offer) => writeSdp(createAnswer(parseSdp(offer), {
    transport: sampleTransport, capabilities: caps, setup: 'passive',
    preferredReceiveCodecs: new Map([['0', 'audio/red']]),
    receiveFmtpParams: new Map([['0', new Map([['audio/opus', 'usedtx=1;stereo=1;maxaveragebitrate=510000']])]]),
  })));
  assert.match(r.answer, /\r\nm=audio 9 UDP\/TLS\/RTP\/SAVPF 63 111\r\n/);
  assert.match(r.answer, /\r\na=fmtp:111 minptime=10;useinbandfec=1;usedtx=1;stereo=1;maxaveragebitrate=510000\r\n/);
});
