// RTCP feedback messages: Generic NACK and PLI (RFC 4585 §6.2.1, §6.3.1), FIR (RFC 5104 §4.3.1),
// REMB (draft-alvestrand-rmcat-remb-03 §2.2). https://www.rfc-editor.org/rfc/rfc4585#section-6.1
import { readU16, readU32, writeU16, writeU32 } from './bytes.js';
import { allocRtcp } from './rtcp-common.js';
import { PsfbFmt, RtcpPacketType, RtpfbFmt } from './rtcp-types.js';
import type {
  FirEntry,
  FullIntraRequest,
  GenericNack,
  PictureLossIndication,
  Remb,
} from './rtcp-types.js';
import { seqDelta } from './seq.js';

// Common feedback layout: header(4) | sender SSRC(4) | media SSRC(4) | FCI...
const FB_HEADER_LENGTH = 12;

/** Expands NACK FCI pairs (PID, BLP): PID is lost, and PID+i+1 for every set bit i of BLP. */
export function parseGenericNack(p: Uint8Array): GenericNack | null {
  if (p.length < FB_HEADER_LENGTH) return null;
  const lostSeqs: number[] = [];
  for (let o = FB_HEADER_LENGTH; o + 4 <= p.length; o += 4) {
    const pid = readU16(p, o);
    const blp = readU16(p, o + 2);
    lostSeqs.push(pid);
    for (let i = 0; i < 16; i++) {
      if (blp & (1 << i)) lostSeqs.push((pid + i + 1) & 0xffff);
    }
  }
  return { type: 'nack', senderSsrc: readU32(p, 4), mediaSsrc: readU32(p, 8), lostSeqs };
}

/** Packs lost sequence numbers (wrap-aware ascending) into (PID, BLP) pairs. */
export function compressNackPairs(lostSeqs: number[]): { pid: number; blp: number }[] {
  const pairs: { pid: number; blp: number }[] = [];
  let current: { pid: number; blp: number } | undefined;
  for (const raw of lostSeqs) {
    const seq = raw & 0xffff;
    if (current) {
      const d = seqDelta(seq, current.pid);
      if (d === 0) continue;
      if (d >= 1 && d <= 16) {
        current.blp |= 1 << (d - 1);
        continue;
      }
    }
    current = { pid: seq, blp: 0 };
    pairs.push(current);
  }
  return pairs;
}

export function serializeGenericNack(n: GenericNack): Buffer {
  const pairs = compressNackPairs(n.lostSeqs);
  const buf = allocRtcp(RtpfbFmt.NACK, RtcpPacketType.RTPFB, 8 + 4 * pairs.length);
  writeU32(buf, 4, n.senderSsrc);
  writeU32(buf, 8, n.mediaSsrc);
  let o = FB_HEADER_LENGTH;
  for (const pair of pairs) {
    writeU16(buf, o, pair.pid);
    writeU16(buf, o + 2, pair.blp);
    o += 4;
  }
  return buf;
}

export function parsePictureLossIndication(p: Uint8Array): PictureLossIndication | null {
  if (p.length < FB_HEADER_LENGTH) return null;
  return { type: 'pli', senderSsrc: readU32(p, 4), mediaSsrc: readU32(p, 8) };
}

export function serializePictureLossIndication(pli: PictureLossIndication): Buffer {
  const buf = allocRtcp(PsfbFmt.PLI, RtcpPacketType.PSFB, 8);
  writeU32(buf, 4, pli.senderSsrc);
  writeU32(buf, 8, pli.mediaSsrc);
  return buf;
}

/** FIR FCI entries: SSRC(4) | seq nr(1) | reserved(3). The media SSRC field is unused (0). */
export function parseFullIntraRequest(p: Uint8Array): FullIntraRequest | null {
  if (p.length < FB_HEADER_LENGTH) return null;
  const entries: FirEntry[] = [];
  for (let o = FB_HEADER_LENGTH; o + 8 <= p.length; o += 8) {
    entries.push({ ssrc: readU32(p, o), seqNr: p[o + 4]! });
  }
  return { type: 'fir', senderSsrc: readU32(p, 4), entries };
}

export function serializeFullIntraRequest(fir: FullIntraRequest): Buffer {
  const buf = allocRtcp(PsfbFmt.FIR, RtcpPacketType.PSFB, 8 + 8 * fir.entries.length);
  writeU32(buf, 4, fir.senderSsrc);
  let o = FB_HEADER_LENGTH;
  for (const e of fir.entries) {
    writeU32(buf, o, e.ssrc);
    buf[o + 4] = e.seqNr & 0xff;
    o += 8;
  }
  return buf;
}

const REMB_ID = 0x52454d42; // 'REMB'

/** True if this payload-specific AFB packet (FMT 15) carries the 'REMB' identifier. */
export function isRemb(p: Uint8Array): boolean {
  return p.length >= 16 && readU32(p, 12) === REMB_ID;
}

/** REMB: ... | 'REMB' | num SSRC(8) | BR exp(6) | BR mantissa(18) | SSRC feedback list. */
export function parseRemb(p: Uint8Array): Remb | null {
  if (p.length < 20 || !isRemb(p)) return null;
  const numSsrc = p[16]!;
  const exp = p[17]! >>> 2;
  const mantissa = ((p[17]! & 0x03) << 16) | readU16(p, 18);
  if (20 + 4 * numSsrc > p.length) return null;
  const ssrcs: number[] = [];
  for (let i = 0; i < numSsrc; i++) ssrcs.push(readU32(p, 20 + 4 * i));
  return { type: 'remb', senderSsrc: readU32(p, 4), bitrateBps: mantissa * 2 ** exp, ssrcs };
}

export function serializeRemb(r: Remb): Buffer {
  if (r.ssrcs.length > 255) throw new RangeError('REMB carries at most 255 SSRCs');
  let mantissa = Math.max(0, Math.floor(r.bitrateBps));
  let exp = 0;
  while (mantissa > 0x3ffff && exp < 63) {
    mantissa = Math.floor(mantissa / 2);
    exp++;
  }
  const buf = allocRtcp(PsfbFmt.AFB, RtcpPacketType.PSFB, 16 + 4 * r.ssrcs.length);
  writeU32(buf, 4, r.senderSsrc);
  // media SSRC (bytes 8..11) is 0 for REMB
  writeU32(buf, 12, REMB_ID);
  buf[16] = r.ssrcs.length;
  buf[17] = (exp << 2) | (mantissa >>> 16);
  writeU16(buf, 18, mantissa & 0xffff);
  let o = 20;
  for (const s of r.ssrcs) {
    writeU32(buf, o, s);
    o += 4;
  }
  return buf;
}
