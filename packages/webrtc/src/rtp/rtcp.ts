// RTCP compound packet parsing and serialization (control plane; allocation is fine here).
// RFC 3550 §6 https://www.rfc-editor.org/rfc/rfc3550#section-6 ; feedback RFC 4585, RFC 5104, REMB, TWCC.
import {
  parseFullIntraRequest,
  parseGenericNack,
  parsePictureLossIndication,
  parseRemb,
  serializeFullIntraRequest,
  serializeGenericNack,
  serializePictureLossIndication,
  serializeRemb,
} from './rtcp-feedback.js';
import {
  parseGoodbye,
  parseReceiverReport,
  parseSenderReport,
  parseSourceDescription,
  serializeGoodbye,
  serializeReceiverReport,
  serializeSenderReport,
  serializeSourceDescription,
} from './rtcp-reports.js';
import { parseTransportWideFeedback, serializeTransportWideFeedback } from './rtcp-twcc.js';
import { PsfbFmt, RtcpPacketType, RtpfbFmt } from './rtcp-types.js';
import type { RtcpPacket } from './rtcp-types.js';

export * from './rtcp-types.js';
export * from './rtcp-feedback.js';
export * from './rtcp-reports.js';
export * from './rtcp-twcc.js';
export * from './rtcp-twcc-writer.js';
export * from './ntp.js';

function parseOne(p: Uint8Array): RtcpPacket | null {
  const fmt = p[0]! & 0x1f;
  const pt = p[1]!;
  switch (pt) {
    case RtcpPacketType.SR:
      return parseSenderReport(p);
    case RtcpPacketType.RR:
      return parseReceiverReport(p);
    case RtcpPacketType.SDES:
      return parseSourceDescription(p);
    case RtcpPacketType.BYE:
      return parseGoodbye(p);
    case RtcpPacketType.RTPFB:
      if (fmt === RtpfbFmt.NACK) return parseGenericNack(p);
      if (fmt === RtpfbFmt.TWCC) return parseTransportWideFeedback(p);
      break;
    case RtcpPacketType.PSFB:
      if (fmt === PsfbFmt.PLI) return parsePictureLossIndication(p);
      if (fmt === PsfbFmt.FIR) return parseFullIntraRequest(p);
      if (fmt === PsfbFmt.AFB) {
        const remb = parseRemb(p);
        if (remb) return remb;
      }
      break;
  }
  return { type: 'unknown', packetType: pt, fmt, raw: p.slice() };
}

/**
 * Parses a compound RTCP packet. Never throws: stops at the first packet whose header is bad
 * (wrong version, length past the end) and returns what came before it; skips single packets
 * whose body is malformed. Garbage input gives [].
 */
export function parseRtcp(buf: Uint8Array): RtcpPacket[] {
  const out: RtcpPacket[] = [];
  try {
    let o = 0;
    while (o + 4 <= buf.length) {
      const b0 = buf[o]!;
      if (b0 >>> 6 !== 2) break;
      const length = (((buf[o + 2]! << 8) | buf[o + 3]!) + 1) * 4;
      if (o + length > buf.length) break;
      let end = o + length;
      if (b0 & 0x20) {
        const padding = buf[end - 1]!;
        if (padding === 0 || padding > length - 4) break;
        end -= padding;
      }
      const pkt = parseOne(buf.subarray(o, end));
      if (pkt) out.push(pkt);
      o += length;
    }
  } catch {
    // Parsers check bounds; this is a last guard so bad input can never escape as an exception.
  }
  return out;
}

function serializeOne(p: RtcpPacket): Uint8Array {
  switch (p.type) {
    case 'sr':
      return serializeSenderReport(p);
    case 'rr':
      return serializeReceiverReport(p);
    case 'sdes':
      return serializeSourceDescription(p);
    case 'bye':
      return serializeGoodbye(p);
    case 'nack':
      return serializeGenericNack(p);
    case 'pli':
      return serializePictureLossIndication(p);
    case 'fir':
      return serializeFullIntraRequest(p);
    case 'remb':
      return serializeRemb(p);
    case 'twcc':
      return serializeTransportWideFeedback(p);
    case 'unknown':
      return p.raw;
  }
}

/** Serializes packets back to back as one compound packet. Throws RangeError on unencodable values. */
export function serializeRtcp(packets: RtcpPacket[]): Buffer {
  return Buffer.concat(packets.map(serializeOne));
}
