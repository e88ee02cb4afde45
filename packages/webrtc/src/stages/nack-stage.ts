// Receive stage: generic NACKs for lost packets of incoming video streams (RFC 4585 §6.2.1), one NackGenerator per
// stream. Runs only while packets are missing: a gap wakes the transport's scheduler, which then asks every 20 ms.
import type { RtpHeader } from '../rtp/index.js';
import { NackGenerator, type NackGeneratorOptions } from './nack-generator.js';
import type {
  ReceiveStageFactory, ReceiveStreamInfo, RtpReceiveMeta, RtpReceiveStage, StageContext, TransportReceiveStage,
} from './rtp-stage.js';
import type { TimedStage } from './stage-scheduler.js';

export interface NackStageOptions extends NackGeneratorOptions {
  /** Which streams get NACKs (default: video only). */
  kinds?: readonly ('audio' | 'video')[];
  /** How often missing packets are checked while any are outstanding (default 20 ms). */
  intervalMs?: number;
}

/** Counters a consumer can read per stream (e.g. the SFU's metrics). */
export interface NackCounters {
  /** Sequence numbers NACKed (each retry counts). */
  nacksSent: number;
}

/** A stream that counts the NACKs sent for it (a RemoteStream does). */
interface CountingStream extends ReceiveStreamInfo {
  nacksSent?: number;
}

class NackStreamStage implements RtpReceiveStage, NackCounters {
  readonly generator: NackGenerator;
  readonly ssrc: number;
  readonly stream: CountingStream;
  nacksSent = 0;
  private readonly owner: NackStage;
  private readonly next: RtpReceiveStage;

  constructor(owner: NackStage, stream: CountingStream, next: RtpReceiveStage, opts: NackGeneratorOptions) {
    this.owner = owner;
    this.stream = stream;
    this.ssrc = stream.ssrc;
    this.next = next;
    this.generator = new NackGenerator(opts);
  }

  receive(buf: Buffer, h: RtpHeader, meta: RtpReceiveMeta): void {
    const gen = this.generator;
    const hadMissing = gen.hasMissing;
    gen.push(meta.extSeq, meta.arrivalMs);
    if (!hadMissing && gen.hasMissing) this.owner.onGap(meta.arrivalMs);
    this.next.receive(buf, h, meta);
  }
}

export class NackStage implements TransportReceiveStage, TimedStage {
  private readonly ctx: StageContext;
  private readonly opts: NackStageOptions;
  private readonly kinds: readonly string[];
  private readonly intervalMs: number;
  private readonly streams = new Map<number, NackStreamStage>();
  private deadlineMs = Infinity;

  constructor(ctx: StageContext, opts: NackStageOptions = {}) {
    this.ctx = ctx;
    this.opts = opts;
    this.kinds = opts.kinds ?? ['video'];
    this.intervalMs = opts.intervalMs ?? 20;
    ctx.scheduler.add(this);
  }

  /** The counters of the stream with this SSRC, if it gets NACKs. */
  counters(ssrc: number): NackCounters | undefined {
    return this.streams.get(ssrc);
  }

  bindRemoteStream(stream: ReceiveStreamInfo, next: RtpReceiveStage): RtpReceiveStage | null {
    if (!this.kinds.includes(stream.kind)) return null;
    const s = new NackStreamStage(this, stream, next, this.opts);
    this.streams.set(stream.ssrc, s);
    return s;
  }

  unbindRemoteStream(stream: ReceiveStreamInfo): void {
    this.streams.delete(stream.ssrc);
  }

  /** A stream went from no missing packets to some: check again after the reordering delay. */
  onGap(nowMs: number): void {
    if (this.deadlineMs !== Infinity) return;
    this.deadlineMs = nowMs + this.intervalMs;
    this.ctx.scheduler.wake(this.deadlineMs);
  }

  nextDeadlineMs(): number {
    return this.deadlineMs;
  }

  handleTimeout(nowMs: number): void {
    let isPending = false;
    for (const s of this.streams.values()) {
      const lost = s.generator.collect(nowMs);
      if (lost !== null) {
        s.nacksSent += lost.length;
        if (s.stream.nacksSent !== undefined) s.stream.nacksSent += lost.length;
        this.ctx.sendRtcp([{ type: 'nack', senderSsrc: this.ctx.localSsrc, mediaSsrc: s.ssrc, lostSeqs: lost }]);
      }
      if (s.generator.hasMissing) isPending = true;
    }
    this.deadlineMs = isPending ? nowMs + this.intervalMs : Infinity;
  }

  close(): void {
    this.streams.clear();
    this.ctx.scheduler.remove(this);
  }
}

/** A stage factory for PeerConnectionOptions.receiveStages. */
export function nackStage(opts: NackStageOptions = {}): ReceiveStageFactory {
  return (ctx) => new NackStage(ctx, opts);
}
