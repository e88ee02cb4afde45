// AES_CM_128_HMAC_SHA1_80 for SRTP and SRTCP through the optional native module: the same layout, counter blocks and
// authenticated portions as SrtpAesCmTransform (RFC 3711 sections 3.1, 3.4, 4.1.1, 4.2), with one OpenSSL AES-CTR
// context and one HMAC-SHA1 context per key created here once and re-used for every packet.
import { cmCounterIv } from './srtp-aes-cm-transform.js';
import type { SrtpSessionKeys } from './srtp-kdf.js';
import type { NativeCmHandle, NativeSrtp } from './native-srtp.js';
import { RTCP_HEADER_LENGTH } from './srtp-packet.js';
import type { SrtpTransform } from './srtp-transform.js';

const TAG_LENGTH = 10;
const SRTCP_INDEX_LENGTH = 4;

export class SrtpAesCmNativeTransform implements SrtpTransform {
  readonly rtpOverhead = TAG_LENGTH;
  readonly rtcpOverhead = TAG_LENGTH + SRTCP_INDEX_LENGTH;
  readonly #native: NativeSrtp;
  readonly #rtp: NativeCmHandle;
  readonly #rtpSalt: Buffer;
  readonly #rtcp: NativeCmHandle;
  readonly #rtcpSalt: Buffer;
  readonly #iv = Buffer.alloc(16); // scratch counter block; the addon reads it during the call
  readonly #roc = Buffer.alloc(4); // scratch: the ROC appended to the authenticated portion of SRTP

  constructor(keys: SrtpSessionKeys, native: NativeSrtp) {
    if (keys.rtpSalt.length !== 14 || keys.rtcpSalt.length !== 14) throw new RangeError('AES-CM session salt must be 14 bytes');
    this.#native = native;
    this.#rtp = native.cmCreate(keys.rtpKey, keys.rtpAuthKey);
    this.#rtpSalt = keys.rtpSalt;
    this.#rtcp = native.cmCreate(keys.rtcpKey, keys.rtcpAuthKey);
    this.#rtcpSalt = keys.rtcpSalt;
  }

  protectRtp(packet: Buffer, headerLength: number, ssrc: number, index: number, into?: Buffer): Buffer {
    const length = packet.length;
    const out = into ?? Buffer.allocUnsafe(length + TAG_LENGTH);
    this.#roc.writeUInt32BE(Math.floor(index / 65536) >>> 0, 0);
    const iv = cmCounterIv(this.#iv, this.#rtpSalt, ssrc, index);
    this.#native.cmSeal(this.#rtp, iv, packet, headerLength, out, length, this.#roc);
    return out;
  }

  unprotectRtp(packet: Buffer, headerLength: number, ssrc: number, index: number): Buffer | null {
    const end = packet.length - TAG_LENGTH;
    this.#roc.writeUInt32BE(Math.floor(index / 65536) >>> 0, 0);
    const iv = cmCounterIv(this.#iv, this.#rtpSalt, ssrc, index);
    return this.#native.cmOpen(this.#rtp, iv, packet, headerLength, end, end, this.#roc, true) ? packet.subarray(0, end) : null;
  }

  protectRtcp(packet: Buffer, ssrc: number, srtcpIndex: number): Buffer {
    const length = packet.length;
    const out = Buffer.allocUnsafe(length + SRTCP_INDEX_LENGTH + TAG_LENGTH);
    out.writeUInt32BE((0x80000000 | srtcpIndex) >>> 0, length); // authenticated with the packet
    const iv = cmCounterIv(this.#iv, this.#rtcpSalt, ssrc, srtcpIndex);
    this.#native.cmSeal(this.#rtcp, iv, packet, RTCP_HEADER_LENGTH, out, length + SRTCP_INDEX_LENGTH, null);
    return out;
  }

  srtcpIndexOffset(length: number): number {
    return length - TAG_LENGTH - SRTCP_INDEX_LENGTH;
  }

  unprotectRtcp(packet: Buffer, ssrc: number, eAndIndex: number): Buffer | null {
    const authenticatedEnd = packet.length - TAG_LENGTH;
    const end = authenticatedEnd - SRTCP_INDEX_LENGTH;
    const iv = cmCounterIv(this.#iv, this.#rtcpSalt, ssrc, eAndIndex & 0x7fffffff);
    const decrypt = (eAndIndex & 0x80000000) !== 0;
    return this.#native.cmOpen(this.#rtcp, iv, packet, RTCP_HEADER_LENGTH, end, authenticatedEnd, null, decrypt) ? packet.subarray(0, end) : null;
  }
}
