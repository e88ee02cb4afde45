// RTP header length parsing and SRTP packet index (ROC) estimation for the SRTP layer.
// RFC 3550 section 5.1 (header), RFC 3711 section 3.3.1 and Appendix A (index estimation).

export const RTP_FIXED_HEADER_LENGTH = 12;
export const RTCP_HEADER_LENGTH = 8;

/**
 * Length of the RTP header (fixed part, CSRCs and header extension) if it fits in the first `limit` bytes
 * of `packet` and the version is 2; otherwise -1.
 */
export function rtpHeaderLength(packet: Buffer, limit: number): number {
  if (limit < RTP_FIXED_HEADER_LENGTH || limit > packet.length) return -1;
  const first = packet[0] ?? 0;
  if (first >>> 6 !== 2) return -1;
  let length = RTP_FIXED_HEADER_LENGTH + 4 * (first & 0x0f);
  if ((first & 0x10) !== 0) {
    if (length + 4 > limit) return -1;
    length += 4 + 4 * packet.readUInt16BE(length + 2);
  }
  return length <= limit ? length : -1;
}

/**
 * Estimates the 48-bit packet index (ROC * 65536 + seq) of `seq` relative to the highest index seen so far
 * (-1 before the first packet, when the ROC is taken as 0). The result is negative when the guess is a
 * rollover before the stream started; callers drop such packets.
 */
export function estimateSrtpIndex(highestIndex: number, seq: number): number {
  if (highestIndex < 0) return seq;
  const highestSeq = highestIndex % 65536;
  const roc = (highestIndex - highestSeq) / 65536;
  let guessedRoc = roc;
  if (highestSeq < 32768) {
    if (seq - highestSeq > 32768) guessedRoc = roc - 1;
  } else if (highestSeq - 32768 > seq) {
    guessedRoc = roc + 1;
  }
  return guessedRoc * 65536 + seq;
}
