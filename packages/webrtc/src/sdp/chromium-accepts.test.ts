// Live check that headless Chromium accepts our SDP: our subscriber offer (setRemoteDescription + answer)
// and our answer to its publisher offer. Skipped when /usr/bin/chromium is missing.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { parseSdp, writeSdp } from './sdp-model.js';
import { createAnswer, createOffer, defaultCapabilities, negotiatedFromAnswer } from './negotiation.js';
import { chromiumAnswersInOrder, chromiumAppliesAnswer, hasChromium, launchChromium, type ChromiumSession } from './fixtures/chromium.js';
import { sampleTransport, screenTrack, subscriberTransceivers, videoTrack } from './fixtures/samples.js';

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
