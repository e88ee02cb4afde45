import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SrtpKdfLabel, srtpDeriveKey, srtpDeriveSessionKeys } from './srtp-kdf.js';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');

// RFC 3711 Appendix B.3 (key derivation test vectors).
const masterKey = hex('E1F97A0D3E018BE0D64FA32C06DE4139');
const masterSalt = hex('0EC675AD498AFEEBB6960B3AABE6');

test('RFC 3711 B.3: cipher key, cipher salt and auth key', () => {
  assert.deepEqual(srtpDeriveKey(masterKey, masterSalt, SrtpKdfLabel.rtpEncryption, 16), hex('C61E7A93744F39EE10734AFE3FF7A087'));
  assert.deepEqual(srtpDeriveKey(masterKey, masterSalt, SrtpKdfLabel.rtpSalt, 14), hex('30CBBC08863D8C85D49DB34A9AE1'));
  assert.deepEqual(
    srtpDeriveKey(masterKey, masterSalt, SrtpKdfLabel.rtpAuthentication, 20),
    hex('CEBE321F6FF7716B6FD4AB49AF256A156D38BAA4'),
  );
});

test('RFC 3711 B.3: the longer auth-key keystream continues across AES blocks', () => {
  // The RFC lists 94 bytes of auth key keystream; its first 32 bytes cover the counter increment.
  const long = srtpDeriveKey(masterKey, masterSalt, SrtpKdfLabel.rtpAuthentication, 32);
  assert.deepEqual(long.subarray(0, 20), hex('CEBE321F6FF7716B6FD4AB49AF256A156D38BAA4'));
  assert.equal(long.length, 32);
});

test('session keys for AES-CM: sizes and RTP labels match the single-label derivation', () => {
  const keys = srtpDeriveSessionKeys(masterKey, masterSalt, false);
  assert.deepEqual(keys.rtpKey, hex('C61E7A93744F39EE10734AFE3FF7A087'));
  assert.deepEqual(keys.rtpSalt, hex('30CBBC08863D8C85D49DB34A9AE1'));
  assert.equal(keys.rtpAuthKey.length, 20);
  assert.equal(keys.rtcpKey.length, 16);
  assert.equal(keys.rtcpSalt.length, 14);
  assert.equal(keys.rtcpAuthKey.length, 20);
  assert.notDeepEqual(keys.rtcpKey, keys.rtpKey);
});

test('session keys for AEAD (12-byte salt, zero-padded to 14 as libsrtp does)', () => {
  // Cross-check value for master key 00..0f and master salt 40..4b (label 2 XORed at byte 7 of the padded
  // salt), as published with an implementation tested against libsrtp-compatible webrtc-rs; RFC 7714 has no KDF vector.
  const key = Buffer.from(Array.from({ length: 16 }, (_, i) => i));
  const salt = Buffer.from(Array.from({ length: 12 }, (_, i) => 0x40 + i));
  const keys = srtpDeriveSessionKeys(key, salt, true);
  assert.deepEqual(keys.rtpSalt, hex('1fcd5d561e66dc49ec1c3ccb'));
  assert.equal(keys.rtpKey.length, 16);
  assert.equal(keys.rtpAuthKey.length, 0);
  // Padding equivalence: a 12-byte salt gives the same output as the same salt with two zero bytes appended.
  const padded = Buffer.concat([salt, Buffer.alloc(2)]);
  assert.deepEqual(srtpDeriveKey(key, salt, SrtpKdfLabel.rtcpEncryption, 16), srtpDeriveKey(key, padded, SrtpKdfLabel.rtcpEncryption, 16));
});

test('rejects wrong master key or salt sizes', () => {
  assert.throws(() => srtpDeriveKey(Buffer.alloc(15), masterSalt, 0, 16), RangeError);
  assert.throws(() => srtpDeriveKey(masterKey, Buffer.alloc(13), 0, 16), RangeError);
});
