// The relay to ffmpeg over a real loopback socket: what it sends (from the first key frame, payload type re-stamped,
// extensions kept, padding-only packets left out), the media time it measures, and that it drops instead of queueing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import type { Socket } from 'node:dgram';
import { createRtpHeader, parseRtpHeader, serializeRtpPacket } from '@atrium/webrtc';
import type { RtpPacketInit } from '@atrium/webrtc';
import { waitFor } from '@atrium/webrtc/testing/wait-for.js';
import { MAX_PENDING_SENDS, RtpRelay } from './rtp-relay.js';
import { RTP_PAYLOAD_TYPE } from './rtp-sdp.js';

async function receiver(): Promise<{ socket: Socket; port: number; got: Buffer[] }> {
  const socket = createSocket('udp4');
  const got: Buffer[] = [];
  socket.on('message', (m) => got.push(m));
  await new Promise<void>((r) => socket.bind(0, '127.0.0.1', r));
  return { socket, port: socket.address().port, got };
}

function feed(relay: RtpRelay, init: Omit<RtpPacketInit, 'ssrc'>): void {
  const buf = serializeRtpPacket({ ssrc: 1234, ...init });
  const h = createRtpHeader();
  assert.ok(parseRtpHeader(buf, h));
  relay.handle(buf, h);
  buf.fill(0); // the stack reuses its buffer: what was sent must be a copy
}

// VP8 payload descriptor (RFC 7741 4.2): S bit, partition 0; then the VP8 payload header, bit 0 of byte 0 = P
// (0: key frame) and for a key frame the start code 9d 01 2a and the size.
const vp8Key = Buffer.from([0x10, 0x00, 0x00, 0x00, 0x9d, 0x01, 0x2a, 0x40, 0x01, 0xb4, 0x00, 0x00]);
const vp8Delta = Buffer.from([0x10, 0x01, 0x00, 0x00, 0, 0, 0, 0]);

test('video: nothing before the first key frame (key frame asked for), then every packet, re-stamped', async () => {
  const rx = await receiver();
  const relay = new RtpRelay({ mimeType: 'video/VP8', clockRate: 90000, port: rx.port });
  let starts = 0;
  let asks = 0;
  relay.onStart = () => starts++;
  relay.onNeedKeyFrame = () => asks++;
  feed(relay, { payloadType: 100, sequenceNumber: 1, timestamp: 1000, payload: vp8Delta });
  feed(relay, { payloadType: 100, sequenceNumber: 2, timestamp: 4000, payload: vp8Delta });
  assert.deepEqual([starts, asks, relay.packetsSent], [0, 2, 0]);
  feed(relay, { payloadType: 100, sequenceNumber: 3, timestamp: 7000, payload: vp8Key, extensions: [{ id: 3, value: Buffer.from([9]) }] });
  feed(relay, { payloadType: 100, sequenceNumber: 4, timestamp: 10000, payload: vp8Delta, marker: true });
  feed(relay, { payloadType: 100, sequenceNumber: 5, timestamp: 10000, payload: Buffer.alloc(0), paddingLength: 200 });
  assert.deepEqual([starts, asks, relay.packetsSent], [1, 2, 2]);
  await waitFor(() => rx.got.length === 2, { timeoutMs: 2000, label: 'two datagrams' });
  const h = createRtpHeader();
  assert.ok(parseRtpHeader(rx.got[0]!, h));
  assert.deepEqual([h.payloadType, h.sequenceNumber, h.timestamp, h.ssrc, h.extension], [RTP_PAYLOAD_TYPE, 3, 7000, 1234, true]);
  assert.deepEqual(rx.got[0]!.subarray(h.payloadOffset, h.payloadOffset + h.payloadLength), vp8Key);
  assert.ok(parseRtpHeader(rx.got[1]!, h));
  assert.deepEqual([h.payloadType, h.marker, h.sequenceNumber], [RTP_PAYLOAD_TYPE, true, 4]);
  assert.equal(relay.durationMs, (3000 / 90000) * 1000);
  relay.close();
  rx.socket.close();
});

test('audio: from the first packet; media time across a timestamp wrap, late packets not counted back', async () => {
  const rx = await receiver();
  const relay = new RtpRelay({ mimeType: 'audio/opus', clockRate: 48000, port: rx.port });
  const start = 0xffffffff - 960 * 2 + 1;
  for (let i = 0; i < 50; i++) feed(relay, { payloadType: 111, sequenceNumber: i, timestamp: (start + i * 960) >>> 0, payload: Buffer.from([0xfc, i]) });
  feed(relay, { payloadType: 111, sequenceNumber: 10, timestamp: (start + 10 * 960) >>> 0, payload: Buffer.from([0xfc, 10]) });
  assert.equal(relay.durationMs, 49 * 20);
  await waitFor(() => rx.got.length === 51, { timeoutMs: 2000, label: '51 datagrams' });
  relay.close();
  rx.socket.close();
});

test('a receiver that is not keeping up: packets past the pending bound are dropped, never queued', async () => {
  const rx = await receiver();
  const relay = new RtpRelay({ mimeType: 'audio/opus', clockRate: 48000, port: rx.port });
  // one synchronous burst: no send completes meanwhile, so the bound is what limits the queue
  for (let i = 0; i < MAX_PENDING_SENDS + 100; i++) feed(relay, { payloadType: 111, sequenceNumber: i, timestamp: i * 960, payload: Buffer.from([0xfc]) });
  assert.equal(relay.packetsSent, MAX_PENDING_SENDS);
  assert.equal(relay.packetsDropped, 100);
  // once the sends complete, packets flow again
  await new Promise((r) => setTimeout(r, 50));
  feed(relay, { payloadType: 111, sequenceNumber: 9999, timestamp: 9999 * 960, payload: Buffer.from([0xfc]) });
  assert.equal(relay.packetsSent, MAX_PENDING_SENDS + 1);
  relay.close();
  rx.socket.close();
});

test('wake: nothing while media flows; when idle, the next sequence number with a later timestamp and no media', async () => {
  const rx = await receiver();
  const audio = new RtpRelay({ mimeType: 'audio/opus', clockRate: 48000, port: rx.port });
  assert.equal(audio.wake(), false, 'nothing sent yet: nothing to finalize');
  feed(audio, { payloadType: 111, sequenceNumber: 65535, timestamp: 4294967000, payload: Buffer.from([0xfc, 1, 2, 3]), extensions: [{ id: 1, value: Buffer.from([0x30]) }] });
  assert.equal(audio.wake(), true);
  await waitFor(() => rx.got.length === 1, { timeoutMs: 2_000, label: 'the packet' });
  await new Promise((r) => setTimeout(r, 250));
  assert.equal(audio.wake(), true);
  await waitFor(() => rx.got.length === 2, { timeoutMs: 2_000, label: 'the wake packet' });
  const h = createRtpHeader();
  assert.ok(parseRtpHeader(rx.got[1]!, h));
  assert.deepEqual([h.sequenceNumber, h.timestamp, h.payloadLength, rx.got[1]![h.payloadOffset]], [0, (4294967000 + 960) >>> 0, 1, 0xfc]);
  audio.close();
  const video = new RtpRelay({ mimeType: 'video/VP8', clockRate: 90000, port: rx.port });
  feed(video, { payloadType: 100, sequenceNumber: 9, timestamp: 9000, payload: vp8Key, marker: true });
  await new Promise((r) => setTimeout(r, 250));
  assert.equal(video.wake(), true);
  await waitFor(() => rx.got.length === 4, { timeoutMs: 2_000, label: 'the video wake packet' });
  assert.ok(parseRtpHeader(rx.got[3]!, h));
  assert.deepEqual([h.sequenceNumber, h.timestamp, h.payloadLength], [10, 12000, vp8Key.length]);
  video.close();
  rx.socket.close();
});
