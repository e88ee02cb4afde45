// Send stage, before the header-stamp stage: a leaky-bucket pacer over all of a transport's outgoing streams, and
// bandwidth probe clusters of padding on an RTX SSRC (the roles of libwebrtc's PacingController and BitrateProber).
// Unlimited (a pass-through) until `setRateBps` is given an estimate. Packets that fit the bucket go straight on with
// no copy; others are copied into pooled buffers and drained on the transport's scheduler. Audio is never queued or
// dropped; retransmissions leave before fresh video; video queued too long is dropped.
// Choices: the rate given is the bandwidth estimate and the bucket fills at 2.5x it (libwebrtc's pace multiplier): the
// layer allocator keeps the average under the estimate, so the pacer only spreads key-frame bursts, without adding
// seconds of delay. A probe cluster is libwebrtc-shaped (short, >= 5 packets, bursts every 2 ms) but LiveKit-filled:
// padding tops up whatever media is sent so the total is the target rate for the cluster's duration.
import type { RtpHeader } from '../rtp/index.js';
import { createRtpHeader, parseRtpHeader } from '../rtp/index.js';
import { PacketFifo, PacketPool } from './packet-queue.js';
import type { QueuedPacket } from './packet-queue.js';
import type { RtpSendStage, SendStageFactory, SendStreamInfo, StageContext, TransportSendStage } from './rtp-stage.js';
import type { TimedStage } from './stage-scheduler.js';
import { MAX_PADDING_BYTES } from './rtx-packet.js';
import { pacerDefaults } from './pacer-options.js';
import type { PacerOptions, ProbeClusterMarker, ProbeClusterRequest, ProbeClusterResult } from './pacer-options.js';

export type { PacerOptions, ProbeClusterMarker, ProbeClusterRequest, ProbeClusterResult } from './pacer-options.js';
export { pacerDefaults } from './pacer-options.js';

interface ProbeCluster {
  id: number;
  targetBps: number;
  startMs: number;
  endMs: number;
  nextMs: number;
  bytes: number;
  packets: number;
  padder: PacedStream;
}

class PacedStream implements RtpSendStage {
  readonly pacer: PacerStage;
  readonly info: SendStreamInfo;
  readonly next: RtpSendStage;
  readonly isAudio: boolean;
  isBound = true;

  constructor(pacer: PacerStage, info: SendStreamInfo, next: RtpSendStage) {
    this.pacer = pacer;
    this.info = info;
    this.next = next;
    this.isAudio = info.kind === 'audio';
  }

  send(buf: Buffer, h: RtpHeader): void {
    if (this.pacer.isPassThrough) this.next.send(buf, h);
    else this.pacer.pace(this, buf, h);
  }
}

export class PacerStage implements TransportSendStage, TimedStage {
  private readonly ctx: StageContext;
  private readonly opts: Required<PacerOptions>;
  private readonly streams = new Set<PacedStream>();
  private readonly pool = new PacketPool<PacedStream>();
  private readonly rtxQueue = new PacketFifo<PacedStream>();
  private readonly videoQueue = new PacketFifo<PacedStream>();
  private readonly drainHeader: RtpHeader = createRtpHeader();
  private marker: ProbeClusterMarker = { probeClusterId: -1 };
  private estimateBps = Infinity;
  /** The rate the bucket fills at now (the pacing rate, or a probe's target when higher), bytes per ms. */
  private bytesPerMs = Infinity;
  private burstBytes = Infinity;
  private minTokens = -Infinity;
  private tokens = Infinity;
  private lastRefillMs = 0;
  private lastDrainMs = -Infinity;
  private cluster: ProbeCluster | null = null;
  private isClosed = false;
  /** Called once when a probe cluster ends (control plane: once per cluster). */
  onProbeClusterDone: (result: ProbeClusterResult) => void = () => {};
  /** True while unlimited and not probing: streams hand packets straight on (read per packet). */
  isPassThrough = true;
  /** Packets that waited in the queue and then left. */
  packetsPaced = 0;
  packetsDroppedStale = 0;
  bytesDroppedStale = 0;
  packetsDroppedOverflow = 0;
  bytesDroppedOverflow = 0;
  probesStarted = 0;
  /** Packets (padding and media) and bytes sent inside probe clusters. */
  probePacketsSent = 0;
  probeBytesSent = 0;

  constructor(ctx: StageContext, opts: PacerOptions = {}) {
    this.ctx = ctx;
    this.opts = { ...pacerDefaults, ...opts };
    this.lastRefillMs = ctx.clock.nowMs();
    ctx.scheduler.add(this);
  }

  /** The header-stamp stage (or any marker) that records the probe cluster of each packet sent. */
  setProbeMarker(marker: ProbeClusterMarker): void {
    this.marker = marker;
  }

  /** The bandwidth estimate the pacer works from; Infinity (the default) means no pacing. Paces at estimate × factor. */
  setRateBps(bps: number): void {
    const now = this.ctx.clock.nowMs();
    this.refill(now);
    this.estimateBps = Number.isNaN(bps) ? Infinity : Math.max(1000, bps);
    this.updateRate();
    if (this.bytesPerMs === Infinity) {
      this.flush(now);
      this.updateRate();
    } else {
      this.ctx.scheduler.wake(this.nextDeadlineMs());
    }
  }

  /** Bits per second the queue drains at when no probe runs; Infinity when unlimited. */
  get pacingRateBps(): number {
    return this.estimateBps * this.opts.pacingFactor;
  }
  get queuedBytes(): number {
    return this.rtxQueue.bytes + this.videoQueue.bytes;
  }
  get queuedPackets(): number {
    return this.rtxQueue.size + this.videoQueue.size;
  }
  get oldestQueuedAgeMs(): number {
    const oldest = Math.min(this.rtxQueue.peek()?.enqueuedMs ?? Infinity, this.videoQueue.peek()?.enqueuedMs ?? Infinity);
    return oldest === Infinity ? 0 : this.ctx.clock.nowMs() - oldest;
  }
  get isProbing(): boolean {
    return this.cluster !== null;
  }
  /** True when some bound video stream can send padding (RTX negotiated): a probe can run. */
  get canProbe(): boolean {
    return this.findPadder() !== null;
  }

  /**
   * Starts a probe cluster (replacing a running one): for `durationMs`, padding on the RTX SSRC of a video stream
   * tops up what media sends so that the total is about `targetBps`, in bursts every `probeIntervalMs`, and at least
   * `minProbePackets` packets go out; every packet sent meanwhile is marked with `clusterId`. False, starting nothing,
   * when no bound stream can send padding (no RTX negotiated).
   */
  startProbe(req: ProbeClusterRequest): boolean {
    if (this.isClosed) return false;
    const padder = this.findPadder();
    if (padder === null) return false;
    const now = this.ctx.clock.nowMs();
    if (this.cluster !== null) this.endProbe(true);
    this.refill(now);
    const durationMs = Math.max(0, req.durationMs);
    this.cluster = {
      id: req.clusterId, targetBps: Math.max(0, req.targetBps), startMs: now, endMs: now + durationMs, nextMs: now,
      bytes: 0, packets: 0, padder,
    };
    this.probesStarted++;
    this.updateRate();
    this.runProbe(now);
    this.ctx.scheduler.wake(this.nextDeadlineMs());
    return true;
  }

  /** Ends the running probe cluster at once (e.g. on congestion). */
  stopProbe(): void {
    this.endProbe(true);
  }

  private endProbe(wasStopped: boolean): void {
    const c = this.cluster;
    if (c === null) return;
    const now = this.ctx.clock.nowMs();
    this.refill(now);
    this.cluster = null;
    this.updateRate();
    this.onProbeClusterDone({
      clusterId: c.id, targetBps: c.targetBps, packetsSent: c.packets, bytesSent: c.bytes, startMs: c.startMs, endMs: now, wasStopped,
    });
  }

  bindLocalStream(stream: SendStreamInfo, next: RtpSendStage): RtpSendStage | null {
    const paced = new PacedStream(this, stream, next);
    this.streams.add(paced);
    return paced;
  }

  unbindLocalStream(stream: SendStreamInfo): void {
    for (const s of this.streams) {
      if (s.info !== stream) continue;
      s.isBound = false;
      this.streams.delete(s);
      if (this.cluster?.padder === s) {
        const padder = this.findPadder();
        if (padder === null) this.stopProbe();
        else this.cluster.padder = padder;
      }
    }
  }

  close(): void {
    if (this.isClosed) return;
    this.isClosed = true;
    this.ctx.scheduler.remove(this);
    this.cluster = null;
    this.onProbeClusterDone = () => {};
    for (const q of [this.rtxQueue, this.videoQueue]) for (let p = q.shift(); p !== undefined; p = q.shift()) this.pool.give(p);
    this.streams.clear();
  }

  // ---- per packet ---------------------------------------------------------------------------------

  /** A packet of a paced stream while pacing or probing: straight on if the bucket allows, else queued (a copy). */
  pace(stream: PacedStream, buf: Buffer, h: RtpHeader): void {
    const now = this.ctx.clock.nowMs();
    this.refill(now);
    if (stream.isAudio) {
      this.transmit(stream, buf, h);
      return;
    }
    const isRetransmission = h.ssrc !== stream.info.ssrc;
    const isBlocked = this.rtxQueue.size > 0 || (!isRetransmission && this.videoQueue.size > 0);
    if (!isBlocked && this.tokens > 0) {
      this.transmit(stream, buf, h);
      return;
    }
    const queue = isRetransmission ? this.rtxQueue : this.videoQueue;
    const wasEmpty = this.queuedPackets === 0;
    queue.push(this.pool.take(buf, now, stream));
    if (this.queuedBytes > this.opts.maxQueueBytes) this.dropOverflow();
    if (wasEmpty) this.ctx.scheduler.wake(this.nextDeadlineMs());
  }

  private transmit(stream: PacedStream, buf: Buffer, h: RtpHeader): void {
    const size = buf.length;
    if (this.bytesPerMs !== Infinity) {
      this.tokens -= size;
      if (this.tokens < this.minTokens) this.tokens = this.minTokens;
    }
    const cluster = this.cluster;
    if (cluster === null) {
      stream.next.send(buf, h);
      return;
    }
    cluster.bytes += size;
    cluster.packets++;
    this.probePacketsSent++;
    this.probeBytesSent += size;
    const marker = this.marker;
    marker.probeClusterId = cluster.id;
    stream.next.send(buf, h);
    marker.probeClusterId = -1;
  }

  private refill(now: number): void {
    const elapsed = now - this.lastRefillMs;
    this.lastRefillMs = now;
    if (elapsed <= 0 || this.tokens >= this.burstBytes) return;
    const tokens = this.tokens + elapsed * this.bytesPerMs;
    this.tokens = tokens > this.burstBytes ? this.burstBytes : tokens;
  }

  // ---- timed --------------------------------------------------------------------------------------

  nextDeadlineMs(): number {
    let deadline = Infinity;
    const oldest = Math.min(this.rtxQueue.peek()?.enqueuedMs ?? Infinity, this.videoQueue.peek()?.enqueuedMs ?? Infinity);
    if (oldest !== Infinity) {
      const waitMs = this.tokens > 0 ? 0 : -this.tokens / this.bytesPerMs;
      deadline = Math.max(this.lastDrainMs + this.opts.intervalMs, this.lastRefillMs + waitMs);
      // Stale packets leave on time even when the bucket is deep in debt.
      deadline = Math.min(deadline, oldest + this.opts.maxQueueDelayMs + 1);
    }
    if (this.cluster !== null && this.cluster.nextMs < deadline) deadline = this.cluster.nextMs;
    return deadline;
  }

  handleTimeout(nowMs: number): void {
    this.refill(nowMs);
    if (this.queuedPackets > 0) {
      this.dropStale(nowMs);
      this.drain(false);
      this.lastDrainMs = nowMs;
    }
    if (this.cluster !== null && nowMs >= this.cluster.nextMs) this.runProbe(nowMs);
  }

  /** Sends queued packets, retransmissions first, while the bucket has bytes (all of them when `isFlush`). */
  private drain(isFlush: boolean): void {
    while (isFlush || this.tokens > 0) {
      const p = this.rtxQueue.shift() ?? this.videoQueue.shift();
      if (p === undefined) return;
      this.sendQueued(p);
    }
  }

  private sendQueued(p: QueuedPacket<PacedStream>): void {
    const stream = p.owner!;
    const view = p.view();
    if (stream.isBound && parseRtpHeader(view, this.drainHeader)) {
      this.packetsPaced++;
      this.transmit(stream, view, this.drainHeader);
    }
    this.pool.give(p);
  }

  private flush(now: number): void {
    this.drain(true);
    this.lastDrainMs = now;
  }

  private dropStale(now: number): void {
    const limitMs = now - this.opts.maxQueueDelayMs;
    for (const q of [this.rtxQueue, this.videoQueue]) {
      for (let p = q.peek(); p !== undefined && p.enqueuedMs < limitMs; p = q.peek()) {
        q.shift();
        this.packetsDroppedStale++;
        this.bytesDroppedStale += p.length;
        this.pool.give(p);
      }
    }
  }

  private dropOverflow(): void {
    while (this.queuedBytes > this.opts.maxQueueBytes) {
      const p = this.videoQueue.shift() ?? this.rtxQueue.shift();
      if (p === undefined) return;
      this.packetsDroppedOverflow++;
      this.bytesDroppedOverflow += p.length;
      this.pool.give(p);
    }
  }

  // ---- probing ------------------------------------------------------------------------------------

  /** Tops the cluster up with padding to its target so far; ends it after its duration. */
  private runProbe(now: number): void {
    const c = this.cluster!;
    const isLast = now >= c.endMs;
    const wantBytes = (c.targetBps * (Math.min(now, c.endMs) - c.startMs)) / 8000;
    // The first burst sends at least one packet, so the cluster's first send time is its start.
    while (c.bytes < wantBytes || c.packets === 0 || (isLast && c.packets < this.opts.minProbePackets)) {
      // Full padding packets, but the one that reaches the target so far only as big as needed.
      const deficit = wantBytes - c.bytes;
      if (this.sendPadding(c, deficit <= 0 || deficit > MAX_PADDING_BYTES ? MAX_PADDING_BYTES : Math.ceil(deficit)) === 0) {
        this.stopProbe();
        return;
      }
    }
    if (isLast) {
      this.endProbe(false);
      return;
    }
    c.nextMs = Math.min(now + this.opts.probeIntervalMs, c.endMs);
  }

  private sendPadding(c: ProbeCluster, paddingBytes: number): number {
    const padder = c.padder;
    const marker = this.marker;
    marker.probeClusterId = c.id;
    const size = padder.info.sendPadding?.(paddingBytes, padder.next) ?? 0;
    marker.probeClusterId = -1;
    if (size === 0) return 0;
    if (this.bytesPerMs !== Infinity) {
      this.tokens -= size;
      if (this.tokens < this.minTokens) this.tokens = this.minTokens;
    }
    c.bytes += size;
    c.packets++;
    this.probePacketsSent++;
    this.probeBytesSent += size;
    return size;
  }

  private findPadder(): PacedStream | null {
    for (const s of this.streams) if (!s.isAudio && s.info.canSendPadding === true && s.info.sendPadding !== undefined) return s;
    return null;
  }

  private updateRate(): void {
    const pacingBps = this.estimateBps * this.opts.pacingFactor;
    const bps = this.cluster !== null && this.cluster.targetBps > pacingBps ? this.cluster.targetBps : pacingBps;
    this.bytesPerMs = bps / 8000;
    if (this.bytesPerMs === Infinity) {
      this.burstBytes = Infinity;
      this.minTokens = -Infinity;
      this.tokens = Infinity;
    } else {
      this.burstBytes = this.opts.burstMs * this.bytesPerMs;
      this.minTokens = -this.opts.maxDebtMs * this.bytesPerMs;
      if (this.tokens > this.burstBytes) this.tokens = this.burstBytes;
    }
    this.isPassThrough = this.bytesPerMs === Infinity && this.cluster === null && this.queuedPackets === 0;
  }
}

export function pacerStage(opts: PacerOptions = {}): SendStageFactory {
  return (ctx) => new PacerStage(ctx, opts);
}
