// Receive stage: RTCP receiver reports (RFC 3550 §6.4.2) for every incoming stream of the transport, once per
// interval, from each stream's receive statistics and the sender's last SR (LSR/DLSR, so the sender measures RTT).
import type { ReceiverReport, ReportBlock, RtcpPacket } from '../rtp/index.js';
import type {
  ReceiveStageFactory, ReceiveStreamInfo, RtpReceiveStage, StageContext, TransportReceiveStage,
} from './rtp-stage.js';
import type { ReceiveStats } from './receive-stats.js';
import type { TimedStage } from './stage-scheduler.js';

/** The sender's last SR on a stream, as the receive side keeps it. */
export interface SenderReportInfo {
  /** The SR's NTP timestamp as Unix-epoch ms (the sender's clock). */
  ntpWallMs: number;
  rtpTimestamp: number;
  /** Monotonic ms when the SR arrived. */
  receivedAtMs: number;
  /** Middle 32 bits of the SR's NTP timestamp (LSR of our reports). */
  mid32: number;
}

/** What the report stage reads of a stream (a RemoteStream). */
export interface ReportableStream extends ReceiveStreamInfo {
  readonly stats: ReceiveStats;
  readonly senderReport: SenderReportInfo | undefined;
}

/** RFC 3550 §6.4.2: at most 31 report blocks in one RR. */
const MAX_BLOCKS_PER_REPORT = 31;

export class ReceiverReportStage implements TransportReceiveStage, TimedStage {
  private readonly ctx: StageContext;
  private readonly intervalMs: number;
  private readonly streams = new Map<number, ReportableStream>();
  private deadlineMs = Infinity;
  /** Reports sent (one per RR packet). */
  reportsSent = 0;

  constructor(ctx: StageContext, opts: { intervalMs?: number } = {}) {
    this.ctx = ctx;
    this.intervalMs = opts.intervalMs ?? 1000;
    ctx.scheduler.add(this);
  }

  bindRemoteStream(stream: ReceiveStreamInfo): RtpReceiveStage | null {
    const s = stream as ReportableStream;
    if (s.stats === undefined) return null;
    this.streams.set(stream.ssrc, s);
    if (this.deadlineMs === Infinity) {
      this.deadlineMs = this.ctx.clock.nowMs() + this.intervalMs;
      this.ctx.scheduler.wake(this.deadlineMs);
    }
    return null; // nothing to do per packet: the stream core keeps the statistics
  }

  unbindRemoteStream(stream: ReceiveStreamInfo): void {
    this.streams.delete(stream.ssrc);
  }

  nextDeadlineMs(): number {
    return this.deadlineMs;
  }

  handleTimeout(nowMs: number): void {
    this.deadlineMs = this.streams.size > 0 ? nowMs + this.intervalMs : Infinity;
    const blocks: ReportBlock[] = [];
    for (const s of this.streams.values()) {
      if (s.stats.packetsReceived === 0) continue;
      const sr = s.senderReport;
      blocks.push(s.stats.reportBlock(s.ssrc, sr === undefined ? 0 : sr.mid32, sr === undefined ? 0 : nowMs - sr.receivedAtMs));
    }
    if (blocks.length === 0) return;
    const packets: RtcpPacket[] = [];
    for (let i = 0; i < blocks.length; i += MAX_BLOCKS_PER_REPORT) {
      const rr: ReceiverReport = { type: 'rr', ssrc: this.ctx.localSsrc, reports: blocks.slice(i, i + MAX_BLOCKS_PER_REPORT) };
      packets.push(rr);
    }
    this.reportsSent += packets.length;
    this.ctx.sendRtcp(packets);
  }

  close(): void {
    this.streams.clear();
    this.ctx.scheduler.remove(this);
  }
}

export function receiverReportStage(opts: { intervalMs?: number } = {}): ReceiveStageFactory {
  return (ctx) => new ReceiverReportStage(ctx, opts);
}
