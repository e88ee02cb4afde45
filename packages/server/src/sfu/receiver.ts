// The SFU side of one published track: takes decrypted RTP from the publisher's transport, keeps the
// packet cache and receive stats, fans packets out to its DownTracks, and talks RTCP upstream
// (throttled PLI, NACKs for upstream loss, receiver reports). One stream now; simulcast adds streams.
import type { Clock, TimerHandle } from '@atrium/webrtc/clock.js';
import type { Logger } from '@atrium/webrtc/logger.js';
import { silentLogger } from '@atrium/webrtc/logger.js';
import { ntpMiddle32, serializeRtcp, wallMsFromNtp } from '@atrium/webrtc/rtp/index.js';
import type { ReceiverReport, RtcpPacket, RtpHeader } from '@atrium/webrtc/rtp/index.js';
import { CodecKind, codecKindFromMime, isKeyframeStart } from './codec/keyframe.js';
import type { CodecKindValue } from './codec/keyframe.js';
import type { DownTrack } from './down-track.js';
import { createPacketInfo } from './down-track-source.js';
import type { DownTrackSource, MediaKind, SenderReportMapping } from './down-track-source.js';
import type { NackGeneratorOptions } from './nack-generator.js';
import { ReceiveStream } from './receive-stream.js';
import { AudioLevelMeter, readAudioLevel } from './audio-level.js';
import type { AudioLevelParams } from './audio-level.js';
import type { LatencyObserver, SfuStats } from './sfu-stats.js';

export type RtcpSink = (packet: Buffer) => void;

export interface ReceiverOptions {
  kind: MediaKind;
  /** e.g. 'audio/opus', 'video/VP8', 'video/H264'. */
  mimeType: string;
  clockRate: number;
  /** Publisher SSRC; omitted: the first packet's SSRC is taken. */
  ssrc?: number;
  /** Our SSRC as the sender of feedback (PLI, NACK, RR). Default 1. */
  localSsrc?: number;
  /** Serialized RTCP toward the publisher (the transport encrypts it). */
  sendRtcp: RtcpSink;
  clock: Clock;
  logger?: Logger;
  /** Packets cached for retransmission (default 512 video, 64 audio). */
  cacheSize?: number;
  maxPacketBytes?: number;
  /** At most one PLI per this interval (default 500 ms). */
  keyframeRequestIntervalMs?: number;
  /** Upstream NACK generation; default on for video, off for audio. false disables. */
  nack?: NackGeneratorOptions | false;
  /** Quality rank of the first stream (simulcast layer); later layers come through addStream. */
  rank?: number;
  /** How often missing packets are checked and NACKed (default 20 ms). */
  nackIntervalMs?: number;
  /** Audio: the publisher's id for the RFC 6464 audio-level extension (0 or absent: none). */
  audioLevelExtensionId?: number;
  audioLevel?: Partial<AudioLevelParams>;
  /** Node-wide counters (metrics): this receiver registers itself and retires on close. */
  stats?: SfuStats;
}

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
  keyframesReceived = 0;
  keyframeRequestsSent = 0;
  nacksSent = 0;
  private readonly codec: CodecKindValue;
  private readonly streams: ReceiveStream[];
  private readonly streamDefaults: { clockRate: number; cacheSize: number; maxPacketBytes: number; nack: NackGeneratorOptions | false };
  /** The layer every DownTrack forwards (see updateLayerSelection). */
  private selectedSourceId = 0;
  private downTracks: readonly DownTrack[] = [];
  private readonly info = createPacketInfo();
  private readonly sendRtcp: RtcpSink;
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly keyframeRequestIntervalMs: number;
  private lastKeyframeRequestMs = -Infinity;
  private keyframeTimer: TimerHandle | null = null;
  private isKeyframeRequestPending = false;
  private nackTimer: TimerHandle | null = null;
  private muted = false;
  private closed = false;
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
    const isVideo = opts.kind === 'video';
    const nack = opts.nack ?? (isVideo ? {} : false);
    this.streamDefaults = {
      clockRate: opts.clockRate,
      cacheSize: opts.cacheSize ?? (isVideo ? 512 : 64),
      maxPacketBytes: opts.maxPacketBytes ?? 1500,
      nack,
    };
    this.streams = [
      new ReceiveStream({
        sourceId: 0,
        rank: opts.rank ?? 0,
        ssrc: opts.ssrc === undefined ? -1 : opts.ssrc >>> 0,
        ...this.streamDefaults,
      }),
    ];
    this.audioLevel = opts.kind === 'audio' ? new AudioLevelMeter({ clockRate: opts.clockRate, params: opts.audioLevel ?? {} }) : null;
    this.audioLevelExtensionId = opts.audioLevelExtensionId ?? 0;
    this.stats = opts.stats ?? null;
    this.latency = this.stats?.forwardLatency ?? null;
    this.latencySampleEvery = this.stats?.latencySampleEvery ?? 64;
    this.latencyCountdown = this.latencySampleEvery;
    this.stats?.addReceiver(this);
    if (nack !== false) {
      this.nackTimer = this.clock.setInterval(() => this.sendNacks(), opts.nackIntervalMs ?? 20);
      this.nackTimer.unref?.();
    }
  }

  get downTrackCount(): number {
    return this.downTracks.length;
  }
  get isClosed(): boolean {
    return this.closed;
  }
  get isMuted(): boolean {
    return this.muted;
  }
  /** Sets the publisher's audio-level extension id (from its SDP); 0 stops reading levels. */
  setAudioLevelExtensionId(id: number): void {
    this.audioLevelExtensionId = id > 0 && id < 256 ? id : 0;
  }
  /** Adds another incoming stream (a simulcast layer) of this track; returns its source id. */
  addStream(opts: { ssrc: number; rank: number }): number {
    const sourceId = this.streams.length;
    this.streams.push(new ReceiveStream({ sourceId, rank: opts.rank, ssrc: opts.ssrc >>> 0, ...this.streamDefaults }));
    return sourceId;
  }

  get currentSourceId(): number {
    return this.selectedSourceId;
  }

  /**
   * Picks the layer all DownTracks forward: the highest-ranked stream that received a packet within
   * `activeWindowMs` (a publisher pauses layers it cannot afford). Control plane: call periodically.
   * DownTracks switch at the new layer's next key frame. Returns true when the selection changed.
   */
  updateLayerSelection(activeWindowMs = 1000): boolean {
    if (this.closed || this.streams.length < 2) return false;
    const nowMs = this.clock.nowMs();
    let best: ReceiveStream | undefined;
    for (const s of this.streams) {
      if (!s.hasSsrc || nowMs - s.lastPacketMs > activeWindowMs) continue;
      if (best === undefined || s.rank > best.rank) best = s;
    }
    if (best === undefined || best.sourceId === this.selectedSourceId) return false;
    this.selectedSourceId = best.sourceId;
    for (const d of this.downTracks) d.switchSource(best.sourceId);
    return true;
  }

  /** The stream for a simulcast layer (0 without simulcast). */
  stream(sourceId: number): ReceiveStream | undefined {
    return this.streams[sourceId];
  }

  /** Per decrypted packet from the publisher's transport. Never throws. */
  writeRtp(buf: Uint8Array, h: RtpHeader): void {
    if (this.closed) return;
    const ssrc = h.ssrc;
    let stream: ReceiveStream | undefined;
    for (let i = 0; i < this.streams.length; i++) {
      const s = this.streams[i]!;
      if (s.ssrc === ssrc) {
        stream = s;
        break;
      }
      if (!s.hasSsrc) {
        s.ssrc = ssrc;
        stream = s;
        if (this.isKeyframeRequestPending) this.requestKeyframe();
        break;
      }
    }
    if (stream === undefined) {
      this.unknownSsrcPackets++;
      return;
    }
    const nowMs = this.clock.nowMs();
    this.packetsReceived++;
    this.bytesReceived += buf.length;
    const info = this.info;
    info.extSeq = stream.receive(buf, h.sequenceNumber, h.timestamp, h.payloadLength, nowMs);
    info.isKeyframe = isKeyframeStart(this.codec, buf, h.payloadOffset, h.payloadLength);
    info.sourceId = stream.sourceId;
    info.arrivalMs = nowMs;
    if (this.audioLevelExtensionId !== 0 && this.audioLevel !== null) {
      const level = readAudioLevel(buf, h, this.audioLevelExtensionId);
      if (level >= 0) this.audioLevel.observePacket(level, h.timestamp, nowMs);
    }
    if (info.isKeyframe && this.codec !== CodecKind.AUDIO) {
      this.keyframesReceived++;
      if (this.keyframeTimer !== null) {
        // A keyframe is arriving: every DownTrack waiting for one starts here; the deferred PLI is moot.
        this.clock.clearTimeout(this.keyframeTimer);
        this.keyframeTimer = null;
      }
    }
    const dts = this.downTracks;
    for (let i = 0; i < dts.length; i++) dts[i]!.writeRtp(buf, h, info);
    // Sampled forwarding latency: arrival here to the last DownTrack's send (encrypt + socket write included).
    if (this.latency !== null && dts.length > 0 && --this.latencyCountdown <= 0) {
      this.latencyCountdown = this.latencySampleEvery;
      this.latency.observe((this.clock.nowMs() - nowMs) * 1e6);
    }
  }

  /** RTCP from the publisher: SRs give the NTP/RTP mapping used for down-track SRs. */
  handleRtcp(packets: readonly RtcpPacket[]): void {
    if (this.closed) return;
    for (const p of packets) {
      if (p.type !== 'sr') continue;
      for (const s of this.streams) {
        if (s.ssrc !== p.ssrc >>> 0) continue;
        s.setSenderReport(wallMsFromNtp(p.ntpTimestamp), p.rtpTimestamp >>> 0, ntpMiddle32(p.ntpTimestamp), this.clock.nowMs());
      }
    }
  }

  /** Asks the publisher for a keyframe: at most one PLI per interval, the last request deferred, never for audio. */
  requestKeyframe(): void {
    if (this.closed || this.kind !== 'video') return;
    const nowMs = this.clock.nowMs();
    const waitMs = this.lastKeyframeRequestMs + this.keyframeRequestIntervalMs - nowMs;
    if (waitMs > 0) {
      if (this.keyframeTimer === null) {
        this.keyframeTimer = this.clock.setTimeout(() => {
          this.keyframeTimer = null;
          this.requestKeyframe();
        }, waitMs);
        this.keyframeTimer.unref?.();
      }
      return;
    }
    const packets: RtcpPacket[] = [];
    for (const s of this.streams) {
      if (s.hasSsrc) packets.push({ type: 'pli', senderSsrc: this.localSsrc, mediaSsrc: s.ssrc });
    }
    if (packets.length === 0) {
      this.isKeyframeRequestPending = true; // sent when the first packet tells us the SSRC
      return;
    }
    this.isKeyframeRequestPending = false;
    this.lastKeyframeRequestMs = nowMs;
    this.keyframeRequestsSent++;
    this.emitRtcp(packets);
  }

  private sendNacks(): void {
    if (this.closed) return;
    const nowMs = this.clock.nowMs();
    for (const s of this.streams) {
      if (s.nack === null || !s.hasSsrc) continue;
      const lostSeqs = s.nack.collect(nowMs);
      if (lostSeqs === null) continue;
      this.nacksSent += lostSeqs.length;
      this.emitRtcp([{ type: 'nack', senderSsrc: this.localSsrc, mediaSsrc: s.ssrc, lostSeqs }]);
    }
  }

  private emitRtcp(packets: RtcpPacket[]): void {
    try {
      this.sendRtcp(serializeRtcp(packets));
    } catch (err) {
      this.logger.warn({ err }, 'receiver rtcp send failed');
    }
  }

  /** An RR for the publisher covering every stream that has received packets, or null before any. */
  receiverReport(): ReceiverReport | null {
    const nowMs = this.clock.nowMs();
    const reports = [];
    for (const s of this.streams) {
      if (!s.hasSsrc || s.stats.packetsReceived === 0) continue;
      const sr = s.senderReport;
      reports.push(s.stats.reportBlock(s.ssrc, s.lastSrMid32, sr === undefined ? 0 : nowMs - sr.receivedAtMs));
    }
    return reports.length === 0 ? null : { type: 'rr', ssrc: this.localSsrc, reports };
  }

  getPacket(extSeq: number, sourceId: number): Buffer | undefined {
    return this.streams[sourceId]?.cache.get(extSeq);
  }

  senderReportMapping(sourceId: number): SenderReportMapping | undefined {
    return this.streams[sourceId]?.senderReport;
  }

  /** Adds a subscriber's DownTrack (video: asks for a keyframe so it can start). */
  addDownTrack(downTrack: DownTrack): void {
    if (this.closed || this.downTracks.includes(downTrack)) return;
    this.downTracks = [...this.downTracks, downTrack];
    if (this.muted) downTrack.setSourceMuted(true);
    if (this.selectedSourceId !== downTrack.forwarder.currentSourceId) downTrack.switchSource(this.selectedSourceId);
    this.requestKeyframe();
  }

  removeDownTrack(downTrack: DownTrack): void {
    if (!this.downTracks.includes(downTrack)) return;
    this.downTracks = this.downTracks.filter((d) => d !== downTrack);
  }

  /** Publisher-side mute: every DownTrack stops forwarding (and video resumes at a keyframe). */
  setMuted(muted: boolean): void {
    if (this.muted === muted) return;
    this.muted = muted;
    for (const d of this.downTracks) d.setSourceMuted(muted);
  }

  /** Idempotent: closes every DownTrack and stops the timers. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.nackTimer !== null) this.clock.clearInterval(this.nackTimer);
    if (this.keyframeTimer !== null) this.clock.clearTimeout(this.keyframeTimer);
    this.nackTimer = null;
    this.keyframeTimer = null;
    const dts = this.downTracks;
    this.downTracks = [];
    for (const d of dts) d.close();
    this.stats?.retireReceiver(this);
  }
}
