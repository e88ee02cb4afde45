// Node-wide media counters for metrics: the per-stream counters that Receivers and DownTracks already keep are
// summed at read time (a scrape); a closed Receiver or DownTrack leaves its final counts in the retired totals,
// so every sum only grows. Nothing here runs per packet except the sampled forwarding-latency observation.
import type { MediaKind } from './down-track-source.js';
import type { Receiver } from './receiver.js';
import type { DownTrack } from './down-track.js';

/** Takes one latency sample in nanoseconds (a metrics histogram). Must not allocate. */
export interface LatencyObserver {
  observe(valueNs: number): void;
}

export interface KindCounters {
  /** RTP from publishers: packets and bytes (whole packets, header included). */
  packetsIn: number;
  bytesIn: number;
  /** RTP to subscribers, retransmissions included. */
  packetsOut: number;
  bytesOut: number;
  retransmitPacketsOut: number;
  retransmitBytesOut: number;
  /** Retransmissions sent on the subscriber's RTX stream (the rest went on the media SSRC). */
  rtxPacketsOut: number;
  /** NACKed packets not resent: no longer in the cache, never seen, or already resent within an RTT. */
  retransmitMisses: number;
  /** NACKed sequence numbers received from subscribers / sent to publishers. */
  nacksIn: number;
  nacksOut: number;
  /** Keyframe requests (PLI or FIR) received from subscribers / PLI requests sent to publishers. */
  plisIn: number;
  plisOut: number;
}

export function zeroCounters(): KindCounters {
  return {
    packetsIn: 0, bytesIn: 0, packetsOut: 0, bytesOut: 0, retransmitPacketsOut: 0, retransmitBytesOut: 0,
    rtxPacketsOut: 0, retransmitMisses: 0, nacksIn: 0, nacksOut: 0, plisIn: 0, plisOut: 0,
  };
}

function addReceiver(c: KindCounters, r: Receiver): void {
  c.packetsIn += r.packetsReceived;
  c.bytesIn += r.bytesReceived;
  c.nacksOut += r.nacksSent;
  c.plisOut += r.keyframeRequestsSent;
}

function addDownTrack(c: KindCounters, d: DownTrack): void {
  c.packetsOut += d.packetsSent;
  c.bytesOut += d.bytesSent;
  c.retransmitPacketsOut += d.retransmits;
  c.retransmitBytesOut += d.retransmitBytes;
  c.rtxPacketsOut += d.rtxRetransmits;
  c.retransmitMisses += d.retransmitMisses;
  c.nacksIn += d.nacksReceived;
  c.plisIn += d.keyframeRequestsReceived;
}

export interface SfuStatsOptions {
  /** Forwarding-latency histogram (ns from a packet's arrival at the Receiver to its send to every DownTrack). */
  forwardLatency?: LatencyObserver;
  /** One latency sample per this many packets a Receiver hands to its DownTracks (default 64; a packet to N counts N). */
  latencySampleEvery?: number;
}

/** What subscribers' stream allocators did, node-wide (counted by each SubscriberSession as it happens). */
export interface AllocationCounters {
  upgrades: number;
  downgrades: number;
  pauses: number;
  /** Probe clusters started for an upgrade. */
  probes: number;
}

export class SfuStats {
  readonly forwardLatency: LatencyObserver | null;
  readonly allocation: AllocationCounters = { upgrades: 0, downgrades: 0, pauses: 0, probes: 0 };
  readonly latencySampleEvery: number;
  private readonly receivers = new Set<Receiver>();
  private readonly downTracks = new Set<DownTrack>();
  private readonly retired: Record<MediaKind, KindCounters> = { audio: zeroCounters(), video: zeroCounters() };

  constructor(opts: SfuStatsOptions = {}) {
    this.forwardLatency = opts.forwardLatency ?? null;
    this.latencySampleEvery = Math.max(1, Math.floor(opts.latencySampleEvery ?? 64));
  }

  addReceiver(r: Receiver): void {
    this.receivers.add(r);
  }
  /** Called by a closing Receiver: its final counts move into the totals. */
  retireReceiver(r: Receiver): void {
    if (this.receivers.delete(r)) addReceiver(this.retired[r.kind], r);
  }
  addDownTrack(d: DownTrack): void {
    this.downTracks.add(d);
  }
  retireDownTrack(d: DownTrack): void {
    if (this.downTracks.delete(d)) addDownTrack(this.retired[d.source.kind], d);
  }

  get liveReceivers(): number {
    return this.receivers.size;
  }
  get liveDownTracks(): number {
    return this.downTracks.size;
  }

  /** Totals since start, by kind (control plane: allocates). */
  snapshot(): Record<MediaKind, KindCounters> {
    const out: Record<MediaKind, KindCounters> = { audio: { ...this.retired.audio }, video: { ...this.retired.video } };
    for (const r of this.receivers) addReceiver(out[r.kind], r);
    for (const d of this.downTracks) addDownTrack(out[d.source.kind], d);
    return out;
  }
}
