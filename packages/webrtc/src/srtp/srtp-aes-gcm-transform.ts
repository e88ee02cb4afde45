// AEAD_AES_128_GCM packet transform for SRTP and SRTCP: 12-byte IV from salt XOR (ssrc, roc, seq) or
// (ssrc, SRTCP index), AAD = RTP header / RTCP header + E|index. RFC 7714 sections 8-9 (https://www.rfc-editor.org/rfc/rfc7714).
import { createCipheriv, createDecipheriv } from 'node:crypto';
import type { SrtpSessionKeys } from './srtp-kdf.js';
import { RTCP_HEADER_LENGTH } from './srtp-packet.js';
import type { SrtpTransform } from './srtp-transform.js';

const TAG_LENGTH = 16;
const SRTCP_INDEX_LENGTH = 4;
const GCM_OPTIONS = { authTagLength: TAG_LENGTH } as const;

export class SrtpAesGcmTransform implements SrtpTransform {
  readonly rtpOverhead = TAG_LENGTH;
  readonly rtcpOverhead = TAG_LENGTH + SRTCP_INDEX_LENGTH;
  readonly #rtpKey: Buffer;
  readonly #rtpSalt: Buffer;
  readonly #rtcpKey: Buffer;
  readonly #rtcpSalt: Buffer;
  readonly #iv = Buffer.alloc(12); // scratch; createCipheriv copies it
  readonly #rtcpAad = Buffer.alloc(RTCP_HEADER_LENGTH + SRTCP_INDEX_LENGTH); // scratch: header | E|index

  constructor(keys: SrtpSessionKeys) {
    if (keys.rtpSalt.length !== 12 || keys.rtcpSalt.length !== 12) throw new RangeError('AES-GCM session salt must be 12 bytes');
    this.#rtpKey = keys.rtpKey;
    this.#rtpSalt = keys.rtpSalt;
    this.#rtcpKey = keys.rtcpKey;
    this.#rtcpSalt = keys.rtcpSalt;
  }

  protectRtp(packet: Buffer, headerLength: number, ssrc: number, index: number): Buffer {
    const length = packet.length;
    const out = Buffer.allocUnsafe(length + TAG_LENGTH);
    packet.copy(out, 0, 0, headerLength);
    const cipher = createCipheriv('aes-128-gcm', this.#rtpKey, gcmRtpIv(this.#iv, this.#rtpSalt, ssrc, index), GCM_OPTIONS);
    cipher.setAAD(packet.subarray(0, headerLength));
    cipher.update(packet.subarray(headerLength)).copy(out, headerLength);
    cipher.final();
    cipher.getAuthTag().copy(out, length);
    return out;
  }

  unprotectRtp(packet: Buffer, headerLength: number, ssrc: number, index: number): Buffer | null {
    const end = packet.length - TAG_LENGTH;
    const decipher = createDecipheriv('aes-128-gcm', this.#rtpKey, gcmRtpIv(this.#iv, this.#rtpSalt, ssrc, index), GCM_OPTIONS);
    decipher.setAAD(packet.subarray(0, headerLength));
    decipher.setAuthTag(packet.subarray(end));
    const plaintext = decipher.update(packet.subarray(headerLength, end));
    try {
      decipher.final();
    } catch {
      return null; // tag mismatch
    }
    plaintext.copy(packet, headerLength);
    return packet.subarray(0, end);
  }

  protectRtcp(packet: Buffer, ssrc: number, srtcpIndex: number): Buffer {
    const length = packet.length;
    const out = Buffer.allocUnsafe(length + TAG_LENGTH + SRTCP_INDEX_LENGTH);
    packet.copy(out, 0, 0, RTCP_HEADER_LENGTH);
    const eAndIndex = (0x80000000 | srtcpIndex) >>> 0;
    const aad = this.#rtcpAad;
    packet.copy(aad, 0, 0, RTCP_HEADER_LENGTH);
    aad.writeUInt32BE(eAndIndex, RTCP_HEADER_LENGTH);
    const cipher = createCipheriv('aes-128-gcm', this.#rtcpKey, gcmRtcpIv(this.#iv, this.#rtcpSalt, ssrc, srtcpIndex), GCM_OPTIONS);
    cipher.setAAD(aad);
    cipher.update(packet.subarray(RTCP_HEADER_LENGTH)).copy(out, RTCP_HEADER_LENGTH);
    cipher.final();
    cipher.getAuthTag().copy(out, length);
    out.writeUInt32BE(eAndIndex, length + TAG_LENGTH);
    return out;
  }

  srtcpIndexOffset(length: number): number {
    return length - SRTCP_INDEX_LENGTH;
  }

  unprotectRtcp(packet: Buffer, ssrc: number, eAndIndex: number): Buffer | null {
    const end = packet.length - SRTCP_INDEX_LENGTH - TAG_LENGTH;
    const isEncrypted = (eAndIndex & 0x80000000) !== 0;
    const decipher = createDecipheriv('aes-128-gcm', this.#rtcpKey, gcmRtcpIv(this.#iv, this.#rtcpSalt, ssrc, eAndIndex & 0x7fffffff), GCM_OPTIONS);
    let plaintext: Buffer | null = null;
    if (isEncrypted) {
      // AAD: RTCP header then E|index (RFC 7714 section 9.3).
      decipher.setAAD(packet.subarray(0, RTCP_HEADER_LENGTH));
      decipher.setAAD(packet.subarray(end + TAG_LENGTH));
      decipher.setAuthTag(packet.subarray(end, end + TAG_LENGTH));
      plaintext = decipher.update(packet.subarray(RTCP_HEADER_LENGTH, end));
    } else {
      // Unencrypted SRTCP: the whole packet and E|index are AAD, the plaintext is empty (RFC 7714 section 9.4).
      decipher.setAAD(packet.subarray(0, end));
      decipher.setAAD(packet.subarray(end + TAG_LENGTH));
      decipher.setAuthTag(packet.subarray(end, end + TAG_LENGTH));
    }
    try {
      decipher.final();
    } catch {
      return null;
    }
    if (plaintext !== null) plaintext.copy(packet, RTCP_HEADER_LENGTH);
    return packet.subarray(0, end);
  }
}

/** IV = salt XOR (00 00 | ssrc | roc | seq), RFC 7714 section 8.1; written into `iv` (12 bytes). */
export function gcmRtpIv(iv: Buffer, salt: Buffer, ssrc: number, index: number): Buffer {
  const seq = index % 65536;
  iv.writeUInt16BE(salt.readUInt16BE(0), 0);
  iv.writeUInt32BE((salt.readUInt32BE(2) ^ ssrc) >>> 0, 2);
  iv.writeUInt32BE((salt.readUInt32BE(6) ^ ((index - seq) / 65536)) >>> 0, 6);
  iv.writeUInt16BE(salt.readUInt16BE(10) ^ seq, 10);
  return iv;
}

/** IV = salt XOR (00 00 | ssrc | 00 00 | 0 + 31-bit SRTCP index), RFC 7714 section 9.1; written into `iv`. */
export function gcmRtcpIv(iv: Buffer, salt: Buffer, ssrc: number, srtcpIndex: number): Buffer {
  iv.writeUInt16BE(salt.readUInt16BE(0), 0);
  iv.writeUInt32BE((salt.readUInt32BE(2) ^ ssrc) >>> 0, 2);
  iv.writeUInt16BE(salt.readUInt16BE(6), 6);
  iv.writeUInt32BE((salt.readUInt32BE(8) ^ srtcpIndex) >>> 0, 8);
  return iv;
}
