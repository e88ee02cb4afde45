// What the load tester measures: per subscription (one subscriber, one track) packets, bytes, frames, the span of
// sequence numbers seen (loss = expected - received), first-packet time and one-way delay; latency histograms with
// fixed buckets (no sample is kept); percentiles. Pure, so aggregation is unit-tested.
import { readTrailer, wallClockMs } from './packetizer.js';
import type { SubscriptionSink } from './load-participant.js';

// 0.05 ms buckets up to 100 ms, then 1 ms buckets up to 10 s; slower samples land in the last bucket.
const FINE_MS = 0.05;
const FINE_BUCKETS = 2000;
const COARSE_MS = 1;
const BUCKETS = FINE_BUCKETS + 9900;

function bucketOf(ms: number): number {
  if (ms < FINE_BUCKETS * FINE_MS) return Math.floor(ms / FINE_MS);
  return Math.min(BUCKETS - 1, FINE_BUCKETS + Math.floor((ms - FINE_BUCKETS * FINE_MS) / COARSE_MS));
}

function bucketMiddle(i: number): number {
  if (i < FINE_BUCKETS) return (i + 0.5) * FINE_MS;
  return FINE_BUCKETS * FINE_MS + (i - FINE_BUCKETS + 0.5) * COARSE_MS;
}

export class LatencyHistogram {
  private readonly counts = new Uint32Array(BUCKETS);
  count = 0;
  maxMs = 0;

  add(ms: number): void {
    const v = ms < 0 ? 0 : ms;
    this.counts[bucketOf(v)]!++;
    this.count++;
    if (v > this.maxMs) this.maxMs = v;
  }

  merge(other: LatencyHistogram): void {
    if (other.count === 0) return;
    for (let i = 0; i < BUCKETS; i++) this.counts[i]! += other.counts[i]!;
    this.count += other.count;
    this.maxMs = Math.max(this.maxMs, other.maxMs);
  }

  /**
   * The middle of the bucket holding the p-th percentile (0 < p <= 100): within 0.025 ms below 100 ms, 0.5 ms up to
   * 10 s; never above the maximum; NaN when empty.
   */
  percentile(p: number): number {
    if (this.count === 0) return NaN;
    const rank = Math.max(1, Math.ceil((p / 100) * this.count));
    let seen = 0;
    for (let i = 0; i < BUCKETS; i++) {
      seen += this.counts[i]!;
      if (seen >= rank) return i === BUCKETS - 1 ? this.maxMs : Math.min(this.maxMs, bucketMiddle(i));
    }
    return this.maxMs;
  }
}

/** Percentile of plain values (nearest rank); NaN when empty. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

/** One subscriber's view of one track. */
export class SubscriptionStats implements SubscriptionSink {
  readonly subscriber: string;
  readonly trackSid: string;
  packets = 0;
  /** Packets authenticated and decrypted (the others were counted from their header; see decryptEvery). */
  packetsDecrypted = 0;
  bytes = 0;
  frames = 0;
  firstExtSeq = 0;
  highestExtSeq = -1;
  firstAtMs = NaN;
  lastAtMs = NaN;
  readonly latency = new LatencyHistogram();
  /** When counting started: the later of the subscriber's join start and the track's publication. */
  readonly sinceMs: number;

  constructor(subscriber: string, trackSid: string, sinceMs: number) {
    this.subscriber = subscriber;
    this.trackSid = trackSid;
    this.sinceMs = sinceMs;
  }

  onRtp(buf: Buffer, payloadOffset: number, payloadLength: number, extSeq: number, isMarker: boolean, nowMs: number, isDecrypted = true): void {
    if (this.packets === 0) {
      this.firstExtSeq = extSeq;
      this.firstAtMs = nowMs;
    }
    this.packets++;
    this.bytes += buf.length;
    if (isMarker) this.frames++;
    if (extSeq > this.highestExtSeq) this.highestExtSeq = extSeq;
    this.lastAtMs = nowMs;
    if (!isDecrypted) return;
    this.packetsDecrypted++;
    const sentAt = readTrailer(buf, payloadOffset, payloadLength);
    if (sentAt === sentAt) this.latency.add(wallClockMs() - sentAt);
  }

  /** Packets the sequence numbers say were sent to us since the first one we got. */
  get expected(): number {
    return this.packets === 0 ? 0 : this.highestExtSeq - this.firstExtSeq + 1;
  }
  get lost(): number {
    return Math.max(0, this.expected - this.packets);
  }
  get spanMs(): number {
    return this.packets < 2 ? 0 : this.lastAtMs - this.firstAtMs;
  }
}
