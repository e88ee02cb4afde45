import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseSdp, writeSdp, type SessionDescriptionModel } from './sdp-model.js';
import { createOffer, defaultCapabilities, headerExtensionIds, type CreateOfferOptions, type OfferTransceiver } from './negotiation.js';
import { audioTrack, readFixture, sampleTransport, screenTrack, subscriberTransceivers, videoTrack } from './fixtures/samples.js';

const base = { transport: sampleTransport, capabilities: defaultCapabilities, dataChannel: true, sessionId: '4611686018427387904' } as const;
const offer = (o: Partial<CreateOfferOptions> & { transceivers: OfferTransceiver[] }): SessionDescriptionModel => {
  const d = createOffer({ ...base, ...o });
  assert.deepEqual(parseSdp(writeSdp(d)), d, 'the offer survives its own text form');
  return d;
};

test('subscriber offer with two tracks matches the committed fixture byte for byte', () => {
  const d = offer({ transceivers: subscriberTransceivers, sessionVersion: 2 });
  assert.equal(writeSdp(d), readFixture('atrium-subscriber-offer.sdp'));
});

test('subscriber offer: sendonly m-lines with msid, ssrc, one codec, data section, BUNDLE, ice-lite, actpass', () => {
  const d = offer({ transceivers: subscriberTransceivers });
  assert.equal(d.iceLite, true);
  assert.equal(d.sessionVersion, 2);
  assert.deepEqual(d.bundle, ['0', '1', '2']);
  assert.deepEqual(d.media.map((m) => [m.mid, m.kind, m.direction]), [['0', 'audio', 'sendonly'], ['1', 'video', 'sendonly'], ['2', 'application', 'sendrecv']]);
  const [audio, video, data] = d.media;
  assert.ok(audio && video && data);
  assert.deepEqual(audio.msid, { streamId: 'PA_alice|TR_audio1', trackId: 'TR_audio1' });
  assert.deepEqual(audio.ssrcs, [{ ssrc: 1111, cname: 'alice', msid: 'PA_alice|TR_audio1 TR_audio1' }]);
  assert.deepEqual(audio.codecs.map((c) => [c.mimeType, c.payloadType, c.rtxPayloadType]), [['audio/opus', 111, undefined]]);
  assert.deepEqual(video.codecs.map((c) => [c.mimeType, c.payloadType, c.rtxPayloadType]), [['video/VP8', 96, 97]]);
  assert.deepEqual(video.codecs[0]?.rtcpFeedback, [{ type: 'goog-remb' }, { type: 'transport-cc' }, { type: 'ccm', parameter: 'fir' }, { type: 'nack' }, { type: 'nack', parameter: 'pli' }]);
  assert.deepEqual(video.ssrcs, [{ ssrc: 2222, rtxSsrc: 2223, cname: 'alice', msid: 'PA_alice|TR_video1 TR_video1' }]);
  const ids = headerExtensionIds(defaultCapabilities);
  for (const m of [audio, video]) for (const e of m.headerExtensions) assert.equal(ids.get(e.uri), e.id);
  assert.ok(d.media.every((m) => m.setup === 'actpass' && m.iceUfrag === sampleTransport.iceUfrag));
  assert.equal(data.sctpPort, 5000);
  assert.equal(data.maxMessageSize, 262144);
  const text = writeSdp(d);
  assert.match(text, /\r\na=ssrc-group:FID 2222 2223\r\n/);
  assert.match(text, /\r\na=msid:PA_alice\|TR_video1 TR_video1\r\n/);
});

test('renegotiation keeps earlier m-lines in order, removed track inactive, new track appended', () => {
  const first = offer({ transceivers: subscriberTransceivers });
  const second = offer({
    previous: first,
    transceivers: [
      { mid: '1', kind: 'video', direction: 'sendonly', sender: videoTrack },
      { mid: '3', kind: 'video', direction: 'sendonly', sender: screenTrack },
    ],
  });
  assert.equal(second.sessionId, first.sessionId);
  assert.equal(second.sessionVersion, first.sessionVersion + 1);
  assert.deepEqual(second.media.map((m) => [m.mid, m.kind, m.direction]), [
    ['0', 'audio', 'inactive'], ['1', 'video', 'sendonly'], ['2', 'application', 'sendrecv'], ['3', 'video', 'sendonly'],
  ]);
  const removed = second.media[0];
  assert.equal(removed?.msid, undefined);
  assert.deepEqual(removed?.ssrcs, []);
  assert.deepEqual(removed?.codecs, first.media[0]?.codecs, 'the inactive m-line keeps its codecs');
  assert.deepEqual(second.media[1], first.media[1], 'unchanged m-line is identical');
  assert.deepEqual(second.media[3]?.msid, { streamId: 'PA_bob|TR_screen1', trackId: 'TR_screen1' });
  assert.deepEqual(second.bundle, ['0', '1', '2', '3']);
  // A third offer keeps the inactive line inactive and in place.
  const third = offer({ previous: second, transceivers: [{ mid: '3', kind: 'video', direction: 'sendonly', sender: screenTrack }] });
  assert.deepEqual(third.media.map((m) => [m.mid, m.direction]), [['0', 'inactive'], ['1', 'inactive'], ['2', 'sendrecv'], ['3', 'sendonly']]);
});

test('after an ICE restart every bundled m-line, inactive ones too, carries the new credentials', () => {
  const first = offer({ transceivers: subscriberTransceivers });
  const transport = { ...sampleTransport, iceUfrag: 'newUfrag', icePwd: 'newIcePasswordNewIcePassword' };
  const second = offer({ previous: first, transport, transceivers: [{ mid: '1', kind: 'video', direction: 'sendonly', sender: videoTrack }] });
  assert.equal(second.media[0]?.direction, 'inactive');
  assert.ok(second.media.every((m) => m.iceUfrag === 'newUfrag' && m.icePwd === 'newIcePasswordNewIcePassword'));
});

test('client role: sendonly audio+video without senders offers all codecs; data mid as given', () => {
  const d = offer({
    transceivers: [{ mid: 'a', kind: 'audio', direction: 'sendonly' }, { mid: 'v', kind: 'video', direction: 'sendonly' }],
    dataMid: 'd',
  });
  assert.deepEqual(d.media.map((m) => m.mid), ['a', 'v', 'd']);
  assert.deepEqual(d.media[1]?.codecs.map((c) => [c.mimeType, c.payloadType, c.rtxPayloadType]), [
    ['video/VP8', 96, 97], ['video/H264', 102, 103], ['video/H264', 104, 105], ['video/VP9', 98, 99], ['video/AV1', 45, 46],
  ]);
  assert.equal(d.media[1]?.msid, undefined);
});

test('an offer without a data channel has no application section; empty offer is data only', () => {
  assert.deepEqual(offer({ transceivers: subscriberTransceivers, dataChannel: false }).media.map((m) => m.kind), ['audio', 'video']);
  assert.deepEqual(offer({ transceivers: [] }).media.map((m) => [m.mid, m.kind]), [['0', 'application']]);
});

test('rtx is left out when the sender has no rtx ssrc', () => {
  const { rtxSsrc: _unused, ...noRtx } = videoTrack;
  const d = offer({ transceivers: [{ mid: '0', kind: 'video', direction: 'sendonly', sender: noRtx }] });
  assert.equal(d.media[0]?.codecs[0]?.rtxPayloadType, undefined);
  assert.deepEqual(d.media[0]?.ssrcs, [{ ssrc: 2222, cname: 'alice', msid: 'PA_alice|TR_video1 TR_video1' }]);
});

test('default data mid is the m-line index when free', () => {
  const d = offer({ transceivers: [{ mid: '5', kind: 'audio', direction: 'sendonly', sender: audioTrack }] });
  assert.deepEqual(d.media.map((m) => m.mid), ['5', '1'], 'data mid defaults to its m-line index');
});
