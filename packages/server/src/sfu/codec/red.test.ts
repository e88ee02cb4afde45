// RED (RFC 2198) parsing, unwrapping and loss recovery: hand-built golden bytes, malformed input, seeded fuzz.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRtpHeader, parseRtpHeader, serializeRtpPacket } from '@atrium/webrtc/rtp/index.js';
import { seededRandom } from '@atrium/webrtc/testing/seeded-random.js';
import { readOnlyInside, readTracked } from '@atrium/webrtc/testing/read-tracked.js';
import {
  RED_MAX_BLOCKS,
  createRedPayload,
  createRedRecovery,
  findRecoverableBlocks,
  parseRedPayload,
  unwrapRedPacket,
  writeRedBlockPacket,
  writeRedBlockPayloadTypes,
  writeRedPrimaryPacket,
} from './red.js';
import { blocksOf, fill, rtpHeader } from './red-test-support.js';

const RED_PT = 63;

// ---------------------------------------------------------------------------------------------------------------
// Parsing: golden bytes from RFC 2198 §3
// ---------------------------------------------------------------------------------------------------------------

test('parse: the RFC 2198 §3 example shape (LPC redundant, DVI4 primary)', () => {
  const packet = Uint8Array.from([
    ...rtpHeader(RED_PT, 0x0102, 0x1000),
    0x87, // F=1, block PT=7 (LPC)
    0x02, // timestamp offset bits 13..6 = 0b00000010
    0x80, // offset bits 5..0 = 0b100000, block length bits 9..8 = 0b00  -> offset 160 (20 ms at 8 kHz)
    0x0e, // block length bits 7..0 -> 14 bytes
    0x05, // F=0, block PT=5 (DVI4): the primary, 1-byte header
    ...fill(14, 0xa0), // LPC redundant data
    ...fill(84, 0x10), // DVI4 primary data
  ]);
  const red = createRedPayload();
  assert.equal(parseRedPayload(packet, 12, packet.length - 12, red), true);
  assert.deepEqual(blocksOf(red), [
    [7, 160, 12 + 5, 14],
    [5, 0, 12 + 5 + 14, 84],
  ]);
});

test('parse: Chromium-style Opus RED with two redundant blocks', () => {
  const payload = Uint8Array.from([
    0xef, // F=1, PT=111
    0x1e, // offset high bits 0b00011110
    0x00, // offset low bits 0b000000, length high 0b00 -> offset 30 << 6 = 1920 (40 ms at 48 kHz)
    0x03, // length 3
    0xef, // F=1, PT=111
    0x0f, // offset high 0b00001111
    0x00, // offset low 0, length high 0 -> offset 960 (20 ms)
    0x02, // length 2
    0x6f, // F=0, PT=111: primary
    0xa1, 0xa2, 0xa3, // frame at ts - 1920
    0xb1, 0xb2, // frame at ts - 960
    0xc1, 0xc2, 0xc3, 0xc4, // primary frame
  ]);
  const red = createRedPayload();
  assert.equal(parseRedPayload(payload, 0, payload.length, red), true);
  assert.deepEqual(blocksOf(red), [
    [111, 1920, 9, 3],
    [111, 960, 12, 2],
    [111, 0, 14, 4],
  ]);
});

// Redundant header bit boundaries: [offset, length, the 4 header bytes].
const headerCases: Array<[number, number, number[]]> = [
  // 1 = 0b00000000000001 -> byte1 0x00, byte2 0b000001_00 | 0 ; length 1 -> byte3 0x01
  [1, 1, [0xef, 0x00, 0x04, 0x01]],
  // 64 = 0b00000001000000 -> byte1 0x01, byte2 low offset 0 ; length 256 = 0b01_00000000 -> byte2 |= 0x01, byte3 0x00
  [64, 256, [0xef, 0x01, 0x01, 0x00]],
  // 677 = 0b00001010100101 -> byte1 0x0a, low 0b100101 << 2 = 0x94 ; length 261 = 0b01_00000101 -> 0x95, 0x05
  [677, 261, [0xef, 0x0a, 0x95, 0x05]],
  // 16383 and 1023: every offset and length bit set
  [0x3fff, 0x3ff, [0xef, 0xff, 0xff, 0xff]],
];

for (const [offsetTicks, lengthBytes, header] of headerCases) {
  test(`parse: redundant header offset ${offsetTicks}, length ${lengthBytes}`, () => {
    const payload = Uint8Array.from([...header, 0x6f, ...fill(lengthBytes, 1), 0x99]);
    const red = createRedPayload();
    assert.equal(parseRedPayload(payload, 0, payload.length, red), true);
    assert.deepEqual(blocksOf(red), [
      [111, offsetTicks, 5, lengthBytes],
      [111, 0, 5 + lengthBytes, 1],
    ]);
  });
}

test('parse: primary-only payload, and an empty primary', () => {
  const red = createRedPayload();
  assert.equal(parseRedPayload(Uint8Array.from([0x6f, 0x01, 0x02]), 0, 3, red), true);
  assert.deepEqual(blocksOf(red), [[111, 0, 1, 2]]);
  assert.equal(parseRedPayload(Uint8Array.from([0x6f]), 0, 1, red), true);
  assert.deepEqual(blocksOf(red), [[111, 0, 1, 0]]);
});

test(`parse: ${RED_MAX_BLOCKS} blocks parse, one more is refused`, () => {
  const atCapacity: number[] = [];
  for (let i = 0; i < RED_MAX_BLOCKS - 1; i++) atCapacity.push(0xef, 0x00, 0x04 * (RED_MAX_BLOCKS - i), 0x00);
  const red = createRedPayload();
  const ok = Uint8Array.from([...atCapacity, 0x6f, 0x42]);
  assert.equal(parseRedPayload(ok, 0, ok.length, red), true);
  assert.equal(red.blockCount, RED_MAX_BLOCKS);
  const tooMany = Uint8Array.from([0xef, 0x00, 0x04, 0x00, ...atCapacity, 0x6f, 0x42]);
  assert.equal(parseRedPayload(tooMany, 0, tooMany.length, red), false);
  assert.equal(red.blockCount, 0);
});

const malformed: Array<[string, number[], number, number]> = [
  ['empty window', [0x6f, 0x01], 0, 0],
  ['negative offset', [0x6f, 0x01], -1, 2],
  ['window past the end', [0x6f, 0x01], 1, 2],
  ['NaN length', [0x6f, 0x01], 0, NaN],
  ['redundant header cut after 1 byte', [0xef], 0, 1],
  ['redundant header cut after 3 bytes', [0xef, 0x0f, 0x00], 0, 3],
  ['no primary header after a redundant one', [0xef, 0x0f, 0x00, 0x00], 0, 4],
  ['redundant length past the end', [0xef, 0x0f, 0x00, 0x03, 0x6f, 0x01, 0x02], 0, 7],
  ['two redundant lengths past the end together', [0xef, 0x1e, 0x00, 0x01, 0xef, 0x0f, 0x00, 0x01, 0x6f, 0x01], 0, 10],
  ['window cuts the redundant data', [0xef, 0x0f, 0x00, 0x02, 0x6f, 0x01, 0x02, 0x03], 0, 6],
];

for (const [name, bytes, offset, length] of malformed) {
  test(`parse refuses: ${name}`, () => {
    const red = createRedPayload();
    red.blockCount = 5;
    assert.equal(parseRedPayload(Uint8Array.from(bytes), offset, length, red), false);
    assert.equal(red.blockCount, 0);
  });
}

test('parse: a redundant block exactly filling the payload leaves an empty primary', () => {
  const red = createRedPayload();
  const payload = Uint8Array.from([0xef, 0x0f, 0x00, 0x02, 0x6f, 0x01, 0x02]);
  assert.equal(parseRedPayload(payload, 0, payload.length, red), true);
  assert.deepEqual(blocksOf(red), [
    [111, 960, 5, 2],
    [111, 0, 7, 0],
  ]);
});

// ---------------------------------------------------------------------------------------------------------------
// Unwrapping to plain Opus
// ---------------------------------------------------------------------------------------------------------------

const CHROME_RED_PAYLOAD = [0xef, 0x1e, 0x00, 0x03, 0xef, 0x0f, 0x00, 0x02, 0x6f, 0xa1, 0xa2, 0xa3, 0xb1, 0xb2, 0xc1, 0xc2, 0xc3, 0xc4];

test('unwrap: keeps the header (CSRCs, extensions), drops the RED framing and the RTP padding', () => {
  const packet = serializeRtpPacket({
    payloadType: RED_PT,
    sequenceNumber: 4242,
    timestamp: 0x01020304,
    ssrc: 0x11223344,
    marker: true,
    csrcs: [0xaabbccdd],
    extensions: [{ id: 1, value: Uint8Array.from([0x7f]) }],
    payload: Uint8Array.from(CHROME_RED_PAYLOAD),
    paddingLength: 3,
  });
  const h = createRtpHeader();
  assert.equal(parseRtpHeader(packet, h), true);
  const red = createRedPayload();
  const out = new Uint8Array(1500);
  const n = unwrapRedPacket(packet, h.payloadOffset, h.payloadLength, red, out);
  assert.equal(n, h.payloadOffset + 4);
  assert.equal(red.blockCount, 3);
  const expectedHeader = Uint8Array.from(packet.subarray(0, h.payloadOffset));
  expectedHeader[0] = expectedHeader[0]! & ~0x20; // P bit cleared, nothing else changed
  assert.deepEqual(out.subarray(0, h.payloadOffset), expectedHeader);
  assert.deepEqual([...out.subarray(h.payloadOffset, n)], [0xc1, 0xc2, 0xc3, 0xc4]);
  const plain = createRtpHeader();
  assert.equal(parseRtpHeader(out.subarray(0, n), plain), true);
  assert.equal(plain.padding, false);
  assert.equal(plain.marker, true);
  assert.equal(plain.sequenceNumber, 4242);
  assert.equal(plain.payloadLength, 4);
  assert.equal(plain.extensionLength, h.extensionLength);
});

test('unwrap: in place, into the packet buffer itself', () => {
  const packet = Uint8Array.from([...rtpHeader(RED_PT, 1, 2), ...CHROME_RED_PAYLOAD]);
  const n = unwrapRedPacket(packet, 12, CHROME_RED_PAYLOAD.length, createRedPayload(), packet);
  assert.deepEqual([...packet.subarray(0, n)], [...rtpHeader(RED_PT, 1, 2), 0xc1, 0xc2, 0xc3, 0xc4]);
});

test('unwrap: -1 on an output too small, a bad header length or a malformed payload', () => {
  const packet = Uint8Array.from([...rtpHeader(RED_PT, 1, 2), ...CHROME_RED_PAYLOAD]);
  const red = createRedPayload();
  assert.equal(unwrapRedPacket(packet, 12, CHROME_RED_PAYLOAD.length, red, new Uint8Array(16)), 16);
  assert.equal(unwrapRedPacket(packet, 12, CHROME_RED_PAYLOAD.length, red, new Uint8Array(15)), -1);
  assert.equal(unwrapRedPacket(packet, 11, CHROME_RED_PAYLOAD.length, red, new Uint8Array(100)), -1);
  assert.equal(unwrapRedPacket(packet, 12, 5, red, new Uint8Array(100)), -1, 'window cuts the redundant data');
  red.blockCount = 0;
  assert.equal(writeRedPrimaryPacket(packet, 12, red, new Uint8Array(100)), -1, 'nothing parsed');
});

test('writeRedBlockPayloadTypes renumbers every block header, keeping the F bits', () => {
  const packet = Uint8Array.from([...rtpHeader(RED_PT, 1, 2), ...CHROME_RED_PAYLOAD]);
  const red = createRedPayload();
  assert.equal(parseRedPayload(packet, 12, packet.length - 12, red), true);
  assert.equal(writeRedBlockPayloadTypes(packet, 12, red, 109), true);
  assert.deepEqual([...packet.subarray(12, 21)], [0xed, 0x1e, 0x00, 0x03, 0xed, 0x0f, 0x00, 0x02, 0x6d]);
  assert.equal(parseRedPayload(packet, 12, packet.length - 12, red), true);
  assert.deepEqual(blocksOf(red, 12), [
    [109, 1920, 9, 3],
    [109, 960, 12, 2],
    [109, 0, 14, 4],
  ]);
  assert.equal(writeRedBlockPayloadTypes(packet.subarray(0, 15), 12, red, 109), false);
});

// ---------------------------------------------------------------------------------------------------------------
// Loss recovery
// ---------------------------------------------------------------------------------------------------------------

const TS = 100_000;

/** A RED packet at seq 2000 / TS carrying frames at TS-1920 (0xa*), TS-960 (0xb*) and the primary (0xc*). */
function lossPacket(blockA = [0xef, 0x1e, 0x00, 0x03], blockB = [0xef, 0x0f, 0x00, 0x02], ts = TS): Uint8Array {
  return Uint8Array.from([...rtpHeader(RED_PT, 2000, ts), ...blockA, ...blockB, 0x6f, ...CHROME_RED_PAYLOAD.slice(9)]);
}

// [name, packet, previous timestamp, missed packets, expected [block index, timestamp, sequence distance]]
const recoveryCases: Array<[string, Uint8Array, number, number, Array<[number, number, number]>]> = [
  ['no gap', lossPacket(), TS - 2880, 0, []],
  ['one lost: the newest redundant block', lossPacket(), TS - 2880, 1, [[1, TS - 960, 1]]],
  ['two lost: both, oldest first', lossPacket(), TS - 2880, 2, [[0, TS - 1920, 2], [1, TS - 960, 1]]],
  ['more lost than carried', lossPacket(), TS - 2880, 5, [[0, TS - 1920, 2], [1, TS - 960, 1]]],
  ['oldest block already forwarded', lossPacket(), TS - 1920, 2, [[1, TS - 960, 1]]],
  ['everything already forwarded', lossPacket(), TS, 2, []],
  ['empty newest block skipped', lossPacket(undefined, [0xef, 0x0f, 0x00, 0x00]), TS - 2880, 2, [[0, TS - 1920, 2]]],
  ['other payload type skipped', lossPacket([0x80 | 13, 0x1e, 0x00, 0x03]), TS - 2880, 2, [[1, TS - 960, 1]]],
  ['offsets not growing back in time', lossPacket([0xef, 0x0f, 0x00, 0x03]), TS - 2880, 2, [[1, TS - 960, 1]]],
  ['redundant offset 0', lossPacket(undefined, [0xef, 0x00, 0x00, 0x02]), TS - 2880, 2, []],
  ['timestamp wrap', lossPacket(undefined, undefined, 500), (500 - 2880) >>> 0, 2, [[0, (500 - 1920) >>> 0, 2], [1, (500 - 960) >>> 0, 1]]],
];

for (const [name, packet, previous, missed, expected] of recoveryCases) {
  test(`recovery: ${name}`, () => {
    const h = createRtpHeader();
    assert.equal(parseRtpHeader(packet, h), true);
    const red = createRedPayload();
    assert.equal(parseRedPayload(packet, h.payloadOffset, h.payloadLength, red), true);
    const rec = createRedRecovery();
    assert.equal(findRecoverableBlocks(red, h.timestamp, previous, missed, rec), expected.length);
    const got: Array<[number, number, number]> = [];
    for (let i = 0; i < rec.count; i++) got.push([rec.blockIndexes[i]!, rec.timestamps[i]!, rec.sequenceDistances[i]!]);
    assert.deepEqual(got, expected);
  });
}

test('recovery: each recovered block becomes its own plain Opus packet, then the primary', () => {
  const packet = lossPacket();
  packet[1] = 0x80 | RED_PT; // marker set on the RED packet
  const red = createRedPayload();
  const out = new Uint8Array(1500);
  const primaryLength = unwrapRedPacket(packet, 12, packet.length - 12, red, out);
  assert.equal(primaryLength, 16);
  const rec = createRedRecovery();
  assert.equal(findRecoverableBlocks(red, TS, TS - 2880, 2, rec), 2);
  const expectedPayloads = [[0xa1, 0xa2, 0xa3], [0xb1, 0xb2]];
  for (let i = 0; i < rec.count; i++) {
    const seq = (2000 - rec.sequenceDistances[i]!) & 0xffff;
    const n = writeRedBlockPacket(packet, 12, red, rec.blockIndexes[i]!, seq, rec.timestamps[i]!, out);
    const h = createRtpHeader();
    assert.equal(parseRtpHeader(out.subarray(0, n), h), true);
    assert.equal(h.sequenceNumber, 1998 + i);
    assert.equal(h.timestamp, TS - 1920 + 960 * i);
    assert.equal(h.marker, false, 'a recovered frame does not inherit the marker');
    assert.equal(h.ssrc, 0xcafebabe);
    assert.deepEqual([...out.subarray(h.payloadOffset, n)], expectedPayloads[i]);
  }
  assert.equal(writeRedBlockPacket(packet, 12, red, 3, 1, 1, out), -1, 'no such block');
  assert.equal(writeRedBlockPacket(packet, 12, red, -1, 1, 1, out), -1);
  assert.equal(writeRedBlockPacket(packet, 12, red, 0, 1, 1, new Uint8Array(14)), -1, 'output too small');
});

// ---------------------------------------------------------------------------------------------------------------
// Fuzz: garbage never throws and never reads outside the given window
// ---------------------------------------------------------------------------------------------------------------

/** Random bytes biased towards RED-looking headers so the fuzz reaches the data checks. */
function garbage(rnd: () => number, length: number): Uint8Array {
  const b = new Uint8Array(length);
  for (let i = 0; i < length; i++) {
    const r = rnd();
    b[i] = r < 0.3 ? 0xef : r < 0.4 ? 0x6f : r < 0.6 ? Math.floor(rnd() * 8) : Math.floor(rnd() * 256);
  }
  return b;
}

test('fuzz: parse never throws, reads only inside the window, and its blocks tile the window', () => {
  const rnd = seededRandom(0x2198);
  const red = createRedPayload();
  let accepted = 0;
  for (let iter = 0; iter < 5000; iter++) {
    const length = Math.floor(rnd() * 48);
    const pad = 1 + Math.floor(rnd() * 8);
    const bytes = new Uint8Array(length + 2 * pad);
    for (let i = 0; i < bytes.length; i++) bytes[i] = Math.floor(rnd() * 256);
    bytes.set(garbage(rnd, length), pad);
    const view = readTracked(bytes);
    const ok = parseRedPayload(view.buf, pad, length, red);
    assert.ok(readOnlyInside(view, pad, pad + length), `read outside [${pad}, ${pad + length}) of ${[...bytes].join(',')}`);
    // Odd windows (negative, past the end, NaN-free garbage) on the same bytes: never throw, never read outside.
    const oddOffset = Math.floor(rnd() * 60) - 5;
    const oddLength = Math.floor(rnd() * 60) - 5;
    const oddView = readTracked(bytes);
    parseRedPayload(oddView.buf, oddOffset, oddLength, createRedPayload());
    assert.ok(
      readOnlyInside(oddView, Math.max(0, oddOffset), Math.min(bytes.length, oddOffset + oddLength)),
      `odd window ${oddOffset}+${oddLength} over ${bytes.length} bytes`,
    );
    if (!ok) continue;
    accepted++;
    assert.ok(red.blockCount >= 1 && red.blockCount <= RED_MAX_BLOCKS);
    let at = red.blockOffsets[0]!;
    assert.equal(at, pad + 4 * (red.blockCount - 1) + 1, 'data starts right after the headers');
    for (let i = 0; i < red.blockCount; i++) {
      assert.equal(red.blockOffsets[i], at);
      at += red.blockLengthsBytes[i]!;
    }
    assert.equal(at, pad + length, 'blocks tile the payload up to its end');
  }
  assert.ok(accepted > 500, `only ${accepted} of 5000 inputs parsed: the fuzz is not reaching the data checks`);
});

test('fuzz: unwrap, recovery and block writing never throw on garbage packets', () => {
  const rnd = seededRandom(7);
  const red = createRedPayload();
  const rec = createRedRecovery();
  for (let iter = 0; iter < 3000; iter++) {
    const packet = garbage(rnd, Math.floor(rnd() * 64));
    const payloadOffset = Math.floor(rnd() * 20);
    const payloadLength = Math.floor(rnd() * 70) - 4;
    const out = new Uint8Array(Math.floor(rnd() * 80));
    const view = readTracked(packet);
    const n = unwrapRedPacket(view.buf, payloadOffset, payloadLength, red, out);
    assert.ok(readOnlyInside(view, 0, packet.length));
    assert.ok(n === -1 || (n >= 12 && n <= out.length && n <= packet.length));
    if (red.blockCount === 0) continue;
    const found = findRecoverableBlocks(red, Math.floor(rnd() * 2 ** 32), Math.floor(rnd() * 2 ** 32), Math.floor(rnd() * 12) - 2, rec);
    assert.ok(found >= 0 && found < red.blockCount);
    for (let i = 0; i < found; i++) {
      assert.ok(rec.blockIndexes[i]! < red.blockCount - 1);
      const m = writeRedBlockPacket(packet, payloadOffset, red, rec.blockIndexes[i]!, 1, 2, out);
      assert.ok(m === -1 || m <= out.length);
    }
    writeRedBlockPacket(packet, payloadOffset, red, Math.floor(rnd() * 12) - 1, 1, 2, out);
    writeRedBlockPayloadTypes(packet, payloadOffset, red, 109);
  }
});
