// Cost of the transport stages per packet (packages/webrtc/src/stages): a RemoteStream's core (extended sequence
// numbers, RFC 3550 statistics) with and without the default receive stages (NACK generation, receiver reports), with
// no loss and with 1% loss; a LocalSender-style send chain with the header-stamp stage writing transport-wide sequence
// numbers and abs-send-time, or passing packets through untouched when the elements are not negotiated.
// Run: npx tsx bench/src/stages.bench.ts [--runs 7] [--packets 300000]
import { ManualClock } from '@atrium/webrtc/clock.js';
import { silentLogger } from '@atrium/webrtc/logger.js';
import { RemoteStream } from '@atrium/webrtc/pc/remote-stream.js';
import { createRtpHeader, parseRtpHeader, serializeRtpPacket, writeSequenceNumber, writeTimestamp } from '@atrium/webrtc/rtp/index.js';
import type { RtpHeader } from '@atrium/webrtc/rtp/index.js';
import { HeaderExtensionUri } from '@atrium/webrtc/sdp/capabilities.js';
import { HeaderStampStage } from '@atrium/webrtc/stages/header-stamp-stage.js';
import { NackStage } from '@atrium/webrtc/stages/nack-stage.js';
import { ReceiverReportStage } from '@atrium/webrtc/stages/receiver-report-stage.js';
import { bindReceiveChain, bindSendChain } from '@atrium/webrtc/stages/rtp-stage.js';
import type { RtpSendStage, SendStreamInfo, StageContext } from '@atrium/webrtc/stages/rtp-stage.js';
import { StageScheduler } from '@atrium/webrtc/stages/stage-scheduler.js';
import { formatTable, medianCpuUsPerItem, numberArgument } from './bench-util.js';

const runs = numberArgument('runs', 7);
const packetsPerRun = numberArgument('packets', 300_000);

const TWCC_ID = 3;
const ABS_SEND_TIME_ID = 2;

/** A 1,100-byte video packet with abs-send-time and transport-cc elements, as Chromium sends them. */
function videoPacket(): Buffer {
  return serializeRtpPacket({
    payloadType: 96, sequenceNumber: 0, timestamp: 0, ssrc: 0x1234abcd, marker: false,
    extensions: [{ id: ABS_SEND_TIME_ID, value: Uint8Array.of(1, 2, 3) }, { id: TWCC_ID, value: Uint8Array.of(0, 0) }],
    payload: Buffer.alloc(1100, 0x5a),
  });
}

/** The clock advances 0.2 ms per packet (5,000 pkt/s), so timers come due as they would. */
function context(clock: ManualClock): { ctx: StageContext; rtcpPackets: () => number } {
  let rtcp = 0;
  const scheduler = new StageScheduler({ clock });
  const ctx: StageContext = { clock, logger: silentLogger, scheduler, localSsrc: 1, sendRtcp: (p) => { rtcp += p.length; }, sendRtcpBytes: () => { rtcp++; } };
  return { ctx, rtcpPackets: () => rtcp };
}

/** Median CPU ns per packet of `run(n)` over `runs` runs, after a warm-up. */
function measure(run: (n: number) => void): number {
  return medianCpuUsPerItem(run, packetsPerRun, runs) * 1000;
}

function receiveCase(stages: 'none' | 'nack+rr', lossEvery: number): number {
  const clock = new ManualClock();
  const { ctx } = context(clock);
  const stream = new RemoteStream({ mid: '0', rid: undefined, ssrc: 0x1234abcd, kind: 'video', codecs: new Map([[96, { payloadType: 96, mimeType: 'video/VP8', clockRate: 90000, rtcpFeedback: [] }]]), payloadType: 96 });
  const transportStages = stages === 'none' ? [] : [new NackStage(ctx), new ReceiverReportStage(ctx)];
  stream.setStages(bindReceiveChain(transportStages, stream, stream));
  let delivered = 0;
  stream.onRtp = () => { delivered++; };
  const buf = videoPacket();
  const h: RtpHeader = createRtpHeader();
  let seq = 0;
  const result = measure((n) => {
    for (let i = 0; i < n; i++, seq++) {
      if (lossEvery > 0 && seq % lossEvery === lossEvery - 1) continue;
      writeSequenceNumber(buf, seq & 0xffff);
      writeTimestamp(buf, Math.floor(seq / 5) * 3000);
      parseRtpHeader(buf, h);
      clock.advance(0.2);
      stream.handleRtp(buf, h, clock.nowMs());
    }
  });
  if (delivered === 0) throw new Error('nothing delivered');
  for (const s of transportStages) s.close();
  ctx.scheduler.close();
  return result;
}

function sendCase(stages: 'none' | 'stamp' | 'stamp, not negotiated'): number {
  const clock = new ManualClock();
  const { ctx } = context(clock);
  const ids = stages === 'stamp' ? new Map([[HeaderExtensionUri.transportCc, TWCC_ID], [HeaderExtensionUri.absSendTime, ABS_SEND_TIME_ID]]) : new Map<string, number>();
  const stream: SendStreamInfo = { ssrc: 0x10000, kind: 'video', mid: '0', extensionId: (uri) => ids.get(uri) ?? 0, negotiationVersion: 1 };
  let sentBytes = 0;
  const tail: RtpSendStage = { send: (b) => { sentBytes += b.length; } };
  const stamp = new HeaderStampStage(ctx);
  const head = bindSendChain(stages === 'none' ? [] : [stamp], stream, tail);
  const buf = videoPacket();
  const h: RtpHeader = createRtpHeader();
  parseRtpHeader(buf, h);
  let seq = 0;
  const result = measure((n) => {
    for (let i = 0; i < n; i++, seq++) {
      writeSequenceNumber(buf, seq & 0xffff);
      head.send(buf, h);
    }
  });
  if (sentBytes === 0) throw new Error('nothing sent');
  if (stages === 'stamp' && stamp.packetsStamped === 0) throw new Error('nothing stamped');
  ctx.scheduler.close();
  return result;
}

const rows: string[][] = [['path', 'stages', 'loss', 'CPU ns/packet']];
for (const loss of [0, 100]) {
  for (const stages of ['none', 'nack+rr'] as const) {
    rows.push(['receive (RemoteStream)', stages, loss === 0 ? '0' : '1%', receiveCase(stages, loss).toFixed(0)]);
  }
}
for (const stages of ['none', 'stamp', 'stamp, not negotiated'] as const) {
  rows.push(['send chain', stages, '-', sendCase(stages).toFixed(0)]);
}
console.log(`Transport stages, Node ${process.version}, 1,100-byte video packets, median of ${runs} runs x ${packetsPerRun} packets\n`);
console.log(formatTable(rows));
console.log('\nreceive "none" is the stream core alone (sequence unwrapping, receive statistics); stamp writes 2 extension values.');
