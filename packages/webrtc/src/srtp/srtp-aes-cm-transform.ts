// AES_CM_128_HMAC_SHA1_80 packet transform for SRTP and SRTCP.
// RFC 3711 sections 3.1, 3.4, 4.1.1 and 4.2 (https://www.rfc-editor.org/rfc/rfc3711).
import { AesCtrKeystream } from './aes-ctr-keystream.js';
import { HmacSha1 } from './hmac-sha1.js';
import type { SrtpSessionKeys } from './srtp-kdf.js';
import { RTCP_HEADER_LENGTH } from './srtp-packet.js';
import { equalConstantTime, type SrtpTransform } from './srtp-transform.js';

const TAG_LENGTH = 10;
const SRTCP_INDEX_LENGTH = 4;
const EMPTY = Buffer.alloc(0);

export class SrtpAesCmTransform implements SrtpTransform {
  readonly rtpOverhead = TAG_LENGTH;
  readonly rtcpOverhead = TAG_LENGTH + SRTCP_INDEX_LENGTH;
  readonly #rtpCipher: AesCtrKeystream;
  readonly #rtpSalt: Buffer;
  readonly #rtpHmac: HmacSha1;
  readonly #rtcpCipher: AesCtrKeystream;
  readonly #rtcpSalt: Buffer;
  readonly #rtcpHmac: HmacSha1;
  readonly #iv = Buffer.alloc(16); // scratch counter block, rebuilt per packet
  readonly #roc = Buffer.alloc(4); // scratch: ROC appended to the authenticated portion

  constructor(keys: SrtpSessionKeys) {
    if (keys.rtpSalt.length !== 14 || keys.rtcpSalt.length !== 14) throw new RangeError('AES-CM session salt must be 14 bytes');
    this.#rtpCipher = new AesCtrKeystream(keys.rtpKey);
    this.#rtpSalt = keys.rtpSalt;
    this.#rtpHmac = new HmacSha1(keys.rtpAuthKey);
    this.#rtcpCipher = new AesCtrKeystream(keys.rtcpKey);
    this.#rtcpSalt = keys.rtcpSalt;
    this.#rtcpHmac = new HmacSha1(keys.rtcpAuthKey);
  }

  protectRtp(packet: Buffer, headerLength: number, ssrc: number, index: number): Buffer {
    const length = packet.length;
    const out = Buffer.allocUnsafe(length + TAG_LENGTH);
    packet.copy(out, 0, 0, headerLength);
    this.#rtpCipher.xor(cmCounterIv(this.#iv, this.#rtpSalt, ssrc, index), packet.subarray(headerLength), out, headerLength);
    this.#roc.writeUInt32BE(Math.floor(index / 65536) >>> 0, 0);
    this.#rtpHmac.digest(out.subarray(0, length), this.#roc).copy(out, length, 0, TAG_LENGTH);
    return out;
  }

  unprotectRtp(packet: Buffer, headerLength: number, ssrc: number, index: number): Buffer | null {
    const end = packet.length - TAG_LENGTH;
    this.#roc.writeUInt32BE(Math.floor(index / 65536) >>> 0, 0);
    const tag = this.#rtpHmac.digest(packet.subarray(0, end), this.#roc);
    if (!equalConstantTime(tag, 0, packet, end, TAG_LENGTH)) return null;
    this.#rtpCipher.xor(cmCounterIv(this.#iv, this.#rtpSalt, ssrc, index), packet.subarray(headerLength, end), packet, headerLength);
    return packet.subarray(0, end);
  }

  protectRtcp(packet: Buffer, ssrc: number, srtcpIndex: number): Buffer {
    const length = packet.length;
    const out = Buffer.allocUnsafe(length + SRTCP_INDEX_LENGTH + TAG_LENGTH);
    packet.copy(out, 0, 0, RTCP_HEADER_LENGTH);
    const iv = cmCounterIv(this.#iv, this.#rtcpSalt, ssrc, srtcpIndex);
    this.#rtcpCipher.xor(iv, packet.subarray(RTCP_HEADER_LENGTH), out, RTCP_HEADER_LENGTH);
    out.writeUInt32BE((0x80000000 | srtcpIndex) >>> 0, length);
    const authenticatedEnd = length + SRTCP_INDEX_LENGTH;
    this.#rtcpHmac.digest(out.subarray(0, authenticatedEnd), EMPTY).copy(out, authenticatedEnd, 0, TAG_LENGTH);
    return out;
  }

  srtcpIndexOffset(length: number): number {
    return length - TAG_LENGTH - SRTCP_INDEX_LENGTH;
  }

  unprotectRtcp(packet: Buffer, ssrc: number, eAndIndex: number): Buffer | null {
    const authenticatedEnd = packet.length - TAG_LENGTH;
    const tag = this.#rtcpHmac.digest(packet.subarray(0, authenticatedEnd), EMPTY);
    if (!equalConstantTime(tag, 0, packet, authenticatedEnd, TAG_LENGTH)) return null;
    const end = authenticatedEnd - SRTCP_INDEX_LENGTH;
    if ((eAndIndex & 0x80000000) !== 0) {
      const iv = cmCounterIv(this.#iv, this.#rtcpSalt, ssrc, eAndIndex & 0x7fffffff);
      this.#rtcpCipher.xor(iv, packet.subarray(RTCP_HEADER_LENGTH, end), packet, RTCP_HEADER_LENGTH);
    }
    return packet.subarray(0, end);
  }
}

/** IV = (salt * 2^16) XOR (ssrc * 2^64) XOR (index * 2^16), RFC 3711 section 4.1.1; written into `iv` (16 bytes). */
export function cmCounterIv(iv: Buffer, salt: Buffer, ssrc: number, index: number): Buffer {
  salt.copy(iv, 0, 0, 14);
  iv[14] = 0;
  iv[15] = 0;
  iv.writeUInt32BE((iv.readUInt32BE(4) ^ ssrc) >>> 0, 4);
  const indexHigh = Math.floor(index / 0x100000000);
  iv.writeUInt16BE((iv.readUInt16BE(8) ^ indexHigh) & 0xffff, 8);
  iv.writeUInt32BE((iv.readUInt32BE(10) ^ index) >>> 0, 10);
  return iv;
}
