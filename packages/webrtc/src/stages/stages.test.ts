import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../clock.js';
import { silentLogger } from '../logger.js';
import { HeaderExtensionUri } from '../sdp/capabilities.js';
import { createRtpHeader, parseRtcp, ntpFromWallMs, ntpMiddle32, parseRtpHeader, serializeRtpPacket } from '../rtp/index.js';
import type { RtcpPacket, RtpHeader } from '../rtp/index.js';
import { RemoteStream } from '../pc/remote-stream.js';
import { LocalSender } from '../pc/local-sender.js';
import { StageScheduler } from './stage-scheduler.js';
import type { TimedStage } from './stage-scheduler.js';
import { NackStage } from './nack-stage.js';
import { ReceiverReportStage } from './receiver-report-stage.js';
import { HeaderStampStage } from './header-stamp-stage.js';
import { bindReceiveChain, bindSendChain } from './rtp-stage.js';
import type { RtpSendStage, StageContext } from './rtp-stage.js';

function context(clock: ManualClock): { ctx: StageContext; rtcp: RtcpPacket[][] } {
  const rtcp: RtcpPacket[][] = [];
  const ctx: StageContext = {
    clock, logger: silentLogger, scheduler: new StageScheduler({ clock }), localSsrc: 77,
    sendRtcp: (packets) => rtcp.push(packets),
    sendRtcpBytes: (buf) => rtcp.push(parseRtcp(buf)),
  };
  return { ctx, rtcp };
}

const vp8 = { mimeType: 'video/VP8', clockRate: 90000, payloadType: 96, rtcpFeedback: [] };
const opus = { mimeType: 'audio/opus', clockRate: 48000, payloadType: 111, rtcpFeedback: [] };

function videoStream(ssrc = 0x1234): RemoteStream {
  return new RemoteStream({ mid: '0', rid: undefined, ssrc, kind: 'video', codecs: new Map([[96, vp8]]), payloadType: 96 });
}

function feeder(stream: RemoteStream, clock: ManualClock): (seq: number) => void {
  const h = createRtpHeader();
  return (seq) => {
    const buf = serializeRtpPacket({ payloadType: 96, sequenceNumber: seq & 0xffff, timestamp: seq * 3000, ssrc: stream.ssrc, payload: Uint8Array.of(1, 2, 3) });
    assert.ok(parseRtpHeader(buf, h));
    stream.handleRtp(buf, h, clock.nowMs());
  };
}

test('scheduler: one timer at the earliest deadline, due stages run in order, nothing armed when idle', () => {
  const clock = new ManualClock();
  const s = new StageScheduler({ clock });
  const runs: string[] = [];
  const stage = (name: string, everyMs: number): TimedStage & { at: number } => {
    const st = {
      at: everyMs,
      nextDeadlineMs: () => st.at,
      handleTimeout: (now: number) => {
        runs.push(`${name}@${now}`);
        st.at = now + everyMs;
      },
    };
    return st;
  };
  s.add(stage('a', 30));
  s.add(stage('b', 50));
  assert.equal(s.armedTimers, 1);
  assert.equal(clock.pendingTimers, 1, 'one clock timer for any number of stages');
  clock.advance(100);
  assert.deepEqual(runs, ['a@30', 'b@50', 'a@60', 'a@90', 'b@100']);
  s.close();
  assert.equal(clock.pendingTimers, 0);
});

test('scheduler: wake() brings the timer forward; a stage that does not move its deadline cannot spin', () => {
  const clock = new ManualClock();
  const s = new StageScheduler({ clock });
  let deadline = Infinity;
  let count = 0;
  s.add({ nextDeadlineMs: () => deadline, handleTimeout: () => void count++ });
  assert.equal(s.armedTimers, 0);
  deadline = 10;
  s.wake(10);
  clock.advance(10);
  assert.equal(count, 1);
  // The stage leaves its deadline in the past: the scheduler waits at least 1 ms between runs.
  clock.advance(5);
  assert.ok(count >= 2 && count <= 6, `ran ${count} times in 5 ms`);
  deadline = Infinity;
  clock.advance(100);
  const settled = count;
  clock.advance(100);
  assert.equal(count, settled);
  s.close();
});

test('NACK stage: lost packets NACKed after the reordering delay, retried, recovered ones dropped; idle otherwise', () => {
  const clock = new ManualClock();
  const { ctx, rtcp } = context(clock);
  const nack = new NackStage(ctx);
  const stream = videoStream();
  stream.setStages(bindReceiveChain([nack], stream, stream));
  const got: number[] = [];
  stream.onRtp = (_b, _h, meta) => got.push(meta.extSeq);
  const feed = feeder(stream, clock);
  feed(65534);
  feed(65535);
  feed(65536);
  assert.equal(clock.pendingTimers, 0, 'no loss: no timer');
  feed(65539); // 65537 (=1) and 65538 (=2) lost
  assert.deepEqual(got, [65534, 65535, 65536, 65539], 'extended sequence numbers across the wrap');
  clock.advance(40);
  assert.deepEqual(rtcp, [[{ type: 'nack', senderSsrc: 77, mediaSsrc: 0x1234, lostSeqs: [1, 2] }]]);
  feed(65537); // recovered
  clock.advance(200);
  assert.ok(rtcp.slice(1).flat().every((p) => p.type === 'nack' && p.lostSeqs.length === 1 && p.lostSeqs[0] === 2));
  assert.equal(stream.nacksSent, rtcp.flat().reduce((n, p) => n + (p.type === 'nack' ? p.lostSeqs.length : 0), 0));
  clock.advance(2000);
  const settled = rtcp.length;
  clock.advance(2000);
  assert.equal(rtcp.length, settled, 'given up: quiet again');
  assert.equal(clock.pendingTimers, 0);
  nack.close();
});

test('NACK stage: audio streams are not NACKed by default', () => {
  const clock = new ManualClock();
  const { ctx } = context(clock);
  const nack = new NackStage(ctx);
  const audio = new RemoteStream({ mid: '1', rid: undefined, ssrc: 5, kind: 'audio', codecs: new Map([[111, opus]]), payloadType: 111 });
  assert.equal(nack.bindRemoteStream(audio, audio), null);
});

test('receiver reports: one RR per interval for every stream, with loss, jitter and the sender SR (LSR/DLSR)', () => {
  const clock = new ManualClock();
  const { ctx, rtcp } = context(clock);
  const rr = new ReceiverReportStage(ctx, { intervalMs: 1000 });
  const a = videoStream(0xa);
  const b = videoStream(0xb);
  for (const s of [a, b]) s.setStages(bindReceiveChain([rr], s, s));
  const feedA = feeder(a, clock);
  feedA(1);
  feedA(3); // 2 lost
  const ntp = ntpFromWallMs(1_650_000_000_000);
  a.handleSenderReport({ type: 'sr', ssrc: 0xa, ntpTimestamp: ntp, rtpTimestamp: 3000, packetCount: 2, octetCount: 6, reports: [] }, clock.nowMs());
  clock.advance(250);
  assert.equal(rtcp.length, 0);
  clock.advance(750);
  assert.equal(rtcp.length, 1, 'b has no packets yet: one block');
  const report = rtcp[0]![0]!;
  assert.ok(report.type === 'rr');
  assert.equal(report.ssrc, 77);
  const block = report.reports[0]!;
  assert.deepEqual(
    [block.ssrc, block.cumulativeLost, block.fractionLost, block.highestSeq, block.lastSr, block.delaySinceLastSr],
    [0xa, 1, 85, 3, ntpMiddle32(ntp), 65536],
  );
  feeder(b, clock)(10);
  clock.advance(1000);
  assert.deepEqual((rtcp[1]![0] as { reports: { ssrc: number }[] }).reports.map((r) => r.ssrc), [0xa, 0xb]);
  rr.unbindRemoteStream(a);
  rr.unbindRemoteStream(b);
  clock.advance(3000);
  assert.equal(rtcp.length, 2, 'no streams: no reports, no timer');
  assert.equal(clock.pendingTimers, 0);
  rr.close();
});

test('header stamping: transport-wide sequence numbers across streams and abs-send-time, written last, recorded', () => {
  const clock = new ManualClock();
  const { ctx } = context(clock);
  const stamp = new HeaderStampStage(ctx);
  const sent: Buffer[] = [];
  const tail: RtpSendStage = { send: (buf: Buffer) => sent.push(Buffer.from(buf)) };
  const sender = (ssrc: number): LocalSender => {
    const s = new LocalSender({
      kind: 'video', streamId: 's', trackId: 't', ssrc, mid: String(ssrc),
      codec: { mimeType: 'video/VP8', clockRate: 90000, rtcpFeedback: [], preferredPayloadType: 96 },
      transport: { sendRtp: () => {}, sendRtcp: () => {} },
    });
    s.setStages(bindSendChain([stamp], s, tail));
    return s;
  };
  const a = sender(1);
  const b = sender(2);
  const packet = (ssrc: number): Buffer =>
    serializeRtpPacket({
      payloadType: 96, sequenceNumber: 1, timestamp: 0, ssrc, payload: Buffer.alloc(100),
      extensions: [{ id: 3, value: Uint8Array.of(0, 0) }, { id: 2, value: Uint8Array.of(0, 0, 0) }],
    });
  // Nothing negotiated yet: packets pass untouched.
  a.sendRtp(packet(1));
  assert.equal(stamp.packetsStamped, 0);
  for (const s of [a, b]) s.headerExtensions = [{ id: 3, uri: HeaderExtensionUri.transportCc }, { id: 2, uri: HeaderExtensionUri.absSendTime }];
  clock.advance(1500);
  a.sendRtp(packet(1));
  b.sendRtp(packet(2));
  clock.advance(10);
  a.sendRtp(packet(1));
  const h: RtpHeader = createRtpHeader();
  const twcc = sent.slice(1).map((p) => (parseRtpHeader(p, h), p.readUInt16BE(h.extensionOffset + 1)));
  assert.deepEqual(twcc, [0, 1, 2], 'one counter for the transport');
  const abs = sent.slice(1).map((p) => (parseRtpHeader(p, h), p.readUIntBE(h.extensionOffset + 4, 3)));
  assert.equal(abs[0], Math.floor((1500 * 262144) / 1000) & 0xffffff);
  assert.equal(abs[2]! - abs[0]!, Math.floor((1510 * 262144) / 1000) - Math.floor((1500 * 262144) / 1000));
  assert.equal(stamp.history.sendTimeMs(1), 1500);
  assert.equal(stamp.history.sendTimeMs(2), 1510);
  assert.equal(stamp.history.sizeBytes(2), sent[3]!.length);
  assert.equal(stamp.history.sendTimeMs(3), -1, 'not sent');
  // A packet without the elements (an old sender) goes through unchanged.
  a.sendRtp(serializeRtpPacket({ payloadType: 96, sequenceNumber: 2, timestamp: 0, ssrc: 1, payload: Buffer.alloc(10) }));
  assert.equal(stamp.packetsStamped, 3);
});
