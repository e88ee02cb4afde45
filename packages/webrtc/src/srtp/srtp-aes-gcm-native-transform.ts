// AEAD_AES_128_GCM for SRTP and SRTCP through the optional native module: the same packet layout, IVs and AAD as
// SrtpAesGcmTransform (RFC 7714 sections 8-9), but one OpenSSL context per key created here once and re-used for
// every packet instead of a node:crypto cipher object per packet.
import { gcmRtcpIv, gcmRtpIv } from './srtp-aes-gcm-transform.js';
import type { SrtpSessionKeys } from './srtp-kdf.js';
import type { NativeGcmHandle, NativeSrtp } from './native-srtp.js';
import { RTCP_HEADER_LENGTH } from './srtp-packet.js';
import type { SrtpTransform } from './srtp-transform.js';

const TAG_LENGTH = 16;
const SRTCP_INDEX_LENGTH = 4;

export class SrtpAesGcmNativeTransform implements SrtpTransform {
  readonly rtpOverhead = TAG_LENGTH;
  readonly rtcpOverhead = TAG_LENGTH + SRTCP_INDEX_LENGTH;
  readonly #native: NativeSrtp;
  readonly #rtp: NativeGcmHandle;
  readonly #rtpSalt: Buffer;
  readonly #rtcp: NativeGcmHandle;
  readonly #rtcpSalt: Buffer;
  readonly #iv = Buffer.alloc(12); // scratch; the addon reads it during the call
  readonly #eAndIndex = Buffer.alloc(SRTCP_INDEX_LENGTH); // scratch: the SRTCP AAD after the header

  constructor(keys: SrtpSessionKeys, native: NativeSrtp) {
    if (keys.rtpSalt.length !== 12 || keys.rtcpSalt.length !== 12) throw new RangeError('AES-GCM session salt must be 12 bytes');
    if (keys.rtpKey.length !== 16 || keys.rtcpKey.length !== 16) throw new RangeError('AES-128-GCM session key must be 16 bytes');
    this.#native = native;
    this.#rtp = native.gcmCreate(keys.rtpKey);
    this.#rtpSalt = keys.rtpSalt;
    this.#rtcp = native.gcmCreate(keys.rtcpKey);
    this.#rtcpSalt = keys.rtcpSalt;
  }

  protectRtp(packet: Buffer, headerLength: number, ssrc: number, index: number, into?: Buffer): Buffer {
    const out = into ?? Buffer.allocUnsafe(packet.length + TAG_LENGTH);
    this.#native.gcmSeal(this.#rtp, gcmRtpIv(this.#iv, this.#rtpSalt, ssrc, index), packet, headerLength, out, null);
    return out;
  }

  unprotectRtp(packet: Buffer, headerLength: number, ssrc: number, index: number): Buffer | null {
    const end = packet.length - TAG_LENGTH;
    const iv = gcmRtpIv(this.#iv, this.#rtpSalt, ssrc, index);
    return this.#native.gcmOpen(this.#rtp, iv, packet, headerLength, end, null) ? packet.subarray(0, end) : null;
  }

  protectRtcp(packet: Buffer, ssrc: number, srtcpIndex: number): Buffer {
    const length = packet.length;
    const out = Buffer.allocUnsafe(length + TAG_LENGTH + SRTCP_INDEX_LENGTH);
    const eAndIndex = this.#eAndIndex;
    eAndIndex.writeUInt32BE((0x80000000 | srtcpIndex) >>> 0, 0);
    const iv = gcmRtcpIv(this.#iv, this.#rtcpSalt, ssrc, srtcpIndex);
    this.#native.gcmSeal(this.#rtcp, iv, packet, RTCP_HEADER_LENGTH, out, eAndIndex); // AAD: header | E|index
    eAndIndex.copy(out, length + TAG_LENGTH);
    return out;
  }

  srtcpIndexOffset(length: number): number {
    return length - SRTCP_INDEX_LENGTH;
  }

  unprotectRtcp(packet: Buffer, ssrc: number, eAndIndex: number): Buffer | null {
    const end = packet.length - SRTCP_INDEX_LENGTH - TAG_LENGTH;
    const trailer = this.#eAndIndex;
    packet.copy(trailer, 0, end + TAG_LENGTH, end + TAG_LENGTH + SRTCP_INDEX_LENGTH);
    const iv = gcmRtcpIv(this.#iv, this.#rtcpSalt, ssrc, eAndIndex & 0x7fffffff);
    // With the E bit the header and E|index are AAD (RFC 7714 section 9.3); without it the whole packet is AAD
    // and the plaintext is empty (section 9.4).
    const aadLength = (eAndIndex & 0x80000000) !== 0 ? RTCP_HEADER_LENGTH : end;
    return this.#native.gcmOpen(this.#rtcp, iv, packet, aadLength, end, trailer) ? packet.subarray(0, end) : null;
  }
}
