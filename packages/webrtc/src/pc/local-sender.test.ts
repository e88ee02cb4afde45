// LocalSender's RTX stream: retransmissions wrapped per RFC 4588 §4 and padding-only packets, golden bytes and the
// header-stamp stage writing transport-wide sequence numbers into both.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../clock.js';
import { silentLogger } from '../logger.js';
import { HeaderExtensionUri } from '../sdp/capabilities.js';
import { createRtpHeader, findHeaderExtension, headerExtensionLength, parseRtpHeader, serializeRtpPacket } from '../rtp/index.js';
import type { RtpHeader } from '../rtp/index.js';
import { HeaderStampStage } from '../stages/header-stamp-stage.js';
import { bindSendChain } from '../stages/rtp-stage.js';
import type { RtpSendStage, StageContext } from '../stages/rtp-stage.js';
import { StageScheduler } from '../stages/stage-scheduler.js';
import { LocalSender } from './local-sender.js';

const MEDIA_SSRC = 0x11112222;
const RTX_SSRC = 0x33334444;
const TWCC_ID = 3;
const ABS_ID = 2;

function videoSender(opts: { rtxSsrc?: number } = { rtxSsrc: RTX_SSRC }): LocalSender {
  return new LocalSender({
    kind: 'video', streamId: 's', trackId: 't', ssrc: MEDIA_SSRC, mid: '0',
    codec: { mimeType: 'video/VP8', clockRate: 90000, rtcpFeedback: [], withRtx: true, preferredPayloadType: 96 },
    transport: { sendRtp: () => {}, sendRtcp: () => {} },
    ...(opts.rtxSsrc !== undefined ? { rtxSsrc: opts.rtxSsrc } : {}),
  });
}

function capture(): { tail: RtpSendStage; sent: Buffer[] } {
  const sent: Buffer[] = [];
  return { tail: { send: (buf) => sent.push(Buffer.from(buf)) }, sent };
}

const extensions = [
  { id: TWCC_ID, value: Uint8Array.of(0, 0) },
  { id: ABS_ID, value: Uint8Array.of(0, 0, 0) },
  { id: 5, value: Uint8Array.of(0xab, 0xcd) },
];

function mediaPacket(seq: number, opts: { paddingLength?: number; timestamp?: number } = {}): { buf: Buffer; h: RtpHeader } {
  const buf = serializeRtpPacket({
    payloadType: 96, sequenceNumber: seq, timestamp: opts.timestamp ?? 123456, ssrc: MEDIA_SSRC, marker: true,
    csrcs: [0x0a0b0c0d], extensions, payload: Uint8Array.from({ length: 10 }, (_, i) => i + 1),
    ...(opts.paddingLength !== undefined ? { paddingLength: opts.paddingLength } : {}),
  });
  const h = createRtpHeader();
  assert.ok(parseRtpHeader(buf, h));
  return { buf, h };
}

test('sendRtx wraps per RFC 4588: RTX pt, ssrc and own seq, OSN first in the payload, padding removed, header kept', () => {
  const sender = videoSender();
  sender.rtxPayloadType = 97;
  const { tail, sent } = capture();
  sender.setStages(tail);
  const original = mediaPacket(0xfffe, { paddingLength: 7 });
  const before = Buffer.from(original.buf);
  assert.equal(sender.sendRtx(original.buf, original.h), true);
  assert.equal(sender.sendRtx(mediaPacket(3).buf, mediaPacket(3).h), true);
  assert.deepEqual(original.buf, before, 'the original is not touched');
  assert.equal(sent.length, 2);
  const h = createRtpHeader();
  assert.ok(parseRtpHeader(sent[0]!, h));
  const firstSeq = h.sequenceNumber;
  const expected = serializeRtpPacket({
    payloadType: 97, sequenceNumber: firstSeq, timestamp: 123456, ssrc: RTX_SSRC, marker: true, csrcs: [0x0a0b0c0d],
    extensions, payload: Uint8Array.of(0xff, 0xfe, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10),
  });
  assert.deepEqual(sent[0], expected, 'golden bytes');
  assert.ok(parseRtpHeader(sent[1]!, h));
  assert.equal(h.sequenceNumber, (firstSeq + 1) & 0xffff, 'RTX has its own counter');
  assert.equal(sent[1]!.readUInt16BE(h.payloadOffset), 3, 'OSN');
  assert.deepEqual([sender.rtxPacketsSent, sender.rtxBytesSent], [2, sent[0]!.length + sent[1]!.length]);
  assert.equal(sender.packetsSent, 0, 'retransmissions are not counted as media');
});

test('sendRtx: false (nothing sent) when RTX is not negotiated or the sender has no RTX SSRC', () => {
  const { tail, sent } = capture();
  const notNegotiated = videoSender();
  notNegotiated.setStages(tail);
  const p = mediaPacket(1);
  assert.equal(notNegotiated.sendRtx(p.buf, p.h), false);
  const noRtx = videoSender({});
  noRtx.rtxPayloadType = 97;
  noRtx.setStages(tail);
  assert.equal(noRtx.sendRtx(p.buf, p.h), false);
  assert.equal(noRtx.canSendPadding, false);
  assert.equal(noRtx.sendPadding(100, tail), 0);
  assert.equal(sent.length, 0);
});

test('RTX packets go through the send stages: the header-stamp stage gives them a transport-wide sequence number', () => {
  const clock = new ManualClock();
  const ctx: StageContext = {
    clock, logger: silentLogger, scheduler: new StageScheduler({ clock }), localSsrc: 1, sendRtcp: () => {}, sendRtcpBytes: () => {},
  };
  const stamp = new HeaderStampStage(ctx);
  const sender = videoSender();
  sender.rtxPayloadType = 97;
  sender.headerExtensions = [{ id: TWCC_ID, uri: HeaderExtensionUri.transportCc }, { id: ABS_ID, uri: HeaderExtensionUri.absSendTime }];
  const { tail, sent } = capture();
  sender.setStages(bindSendChain([stamp], sender, tail));
  const p = mediaPacket(10);
  sender.sendRtp(p.buf, p.h);
  clock.advance(5);
  sender.sendRtx(p.buf, p.h);
  const h = createRtpHeader();
  assert.ok(parseRtpHeader(sent[1]!, h));
  assert.equal(sent[1]!.readUInt16BE(findHeaderExtension(sent[1]!, h, TWCC_ID)), 1);
  assert.equal(stamp.history.sendTimeMs(1), 5);
  assert.equal(stamp.history.sizeBytes(1), sent[1]!.length);
  assert.equal(stamp.history.probeClusterId(1), -1);
  assert.ok(parseRtpHeader(sent[1]!, h) && h.ssrc === RTX_SSRC);
});

test('padding-only packets: RTX ssrc/pt/seq, last media timestamp, P bit and count, slots for transport-cc and abs-send-time', () => {
  const sender = videoSender();
  const { tail, sent } = capture();
  sender.setStages(tail);
  assert.equal(sender.canSendPadding, false, 'no RTX negotiated yet');
  sender.rtxPayloadType = 97;
  sender.headerExtensions = [{ id: TWCC_ID, uri: HeaderExtensionUri.transportCc }, { id: ABS_ID, uri: HeaderExtensionUri.absSendTime }];
  const media = mediaPacket(1, { timestamp: 90000 });
  sender.sendRtp(media.buf, media.h);
  sender.sendRtx(media.buf, media.h);
  assert.equal(sender.canSendPadding, true);
  const size = sender.sendPadding(200, tail);
  assert.equal(size, 12 + 4 + 8 + 200);
  const pad = sent[2]!;
  assert.equal(pad.length, size);
  const h = createRtpHeader();
  assert.ok(parseRtpHeader(sent[1]!, h));
  const rtxSeq = h.sequenceNumber;
  assert.ok(parseRtpHeader(pad, h));
  assert.deepEqual(
    [h.padding, h.marker, h.payloadType, h.ssrc, h.sequenceNumber, h.timestamp, h.payloadLength, h.paddingLength],
    [true, false, 97, RTX_SSRC, (rtxSeq + 1) & 0xffff, 90000, 0, 200],
  );
  assert.equal(pad[pad.length - 1], 200);
  assert.equal(h.extensionProfile, 0xbede);
  assert.equal(headerExtensionLength(pad, h, TWCC_ID), 2);
  assert.equal(headerExtensionLength(pad, h, ABS_ID), 3);
  assert.deepEqual([sender.paddingPacketsSent, sender.paddingBytesSent], [1, size]);
  // Golden: the same packet built by the generic serializer.
  assert.deepEqual(pad, serializeRtpPacket({
    payloadType: 97, sequenceNumber: (rtxSeq + 1) & 0xffff, timestamp: 90000, ssrc: RTX_SSRC, payload: new Uint8Array(0),
    extensions: [{ id: TWCC_ID, value: Uint8Array.of(0, 0) }, { id: ABS_ID, value: Uint8Array.of(0, 0, 0) }], paddingLength: 200,
  }));
  // At most 255 bytes of padding per packet.
  assert.equal(sender.sendPadding(1000, tail), 12 + 4 + 8 + 255);
});

test('padding-only packets: two-byte extension form for ids above 14, no extension block when none is negotiated', () => {
  const sender = videoSender();
  sender.rtxPayloadType = 97;
  const { tail, sent } = capture();
  sender.headerExtensions = [{ id: 20, uri: HeaderExtensionUri.transportCc }, { id: 21, uri: HeaderExtensionUri.absSendTime }];
  assert.equal(sender.sendPadding(50, tail), 12 + 4 + 12 + 50);
  const h = createRtpHeader();
  assert.ok(parseRtpHeader(sent[0]!, h));
  assert.equal(h.extensionProfile, 0x1000);
  assert.equal(headerExtensionLength(sent[0]!, h, 20), 2);
  assert.equal(headerExtensionLength(sent[0]!, h, 21), 3);
  sender.headerExtensions = [];
  assert.equal(sender.sendPadding(50, tail), 12 + 50);
  assert.ok(parseRtpHeader(sent[1]!, h));
  assert.deepEqual([h.extension, h.padding, h.paddingLength], [false, true, 50]);
});
