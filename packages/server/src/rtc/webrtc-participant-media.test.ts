// The real WebRTC media side behind the signalling: the first subscriber offer carries the data channels (first) and
// our candidate, and the candidate is trickled too, as strict RTCIceCandidateInit JSON (rtc-node requires a
// string sdpMid and an integer sdpMLineIndex), after the offer. Subscriptions made while the subscriber starts share
// its first offer; forwarding (and the key frame request) waits until the subscriber's transport is connected.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { ManualClock, UdpMux, systemClock, type Clock } from '@atrium/webrtc';
import { generateCertificate } from '@atrium/webrtc/dtls/certificate.js';
import { PeerConnection } from '@atrium/webrtc/pc/peer-connection.js';
import { waitFor } from '@atrium/webrtc/testing/wait-for.js';
import { silentLogger } from '@atrium/webrtc/logger.js';
import { Receiver } from '../sfu/receiver.js';
import { PublishedTrackSource } from './webrtc-track-source.js';
import { WebRtcParticipantMedia } from './webrtc-participant-media.js';
import type { SessionDescriptionMessage } from './participant-media.js';
import { createServer, type AtriumServer } from '../create-server.js';
import { devConfig } from '../config/server-config.js';
import { TestSignalClient } from '../signal/test-signal-client.js';

let server: AtriumServer | undefined;
const clients: TestSignalClient[] = [];
after(async () => {
  for (const c of clients) c.close();
  await server?.close();
});

test('subscriber offer with data channels, then the server trickles its host candidate', async () => {
  server = await createServer(devConfig({ port: 0, rtc: { udpPort: 0 }, logging: { level: 'silent' } }));
  const client = await TestSignalClient.join(server.url, 'trickle-check');
  clients.push(client);
  const offer = await client.waitFor((m) => m.case === 'offer');
  assert.equal(offer.case, 'offer');
  const sdp = offer.value.sdp;
  assert.match(sdp, /m=application 9 UDP\/DTLS\/SCTP webrtc-datachannel/);
  assert.match(sdp, /a=ice-lite/);
  assert.match(sdp, new RegExp(`a=candidate:\\S+ 1 udp \\d+ 127\\.0\\.0\\.1 ${server.udpPort} typ host`));
  // ICE-TCP (an ephemeral port with udpPort 0): a passive TCP host candidate on the participant's worker's listener.
  assert.equal(server.tcpPorts.length, server.udpPorts.length);
  assert.match(sdp, new RegExp(`a=candidate:\\S+ 1 tcp \\d+ 127\\.0\\.0\\.1 ${server.tcpPorts[0]} typ host tcptype passive`));

  const trickle = await client.waitFor((m) => m.case === 'trickle');
  assert.equal(trickle.case, 'trickle');
  assert.equal(trickle.value.target, 1, 'target SUBSCRIBER');
  const init = JSON.parse(trickle.value.candidateInit) as Record<string, unknown>;
  assert.equal(typeof init.sdpMid, 'string');
  assert.equal(init.sdpMLineIndex, 0);
  assert.match(String(init.candidate), new RegExp(`^candidate:\\S+ 1 udp \\d+ 127\\.0\\.0\\.1 ${server.udpPort} typ host$`));
  const cases = client.messages.map((m) => m.case);
  assert.ok(cases.indexOf('offer') < cases.indexOf('trickle'), `offer before trickle: ${cases.join(',')}`);
  const tcpTrickle = await client.waitFor((m) => m.case === 'trickle' && m.value.candidateInit.includes(' tcp '));
  assert.equal(tcpTrickle.case, 'trickle');
  const tcpInit = JSON.parse(tcpTrickle.value.candidateInit) as Record<string, unknown>;
  assert.match(String(tcpInit.candidate), new RegExp(`^candidate:\\S+ 1 tcp \\d+ 127\\.0\\.0\\.1 ${server.tcpPorts[0]} typ host tcptype passive$`));
});

function trackSource(kind: 'audio' | 'video', clock: Clock): PublishedTrackSource {
  const codec = kind === 'audio'
    ? { mimeType: 'audio/opus', clockRate: 48_000, payloadType: 111, rtcpFeedback: [] }
    : { mimeType: 'video/VP8', clockRate: 90_000, payloadType: 96, rtcpFeedback: [] };
  const receiver = new Receiver({ kind, mimeType: codec.mimeType, clockRate: codec.clockRate, sendRtcp: () => {}, clock });
  return new PublishedTrackSource({ receiver, kind, codec, publisherExtensions: [], clock });
}

test("a joiner's first subscriber offer carries the data m-line first (the BUNDLE tag, which no codec refusal can reject) and the tracks it subscribed to in the same turn", async () => {
  const mux = await UdpMux.bind({ port: 0, address: '127.0.0.1' });
  const clock = new ManualClock();
  const media = new WebRtcParticipantMedia({
    mux, certificate: await generateCertificate({ commonName: 'test' }), advertisedAddress: '127.0.0.1', clock,
    participantSid: 'PA_viewer', identity: 'viewer', logger: silentLogger, onClose: () => {},
  });
  const audio = trackSource('audio', clock);
  const video = trackSource('video', clock);
  try {
    const offers: SessionDescriptionMessage[] = [];
    media.on('subscriberOffer', (offer) => offers.push(offer));
    // What Room.join does in one turn: start the subscriber PC, then subscribe to each existing track. With media
    // workers the subscriptions come as separate messages: a microtask between them must not send the offer early.
    media.startSubscriber();
    media.subscribe(audio, { publisherSid: 'PA_pub', trackSid: 'TR_audio' });
    await Promise.resolve();
    media.subscribe(video, { publisherSid: 'PA_pub', trackSid: 'TR_video' });
    await nextTurn();
    assert.equal(offers.length, 1, 'one offer until it is answered');
    const sdp = offers[0]?.sdp ?? '';
    const mLines = [...sdp.matchAll(/^m=(\w+) /gm)].map((m) => m[1]);
    assert.deepEqual(mLines, ['application', 'audio', 'video'], 'the data m-line first, then the tracks in subscription order');
    assert.match(sdp, /a=group:BUNDLE 0 1 2\r\n/);
    assert.deepEqual(Object.values(offers[0]?.midToTrackId ?? {}).sort(), ['TR_audio', 'TR_video']);
  } finally {
    media.close();
    audio.close();
    video.close();
    await mux.close();
  }
});

/** Our media session for a subscriber, on real loopback sockets, and our client PeerConnection to play the subscriber. */
async function mediaWithClient(): Promise<{ media: WebRtcParticipantMedia; client: PeerConnection; closeAll: () => Promise<void> }> {
  const serverMux = await UdpMux.bind({ port: 0, address: '127.0.0.1' });
  const clientMux = await UdpMux.bind({ port: 0, address: '127.0.0.1' });
  const media = new WebRtcParticipantMedia({
    mux: serverMux, certificate: await generateCertificate({ commonName: 'test' }), advertisedAddress: '127.0.0.1',
    clock: systemClock, participantSid: 'PA_viewer', identity: 'viewer', logger: silentLogger, onClose: () => {},
  });
  const client = new PeerConnection({ role: 'client', mux: clientMux, certificate: await generateCertificate(), advertisedAddress: '127.0.0.1' });
  const closeAll = async (): Promise<void> => {
    media.close();
    client.close();
    await serverMux.close();
    await clientMux.close();
  };
  return { media, client, closeAll };
}

test('a subscription starts forwarding (and asks for a key frame) only once the subscriber transport is connected', async () => {
  const { media, client, closeAll } = await mediaWithClient();
  const video = trackSource('video', systemClock);
  try {
    const offers: SessionDescriptionMessage[] = [];
    media.on('subscriberOffer', (offer) => offers.push(offer));
    const bound: string[] = [];
    media.on('subscriptionBound', ({ trackSid, error }) => bound.push(`${trackSid}:${error ?? 'ok'}`));
    media.subscribe(video, { publisherSid: 'PA_pub', trackSid: 'TR_video' });
    const hasVideo = (o: SessionDescriptionMessage): boolean => Object.values(o.midToTrackId).includes('TR_video');
    await waitFor(() => offers.find(hasVideo) ?? (offers[0] && !hasVideo(offers[0]) ? offers[0] : undefined), { label: 'a subscriber offer', timeoutMs: 5_000 });
    // Record the subscriber transport's state whenever forwarding starts.
    const stateAtStart: string[] = [];
    const addSender = video.receiver.addSender.bind(video.receiver);
    video.receiver.addSender = (d) => {
      stateAtStart.push((media as unknown as { downstream: { pc?: { connectionState: string } } }).downstream.pc?.connectionState ?? 'none');
      addSender(d);
    };
    // Answer each offer as it comes until the one carrying the track is answered, within microtasks only: no
    // datagram is handled meanwhile, so ICE and DTLS cannot have finished when the track is bound.
    for (let i = 0; i < 3 && !bound.includes('TR_video:ok'); i++) {
      for (let turn = 0; turn < 10 && offers[i] === undefined; turn++) await Promise.resolve();
      const offer = offers[i];
      assert.ok(offer, `subscriber offer ${i + 1} follows the previous answer at once`);
      media.handleSubscriberAnswer(client.handleOffer(offer.sdp), offer.id);
    }
    assert.deepEqual(bound, ['TR_video:ok']);
    assert.notEqual(client.connectionState, 'connected', 'bound before the transport connected');
    await waitFor(() => video.receiver.senderCount === 1 || undefined, { label: 'the down track once connected', timeoutMs: 10_000 });
    // Forwarding (and its PLI) started only once ICE and DTLS were done: a key frame sent earlier would be lost.
    assert.deepEqual(stateAtStart, ['connected']);
    // The client's side completes a moment after ours (its DTLS finishes on our last flight).
    await waitFor(() => client.connectionState === 'connected' || undefined, { label: 'the client connected', timeoutMs: 5_000 });
  } finally {
    video.close();
    await closeAll();
  }
});

test('restartIce (a resume): a new subscriber offer with new ICE credentials and every subscription, superseding one not answered; candidates trickled again; the same transport goes on', async () => {
  const { media, client, closeAll } = await mediaWithClient();
  const video = trackSource('video', systemClock);
  const audio = trackSource('audio', systemClock);
  const ufrag = (sdp: string): string | undefined => /a=ice-ufrag:(\S+)/.exec(sdp)?.[1];
  try {
    const offers: SessionDescriptionMessage[] = [];
    media.on('subscriberOffer', (offer) => offers.push(offer));
    const trickled: { ufrag: unknown; target: number }[] = [];
    media.on('iceCandidate', ({ candidateInit, target }) => trickled.push({ ufrag: (JSON.parse(candidateInit) as { usernameFragment?: unknown }).usernameFragment, target }));
    const states: string[] = [];
    media.on('connectionState', ({ target, state }) => {
      if (target === 1) states.push(state);
    });
    media.subscribe(video, { publisherSid: 'PA_pub', trackSid: 'TR_video' });
    await waitFor(() => offers[0], { label: 'the first offer', timeoutMs: 5_000 });
    media.handleSubscriberAnswer(client.handleOffer(offers[0]!.sdp), offers[0]!.id);
    await waitFor(() => (client.connectionState === 'connected' && states.includes('connected')) || undefined, { label: 'connected', timeoutMs: 10_000 });
    await waitFor(() => trickled.length >= 1 || undefined, { label: 'first trickle', timeoutMs: 5_000 });
    const firstUfrag = ufrag(offers[0]!.sdp);
    assert.equal(trickled[0]!.ufrag, firstUfrag);

    // While the signal was down: a subscription whose offer the client never got (no answer).
    media.subscribe(audio, { publisherSid: 'PA_pub', trackSid: 'TR_audio' });
    await waitFor(() => offers[1], { label: 'the offer with the audio track', timeoutMs: 5_000 });
    // The resume: a new offer at once, though the previous one was not answered.
    media.restartIce();
    assert.equal(offers.length, 3, 'the restart offer went out without waiting for the stale answer');
    const restart = offers[2]!;
    const newUfrag = ufrag(restart.sdp);
    assert.ok(newUfrag && newUfrag !== firstUfrag, 'new ICE credentials');
    assert.deepEqual(Object.values(restart.midToTrackId).sort(), ['TR_audio', 'TR_video'], 'every current subscription');
    await waitFor(() => trickled.some((t) => t.ufrag === newUfrag) || undefined, { label: 'candidates for the new ufrag', timeoutMs: 5_000 });
    // A late answer to the superseded offer is ignored; the answer to the restart completes it on the same transport.
    const bound: string[] = [];
    media.on('subscriptionBound', ({ trackSid, error }) => bound.push(`${trackSid}:${error ?? 'ok'}`));
    media.handleSubscriberAnswer(client.handleOffer(restart.sdp), restart.id);
    assert.deepEqual(bound, ['TR_audio:ok']);
    await waitFor(() => !client.isIceRestarting || undefined, { label: 'the restart nominated', timeoutMs: 5_000 });
    await waitFor(() => audio.receiver.senderCount === 1 || undefined, { label: 'the audio down track', timeoutMs: 5_000 });
    assert.deepEqual(states, ['connecting', 'connected'], 'the subscriber transport never left connected (no new DTLS)');
    assert.equal(client.iceRestarts, 1);
  } finally {
    video.close();
    audio.close();
    await closeAll();
  }
});
