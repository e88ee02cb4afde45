import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createCipheriv, type CipherGCM } from 'node:crypto';
import { SrtpAesGcmTransform } from './srtp-aes-gcm-transform.js';
import { SrtpAesGcmNativeTransform } from './srtp-aes-gcm-native-transform.js';
import { loadNativeSrtp } from './native-srtp.js';
import { nativeUnavailable } from './native-srtp-testing.js';
import type { SrtpSessionKeys } from './srtp-kdf.js';
import type { SrtpTransform } from './srtp-transform.js';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');

// RFC 7714 sections 16 (SRTP) and 17 (SRTCP), AEAD_AES_128_GCM: the vectors give the session key and salt.
// Bytes transcribed from the RFC text as quoted by several public SRTP test suites (they agree with each other).
const key = hex('000102030405060708090a0b0c0d0e0f');
const salt = hex('517569642070726f2071756f'); // "Quid pro quo"
const keys: SrtpSessionKeys = { rtpKey: key, rtpSalt: salt, rtpAuthKey: Buffer.alloc(0), rtcpKey: key, rtcpSalt: salt, rtcpAuthKey: Buffer.alloc(0) };

// The same vectors against both implementations: TypeScript (node:crypto) and the native module.
const skipNative = nativeUnavailable();
const implementations: Array<[string, () => SrtpTransform, string | false]> = [
  ['js', () => new SrtpAesGcmTransform(keys), false],
  ['native', () => new SrtpAesGcmNativeTransform(keys, loadNativeSrtp().native ?? assert.fail('native module not loaded')), skipNative],
];

const rtpPlain = hex(`8040f17b 8041f8d3 5501a0b2 47616c6c 69612065 7374206f 6d6e6973
                      20646976 69736120 696e2070 61727465 73207472 6573`); // "Gallia est omnis divisa in partes tres"
const rtpProtected = hex(`8040f17b 8041f8d3 5501a0b2 f24de3a3 fb34de6c acba861c 9d7e4bca
                          be633bd5 0d294e6f 42a5f47a 51c7d19b 36de3adf 8833899d 7f27beb1
                          6a9152cf 765ee439 0cce`);
const rtcpPlain = hex(`81c8000d 4d617273 4e545031 4e545032 52545020 0000042a 0000e930 4c756e61
                       deadbeef deadbeef deadbeef deadbeef deadbeef`);
const rtcpProtected = hex(`81c8000d 4d617273 63e94885 dcdab67c a727d766 2f6b7e99 7ff5c0f7 6c06f32d
                           c676a5f1 730d6fda 4ce09b46 86303ded 0bb9275b c84aa458 96cf4d2f c5abf872
                           45d9eade 800005d4`);

for (const [impl, transform, skip] of implementations) {
  test(`${impl}: RFC 7714 16.1.1: SRTP AEAD_AES_128_GCM encryption (SSRC 5501a0b2, ROC 0, seq f17b)`, { skip }, () => {
    assert.deepEqual(transform().protectRtp(rtpPlain, 12, 0x5501a0b2, 0xf17b), rtpProtected);
  });

  test(`${impl}: RFC 7714 16.1.2: SRTP AEAD_AES_128_GCM decryption, and a flipped bit fails`, { skip }, () => {
    assert.deepEqual(transform().unprotectRtp(Buffer.from(rtpProtected), 12, 0x5501a0b2, 0xf17b), rtpPlain);
    for (const at of [0, 11, 12, 40, rtpProtected.length - 1]) {
      const tampered = Buffer.from(rtpProtected);
      tampered[at] = (tampered[at] ?? 0) ^ 0x01;
      const copy = Buffer.from(tampered);
      assert.equal(transform().unprotectRtp(tampered, 12, 0x5501a0b2, 0xf17b), null, `bit flipped at ${at}`);
      assert.deepEqual(tampered, copy, 'a rejected packet is left unmodified');
    }
    assert.equal(transform().unprotectRtp(Buffer.from(rtpProtected), 12, 0x5501a0b2, 0x1f17b), null, 'wrong ROC');
  });

  test(`${impl}: RFC 7714 17.1.1: SRTCP AEAD_AES_128_GCM encryption (SRTCP index 5d4)`, { skip }, () => {
    assert.deepEqual(transform().protectRtcp(rtcpPlain, 0x4d617273, 0x5d4), rtcpProtected);
  });

  test(`${impl}: RFC 7714 17.1.2: SRTCP AEAD_AES_128_GCM decryption`, { skip }, () => {
    const t = transform();
    const packet = Buffer.from(rtcpProtected);
    const eAndIndex = packet.readUInt32BE(t.srtcpIndexOffset(packet.length));
    assert.equal(eAndIndex, 0x800005d4);
    assert.deepEqual(t.unprotectRtcp(packet, 0x4d617273, eAndIndex), rtcpPlain);
    const tampered = Buffer.from(rtcpProtected);
    tampered.writeUInt32BE(0x800005d5, tampered.length - 4); // the index is authenticated
    assert.equal(t.unprotectRtcp(tampered, 0x4d617273, 0x800005d5), null);
  });

  test(`${impl}: SRTCP with the E bit clear authenticates the whole packet and leaves it readable`, { skip }, () => {
    // Build an unencrypted SRTCP packet with a GCM tag over (packet | E|index) as AAD and empty plaintext.
    const t = transform();
    const eAndIndex = 0x00000009;
    const aad = Buffer.alloc(rtcpPlain.length + 4);
    rtcpPlain.copy(aad);
    aad.writeUInt32BE(eAndIndex, rtcpPlain.length);
    const iv = Buffer.from(salt);
    iv.writeUInt32BE((iv.readUInt32BE(2) ^ 0x4d617273) >>> 0, 2);
    iv.writeUInt32BE((iv.readUInt32BE(8) ^ 9) >>> 0, 8);
    const cipher = createCipherivGcm(iv);
    cipher.setAAD(aad);
    cipher.final();
    const packet = Buffer.concat([rtcpPlain, cipher.getAuthTag(), aad.subarray(rtcpPlain.length)]);
    assert.deepEqual(t.unprotectRtcp(packet, 0x4d617273, eAndIndex), rtcpPlain);
  });
}

function createCipherivGcm(iv: Buffer): CipherGCM {
  return createCipheriv('aes-128-gcm', key, iv, { authTagLength: 16 });
}
