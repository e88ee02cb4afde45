// RTCP SR, RR, SDES and BYE parsing and serialization.
// RFC 3550 §6.4-6.6 https://www.rfc-editor.org/rfc/rfc3550#section-6.4
import { readU32, writeU32 } from './bytes.js';
import { allocRtcp, decodeText, encodeText } from './rtcp-common.js';
import { RtcpPacketType } from './rtcp-types.js';
import type {
  Goodbye,
  ReceiverReport,
  ReportBlock,
  SdesChunk,
  SenderReport,
  SourceDescription,
} from './rtcp-types.js';

const REPORT_BLOCK_LENGTH = 24;

// `p` in every parser is one packet, header at 0, RTCP padding already removed.

function parseReportBlocks(p: Uint8Array, offset: number, count: number): ReportBlock[] | null {
  if (offset + count * REPORT_BLOCK_LENGTH > p.length) return null;
  const reports: ReportBlock[] = [];
  for (let i = 0; i < count; i++) {
    const o = offset + i * REPORT_BLOCK_LENGTH;
    const lost24 = (p[o + 5]! << 16) | (p[o + 6]! << 8) | p[o + 7]!;
    reports.push({
      ssrc: readU32(p, o),
      fractionLost: p[o + 4]!,
      cumulativeLost: (lost24 << 8) >> 8, // sign-extend 24 bits
      highestSeq: readU32(p, o + 8),
      jitter: readU32(p, o + 12),
      lastSr: readU32(p, o + 16),
      delaySinceLastSr: readU32(p, o + 20),
    });
  }
  return reports;
}

function writeReportBlocks(buf: Uint8Array, offset: number, reports: ReportBlock[]): void {
  let o = offset;
  for (const r of reports) {
    writeU32(buf, o, r.ssrc);
    // fraction lost (8) | cumulative lost (24, two's complement)
    writeU32(buf, o + 4, ((r.fractionLost & 0xff) << 24) | (r.cumulativeLost & 0xffffff));
    writeU32(buf, o + 8, r.highestSeq);
    writeU32(buf, o + 12, r.jitter);
    writeU32(buf, o + 16, r.lastSr);
    writeU32(buf, o + 20, r.delaySinceLastSr);
    o += REPORT_BLOCK_LENGTH;
  }
}

function checkCount(n: number, what: string): void {
  if (n > 31) throw new RangeError(`at most 31 ${what} per packet`);
}

export function parseSenderReport(p: Uint8Array): SenderReport | null {
  if (p.length < 28) return null;
  const reports = parseReportBlocks(p, 28, p[0]! & 0x1f);
  if (!reports) return null;
  const ntpHigh = BigInt(readU32(p, 8));
  const ntpLow = BigInt(readU32(p, 12));
  return {
    type: 'sr',
    ssrc: readU32(p, 4),
    ntpTimestamp: (ntpHigh << 32n) | ntpLow,
    rtpTimestamp: readU32(p, 16),
    packetCount: readU32(p, 20),
    octetCount: readU32(p, 24),
    reports,
  };
}

export function serializeSenderReport(sr: SenderReport): Buffer {
  checkCount(sr.reports.length, 'report blocks');
  const buf = allocRtcp(sr.reports.length, RtcpPacketType.SR, 24 + 24 * sr.reports.length);
  writeU32(buf, 4, sr.ssrc);
  writeU32(buf, 8, Number((sr.ntpTimestamp >> 32n) & 0xffffffffn));
  writeU32(buf, 12, Number(sr.ntpTimestamp & 0xffffffffn));
  writeU32(buf, 16, sr.rtpTimestamp);
  writeU32(buf, 20, sr.packetCount);
  writeU32(buf, 24, sr.octetCount);
  writeReportBlocks(buf, 28, sr.reports);
  return buf;
}

export function parseReceiverReport(p: Uint8Array): ReceiverReport | null {
  if (p.length < 8) return null;
  const reports = parseReportBlocks(p, 8, p[0]! & 0x1f);
  if (!reports) return null;
  return { type: 'rr', ssrc: readU32(p, 4), reports };
}

export function serializeReceiverReport(rr: ReceiverReport): Buffer {
  checkCount(rr.reports.length, 'report blocks');
  const buf = allocRtcp(rr.reports.length, RtcpPacketType.RR, 4 + 24 * rr.reports.length);
  writeU32(buf, 4, rr.ssrc);
  writeReportBlocks(buf, 8, rr.reports);
  return buf;
}

export function parseSourceDescription(p: Uint8Array): SourceDescription | null {
  const count = p[0]! & 0x1f;
  const chunks: SdesChunk[] = [];
  let o = 4;
  for (let i = 0; i < count; i++) {
    if (o + 4 > p.length) return null;
    const chunk: SdesChunk = { ssrc: readU32(p, o), items: [] };
    o += 4;
    for (;;) {
      if (o >= p.length) return null;
      const itemType = p[o]!;
      if (itemType === 0) {
        o = (o + 4) & ~3; // the null item, then zero padding to the next 32-bit boundary
        break;
      }
      if (o + 2 > p.length) return null;
      const len = p[o + 1]!;
      if (o + 2 + len > p.length) return null;
      chunk.items.push({ type: itemType, text: decodeText(p.subarray(o + 2, o + 2 + len)) });
      o += 2 + len;
    }
    chunks.push(chunk);
  }
  return { type: 'sdes', chunks };
}

export function serializeSourceDescription(sdes: SourceDescription): Buffer {
  checkCount(sdes.chunks.length, 'SDES chunks');
  const encoded = sdes.chunks.map((c) => ({
    ssrc: c.ssrc,
    items: c.items.map((it) => {
      const bytes = encodeText(it.text);
      if (bytes.length > 255) throw new RangeError('SDES item longer than 255 bytes');
      if (it.type < 1 || it.type > 255) throw new RangeError('SDES item type must be 1..255');
      return { type: it.type, bytes };
    }),
  }));
  let body = 0;
  for (const c of encoded) {
    let len = 4 + 1; // SSRC + null item
    for (const it of c.items) len += 2 + it.bytes.length;
    body += (len + 3) & ~3;
  }
  const buf = allocRtcp(encoded.length, RtcpPacketType.SDES, body);
  let o = 4;
  for (const c of encoded) {
    writeU32(buf, o, c.ssrc);
    o += 4;
    for (const it of c.items) {
      buf[o] = it.type;
      buf[o + 1] = it.bytes.length;
      buf.set(it.bytes, o + 2);
      o += 2 + it.bytes.length;
    }
    o = (o + 4) & ~3; // null item plus padding (already zero)
  }
  return buf;
}

export function parseGoodbye(p: Uint8Array): Goodbye | null {
  const count = p[0]! & 0x1f;
  if (4 + 4 * count > p.length) return null;
  const ssrcs: number[] = [];
  for (let i = 0; i < count; i++) ssrcs.push(readU32(p, 4 + 4 * i));
  const bye: Goodbye = { type: 'bye', ssrcs };
  const o = 4 + 4 * count;
  if (o < p.length) {
    const len = p[o]!;
    if (o + 1 + len > p.length) return null;
    bye.reason = decodeText(p.subarray(o + 1, o + 1 + len));
  }
  return bye;
}

export function serializeGoodbye(bye: Goodbye): Buffer {
  checkCount(bye.ssrcs.length, 'BYE sources');
  const reason = bye.reason !== undefined ? encodeText(bye.reason) : null;
  if (reason && reason.length > 255) throw new RangeError('BYE reason longer than 255 bytes');
  const body = 4 * bye.ssrcs.length + (reason ? 1 + reason.length : 0);
  const buf = allocRtcp(bye.ssrcs.length, RtcpPacketType.BYE, body);
  let o = 4;
  for (const s of bye.ssrcs) {
    writeU32(buf, o, s);
    o += 4;
  }
  if (reason) {
    buf[o] = reason.length;
    buf.set(reason, o + 1);
  }
  return buf;
}
