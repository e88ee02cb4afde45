// ICE restart on an established PeerConnection (RFC 8445 section 9, RFC 8839 4.4.1.1.1): either side's offer with new
// ICE credentials gets an answer with new ones, checks run with the new credentials on the same transport, and the
// DTLS association and SRTP keys are kept (no new handshake): media goes on with the same SRTP session.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { serializeRtpPacket } from '../rtp/index.js';
import { parseSdp } from '../sdp/index.js';
import { loopbackPairs, loopbackPolling, vp8Capability } from '../testing/loopback-pair.js';
import { waitFor } from '../testing/wait-for.js';
import type { PeerConnection } from './peer-connection.js';
import type { LocalSender } from './local-sender.js';

const polling = loopbackPolling;
const pair = loopbackPairs();

const ufragOf = (sdp: string): string | undefined => parseSdp(sdp).media.find((m) => m.port !== 0)?.iceUfrag;

/** Sends `count` packets on `sender` from sequence number `from` and waits until `got` has `from + count` of them. */
async function sendAndReceive(sender: LocalSender, got: number[], from: number, count: number): Promise<void> {
  for (let i = from; i < from + count; i++) {
    sender.sendRtp(serializeRtpPacket({ payloadType: sender.payloadType, sequenceNumber: i, timestamp: i * 3000, ssrc: sender.ssrc, payload: Buffer.from(`p${i}`) }));
  }
  await waitFor(() => got.length >= from + count, { ...polling, label: `${from + count} packets received` });
}

function stateLog(pc: PeerConnection): string[] {
  const states: string[] = [];
  pc.on('connectionStateChange', (s) => states.push(s));
  return states;
}

test('ICE restart by the client (publisher offer): new credentials in the answer, same DTLS and SRTP, media goes on', async () => {
  const { server, client } = await pair();
  const sender = client.addSender({ kind: 'video', streamId: 's', trackId: 'cid-v', codec: vp8Capability });
  const got: number[] = [];
  server.on('remoteStream', (s) => {
    s.onRtp = (_buf, h) => got.push(h.sequenceNumber);
  });
  const offer1 = client.createOffer();
  const answer1 = server.handleOffer(offer1);
  client.handleAnswer(answer1);
  await waitFor(() => server.connectionState === 'connected' && client.connectionState === 'connected', { ...polling, label: 'connected' });
  await sendAndReceive(sender, got, 0, 10);
  const serverSrtp = server.srtpStats;
  const clientSrtp = client.srtpStats;
  const serverStates = stateLog(server);
  const clientStates = stateLog(client);

  const offer2 = client.createOffer({ iceRestart: true });
  assert.notEqual(ufragOf(offer2), ufragOf(offer1), 'the restart offer has new credentials');
  const answer2 = server.handleOffer(offer2);
  assert.notEqual(ufragOf(answer2), ufragOf(answer1), 'the answer to a restart has new credentials');
  assert.equal(server.localIceUfrag, ufragOf(answer2));
  assert.equal(parseSdp(answer2).media[0]!.fingerprint?.value, parseSdp(answer1).media[0]!.fingerprint?.value, 'same certificate');
  client.handleAnswer(answer2);
  assert.equal(server.iceRestarts, 1);
  assert.equal(client.iceRestarts, 1);
  await sendAndReceive(sender, got, 10, 10);
  // The restart completes (checks with the new credentials, nominated) and media keeps flowing afterwards.
  await waitFor(() => !server.isIceRestarting && !client.isIceRestarting, { ...polling, label: 'restart completed on both sides' });
  assert.notEqual(server.selectedRemote, undefined);
  await sendAndReceive(sender, got, 20, 10);
  assert.equal(server.srtpStats, serverSrtp, 'the server kept its SRTP session (no new DTLS handshake)');
  assert.equal(client.srtpStats, clientSrtp, 'the client kept its SRTP session');
  assert.deepEqual(serverStates, [], 'the server never left connected');
  assert.deepEqual(clientStates, []);
  assert.deepEqual(got, Array.from({ length: 30 }, (_, i) => i));
});

test('ICE restart by the server (subscriber offer): the client answers with new credentials, media goes on', async () => {
  const { server, client } = await pair();
  const sender = server.addSender({ kind: 'video', streamId: 'PA_x|TR_y', trackId: 'TR_y', codec: vp8Capability });
  const got: number[] = [];
  client.on('remoteStream', (s) => {
    s.onRtp = (_buf, h) => got.push(h.sequenceNumber);
  });
  const offer1 = server.createOffer();
  const answer1 = client.handleOffer(offer1);
  server.handleAnswer(answer1);
  await waitFor(() => server.connectionState === 'connected' && client.connectionState === 'connected', { ...polling, label: 'connected' });
  await sendAndReceive(sender, got, 0, 10);
  const serverSrtp = server.srtpStats;

  const offer2 = server.createOffer({ iceRestart: true });
  assert.notEqual(ufragOf(offer2), ufragOf(offer1));
  const answer2 = client.handleOffer(offer2);
  assert.notEqual(ufragOf(answer2), ufragOf(answer1), 'the client answered the restart with new credentials');
  server.handleAnswer(answer2);
  await waitFor(() => !server.isIceRestarting && !client.isIceRestarting, { ...polling, label: 'restart completed on both sides' });
  await sendAndReceive(sender, got, 10, 10);
  // A plain renegotiation afterwards (same credentials) is not a restart.
  const offer3 = server.createOffer();
  assert.equal(ufragOf(offer3), ufragOf(offer2));
  server.handleAnswer(client.handleOffer(offer3));
  assert.equal(server.iceRestarts, 1);
  assert.equal(client.iceRestarts, 1);
  await sendAndReceive(sender, got, 20, 10);
  assert.equal(server.srtpStats, serverSrtp);
  assert.equal(server.connectionState, 'connected');
});
