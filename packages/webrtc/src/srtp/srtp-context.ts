// One direction of SRTP/SRTCP for one master key: session keys derived once, per-SSRC state (ROC via the
// highest index, replay windows, SRTCP send index). RFC 3711 sections 3.2-3.4 (https://www.rfc-editor.org/rfc/rfc3711).
import { SrtpAesCmNativeTransform } from './srtp-aes-cm-native-transform.js';
import { SrtpAesCmTransform } from './srtp-aes-cm-transform.js';
import { SrtpAesGcmNativeTransform } from './srtp-aes-gcm-native-transform.js';
import { SrtpAesGcmTransform } from './srtp-aes-gcm-transform.js';
import { nativeSrtpIfChosen } from './native-srtp.js';
import { srtpDeriveSessionKeys, type SrtpSessionKeys } from './srtp-kdf.js';
import { RTCP_HEADER_LENGTH, estimateSrtpIndex, rtpHeaderLength } from './srtp-packet.js';
import { SrtpProfile, srtpKeyLength, srtpSaltLength, type SrtpProfileId } from './srtp-profile.js';
import type { SrtpTransform } from './srtp-transform.js';
import { ReplayCheck, ReplayWindow } from './replay-window.js';
import { SsrcMap } from '../rtp/ssrc-map.js';

/** Streams (SSRCs) remembered per direction; the oldest is forgotten past this. */
export const MAX_SRTP_STREAMS = 4096;
const SRTCP_INDEX_MASK = 0x7fffffff;

export interface SrtpStats {
  authFailures: number;
  replayed: number;
  malformed: number;
}

export class SrtpError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.name = 'SrtpError';
    this.code = code;
  }
}

class InboundStream {
  readonly rtp = new ReplayWindow();
  rtcp: ReplayWindow | null = null;
}

class OutboundStream {
  highestRtpIndex = -1;
  nextSrtcpIndex = 0;
}

/** The transform for `profile`: through the native module when it is chosen (native-srtp.ts), else TypeScript. */
export function createSrtpTransform(profile: SrtpProfileId, sessionKeys: SrtpSessionKeys): SrtpTransform {
  const native = nativeSrtpIfChosen();
  if (profile === SrtpProfile.AEAD_AES_128_GCM) {
    return native !== null ? new SrtpAesGcmNativeTransform(sessionKeys, native) : new SrtpAesGcmTransform(sessionKeys);
  }
  return native !== null ? new SrtpAesCmNativeTransform(sessionKeys, native) : new SrtpAesCmTransform(sessionKeys);
}

export class SrtpContext {
  readonly stats: SrtpStats = { authFailures: 0, replayed: 0, malformed: 0 };
  readonly #transform: SrtpTransform;
  // Looked up per packet: SsrcMap keeps large SSRCs from costing a heap-number hash each time.
  readonly #inbound = new SsrcMap<InboundStream>();
  readonly #outbound = new SsrcMap<OutboundStream>();

  constructor(profile: SrtpProfileId, masterKey: Buffer, masterSalt: Buffer) {
    if (masterKey.length !== srtpKeyLength(profile) || masterSalt.length !== srtpSaltLength(profile)) {
      throw new SrtpError('ERR_SRTP_KEY_LENGTH', `SRTP master key/salt have the wrong length for profile ${profile}`);
    }
    const isAead = profile === SrtpProfile.AEAD_AES_128_GCM;
    this.#transform = createSrtpTransform(profile, srtpDeriveSessionKeys(masterKey, masterSalt, isAead));
  }

  /** Bytes SRTP adds after an RTP packet's payload (the authentication tag). */
  get rtpOverhead(): number {
    return this.#transform.rtpOverhead;
  }

  /**
   * Plaintext RTP in, SRTP out: a new buffer, or `into` (exactly `packet.length + rtpOverhead` bytes) when the
   * transform writes there (the native ones do). Throws SrtpError on a packet that is not RTP.
   */
  protectRtp(packet: Buffer, into?: Buffer): Buffer {
    const headerLength = rtpHeaderLength(packet, packet.length);
    if (headerLength < 0) throw new SrtpError('ERR_SRTP_MALFORMED', 'not a valid RTP packet');
    const ssrc = packet.readUInt32BE(8);
    const stream = this.#outboundStream(ssrc);
    const index = estimateSrtpIndex(stream.highestRtpIndex, packet.readUInt16BE(2));
    if (index < 0) {
      // A seq far behind the first one sent guesses a rollover before the start. A receiver drops it whatever
      // we do; encrypt it in ROC 0 without moving the highest index, so the following packets stay in step.
      return this.#transform.protectRtp(packet, headerLength, ssrc, index + 65536, into);
    }
    if (index > stream.highestRtpIndex) stream.highestRtpIndex = index;
    return this.#transform.protectRtp(packet, headerLength, ssrc, index, into);
  }

  /** SRTP in, plaintext RTP out (decrypted in place: a view of `packet`); null on any failure, never throws. */
  unprotectRtp(packet: Buffer): Buffer | null {
    try {
      const transform = this.#transform;
      const headerLength = rtpHeaderLength(packet, packet.length - transform.rtpOverhead);
      if (headerLength < 0) {
        this.stats.malformed++;
        return null;
      }
      const ssrc = packet.readUInt32BE(8);
      const stream = this.#inbound.get(ssrc);
      const index = estimateSrtpIndex(stream === undefined ? -1 : stream.rtp.highestIndex, packet.readUInt16BE(2));
      if (index < 0 || (stream !== undefined && stream.rtp.check(index) !== ReplayCheck.ok)) {
        this.stats.replayed++;
        return null;
      }
      const plaintext = transform.unprotectRtp(packet, headerLength, ssrc, index);
      if (plaintext === null) {
        this.stats.authFailures++;
        return null;
      }
      (stream ?? remember(this.#inbound, ssrc, new InboundStream())).rtp.accept(index);
      return plaintext;
    } catch {
      this.stats.malformed++;
      return null;
    }
  }

  /** Plaintext compound RTCP in, SRTCP out (E bit set, a new buffer). Throws SrtpError on a packet that is not RTCP. */
  protectRtcp(packet: Buffer): Buffer {
    if (packet.length < RTCP_HEADER_LENGTH || (packet[0] ?? 0) >>> 6 !== 2) {
      throw new SrtpError('ERR_SRTP_MALFORMED', 'not a valid RTCP packet');
    }
    const ssrc = packet.readUInt32BE(4);
    const stream = this.#outboundStream(ssrc);
    const srtcpIndex = stream.nextSrtcpIndex;
    stream.nextSrtcpIndex = (srtcpIndex + 1) & SRTCP_INDEX_MASK;
    return this.#transform.protectRtcp(packet, ssrc, srtcpIndex);
  }

  /** SRTCP in, plaintext RTCP out (decrypted in place: a view of `packet`); null on any failure, never throws. */
  unprotectRtcp(packet: Buffer): Buffer | null {
    try {
      const transform = this.#transform;
      if (packet.length < RTCP_HEADER_LENGTH + transform.rtcpOverhead || (packet[0] ?? 0) >>> 6 !== 2) {
        this.stats.malformed++;
        return null;
      }
      const ssrc = packet.readUInt32BE(4);
      const eAndIndex = packet.readUInt32BE(transform.srtcpIndexOffset(packet.length));
      const index = eAndIndex & SRTCP_INDEX_MASK;
      const stream = this.#inbound.get(ssrc);
      if (stream?.rtcp != null && stream.rtcp.check(index) !== ReplayCheck.ok) {
        this.stats.replayed++;
        return null;
      }
      const plaintext = transform.unprotectRtcp(packet, ssrc, eAndIndex);
      if (plaintext === null) {
        this.stats.authFailures++;
        return null;
      }
      const known = stream ?? remember(this.#inbound, ssrc, new InboundStream());
      known.rtcp ??= new ReplayWindow();
      known.rtcp.accept(index);
      return plaintext;
    } catch {
      this.stats.malformed++;
      return null;
    }
  }

  /** Forgets a stream's state in both directions (e.g. when a track is removed). */
  removeSsrc(ssrc: number): void {
    this.#inbound.delete(ssrc);
    this.#outbound.delete(ssrc);
  }

  /** The outbound state of `ssrc`, created on its first packet. */
  #outboundStream(ssrc: number): OutboundStream {
    return this.#outbound.get(ssrc) ?? remember(this.#outbound, ssrc, new OutboundStream());
  }
}

function remember<T>(map: SsrcMap<T>, ssrc: number, stream: T): T {
  if (map.size >= MAX_SRTP_STREAMS) {
    const oldest = map.keys().next();
    if (oldest.done !== true) map.delete(oldest.value);
  }
  map.set(ssrc, stream);
  return stream;
}
