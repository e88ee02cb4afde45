import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRtpHeader, parseRtpHeader, serializeRtpPacket } from '../rtp/index.js';
import { rtxPacketLength, writeRtxPacket } from './rtx-packet.js';

test('RTX wraps the packet as it is in the buffer: its sequence number and payload, even when the header object is the one it arrived with', () => {
  // As a forwarding DownTrack has it: the publisher's header (seq 7, a 6-byte payload with 4 bytes of padding) while the
  // bytes were rewritten to the subscriber's numbering (seq 1001) and the padding dropped.
  const arrived = serializeRtpPacket({ payloadType: 96, sequenceNumber: 7, timestamp: 9, ssrc: 1, payload: Uint8Array.of(1, 2, 3, 4, 5, 6), paddingLength: 4 });
  const h = createRtpHeader();
  assert.ok(parseRtpHeader(arrived, h));
  const sent = Buffer.from(serializeRtpPacket({ payloadType: 100, sequenceNumber: 1001, timestamp: 9, ssrc: 2, payload: Uint8Array.of(1, 2, 3, 4, 5, 6) }));
  const out = Buffer.alloc(100);
  const outH = createRtpHeader();
  const n = writeRtxPacket(sent, h, out, outH, 101, 55, 3);
  assert.equal(n, rtxPacketLength(sent, h));
  assert.equal(n, 12 + 2 + 6);
  const rtx = createRtpHeader();
  assert.ok(parseRtpHeader(out.subarray(0, n), rtx));
  assert.equal(rtx.sequenceNumber, 55);
  assert.equal(rtx.payloadType, 101);
  assert.equal(rtx.ssrc, 3);
  assert.equal(out.readUInt16BE(12), 1001, 'the original sequence number is the one sent, not the one it arrived with');
  assert.deepEqual([...out.subarray(14, n)], [1, 2, 3, 4, 5, 6]);
});
