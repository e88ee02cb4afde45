// SRTP session for one DTLS association: local keys protect what we send, remote keys unprotect what we receive.
// Key material split per RFC 5764 section 4.2 (https://www.rfc-editor.org/rfc/rfc5764#section-4.2).
import { SrtpContext, SrtpError, type SrtpStats } from './srtp-context.js';
import { srtpExporterLength, srtpKeyLength, srtpSaltLength, type SrtpProfileId } from './srtp-profile.js';

/** DTLS exporter label for DTLS-SRTP keying material (RFC 5764 section 4.2). */
export const SRTP_EXPORTER_LABEL = 'EXTRACTOR-dtls_srtp';

export interface SrtpKeys {
  profile: SrtpProfileId;
  localMasterKey: Buffer;
  localMasterSalt: Buffer;
  remoteMasterKey: Buffer;
  remoteMasterSalt: Buffer;
}

/**
 * Splits `EXTRACTOR-dtls_srtp` output, laid out client_write_key | server_write_key | client_write_salt |
 * server_write_salt, into our (local) and the peer's (remote) master key and salt.
 */
export function srtpKeysFromExporter(profile: SrtpProfileId, material: Buffer, isDtlsClient: boolean): SrtpKeys {
  const expected = srtpExporterLength(profile);
  if (material.length !== expected) {
    throw new SrtpError('ERR_SRTP_KEY_LENGTH', `DTLS-SRTP keying material must be ${expected} bytes, got ${material.length}`);
  }
  const keyLength = srtpKeyLength(profile);
  const saltLength = srtpSaltLength(profile);
  const clientKey = Buffer.from(material.subarray(0, keyLength));
  const serverKey = Buffer.from(material.subarray(keyLength, 2 * keyLength));
  const clientSalt = Buffer.from(material.subarray(2 * keyLength, 2 * keyLength + saltLength));
  const serverSalt = Buffer.from(material.subarray(2 * keyLength + saltLength, 2 * keyLength + 2 * saltLength));
  return isDtlsClient
    ? { profile, localMasterKey: clientKey, localMasterSalt: clientSalt, remoteMasterKey: serverKey, remoteMasterSalt: serverSalt }
    : { profile, localMasterKey: serverKey, localMasterSalt: serverSalt, remoteMasterKey: clientKey, remoteMasterSalt: clientSalt };
}

export class SrtpSession {
  readonly profile: SrtpProfileId;
  readonly #local: SrtpContext;
  readonly #remote: SrtpContext;

  constructor(keys: SrtpKeys) {
    this.profile = keys.profile;
    this.#local = new SrtpContext(keys.profile, keys.localMasterKey, keys.localMasterSalt);
    this.#remote = new SrtpContext(keys.profile, keys.remoteMasterKey, keys.remoteMasterSalt);
  }

  /** Receive-side counters (the packets we dropped). */
  get stats(): Readonly<SrtpStats> {
    return this.#remote.stats;
  }

  /**
   * Plaintext RTP in, SRTP out (the input is not modified): in a new buffer, or in `into` when given and the transform
   * writes there (exactly `packet.length + rtpOverhead` bytes; the native transforms do). Throws SrtpError if not RTP.
   */
  protectRtp(packet: Buffer, into?: Buffer): Buffer {
    return this.#local.protectRtp(packet, into);
  }

  /** Bytes protectRtp adds to a packet (the authentication tag). */
  get rtpOverhead(): number {
    return this.#local.rtpOverhead;
  }

  /**
   * SRTP in, plaintext RTP out, or null on auth failure, replay or garbage (never throws). Decrypts in place:
   * on success `packet` is overwritten and the result is a view of it.
   */
  unprotectRtp(packet: Buffer): Buffer | null {
    return this.#remote.unprotectRtp(packet);
  }

  /**
   * SRTP in, the same packet without its authentication tag (a view of `packet`), neither authenticated nor decrypted:
   * the RTP header and its extensions are in the clear, the payload is not. No replay check, no rollover state moves.
   * For a measuring receiver that authenticates only a sample (PeerConnectionOptions.decryptRtp); null when too short.
   */
  skipRtp(packet: Buffer): Buffer | null {
    const end = packet.length - this.#remote.rtpOverhead;
    return end >= 12 ? packet.subarray(0, end) : null;
  }

  /** Plaintext compound RTCP in, SRTCP out in a new buffer (E bit set). Throws SrtpError if not RTCP. */
  protectRtcp(packet: Buffer): Buffer {
    return this.#local.protectRtcp(packet);
  }

  /** SRTCP in, plaintext RTCP out (in place, like unprotectRtp), or null; never throws. */
  unprotectRtcp(packet: Buffer): Buffer | null {
    return this.#remote.unprotectRtcp(packet);
  }

  /** Forgets per-SSRC state (ROC, replay window, SRTCP index) for `ssrc` in both directions. */
  removeSsrc(ssrc: number): void {
    this.#local.removeSsrc(ssrc);
    this.#remote.removeSsrc(ssrc);
  }
}
