// Test support for the RED tests (red.test.ts, red-encoder.test.ts): byte runs, RTP fixed headers and a parsed RED
// payload's blocks as plain values.
import type { RedPayload } from './red.js';

/** `length` bytes counting up from `first` (wrapping at 256). */
export function fill(length: number, first: number): number[] {
  return Array.from({ length }, (_, i) => (first + i) & 0xff);
}

/** Blocks of a parsed payload as [payload type, timestamp offset, offset - base, length]. */
export function blocksOf(red: RedPayload, base = 0): Array<[number, number, number, number]> {
  const blocks: Array<[number, number, number, number]> = [];
  for (let i = 0; i < red.blockCount; i++) {
    blocks.push([red.payloadTypes[i]!, red.timestampOffsetsTicks[i]!, red.blockOffsets[i]! - base, red.blockLengthsBytes[i]!]);
  }
  return blocks;
}

/** A 12-byte RTP fixed header (RFC 3550 §5.1) with no CSRC, extension or padding; marker 0, SSRC 0xcafebabe. */
export function rtpHeader(pt: number, seq: number, ts: number): number[] {
  return [
    0x80, // V=2 P=0 X=0 CC=0
    pt & 0x7f, // M=0 PT
    (seq >>> 8) & 0xff, seq & 0xff, // sequence number
    (ts >>> 24) & 0xff, (ts >>> 16) & 0xff, (ts >>> 8) & 0xff, ts & 0xff, // timestamp
    0xca, 0xfe, 0xba, 0xbe, // SSRC
  ];
}
