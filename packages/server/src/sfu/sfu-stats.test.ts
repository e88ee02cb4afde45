// SfuStats sums live Receivers/DownTracks and keeps the final counts of closed ones; latency is sampled.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '@atrium/webrtc/clock.js';
import { createRtpHeader, parseRtpHeader, serializeRtpPacket } from '@atrium/webrtc/rtp/index.js';
import { DownTrack } from './down-track.js';
import { Receiver } from './receiver.js';
import { SfuStats } from './sfu-stats.js';

const SSRC = 0x1234;
const VP8_KEY = Uint8Array.of(0x10, 0x00, 0x9d, 0x01, 0x2a);

test('counters by kind survive close; NACKs and PLIs from subscribers are counted', () => {
  const clock = new ManualClock();
  const samples: number[] = [];
  const stats = new SfuStats({ forwardLatency: { observe: (ns) => samples.push(ns) }, latencySampleEvery: 4 });
  const receiver = new Receiver({ kind: 'video', mimeType: 'video/VP8', clockRate: 90000, ssrc: SSRC, sendRtcp: () => {}, clock, stats });
  const down = new DownTrack({ source: receiver, ssrc: 99, payloadType: 96, send: () => {}, clock, stats, initialSeq: 100 });
  receiver.addSender(down);
  assert.equal(stats.liveReceivers, 1);
  assert.equal(stats.liveDownTracks, 1);
  const h = createRtpHeader();
  let bytes = 0;
  for (let seq = 1; seq <= 10; seq++) {
    const buf = serializeRtpPacket({ payloadType: 96, sequenceNumber: seq, timestamp: seq * 3000, ssrc: SSRC, payload: VP8_KEY });
    assert.ok(parseRtpHeader(buf, h));
    bytes += buf.length;
    receiver.writeRtp(buf, h);
  }
  down.handleRtcp([{ type: 'nack', senderSsrc: 7, mediaSsrc: 99, lostSeqs: [105] }]);
  down.handleRtcp([{ type: 'pli', senderSsrc: 7, mediaSsrc: 99 }]);
  clock.advance(350); // every packet was a key frame: the PLI waits out the publisher's minimum interval after one
  let s = stats.snapshot();
  assert.equal(s.video.packetsIn, 10);
  assert.equal(s.video.bytesIn, bytes);
  assert.equal(s.video.nacksIn, 1);
  assert.equal(s.video.plisIn, 1);
  assert.equal(s.video.retransmitPacketsOut, 1, 'seq 105 was retransmitted from the cache');
  assert.equal(s.video.packetsOut, 11);
  assert.equal(s.video.bytesOut, bytes + s.video.retransmitBytesOut);
  assert.ok(s.video.retransmitBytesOut > 0);
  assert.ok(s.video.plisOut >= 1, 'the subscriber PLI (and the first DownTrack) asked the publisher for a keyframe');
  assert.deepEqual(s.audio, stats.snapshot().audio);
  assert.equal(s.audio.packetsIn, 0);
  assert.equal(samples.length, 2, 'one sample per 4 forwarded packets');
  assert.ok(samples.every((ns) => ns === 0), 'the manual clock does not move inside writeRtp');
  const before = s.video;
  receiver.close();
  assert.equal(stats.liveReceivers, 0);
  assert.equal(stats.liveDownTracks, 0);
  s = stats.snapshot();
  assert.deepEqual(s.video, before, 'closed objects keep their counts in the totals');
  receiver.close();
  assert.deepEqual(stats.snapshot().video, before, 'close is idempotent: nothing counted twice');
});

test('latency samples follow the fan-out: a packet handed to more DownTracks than the sampling interval is sampled every time', () => {
  const clock = new ManualClock();
  const samples: number[] = [];
  const stats = new SfuStats({ forwardLatency: { observe: (ns) => samples.push(ns) }, latencySampleEvery: 4 });
  const receiver = new Receiver({ kind: 'video', mimeType: 'video/VP8', clockRate: 90000, ssrc: SSRC, sendRtcp: () => {}, clock, stats });
  const downs = Array.from({ length: 6 }, (_, i) => new DownTrack({ source: receiver, ssrc: 100 + i, payloadType: 96, send: () => {}, clock, stats, initialSeq: 1 }));
  for (const d of downs) receiver.addSender(d);
  const h = createRtpHeader();
  for (let seq = 1; seq <= 10; seq++) {
    const buf = serializeRtpPacket({ payloadType: 96, sequenceNumber: seq, timestamp: seq * 3000, ssrc: SSRC, payload: VP8_KEY });
    assert.ok(parseRtpHeader(buf, h));
    receiver.writeRtp(buf, h);
  }
  assert.equal(samples.length, 10, 'six sends per packet, one sample per four sends: every packet');
  receiver.close();
});
