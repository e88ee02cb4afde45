// Single PC mode (signalling v1, docs/signal-v1.md) through WebRtcParticipantMedia: our client-role PeerConnection plays
// livekit-client (its own offers, pre-created recvonly m-lines, one sendonly track of its own). Subscriptions wait for
// the client's offer and go out on its recvonly m-lines with mid_to_track_id in the answer; one more than the client
// has room for brings MediaSectionsRequirement with the count; an unsubscribe asks for an offer ({0, 0}) that retires
// its m-line; no subscriber offer is ever sent; forwarding starts once the one PC is connected.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { UdpMux, systemClock } from '@atrium/webrtc';
import { generateCertificate } from '@atrium/webrtc/dtls/certificate.js';
import { PeerConnection } from '@atrium/webrtc/pc/peer-connection.js';
import { parseSdp } from '@atrium/webrtc/sdp/index.js';
import { opusCapability } from '@atrium/webrtc/testing/loopback-pair.js';
import { waitFor } from '@atrium/webrtc/testing/wait-for.js';
import { silentLogger } from '@atrium/webrtc/logger.js';
import { Receiver } from '../sfu/receiver.js';
import { PublishedTrackSource } from './webrtc-track-source.js';
import { WebRtcParticipantMedia } from './webrtc-participant-media.js';

function trackSource(kind: 'audio' | 'video'): PublishedTrackSource {
  const codec = kind === 'audio'
    ? { mimeType: 'audio/opus', clockRate: 48_000, payloadType: 111, rtcpFeedback: [] }
    : { mimeType: 'video/VP8', clockRate: 90_000, payloadType: 96, rtcpFeedback: [] };
  const receiver = new Receiver({ kind, mimeType: codec.mimeType, clockRate: codec.clockRate, sendRtcp: () => {}, clock: systemClock });
  return new PublishedTrackSource({ receiver, kind, codec, publisherExtensions: [], clock: systemClock });
}

test('v1: subscriptions ride the client\'s recvonly m-lines; more m-lines by MediaSectionsRequirement; an unsubscribe retires one', async () => {
  const serverMux = await UdpMux.bind({ port: 0, address: '127.0.0.1' });
  const clientMux = await UdpMux.bind({ port: 0, address: '127.0.0.1' });
  const media = new WebRtcParticipantMedia({
    mux: serverMux, certificate: await generateCertificate({ commonName: 'test' }), advertisedAddress: '127.0.0.1',
    clock: systemClock, participantSid: 'PA_viewer', identity: 'viewer', logger: silentLogger, onClose: () => {},
    isSinglePeerConnection: true,
  });
  const client = new PeerConnection({ role: 'client', mux: clientMux, certificate: await generateCertificate(), advertisedAddress: '127.0.0.1' });
  const tracks = { a: trackSource('audio'), v1: trackSource('video'), v2: trackSource('video') };
  const offers: unknown[] = [];
  const requirements: { numAudios: number; numVideos: number }[] = [];
  const bound: string[] = [];
  media.on('subscriberOffer', (o) => offers.push(o));
  media.on('mediaSectionsRequirement', (r) => requirements.push(r));
  media.on('subscriptionBound', ({ trackSid, error }) => bound.push(`${trackSid}:${error ?? 'ok'}`));
  try {
    // livekit-client's layout, smaller: its own microphone, one recvonly audio and one recvonly video m-line, channels.
    client.addSender({ kind: 'audio', streamId: 'me', trackId: 'cid-mic', codec: opusCapability });
    const audioMid = client.addReceiveTransceiver('audio');
    const videoMid = client.addReceiveTransceiver('video');
    client.createDataChannel('_reliable');
    // What Room.join does before the bundled offer is answered: subscribe to the room's tracks.
    media.subscribe(tracks.a, { publisherSid: 'PA_pub', trackSid: 'TR_a' });
    media.subscribe(tracks.v1, { publisherSid: 'PA_pub', trackSid: 'TR_v1' });
    media.subscribe(tracks.v2, { publisherSid: 'PA_pub', trackSid: 'TR_v2' });
    await nextTurn();
    assert.deepEqual(requirements, [], 'nothing asked before the first offer is answered');

    const first = await media.handlePublisherOffer(client.createOffer(), 1);
    assert.equal(first.id, 1);
    assert.deepEqual(first.midToTrackId, { [audioMid]: 'TR_a', [videoMid]: 'TR_v1' });
    const answer = parseSdp(first.sdp);
    assert.deepEqual(answer.media.find((m) => m.mid === videoMid)?.msid, { streamId: 'PA_pub|TR_v1', trackId: 'TR_v1' });
    assert.deepEqual(bound.sort(), ['TR_a:ok', 'TR_v1:ok']);
    client.handleAnswer(first.sdp);
    await nextTurn();
    assert.deepEqual(requirements, [{ numAudios: 0, numVideos: 1 }], 'one more video m-line asked for');

    // The client adds it and offers: the waiting track takes it; nothing more is asked.
    const addedMid = client.addReceiveTransceiver('video');
    const second = await media.handlePublisherOffer(client.createOffer(), 2);
    assert.equal(second.midToTrackId[addedMid], 'TR_v2');
    assert.ok(bound.includes('TR_v2:ok'));
    client.handleAnswer(second.sdp);
    await nextTurn();
    assert.equal(requirements.length, 1);

    // Forwarding starts once the one PC is connected.
    await waitFor(() => (tracks.v1.receiver.senderCount === 1 && tracks.v2.receiver.senderCount === 1) || undefined, { label: 'down tracks', timeoutMs: 10_000 });
    assert.equal(media.congestionControl !== undefined, true, 'congestion control on the single PC');

    // Unsubscribe: an offer is asked for ({0, 0}) and its answer makes the m-line inactive.
    media.unsubscribe('TR_v1');
    await nextTurn();
    assert.deepEqual(requirements[1], { numAudios: 0, numVideos: 0 });
    const third = await media.handlePublisherOffer(client.createOffer(), 3);
    assert.equal(parseSdp(third.sdp).media.find((m) => m.mid === videoMid)?.direction, 'inactive');
    assert.equal(third.midToTrackId[videoMid], undefined);
    client.handleAnswer(third.sdp);
    assert.deepEqual(offers, [], 'the server never offers in v1');
  } finally {
    media.close();
    client.close();
    for (const t of Object.values(tracks)) t.close();
    await serverMux.close();
    await clientMux.close();
  }
});
