// RTX towards the answerer (RFC 4588): the offer pairs a video sender's SSRC with its RTX SSRC (ssrc-group:FID), the
// answer settles the RTX payload type; retransmissions and probe padding reach our client role over loopback.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRtpHeader, parseRtpHeader, serializeRtpPacket } from '../rtp/index.js';
import { waitFor } from '../testing/wait-for.js';
import { loopbackPairs, loopbackPolling, opusCapability, vp8Capability } from '../testing/loopback-pair.js';

const polling = loopbackPolling;
const opus = opusCapability;
const vp8 = vp8Capability;
const pair = loopbackPairs();

test('offer: a video sender gets an RTX SSRC in an FID group, audio none; the answer gives the RTX payload type', async () => {
  const { server, client } = await pair();
  const audio = server.addSender({ kind: 'audio', streamId: 'PA_x|TR_a', trackId: 'TR_a', codec: opus });
  const video = server.addSender({ kind: 'video', streamId: 'PA_x|TR_v', trackId: 'TR_v', codec: vp8 });
  assert.equal(audio.rtxSsrc, undefined);
  assert.notEqual(video.rtxSsrc, undefined);
  assert.notEqual(video.rtxSsrc, video.ssrc);
  const offer = server.createOffer();
  assert.match(offer, new RegExp(`a=ssrc-group:FID ${video.ssrc} ${video.rtxSsrc}\\r\\n`));
  assert.match(offer, new RegExp(`a=fmtp:\\d+ apt=${video.payloadType}\\r\\n`));
  assert.equal(video.rtxPayloadType, undefined, 'not before the answer');
  const answer = client.handleOffer(offer);
  const rtxPt = Number(new RegExp(`a=fmtp:(\\d+) apt=${video.payloadType}\\r\\n`).exec(answer)?.[1]);
  assert.ok(rtxPt > 0);
  server.handleAnswer(answer);
  assert.equal(video.rtxPayloadType, rtxPt);
  assert.equal(audio.rtxPayloadType, undefined);
  assert.equal(server.pacer?.isPassThrough, true, 'default pacer, unlimited');
  assert.equal(server.pacer?.canProbe, true);
});

test('an answer without RTX: rtxPayloadType undefined, sendRtx false, no probe', async () => {
  const { server, client } = await pair();
  const video = server.addSender({ kind: 'video', streamId: 'PA_x|TR_v', trackId: 'TR_v', codec: vp8 });
  const answer = client.handleOffer(server.createOffer())
    .replace(/a=rtpmap:\d+ rtx\/90000\r\n/g, '')
    .replace(/a=fmtp:\d+ apt=\d+\r\n/g, '');
  server.handleAnswer(answer);
  assert.equal(video.isAccepted, true);
  assert.equal(video.rtxPayloadType, undefined);
  const buf = serializeRtpPacket({ payloadType: video.payloadType, sequenceNumber: 1, timestamp: 0, ssrc: video.ssrc, payload: Buffer.from('x') });
  const h = createRtpHeader();
  assert.ok(parseRtpHeader(buf, h));
  assert.equal(video.sendRtx(buf, h), false);
  assert.equal(server.pacer?.canProbe, false);
  assert.equal(server.pacer?.startProbe({ clusterId: 1, targetBps: 1_000_000, durationMs: 20 }), false);
});

test('a retransmission on the RTX SSRC repairs a lost packet at the client; probe padding arrives as RTX padding', async () => {
  const { server, client } = await pair();
  const video = server.addSender({ kind: 'video', streamId: 'PA_x|TR_v', trackId: 'TR_v', codec: vp8 });
  const got: string[] = [];
  client.on('remoteStream', (s) => {
    s.onRtp = (buf, h) => got.push(`${h.sequenceNumber}:${buf.subarray(h.payloadOffset, h.payloadOffset + h.payloadLength).toString()}`);
  });
  server.handleAnswer(client.handleOffer(server.createOffer()));
  await waitFor(() => server.connectionState === 'connected' && client.connectionState === 'connected', { ...polling, label: 'both peers connected' });
  const packets = Array.from({ length: 8 }, (_, i) => serializeRtpPacket({
    payloadType: video.payloadType, sequenceNumber: 100 + i, timestamp: i * 3000, ssrc: video.ssrc, payload: Buffer.from(`p${i}`),
  }));
  for (let i = 0; i < packets.length; i++) if (i !== 5) video.sendRtp(packets[i]!);
  await waitFor(() => got.length >= 7, { ...polling, label: 'media at the client' });
  assert.ok(!got.includes('105:p5'));
  const h = createRtpHeader();
  assert.ok(parseRtpHeader(packets[5]!, h));
  assert.equal(video.sendRtx(packets[5]!, h), true);
  await waitFor(() => got.includes('105:p5'), { ...polling, label: 'the retransmission, unwrapped at the client' });
  assert.equal(video.rtxPacketsSent, 1);

  assert.equal(server.pacer!.startProbe({ clusterId: 4, targetBps: 2_000_000, durationMs: 20 }), true);
  await waitFor(() => client.demuxStats.rtxPadding > 0 && !server.pacer!.isProbing, { ...polling, label: 'padding at the client' });
  assert.ok(video.paddingPacketsSent >= 5);
  assert.equal(client.demuxStats.unknownSsrc, 0);
  assert.equal(client.demuxStats.malformed, 0);
});
