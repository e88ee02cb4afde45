// One incoming RTP stream of a published track (one simulcast layer): sequence unwrapping, packet
// cache, receive statistics, upstream NACK generation and the publisher's last SR mapping.
import { SeqUnwrapper } from '@atrium/webrtc/rtp/index.js';
import { NackGenerator } from './nack-generator.js';
import type { NackGeneratorOptions } from './nack-generator.js';
import { PacketCache } from './packet-cache.js';
import { ReceiveStats } from './receive-stats.js';
import type { SenderReportMapping } from './down-track-source.js';

export interface ReceiveStreamOptions {
  sourceId: number;
  /** Quality rank among the track's simulcast layers: higher is better (0 without simulcast). */
  rank?: number;
  /** Publisher SSRC, or -1 to take the first packet's. */
  ssrc: number;
  clockRate: number;
  cacheSize: number;
  maxPacketBytes: number;
  /** false: no upstream NACKs for this stream. */
  nack: NackGeneratorOptions | false;
}

export class ReceiveStream {
  readonly sourceId: number;
  readonly rank: number;
  ssrc: number;
  /** Monotonic time of the last packet, -Infinity before the first. */
  lastPacketMs = -Infinity;
  readonly unwrapper = new SeqUnwrapper();
  readonly cache: PacketCache;
  readonly stats: ReceiveStats;
  readonly nack: NackGenerator | null;
  /** The publisher's last SR for this stream (one reused object), or undefined before one arrives. */
  senderReport: SenderReportMapping | undefined = undefined;
  /** Middle 32 bits of the last SR's NTP timestamp (LSR of our RR), 0 before one arrives. */
  lastSrMid32 = 0;

  constructor(opts: ReceiveStreamOptions) {
    this.sourceId = opts.sourceId;
    this.rank = opts.rank ?? 0;
    this.ssrc = opts.ssrc;
    this.cache = new PacketCache({ capacity: opts.cacheSize, maxPacketBytes: opts.maxPacketBytes });
    this.stats = new ReceiveStats(opts.clockRate);
    this.nack = opts.nack === false ? null : new NackGenerator(opts.nack);
  }

  get hasSsrc(): boolean {
    return this.ssrc >= 0;
  }

  /** Per packet: unwraps, caches, counts; returns the extended sequence number. */
  receive(buf: Uint8Array, seq: number, timestamp: number, payloadLength: number, nowMs: number): number {
    const extSeq = this.unwrapper.unwrap(seq);
    this.lastPacketMs = nowMs;
    this.cache.put(extSeq, buf);
    this.stats.update(extSeq, timestamp, nowMs, payloadLength);
    if (this.nack !== null) this.nack.push(extSeq, nowMs);
    return extSeq;
  }

  setSenderReport(ntpWallMs: number, rtpTimestamp: number, mid32: number, nowMs: number): void {
    if (this.senderReport === undefined) {
      this.senderReport = { ntpWallMs, rtpTimestamp, receivedAtMs: nowMs };
    } else {
      this.senderReport.ntpWallMs = ntpWallMs;
      this.senderReport.rtpTimestamp = rtpTimestamp;
      this.senderReport.receivedAtMs = nowMs;
    }
    this.lastSrMid32 = mid32;
  }
}
