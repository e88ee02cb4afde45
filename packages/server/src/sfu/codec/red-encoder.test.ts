// RED (RFC 2198) encoding: golden packets, DTX gaps, size limits, round trips through parse/unwrap, seeded fuzz.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRtpHeader, parseRtpHeader, serializeRtpPacket } from '@atrium/webrtc/rtp/index.js';
import { seededRandom } from '@atrium/webrtc/testing/seeded-random.js';
import { readOnlyInside, readTracked } from '@atrium/webrtc/testing/read-tracked.js';
import { RED_MAX_BLOCKS, createRedPayload, parseRedPayload, unwrapRedPacket } from './red.js';
import { blocksOf, fill, rtpHeader } from './red-test-support.js';
import { RedEncoder } from './red-encoder.js';

const OPUS_PT = 111;

// ---------------------------------------------------------------------------------------------------------------
// Encoding (golden bytes: RFC 2198 §3 block headers, oldest redundant block first, primary last)
// ---------------------------------------------------------------------------------------------------------------

function opusPacket(seq: number, ts: number, payload: number[]): Uint8Array {
  return Uint8Array.from([...rtpHeader(OPUS_PT, seq, ts), ...payload]);
}

function encodeBytes(enc: RedEncoder, packet: Uint8Array, out = new Uint8Array(1500)): number[] {
  const n = enc.encode(packet, 12, packet.length - 12, out);
  return n < 0 ? [] : [...out.subarray(0, n)];
}

test('encode: golden packets as the history fills up (redundancy 2)', () => {
  const enc = new RedEncoder({ opusPayloadType: OPUS_PT });
  assert.deepEqual(encodeBytes(enc, opusPacket(1000, 48000, [0x11, 0x12])), [
    ...rtpHeader(OPUS_PT, 1000, 48000), // header unchanged; the caller sets PT 63
    0x6f, // F=0 PT=111: nothing to repeat yet
    0x11, 0x12,
  ]);
  assert.deepEqual(encodeBytes(enc, opusPacket(1001, 48960, [0x21, 0x22, 0x23])), [
    ...rtpHeader(OPUS_PT, 1001, 48960),
    0xef, 0x0f, 0x00, 0x02, // F=1 PT=111, offset 960, length 2
    0x6f, // primary header
    0x11, 0x12, // seq 1000 again
    0x21, 0x22, 0x23,
  ]);
  assert.deepEqual(encodeBytes(enc, opusPacket(1002, 49920, [0x31])), [
    ...rtpHeader(OPUS_PT, 1002, 49920),
    0xef, 0x1e, 0x00, 0x02, // offset 1920, length 2 (seq 1000)
    0xef, 0x0f, 0x00, 0x03, // offset 960, length 3 (seq 1001)
    0x6f,
    0x11, 0x12, 0x21, 0x22, 0x23, 0x31,
  ]);
  assert.deepEqual(encodeBytes(enc, opusPacket(1003, 50880, [0x41, 0x42])), [
    ...rtpHeader(OPUS_PT, 1003, 50880),
    0xef, 0x1e, 0x00, 0x03, // seq 1001
    0xef, 0x0f, 0x00, 0x01, // seq 1002
    0x6f,
    0x21, 0x22, 0x23, 0x31, 0x41, 0x42,
  ]);
  enc.reset();
  assert.deepEqual(encodeBytes(enc, opusPacket(1004, 51840, [0x51])), [...rtpHeader(OPUS_PT, 1004, 51840), 0x6f, 0x51]);
});

test('encode: input padding is not copied and the P bit is cleared', () => {
  const enc = new RedEncoder({ opusPayloadType: OPUS_PT, redundancy: 1 });
  const packet = serializeRtpPacket({ payloadType: OPUS_PT, sequenceNumber: 7, timestamp: 960, ssrc: 1, payload: Uint8Array.from([0x01, 0x02]), paddingLength: 4 });
  const h = createRtpHeader();
  assert.equal(parseRtpHeader(packet, h), true);
  const out = new Uint8Array(100);
  const n = enc.encode(packet, h.payloadOffset, h.payloadLength, out);
  assert.equal(n, 12 + 1 + 2);
  assert.equal(out[0], 0x80);
  assert.deepEqual([...out.subarray(12, n)], [0x6f, 0x01, 0x02]);
});

// DTX-like gaps: [timestamp gap before the newest packet, blocks expected in it (redundancy 2)].
const gapCases: Array<[number, number]> = [
  [960, 3], // regular 20 ms: both earlier frames (offsets 960 + 960 and 960)
  [16383 - 960, 3], // oldest offset exactly 16383: still fits 14 bits
  [16384 - 960, 2], // oldest offset 16384: omitted, the newer one kept
  [16383, 2], // newest offset 16383 kept, the older one (17343) omitted
  [16384, 1], // the newest redundant offset is already 2^14: primary only
  [48000 * 4, 1], // 4 s of silence
];

for (const [gapTicks, expectedBlocks] of gapCases) {
  test(`encode: timestamp gap of ${gapTicks} ticks -> ${expectedBlocks} block(s)`, () => {
    const enc = new RedEncoder({ opusPayloadType: OPUS_PT });
    encodeBytes(enc, opusPacket(10, 0, [1, 2]));
    encodeBytes(enc, opusPacket(11, 960, [3]));
    const bytes = Uint8Array.from(encodeBytes(enc, opusPacket(12, 960 + gapTicks, [4, 5, 6])));
    const red = createRedPayload();
    assert.equal(parseRedPayload(bytes, 12, bytes.length - 12, red), true);
    assert.equal(red.blockCount, expectedBlocks);
    for (let i = 0; i < red.blockCount - 1; i++) assert.ok(red.timestampOffsetsTicks[i]! <= 0x3fff);
    assert.deepEqual([...bytes.subarray(bytes.length - 3)], [4, 5, 6]);
  });
}

test('encode: sequence and timestamp wraparound keep the history usable', () => {
  const enc = new RedEncoder({ opusPayloadType: OPUS_PT });
  encodeBytes(enc, opusPacket(65534, 0xfffffc40 - 960, [1]));
  encodeBytes(enc, opusPacket(65535, 0xfffffc40, [2]));
  const bytes = Uint8Array.from(encodeBytes(enc, opusPacket(0, 0, [3])));
  const red = createRedPayload();
  assert.equal(parseRedPayload(bytes, 12, bytes.length - 12, red), true);
  assert.deepEqual(blocksOf(red, 12), [
    [111, 1920, 9, 1],
    [111, 960, 10, 1],
    [111, 0, 11, 1],
  ]);
});

test('encode: a gap, a duplicate or a reordered packet never repeats a non-adjacent frame', () => {
  const enc = new RedEncoder({ opusPayloadType: OPUS_PT });
  const count = (seq: number, ts: number): number => {
    const bytes = Uint8Array.from(encodeBytes(enc, opusPacket(seq, ts, [seq & 0xff])));
    const red = createRedPayload();
    assert.equal(parseRedPayload(bytes, 12, bytes.length - 12, red), true);
    return red.blockCount;
  };
  assert.equal(count(100, 0), 1);
  assert.equal(count(101, 960), 2);
  assert.equal(count(101, 960), 1, 'duplicate: not stored twice, no redundancy');
  assert.equal(count(102, 1920), 3);
  assert.equal(count(104, 3840), 1, 'seq 103 lost upstream');
  assert.equal(count(103, 2880), 1, 'late 103: not remembered over 104');
  assert.equal(count(105, 4800), 2, 'repeats 104 only: 103 never reached the history');
});

test('encode: payloads over maxPayloadBytes go out without being repeated', () => {
  const enc = new RedEncoder({ opusPayloadType: OPUS_PT });
  const out = new Uint8Array(1500);
  const big = opusPacket(1, 960, fill(1001, 0));
  assert.equal(enc.encode(big, 12, 1001, out), 12 + 1 + 1001, 'primary only, still RED framed');
  const next = Uint8Array.from(encodeBytes(enc, opusPacket(2, 1920, [9])));
  assert.deepEqual([...next.subarray(12)], [0x6f, 9]);
  // With the cap at the 10-bit maximum a 1023-byte frame is repeated, length field all ones.
  const wide = new RedEncoder({ opusPayloadType: OPUS_PT, maxPayloadBytes: 1023, mtuBytes: 1500 });
  encodeBytes(wide, opusPacket(1, 960, fill(1023, 0)));
  const repeated = Uint8Array.from(encodeBytes(wide, opusPacket(2, 1920, [9])));
  assert.deepEqual([...repeated.subarray(12, 17)], [0xef, 0x0f, 0x03, 0xff, 0x6f]);
  assert.equal(repeated.length, 12 + 5 + 1023 + 1);
  assert.throws(() => new RedEncoder({ opusPayloadType: OPUS_PT, maxPayloadBytes: 1024 }), RangeError);
  assert.throws(() => new RedEncoder({ opusPayloadType: OPUS_PT, redundancy: RED_MAX_BLOCKS }), RangeError);
  assert.throws(() => new RedEncoder({ opusPayloadType: 128 }), RangeError);
});

test('encode: the MTU (and the output size) bound the redundancy, newest frames first', () => {
  const mtuBytes = 12 + 1 + 100 + 4 + 100; // the primary plus exactly one 100-byte redundant frame
  const enc = new RedEncoder({ opusPayloadType: OPUS_PT, mtuBytes });
  encodeBytes(enc, opusPacket(1, 960, fill(100, 0x10)));
  encodeBytes(enc, opusPacket(2, 1920, fill(100, 0x20)));
  const bytes = Uint8Array.from(encodeBytes(enc, opusPacket(3, 2880, fill(100, 0x30))));
  assert.equal(bytes.length, mtuBytes);
  assert.deepEqual([...bytes.subarray(12, 17)], [0xef, 0x0f, 0x00, 0x64, 0x6f], 'only seq 2, offset 960');
  assert.equal(bytes[17], 0x20);
  // Output buffer smaller than the MTU: it bounds the redundancy the same way.
  const small = new Uint8Array(12 + 1 + 100 + 3);
  assert.equal(enc.encode(opusPacket(4, 3840, fill(100, 0x40)), 12, 100, small), 113);
  assert.equal(enc.encode(opusPacket(5, 4800, fill(100, 0x50)), 12, 100, new Uint8Array(112)), -1, 'primary cannot fit');
  assert.equal(enc.encode(opusPacket(6, 5760, [1]), 11, 1, new Uint8Array(100)), -1, 'header shorter than 12');
  assert.equal(enc.encode(opusPacket(6, 5760, [1]), 12, 2, new Uint8Array(100)), -1, 'payload past the end');
});

test('round trip: encode, parse, unwrap gives back the primary; redundant blocks are earlier payloads', () => {
  const enc = new RedEncoder({ opusPayloadType: OPUS_PT, redundancy: 3 });
  const sent = new Map<number, { ts: number; payload: number[] }>();
  const rnd = seededRandom(2198);
  const red = createRedPayload();
  const wire = new Uint8Array(1500);
  const plain = new Uint8Array(1500);
  let ts = 12345;
  for (let seq = 65500; seq < 65500 + 200; seq++) {
    const payload = fill(1 + Math.floor(rnd() * 200), Math.floor(rnd() * 256));
    const packet = opusPacket(seq & 0xffff, ts, payload);
    const n = enc.encode(packet, 12, payload.length, wire);
    assert.ok(n > 0);
    assert.equal(parseRedPayload(wire, 12, n - 12, red), true);
    assert.equal(red.blockCount, Math.min(4, seq - 65500 + 1));
    for (let i = 0; i < red.blockCount - 1; i++) {
      const distance = red.blockCount - 1 - i;
      const earlier = sent.get((seq - distance) & 0xffff)!;
      assert.equal(red.timestampOffsetsTicks[i], (ts - earlier.ts) >>> 0);
      assert.deepEqual([...wire.subarray(red.blockOffsets[i]!, red.blockOffsets[i]! + red.blockLengthsBytes[i]!)], earlier.payload);
    }
    const m = unwrapRedPacket(wire, 12, n - 12, red, plain);
    assert.deepEqual([...plain.subarray(0, m)], [...packet]);
    sent.set(seq & 0xffff, { ts, payload });
    ts = (ts + 960) >>> 0;
  }
});

// ---------------------------------------------------------------------------------------------------------------
// Fuzz
// ---------------------------------------------------------------------------------------------------------------

test('fuzz: the encoder survives random streams and its output always parses back', () => {
  const rnd = seededRandom(99);
  const red = createRedPayload();
  for (let run = 0; run < 20; run++) {
    const enc = new RedEncoder({
      opusPayloadType: OPUS_PT,
      redundancy: Math.floor(rnd() * RED_MAX_BLOCKS),
      maxPayloadBytes: 1 + Math.floor(rnd() * 1023),
      mtuBytes: 40 + Math.floor(rnd() * 1500),
    });
    const out = new Uint8Array(40 + Math.floor(rnd() * 1500));
    let seq = Math.floor(rnd() * 65536);
    let ts = Math.floor(rnd() * 2 ** 32);
    for (let i = 0; i < 200; i++) {
      const step = rnd();
      seq = (seq + (step < 0.05 ? 0 : step < 0.1 ? -1 : step < 0.15 ? 3 : 1)) & 0xffff;
      ts = (ts + (rnd() < 0.1 ? Math.floor(rnd() * 40000) : 960)) >>> 0;
      const payloadLength = Math.floor(rnd() * 1200);
      // Trailing bytes stand for RTP padding: the encoder must not read them.
      const packet = opusPacket(seq, ts, [...fill(payloadLength, i), 0, 0, 3]);
      const view = readTracked(packet);
      const n = enc.encode(view.buf, 12, payloadLength, out);
      assert.ok(readOnlyInside(view, 0, 12 + payloadLength));
      if (n < 0) {
        assert.ok(12 + 1 + payloadLength > out.length);
        continue;
      }
      assert.equal(parseRedPayload(out, 12, n - 12, red), true);
      const primary = red.blockCount - 1;
      assert.equal(red.blockLengthsBytes[primary], payloadLength);
      if (primary > 0) assert.ok(n <= enc.mtuBytes);
      for (let k = 0; k < primary; k++) {
        assert.ok(red.timestampOffsetsTicks[k]! >= 1 && red.timestampOffsetsTicks[k]! <= 0x3fff);
        assert.ok(red.blockLengthsBytes[k]! <= enc.maxPayloadBytes);
      }
    }
  }
});
