// PeerConnectionOptions.decryptRtp (a measuring receiver authenticates and decrypts only a sample): declined packets
// still reach the stream with exact sequence numbers, lengths and markers, transport-wide feedback and receive
// statistics; first packets of a stream are always decrypted; without the option every packet is.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { serializeRtpPacket } from '../rtp/index.js';
import { HeaderExtensionUri } from '../sdp/index.js';
import { SrtpSession } from '../srtp/srtp-session.js';
import { SrtpProfile } from '../srtp/srtp-profile.js';
import { loopbackPairs, loopbackPolling, vp8Capability } from '../testing/loopback-pair.js';
import { waitFor } from '../testing/wait-for.js';
import type { RemoteStream } from './remote-stream.js';

const pair = loopbackPairs();

interface Got { seq: number; isDecrypted: boolean | undefined; payload: string; length: number; marker: boolean }

async function run(decryptRtp: ((buf: Buffer) => boolean) | undefined): Promise<{ got: Got[]; stream: RemoteStream; notDecrypted: number; twccRecorded: number }> {
  const { server, client } = await pair(decryptRtp !== undefined ? { client: { decryptRtp } } : {});
  const sender = server.addSender({ kind: 'video', streamId: 'PA_x|TR_y', trackId: 'TR_y', codec: vp8Capability });
  const got: Got[] = [];
  let stream: RemoteStream | undefined;
  client.on('remoteStream', (s) => {
    stream = s;
    s.onRtp = (buf, h, meta) => got.push({
      seq: h.sequenceNumber, isDecrypted: meta.isDecrypted, payload: buf.toString('latin1', h.payloadOffset, h.payloadOffset + h.payloadLength),
      length: buf.length, marker: h.marker,
    });
  });
  server.handleAnswer(client.handleOffer(server.createOffer()));
  await waitFor(() => server.connectionState === 'connected' && client.connectionState === 'connected', { ...loopbackPolling, label: 'both peers connected' });
  const twccId = sender.extensionId(HeaderExtensionUri.transportCc);
  assert.ok(twccId > 0, 'transport-cc negotiated');
  for (let seq = 1; seq <= 40; seq++) {
    sender.sendRtp(serializeRtpPacket({
      payloadType: sender.payloadType, sequenceNumber: seq, timestamp: seq * 3000, ssrc: sender.ssrc, marker: seq % 5 === 0,
      extensions: [{ id: twccId, value: Uint8Array.of(0, 0) }], payload: Buffer.from(`payload-${String(seq).padStart(2, '0')}`),
    }));
  }
  await waitFor(() => got.length >= 40, { ...loopbackPolling, label: '40 packets at the client' });
  return { got, stream: stream!, notDecrypted: client.rtpNotDecrypted, twccRecorded: client.twccFeedback!.packetsRecorded };
}

test('decryptRtp: declined packets arrive undecrypted with exact header, length, receive stats and feedback; the sample is decrypted', async () => {
  const every4 = (buf: Buffer): boolean => buf.readUInt16BE(2) % 4 === 0;
  const { got, stream, notDecrypted, twccRecorded } = await run(every4);
  const plain = await run(undefined);
  assert.deepEqual(got.map((g) => g.seq), Array.from({ length: 40 }, (_, i) => i + 1), 'every packet, in order');
  for (const g of got) {
    const want = g.seq === 1 || g.seq % 4 === 0;
    assert.equal(g.isDecrypted, want, `seq ${g.seq}: decrypted only when sampled (or the stream's first)`);
    if (want) assert.equal(g.payload, `payload-${String(g.seq).padStart(2, '0')}`);
    else assert.notEqual(g.payload, `payload-${String(g.seq).padStart(2, '0')}`, 'still ciphertext');
    assert.equal(g.marker, g.seq % 5 === 0);
  }
  assert.deepEqual(got.map((g) => g.length), plain.got.map((g) => g.length), 'the auth tag is cut off: the same lengths as decrypted packets');
  assert.equal(notDecrypted, 29);
  assert.equal(twccRecorded, 40, 'transport-wide feedback covers every packet');
  assert.equal(stream.packetsReceived, 40);
  assert.equal(stream.stats.packetsReceived, 40, "receive statistics (receiver reports) count every packet");
  assert.equal(stream.stats.packetsLost, 0);
  assert.ok(plain.got.every((g) => g.isDecrypted === true), 'without the option every packet is decrypted');
  assert.equal(plain.notDecrypted, 0);
});

test('SrtpSession.skipRtp: the packet minus its tag, untouched, for both profiles', () => {
  for (const [profile, keyLen, saltLen, tag] of [[SrtpProfile.AEAD_AES_128_GCM, 16, 12, 16], [SrtpProfile.AES128_CM_HMAC_SHA1_80, 16, 14, 10]] as const) {
    const keys = { profile, localMasterKey: Buffer.alloc(keyLen, 1), localMasterSalt: Buffer.alloc(saltLen, 2), remoteMasterKey: Buffer.alloc(keyLen, 1), remoteMasterSalt: Buffer.alloc(saltLen, 2) };
    const a = new SrtpSession(keys);
    const rtp = serializeRtpPacket({ payloadType: 96, sequenceNumber: 7, timestamp: 1, ssrc: 5, payload: Buffer.from('hello world') });
    const srtp = a.protectRtp(rtp);
    const skipped = new SrtpSession(keys).skipRtp(Buffer.from(srtp))!;
    assert.equal(skipped.length, rtp.length);
    assert.ok(skipped.subarray(0, 12).equals(rtp.subarray(0, 12)), 'the header is in the clear');
    assert.equal(new SrtpSession(keys).skipRtp(Buffer.alloc(tag + 11)), null, 'too short');
  }
});
