import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  compressNackPairs,
  ntpFromWallMs,
  ntpMiddle32,
  parseRtcp,
  serializeRtcp,
  wallMsFromNtp,
} from './rtcp.js';
import type { RtcpPacket } from './rtcp.js';

/** Hex string (spaces and | ignored) to bytes. */
function hex(s: string): Uint8Array {
  return Uint8Array.from(Buffer.from(s.replace(/[\s|]/g, ''), 'hex'));
}

/** Golden bytes must parse to `pkt` and `pkt` must serialize to exactly the golden bytes. */
function golden(bytes: Uint8Array, pkt: RtcpPacket): void {
  assert.deepEqual(parseRtcp(bytes), [pkt]);
  assert.deepEqual(new Uint8Array(serializeRtcp([pkt])), bytes);
}

test('SR golden bytes', () => {
  golden(
    hex(`
      81 c8 00 0c | 11 22 33 44
      e8 d4 a5 10 80 00 00 00
      00 01 5f 90 | 00 00 00 64 | 00 00 27 10
      55 66 77 88 | 40 ff ff fe | 00 01 ff ff | 00 00 00 20 | d4 a5 10 80 | 00 01 00 00
    `),
    // V=2 RC=1 PT=200 length=12 words-1 (52 bytes) | SSRC
    // NTP timestamp | RTP timestamp 90000 | packet count 100 | octet count 10000
    // report block: SSRC | fraction 64/256, cumulative lost -2 (24-bit two's complement)
    //   | extended highest seq (1 cycle, 65535) | jitter 32 | LSR | DLSR 1 s
    {
      type: 'sr',
      ssrc: 0x11223344,
      ntpTimestamp: 0xe8d4a51080000000n,
      rtpTimestamp: 90000,
      packetCount: 100,
      octetCount: 10000,
      reports: [
        {
          ssrc: 0x55667788,
          fractionLost: 64,
          cumulativeLost: -2,
          highestSeq: 0x1ffff,
          jitter: 32,
          lastSr: 0xd4a51080,
          delaySinceLastSr: 0x10000,
        },
      ],
    },
  );
});

test('RR golden bytes, with and without report blocks', () => {
  golden(
    hex(`
      81 c9 00 07 | 11 22 33 44
      55 66 77 88 | 00 00 00 05 | 00 00 12 34 | 00 00 00 00 | 00 00 00 00 | 00 00 00 00
    `),
    // V=2 RC=1 PT=201 length 7 (32 bytes) | SSRC | block: SSRC, fraction 0, lost 5, seq 0x1234, rest 0
    {
      type: 'rr',
      ssrc: 0x11223344,
      reports: [
        { ssrc: 0x55667788, fractionLost: 0, cumulativeLost: 5, highestSeq: 0x1234, jitter: 0, lastSr: 0, delaySinceLastSr: 0 },
      ],
    },
  );
  // V=2 RC=0 PT=201 length 1 | SSRC
  golden(hex('80 c9 00 01 | 00 00 00 01'), { type: 'rr', ssrc: 1, reports: [] });
});

test('SDES golden bytes', () => {
  golden(
    hex(`
      82 ca 00 06
      11 22 33 44 | 01 04 61 62 63 64 | 00 00
      55 66 77 88 | 01 01 78 | 06 02 c3 a9 | 00
    `),
    // V=2 SC=2 PT=202 length 6 (28 bytes)
    // chunk 1: SSRC | CNAME(1) len 4 "abcd" | null item + 1 pad byte (chunk = 12 bytes)
    // chunk 2: SSRC | CNAME len 1 "x" | TOOL(6) len 2 "é" (UTF-8 c3 a9) | null, no pad (chunk = 12 bytes)
    {
      type: 'sdes',
      chunks: [
        { ssrc: 0x11223344, items: [{ type: 1, text: 'abcd' }] },
        { ssrc: 0x55667788, items: [{ type: 1, text: 'x' }, { type: 6, text: 'é' }] },
      ],
    },
  );
});

test('BYE golden bytes, with and without a reason', () => {
  // V=2 SC=1 PT=203 length 2 | SSRC | reason length 3 "bye"
  golden(hex('81 cb 00 02 | 11 22 33 44 | 03 62 79 65'), { type: 'bye', ssrcs: [0x11223344], reason: 'bye' });
  // V=2 SC=2 PT=203 length 2 | SSRC | SSRC
  golden(hex('82 cb 00 02 | 00 00 00 01 | 00 00 00 02'), { type: 'bye', ssrcs: [1, 2] });
  // reason "ab": 1 + 2 bytes padded with one zero byte to the word boundary
  golden(hex('81 cb 00 02 | 00 00 00 01 | 02 61 62 00'), { type: 'bye', ssrcs: [1], reason: 'ab' });
});

test('NACK golden bytes: PID+BLP pairs with gaps over 16 and a wrap', () => {
  golden(
    hex(`
      81 cd 00 06 | 00 00 00 01 | 11 22 33 44
      00 64 80 01 | 00 75 80 00 | ff ff 00 01 | 00 10 00 01
    `),
    // V=2 FMT=1 PT=205 length 6 | sender SSRC | media SSRC
    // PID 100 BLP bit0 (101) + bit15 (116) | PID 117 bit15 (133) | PID 65535 bit0 (0) | PID 16 bit0 (17)
    {
      type: 'nack',
      senderSsrc: 1,
      mediaSsrc: 0x11223344,
      lostSeqs: [100, 101, 116, 117, 133, 65535, 0, 16, 17],
    },
  );
});

test('compressNackPairs: 17 consecutive losses fit one pair, 18 need two; duplicates skipped', () => {
  const seqs = Array.from({ length: 18 }, (_, i) => 1000 + i);
  assert.deepEqual(compressNackPairs(seqs.slice(0, 17)), [{ pid: 1000, blp: 0xffff }]);
  assert.deepEqual(compressNackPairs(seqs), [
    { pid: 1000, blp: 0xffff },
    { pid: 1017, blp: 0 },
  ]);
  assert.deepEqual(compressNackPairs([5, 5, 6]), [{ pid: 5, blp: 1 }]);
  assert.deepEqual(compressNackPairs([]), []);
});

test('NACK with many spread losses round-trips', () => {
  const lostSeqs: number[] = [];
  for (let s = 65000; s < 65000 + 1500; s += 7) lostSeqs.push(s & 0xffff);
  const out = parseRtcp(serializeRtcp([{ type: 'nack', senderSsrc: 9, mediaSsrc: 10, lostSeqs }]));
  assert.deepEqual(out, [{ type: 'nack', senderSsrc: 9, mediaSsrc: 10, lostSeqs }]);
});

test('PLI golden bytes', () => {
  // V=2 FMT=1 PT=206 length 2 | sender SSRC | media SSRC
  golden(hex('81 ce 00 02 | 00 00 00 01 | 11 22 33 44'), { type: 'pli', senderSsrc: 1, mediaSsrc: 0x11223344 });
});

test('FIR golden bytes', () => {
  golden(
    hex(`
      84 ce 00 06 | 00 00 00 01 | 00 00 00 00
      11 22 33 44 | 05 00 00 00 | 55 66 77 88 | ff 00 00 00
    `),
    // V=2 FMT=4 PT=206 length 6 | sender SSRC | media SSRC 0 (unused by FIR)
    // FCI: SSRC | seq nr 5 + 3 reserved | SSRC | seq nr 255 + reserved
    {
      type: 'fir',
      senderSsrc: 1,
      entries: [
        { ssrc: 0x11223344, seqNr: 5 },
        { ssrc: 0x55667788, seqNr: 255 },
      ],
    },
  );
});

test('REMB golden bytes', () => {
  golden(
    hex(`
      8f ce 00 06 | 00 00 00 01 | 00 00 00 00
      52 45 4d 42 | 02 0b d0 90 | 11 22 33 44 | 55 66 77 88
    `),
    // V=2 FMT=15 PT=206 length 6 | sender SSRC | media SSRC 0
    // 'REMB' | num SSRC 2 | BR exp 2 (0x0b >> 2), mantissa 0x3d090 = 250000 -> 1 Mbps | SSRCs
    { type: 'remb', senderSsrc: 1, bitrateBps: 1_000_000, ssrcs: [0x11223344, 0x55667788] },
  );
});

test('REMB keeps 18 bits of precision for large bitrates', () => {
  const [p] = parseRtcp(serializeRtcp([{ type: 'remb', senderSsrc: 1, bitrateBps: 5_123_456_789, ssrcs: [] }]));
  assert.ok(p && p.type === 'remb');
  assert.ok(p.bitrateBps <= 5_123_456_789 && p.bitrateBps > 5_123_456_789 * (1 - 2 ** -17));
});

test('unknown packets (APP, non-REMB AFB) are kept byte-exact', () => {
  const app = hex('80 cc 00 02 | 00 00 00 01 | 6e 61 6d 65'); // APP, SSRC, name "name"
  const afb = hex('8f ce 00 03 | 00 00 00 01 | 00 00 00 00 | 41 42 43 44'); // AFB "ABCD"
  const out = parseRtcp(new Uint8Array([...app, ...afb]));
  assert.deepEqual(out, [
    { type: 'unknown', packetType: 204, fmt: 0, raw: app },
    { type: 'unknown', packetType: 206, fmt: 15, raw: afb },
  ]);
  assert.deepEqual(new Uint8Array(serializeRtcp(out)), new Uint8Array([...app, ...afb]));
});

test('compound round trip of every type', () => {
  const packets: RtcpPacket[] = [
    {
      type: 'sr',
      ssrc: 0xffffffff,
      ntpTimestamp: ntpFromWallMs(1_700_000_000_123),
      rtpTimestamp: 0xfffffff0,
      packetCount: 0xffffffff,
      octetCount: 1,
      reports: Array.from({ length: 31 }, (_, i) => ({
        ssrc: i,
        fractionLost: 255,
        cumulativeLost: i % 2 ? -8388608 : 8388607,
        highestSeq: 0xffffffff,
        jitter: i,
        lastSr: 0x80000000,
        delaySinceLastSr: 7,
      })),
    },
    { type: 'rr', ssrc: 3, reports: [] },
    { type: 'sdes', chunks: [{ ssrc: 3, items: [{ type: 1, text: 'cname-1234567' }] }] },
    { type: 'bye', ssrcs: [], reason: 'gone' },
    { type: 'nack', senderSsrc: 1, mediaSsrc: 2, lostSeqs: [65535, 0, 1] },
    { type: 'pli', senderSsrc: 1, mediaSsrc: 2 },
    { type: 'fir', senderSsrc: 1, entries: [] },
    { type: 'remb', senderSsrc: 1, bitrateBps: 300_000, ssrcs: [2] },
    {
      type: 'twcc',
      senderSsrc: 1,
      mediaSsrc: 2,
      baseSeq: 10,
      packetStatusCount: 2,
      referenceTimeMs: 640,
      fbPktCount: 3,
      packets: [
        { seq: 10, received: true, deltaUs: 1000 },
        { seq: 11, received: false },
      ],
    },
  ];
  const bytes = serializeRtcp(packets);
  assert.equal(bytes.length % 4, 0);
  assert.deepEqual(parseRtcp(bytes), packets);
});

test('RTCP padding (P bit) is stripped before parsing', () => {
  // RR with P=1: length 3 (16 bytes) = header + SSRC + 8 padding bytes whose last byte says 8
  const rr = hex('a0 c9 00 03 | 00 00 00 07 | 00 00 00 00 | 00 00 00 08');
  assert.deepEqual(parseRtcp(rr), [{ type: 'rr', ssrc: 7, reports: [] }]);
  // a padding count larger than the packet stops parsing
  const bad = hex('a0 c9 00 01 | 00 00 00 09');
  assert.deepEqual(parseRtcp(bad), []);
});

test('a bad header stops the compound; a malformed body skips only that packet', () => {
  const pli = hex('81 ce 00 02 | 00 00 00 01 | 00 00 00 02');
  // SR claiming 1 report block but only the sender info: malformed body, skipped
  const shortSr = hex('81 c8 00 06 | 00 00 00 01 | 00 00 00 00 00 00 00 00 | 00 00 00 00 | 00 00 00 00 | 00 00 00 00');
  assert.deepEqual(parseRtcp(new Uint8Array([...shortSr, ...pli])), [
    { type: 'pli', senderSsrc: 1, mediaSsrc: 2 },
  ]);
  // length running past the end: stop, keep what came before
  const truncated = hex('81 ce 00 05 | 00 00 00 01');
  assert.deepEqual(parseRtcp(new Uint8Array([...pli, ...truncated])), [
    { type: 'pli', senderSsrc: 1, mediaSsrc: 2 },
  ]);
  assert.deepEqual(parseRtcp(new Uint8Array(0)), []);
  assert.deepEqual(parseRtcp(hex('00 00 00 00')), []);
});

test('NTP conversion', () => {
  assert.equal(ntpFromWallMs(0), 2208988800n << 32n);
  assert.equal(ntpFromWallMs(1500), (2208988801n << 32n) | 0x80000000n);
  assert.equal(wallMsFromNtp((2208988801n << 32n) | 0x80000000n), 1500);
  const ms = 1_700_000_000_123.5;
  assert.ok(Math.abs(wallMsFromNtp(ntpFromWallMs(ms)) - ms) < 0.001);
  assert.equal(ntpMiddle32(0x0000_1234_5678_0000n), 0x12345678);
  assert.equal(ntpMiddle32(0xe8d4a51080000000n), 0xa5108000);
});
