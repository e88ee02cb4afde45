import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseRtcp, serializeRtcp } from './rtcp.js';
import type { TransportWideFeedback, TwccPacketStatus } from './rtcp.js';
import { encodeTwccChunks } from './rtcp-twcc.js';

function hex(s: string): Uint8Array {
  return Uint8Array.from(Buffer.from(s.replace(/[\s|]/g, ''), 'hex'));
}

// 44 packet statuses from base seq 65530 (wrapping to 0 after 6):
//   [0..19]  received, small deltas            -> run-length chunk
//   [20..33] 0 1 1 0 0 0 0 0 0 0 0 0 0 1       -> one-bit status vector chunk
//   [34..40] 2 1 0 2 1 1 0 (2 = large/negative) -> two-bit status vector chunk
//   [41..43] not received                      -> run-length chunk
const GOLDEN = hex(`
  af cd 00 0e
  00 00 00 01 | 11 22 33 44
  ff fa | 00 2c | 12 34 56 | 07
  20 14 | 98 01 | e4 94 | 00 03
  00 04 04 04 04 04 04 04 04 04 04 04 04 04 04 04 04 04 04 ff
  01 02 10
  ff ff | 05 | 7f ff | 06 07
  00 02
`);
// af: V=2 P=1 FMT=15 | cd: PT=205 | length 14 words-1 = 60 bytes
// sender SSRC | media SSRC
// base seq 65530 | status count 44 | reference time 0x123456 x 64 ms | fb pkt count 7
// chunks: 0x2014 = run, symbol 1 (small), length 20
//         0x9801 = 1 0 | 01100000000001 (one-bit vector)
//         0xe494 = 1 1 | 10 01 00 10 01 01 00 (two-bit vector)
//         0x0003 = run, symbol 0 (not received), length 3
// deltas (x 250 us): 20 small: 0, 4 x18, 255 | 3 small: 1, 2, 16
//                    large -1 (-250 us) | small 5 | large 32767 | small 6, 7
// 58 bytes + 2 padding bytes (last one = 2, with the P bit)

function goldenPackets(): TwccPacketStatus[] {
  const deltasUnits: (number | null)[] = [
    0, ...Array<number>(18).fill(4), 255,
    null, 1, 2, null, null, null, null, null, null, null, null, null, null, 16,
    -1, 5, null, 32767, 6, 7, null,
    null, null, null,
  ];
  return deltasUnits.map((d, i) => {
    const seq = (65530 + i) & 0xffff;
    return d === null ? { seq, received: false } : { seq, received: true, deltaUs: d * 250 };
  });
}

const GOLDEN_FEEDBACK: TransportWideFeedback = {
  type: 'twcc',
  senderSsrc: 1,
  mediaSsrc: 0x11223344,
  baseSeq: 65530,
  packetStatusCount: 44,
  referenceTimeMs: 0x123456 * 64,
  fbPktCount: 7,
  packets: goldenPackets(),
};

test('TWCC golden bytes parse: run-length and one-/two-bit vectors, large and negative deltas', () => {
  const [fb] = parseRtcp(GOLDEN);
  assert.deepEqual(fb, GOLDEN_FEEDBACK);
  assert.ok(fb && fb.type === 'twcc');
  assert.equal(fb.packets[6]!.seq, 0, 'sequence numbers wrap');
  assert.equal(fb.packets[34]!.deltaUs, -250);
  assert.equal(fb.packets[37]!.deltaUs, 32767 * 250);
});

test('TWCC serialize reproduces the golden bytes', () => {
  assert.deepEqual(new Uint8Array(serializeRtcp([GOLDEN_FEEDBACK])), GOLDEN);
});

test('TWCC status vector with more slots than the status count ignores the extra slots', () => {
  const bytes = hex(`
    8f cd 00 06 | 00 00 00 01 | 00 00 00 02
    00 64 | 00 03 | 00 00 01 | 00
    d6 00 | 00 | 01 | 00 c8 | 00 00
  `);
  // V=2 FMT=15 PT=205 length 6 (28 bytes) | SSRCs | base 100, count 3, ref 64 ms, fb count 0
  // two-bit vector 0xd600 = 11 | 01 01 10 00 00 00 00: small, small, large, then 4 unused slots
  // deltas: 0, 1 (250 us), 0x00c8 = 200 (50000 us as a large delta) | two zero bytes of padding
  // (zero padding without the P bit, as some senders do)
  assert.deepEqual(parseRtcp(bytes), [
    {
      type: 'twcc',
      senderSsrc: 1,
      mediaSsrc: 2,
      baseSeq: 100,
      packetStatusCount: 3,
      referenceTimeMs: 64,
      fbPktCount: 0,
      packets: [
        { seq: 100, received: true, deltaUs: 0 },
        { seq: 101, received: true, deltaUs: 250 },
        { seq: 102, received: true, deltaUs: 50000 },
      ],
    },
  ]);
});

test('TWCC without room for the deltas parses as feedback without timestamps', () => {
  // fixed part + 4 chunks only: statuses but no receive deltas
  const noDeltas = GOLDEN.slice(0, 28);
  noDeltas[0] = 0x8f; // no padding bit
  noDeltas[3] = 28 / 4 - 1;
  const want: TransportWideFeedback = {
    ...GOLDEN_FEEDBACK,
    packets: GOLDEN_FEEDBACK.packets.map((p) => ({ seq: p.seq, received: p.received })),
  };
  assert.deepEqual(parseRtcp(noDeltas), [want]);
  // re-serialized without deltas (small/large no longer known, so the chunks may differ)
  const again = serializeRtcp([want]);
  assert.equal(again.length, 28); // 20 fixed + 3 chunks + 2 padding
  assert.deepEqual(parseRtcp(again), [want]);
});

test('TWCC with too few chunks or a reserved symbol is dropped, not thrown', () => {
  const fewChunks = GOLDEN.slice(0, 24); // only 2 of the 4 chunks
  fewChunks[0] = 0x8f;
  fewChunks[3] = 24 / 4 - 1;
  assert.deepEqual(parseRtcp(fewChunks), []);
  const reserved = hex('8f cd 00 05 | 00 00 00 01 | 00 00 00 02 | 00 00 00 01 00 00 00 00 | 60 01 00 00');
  // run chunk 0x6001: symbol 3 (reserved), length 1
  assert.deepEqual(parseRtcp(reserved), []);
});

test('TWCC chunk encoder picks run-length, one-bit and two-bit chunks', () => {
  assert.deepEqual(encodeTwccChunks(new Uint8Array(20).fill(1)), [0x2014]);
  assert.deepEqual(encodeTwccChunks(new Uint8Array(9000).fill(0)), [0x1fff, 9000 - 8191]);
  assert.deepEqual(encodeTwccChunks(Uint8Array.from([1, 0, 1])), [0xa800]); // 10 | 101 00000000000: one-bit, tail unused
  assert.deepEqual(encodeTwccChunks(Uint8Array.from([2, 0])), [0xc000 | (2 << 12)]);
  assert.deepEqual(encodeTwccChunks(new Uint8Array(0)), []);
});

test('TWCC random feedback round-trips', () => {
  let seed = 12345;
  const rand = (): number => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed / 0x80000000;
  };
  for (let iter = 0; iter < 200; iter++) {
    const count = 1 + Math.floor(rand() * 300);
    const baseSeq = Math.floor(rand() * 65536);
    const packets: TwccPacketStatus[] = [];
    const mode = rand();
    for (let i = 0; i < count; i++) {
      const seq = (baseSeq + i) & 0xffff;
      const r = rand();
      // mode changes the mix so long runs appear as well as mixed vectors
      const lossRate = mode < 0.3 ? 0 : mode < 0.6 ? 0.5 : 0.1;
      if (r < lossRate) packets.push({ seq, received: false });
      else {
        const units = rand() < 0.8 ? Math.floor(rand() * 256) : Math.floor(rand() * 65536) - 32768;
        packets.push({ seq, received: true, deltaUs: units * 250 });
      }
    }
    const fb: TransportWideFeedback = {
      type: 'twcc',
      senderSsrc: 5,
      mediaSsrc: 6,
      baseSeq,
      packetStatusCount: count,
      referenceTimeMs: Math.floor(rand() * 0xffffff) * 64,
      fbPktCount: iter & 0xff,
      packets,
    };
    const bytes = serializeRtcp([fb]);
    assert.equal(bytes.length % 4, 0);
    assert.deepEqual(parseRtcp(bytes), [fb]);
  }
});

test('TWCC serialize rejects an empty status list and deltas that do not fit 16 bits', () => {
  assert.throws(() => serializeRtcp([{ ...GOLDEN_FEEDBACK, packets: [] }]), RangeError);
  const fb: TransportWideFeedback = {
    ...GOLDEN_FEEDBACK,
    packets: [{ seq: 65530, received: true, deltaUs: 32768 * 250 }],
  };
  assert.throws(() => serializeRtcp([fb]), RangeError);
});
