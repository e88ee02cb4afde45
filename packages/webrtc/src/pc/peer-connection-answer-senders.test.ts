// Answer senders (LiveKit's single PC mode): the client offers recvonly m-lines, our server role places its senders on
// them when it answers, over real loopback UDP. Binding, waiting for room, codec choice, retiring a removed sender's
// m-line and media reaching the client on the m-line it pre-created.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { serializeRtpPacket } from '../rtp/index.js';
import { audioRedCapability, parseSdp } from '../sdp/index.js';
import { loopbackPairs, loopbackPolling, opusCapability, vp8Capability } from '../testing/loopback-pair.js';
import { waitFor } from '../testing/wait-for.js';
import type { RemoteStream } from './remote-stream.js';

const pair = loopbackPairs();

test('senders wait for a recvonly m-line of their kind, go out on it, and media reaches the client there', async () => {
  const { server, client } = await pair();
  const published = client.addSender({ kind: 'audio', streamId: 'me', trackId: 'cid-mic', codec: opusCapability });
  const audioMid = client.addReceiveTransceiver('audio');
  const videoMid = client.addReceiveTransceiver('video');
  client.createDataChannel('_reliable');
  // Added before any offer: it waits.
  const video = server.addAnswerSender({ kind: 'video', streamId: 'PA_1|TR_v', trackId: 'TR_v', codec: vp8Capability });
  assert.deepEqual(server.answerSenderNeeds.waiting, { audio: 0, video: 1 });
  assert.equal(video.isNegotiated, false);

  const answerSdp = server.handleOffer(client.createOffer());
  const answer = parseSdp(answerSdp);
  const m = (mid: string) => answer.media.find((x) => x.mid === mid)!;
  assert.equal(video.mid, videoMid);
  assert.equal(m(videoMid).direction, 'sendonly');
  assert.deepEqual(m(videoMid).msid, { streamId: 'PA_1|TR_v', trackId: 'TR_v' });
  assert.equal(m(videoMid).ssrcs[0]?.ssrc, video.ssrc);
  assert.equal(m(audioMid).direction, 'inactive', 'a recvonly m-line without a sender is answered inactive');
  assert.equal(m(published.mid).direction, 'recvonly', 'what the client publishes is still received');
  assert.equal(video.isNegotiated && video.isAccepted, true);
  assert.equal(video.payloadType, m(videoMid).codecs[0]!.payloadType);
  assert.deepEqual(server.answerSenderNeeds, { waiting: { audio: 0, video: 0 }, free: { audio: 1, video: 0 }, needsOffer: false });
  client.handleAnswer(answerSdp);

  const atClient: RemoteStream[] = [];
  const payloads: string[] = [];
  client.on('remoteStream', (s) => {
    atClient.push(s);
    s.onRtp = (buf, h) => payloads.push(buf.subarray(h.payloadOffset, h.payloadOffset + h.payloadLength).toString());
  });
  await waitFor(() => server.connectionState === 'connected' && client.connectionState === 'connected', { ...loopbackPolling, label: 'connected' });
  for (let i = 0; i < 10; i++) {
    video.sendRtp(serializeRtpPacket({ payloadType: video.payloadType, sequenceNumber: 7 + i, timestamp: 3000 * i, ssrc: video.ssrc, payload: Buffer.from(`v${i}`) }));
  }
  await waitFor(() => payloads.length >= 10, { ...loopbackPolling, label: '10 packets at the client' });
  assert.equal(atClient[0]?.mid, videoMid);
  assert.equal(payloads[3], 'v3');
});

test('no free m-line: the sender waits until an offer brings one; a removed sender retires its m-line for one answer', async () => {
  const { server, client } = await pair();
  const firstMid = client.addReceiveTransceiver('video');
  const a = server.addAnswerSender({ kind: 'video', streamId: 'PA_1|TR_a', trackId: 'TR_a', codec: vp8Capability });
  const b = server.addAnswerSender({ kind: 'video', streamId: 'PA_1|TR_b', trackId: 'TR_b', codec: vp8Capability });
  client.handleAnswer(server.handleOffer(client.createOffer()));
  assert.equal(a.mid, firstMid);
  assert.equal(b.mid, '', 'no room for the second');
  assert.deepEqual(server.answerSenderNeeds, { waiting: { audio: 0, video: 1 }, free: { audio: 0, video: 0 }, needsOffer: true });

  // What MediaSectionsRequirement{num_videos: 1} makes the client do.
  const secondMid = client.addReceiveTransceiver('video');
  client.handleAnswer(server.handleOffer(client.createOffer()));
  assert.equal(b.mid, secondMid);
  assert.equal(b.isAccepted, true);
  assert.equal(server.answerSenderNeeds.needsOffer, false);

  // A removed sender's m-line is answered inactive once, and not reused in that answer.
  server.removeSender(a);
  const c = server.addAnswerSender({ kind: 'video', streamId: 'PA_2|TR_c', trackId: 'TR_c', codec: vp8Capability });
  assert.equal(server.answerSenderNeeds.needsOffer, true);
  const retireAnswer = parseSdp(server.handleOffer(client.createOffer()));
  assert.equal(retireAnswer.media.find((m) => m.mid === firstMid)?.direction, 'inactive');
  assert.equal(c.mid, '');
  assert.deepEqual(server.answerSenderNeeds.free, { audio: 0, video: 1 });
  const reuse = parseSdp(server.handleOffer(client.createOffer()));
  assert.equal(c.mid, firstMid, 'the retired m-line carries the new track');
  assert.deepEqual(reuse.media.find((m) => m.mid === firstMid)?.msid, { streamId: 'PA_2|TR_c', trackId: 'TR_c' });
  assert.equal(server.answerSenderNeeds.needsOffer, false);
});

test('the answer sends the first codec in the sender\'s order that the offer has (RED before Opus), from sendCapabilities', async () => {
  const { server, client } = await pair({
    server: { sendCapabilities: { audio: [opusCapability, audioRedCapability], video: [vp8Capability], headerExtensions: { audio: [], video: [] } } },
    client: { capabilities: { audio: [opusCapability, audioRedCapability], video: [vp8Capability], headerExtensions: { audio: [], video: [] } } },
  });
  const mid = client.addReceiveTransceiver('audio');
  const opusMid = client.addReceiveTransceiver('audio');
  const s = server.addAnswerSender({ kind: 'audio', streamId: 'PA_1|TR_m', trackId: 'TR_m', codec: audioRedCapability, alternatives: [opusCapability] });
  const stereo = { ...opusCapability, fmtp: 'minptime=10;useinbandfec=1;stereo=1;sprop-stereo=1' };
  server.addAnswerSender({ kind: 'audio', streamId: 'PA_1|TR_s', trackId: 'TR_s', codec: stereo });
  const answer = parseSdp(server.handleOffer(client.createOffer()));
  const section = answer.media.find((m) => m.mid === mid)!;
  assert.deepEqual(section.codecs.map((c) => c.mimeType.toLowerCase()), ['audio/red', 'audio/opus'], 'what we may send there, RED first');
  const opusOnly = answer.media.find((m) => m.mid === opusMid)!;
  assert.deepEqual(opusOnly.codecs.map((c) => c.mimeType.toLowerCase()), ['audio/opus'], 'an Opus sender lists Opus alone');
  assert.match(opusOnly.codecs[0]!.fmtp ?? '', /stereo=1/, 'with the sender\'s own format parameters');
  assert.equal(s.codec.mimeType, 'audio/red');
  assert.equal(s.payloadTypes.get('audio/opus'), section.codecs.find((c) => c.mimeType.toLowerCase() === 'audio/opus')?.payloadType);
});
