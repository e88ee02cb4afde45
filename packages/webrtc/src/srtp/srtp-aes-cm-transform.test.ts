import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SrtpAesCmTransform } from './srtp-aes-cm-transform.js';
import { SrtpAesCmNativeTransform } from './srtp-aes-cm-native-transform.js';
import { SrtpContext } from './srtp-context.js';
import { SrtpProfile } from './srtp-profile.js';
import { loadNativeSrtp, setSrtpImplementation, type SrtpImplementationName } from './native-srtp.js';
import { nativeUnavailable } from './native-srtp-testing.js';
import type { SrtpSessionKeys } from './srtp-kdf.js';
import type { SrtpTransform } from './srtp-transform.js';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');

// Every vector runs on both implementations: TypeScript and the native module (skipped with the reason when the
// module is not built; a failure when NATIVE_SRTP_REQUIRED=1).
const implementations: Array<[SrtpImplementationName, (keys: SrtpSessionKeys) => SrtpTransform, string | false]> = [
  ['js', (keys) => new SrtpAesCmTransform(keys), false],
  ['native', (keys) => new SrtpAesCmNativeTransform(keys, loadNativeSrtp().native ?? assert.fail('native module not loaded')), nativeUnavailable()],
];

/** A context made while `impl` is the chosen implementation. */
function context(impl: SrtpImplementationName, key: Buffer, salt: Buffer): SrtpContext {
  setSrtpImplementation(impl);
  try {
    return new SrtpContext(SrtpProfile.AES128_CM_HMAC_SHA1_80, key, salt);
  } finally {
    setSrtpImplementation('auto');
  }
}

for (const [impl, create, skip] of implementations) {
  test(`${impl}: RFC 3711 B.2: AES-CM keystream for session salt F0..FD, SSRC 0, index 0`, { skip }, () => {
    const transform = create({
      rtpKey: hex('2B7E151628AED2A6ABF7158809CF4F3C'),
      rtpSalt: hex('F0F1F2F3F4F5F6F7F8F9FAFBFCFD'),
      rtpAuthKey: Buffer.alloc(20),
      rtcpKey: hex('2B7E151628AED2A6ABF7158809CF4F3C'),
      rtcpSalt: hex('F0F1F2F3F4F5F6F7F8F9FAFBFCFD'),
      rtcpAuthKey: Buffer.alloc(20),
    });
    // A zero payload encrypts to the keystream itself (counter blocks F0F1..FCFD0000, ..0001, ..0002).
    const packet = Buffer.concat([hex('80000000 00000000 00000000'), Buffer.alloc(48)]);
    const out = transform.protectRtp(packet, 12, 0, 0);
    assert.equal(out.length, 12 + 48 + 10);
    assert.deepEqual(
      out.subarray(12, 60),
      hex(`E03EAD0935C95E80E166B16DD92B4EB4
           D23513162B02D0F72A43A2FE4A5F97AB
           41E95B3BB0A2E8DD477901E4FCA894C0`),
    );
    assert.deepEqual(out.subarray(0, 12), packet.subarray(0, 12), 'header stays in the clear');
    assert.deepEqual(packet.subarray(12), Buffer.alloc(48), 'input untouched');
  });

  // Whole-packet AES_CM_128_HMAC_SHA1_80 vectors from libsrtp's test/srtp_driver.c (master key and salt are
  // the RFC 3711 B.3 ones, so this covers KDF + AES-CM + HMAC-SHA1 + the SRTCP trailer together).
  const masterKey = hex('e1f97a0d3e018be0d64fa32c06de4139');
  const masterSalt = hex('0ec675ad498afeebb6960b3aabe6');

  test(`${impl}: libsrtp SRTP vector: protect and unprotect`, { skip }, () => {
    const plain = hex('800f1234 decafbad cafebabe abababab abababab abababab abababab');
    const expected = hex('800f1234 decafbad cafebabe 4e55dc4c e79978d8 8ca4d215 949d2402 b78d6acc 99ea179b 8dbb');
    const sender = context(impl, masterKey, masterSalt);
    assert.deepEqual(sender.protectRtp(plain), expected);
    const receiver = context(impl, masterKey, masterSalt);
    assert.deepEqual(receiver.unprotectRtp(Buffer.from(expected)), plain);
  });

  test(`${impl}: libsrtp SRTCP vector (SRTCP index 1): protect and unprotect`, { skip }, () => {
    const plain = hex('81c8000b cafebabe abababab abababab abababab abababab');
    const expected = hex('81c8000b cafebabe 7128035b e487b9bd bef89041 f977a5a8 80000001 993e08cd 54d6c123 0798');
    const sender = context(impl, masterKey, masterSalt);
    const first = sender.protectRtcp(plain); // SRTCP index 0
    assert.equal(first.readUInt32BE(plain.length), 0x80000000);
    assert.deepEqual(sender.protectRtcp(plain), expected); // SRTCP index 1
    const receiver = context(impl, masterKey, masterSalt);
    assert.deepEqual(receiver.unprotectRtcp(Buffer.from(expected)), plain);
  });

  test(`${impl}: libsrtp vectors: every truncation is rejected`, { skip }, () => {
    const srtp = hex('800f1234 decafbad cafebabe 4e55dc4c e79978d8 8ca4d215 949d2402 b78d6acc 99ea179b 8dbb');
    const srtcp = hex('81c8000b cafebabe 7128035b e487b9bd bef89041 f977a5a8 80000001 993e08cd 54d6c123 0798');
    for (let length = 0; length < srtp.length; length++) {
      const receiver = context(impl, masterKey, masterSalt);
      assert.equal(receiver.unprotectRtp(Buffer.from(srtp.subarray(0, length))), null, `SRTP length ${length}`);
    }
    for (let length = 0; length < srtcp.length; length++) {
      const receiver = context(impl, masterKey, masterSalt);
      assert.equal(receiver.unprotectRtcp(Buffer.from(srtcp.subarray(0, length))), null, `SRTCP length ${length}`);
    }
  });
}
