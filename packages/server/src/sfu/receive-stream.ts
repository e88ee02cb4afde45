// One incoming RTP stream of a published track (one simulcast layer, or the single stream of a non-simulcast or SVC
// track): the packet cache that answers subscribers' NACKs, the publisher's last SR mapping, and read-only access to
// the transport's receive counters for that stream (statistics and NACKs live in the transport's stages).
import { SeqUnwrapper } from '@atrium/webrtc/rtp/index.js';
import { PacketCache } from '@atrium/webrtc/stages/packet-cache.js';
import type { RtpReceiveMeta } from '@atrium/webrtc/stages/rtp-stage.js';
import type { ReceiveStats } from '@atrium/webrtc/stages/receive-stats.js';
import type { SenderReportMapping } from './down-track-source.js';
import type { PayloadInspector } from './codec/payload-inspector.js';

/** What the transport keeps about the stream (a RemoteStream): read for metrics and connection quality. */
export interface UpstreamCounters {
  readonly stats: ReceiveStats;
  readonly nacksSent: number;
}

export interface ReceiveStreamOptions {
  sourceId: number;
  /** Spatial layer of this stream (simulcast index, 0 = lowest; 0 without simulcast). */
  spatial: number;
  /** Publisher SSRC, or -1 to take the first packet's. */
  ssrc: number;
  cacheSize: number;
  maxPacketBytes: number;
  upstream?: UpstreamCounters;
  /** Reads each packet's layers (one per stream: simulcast streams have their own descriptor state). */
  inspector: PayloadInspector;
}

export class ReceiveStream {
  readonly sourceId: number;
  readonly spatial: number;
  ssrc: number;
  /** Monotonic time of the last packet, -Infinity before the first. */
  lastPacketMs = -Infinity;
  readonly cache: PacketCache;
  upstream: UpstreamCounters | undefined;
  /** The publisher's last SR for this stream (one reused object), or undefined before one arrives. */
  senderReport: SenderReportMapping | undefined = undefined;
  /** Monotonic ms of the last PLI sent for this stream. */
  lastKeyframeRequestMs = -Infinity;
  /** Monotonic ms of the last key frame's first packet on this stream. */
  lastKeyframeMs = -Infinity;
  readonly inspector: PayloadInspector;

  constructor(opts: ReceiveStreamOptions) {
    this.sourceId = opts.sourceId;
    this.spatial = opts.spatial;
    this.ssrc = opts.ssrc;
    this.cache = new PacketCache({ capacity: opts.cacheSize, maxPacketBytes: opts.maxPacketBytes });
    this.upstream = opts.upstream;
    this.inspector = opts.inspector;
  }

  /** For a receiver fed without the transport's metadata: our own sequence unwrapping (created on first use). */
  private own: { unwrapper: SeqUnwrapper; meta: RtpReceiveMeta } | undefined;

  get hasSsrc(): boolean {
    return this.ssrc >= 0;
  }

  /** The metadata the transport would have given (extended sequence number, arrival now). */
  ownMeta(seq: number, nowMs: number): RtpReceiveMeta {
    const own = (this.own ??= { unwrapper: new SeqUnwrapper(), meta: { extSeq: 0, arrivalMs: 0 } });
    own.meta.extSeq = own.unwrapper.unwrap(seq);
    own.meta.arrivalMs = nowMs;
    return own.meta;
  }

  setSenderReport(ntpWallMs: number, rtpTimestamp: number, nowMs: number): void {
    if (this.senderReport === undefined) {
      this.senderReport = { ntpWallMs, rtpTimestamp, receivedAtMs: nowMs };
    } else {
      this.senderReport.ntpWallMs = ntpWallMs;
      this.senderReport.rtpTimestamp = rtpTimestamp;
      this.senderReport.receivedAtMs = nowMs;
    }
  }
}
