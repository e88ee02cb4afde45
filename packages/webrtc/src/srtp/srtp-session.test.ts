import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SrtpProfile, srtpExporterLength, srtpSaltLength, type SrtpProfileId } from './srtp-profile.js';
import { SrtpSession, srtpKeysFromExporter } from './srtp-session.js';
import { REPLAY_WINDOW_SIZE } from './replay-window.js';
import { seededRandom } from '../testing/seeded-random.js';
import { setSrtpImplementation, type SrtpImplementationName } from './native-srtp.js';
import { nativeUnavailable } from './native-srtp-testing.js';

// Every session test runs on each implementation of each profile: in TypeScript and through the native
// module (skipped with the reason when the module is not built, a failure when NATIVE_SRTP_REQUIRED=1).
const profiles: Array<[string, SrtpProfileId, SrtpImplementationName]> = [
  ['AES128_CM_HMAC_SHA1_80 (js)', SrtpProfile.AES128_CM_HMAC_SHA1_80, 'js'],
  ['AES128_CM_HMAC_SHA1_80 (native)', SrtpProfile.AES128_CM_HMAC_SHA1_80, 'native'],
  ['AEAD_AES_128_GCM (js)', SrtpProfile.AEAD_AES_128_GCM, 'js'],
  ['AEAD_AES_128_GCM (native)', SrtpProfile.AEAD_AES_128_GCM, 'native'],
];

function material(profile: SrtpProfileId): Buffer {
  return Buffer.from(Array.from({ length: srtpExporterLength(profile) }, (_, i) => (i * 7 + 3) & 0xff));
}

function pair(profile: SrtpProfileId, impl: SrtpImplementationName = 'js'): { client: SrtpSession; server: SrtpSession } {
  const m = material(profile);
  setSrtpImplementation(impl);
  try {
    return { client: new SrtpSession(srtpKeysFromExporter(profile, m, true)), server: new SrtpSession(srtpKeysFromExporter(profile, m, false)) };
  } finally {
    setSrtpImplementation('auto');
  }
}

function rtp(seq: number, ssrc = 0x11223344, payloadLength = 40): Buffer {
  const packet = Buffer.alloc(12 + payloadLength);
  packet[0] = 0x80;
  packet[1] = 96;
  packet.writeUInt16BE(seq & 0xffff, 2);
  packet.writeUInt32BE((seq * 960) >>> 0, 4);
  packet.writeUInt32BE(ssrc, 8);
  for (let i = 12; i < packet.length; i++) packet[i] = (i + seq) & 0xff;
  return packet;
}

function rtcpReceiverReport(ssrc = 0xcafebabe): Buffer {
  const packet = Buffer.alloc(32);
  packet.writeUInt32BE(0x81c90007, 0); // RR with one report block
  packet.writeUInt32BE(ssrc, 4);
  for (let i = 8; i < packet.length; i++) packet[i] = i;
  return packet;
}

test('srtpKeysFromExporter splits client_key | server_key | client_salt | server_salt', () => {
  for (const [, profile] of profiles) {
    const m = material(profile);
    const saltLength = srtpSaltLength(profile);
    const client = srtpKeysFromExporter(profile, m, true);
    const server = srtpKeysFromExporter(profile, m, false);
    assert.deepEqual(client.localMasterKey, m.subarray(0, 16));
    assert.deepEqual(client.remoteMasterKey, m.subarray(16, 32));
    assert.deepEqual(client.localMasterSalt, m.subarray(32, 32 + saltLength));
    assert.deepEqual(client.remoteMasterSalt, m.subarray(32 + saltLength, 32 + 2 * saltLength));
    assert.deepEqual(server.localMasterKey, client.remoteMasterKey);
    assert.deepEqual(server.localMasterSalt, client.remoteMasterSalt);
    assert.deepEqual(server.remoteMasterKey, client.localMasterKey);
    assert.deepEqual(server.remoteMasterSalt, client.localMasterSalt);
    assert.throws(() => srtpKeysFromExporter(profile, m.subarray(1), true), { code: 'ERR_SRTP_KEY_LENGTH' });
  }
  assert.equal(srtpExporterLength(SrtpProfile.AES128_CM_HMAC_SHA1_80), 60);
  assert.equal(srtpExporterLength(SrtpProfile.AEAD_AES_128_GCM), 56);
});

for (const [name, profile, impl] of profiles) {
  const skip = impl === 'native' ? nativeUnavailable() : false;
  test(`${name}: RTP and RTCP round trips in both directions`, { skip }, () => {
    const { client, server } = pair(profile, impl);
    const tag = profile === SrtpProfile.AEAD_AES_128_GCM ? 16 : 10;
    for (let seq = 100; seq < 110; seq++) {
      const plain = rtp(seq);
      const copy = Buffer.from(plain);
      const protectedPacket = client.protectRtp(plain);
      assert.deepEqual(plain, copy, 'protect leaves its input alone');
      assert.equal(protectedPacket.length, plain.length + tag);
      assert.deepEqual(protectedPacket.subarray(0, 12), plain.subarray(0, 12));
      assert.notDeepEqual(protectedPacket.subarray(12, plain.length), plain.subarray(12));
      assert.deepEqual(server.unprotectRtp(protectedPacket), plain);
      assert.deepEqual(client.unprotectRtp(server.protectRtp(plain)), plain);
    }
    const report = rtcpReceiverReport();
    for (let i = 0; i < 3; i++) {
      const srtcp = client.protectRtcp(report);
      assert.equal(srtcp.length, report.length + tag + 4);
      assert.notDeepEqual(srtcp.subarray(8, report.length), report.subarray(8));
      assert.deepEqual(server.unprotectRtcp(srtcp), report);
      assert.deepEqual(client.unprotectRtcp(server.protectRtcp(report)), report);
    }
    assert.deepEqual(server.stats, { authFailures: 0, replayed: 0, malformed: 0 });
  });

  test(`${name}: streams sharing a lookup slot keep their own rollover counters; a removed stream starts over`, { skip }, () => {
    const { client, server } = pair(profile, impl);
    const a = 0x80000001;
    const b = a + 64 * 1024; // same low bits: the same slot of the sender's stream cache
    const roundTrip = (seq: number, ssrc: number): void => {
      const plain = rtp(seq, ssrc);
      assert.deepEqual(server.unprotectRtp(client.protectRtp(plain)), plain, `ssrc ${ssrc.toString(16)} seq ${seq & 0xffff}`);
    };
    // A wraps its sequence numbers (rollover counter 1) while B, interleaved, stays in its first cycle.
    for (let i = 0; i < 20; i++) {
      roundTrip(65_526 + i, a);
      roundTrip(1_000 + i, b);
    }
    roundTrip(65_546, a); // A sent last: its stream is the one in the slot when it is removed
    client.removeSsrc(a);
    server.removeSsrc(a);
    for (let seq = 10; seq < 15; seq++) roundTrip(seq, a); // fresh state on both sides: rollover counter 0 again
    roundTrip(1_020, b);
    assert.deepEqual(server.stats, { authFailures: 0, replayed: 0, malformed: 0 });
  });

  test(`${name}: header with CSRCs and an extension stays clear and round-trips`, { skip }, () => {
    const { client, server } = pair(profile, impl);
    const header = Buffer.from('92e0 0007 00000010 0badf00d 00000001 00000002 bede0002 10aa2201 02000000'.replace(/\s/g, ''), 'hex');
    const plain = Buffer.concat([header, Buffer.from('payload bytes here')]);
    const protectedPacket = client.protectRtp(plain);
    assert.deepEqual(protectedPacket.subarray(0, header.length), header);
    assert.notDeepEqual(protectedPacket.subarray(header.length, plain.length), plain.subarray(header.length));
    assert.deepEqual(server.unprotectRtp(protectedPacket), plain);
    const emptyPayload = Buffer.from(header);
    emptyPayload.writeUInt16BE(8, 2);
    assert.deepEqual(server.unprotectRtp(client.protectRtp(emptyPayload)), emptyPayload, 'an empty payload');
  });

  test(`${name}: a tampered byte anywhere is rejected and counted`, { skip }, () => {
    const { client, server } = pair(profile, impl);
    const protectedPacket = client.protectRtp(rtp(5000));
    let failures = 0;
    for (let at = 0; at < protectedPacket.length; at++) {
      const tampered = Buffer.from(protectedPacket);
      tampered[at] = (tampered[at] ?? 0) ^ 0x20;
      if (server.unprotectRtp(tampered) === null) failures++;
    }
    assert.equal(failures, protectedPacket.length);
    assert.ok(server.stats.authFailures > 0);
    assert.deepEqual(server.unprotectRtp(Buffer.from(protectedPacket)), rtp(5000), 'the original still passes');

    const srtcp = client.protectRtcp(rtcpReceiverReport());
    for (let at = 0; at < srtcp.length; at++) {
      const tampered = Buffer.from(srtcp);
      tampered[at] = (tampered[at] ?? 0) ^ 0x01;
      assert.equal(server.unprotectRtcp(tampered), null, `SRTCP byte ${at}`);
    }
    assert.deepEqual(server.unprotectRtcp(srtcp), rtcpReceiverReport());
  });

  test(`${name}: replays and packets older than the window are rejected`, { skip }, () => {
    const { client, server } = pair(profile, impl);
    const first = client.protectRtp(rtp(1000));
    assert.notEqual(server.unprotectRtp(Buffer.from(first)), null);
    assert.equal(server.unprotectRtp(Buffer.from(first)), null);
    assert.equal(server.stats.replayed, 1);

    const late = client.protectRtp(rtp(1001));
    const ahead = client.protectRtp(rtp(1001 + REPLAY_WINDOW_SIZE + 50));
    assert.notEqual(server.unprotectRtp(ahead), null);
    assert.equal(server.unprotectRtp(late), null, 'outside the window');
    assert.equal(server.stats.replayed, 2);

    const srtcp = client.protectRtcp(rtcpReceiverReport());
    assert.notEqual(server.unprotectRtcp(Buffer.from(srtcp)), null);
    assert.equal(server.unprotectRtcp(Buffer.from(srtcp)), null);
    assert.equal(server.stats.replayed, 3);
  });

  test(`${name}: sequence numbers crossing 65535 -> 0 use the rollover counter`, { skip }, () => {
    const { client, server } = pair(profile, impl);
    const seqs = [65530, 65531, 65532, 65533, 65534, 65535, 0, 1, 2, 3];
    for (const seq of seqs) {
      assert.deepEqual(server.unprotectRtp(client.protectRtp(rtp(seq))), rtp(seq), `seq ${seq}`);
    }
    // A second full cycle (ROC 2) through steps of 20000 keeps both sides in step.
    for (let seq = 20000; seq <= 65536 + 10; seq += 20000) {
      const s = seq & 0xffff;
      assert.deepEqual(server.unprotectRtp(client.protectRtp(rtp(s))), rtp(s), `second cycle seq ${s}`);
    }
    // Out of order across the wrap: 65534 (ROC 0), 1 (ROC 1), 65535 (ROC 0), 0 (ROC 1).
    const other = pair(profile, impl);
    const order = [65533, 65534, 1, 65535, 0, 2];
    const sent = new Map<number, Buffer>();
    for (const seq of [65533, 65534, 65535, 0, 1, 2]) sent.set(seq, other.client.protectRtp(rtp(seq, 0x55)));
    for (const seq of order) {
      assert.deepEqual(other.server.unprotectRtp(sent.get(seq) ?? Buffer.alloc(0)), rtp(seq, 0x55), `reordered seq ${seq}`);
    }
    assert.deepEqual(other.server.stats, { authFailures: 0, replayed: 0, malformed: 0 });
  });

  test(`${name}: out-of-order packets within the window succeed, each exactly once`, { skip }, () => {
    const { client, server } = pair(profile, impl);
    const sent = Array.from({ length: 200 }, (_, i) => client.protectRtp(rtp(300 + i, 0x77)));
    const random = seededRandom(42);
    const order = sent.map((_, i) => i);
    for (let i = order.length - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      [order[i], order[j]] = [order[j] ?? 0, order[i] ?? 0];
    }
    for (const i of order) {
      const packet = sent[i] ?? Buffer.alloc(0);
      const copy = Buffer.from(packet);
      assert.deepEqual(server.unprotectRtp(packet), rtp(300 + i, 0x77), `packet ${i}`);
      assert.equal(server.unprotectRtp(copy), null, `replay of ${i}`);
    }
    assert.equal(server.stats.replayed, 200);
  });

  test(`${name}: independent SSRCs keep independent state`, { skip }, () => {
    const { client, server } = pair(profile, impl);
    const a = client.protectRtp(rtp(10, 1));
    const b = client.protectRtp(rtp(10, 2));
    assert.deepEqual(server.unprotectRtp(a), rtp(10, 1));
    assert.deepEqual(server.unprotectRtp(b), rtp(10, 2));
  });

  test(`${name}: garbage and truncated input return null and never throw`, { skip }, () => {
    const { client, server } = pair(profile, impl);
    const random = seededRandom(7);
    for (let length = 0; length < 300; length++) {
      const garbage = Buffer.alloc(length);
      for (let i = 0; i < length; i++) garbage[i] = Math.floor(random() * 256);
      assert.equal(server.unprotectRtp(Buffer.from(garbage)), null);
      assert.equal(server.unprotectRtcp(Buffer.from(garbage)), null);
      if (length > 0) {
        garbage[0] = 0x80 | ((garbage[0] ?? 0) & 0x3f); // version 2: get past the first check
        assert.equal(server.unprotectRtp(Buffer.from(garbage)), null);
        assert.equal(server.unprotectRtcp(Buffer.from(garbage)), null);
      }
    }
    const good = client.protectRtp(rtp(9, 9, 100));
    for (let length = 0; length < good.length; length++) {
      assert.equal(server.unprotectRtp(Buffer.from(good.subarray(0, length))), null, `truncated to ${length}`);
    }
    const goodRtcp = client.protectRtcp(rtcpReceiverReport());
    for (let length = 0; length < goodRtcp.length; length++) {
      assert.equal(server.unprotectRtcp(Buffer.from(goodRtcp.subarray(0, length))), null, `SRTCP truncated to ${length}`);
    }
    // Headers whose CSRC count or extension length point past the end.
    const csrcs = Buffer.from(good);
    csrcs[0] = 0x8f;
    assert.equal(server.unprotectRtp(csrcs), null);
    const extension = Buffer.from(good);
    extension[0] = 0x90;
    extension.writeUInt16BE(0xffff, 14);
    assert.equal(server.unprotectRtp(extension), null);
    const stats = server.stats;
    assert.ok(stats.malformed > 0 && stats.authFailures > 0, JSON.stringify(stats));
    assert.deepEqual(server.unprotectRtp(good), rtp(9, 9, 100), 'garbage did not disturb the real stream');
  });

  test(`${name}: protect refuses input that is not RTP/RTCP`, { skip }, () => {
    const { client } = pair(profile, impl);
    assert.throws(() => client.protectRtp(Buffer.alloc(5)), { code: 'ERR_SRTP_MALFORMED' });
    assert.throws(() => client.protectRtcp(Buffer.alloc(4)), { code: 'ERR_SRTP_MALFORMED' });
  });
}
