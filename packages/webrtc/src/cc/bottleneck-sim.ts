// Test support: a deterministic bottleneck simulator for the send-side estimator. A paced sender sends 1,200-byte
// packets at min(estimate, application rate) through a FIFO link of a given capacity (drop-tail at a queue delay
// limit, optional seeded random loss, fixed base delay); the receiver reports transport-cc results every 50 ms and
// the report reaches the sender after the return delay. Probe clusters can be injected. Time steps are 1 ms.
import { seededRandom } from '../testing/seeded-random.js';
import type { PacketResult } from './packet-result.js';
import type { SendSideBwe } from './send-side-bwe.js';

export interface SimOptions {
  capacityBps: number;
  /** Forward one-way base delay (ms). */
  baseDelayMs?: number;
  /** Return (feedback) one-way delay (ms). */
  returnDelayMs?: number;
  /** Random loss probability before the bottleneck (0..1). */
  lossRate?: number;
  seed?: number;
  /** Application rate cap (bps); Infinity sends at the estimate. */
  appRateBps?: number;
  /** Drop-tail when a packet would wait longer than this in the queue (ms). */
  queueLimitMs?: number;
  feedbackIntervalMs?: number;
  packetBytes?: number;
  /** Report RTT (base forward + return) to the estimator this often (ms); 0 never. */
  rttIntervalMs?: number;
}

interface SentPacket {
  seq: number;
  sendMs: number;
  sizeBytes: number;
  /** True arrival time, or -1 when lost. */
  arrivalMs: number;
  probeClusterId: number;
  queueDelayMs: number;
}

const RECEIVER_CLOCK_OFFSET_MS = 987_654.321;

export class BottleneckSim {
  nowMs = 0;
  capacityBps: number;
  baseDelayMs: number;
  returnDelayMs: number;
  lossRate: number;
  appRateBps: number;
  readonly packets: SentPacket[] = [];
  /** Estimate samples every feedback interval: [time ms, estimate bps]. */
  readonly estimates: Array<[number, number]> = [];
  private readonly random: () => number;
  private readonly queueLimitMs: number;
  private readonly feedbackIntervalMs: number;
  private readonly packetBytes: number;
  private readonly rttIntervalMs: number;
  private nextSendMs = 0;
  private linkFreeMs = 0;
  private nextReportIndex = 0;
  private nextFeedbackMs: number;
  private nextRttMs = 0;
  private readonly inFlightFeedback: Array<{ atMs: number; results: PacketResult[] }> = [];
  private probe: { id: number; rateBps: number; left: number; nextMs: number } | undefined;

  private readonly bwe: SendSideBwe;

  constructor(bwe: SendSideBwe, opts: SimOptions) {
    this.bwe = bwe;
    this.capacityBps = opts.capacityBps;
    this.baseDelayMs = opts.baseDelayMs ?? 20;
    this.returnDelayMs = opts.returnDelayMs ?? 20;
    this.lossRate = opts.lossRate ?? 0;
    this.random = seededRandom(opts.seed ?? 1);
    this.appRateBps = opts.appRateBps ?? Number.POSITIVE_INFINITY;
    this.queueLimitMs = opts.queueLimitMs ?? 1000;
    this.feedbackIntervalMs = opts.feedbackIntervalMs ?? 50;
    this.packetBytes = opts.packetBytes ?? 1200;
    this.rttIntervalMs = opts.rttIntervalMs ?? 1000;
    this.nextFeedbackMs = this.feedbackIntervalMs;
  }

  /** Sends a probe cluster of `packets` packets at `rateBps` starting now (media pauses meanwhile). */
  probeAt(id: number, rateBps: number, packets: number): void {
    this.probe = { id, rateBps, left: packets, nextMs: this.nowMs };
  }

  /** Runs until `untilMs` (absolute). */
  runUntil(untilMs: number): void {
    while (this.nowMs < untilMs) this.step();
  }

  /** Largest queueing delay of packets sent in [fromMs, toMs). */
  maxQueueDelayMs(fromMs: number, toMs: number): number {
    let max = 0;
    for (const p of this.packets) if (p.sendMs >= fromMs && p.sendMs < toMs && p.queueDelayMs > max) max = p.queueDelayMs;
    return max;
  }

  /** Smallest and largest estimate sampled in [fromMs, toMs]. */
  estimateRange(fromMs: number, toMs: number): { min: number; max: number } {
    let min = Number.POSITIVE_INFINITY;
    let max = 0;
    for (const [t, e] of this.estimates) {
      if (t < fromMs || t > toMs) continue;
      if (e < min) min = e;
      if (e > max) max = e;
    }
    return { min, max };
  }

  /** First sampled time at or after `fromMs` when the estimate satisfied `pred`, or -1. */
  firstTime(fromMs: number, pred: (bps: number) => boolean): number {
    for (const [t, e] of this.estimates) if (t >= fromMs && pred(e)) return t;
    return -1;
  }

  private step(): void {
    const end = this.nowMs + 1;
    // Sender: a probe cluster first, else media paced at min(estimate, application rate).
    if (this.probe !== undefined) {
      const pr = this.probe;
      while (pr.left > 0 && pr.nextMs < end) {
        this.send(pr.nextMs, pr.id);
        pr.nextMs += (this.packetBytes * 8000) / pr.rateBps;
        pr.left--;
      }
      if (pr.left === 0) {
        this.nextSendMs = Math.max(this.nextSendMs, pr.nextMs);
        this.probe = undefined;
      }
    } else {
      if (this.nextSendMs < this.nowMs) this.nextSendMs = this.nowMs;
      while (this.nextSendMs < end) {
        const rate = Math.min(this.bwe.estimateBps(), this.appRateBps);
        this.send(this.nextSendMs, -1);
        this.nextSendMs += (this.packetBytes * 8000) / rate;
      }
    }
    this.nowMs = end;
    if (this.nowMs >= this.nextFeedbackMs) {
      this.nextFeedbackMs += this.feedbackIntervalMs;
      const results = this.collectFeedback(this.nowMs);
      if (results.length > 0) this.inFlightFeedback.push({ atMs: this.nowMs + this.returnDelayMs, results });
    }
    while (this.inFlightFeedback.length > 0 && this.inFlightFeedback[0]!.atMs <= this.nowMs) {
      this.bwe.onFeedback(this.inFlightFeedback.shift()!.results, this.nowMs);
      this.estimates.push([this.nowMs, this.bwe.estimateBps()]);
    }
    if (this.rttIntervalMs > 0 && this.nowMs >= this.nextRttMs) {
      this.nextRttMs += this.rttIntervalMs;
      this.bwe.onRtt(this.baseDelayMs + this.returnDelayMs, this.nowMs);
    }
  }

  private send(atMs: number, probeClusterId: number): void {
    const size = this.packetBytes;
    const p: SentPacket = { seq: this.packets.length, sendMs: atMs, sizeBytes: size, arrivalMs: -1, probeClusterId, queueDelayMs: 0 };
    this.packets.push(p);
    if (this.lossRate > 0 && this.random() < this.lossRate) return;
    const serializationMs = (size * 8000) / this.capacityBps;
    const start = Math.max(atMs, this.linkFreeMs);
    if (start - atMs > this.queueLimitMs) return; // drop-tail
    this.linkFreeMs = start + serializationMs;
    p.queueDelayMs = start - atMs;
    p.arrivalMs = this.linkFreeMs + this.baseDelayMs;
  }

  /** Transport-cc results for every packet up to the last one that has arrived by `atMs`. */
  private collectFeedback(atMs: number): PacketResult[] {
    let last = -1;
    for (let i = this.nextReportIndex; i < this.packets.length; i++) {
      const p = this.packets[i]!;
      if (p.arrivalMs >= 0 && p.arrivalMs <= atMs) last = i;
      else if (p.arrivalMs > atMs) break; // FIFO: nothing later has arrived either
    }
    const out: PacketResult[] = [];
    for (let i = this.nextReportIndex; i <= last; i++) {
      const p = this.packets[i]!;
      // Arrival times travel with 250 us resolution in the receiver's clock.
      const arrivalMs = p.arrivalMs < 0 ? -1 : Math.round((p.arrivalMs + RECEIVER_CLOCK_OFFSET_MS) * 4) / 4;
      out.push({ seq: p.seq, sendMs: p.sendMs, sizeBytes: p.sizeBytes, arrivalMs, probeClusterId: p.probeClusterId });
    }
    if (last >= 0) this.nextReportIndex = last + 1;
    return out;
  }
}
