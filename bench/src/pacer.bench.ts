// Cost of the pacer send stage per packet (packages/webrtc/src/stages/pacer-stage.ts) in front of the header-stamp
// stage: stamp alone, pacer unlimited (the default), pacer with a rate that never queues, a rate that queues key-frame
// sized bursts (copy into pooled buffers, drained on the scheduler), and RFC 4588 RTX wrapping through the chain.
// Run: npx tsx bench/src/pacer.bench.ts [--runs 5] [--packets 200000]
import { ManualClock } from '@atrium/webrtc/clock.js';
import { silentLogger } from '@atrium/webrtc/logger.js';
import { LocalSender } from '@atrium/webrtc/pc/local-sender.js';
import { createRtpHeader, parseRtpHeader, serializeRtpPacket, writeSequenceNumber } from '@atrium/webrtc/rtp/index.js';
import type { RtpHeader } from '@atrium/webrtc/rtp/index.js';
import { HeaderExtensionUri } from '@atrium/webrtc/sdp/capabilities.js';
import { HeaderStampStage } from '@atrium/webrtc/stages/header-stamp-stage.js';
import { PacerStage } from '@atrium/webrtc/stages/pacer-stage.js';
import { bindSendChain } from '@atrium/webrtc/stages/rtp-stage.js';
import type { RtpSendStage, StageContext, TransportSendStage } from '@atrium/webrtc/stages/rtp-stage.js';
import { StageScheduler } from '@atrium/webrtc/stages/stage-scheduler.js';
import { formatTable, medianCpuUsPerItem, numberArgument } from './bench-util.js';

const runs = numberArgument('runs', 5);
const packetsPerRun = numberArgument('packets', 200_000);

const TWCC_ID = 3;
const ABS_SEND_TIME_ID = 2;
/** Packets per burst (a frame) and ms between bursts: 5,000 packets/s, about 45 Mbit/s of 1,124-byte packets. */
const BURST_PACKETS = 100;
const BURST_EVERY_MS = 20;

type Case = 'stamp only' | 'pacer unlimited + stamp' | 'pacer, rate never reached + stamp' | 'pacer queuing + stamp' | 'sendRtx, pacer unlimited + stamp';

function sender(): LocalSender {
  const s = new LocalSender({
    kind: 'video', streamId: 's', trackId: 't', ssrc: 0x1234abcd, mid: '0', rtxSsrc: 0x5678,
    codec: { mimeType: 'video/VP8', clockRate: 90000, rtcpFeedback: [], withRtx: true, preferredPayloadType: 96 },
    transport: { sendRtp: () => {}, sendRtcp: () => {} },
  });
  s.rtxPayloadType = 97;
  s.headerExtensions = [{ id: TWCC_ID, uri: HeaderExtensionUri.transportCc }, { id: ABS_SEND_TIME_ID, uri: HeaderExtensionUri.absSendTime }];
  return s;
}

/** Median CPU µs per packet of `run(n)` over `runs` runs, after a warm-up. */
function measure(run: (n: number) => void): number {
  return medianCpuUsPerItem(run, packetsPerRun, runs);
}

function runCase(which: Case): { usPerPacket: number; queuedShare: number } {
  const clock = new ManualClock();
  const scheduler = new StageScheduler({ clock });
  const ctx: StageContext = { clock, logger: silentLogger, scheduler, localSsrc: 1, sendRtcp: () => {}, sendRtcpBytes: () => {} };
  const stamp = new HeaderStampStage(ctx);
  const pacer = new PacerStage(ctx, which === 'pacer queuing + stamp' ? { pacingFactor: 1, burstMs: 5 } : {});
  pacer.setProbeMarker(stamp);
  const stages: TransportSendStage[] = which === 'stamp only' ? [stamp] : [pacer, stamp];
  let sentBytes = 0;
  const tail: RtpSendStage = { send: (b) => { sentBytes += b.length; } };
  const s = sender();
  s.setStages(bindSendChain(stages, s, tail));
  const buf = serializeRtpPacket({
    payloadType: 96, sequenceNumber: 0, timestamp: 0, ssrc: s.ssrc,
    extensions: [{ id: ABS_SEND_TIME_ID, value: Uint8Array.of(1, 2, 3) }, { id: TWCC_ID, value: Uint8Array.of(0, 0) }],
    payload: Buffer.alloc(1100, 0x5a),
  });
  const h: RtpHeader = createRtpHeader();
  parseRtpHeader(buf, h);
  const averageBps = (BURST_PACKETS * buf.length * 8 * 1000) / BURST_EVERY_MS;
  if (which === 'pacer, rate never reached + stamp') pacer.setRateBps(averageBps * 100);
  // 10% above the average: each burst fills the 5 ms bucket and queues the rest, drained before the next burst.
  if (which === 'pacer queuing + stamp') pacer.setRateBps(averageBps * 1.1);
  let seq = 0;
  let total = 0;
  const usPerPacket = measure((n) => {
    for (let i = 0; i < n; i++, seq++) {
      writeSequenceNumber(buf, seq & 0xffff);
      h.sequenceNumber = seq & 0xffff;
      if (which === 'sendRtx, pacer unlimited + stamp') s.sendRtx(buf, h);
      else s.sendRtp(buf, h);
      if (seq % BURST_PACKETS === BURST_PACKETS - 1) clock.advance(BURST_EVERY_MS);
    }
    total += n;
  });
  clock.advance(1000);
  if (sentBytes === 0 || stamp.packetsStamped === 0) throw new Error(`${which}: nothing sent`);
  if (pacer.packetsDroppedStale + pacer.packetsDroppedOverflow > 0) throw new Error(`${which}: dropped packets`);
  pacer.close();
  scheduler.close();
  return { usPerPacket, queuedShare: pacer.packetsPaced / total };
}

const cases: Case[] = ['stamp only', 'pacer unlimited + stamp', 'pacer, rate never reached + stamp', 'pacer queuing + stamp', 'sendRtx, pacer unlimited + stamp'];
const rows: string[][] = [['send chain', 'queued', 'CPU µs/packet']];
for (const which of cases) {
  const r = runCase(which);
  rows.push([which, `${(r.queuedShare * 100).toFixed(0)}%`, r.usPerPacket.toFixed(3)]);
}
console.log(`Pacer send stage, Node ${process.version}, 1,124-byte video packets in bursts of ${BURST_PACKETS} every ${BURST_EVERY_MS} ms, median of ${runs} runs x ${packetsPerRun} packets\n`);
console.log(formatTable(rows));
console.log('\nqueuing: paced at 1.1x the average rate with a 5 ms bucket, so most of each burst is copied, queued and drained on the scheduler.');
