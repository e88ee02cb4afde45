import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '@atrium/webrtc/clock.js';
import {
  createRtpHeader,
  ntpFromWallMs,
  ntpMiddle32,
  parseRtcp,
  parseRtpHeader,
  serializeRtpPacket,
} from '@atrium/webrtc/rtp/index.js';
import type { RtcpPacket } from '@atrium/webrtc/rtp/index.js';
import { DownTrack } from './down-track.js';
import { Receiver } from './receiver.js';
import type { ReceiverOptions } from './receiver.js';

const PUB_SSRC = 0x1234abcd;
const VP8_KEY = Uint8Array.of(0x10, 0x00, 0x9d, 0x01, 0x2a);
const VP8_DELTA = Uint8Array.of(0x10, 0x01, 0x9d);

function setup(kind: 'audio' | 'video', extra: Partial<ReceiverOptions> = {}) {
  const clock = new ManualClock();
  const rtcp: RtcpPacket[][] = [];
  const receiver = new Receiver({
    kind,
    mimeType: kind === 'video' ? 'video/VP8' : 'audio/opus',
    clockRate: kind === 'video' ? 90000 : 48000,
    ssrc: PUB_SSRC,
    localSsrc: 5,
    sendRtcp: (b) => rtcp.push(parseRtcp(b)),
    clock,
    ...extra,
  });
  const h = createRtpHeader();
  const write = (seq: number, payload: Uint8Array = VP8_DELTA, ssrc = PUB_SSRC): Buffer => {
    const buf = serializeRtpPacket({ payloadType: 96, sequenceNumber: seq & 0xffff, timestamp: seq * 3000, ssrc, payload });
    assert.ok(parseRtpHeader(buf, h));
    receiver.writeRtp(buf, h);
    return buf;
  };
  const subscriber = (ssrc: number) => {
    const sent: Buffer[] = [];
    const track = new DownTrack({
      source: receiver,
      ssrc,
      payloadType: 100,
      send: (p) => sent.push(Buffer.from(p)),
      clock,
      initialSeq: 100,
      initialTimestamp: 0,
    });
    receiver.addDownTrack(track);
    return { track, sent };
  };
  return { clock, rtcp, receiver, write, subscriber };
}

const seqsOf = (pkts: Buffer[]): number[] => {
  const h = createRtpHeader();
  return pkts.map((p) => (parseRtpHeader(p, h), h.sequenceNumber));
};

test('fans every packet out to each DownTrack with its own SSRC', () => {
  const { write, subscriber, receiver } = setup('audio');
  const a = subscriber(0xa);
  const b = subscriber(0xb);
  for (let s = 1; s <= 3; s++) write(s, Uint8Array.of(s));
  const h = createRtpHeader();
  assert.deepEqual(a.sent.map((p) => (parseRtpHeader(p, h), h.ssrc)), [0xa, 0xa, 0xa]);
  assert.deepEqual(seqsOf(b.sent), [100, 101, 102]);
  assert.equal(receiver.packetsReceived, 3);
  write(4, Uint8Array.of(4), 999);
  assert.equal(receiver.unknownSsrcPackets, 1);
});

test('PLI upstream: one when a DownTrack is added, then at most one per 500 ms (the last deferred)', () => {
  const { clock, rtcp, receiver, subscriber } = setup('video');
  subscriber(0xa);
  assert.deepEqual(rtcp, [[{ type: 'pli', senderSsrc: 5, mediaSsrc: PUB_SSRC }]]);
  clock.advance(100);
  receiver.requestKeyframe();
  receiver.requestKeyframe();
  subscriber(0xb);
  assert.equal(rtcp.length, 1, 'throttled');
  clock.advance(399);
  assert.equal(rtcp.length, 1);
  clock.advance(1);
  assert.equal(rtcp.length, 2, 'deferred request sent at 500 ms');
  clock.advance(2000);
  assert.equal(rtcp.length, 2, 'nothing else pending');
  assert.equal(receiver.keyframeRequestsSent, 2);
});

test('a keyframe arriving cancels the deferred PLI', () => {
  const { clock, rtcp, receiver, subscriber, write } = setup('video');
  subscriber(0xa);
  clock.advance(100);
  receiver.requestKeyframe();
  write(1, VP8_KEY);
  clock.advance(1000);
  assert.equal(rtcp.length, 1);
  assert.equal(receiver.keyframesReceived, 1);
});

test('audio never sends PLI', () => {
  const { rtcp, receiver, subscriber } = setup('audio');
  subscriber(0xa);
  receiver.requestKeyframe();
  assert.equal(rtcp.length, 0);
});

test('keyframe request before the SSRC is known is sent with the first packet', () => {
  const { rtcp, subscriber, write } = setup('video', { ssrc: undefined } as Partial<ReceiverOptions>);
  subscriber(0xa);
  assert.equal(rtcp.length, 0);
  write(1);
  assert.deepEqual(rtcp, [[{ type: 'pli', senderSsrc: 5, mediaSsrc: PUB_SSRC }]]);
});

test('video DownTrack starts at the keyframe; upstream loss is NACKed to the publisher', () => {
  const { clock, rtcp, write, subscriber } = setup('video');
  const a = subscriber(0xa);
  rtcp.length = 0;
  write(65534);
  write(65535, VP8_KEY);
  write(65536);
  write(65539); // 65537 (=1) and 65538 (=2) lost upstream
  assert.deepEqual(seqsOf(a.sent), [100, 101, 104]);
  clock.advance(40);
  assert.deepEqual(rtcp, [[{ type: 'nack', senderSsrc: 5, mediaSsrc: PUB_SSRC, lostSeqs: [1, 2] }]]);
  write(65537); // recovered: forwarded late with its own slot in the outgoing sequence
  assert.deepEqual(seqsOf(a.sent), [100, 101, 104, 102]);
  clock.advance(200);
  const nacks = rtcp.slice(1).flat();
  assert.ok(nacks.every((p) => p.type === 'nack' && p.lostSeqs.length === 1 && p.lostSeqs[0] === 2));
});

test('subscriber NACK is answered from the receiver cache with the munged sequence number', () => {
  const { write, subscriber } = setup('video');
  const a = subscriber(0xa);
  const originals = [write(10, VP8_KEY), write(11), write(12)];
  a.sent.length = 0;
  a.track.handleRtcp([{ type: 'nack', senderSsrc: 9, mediaSsrc: 0xa, lostSeqs: [101] }]);
  assert.equal(a.sent.length, 1);
  const h = createRtpHeader();
  assert.ok(parseRtpHeader(a.sent[0]!, h));
  assert.deepEqual([h.sequenceNumber, h.ssrc, h.payloadType, h.timestamp], [101, 0xa, 100, 3000]);
  assert.deepEqual(a.sent[0]!.subarray(12), originals[1]!.subarray(12), 'payload intact');
});

test('publisher SR feeds the RR (LSR/DLSR) and the DownTrack SR mapping', () => {
  const { clock, receiver, write, subscriber } = setup('audio');
  const a = subscriber(0xa);
  assert.equal(receiver.receiverReport(), null);
  write(1);
  write(3);
  const ntp = ntpFromWallMs(1_650_000_000_000);
  receiver.handleRtcp([{ type: 'sr', ssrc: PUB_SSRC, ntpTimestamp: ntp, rtpTimestamp: 3000, packetCount: 3, octetCount: 3, reports: [] }]);
  clock.advance(250);
  const rr = receiver.receiverReport();
  assert.ok(rr);
  assert.equal(rr.ssrc, 5);
  const rb = rr.reports[0]!;
  assert.deepEqual(
    [rb.ssrc, rb.cumulativeLost, rb.fractionLost, rb.highestSeq, rb.lastSr, rb.delaySinceLastSr],
    [PUB_SSRC, 1, 85, 3, ntpMiddle32(ntp), 16384],
  );
  const sr = a.track.senderReport(clock.wallMs());
  assert.ok(sr);
  // out ts = in ts - 3000 (first input ts 3000 -> 0); publisher RTP at SR + 250 ms at 48 kHz.
  assert.equal(sr.rtpTimestamp, 3000 + 250 * 48 - 3000);
});

test('publisher mute reaches DownTracks; close cascades and clears timers', () => {
  const { clock, receiver, write, subscriber } = setup('video');
  const a = subscriber(0xa);
  write(1, VP8_KEY);
  receiver.setMuted(true);
  write(2);
  const b = subscriber(0xb); // added while muted
  write(3, VP8_KEY);
  receiver.setMuted(false);
  write(4); // video resumes only at a keyframe
  write(5, VP8_KEY);
  assert.deepEqual(seqsOf(a.sent), [100, 101]);
  assert.deepEqual(seqsOf(b.sent), [100]);
  receiver.close();
  receiver.close();
  assert.equal(a.track.isClosed, true);
  assert.equal(b.track.isClosed, true);
  assert.equal(receiver.downTrackCount, 0);
  assert.equal(clock.pendingTimers, 0);
  write(6, VP8_KEY);
  assert.equal(a.sent.length, 2);
});

test('a DownTrack closing itself is removed from the fan-out', () => {
  const { write, subscriber, receiver } = setup('audio');
  const a = subscriber(0xa);
  const b = subscriber(0xb);
  write(1);
  a.track.close();
  write(2);
  assert.equal(receiver.downTrackCount, 1);
  assert.equal(a.sent.length, 1);
  assert.equal(b.sent.length, 2);
});

test('simulcast: subscribers move to the best flowing layer at its key frame and fall back when it stops', () => {
  const LOW = 0x1111;
  const HIGH = 0x2222;
  const { clock, receiver, write, subscriber } = setup('video', { ssrc: LOW, rank: 1 });
  const high = receiver.addStream({ ssrc: HIGH, rank: 3 });
  assert.equal(high, 1);
  const { sent } = subscriber(0xabc);
  const ssrcOfPayload = (p: Buffer): number => p[p.length - 1]!;
  const frame = (seq: number, ssrc: number, key: boolean): void => {
    const payload = Uint8Array.of(0x10, key ? 0x00 : 0x01, 0x9d, ssrc === LOW ? 1 : 2);
    write(seq, payload, ssrc);
  };

  // Only the low layer flows: it is forwarded from its key frame.
  frame(1, LOW, true);
  frame(2, LOW, false);
  assert.equal(receiver.updateLayerSelection(), false);
  assert.deepEqual(sent.map(ssrcOfPayload), [1, 1]);

  // The high layer starts: the selection moves up, but the switch waits for a high key frame.
  clock.advance(10);
  frame(100, HIGH, false);
  assert.equal(receiver.updateLayerSelection(), true);
  assert.equal(receiver.currentSourceId, high);
  frame(3, LOW, false);
  frame(101, HIGH, false);
  frame(102, HIGH, true);
  frame(4, LOW, false);
  frame(103, HIGH, false);
  assert.deepEqual(sent.map(ssrcOfPayload), [1, 1, 1, 2, 2]);
  // Outgoing sequence numbers stay continuous across the switch.
  assert.deepEqual(seqsOf(sent), [100, 101, 102, 103, 104]);

  // The high layer goes quiet for longer than the window: back to the low layer at its next key frame.
  clock.advance(1500);
  frame(5, LOW, false);
  assert.equal(receiver.updateLayerSelection(), true);
  assert.equal(receiver.currentSourceId, 0);
  frame(6, LOW, true);
  assert.deepEqual(sent.map(ssrcOfPayload).slice(-1), [1]);
  receiver.close();
});
