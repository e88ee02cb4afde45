import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '@atrium/webrtc/clock.js';
import { SeqUnwrapper, createRtpHeader, ntpFromWallMs, parseRtcp, parseRtpHeader, serializeRtpPacket } from '@atrium/webrtc/rtp/index.js';
import type { RtcpPacket, RtpHeader } from '@atrium/webrtc/rtp/index.js';
import { DownTrack } from './down-track.js';
import { Receiver } from './receiver.js';
import type { ReceiverOptions } from './receiver.js';
import type { PacketInfo, TrackSender } from './down-track-source.js';

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
  const unwrappers = new Map<number, SeqUnwrapper>();
  const write = (seq: number, payload: Uint8Array = VP8_DELTA, ssrc = PUB_SSRC): Buffer => {
    const buf = serializeRtpPacket({ payloadType: 96, sequenceNumber: seq & 0xffff, timestamp: seq * 3000, ssrc, payload });
    assert.ok(parseRtpHeader(buf, h));
    let u = unwrappers.get(ssrc);
    if (!u) unwrappers.set(ssrc, (u = new SeqUnwrapper()));
    receiver.writeRtp(buf, h, { extSeq: u.unwrap(seq & 0xffff), arrivalMs: clock.nowMs() });
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
    receiver.addSender(track);
    return { track, sent };
  };
  return { clock, rtcp, receiver, write, subscriber };
}

const seqsOf = (pkts: Buffer[]): number[] => {
  const h = createRtpHeader();
  return pkts.map((p) => (parseRtpHeader(p, h), h.sequenceNumber));
};

test('fans every packet out to each sender with its own SSRC; unknown SSRCs are counted, not forwarded', () => {
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

test('a packet that arrives twice (a late original and its retransmission, RTX payload padding) is forwarded once', () => {
  const { write, subscriber, receiver } = setup('video');
  const a = subscriber(0xa);
  write(1, VP8_KEY);
  write(3);
  write(2); // late, first time: forwarded
  write(2); // the retransmission of it
  write(3); // padding that resends a recent packet
  write(4);
  assert.deepEqual(seqsOf(a.sent), [100, 102, 101, 103]);
  assert.equal(receiver.duplicatePackets, 2);
  assert.equal(receiver.packetsReceived, 4);
});

test('any TrackSender can attach: it gets the packet, the parsed layers and control events', () => {
  const { receiver, write } = setup('video');
  const seen: { seq: number; isKeyframe: boolean; temporal: number }[] = [];
  const events: string[] = [];
  const recorder: TrackSender = {
    writeRtp: (_b: Uint8Array, h: RtpHeader, info: PacketInfo) => seen.push({ seq: h.sequenceNumber, isKeyframe: info.isKeyframe, temporal: info.temporal }),
    setSourceMuted: (m) => events.push(`muted:${m}`),
    onSourceLayersChanged: () => events.push('layers'),
    close: () => events.push('close'),
  };
  receiver.addSender(recorder);
  write(1, VP8_KEY);
  // X, T: TID 2.
  write(2, Uint8Array.of(0x90, 0x20, 0x80, 0x01));
  receiver.setMuted(true);
  receiver.close();
  assert.deepEqual(seen, [{ seq: 1, isKeyframe: true, temporal: 0 }, { seq: 2, isKeyframe: false, temporal: 2 }]);
  assert.deepEqual(events, ['layers', 'muted:true', 'close']);
});

test('PLI per stream: at most one per 500 ms, the last request deferred', () => {
  const { clock, rtcp, receiver } = setup('video');
  receiver.requestKeyframe(0);
  assert.deepEqual(rtcp, [[{ type: 'pli', senderSsrc: 5, mediaSsrc: PUB_SSRC }]]);
  clock.advance(100);
  receiver.requestKeyframe(0);
  receiver.requestKeyframe();
  assert.equal(rtcp.length, 1, 'throttled');
  clock.advance(399);
  assert.equal(rtcp.length, 1);
  clock.advance(1);
  assert.equal(rtcp.length, 2, 'deferred request sent at 500 ms');
  clock.advance(2000);
  assert.equal(rtcp.length, 2, 'nothing else pending');
  assert.equal(receiver.keyframeRequestsSent, 2);
});

test('simulcast: a PLI goes to the one stream that needs a key frame; each stream has its own throttle', () => {
  const { rtcp, receiver } = setup('video');
  receiver.addStream({ ssrc: 0x2222, spatial: 1 });
  receiver.addStream({ ssrc: 0x3333, spatial: 2 });
  assert.equal(receiver.sourceForSpatial(2), 2);
  receiver.requestKeyframe(receiver.sourceForSpatial(2));
  receiver.requestKeyframe(receiver.sourceForSpatial(1));
  assert.deepEqual(rtcp.flat().map((p) => (p as { mediaSsrc: number }).mediaSsrc), [0x3333, 0x2222]);
  receiver.requestKeyframe();
  assert.deepEqual(rtcp.flat().map((p) => (p as { mediaSsrc: number }).mediaSsrc), [0x3333, 0x2222, PUB_SSRC], 'the others wait');
});

test('a key frame arriving cancels the deferred PLI of its stream', () => {
  const { clock, rtcp, receiver, write } = setup('video');
  receiver.requestKeyframe(0);
  clock.advance(100);
  receiver.requestKeyframe(0);
  write(1, VP8_KEY);
  clock.advance(1000);
  assert.equal(rtcp.length, 1);
  assert.equal(receiver.keyframesReceived, 1);
});

test('PLI after a key frame: it waits out the publisher minimum (350 ms after the key frame), not the 500 ms throttle', () => {
  const { clock, rtcp, receiver, write } = setup('video');
  receiver.requestKeyframe(0);
  assert.equal(rtcp.length, 1);
  clock.advance(100);
  write(1, VP8_KEY); // the answer, at 100 ms
  clock.advance(50);
  receiver.requestKeyframe(0); // a joiner that just missed it, at 150 ms
  assert.equal(rtcp.length, 1, 'the publisher would ignore a request now');
  clock.advance(299);
  assert.equal(rtcp.length, 1);
  clock.advance(1);
  assert.equal(rtcp.length, 2, 'sent at 450 ms: 350 ms after the key frame, before the 500 ms throttle');
  // Unanswered, the throttle holds: the next goes 500 ms after it.
  receiver.requestKeyframe(0);
  clock.advance(499);
  assert.equal(rtcp.length, 2);
  clock.advance(1);
  assert.equal(rtcp.length, 3);
});

test('a request right after an unrequested key frame waits for the publisher to take requests again', () => {
  const { clock, rtcp, receiver, write } = setup('video');
  write(1, VP8_KEY);
  clock.advance(20);
  receiver.requestKeyframe(0);
  assert.equal(rtcp.length, 0);
  clock.advance(330);
  assert.equal(rtcp.length, 1, 'at 350 ms after the key frame');
});

test('a stream whose request falls due before the pending timer (set for another stream) gets its PLI on time', () => {
  const { clock, rtcp, receiver, write } = setup('video');
  receiver.addStream({ ssrc: 0x2222, spatial: 1 });
  receiver.requestKeyframe(0);
  clock.advance(10);
  receiver.requestKeyframe(0); // stream 0 deferred to 500 ms: the timer is set for then
  write(1, VP8_KEY, 0x2222); // stream 1 just had a key frame, at 10 ms
  receiver.requestKeyframe(1); // due at 360 ms, before the timer
  clock.advance(349);
  assert.equal(rtcp.length, 1);
  clock.advance(1);
  assert.deepEqual(rtcp.flat().map((p) => (p as { mediaSsrc: number }).mediaSsrc), [PUB_SSRC, 0x2222]);
  clock.advance(140);
  assert.deepEqual(rtcp.flat().map((p) => (p as { mediaSsrc: number }).mediaSsrc), [PUB_SSRC, 0x2222, PUB_SSRC], 'stream 0 still at 500 ms');
});

test('a mirror receiver (interval 0) relays every request at once, key frame or not', () => {
  const { rtcp, receiver, write } = setup('video', { keyframeRequestIntervalMs: 0 } as Partial<ReceiverOptions>);
  write(1, VP8_KEY);
  receiver.requestKeyframe(0);
  receiver.requestKeyframe(0);
  assert.equal(rtcp.length, 2);
});

test('audio never sends PLI', () => {
  const { rtcp, receiver } = setup('audio');
  receiver.requestKeyframe();
  assert.equal(rtcp.length, 0);
});

test('a key frame request before the SSRC is known is sent with the first packet', () => {
  const { rtcp, receiver, write } = setup('video', { ssrc: undefined } as Partial<ReceiverOptions>);
  receiver.requestKeyframe();
  assert.equal(rtcp.length, 0);
  write(1);
  assert.deepEqual(rtcp, [[{ type: 'pli', senderSsrc: 5, mediaSsrc: PUB_SSRC }]]);
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

test('the publisher SR anchors the DownTrack SR mapping', () => {
  const { clock, receiver, write, subscriber } = setup('audio');
  const a = subscriber(0xa);
  write(1);
  write(3);
  const ntp = ntpFromWallMs(1_650_000_000_000);
  receiver.handleRtcp([{ type: 'sr', ssrc: PUB_SSRC, ntpTimestamp: ntp, rtpTimestamp: 3000, packetCount: 3, octetCount: 3, reports: [] }]);
  clock.advance(250);
  const sr = a.track.senderReport(clock.wallMs());
  assert.ok(sr);
  // out ts = in ts - 3000 (first input ts 3000 -> 0); publisher RTP at SR + 250 ms at 48 kHz.
  assert.equal(sr.rtpTimestamp, 3000 + 250 * 48 - 3000);
});

test('publisher mute reaches senders (also ones added while muted); close cascades and clears timers', () => {
  const { clock, receiver, write, subscriber } = setup('video');
  const a = subscriber(0xa);
  write(1, VP8_KEY);
  receiver.setMuted(true);
  write(2);
  const b = subscriber(0xb); // added while muted
  write(3, VP8_KEY);
  receiver.setMuted(false);
  write(4); // video resumes only at a key frame
  write(5, VP8_KEY);
  assert.deepEqual(seqsOf(a.sent), [100, 101]);
  assert.deepEqual(seqsOf(b.sent), [100]);
  receiver.requestKeyframe();
  receiver.close();
  receiver.close();
  assert.equal(a.track.isClosed, true);
  assert.equal(b.track.isClosed, true);
  assert.equal(receiver.senderCount, 0);
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
  assert.equal(receiver.senderCount, 1);
  assert.equal(a.sent.length, 1);
  assert.equal(b.sent.length, 2);
});

test('layers(): which spatial layers flow, their temporal ids and bitrates; a layer starting tells the senders', () => {
  const { clock, receiver, write } = setup('video');
  receiver.addStream({ ssrc: 0x2222, spatial: 1 });
  let changes = 0;
  receiver.addSender({ writeRtp: () => {}, setSourceMuted: () => {}, onSourceLayersChanged: () => changes++, close: () => {} });
  assert.equal(receiver.layers().activeSpatialMask, 0);
  // Layer 0 with TIDs 0..2, layer 1 with TID 0 only; 10 packets each over 900 ms.
  for (let i = 0; i < 10; i++) {
    write(i, Uint8Array.of(0x90, 0x20, (i % 3) << 6, 0x01)); // X, T: TID i % 3
    write(100 + i, Uint8Array.of(0x90, 0x20, 0x00, 0x01), 0x2222); // TID 0
    clock.advance(100);
  }
  assert.equal(changes, 2, 'each layer announced once when it started');
  let layers = receiver.layers();
  assert.equal(layers.activeSpatialMask, 0b11);
  assert.equal(layers.isSvc, false);
  assert.deepEqual(layers.maxTemporal.slice(0, 2), [2, 0]);
  write(10, VP8_DELTA);
  layers = receiver.layers();
  assert.ok(layers.bitrateBps[0]! > 0 && layers.bitrateBps[1]! > 0, `bitrates ${layers.bitrateBps.join()}`);
  // Layer 1 stops (layer 0 goes on): after the active window it is no longer offered.
  for (let i = 11; i < 22; i++) {
    clock.advance(100);
    write(i, VP8_DELTA);
  }
  assert.equal(receiver.layers().activeSpatialMask, 0b01);
  // It comes back: the senders hear of it.
  write(111, VP8_DELTA, 0x2222);
  assert.equal(changes, 3);
  receiver.close();
});
