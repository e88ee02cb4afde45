// The SFU side of one published track: takes decrypted RTP of each of its streams (simulcast layers) from the
// publisher's transport, reads each packet's layers once (codec/payload-inspector.ts), caches it for retransmission,
// keeps which layers flow and at what bitrate, and fans it out to its TrackSenders (DownTracks, recorders...). Talks to
// the publisher only through throttled key frame requests; NACKs and receiver reports are the transport's stages.
import type { Clock, TimerHandle } from '@atrium/webrtc/clock.js';
import type { Logger } from '@atrium/webrtc/logger.js';
import { silentLogger } from '@atrium/webrtc/logger.js';
import { serializeRtcp, wallMsFromNtp } from '@atrium/webrtc/rtp/index.js';
import type { RtcpPacket, RtpHeader } from '@atrium/webrtc/rtp/index.js';
import type { RtpReceiveMeta } from '@atrium/webrtc/stages/rtp-stage.js';
import { CodecKind, codecKindFromMime } from './codec/keyframe.js';
import { createPayloadInspector, isDescriptorAware } from './codec/payload-inspector.js';
import type { PayloadInspector } from './codec/payload-inspector.js';
import { createPacketInfo } from './down-track-source.js';
import type { DownTrackSource, MediaKind, SenderReportMapping, SourceLayers, TrackSender } from './down-track-source.js';
import { ReceiveStream } from './receive-stream.js';
import type { UpstreamCounters } from './receive-stream.js';
import { AudioLevelMeter, readAudioLevel } from './audio-level.js';
import type { AudioLevelParams } from './audio-level.js';
import type { LatencyObserver, SfuStats } from './sfu-stats.js';
import { MAX_SPATIAL } from './video-layers.js';

export type RtcpSink = (packet: Buffer) => void;

export interface ReceiverOptions {
  kind: MediaKind;
  /** e.g. 'audio/opus', 'video/VP8', 'video/H264'. */
  mimeType: string;
  clockRate: number;
  /** Publisher SSRC of the first stream; omitted: the first packet's SSRC is taken. */
  ssrc?: number;
  /** Spatial layer of the first stream (simulcast index; default 0); later streams come through addStream. */
  spatial?: number;
  /** The transport's counters for the first stream (statistics, NACKs sent). */
  upstream?: UpstreamCounters;
  /** Our SSRC as the sender of key frame requests. Default 1. */
  localSsrc?: number;
  /** Serialized RTCP toward the publisher (the transport encrypts it). */
  sendRtcp: RtcpSink;
  clock: Clock;
  logger?: Logger;
  /** Packets cached for retransmission per stream (default 512 video, 64 audio). */
  cacheSize?: number;
  maxPacketBytes?: number;
  /**
   * At most one PLI per stream per this interval (default 500 ms) while the last one is unanswered; 0 (a mirror of a
   * receiver on another worker) relays every request at once and leaves the throttling to the origin.
   */
  keyframeRequestIntervalMs?: number;
  /**
   * How long after a key frame the publisher ignores key frame requests (default 350 ms: libwebrtc answers at most one
   * per 300 ms, kMinKeyframeSendIntervalMs, plus a margin). A PLI inside it would be lost, so it waits for its end.
   */
  publisherKeyframeIntervalMs?: number;
  /** Audio: the publisher's id for the RFC 6464 audio-level extension (0 or absent: none). */
  audioLevelExtensionId?: number;
  audioLevel?: Partial<AudioLevelParams>;
  /** Node-wide counters (metrics): this receiver registers itself and retires on close. */
  stats?: SfuStats;
}

/** A spatial layer counts as flowing while its last packet is at most this old. */
export const LAYER_ACTIVE_WINDOW_MS = 1000;
/** Layer bitrates are measured over windows of this length. */
const BITRATE_WINDOW_MS = 1000;
const LAYERS = MAX_SPATIAL + 1;

export class Receiver implements DownTrackSource {
  readonly kind: MediaKind;
  readonly mimeType: string;
  readonly clockRate: number;
  readonly localSsrc: number;
  packetsReceived = 0;
  /** Whole RTP packets (header included) of packets counted in packetsReceived. */
  bytesReceived = 0;
  /** Packets with an SSRC that matches no stream of this track. */
  unknownSsrcPackets = 0;
  /** Packets dropped because the same packet (stream and sequence number) had already arrived. */
  duplicatePackets = 0;
  keyframesReceived = 0;
  keyframeRequestsSent = 0;
  private readonly codec: number;
  /** The publisher's dependency descriptor extension id, applied to every stream's inspector (0: none). */
  private ddExtensionId = 0;
  private readonly streams: ReceiveStream[];
  private readonly streamDefaults: { cacheSize: number; maxPacketBytes: number };
  private senders: readonly TrackSender[] = [];
  private readonly info = createPacketInfo();
  private readonly sendRtcp: RtcpSink;
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly keyframeRequestIntervalMs: number;
  private readonly publisherKeyframeIntervalMs: number;
  /** Streams whose PLI waits for the throttle interval (bit per source id), and the one timer that sends them. */
  private pendingKeyframeMask = 0;
  private keyframeTimer: TimerHandle | null = null;
  private keyframeTimerDueMs = Infinity;
  private muted = false;
  private closed = false;
  /** Per spatial layer: last packet time, bytes in the current window, the last window's bitrate, max temporal id. */
  private readonly layerLastMs = new Float64Array(LAYERS).fill(-Infinity);
  private readonly layerBytes = new Float64Array(LAYERS);
  private readonly layerBitrate = new Float64Array(LAYERS);
  private readonly layerMaxTemporal = new Int8Array(LAYERS).fill(-1);
  private readonly layerWindowMaxTemporal = new Int8Array(LAYERS).fill(-1);
  private windowStartMs = -Infinity;
  /** More than one spatial layer inside one stream (VP9/AV1 SVC), seen from the packets. */
  private isSvc = false;
  /** Audio only: the speaking level from the audio-level extension. */
  readonly audioLevel: AudioLevelMeter | null;
  private audioLevelExtensionId = 0;
  private readonly stats: SfuStats | null;
  private readonly latency: LatencyObserver | null;
  private readonly latencySampleEvery: number;
  private latencyCountdown: number;

  constructor(opts: ReceiverOptions) {
    this.kind = opts.kind;
    this.mimeType = opts.mimeType;
    this.clockRate = opts.clockRate;
    this.localSsrc = (opts.localSsrc ?? 1) >>> 0;
    this.sendRtcp = opts.sendRtcp;
    this.clock = opts.clock;
    this.logger = opts.logger ?? silentLogger;
    this.codec = opts.kind === 'audio' ? CodecKind.AUDIO : codecKindFromMime(opts.mimeType);
    this.keyframeRequestIntervalMs = opts.keyframeRequestIntervalMs ?? 500;
    this.publisherKeyframeIntervalMs = opts.publisherKeyframeIntervalMs ?? 350;
    const isVideo = opts.kind === 'video';
    this.streamDefaults = { cacheSize: opts.cacheSize ?? (isVideo ? 512 : 64), maxPacketBytes: opts.maxPacketBytes ?? 1500 };
    this.streams = [
      new ReceiveStream({
        sourceId: 0,
        spatial: opts.spatial ?? 0,
        ssrc: opts.ssrc === undefined ? -1 : opts.ssrc >>> 0,
        ...this.streamDefaults,
        ...(opts.upstream ? { upstream: opts.upstream } : {}),
        inspector: this.newInspector(),
      }),
    ];
    this.audioLevel = opts.kind === 'audio' ? new AudioLevelMeter({ clockRate: opts.clockRate, params: opts.audioLevel ?? {} }) : null;
    this.audioLevelExtensionId = opts.audioLevelExtensionId ?? 0;
    this.stats = opts.stats ?? null;
    this.latency = this.stats?.forwardLatency ?? null;
    this.latencySampleEvery = this.stats?.latencySampleEvery ?? 64;
    this.latencyCountdown = this.latencySampleEvery;
    this.stats?.addReceiver(this);
  }

  get senderCount(): number {
    return this.senders.length;
  }
  get isClosed(): boolean {
    return this.closed;
  }
  get isMuted(): boolean {
    return this.muted;
  }
  /** NACKed sequence numbers sent upstream by the transport for this track's streams. */
  get nacksSent(): number {
    let n = 0;
    for (const s of this.streams) n += s.upstream?.nacksSent ?? 0;
    return n;
  }
  get streamCount(): number {
    return this.streams.length;
  }

  /** Sets the publisher's audio-level extension id (from its SDP); 0 stops reading levels. */
  setAudioLevelExtensionId(id: number): void {
    this.audioLevelExtensionId = id > 0 && id < 256 ? id : 0;
  }

  get dependencyDescriptorId(): number {
    return this.ddExtensionId;
  }

  /** Sets the publisher's dependency descriptor extension id (from its SDP): AV1/VP9 layers are read from it. */
  setDependencyDescriptorId(id: number): void {
    this.ddExtensionId = id;
    for (const s of this.streams) if (isDescriptorAware(s.inspector)) s.inspector.setDependencyDescriptorId(id);
  }

  private newInspector(): PayloadInspector {
    const inspector = createPayloadInspector(this.codec as (typeof CodecKind)[keyof typeof CodecKind]);
    if (this.ddExtensionId !== 0 && isDescriptorAware(inspector)) inspector.setDependencyDescriptorId(this.ddExtensionId);
    return inspector;
  }

  /** Adds another incoming stream (a simulcast layer) of this track; returns its source id. */
  addStream(opts: { ssrc: number; spatial: number; upstream?: UpstreamCounters }): number {
    const sourceId = this.streams.length;
    this.streams.push(
      new ReceiveStream({
        sourceId,
        spatial: Math.max(0, Math.min(MAX_SPATIAL, opts.spatial)),
        ssrc: opts.ssrc >>> 0,
        ...this.streamDefaults,
        ...(opts.upstream ? { upstream: opts.upstream } : {}),
        inspector: this.newInspector(),
      }),
    );
    return sourceId;
  }

  /**
   * A mirror of a track received on another worker (media-worker/pipe.ts) learns its streams from the packets: the
   * stream with `ssrc` exists after this, with `spatial` as its layer. The first stream, created before any SSRC was
   * known, is taken over when nothing arrived on it yet. Returns the stream's source id.
   */
  bindStream(ssrc: number, spatial: number): number {
    const streams = this.streams;
    for (let i = 0; i < streams.length; i++) if (streams[i]!.ssrc === ssrc) return i;
    const first = streams[0]!;
    if (streams.length === 1 && !first.hasSsrc) {
      streams[0] = new ReceiveStream({
        sourceId: 0, spatial: Math.max(0, Math.min(MAX_SPATIAL, spatial)), ssrc: ssrc >>> 0, ...this.streamDefaults,
        inspector: this.newInspector(),
      });
      if (this.pendingKeyframeMask !== 0) this.flushKeyframeRequests();
      return 0;
    }
    return this.addStream({ ssrc, spatial });
  }

  /** The stream for a source id (0 without simulcast). */
  stream(sourceId: number): ReceiveStream | undefined {
    return this.streams[sourceId];
  }

  sourceForSpatial(spatial: number): number {
    if (this.streams.length === 1) return 0;
    for (const s of this.streams) if (s.spatial === spatial) return s.sourceId;
    return -1;
  }

  /**
   * Per decrypted packet from the publisher's transport. `meta` comes from the transport's stream core (extended
   * sequence number, socket arrival time); without it (a receiver fed directly) they are derived here. Never throws.
   */
  writeRtp(buf: Uint8Array, h: RtpHeader, meta?: RtpReceiveMeta): void {
    if (this.closed) return;
    const ssrc = h.ssrc;
    let stream: ReceiveStream | undefined;
    const streams = this.streams;
    for (let i = 0; i < streams.length; i++) {
      const s = streams[i]!;
      if (s.ssrc === ssrc) {
        stream = s;
        break;
      }
      if (!s.hasSsrc) {
        s.ssrc = ssrc;
        stream = s;
        // A PLI asked for before the SSRC was known goes out now.
        if (this.pendingKeyframeMask !== 0) this.flushKeyframeRequests();
        break;
      }
    }
    if (stream === undefined) {
      this.unknownSsrcPackets++;
      return;
    }
    if (meta === undefined) meta = stream.ownMeta(h.sequenceNumber, this.clock.nowMs());
    // A packet already here (a retransmission of one that was only late, or libwebrtc's RTX "payload padding", which
    // probes by resending recent packets): every subscriber has it already; forwarding it again only costs them.
    if (stream.cache.has(meta.extSeq)) {
      this.duplicatePackets++;
      return;
    }
    const nowMs = meta.arrivalMs;
    this.packetsReceived++;
    this.bytesReceived += buf.length;
    stream.lastPacketMs = nowMs;
    stream.cache.put(meta.extSeq, buf);
    const info = this.info;
    info.extSeq = meta.extSeq;
    info.arrivalMs = nowMs;
    info.sourceId = stream.sourceId;
    info.codec.ddOffset = -1;
    info.spatial = 0;
    stream.inspector.inspect(buf, h, info);
    // A simulcast stream's own layers (an L1T3 VP9/AV1 stream says spatial 0) sit on top of the stream's layer.
    info.spatial = stream.spatial + (this.codec === CodecKind.AUDIO ? 0 : info.spatial);
    let isLayerNew = false;
    if (this.codec !== CodecKind.AUDIO) {
      const sp = info.spatial;
      if (sp !== stream.spatial) this.isSvc = true;
      if (nowMs - this.windowStartMs >= BITRATE_WINDOW_MS) this.rollWindow(nowMs);
      if (nowMs - this.layerLastMs[sp]! > LAYER_ACTIVE_WINDOW_MS) isLayerNew = true;
      this.layerLastMs[sp] = nowMs;
      this.layerBytes[sp] = this.layerBytes[sp]! + buf.length;
      if (info.temporal > this.layerWindowMaxTemporal[sp]!) this.layerWindowMaxTemporal[sp] = info.temporal;
      if (info.temporal > this.layerMaxTemporal[sp]!) this.layerMaxTemporal[sp] = info.temporal;
      if (info.isKeyframe) {
        this.keyframesReceived++;
        stream.lastKeyframeMs = nowMs;
        // A key frame is arriving on this stream: a deferred PLI for it is moot.
        this.pendingKeyframeMask &= ~(1 << stream.sourceId);
      }
    } else if (this.audioLevelExtensionId !== 0 && this.audioLevel !== null) {
      const level = readAudioLevel(buf, h, this.audioLevelExtensionId);
      if (level >= 0) this.audioLevel.observePacket(level, h.timestamp, nowMs);
    }
    const senders = this.senders;
    for (let i = 0; i < senders.length; i++) senders[i]!.writeRtp(buf, h, info);
    if (isLayerNew) this.notifyLayersChanged();
    // Sampled forwarding latency: arrival here to the last sender's send (encrypt + socket write included). One sample
    // per `latencySampleEvery` packets handed to senders: a packet fanned out to many is sampled every time (the
    // sample costs nothing beside the fan-out), so large rooms get as many samples as busy small ones.
    if (this.latency !== null && senders.length > 0 && (this.latencyCountdown -= senders.length) <= 0) {
      this.latencyCountdown = this.latencySampleEvery;
      this.latency.observe((this.clock.nowMs() - nowMs) * 1e6);
    }
  }

  private rollWindow(nowMs: number): void {
    const elapsedMs = this.windowStartMs === -Infinity ? 0 : nowMs - this.windowStartMs;
    for (let s = 0; s < LAYERS; s++) {
      // A window longer than one (a gap in packets) spreads its bytes over the time it really covered.
      this.layerBitrate[s] = elapsedMs > 0 && elapsedMs < 2 * BITRATE_WINDOW_MS ? (this.layerBytes[s]! * 8000) / elapsedMs : 0;
      this.layerBytes[s] = 0;
      this.layerMaxTemporal[s] = this.layerWindowMaxTemporal[s]!;
      this.layerWindowMaxTemporal[s] = -1;
    }
    this.windowStartMs = nowMs;
  }

  private notifyLayersChanged(): void {
    for (const s of this.senders) {
      try {
        s.onSourceLayersChanged();
      } catch (err) {
        this.logger.warn({ err }, 'track sender layer listener threw');
      }
    }
  }

  /** What flows now (control plane; allocates a small object). */
  layers(): SourceLayers {
    const nowMs = this.clock.nowMs();
    let mask = 0;
    const maxTemporal: number[] = [];
    const bitrateBps: number[] = [];
    const isStale = nowMs - this.windowStartMs >= 2 * BITRATE_WINDOW_MS;
    for (let s = 0; s < LAYERS; s++) {
      const isActive = nowMs - this.layerLastMs[s]! <= LAYER_ACTIVE_WINDOW_MS;
      if (isActive) mask |= 1 << s;
      maxTemporal.push(isActive ? Math.max(this.layerMaxTemporal[s]!, this.layerWindowMaxTemporal[s]!, 0) : -1);
      bitrateBps.push(isActive && !isStale ? this.layerBitrate[s]! : 0);
    }
    return { activeSpatialMask: mask, maxTemporal, bitrateBps, isSvc: this.isSvc };
  }

  /** RTCP from the publisher: SRs give the NTP/RTP mapping used for down-track SRs. */
  handleRtcp(packets: readonly RtcpPacket[]): void {
    if (this.closed) return;
    for (const p of packets) {
      if (p.type !== 'sr') continue;
      for (const s of this.streams) {
        if (s.ssrc !== p.ssrc >>> 0) continue;
        s.setSenderReport(wallMsFromNtp(p.ntpTimestamp), p.rtpTimestamp >>> 0, this.clock.nowMs());
      }
    }
  }

  /**
   * Asks the publisher for a key frame of one stream, or of all streams without `sourceId`: at most one PLI per stream
   * per interval, a request inside the interval deferred to its end, never for audio. A stream whose SSRC is not known
   * yet gets its PLI when its first packet arrives.
   */
  requestKeyframe(sourceId?: number): void {
    if (this.closed || this.kind !== 'video') return;
    let mask = 0;
    if (sourceId === undefined) {
      for (const s of this.streams) mask |= 1 << s.sourceId;
    } else if (sourceId >= 0 && sourceId < this.streams.length) {
      mask = 1 << sourceId;
    }
    if (mask === 0) return;
    this.pendingKeyframeMask |= mask;
    this.flushKeyframeRequests();
  }

  private flushKeyframeRequests(): void {
    const nowMs = this.clock.nowMs();
    const packets: RtcpPacket[] = [];
    let nextDueMs = Infinity;
    for (const s of this.streams) {
      const bit = 1 << s.sourceId;
      if ((this.pendingKeyframeMask & bit) === 0 || !s.hasSsrc) continue;
      const dueMs = this.keyframeRequestDueMs(s);
      if (dueMs > nowMs) {
        if (dueMs < nextDueMs) nextDueMs = dueMs;
        continue;
      }
      this.pendingKeyframeMask &= ~bit;
      s.lastKeyframeRequestMs = nowMs;
      packets.push({ type: 'pli', senderSsrc: this.localSsrc, mediaSsrc: s.ssrc });
    }
    if (packets.length > 0) {
      this.keyframeRequestsSent += packets.length;
      this.emitRtcp(packets);
    }
    // One timer, at the earliest due request (a stream's request can fall due before another's that set the timer).
    if (nextDueMs !== Infinity && nextDueMs < this.keyframeTimerDueMs) {
      if (this.keyframeTimer !== null) this.clock.clearTimeout(this.keyframeTimer);
      this.keyframeTimerDueMs = nextDueMs;
      this.keyframeTimer = this.clock.setTimeout(() => {
        this.keyframeTimer = null;
        this.keyframeTimerDueMs = Infinity;
        if (!this.closed) this.flushKeyframeRequests();
      }, nextDueMs - nowMs);
      this.keyframeTimer.unref?.();
    }
  }

  /**
   * When the next PLI of a stream may go. A key frame since the last PLI answered it, so the throttle has done its
   * work: the next request only waits out the publisher's own minimum interval after that key frame (a joiner that
   * just missed a key frame gets the next one about 350 ms after it, not 500 ms after someone else's PLI plus a
   * request the publisher ignored). Unanswered, the throttle interval holds, and never inside the publisher's minimum.
   */
  private keyframeRequestDueMs(s: ReceiveStream): number {
    if (this.keyframeRequestIntervalMs === 0) return s.lastKeyframeRequestMs;
    const publisherReadyMs = s.lastKeyframeMs + this.publisherKeyframeIntervalMs;
    if (s.lastKeyframeMs >= s.lastKeyframeRequestMs) return publisherReadyMs;
    return Math.max(s.lastKeyframeRequestMs + this.keyframeRequestIntervalMs, publisherReadyMs);
  }

  private emitRtcp(packets: RtcpPacket[]): void {
    try {
      this.sendRtcp(serializeRtcp(packets));
    } catch (err) {
      this.logger.warn({ err }, 'receiver rtcp send failed');
    }
  }

  getPacket(extSeq: number, sourceId: number): Buffer | undefined {
    return this.streams[sourceId]?.cache.get(extSeq);
  }

  senderReportMapping(sourceId: number): SenderReportMapping | undefined {
    return this.streams[sourceId]?.senderReport;
  }

  /** Adds a consumer of this track. The caller asks for the key frame it needs (a DownTrack does when it starts). */
  addSender(sender: TrackSender): void {
    if (this.closed || this.senders.includes(sender)) return;
    this.senders = [...this.senders, sender];
    if (this.muted) sender.setSourceMuted(true);
  }

  removeSender(sender: TrackSender): void {
    if (!this.senders.includes(sender)) return;
    this.senders = this.senders.filter((s) => s !== sender);
  }

  /** Publisher-side mute: every sender stops forwarding (and video resumes at a key frame). */
  setMuted(muted: boolean): void {
    if (this.muted === muted) return;
    this.muted = muted;
    for (const s of this.senders) s.setSourceMuted(muted);
  }

  /** Idempotent: closes every sender and stops the timer. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.keyframeTimer !== null) this.clock.clearTimeout(this.keyframeTimer);
    this.keyframeTimer = null;
    const senders = this.senders;
    this.senders = [];
    for (const s of senders) s.close();
    this.stats?.retireReceiver(this);
  }
}
