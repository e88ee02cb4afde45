import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRtpHeader, findHeaderExtension, headerExtensionLength, insertHeaderExtension, parseRtpHeader, serializeRtpPacket } from './index.js';
import type { RtpPacketInit } from './index.js';

const payload = Uint8Array.from([9, 8, 7, 6, 5]);

/** `init` serialized into a buffer with `slack` spare bytes, and its parsed header. */
function packet(init: Partial<RtpPacketInit>, slack = 32) {
  const wire = serializeRtpPacket({ payloadType: 96, sequenceNumber: 7, timestamp: 1000, ssrc: 0x1234, payload, ...init });
  const buf = Buffer.alloc(wire.length + slack);
  wire.copy(buf);
  const h = createRtpHeader();
  assert.ok(parseRtpHeader(buf.subarray(0, wire.length), h));
  return { buf, length: wire.length, h };
}

function reparse(buf: Buffer, length: number) {
  const h = createRtpHeader();
  assert.ok(parseRtpHeader(buf.subarray(0, length), h));
  return h;
}

test('insertHeaderExtension adds a one-byte block to a packet without extensions and keeps the payload', () => {
  const { buf, length, h } = packet({ csrcs: [0xaabbccdd] });
  const n = insertHeaderExtension(buf, length, h, 3, 2);
  assert.equal(n, length + 8);
  const out = reparse(buf, n);
  assert.equal(out.extension, true);
  assert.equal(findHeaderExtension(buf, out, 3), out.extensionOffset + 1);
  assert.equal(headerExtensionLength(buf, out, 3), 2);
  assert.deepEqual([...buf.subarray(out.payloadOffset, n)], [...payload]);
  assert.equal(buf.readUInt32BE(12), 0xaabbccdd);
});

test('insertHeaderExtension appends to an existing one-byte block', () => {
  const { buf, length, h } = packet({ extensions: [{ id: 1, value: Uint8Array.from([0x80]) }, { id: 4, value: Uint8Array.from([0x30, 0x31]) }] });
  const n = insertHeaderExtension(buf, length, h, 3, 2);
  assert.equal(n, length + 4);
  const out = reparse(buf, n);
  assert.equal(headerExtensionLength(buf, out, 1), 1);
  assert.equal(buf[findHeaderExtension(buf, out, 4)], 0x30);
  assert.equal(headerExtensionLength(buf, out, 3), 2);
  assert.deepEqual([...buf.subarray(out.payloadOffset, n)], [...payload]);
});

test('insertHeaderExtension appends in the two-byte form to a two-byte block', () => {
  const { buf, length, h } = packet({ extensions: [{ id: 20, value: Uint8Array.from([1, 2, 3]) }] });
  const n = insertHeaderExtension(buf, length, h, 3, 2);
  const out = reparse(buf, n);
  assert.equal(headerExtensionLength(buf, out, 20), 3);
  assert.equal(headerExtensionLength(buf, out, 3), 2);
  assert.deepEqual([...buf.subarray(out.payloadOffset, n)], [...payload]);
});

test('insertHeaderExtension leaves a packet that already carries the element, and refuses without room', () => {
  const has = packet({ extensions: [{ id: 3, value: Uint8Array.from([0, 1]) }] });
  assert.equal(insertHeaderExtension(has.buf, has.length, has.h, 3, 2), has.length);
  const tight = packet({}, 0);
  assert.equal(insertHeaderExtension(tight.buf, tight.length, tight.h, 3, 2), -1);
  const p = packet({});
  assert.equal(insertHeaderExtension(p.buf, p.length, p.h, 15, 2), -1, 'id 15 cannot go in a new one-byte block');
});
