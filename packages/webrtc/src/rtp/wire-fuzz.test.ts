// Garbage, truncated and mutated input never throws out of the RTP/RTCP parsers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  createRtpHeader,
  findHeaderExtension,
  headerExtensionLength,
  parseRtpHeader,
  rewriteHeaderExtensionIds,
  serializeRtpPacket,
} from './rtp-header.js';
import { parseRtcp, serializeRtcp } from './rtcp.js';

function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    // xorshift32
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s;
  };
}

function randomBytes(next: () => number, len: number): Uint8Array {
  const b = new Uint8Array(len);
  for (let i = 0; i < len; i++) b[i] = next() & 0xff;
  return b;
}

const idMap = Uint8Array.from({ length: 256 }, (_, i) => (i * 7) & 0xff);

function checkRtp(buf: Uint8Array): void {
  const h = createRtpHeader();
  if (!parseRtpHeader(buf, h)) return;
  assert.equal(h.version, 2);
  assert.equal(h.payloadOffset + h.payloadLength + h.paddingLength, buf.length);
  assert.ok(h.payloadLength >= 0);
  for (let id = 0; id < 256; id += 5) {
    const at = findHeaderExtension(buf, h, id);
    if (at >= 0) {
      const len = headerExtensionLength(buf, h, id);
      assert.ok(at >= h.extensionOffset && at + len <= h.extensionOffset + h.extensionLength);
    }
  }
  const copy = buf.slice();
  rewriteHeaderExtensionIds(copy, h, idMap);
  // rewriting never touches bytes outside the extension block
  assert.deepEqual(copy.subarray(h.payloadOffset), buf.subarray(h.payloadOffset));
}

test('random buffers never throw from the RTP header functions', () => {
  const next = prng(1);
  for (let i = 0; i < 3000; i++) {
    const buf = randomBytes(next, next() % 80);
    if (buf.length > 0 && i % 2 === 0) buf[0] = 0x80 | (buf[0]! & 0x3f); // force version 2
    checkRtp(buf);
  }
});

test('truncated and mutated valid RTP packets never throw', () => {
  const next = prng(2);
  const valid = serializeRtpPacket({
    payloadType: 96,
    sequenceNumber: 1,
    timestamp: 2,
    ssrc: 3,
    csrcs: [4, 5],
    extensions: [
      { id: 1, value: Uint8Array.of(1) },
      { id: 2, value: Uint8Array.of(1, 2, 3) },
    ],
    payload: new Uint8Array(20),
    paddingLength: 3,
  });
  for (let len = 0; len <= valid.length; len++) checkRtp(valid.subarray(0, len));
  for (let i = 0; i < 2000; i++) {
    const m = valid.slice();
    for (let k = 0; k < 3; k++) m[next() % m.length] = next() & 0xff;
    checkRtp(m);
  }
});

test('random buffers never throw from parseRtcp; non-v2 garbage gives []', () => {
  const next = prng(3);
  for (let i = 0; i < 3000; i++) {
    const buf = randomBytes(next, next() % 120);
    if (buf.length > 0 && i % 2 === 0) {
      buf[0] = 0x80 | (buf[0]! & 0x3f);
      if (buf.length > 1) buf[1] = 200 + (next() % 8); // a known packet type
      if (buf.length > 3) {
        buf[2] = 0;
        buf[3] = next() % (buf.length / 4 + 1); // a plausible length
      }
    } else if (buf.length > 0) {
      buf[0] = buf[0]! & 0x7f; // version 0 or 1
    }
    const out = parseRtcp(buf);
    assert.ok(Array.isArray(out));
    if (buf.length > 0 && buf[0]! >>> 6 !== 2) assert.deepEqual(out, []);
  }
});

test('truncated and mutated valid compound RTCP never throws', () => {
  const next = prng(4);
  const valid = serializeRtcp([
    { type: 'rr', ssrc: 1, reports: [{ ssrc: 2, fractionLost: 1, cumulativeLost: 2, highestSeq: 3, jitter: 4, lastSr: 5, delaySinceLastSr: 6 }] },
    { type: 'sdes', chunks: [{ ssrc: 1, items: [{ type: 1, text: 'abc' }] }] },
    { type: 'bye', ssrcs: [1], reason: 'x' },
    { type: 'nack', senderSsrc: 1, mediaSsrc: 2, lostSeqs: [1, 3, 40] },
    { type: 'fir', senderSsrc: 1, entries: [{ ssrc: 2, seqNr: 3 }] },
    { type: 'remb', senderSsrc: 1, bitrateBps: 1e6, ssrcs: [2, 3] },
    {
      type: 'twcc',
      senderSsrc: 1,
      mediaSsrc: 2,
      baseSeq: 3,
      packetStatusCount: 3,
      referenceTimeMs: 0,
      fbPktCount: 0,
      packets: [
        { seq: 3, received: true, deltaUs: 250 },
        { seq: 4, received: false },
        { seq: 5, received: true, deltaUs: -250 },
      ],
    },
  ]);
  assert.equal(parseRtcp(valid).length, 7);
  for (let len = 0; len <= valid.length; len++) {
    const out = parseRtcp(valid.subarray(0, len));
    assert.ok(out.length <= 7);
  }
  for (let i = 0; i < 3000; i++) {
    const m = valid.slice();
    for (let k = 0; k < 2; k++) m[next() % m.length] = next() & 0xff;
    assert.ok(Array.isArray(parseRtcp(m)));
  }
});
