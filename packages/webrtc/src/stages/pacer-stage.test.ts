// The pacer send stage on a manual clock: pass-through when unlimited or under the rate, key-frame bursts spread at the
// pacing rate, audio and retransmissions first, stale video dropped (never audio), probe clusters of padding marked in
// the SendHistory.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../clock.js';
import { silentLogger } from '../logger.js';
import { HeaderExtensionUri } from '../sdp/capabilities.js';
import { createRtpHeader, findHeaderExtension, parseRtpHeader, serializeRtpPacket } from '../rtp/index.js';
import type { RtpHeader } from '../rtp/index.js';
import { LocalSender } from '../pc/local-sender.js';
import { HeaderStampStage } from './header-stamp-stage.js';
import { PacerStage } from './pacer-stage.js';
import type { PacerOptions, ProbeClusterResult } from './pacer-stage.js';
import { bindSendChain } from './rtp-stage.js';
import type { StageContext } from './rtp-stage.js';
import { StageScheduler } from './stage-scheduler.js';

const TWCC_ID = 3;
const ABS_ID = 2;
const VIDEO_SSRC = 0x1000;
const RTX_SSRC = 0x1001;
const AUDIO_SSRC = 0x2000;

interface Sent { atMs: number; ssrc: number; seq: number; size: number; twcc: number; isPadding: boolean; buf: Buffer }

function setup(opts: PacerOptions = {}, rtx = true) {
  const clock = new ManualClock();
  const ctx: StageContext = { clock, logger: silentLogger, scheduler: new StageScheduler({ clock }), localSsrc: 1, sendRtcp: () => {}, sendRtcpBytes: () => {} };
  const pacer = new PacerStage(ctx, { pacingFactor: 1, ...opts });
  const stamp = new HeaderStampStage(ctx);
  pacer.setProbeMarker(stamp);
  const sent: Sent[] = [];
  const th = createRtpHeader();
  const tail = {
    send: (buf: Buffer) => {
      assert.ok(parseRtpHeader(buf, th));
      const at = findHeaderExtension(buf, th, TWCC_ID);
      sent.push({
        atMs: clock.nowMs(), ssrc: th.ssrc, seq: th.sequenceNumber, size: buf.length, twcc: at >= 0 ? buf.readUInt16BE(at) : -1,
        isPadding: th.padding && th.payloadLength === 0, buf,
      });
    },
  };
  const make = (kind: 'audio' | 'video', ssrc: number, rtxSsrc?: number): LocalSender => {
    const s = new LocalSender({
      kind, streamId: 's', trackId: kind, ssrc, mid: kind === 'audio' ? '1' : '0',
      codec: kind === 'audio'
        ? { mimeType: 'audio/opus', clockRate: 48000, channels: 2, rtcpFeedback: [], preferredPayloadType: 111 }
        : { mimeType: 'video/VP8', clockRate: 90000, rtcpFeedback: [], withRtx: true, preferredPayloadType: 96 },
      transport: { sendRtp: () => {}, sendRtcp: () => {} },
      ...(rtxSsrc !== undefined ? { rtxSsrc } : {}),
    });
    s.headerExtensions = [{ id: TWCC_ID, uri: HeaderExtensionUri.transportCc }, { id: ABS_ID, uri: HeaderExtensionUri.absSendTime }];
    s.setStages(bindSendChain([pacer, stamp], s, tail));
    return s;
  };
  const video = make('video', VIDEO_SSRC, RTX_SSRC);
  if (rtx) video.rtxPayloadType = 97;
  const audio = make('audio', AUDIO_SSRC);
  const h: RtpHeader = createRtpHeader();
  const packet = (sender: LocalSender, seq: number, payloadBytes: number): Buffer => serializeRtpPacket({
    payloadType: sender.payloadType, sequenceNumber: seq, timestamp: seq * 10, ssrc: sender.ssrc,
    extensions: [{ id: TWCC_ID, value: Uint8Array.of(0, 0) }, { id: ABS_ID, value: Uint8Array.of(0, 0, 0) }],
    payload: Buffer.alloc(payloadBytes),
  });
  /** Sends one media packet of `size` bytes in all; returns the buffer handed over. */
  const send = (sender: LocalSender, seq: number, size: number): Buffer => {
    const buf = packet(sender, seq, size - 24);
    assert.equal(buf.length, size);
    assert.ok(parseRtpHeader(buf, h));
    sender.sendRtp(buf, h);
    return buf;
  };
  return { clock, ctx, pacer, stamp, sent, video, audio, send, packet };
}

test('unlimited (the default): a pass-through, same buffers, nothing queued, no timer', () => {
  const { clock, pacer, sent, video, send } = setup();
  assert.equal(pacer.isPassThrough, true);
  assert.equal(pacer.pacingRateBps, Infinity);
  const bufs: Buffer[] = [];
  for (let i = 0; i < 500; i++) bufs.push(send(video, i, 1200));
  assert.equal(sent.length, 500);
  assert.ok(sent.every((s, i) => s.buf === bufs[i]), 'no copy');
  assert.deepEqual([pacer.queuedPackets, pacer.packetsPaced, clock.pendingTimers], [0, 0, 0]);
});

test('under the rate: packets go straight through with no copy and no queue', () => {
  const { clock, pacer, sent, video, audio, send } = setup();
  pacer.setRateBps(1_000_000);
  assert.equal(pacer.isPassThrough, false);
  for (let i = 0; i < 100; i++) {
    const v = send(video, i, 1200); // 1,200 bytes every 20 ms: 480 kbit/s
    assert.equal(sent.at(-1)!.buf, v, 'sent at once, the same buffer');
    send(audio, i, 100);
    assert.equal(sent.length, 2 * (i + 1));
    clock.advance(20);
  }
  assert.deepEqual([pacer.queuedPackets, pacer.packetsPaced, pacer.packetsDroppedStale], [0, 0, 0]);
});

test('a key-frame burst of 60 packets at 1 Mbit/s is spread over ~530 ms, in order, within the bucket at every moment', () => {
  // The burst needs more than the default 500 ms age limit at this rate: allow 1 s here.
  const { clock, pacer, stamp, sent, video, send } = setup({ maxQueueDelayMs: 1000 });
  pacer.setRateBps(1_000_000); // pacingFactor 1: 125 bytes per ms, bucket 40 ms = 5,000 bytes
  for (let i = 0; i < 60; i++) send(video, i, 1200);
  const atOnce = sent.length;
  assert.ok(atOnce >= 4 && atOnce <= 5, `${atOnce} packets within the burst allowance`);
  assert.equal(pacer.queuedPackets, 60 - atOnce);
  assert.equal(pacer.queuedBytes, (60 - atOnce) * 1200);
  clock.advance(100);
  assert.equal(pacer.oldestQueuedAgeMs, 100);
  clock.advance(600);
  assert.equal(sent.length, 60);
  assert.deepEqual(sent.map((s) => s.seq), [...Array(60).keys()], 'in order');
  // 72,000 bytes: the 5,000-byte bucket, then 125 bytes per ms; the last packet leaves once the bucket is positive.
  const last = sent.at(-1)!.atMs;
  assert.ok(last >= 520 && last <= 540, `last packet at ${last} ms`);
  let bytes = 0;
  for (const s of sent) {
    bytes += s.size;
    assert.ok(bytes <= 5000 + 125 * s.atMs + 1200, `${bytes} bytes by ${s.atMs} ms`);
  }
  // The send history has the time each packet actually left, not when it was queued.
  for (const s of sent) assert.equal(stamp.history.sendTimeMs(s.twcc), s.atMs);
  assert.equal(pacer.packetsPaced, 60 - atOnce);
  assert.deepEqual([pacer.queuedPackets, pacer.queuedBytes, pacer.oldestQueuedAgeMs], [0, 0, 0]);
  clock.advance(1000);
  assert.equal(clock.pendingTimers, 0, 'idle: no timer');
});

test('audio is never queued behind video; retransmissions leave before queued fresh video', () => {
  const { clock, pacer, sent, video, audio, send, packet } = setup();
  pacer.setRateBps(1_000_000);
  for (let i = 0; i < 30; i++) send(video, i, 1200);
  assert.ok(pacer.queuedPackets > 20);
  const before = sent.length;
  send(audio, 1, 120);
  assert.equal(sent.length, before + 1);
  assert.equal(sent.at(-1)!.ssrc, AUDIO_SSRC, 'audio left at once');
  const original = packet(video, 3, 1000);
  const h = createRtpHeader();
  assert.ok(parseRtpHeader(original, h));
  assert.equal(video.sendRtx(original, h), true);
  assert.equal(sent.length, before + 1, 'the retransmission waits for the bucket, but first in line');
  clock.advance(30);
  const next = sent[before + 1]!;
  assert.equal(next.ssrc, RTX_SSRC);
  assert.ok(parseRtpHeader(next.buf, h));
  assert.equal(next.buf.readUInt16BE(h.payloadOffset), 3, 'OSN 3');
  clock.advance(1000);
  assert.equal(sent.filter((s) => s.ssrc === VIDEO_SSRC).length, 30);
});

test('under heavy congestion stale video is dropped past 500 ms, counted; audio is never dropped or delayed', () => {
  const { clock, pacer, sent, video, audio, send } = setup();
  pacer.setRateBps(100_000); // 12.5 bytes per ms: far below what is sent
  let videoSeq = 0;
  let audioSent = 0;
  for (let t = 0; t < 3000; t += 20) {
    for (let k = 0; k < 3; k++) send(video, videoSeq++, 1200);
    const n = sent.length;
    send(audio, audioSent++, 100);
    assert.equal(sent.length, n + 1, 'audio at once');
    assert.ok(pacer.oldestQueuedAgeMs <= 500 + 5, `oldest queued ${pacer.oldestQueuedAgeMs} ms`);
    clock.advance(20);
  }
  assert.equal(sent.filter((s) => s.ssrc === AUDIO_SSRC).length, audioSent);
  assert.ok(pacer.packetsDroppedStale > 0);
  assert.equal(pacer.bytesDroppedStale, pacer.packetsDroppedStale * 1200);
  const videoSent = sent.filter((s) => s.ssrc === VIDEO_SSRC).length;
  assert.equal(videoSent + pacer.packetsDroppedStale + pacer.queuedPackets, videoSeq, 'every video packet sent, dropped or queued');
  // Each video packet that left waited at most the age limit (seq * 20 / 3 ms is when it was handed over).
  for (const s of sent) if (s.ssrc === VIDEO_SSRC) assert.ok(s.atMs - Math.floor(s.seq / 3) * 20 <= 501, `seq ${s.seq} at ${s.atMs}`);
  // Back to unlimited: what is queued leaves at once.
  pacer.setRateBps(Infinity);
  assert.deepEqual([pacer.queuedPackets, pacer.isPassThrough], [0, true]);
});

test('the queue is bounded in bytes: the oldest video goes first', () => {
  const { pacer, video, send } = setup({ maxQueueBytes: 12_000 });
  pacer.setRateBps(100_000);
  for (let i = 0; i < 40; i++) send(video, i, 1200);
  assert.ok(pacer.queuedBytes <= 12_000);
  assert.ok(pacer.packetsDroppedOverflow > 0);
  assert.equal(pacer.bytesDroppedOverflow, pacer.packetsDroppedOverflow * 1200);
});

test('a probe cluster sends media + padding at its target over its duration, every packet marked in the SendHistory', () => {
  const { clock, pacer, stamp, sent, video, send } = setup();
  pacer.setRateBps(1_000_000);
  send(video, 0, 1000); // media before the cluster
  clock.advance(50);
  assert.equal(pacer.canProbe, true);
  const done: ProbeClusterResult[] = [];
  pacer.onProbeClusterDone = (r) => done.push(r);
  assert.equal(pacer.startProbe({ clusterId: 7, targetBps: 2_000_000, durationMs: 20 }), true);
  assert.equal(pacer.isProbing, true);
  assert.equal(sent.at(-1)!.isPadding, true, 'the first probe packet leaves at once');
  clock.advance(10);
  send(video, 1, 1000); // media during the cluster counts toward it
  clock.advance(15);
  assert.equal(pacer.isProbing, false);
  send(video, 2, 1000);
  const inCluster = sent.filter((s) => stamp.history.probeClusterId(s.twcc) === 7);
  const bytes = inCluster.reduce((n, s) => n + s.size, 0);
  // 2 Mbit/s over 20 ms = 5,000 bytes; padding tops the media up to it, overshooting by at most one padding packet.
  assert.ok(bytes >= 5000 && bytes <= 5000 + 279, `${bytes} bytes in the cluster`);
  assert.equal(pacer.probeBytesSent, bytes);
  assert.equal(pacer.probePacketsSent, inCluster.length);
  assert.equal(pacer.probesStarted, 1);
  assert.deepEqual(done, [{
    clusterId: 7, targetBps: 2_000_000, packetsSent: inCluster.length, bytesSent: bytes, startMs: 50, endMs: 70, wasStopped: false,
  }]);
  assert.ok(inCluster.length >= 5);
  assert.ok(inCluster.some((s) => s.ssrc === VIDEO_SSRC && s.seq === 1), 'media sent during the cluster carries its id');
  assert.equal(stamp.history.probeClusterId(sent[0]!.twcc), -1, 'media before');
  assert.equal(stamp.history.probeClusterId(sent.at(-1)!.twcc), -1, 'media after');
  const padding = inCluster.filter((s) => s.isPadding);
  assert.ok(padding.every((s) => s.ssrc === RTX_SSRC));
  assert.equal(padding[0]!.atMs, 50);
  assert.equal(padding.at(-1)!.atMs, 70, 'spread to the end of the cluster');
  // Spread: at every moment the cluster is within one padding packet of its target so far.
  let sofar = 0;
  for (const s of inCluster) {
    sofar += s.size;
    assert.ok(sofar <= ((s.atMs - 50) * 2_000_000) / 8000 + 2 * 279 + 1000, `${sofar} bytes by ${s.atMs} ms`);
  }
  assert.equal(video.paddingPacketsSent, padding.length);
  clock.advance(100);
  assert.equal(clock.pendingTimers, 0);
});

test('stopProbe ends a cluster at once; no RTX negotiated: no probe possible', () => {
  const { clock, pacer, sent } = setup();
  assert.equal(pacer.startProbe({ clusterId: 1, targetBps: 5_000_000, durationMs: 500 }), true, 'works while unlimited too');
  assert.equal(pacer.isPassThrough, false);
  let stopped: ProbeClusterResult | undefined;
  pacer.onProbeClusterDone = (r) => (stopped = r);
  clock.advance(10);
  pacer.stopProbe();
  assert.equal(pacer.isProbing, false);
  assert.deepEqual([stopped?.clusterId, stopped?.wasStopped, stopped?.endMs], [1, true, 10]);
  assert.equal(pacer.isPassThrough, true);
  const n = sent.length;
  assert.ok(n > 5);
  clock.advance(100);
  assert.equal(sent.length, n, 'no more padding');
  assert.equal(clock.pendingTimers, 0);

  const noRtx = setup({}, false);
  assert.equal(noRtx.pacer.canProbe, false);
  assert.equal(noRtx.pacer.startProbe({ clusterId: 2, targetBps: 1_000_000, durationMs: 20 }), false);
  assert.equal(noRtx.pacer.isProbing, false);
  assert.equal(noRtx.sent.length, 0);
});

test('close: the queue is released and no timer is left', () => {
  const { clock, ctx, pacer, video, send } = setup();
  pacer.setRateBps(200_000);
  for (let i = 0; i < 20; i++) send(video, i, 1200);
  assert.ok(pacer.queuedPackets > 0);
  pacer.startProbe({ clusterId: 3, targetBps: 1_000_000, durationMs: 100 });
  pacer.close();
  ctx.scheduler.close();
  assert.deepEqual([pacer.queuedPackets, pacer.isProbing, clock.pendingTimers], [0, false, 0]);
});
