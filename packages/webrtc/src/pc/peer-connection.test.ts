// Our server role (ICE-lite, DTLS server) against our client role (ICE controlling, DTLS client) over real
// loopback UDP: connection, RTP both ways through SRTP, and data channels.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { serializePictureLossIndication, serializeRtpPacket, type Remb, type TransportWideFeedback } from '../rtp/index.js';
import { defaultCapabilities, HeaderExtensionUri, type LocalCapabilities } from '../sdp/index.js';
import { loopbackPairs, loopbackPolling, opusCapability, vp8Capability } from '../testing/loopback-pair.js';
import { waitFor } from '../testing/wait-for.js';
import type { RemoteStream } from './remote-stream.js';
import type { LocalSender } from './local-sender.js';

const polling = loopbackPolling;
const opus = opusCapability;
const vp8 = vp8Capability;
const pair = loopbackPairs();

test('client offers media and data, server answers: RTP and messages flow through SRTP and SCTP', async () => {
  const { server, client } = await pair();
  const audio = client.addSender({ kind: 'audio', streamId: 's1', trackId: 'cid-audio', codec: opus });
  const video = client.addSender({ kind: 'video', streamId: 's1', trackId: 'cid-video', codec: vp8 });
  const clientChannel = client.createDataChannel('_reliable', { ordered: true });

  const streams: RemoteStream[] = [];
  const received = new Map<string, Buffer[]>();
  server.on('remoteStream', (s) => {
    streams.push(s);
    received.set(s.mid, []);
    s.onRtp = (buf, h) => received.get(s.mid)!.push(Buffer.from(buf.subarray(h.payloadOffset, h.payloadOffset + h.payloadLength)));
  });
  const serverMessages: string[] = [];
  server.on('dataChannel', (ch) => {
    ch.on('message', (m: Buffer | string) => {
      serverMessages.push(m.toString());
      ch.send(`echo:${m.toString()}`);
    });
  });

  const answer = server.handleOffer(client.createOffer());
  assert.match(answer, /a=ice-lite/);
  assert.match(answer, /a=setup:passive/);
  client.handleAnswer(answer);
  await waitFor(() => server.connectionState === 'connected' && client.connectionState === 'connected', { ...polling, label: 'both peers connected' });

  for (let i = 0; i < 20; i++) {
    audio.sendRtp(serializeRtpPacket({ payloadType: audio.payloadType, sequenceNumber: 100 + i, timestamp: 960 * i, ssrc: audio.ssrc, payload: Buffer.from(`a${i}`) }));
    video.sendRtp(serializeRtpPacket({ payloadType: video.payloadType, sequenceNumber: 65530 + i, timestamp: 3000 * i, ssrc: video.ssrc, payload: Buffer.from(`v${i}`) }));
  }
  await waitFor(() => (received.get(audio.mid)?.length ?? 0) >= 20 && (received.get(video.mid)?.length ?? 0) >= 20, { ...polling, label: '20 RTP packets per stream at the server' });
  assert.equal(received.get(audio.mid)![5]!.toString(), 'a5');
  assert.equal(received.get(video.mid)![19]!.toString(), 'v19');
  assert.deepEqual(streams.map((s) => s.kind).sort(), ['audio', 'video']);

  const clientMessages: string[] = [];
  clientChannel.on('message', (m: Buffer | string) => clientMessages.push(m.toString()));
  await waitFor(() => clientChannel.readyState === 'open', { ...polling, label: 'client channel open' });
  clientChannel.send('hello');
  await waitFor(() => clientMessages.includes('echo:hello'), { ...polling, label: 'the echo at the client' });
  assert.deepEqual(serverMessages, ['hello']);
});

test('server offers a sendonly track and data channels, client answers: RTP reaches the client', async () => {
  const { server, client } = await pair();
  const sender = server.addSender({ kind: 'video', streamId: 'PA_x|TR_y', trackId: 'TR_y', codec: vp8 });
  const reliable = server.createDataChannel('_reliable', { ordered: true });
  const got: string[] = [];
  client.on('remoteStream', (s) => {
    s.onRtp = (buf, h) => got.push(buf.subarray(h.payloadOffset, h.payloadOffset + h.payloadLength).toString());
  });
  const clientMsgs: string[] = [];
  client.on('dataChannel', (ch) => ch.on('message', (m: Buffer | string) => clientMsgs.push(`${ch.label}:${m.toString()}`)));

  const offer = server.createOffer();
  assert.match(offer, /a=msid:PA_x\|TR_y TR_y/);
  assert.match(offer, /a=setup:actpass/);
  server.handleAnswer(client.handleOffer(offer));
  await waitFor(() => server.connectionState === 'connected' && client.connectionState === 'connected', { ...polling, label: 'both peers connected' });
  for (let i = 0; i < 10; i++) {
    sender.sendRtp(serializeRtpPacket({ payloadType: sender.payloadType, sequenceNumber: i, timestamp: i * 3000, ssrc: sender.ssrc, payload: Buffer.from(`p${i}`) }));
  }
  await waitFor(() => got.length >= 10, { ...polling, label: 'RTP at the client' });
  assert.equal(got[3], 'p3');
  await waitFor(() => reliable.readyState === 'open', { ...polling, label: 'server channel open' });
  reliable.send('from-server');
  await waitFor(() => clientMsgs.includes('_reliable:from-server'), { ...polling, label: 'the message from the server at the client' });

  // Renegotiation: removing the sender makes the m-line inactive and ends the client's stream.
  let ended = 0;
  client.on('remoteStreamEnded', () => ended++);
  server.removeSender(sender);
  const offer2 = server.createOffer();
  assert.match(offer2, /a=inactive/);
  server.handleAnswer(client.handleOffer(offer2));
  assert.equal(ended, 1);
});

test('an answer that accepts none of a sender codec marks the sender not accepted', async () => {
  const { server, client } = await pair();
  const audio = server.addSender({ kind: 'audio', streamId: 'PA_x|TR_a', trackId: 'TR_a', codec: opus });
  const video = server.addSender({ kind: 'video', streamId: 'PA_x|TR_v', trackId: 'TR_v', codec: vp8 });
  assert.equal(video.isNegotiated, false);
  const answer = client.handleOffer(server.createOffer());
  // As a browser without VP8 would answer: the video m-line carries no codec of ours.
  server.handleAnswer(answer.replace(/ VP8\/90000/g, ' X-NOT-VP8/90000'));
  assert.equal(audio.isAccepted, true);
  assert.equal(video.isNegotiated, true);
  assert.equal(video.isAccepted, false);
});

test('recycle: a new sender reuses an m-line whose sender was removed and answered away; media flows on it', async () => {
  const { server, client } = await pair();
  const got = new Map<number, number>(); // by SSRC
  client.on('remoteStream', (s) => {
    s.onRtp = () => got.set(s.ssrc, (got.get(s.ssrc) ?? 0) + 1);
  });
  const sendSome = (sender: LocalSender): void => {
    for (let i = 0; i < 5; i++) sender.sendRtp(serializeRtpPacket({ payloadType: sender.payloadType, sequenceNumber: i, timestamp: i * 3000, ssrc: sender.ssrc, payload: Buffer.from([0x10, 0, i]) }));
  };
  const mLines = (sdp: string): number => sdp.split('\r\n').filter((l) => l.startsWith('m=')).length;
  let sender = server.addSender({ kind: 'video', streamId: 'PA_x|TR_0', trackId: 'TR_0', codec: vp8, recycle: true });
  const firstMid = sender.mid;
  server.handleAnswer(client.handleOffer(server.createOffer()));
  await waitFor(() => server.connectionState === 'connected' && client.connectionState === 'connected', { ...polling, label: 'both peers connected' });
  sendSome(sender);
  await waitFor(() => (got.get(sender.ssrc) ?? 0) >= 5, { ...polling, label: 'RTP of the first track' });

  // Removed but not yet answered away: a new sender cannot take the m-line yet.
  server.removeSender(sender);
  const early = server.addSender({ kind: 'video', streamId: 'PA_x|TR_e', trackId: 'TR_e', codec: vp8, recycle: true });
  assert.notEqual(early.mid, firstMid);
  server.removeSender(early);
  server.handleAnswer(client.handleOffer(server.createOffer()));

  // Ten subscriptions in turn on a long-lived connection: the SDP keeps its size.
  let lines = 0;
  for (let round = 1; round <= 10; round++) {
    sender = server.addSender({ kind: 'video', streamId: `PA_x|TR_${round}`, trackId: `TR_${round}`, codec: vp8, recycle: true });
    const offer = server.createOffer();
    assert.match(offer, new RegExp(`a=msid:PA_x\\|TR_${round} TR_${round}`));
    if (round === 1) lines = mLines(offer);
    else assert.equal(mLines(offer), lines, `round ${round}: no new m-line`);
    server.handleAnswer(client.handleOffer(offer));
    assert.equal(sender.isAccepted, true);
    sendSome(sender);
    await waitFor(() => (got.get(sender.ssrc) ?? 0) >= 5, { ...polling, label: `RTP of track ${round} on a recycled m-line` });
    server.removeSender(sender);
    server.handleAnswer(client.handleOffer(server.createOffer()));
  }
  assert.equal(lines, 2, 'the first m-line and the early one, reused in turn');
});

test('simulcast send: the offer lists the rids, each layer arrives as its own stream by rid, and RTCP for a layer SSRC reaches the sender', async () => {
  const { server, client } = await pair();
  const video = client.addSender({ kind: 'video', streamId: 's1', trackId: 'cam', codec: vp8, simulcast: [{ rid: 'q' }, { rid: 'h' }, { rid: 'f' }] });
  assert.deepEqual(video.layers.map((l) => l.rid), ['q', 'h', 'f']);
  assert.equal(new Set([video.ssrc, ...video.layers.map((l) => l.ssrc)]).size, 4, 'one SSRC per layer');
  const offer = client.createOffer();
  assert.match(offer, /a=rid:q send/);
  assert.match(offer, /a=simulcast:send q;h;f/);
  assert.doesNotMatch(offer, /a=ssrc:/, 'rids instead of SSRCs, as browsers offer simulcast');
  const byRid = new Map<string, number>();
  const streams: RemoteStream[] = [];
  server.on('remoteStream', (s) => {
    streams.push(s);
    s.onRtp = () => byRid.set(s.rid ?? '', (byRid.get(s.rid ?? '') ?? 0) + 1);
  });
  client.handleAnswer(server.handleOffer(offer));
  await waitFor(() => server.connectionState === 'connected' && client.connectionState === 'connected', { ...polling, label: 'both peers connected' });
  const midId = video.extensionId(HeaderExtensionUri.sdesMid);
  const ridId = video.extensionId(HeaderExtensionUri.rtpStreamId);
  assert.ok(midId > 0 && ridId > 0, 'mid and rid extensions negotiated');
  for (let i = 0; i < 5; i++) {
    for (const l of video.layers) {
      video.sendRtp(serializeRtpPacket({
        payloadType: video.payloadType, sequenceNumber: i, timestamp: i * 3000, ssrc: l.ssrc,
        extensions: [{ id: midId, value: Buffer.from(video.mid) }, { id: ridId, value: Buffer.from(l.rid) }], payload: Buffer.from([0x10, 0, i]),
      }));
    }
  }
  await waitFor(() => ['q', 'h', 'f'].every((r) => (byRid.get(r) ?? 0) >= 5), { ...polling, label: '5 packets per layer' });
  assert.deepEqual(streams.map((s) => s.ssrc).sort(), video.layers.map((l) => l.ssrc).sort());
  const plis: number[] = [];
  video.onRtcp = (pkt) => {
    if (pkt.type === 'pli') plis.push(pkt.mediaSsrc);
  };
  const h = video.layers[1]!.ssrc;
  server.sendRtcp(serializePictureLossIndication({ type: 'pli', senderSsrc: 1, mediaSsrc: h }));
  await waitFor(() => plis.length > 0, { ...polling, label: 'the PLI for the middle layer' });
  assert.deepEqual(plis, [h]);
});

/** `count` VP8-ish packets on `sender`, each with a transport-wide sequence number element (stamped on the way out). */
function sendStamped(sender: LocalSender, count: number, firstSeq = 0, id = sender.extensionId(HeaderExtensionUri.transportCc)): void {
  for (let i = 0; i < count; i++) {
    sender.sendRtp(serializeRtpPacket({
      payloadType: sender.payloadType, sequenceNumber: firstSeq + i, timestamp: (firstSeq + i) * 3000, ssrc: sender.ssrc,
      extensions: [{ id, value: Uint8Array.of(0, 0) }], payload: Buffer.from([0x10, 0, i & 0xff]),
    }));
  }
}

test('transport-wide feedback: the server reports every packet the client stamps, on the transport-cc id both negotiated', async () => {
  const { server, client } = await pair();
  const video = client.addSender({ kind: 'video', streamId: 's1', trackId: 'cid-video', codec: vp8 });
  const audio = client.addSender({ kind: 'audio', streamId: 's1', trackId: 'cid-audio', codec: opus });
  const reported = new Map<number, boolean>();
  client.on('transportFeedback', (pkt) => {
    if (pkt.type !== 'twcc') return;
    for (const p of (pkt as TransportWideFeedback).packets) if (p.received) reported.set(p.seq, true);
  });
  assert.equal(server.twccFeedback?.extensionId, 0, 'nothing before negotiation');
  client.handleAnswer(server.handleOffer(client.createOffer()));
  assert.equal(server.twccFeedback?.extensionId, 3);
  await waitFor(() => server.connectionState === 'connected' && client.connectionState === 'connected', { ...polling, label: 'both peers connected' });
  sendStamped(video, 40);
  sendStamped(audio, 20);
  await waitFor(() => reported.size >= 60, { ...polling, label: 'feedback for the 60 stamped packets at the client' });
  // One sequence space for the transport: audio and video packets are numbered 0..59 together.
  assert.deepEqual([...reported.keys()].sort((a, b) => a - b), Array.from({ length: 60 }, (_, i) => i));
  const fb = server.twccFeedback!;
  assert.equal(fb.packetsRecorded, 60);
  assert.ok(fb.feedbackPacketsSent >= 1);
  assert.equal(client.twccFeedback?.packetsRecorded, 0, 'the client receives nothing: it reports nothing');
});

test('transport-wide feedback: none when the remote did not negotiate transport-cc, or when turned off', async () => {
  const withoutTransportCc: LocalCapabilities = {
    ...defaultCapabilities,
    headerExtensions: {
      audio: defaultCapabilities.headerExtensions.audio.filter((u) => u !== HeaderExtensionUri.transportCc),
      video: defaultCapabilities.headerExtensions.video.filter((u) => u !== HeaderExtensionUri.transportCc),
    },
  };
  const { server, client } = await pair({ client: { capabilities: withoutTransportCc } });
  const video = client.addSender({ kind: 'video', streamId: 's1', trackId: 'cid-video', codec: vp8 });
  let packets = 0;
  server.on('remoteStream', (s) => {
    s.onRtp = () => packets++;
  });
  const answer = server.handleOffer(client.createOffer());
  assert.doesNotMatch(answer, /transport-wide-cc/);
  client.handleAnswer(answer);
  assert.equal(server.twccFeedback?.extensionId, 0);
  await waitFor(() => server.connectionState === 'connected' && client.connectionState === 'connected', { ...polling, label: 'both peers connected' });
  sendStamped(video, 20, 0, 3); // an element with Chromium's usual id all the same: not negotiated, not read
  await waitFor(() => packets >= 20, { ...polling, label: '20 packets at the server' });
  assert.equal(server.twccFeedback?.packetsRecorded, 0);
  assert.equal(server.twccFeedback?.nextDeadlineMs(), Infinity, 'no feedback scheduled');
  assert.equal(server.twccFeedback?.feedbackPacketsSent, 0);

  const off = await pair({ server: { twccFeedback: false } });
  assert.equal(off.server.twccFeedback, undefined);
  off.client.addSender({ kind: 'video', streamId: 's1', trackId: 'cid-video', codec: vp8 });
  off.client.handleAnswer(off.server.handleOffer(off.client.createOffer()));
});

/** Capabilities of a client that does REMB only: no transport-cc extension or feedback; goog-remb and abs-send-time kept. */
function rembOnly(opts: { googRemb?: boolean; absSendTime?: boolean } = {}): LocalCapabilities {
  const dropFb = (c: LocalCapabilities['video'][number]): LocalCapabilities['video'][number] => ({
    ...c, rtcpFeedback: c.rtcpFeedback.filter((f) => f.type !== 'transport-cc' && (opts.googRemb !== false || f.type !== 'goog-remb')),
  });
  const keep = (u: string): boolean => u !== HeaderExtensionUri.transportCc && (opts.absSendTime !== false || u !== HeaderExtensionUri.absSendTime);
  return {
    audio: defaultCapabilities.audio.map(dropFb),
    video: defaultCapabilities.video.map(dropFb),
    headerExtensions: { audio: defaultCapabilities.headerExtensions.audio.filter(keep), video: defaultCapabilities.headerExtensions.video.filter(keep) },
  };
}

test('REMB: a client that offers goog-remb and abs-send-time without transport-cc gets REMB with a sensible bitrate', async () => {
  const { server, client } = await pair({ client: { capabilities: rembOnly() } });
  const video = client.addSender({ kind: 'video', streamId: 's1', trackId: 'cid-video', codec: vp8 });
  const rembs: Remb[] = [];
  client.on('transportFeedback', (pkt) => {
    if (pkt.type === 'remb') rembs.push(pkt as Remb);
  });
  const answer = server.handleOffer(client.createOffer());
  assert.doesNotMatch(answer, /transport-wide-cc/);
  assert.match(answer, /a=extmap:2 http:\/\/www.webrtc.org\/experiments\/rtp-hdrext\/abs-send-time/);
  client.handleAnswer(answer);
  assert.equal(server.twccFeedback?.extensionId, 0);
  assert.equal(server.rembFeedback?.extensionId, 2);
  assert.equal(client.rembFeedback, undefined, 'the client receives nothing: no estimator');
  await waitFor(() => server.connectionState === 'connected' && client.connectionState === 'connected', { ...polling, label: 'both peers connected' });
  // About 1.6 Mbit/s: four 1,000-byte packets every 20 ms, each with an abs-send-time slot the client's stamp stage fills.
  const absId = video.extensionId(HeaderExtensionUri.absSendTime);
  assert.equal(absId, 2);
  let seq = 0;
  const timer = setInterval(() => {
    for (let i = 0; i < 4; i++, seq++) {
      video.sendRtp(serializeRtpPacket({
        payloadType: video.payloadType, sequenceNumber: seq & 0xffff, timestamp: seq * 750, ssrc: video.ssrc,
        extensions: [{ id: absId, value: Uint8Array.of(0, 0, 0) }], payload: Buffer.alloc(1000, 0x10),
      }));
    }
  }, 20);
  try {
    await waitFor(() => rembs.length >= 2, { timeoutMs: 8000, intervalMs: 20, label: 'two REMBs at the client' });
  } finally {
    clearInterval(timer);
  }
  const gen = server.rembFeedback!;
  assert.ok(gen.packetsRecorded > 100);
  assert.equal(gen.rembsSent >= rembs.length, true);
  for (const r of rembs) {
    assert.equal(r.senderSsrc, server.rtcpSsrc);
    assert.deepEqual(r.ssrcs, [video.ssrc]);
    // At least what arrived (timer jitter: about 1.6 Mbit/s, at least the 1 Mbit/s start), at most the 10 Mbit/s max.
    assert.ok(r.bitrateBps >= 1_000_000 && r.bitrateBps <= 10_000_000, `REMB ${r.bitrateBps} bps`);
  }
  assert.ok(Math.abs(gen.lastRembBps - rembs.at(-1)!.bitrateBps) <= gen.lastRembBps / 2 ** 17);
});

test('REMB: none when transport-cc is negotiated, without goog-remb, without abs-send-time, or when turned off', async () => {
  const cases: { name: string; client?: LocalCapabilities; server?: { rembFeedback: false } }[] = [
    { name: 'transport-cc negotiated (Chromium-like)' },
    { name: 'no goog-remb', client: rembOnly({ googRemb: false }) },
    { name: 'no abs-send-time', client: rembOnly({ absSendTime: false }) },
    { name: 'turned off', client: rembOnly(), server: { rembFeedback: false } },
  ];
  for (const c of cases) {
    const { server, client } = await pair({ ...(c.client ? { client: { capabilities: c.client } } : {}), ...(c.server ? { server: c.server } : {}) });
    client.addSender({ kind: 'video', streamId: 's1', trackId: 'cid-video', codec: vp8 });
    client.handleAnswer(server.handleOffer(client.createOffer()));
    assert.equal(server.rembFeedback, undefined, c.name);
  }
});
