import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  createRtpHeader,
  findHeaderExtension,
  headerExtensionLength,
  isRtcpPacket,
  parseRtpHeader,
  rewriteHeaderExtensionIds,
  serializeRtpPacket,
  writeMarker,
  writePayloadType,
  writeSequenceNumber,
  writeSsrc,
  writeTimestamp,
} from './rtp-header.js';

// Hand-built RTP packet (RFC 3550 §5.1, RFC 8285 §4.2), 39 bytes:
const ONE_BYTE_PACKET = Uint8Array.from([
  0xb2, // V=2 P=1 X=1 CC=2
  0xe0, // M=1 PT=96
  0x12, 0x34, // sequence number 0x1234
  0xde, 0xad, 0xbe, 0xef, // timestamp
  0x11, 0x22, 0x33, 0x44, // SSRC
  0xaa, 0xbb, 0xcc, 0xdd, // CSRC 1
  0x01, 0x02, 0x03, 0x04, // CSRC 2
  0xbe, 0xde, 0x00, 0x02, // one-byte extension profile, length 2 words
  0x10, 0xaa, // id 1, len 1: aa
  0x33, 0x01, 0x02, 0x03, 0x04, // id 3, len 4: 01 02 03 04
  0x00, // padding to the word boundary
  0x01, 0x02, 0x03, // payload
  0x00, 0x00, 0x00, 0x04, // 4 bytes RTP padding, last holds the count
]);

// Two-byte form (RFC 8285 §4.3): profile 0x1000, ids > 14 and a zero-length value.
const TWO_BYTE_PACKET = Uint8Array.from([
  0x90, 0x6f, 0xff, 0xff, // V=2 X=1, M=0 PT=111, seq 65535
  0x00, 0x00, 0x00, 0x01, // timestamp 1
  0xff, 0xff, 0xff, 0xfe, // SSRC
  0x10, 0x00, 0x00, 0x03, // two-byte profile, 3 words
  0x14, 0x00, // id 20, len 0
  0x00, // padding byte between elements
  0x05, 0x03, 0x07, 0x08, 0x09, // id 5, len 3
  0x20, 0x01, 0x42, // id 32, len 1
  0x00, // padding
  0xca, 0xfe, // payload
]);

test('parses a header with CSRCs, one-byte extensions and padding', () => {
  const h = createRtpHeader();
  assert.equal(parseRtpHeader(ONE_BYTE_PACKET, h), true);
  assert.deepEqual(h, {
    version: 2,
    padding: true,
    extension: true,
    marker: true,
    payloadType: 96,
    sequenceNumber: 0x1234,
    timestamp: 0xdeadbeef,
    ssrc: 0x11223344,
    csrcCount: 2,
    extensionProfile: 0xbede,
    extensionOffset: 24,
    extensionLength: 8,
    payloadOffset: 32,
    payloadLength: 3,
    paddingLength: 4,
  });
  assert.equal(findHeaderExtension(ONE_BYTE_PACKET, h, 1), 25);
  assert.equal(headerExtensionLength(ONE_BYTE_PACKET, h, 1), 1);
  assert.equal(findHeaderExtension(ONE_BYTE_PACKET, h, 3), 27);
  assert.equal(headerExtensionLength(ONE_BYTE_PACKET, h, 3), 4);
  assert.equal(findHeaderExtension(ONE_BYTE_PACKET, h, 2), -1);
  assert.equal(headerExtensionLength(ONE_BYTE_PACKET, h, 2), -1);
  assert.equal(findHeaderExtension(ONE_BYTE_PACKET, h, 15), -1);
});

test('parses two-byte extensions', () => {
  const h = createRtpHeader();
  assert.equal(parseRtpHeader(TWO_BYTE_PACKET, h), true);
  assert.equal(h.extensionProfile, 0x1000);
  assert.equal(h.marker, false);
  assert.equal(h.payloadType, 111);
  assert.equal(h.sequenceNumber, 65535);
  assert.equal(h.ssrc, 0xfffffffe);
  assert.equal(h.payloadOffset, 28);
  assert.equal(h.payloadLength, 2);
  assert.equal(h.paddingLength, 0);
  assert.equal(findHeaderExtension(TWO_BYTE_PACKET, h, 20), 18);
  assert.equal(headerExtensionLength(TWO_BYTE_PACKET, h, 20), 0);
  assert.equal(findHeaderExtension(TWO_BYTE_PACKET, h, 5), 21);
  assert.equal(headerExtensionLength(TWO_BYTE_PACKET, h, 5), 3);
  assert.equal(findHeaderExtension(TWO_BYTE_PACKET, h, 32), 26);
  assert.equal(TWO_BYTE_PACKET[26], 0x42);
  assert.equal(findHeaderExtension(TWO_BYTE_PACKET, h, 6), -1);
});

test('a header without extension reports zeros and no extension is found', () => {
  const pkt = Uint8Array.from([0x80, 0x00, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 9]);
  const h = createRtpHeader();
  h.extensionProfile = 0xbede; // stale values from a previous packet get cleared
  assert.equal(parseRtpHeader(pkt, h), true);
  assert.equal(h.extensionProfile, 0);
  assert.equal(h.extensionLength, 0);
  assert.equal(h.payloadOffset, 12);
  assert.equal(h.payloadLength, 1);
  assert.equal(findHeaderExtension(pkt, h, 1), -1);
});

test('one-byte id 15 stops extension processing', () => {
  const pkt = Uint8Array.from([
    0x90, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0,
    0xbe, 0xde, 0, 1,
    0xf0, 0x20, 0xaa, 0, // id 15 (stop), then what would be id 2
  ]);
  const h = createRtpHeader();
  assert.equal(parseRtpHeader(pkt, h), true);
  assert.equal(findHeaderExtension(pkt, h, 2), -1);
});

test('rejects truncated and malformed headers', () => {
  const h = createRtpHeader();
  for (let len = 0; len < 32; len++) {
    // every cut inside the 32-byte header fails
    assert.equal(parseRtpHeader(ONE_BYTE_PACKET.subarray(0, len), h), false, `len ${len}`);
  }
  // cuts in the payload/padding leave a last byte that is read as the padding count
  assert.equal(parseRtpHeader(ONE_BYTE_PACKET.subarray(0, 32), h), false); // last byte 0x00
  assert.equal(parseRtpHeader(ONE_BYTE_PACKET.subarray(0, 33), h), true); // last byte 0x01
  assert.equal(h.paddingLength, 1);
  assert.equal(h.payloadLength, 0);
  assert.equal(parseRtpHeader(ONE_BYTE_PACKET.subarray(0, 36), h), false); // 0x00: zero padding count
  assert.equal(parseRtpHeader(ONE_BYTE_PACKET.subarray(0, 21), h), false); // in the CSRC list

  const v1 = ONE_BYTE_PACKET.slice();
  v1[0] = 0x72; // version 1
  assert.equal(parseRtpHeader(v1, h), false);
  const zeroPad = ONE_BYTE_PACKET.slice();
  zeroPad[zeroPad.length - 1] = 0;
  assert.equal(parseRtpHeader(zeroPad, h), false);
  const hugePad = ONE_BYTE_PACKET.slice();
  hugePad[hugePad.length - 1] = 8; // more than payload + padding (7)
  assert.equal(parseRtpHeader(hugePad, h), false);
  hugePad[hugePad.length - 1] = 7; // exactly payload + padding: empty payload is fine
  assert.equal(parseRtpHeader(hugePad, h), true);
  assert.equal(h.payloadLength, 0);
});

test('serializeRtpPacket produces the hand-built one-byte packet', () => {
  const out = serializeRtpPacket({
    payloadType: 96,
    sequenceNumber: 0x1234,
    timestamp: 0xdeadbeef,
    ssrc: 0x11223344,
    marker: true,
    csrcs: [0xaabbccdd, 0x01020304],
    extensions: [
      { id: 1, value: Uint8Array.from([0xaa]) },
      { id: 3, value: Uint8Array.from([1, 2, 3, 4]) },
    ],
    payload: Uint8Array.from([1, 2, 3]),
    paddingLength: 4,
  });
  assert.deepEqual(new Uint8Array(out), ONE_BYTE_PACKET);
});

test('serializeRtpPacket uses the two-byte form for big ids or empty values and round-trips', () => {
  const exts = [
    { id: 20, value: new Uint8Array(0) },
    { id: 5, value: Uint8Array.from([7, 8, 9]) },
    { id: 2, value: new Uint8Array(17).fill(3) },
  ];
  const out = serializeRtpPacket({
    payloadType: 111,
    sequenceNumber: 7,
    timestamp: 1,
    ssrc: 2,
    extensions: exts,
    payload: Uint8Array.from([0xca, 0xfe]),
  });
  const h = createRtpHeader();
  assert.equal(parseRtpHeader(out, h), true);
  assert.equal(h.extensionProfile, 0x1000);
  // 2 + 5 + 19 = 26 bytes of elements, padded to 28
  assert.equal(h.extensionLength, 28);
  for (const e of exts) {
    const at = findHeaderExtension(out, h, e.id);
    assert.ok(at > 0);
    assert.equal(headerExtensionLength(out, h, e.id), e.value.length);
    assert.deepEqual(new Uint8Array(out.subarray(at, at + e.value.length)), e.value);
  }
  assert.deepEqual([...out.subarray(h.payloadOffset, h.payloadOffset + h.payloadLength)], [0xca, 0xfe]);
});

test('serializeRtpPacket without extras is a bare 12-byte header plus payload', () => {
  const out = serializeRtpPacket({ payloadType: 0, sequenceNumber: 1, timestamp: 2, ssrc: 3, payload: Uint8Array.of(9) });
  assert.deepEqual([...out], [0x80, 0x00, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 9]);
});

test('in-place writers change only their field', () => {
  const pkt = ONE_BYTE_PACKET.slice();
  writeSequenceNumber(pkt, 0xfffe);
  writeTimestamp(pkt, 0x01020304);
  writeSsrc(pkt, 0xcafebabe);
  writePayloadType(pkt, 100);
  const h = createRtpHeader();
  assert.equal(parseRtpHeader(pkt, h), true);
  assert.equal(h.sequenceNumber, 0xfffe);
  assert.equal(h.timestamp, 0x01020304);
  assert.equal(h.ssrc, 0xcafebabe);
  assert.equal(h.payloadType, 100);
  assert.equal(h.marker, true, 'writePayloadType keeps the marker');
  writeMarker(pkt, false);
  parseRtpHeader(pkt, h);
  assert.equal(h.marker, false);
  assert.equal(h.payloadType, 100);
  writeMarker(pkt, true);
  parseRtpHeader(pkt, h);
  assert.equal(h.marker, true);
  assert.deepEqual(pkt.subarray(12), ONE_BYTE_PACKET.subarray(12));
});

test('rewrites one-byte extension ids, dropping unmapped ones into padding', () => {
  const pkt = ONE_BYTE_PACKET.slice();
  const h = createRtpHeader();
  parseRtpHeader(pkt, h);
  const idMap = new Uint8Array(16);
  idMap[1] = 9; // id 1 -> 9; id 3 unmapped -> dropped
  rewriteHeaderExtensionIds(pkt, h, idMap);
  assert.equal(findHeaderExtension(pkt, h, 9), 25);
  assert.equal(headerExtensionLength(pkt, h, 9), 1);
  assert.equal(pkt[25], 0xaa);
  assert.equal(findHeaderExtension(pkt, h, 1), -1);
  assert.equal(findHeaderExtension(pkt, h, 3), -1);
  assert.deepEqual([...pkt.subarray(24, 32)], [0x90, 0xaa, 0, 0, 0, 0, 0, 0]);
  // the rest of the packet is untouched
  assert.deepEqual(pkt.subarray(32), ONE_BYTE_PACKET.subarray(32));
  assert.deepEqual(pkt.subarray(0, 24), ONE_BYTE_PACKET.subarray(0, 24));
});

test('one-byte rewrite to an id above 14 drops the element', () => {
  const pkt = ONE_BYTE_PACKET.slice();
  const h = createRtpHeader();
  parseRtpHeader(pkt, h);
  const idMap = Uint8Array.from([0, 15, 0, 3]);
  rewriteHeaderExtensionIds(pkt, h, idMap);
  assert.equal(findHeaderExtension(pkt, h, 15), -1);
  assert.equal(findHeaderExtension(pkt, h, 3), 27, 'element after the dropped one still found');
});

test('rewrites two-byte extension ids, including a drop and a short map', () => {
  const pkt = TWO_BYTE_PACKET.slice();
  const h = createRtpHeader();
  parseRtpHeader(pkt, h);
  const idMap = new Uint8Array(21);
  idMap[20] = 200;
  idMap[5] = 0; // drop
  // id 32 is beyond the map: dropped
  rewriteHeaderExtensionIds(pkt, h, idMap);
  assert.equal(findHeaderExtension(pkt, h, 200), 18);
  assert.equal(headerExtensionLength(pkt, h, 200), 0);
  assert.equal(findHeaderExtension(pkt, h, 5), -1);
  assert.equal(findHeaderExtension(pkt, h, 32), -1);
  assert.deepEqual([...pkt.subarray(16, 28)], [200, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
  assert.deepEqual(pkt.subarray(28), TWO_BYTE_PACKET.subarray(28));
});

test('isRtcpPacket demuxes on the second byte (RFC 5761)', () => {
  assert.equal(isRtcpPacket(Uint8Array.of(0x80, 200)), true);
  assert.equal(isRtcpPacket(Uint8Array.of(0x80, 192)), true);
  assert.equal(isRtcpPacket(Uint8Array.of(0x80, 223)), true);
  assert.equal(isRtcpPacket(Uint8Array.of(0x80, 191)), false);
  assert.equal(isRtcpPacket(Uint8Array.of(0x80, 224)), false);
  assert.equal(isRtcpPacket(Uint8Array.of(0x80, 96)), false);
  assert.equal(isRtcpPacket(Uint8Array.of(0x80)), false);
  assert.equal(isRtcpPacket(ONE_BYTE_PACKET), false);
});
