// SRTP key derivation function (AES-CM PRF, key_derivation_rate 0).
// RFC 3711 section 4.3 (https://www.rfc-editor.org/rfc/rfc3711#section-4.3); RFC 7714 section 11 for the 12-byte GCM salt.
import { createCipheriv } from 'node:crypto';

export const SrtpKdfLabel = {
  rtpEncryption: 0x00,
  rtpAuthentication: 0x01,
  rtpSalt: 0x02,
  rtcpEncryption: 0x03,
  rtcpAuthentication: 0x04,
  rtcpSalt: 0x05,
} as const;
export type SrtpKdfLabelId = (typeof SrtpKdfLabel)[keyof typeof SrtpKdfLabel];

/**
 * Derives `length` bytes for `label` from a master key and salt. With key_derivation_rate 0 the index term
 * vanishes: x = (label << 48) XOR master_salt, keystream = AES-CM(master_key, x * 2^16). A 12-byte (GCM)
 * master salt is used as the most significant bytes of the 112-bit value, the rest zero (as libsrtp does).
 */
export function srtpDeriveKey(masterKey: Buffer, masterSalt: Buffer, label: SrtpKdfLabelId, length: number): Buffer {
  if (masterKey.length !== 16) throw new RangeError(`SRTP master key must be 16 bytes, got ${masterKey.length}`);
  if (masterSalt.length !== 14 && masterSalt.length !== 12) {
    throw new RangeError(`SRTP master salt must be 12 or 14 bytes, got ${masterSalt.length}`);
  }
  const iv = Buffer.alloc(16);
  masterSalt.copy(iv, 0);
  // label occupies the byte at bit position 48..55 of the 112-bit value: byte 7 counting from the left.
  iv[7] = (iv[7] ?? 0) ^ label;
  const cipher = createCipheriv('aes-128-ctr', masterKey, iv);
  const out = cipher.update(Buffer.alloc(length));
  cipher.final();
  return out;
}

/** Session keys for one direction of one master key. `authKey` is empty for AEAD profiles. */
export interface SrtpSessionKeys {
  rtpKey: Buffer;
  rtpSalt: Buffer;
  rtpAuthKey: Buffer;
  rtcpKey: Buffer;
  rtcpSalt: Buffer;
  rtcpAuthKey: Buffer;
}

/** Runs the KDF for all labels a profile needs (salt length 14 with a 20-byte auth key, or 12 without). */
export function srtpDeriveSessionKeys(masterKey: Buffer, masterSalt: Buffer, isAead: boolean): SrtpSessionKeys {
  const saltLength = isAead ? 12 : 14;
  const authLength = isAead ? 0 : 20;
  return {
    rtpKey: srtpDeriveKey(masterKey, masterSalt, SrtpKdfLabel.rtpEncryption, 16),
    rtpSalt: srtpDeriveKey(masterKey, masterSalt, SrtpKdfLabel.rtpSalt, saltLength),
    rtpAuthKey: srtpDeriveKey(masterKey, masterSalt, SrtpKdfLabel.rtpAuthentication, authLength),
    rtcpKey: srtpDeriveKey(masterKey, masterSalt, SrtpKdfLabel.rtcpEncryption, 16),
    rtcpSalt: srtpDeriveKey(masterKey, masterSalt, SrtpKdfLabel.rtcpSalt, saltLength),
    rtcpAuthKey: srtpDeriveKey(masterKey, masterSalt, SrtpKdfLabel.rtcpAuthentication, authLength),
  };
}
