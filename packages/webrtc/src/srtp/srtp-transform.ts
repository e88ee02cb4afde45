// The per-profile packet transform seam: cipher + authentication for one direction's session keys.
// Index bookkeeping (ROC, replay) lives in srtp-context.ts; transforms only encrypt/decrypt at a given index.

export interface SrtpTransform {
  /** Bytes added to an SRTP packet (the tag). */
  readonly rtpOverhead: number;
  /** Bytes added to an SRTCP packet (tag plus the 4-byte E|index word). */
  readonly rtcpOverhead: number;
  /**
   * SRTP packet from plaintext RTP `packet` (header length known). Written into `into` when given and the transform
   * can (it must be exactly `packet.length + rtpOverhead` bytes, and not overlap `packet`), else into a new buffer:
   * the returned buffer is the packet either way.
   */
  protectRtp(packet: Buffer, headerLength: number, ssrc: number, index: number, into?: Buffer): Buffer;
  /** Verifies and decrypts `packet` in place; returns a view of the plaintext RTP packet or null. */
  unprotectRtp(packet: Buffer, headerLength: number, ssrc: number, index: number): Buffer | null;
  /** SRTCP packet from plaintext compound RTCP `packet` with the E bit set; returns a new buffer. */
  protectRtcp(packet: Buffer, ssrc: number, srtcpIndex: number): Buffer;
  /** Offset of the E|SRTCP-index word in an SRTCP packet of `length` bytes (caller checked the minimum). */
  srtcpIndexOffset(length: number): number;
  /** Verifies (and, with the E bit, decrypts in place) an SRTCP packet; view of the plaintext RTCP or null. */
  unprotectRtcp(packet: Buffer, ssrc: number, eAndIndex: number): Buffer | null;
}

/** Constant-time comparison of `a[aStart..aStart+length]` and `b[bStart..bStart+length]`. */
export function equalConstantTime(a: Buffer, aStart: number, b: Buffer, bStart: number, length: number): boolean {
  let diff = 0;
  for (let i = 0; i < length; i++) diff |= (a[aStart + i] ?? 0) ^ (b[bStart + i] ?? 0);
  return diff === 0;
}
