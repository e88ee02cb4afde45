// Transport-wide congestion control feedback (RTPFB FMT 15): packet status chunks and receive deltas.
// https://datatracker.ietf.org/doc/html/draft-holmer-rmcat-transport-wide-cc-extensions-01#section-3.1
import { readU16, readU24, readU32, writeU16, writeU24, writeU32 } from './bytes.js';
import { allocRtcp } from './rtcp-common.js';
import { RtcpPacketType, RtpfbFmt } from './rtcp-types.js';
import type { TransportWideFeedback, TwccPacketStatus } from './rtcp-types.js';

// Fixed part: header(4) | sender SSRC(4) | media SSRC(4) | base seq(2) | status count(2)
//             | reference time(3, units of 64 ms) | fb pkt count(1)
const TWCC_FIXED_LENGTH = 20;
export const TWCC_DELTA_UNIT_US = 250;
export const TWCC_REFERENCE_UNIT_MS = 64;

/** Packet status symbols (§3.1.1). */
export const TwccSymbol = { NOT_RECEIVED: 0, SMALL_DELTA: 1, LARGE_DELTA: 2, RESERVED: 3 } as const;

const MAX_RUN_LENGTH = 0x1fff;

export function parseTransportWideFeedback(p: Uint8Array): TransportWideFeedback | null {
  if (p.length < TWCC_FIXED_LENGTH) return null;
  const baseSeq = readU16(p, 12);
  const count = readU16(p, 14);
  const symbols = new Uint8Array(count);
  let n = 0;
  let o = TWCC_FIXED_LENGTH;
  while (n < count) {
    if (o + 2 > p.length) return null;
    const chunk = readU16(p, o);
    o += 2;
    if ((chunk & 0x8000) === 0) {
      // run length chunk: 0 | symbol(2) | run length(13)
      const symbol = (chunk >>> 13) & 0x03;
      const end = Math.min(count, n + (chunk & MAX_RUN_LENGTH));
      while (n < end) symbols[n++] = symbol;
    } else if ((chunk & 0x4000) === 0) {
      // status vector chunk, 14 one-bit symbols
      for (let i = 13; i >= 0 && n < count; i--) symbols[n++] = (chunk >>> i) & 0x01;
    } else {
      // status vector chunk, 7 two-bit symbols
      for (let i = 6; i >= 0 && n < count; i--) symbols[n++] = (chunk >>> (2 * i)) & 0x03;
    }
  }
  let deltaBytes = 0;
  for (let i = 0; i < count; i++) deltaBytes += symbols[i]!;
  // Like libwebrtc, accept feedback without receive deltas (too few bytes left for them):
  // received packets then carry no deltaUs.
  const hasDeltas = o + deltaBytes <= p.length;
  const packets: TwccPacketStatus[] = [];
  for (let i = 0; i < count; i++) {
    const seq = (baseSeq + i) & 0xffff;
    const symbol = symbols[i]!;
    if (symbol === TwccSymbol.RESERVED) return null;
    if (symbol === TwccSymbol.NOT_RECEIVED) {
      packets.push({ seq, received: false });
    } else if (!hasDeltas) {
      packets.push({ seq, received: true });
    } else if (symbol === TwccSymbol.SMALL_DELTA) {
      packets.push({ seq, received: true, deltaUs: p[o]! * TWCC_DELTA_UNIT_US });
      o += 1;
    } else {
      const delta = (readU16(p, o) << 16) >> 16; // signed 16-bit
      packets.push({ seq, received: true, deltaUs: delta * TWCC_DELTA_UNIT_US });
      o += 2;
    }
  }
  return {
    type: 'twcc',
    senderSsrc: readU32(p, 4),
    mediaSsrc: readU32(p, 8),
    baseSeq,
    packetStatusCount: count,
    referenceTimeMs: readU24(p, 16) * TWCC_REFERENCE_UNIT_MS,
    fbPktCount: p[19]!,
    packets,
  };
}

function symbolFor(pkt: TwccPacketStatus): number {
  if (!pkt.received) return TwccSymbol.NOT_RECEIVED;
  const units = Math.round((pkt.deltaUs ?? 0) / TWCC_DELTA_UNIT_US);
  if (units >= 0 && units <= 0xff) return TwccSymbol.SMALL_DELTA;
  if (units >= -0x8000 && units <= 0x7fff) return TwccSymbol.LARGE_DELTA;
  throw new RangeError(`TWCC delta ${pkt.deltaUs}us does not fit 16 bits; start a new feedback`);
}

/**
 * Greedy chunk encoding: a run-length chunk for runs of 14+ equal symbols (or the tail), else a
 * one-bit status vector when the next 14 symbols need no large delta, else a two-bit vector of 7.
 */
export function encodeTwccChunks(symbols: Uint8Array): number[] {
  const chunks: number[] = [];
  const n = symbols.length;
  let i = 0;
  while (i < n) {
    const first = symbols[i]!;
    let run = 1;
    while (i + run < n && run < MAX_RUN_LENGTH && symbols[i + run] === first) run++;
    if (run >= 14 || i + run === n) {
      chunks.push((first << 13) | run);
      i += run;
      continue;
    }
    const take14 = Math.min(14, n - i);
    let fitsOneBit = true;
    for (let k = 0; k < take14; k++) if (symbols[i + k]! > 1) fitsOneBit = false;
    if (fitsOneBit) {
      let chunk = 0x8000;
      for (let k = 0; k < take14; k++) chunk |= symbols[i + k]! << (13 - k);
      chunks.push(chunk);
      i += take14;
    } else {
      const take7 = Math.min(7, n - i);
      let chunk = 0xc000;
      for (let k = 0; k < take7; k++) chunk |= symbols[i + k]! << (2 * (6 - k));
      chunks.push(chunk);
      i += take7;
    }
  }
  return chunks;
}

/**
 * Serializes TWCC feedback from `packets` (taken in order as baseSeq, baseSeq+1, ...; their `seq`
 * fields and `packetStatusCount` are not consulted). Deltas are rounded to 250 µs; when no received
 * packet has a deltaUs, the deltas are left out (libwebrtc's "no timestamps" form). Pads to 32 bits
 * with the RTCP P bit, as libwebrtc does. Throws RangeError on an empty packet list (libwebrtc drops
 * those) or a delta that does not fit 16 bits (start a new feedback packet instead).
 */
export function serializeTransportWideFeedback(fb: TransportWideFeedback): Buffer {
  const count = fb.packets.length;
  if (count === 0) throw new RangeError('TWCC feedback needs at least one packet status');
  if (count > 0xffff) throw new RangeError('too many packet statuses');
  let hasDeltas = false;
  for (const pkt of fb.packets) if (pkt.received && pkt.deltaUs !== undefined) hasDeltas = true;
  const symbols = new Uint8Array(count);
  let deltaBytes = 0;
  for (let i = 0; i < count; i++) {
    const symbol = symbolFor(fb.packets[i]!);
    symbols[i] = symbol;
    deltaBytes += symbol; // NOT_RECEIVED 0 bytes, SMALL 1, LARGE 2
  }
  if (!hasDeltas) deltaBytes = 0;
  const chunks = encodeTwccChunks(symbols);
  const body = TWCC_FIXED_LENGTH - 4 + 2 * chunks.length + deltaBytes;
  const buf = allocRtcp(RtpfbFmt.TWCC, RtcpPacketType.RTPFB, body, true);
  writeU32(buf, 4, fb.senderSsrc);
  writeU32(buf, 8, fb.mediaSsrc);
  writeU16(buf, 12, fb.baseSeq);
  writeU16(buf, 14, count);
  writeU24(buf, 16, Math.floor(fb.referenceTimeMs / TWCC_REFERENCE_UNIT_MS));
  buf[19] = fb.fbPktCount & 0xff;
  let o = TWCC_FIXED_LENGTH;
  for (const c of chunks) {
    writeU16(buf, o, c);
    o += 2;
  }
  if (!hasDeltas) return buf;
  for (let i = 0; i < count; i++) {
    const symbol = symbols[i]!;
    if (symbol === TwccSymbol.NOT_RECEIVED) continue;
    const units = Math.round((fb.packets[i]!.deltaUs ?? 0) / TWCC_DELTA_UNIT_US);
    if (symbol === TwccSymbol.SMALL_DELTA) {
      buf[o++] = units;
    } else {
      writeU16(buf, o, units & 0xffff);
      o += 2;
    }
  }
  return buf;
}
