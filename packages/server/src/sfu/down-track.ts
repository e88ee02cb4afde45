// One subscriber's copy of one published track (a TrackSender): forwarding decisions (Forwarder: layers, sequence
// numbers, timestamps), codec descriptor munging (VP8 picture ids), RTP munging into a reused buffer, RTCP from the
// subscriber (PLI/FIR, NACK -> retransmit from the receiver's cache, RR stats) and SRs. Audio: RED/Opus translation
// per subscriber (red-translator.ts).
// Sink contract: `send(packet, h)` gets plaintext RTP in a buffer this DownTrack reuses; it is only valid until `send`
// returns (encrypt or copy it before returning; never keep a reference). `h` describes the packet's header block.
import type { Clock } from '@atrium/webrtc/clock.js';
import type { Logger } from '@atrium/webrtc/logger.js';
import { silentLogger } from '@atrium/webrtc/logger.js';
import {
  createRtpHeader,
  findHeaderExtension,
  insertHeaderExtension,
  ntpFromWallMs,
  rewriteFrameNumber,
  ntpMiddle32,
  parseRtpHeader,
  rewriteHeaderExtensionIds,
  writePayloadType,
  writeSequenceNumber,
  writeSsrc,
  writeTimestamp,
} from '@atrium/webrtc/rtp/index.js';
import type { ReportBlock, RtcpPacket, RtpHeader, SenderReport } from '@atrium/webrtc/rtp/index.js';
import type { DownTrackSource, PacketInfo, TrackSender } from './down-track-source.js';
import { createPacketInfo } from './down-track-source.js';
import {
  DropReason,
  Forwarder,
  RetransmitStatus,
  createForwardResult,
  createRetransmitInfo,
} from './forwarder.js';
import type { FrameListener } from './forwarder.js';
import { CodecKind, codecKindFromMime } from './codec/keyframe.js';
import { Vp8Munger } from './codec/vp8-munger.js';
import { createVp8Descriptor, createVp8DescriptorFields, parseVp8Descriptor, vp8DescriptorSize, writeVp8Descriptor } from './codec/vp8-descriptor.js';
import type { Vp8Descriptor, Vp8DescriptorFields } from './codec/vp8-descriptor.js';
import type { SfuStats } from './sfu-stats.js';
import { NO_LAYER } from './video-layers.js';
import { RedTranslator } from './red-translator.js';
import type { RedTranslatorOptions } from './red-translator.js';

/** Receives plaintext RTP; the buffer is reused after the call returns (see file header). */
export type RtpSink = (packet: Buffer, h: RtpHeader) => void;

/** What the DownTrack tells its owner (the subscriber session); never per packet, only on transitions. */
export interface DownTrackListener {
  /** Forwarding (re)started: the first packet went out after a start, a pause or a mute. */
  onForwardingStarted(down: DownTrack): void;
  /** The source's layers changed: targets may need recomputing. */
  onSourceLayersChanged(down: DownTrack): void;
  /** The source closed this DownTrack (the track was unpublished). */
  onClosed(down: DownTrack): void;
}

export interface DownTrackOptions {
  source: DownTrackSource;
  /** Outgoing SSRC and payload type negotiated with the subscriber. */
  ssrc: number;
  payloadType: number;
  /** idMap[publisherExtId] = subscriberExtId (0 drops the element); omitted: ids unchanged. */
  extensionIdMap?: Uint8Array;
  send: RtpSink;
  /**
   * Sends a retransmission on the subscriber's RTX stream (RFC 4588): gets the packet as it goes out on the media SSRC
   * and returns false when RTX is not negotiated (it is then resent on the media SSRC).
   */
  sendRtx?: (packet: Buffer, h: RtpHeader) => boolean;
  /**
   * The subscriber's id of the transport-wide sequence number extension (0 or absent: not negotiated): every packet
   * then carries the element, added when the publisher's packet did not, for the transport's send stage to stamp,
   * while `setTransportWideSequencing` leaves it on (the default).
   */
  transportCcId?: number;
  clock: Clock;
  logger?: Logger;
  listener?: DownTrackListener;
  maxPacketBytes?: number;
  /** Retransmissions of one packet at most (default 4). */
  maxRetransmits?: number;
  /** Retransmit interval for one packet while the RTT is unknown (default 100 ms). */
  retransmitIntervalMs?: number;
  /** Deterministic starts for tests (default random). */
  initialSeq?: number;
  initialTimestamp?: number;
  /** Node-wide counters (metrics): this down track registers itself and retires on close. */
  stats?: SfuStats;
  /**
   * Audio whose publisher or subscriber negotiated RED: how RED and Opus translate between them (the payload type
   * of each packet then follows the translation, not `payloadType`). Omitted: packets go out as they came.
   */
  red?: RedTranslatorOptions;
}

const KEYFRAME_REQUEST_INTERVAL_MS = 250;
const SR_HISTORY = 8;

export class DownTrack implements TrackSender, FrameListener {
  readonly ssrc: number;
  readonly payloadType: number;
  readonly source: DownTrackSource;
  readonly forwarder: Forwarder;
  packetsSent = 0;
  /** Payload octets sent (the SR octet count). */
  octetsSent = 0;
  /** Whole RTP packets sent (header included), retransmissions included. */
  bytesSent = 0;
  packetsDropped = 0;
  retransmits = 0;
  retransmitBytes = 0;
  /** NACKed packets not answered: unknown, evicted from the cache, or throttled. */
  retransmitMisses = 0;
  /** Audio: frames lost upstream and sent to this subscriber recovered from RED's redundant blocks. */
  recoveredPackets = 0;
  nacksReceived = 0;
  keyframeRequestsReceived = 0;
  sendErrors = 0;
  /** From the subscriber's last receiver report. */
  lossFraction = 0;
  cumulativeLost = 0;
  /** Extended highest sequence number in the last receiver report, and when it arrived (-Infinity: none yet). */
  reportedHighestSeq = 0;
  lastReportMs = -Infinity;
  jitterMs = 0;
  rttMs = 0;
  private readonly send: RtpSink;
  private readonly sendRtx: ((packet: Buffer, h: RtpHeader) => boolean) | null;
  private readonly transportCcId: number;
  /** `transportCcId` while packets carry transport-wide sequence numbers, 0 while `setTransportWideSequencing` is off. */
  private sequencedTransportCcId: number;
  /** The outgoing packet's header when an extension element was inserted (the incoming header no longer fits it). */
  private readonly outHeader: RtpHeader = createRtpHeader();
  /** Retransmissions sent on the RTX stream (the rest of `retransmits` went on the media SSRC). */
  rtxRetransmits = 0;
  private isRetransmitting = false;
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly listener: DownTrackListener | null;
  /** The id map in use: `mapWithTransportCc`, or (sequencing off) a copy of it that drops the transport-cc element. */
  private extensionIdMap: Uint8Array | undefined;
  private readonly mapWithTransportCc: Uint8Array | undefined;
  private mapWithoutTransportCc: Uint8Array | undefined;
  private readonly scratch: Buffer;
  /**
   * The last view of `scratch` handed to the sink, reused while packets keep the same length (an encoder splits a
   * frame into packets of equal size): one allocation fewer per packet sent.
   */
  private scratchView: Buffer;
  private readonly rtxHeader: RtpHeader = createRtpHeader();
  private readonly rtxInfo = createPacketInfo();
  private readonly result = createForwardResult();
  private readonly retransmit = createRetransmitInfo();
  private readonly maxRetransmits: number;
  private readonly retransmitIntervalMs: number;
  private readonly srMid32 = new Float64Array(SR_HISTORY).fill(-1);
  private readonly srSentAtMs = new Float64Array(SR_HISTORY);
  private srNext = 0;
  private lastKeyframeRequestMs = -Infinity;
  private isSubscriberMuted = false;
  private isSourceMuted = false;
  private closed = false;
  private readonly stats: SfuStats | null;
  /** VP8 only: picture id / TL0PICIDX / KEYIDX continuity across switches and dropped frames. */
  private readonly vp8: { munger: Vp8Munger; out: Vp8DescriptorFields; rtx: Vp8Descriptor } | null;
  /**
   * The dependency descriptor is forwarded to this subscriber: its frame numbers are kept going across a switch to
   * another simulcast stream (each numbers its frames on its own; a subscriber would take the new ones as old).
   */
  private readonly isDdForwarded: boolean;
  private ddFrameOffset = 0;
  private lastOutFrameNumber = -1;
  /** Audio with RED on either side (null otherwise: packets are copied as they are). */
  private readonly red: RedTranslator | null;

  constructor(opts: DownTrackOptions) {
    this.source = opts.source;
    this.ssrc = opts.ssrc >>> 0;
    this.payloadType = opts.payloadType;
    this.send = opts.send;
    this.sendRtx = opts.sendRtx ?? null;
    this.transportCcId = opts.transportCcId ?? 0;
    this.sequencedTransportCcId = this.transportCcId;
    this.clock = opts.clock;
    this.logger = opts.logger ?? silentLogger;
    this.listener = opts.listener ?? null;
    this.extensionIdMap = this.mapWithTransportCc = opts.extensionIdMap;
    // Room for a descriptor that grows when rewritten (a 7-bit VP8 picture id sent as 15 bits) and for a
    // transport-wide sequence number element added to a packet that came without one.
    this.scratch = Buffer.alloc((opts.maxPacketBytes ?? 1500) + 32);
    this.scratchView = this.scratch.subarray(0, 0);
    this.maxRetransmits = opts.maxRetransmits ?? 4;
    this.retransmitIntervalMs = opts.retransmitIntervalMs ?? 100;
    const forwarderOpts: ConstructorParameters<typeof Forwarder>[0] = {
      isVideo: opts.source.kind === 'video',
      clockRate: opts.source.clockRate,
    };
    if (opts.initialSeq !== undefined) forwarderOpts.initialSeq = opts.initialSeq;
    if (opts.initialTimestamp !== undefined) forwarderOpts.initialTimestamp = opts.initialTimestamp;
    this.forwarder = new Forwarder(forwarderOpts);
    this.vp8 =
      opts.source.kind === 'video' && codecKindFromMime(opts.source.mimeType) === CodecKind.VP8
        ? { munger: new Vp8Munger(), out: createVp8DescriptorFields(), rtx: createVp8Descriptor() }
        : null;
    const ddId = opts.source.dependencyDescriptorId;
    this.isDdForwarded = ddId > 0 && (opts.extensionIdMap === undefined || (opts.extensionIdMap[ddId] ?? 0) !== 0);
    this.forwarder.frameListener = this;
    this.red = opts.source.kind === 'audio' && opts.red !== undefined ? new RedTranslator(opts.red) : null;
    this.stats = opts.stats ?? null;
    this.stats?.addDownTrack(this);
  }

  get isClosed(): boolean {
    return this.closed;
  }

  // ---- FrameListener (the forwarder's decisions that codec state follows) ----

  onStart(info: PacketInfo): void {
    if (this.vp8 !== null && info.codec.vp8 !== null) this.vp8.munger.startAt(info.codec.vp8);
    if (this.isDdForwarded && info.codec.ddOffset >= 0) {
      this.ddFrameOffset = this.lastOutFrameNumber < 0 ? 0 : (this.lastOutFrameNumber + 1 - info.codec.ddFrameNumber) & 0xffff;
    }
  }

  onFrameDropped(info: PacketInfo): void {
    if (this.vp8 !== null && info.codec.vp8 !== null) this.vp8.munger.dropFrame(info.codec.vp8);
  }
  get kind(): 'audio' | 'video' {
    return this.source.kind;
  }
  /** Forwarding stopped on the subscriber's side: muted (disabled) or paused (no target layer). */
  get isStoppedBySubscriber(): boolean {
    return this.isSubscriberMuted || this.forwarder.isPaused;
  }
  get isSourceMutedNow(): boolean {
    return this.isSourceMuted;
  }

  /** Per incoming packet, from the receiver's fan-out. Never throws. */
  writeRtp(buf: Uint8Array, h: RtpHeader, info: PacketInfo): void {
    if (this.closed) return;
    const red = this.red;
    if (red !== null) {
      // A late original of a frame already recovered from redundancy would reach the subscriber twice.
      if (red.wasRecovered(info.extSeq)) {
        this.packetsDropped++;
        return;
      }
      const recoverable = red.findRecoverable(buf, h, info);
      for (let i = 0; i < recoverable; i++) this.forwardRecovered(buf, h, info, i);
    }
    const r = this.result;
    const reason = this.forwarder.forward(info, h.timestamp, h.marker, h.payloadLength, r);
    if (red !== null) red.observe(info.extSeq, h.timestamp, reason === DropReason.NONE);
    if (reason !== DropReason.NONE) {
      this.packetsDropped++;
      if ((reason === DropReason.NOT_STARTED || reason === DropReason.OTHER_SOURCE) && this.forwarder.needsKeyframe) {
        this.requestKeyframe(info.arrivalMs);
      }
      return;
    }
    if (this.emit(buf, h, info, r.outSeq, r.outTimestamp, r.marker)) {
      this.packetsSent++;
      this.octetsSent += h.payloadLength;
      this.bytesSent += buf.length;
    }
    if (r.isStart) this.listener?.onForwardingStarted(this);
    // Still short of the target layer (a switch up is pending): keep asking for its key frame.
    else if (this.forwarder.needsKeyframe) this.requestKeyframe(info.arrivalMs);
  }

  /**
   * Audio: frame `i` of those the RED packet `buf` carries for packets lost upstream, sent as its own Opus packet in
   * the lost packet's place (its sequence number is free: the forwarder maps incoming to outgoing numbers 1:1).
   */
  private forwardRecovered(buf: Uint8Array, h: RtpHeader, info: PacketInfo, i: number): void {
    const red = this.red!;
    const lost = red.recoveredInfo(i, info);
    const timestamp = red.recoveredTimestamp(i);
    const r = this.result;
    const reason = this.forwarder.forward(lost, timestamp, false, red.recoveredLengthBytes(i), r);
    red.observe(lost.extSeq, timestamp, reason === DropReason.NONE);
    if (reason !== DropReason.NONE) return;
    red.selectRecovered(i);
    const isSent = this.emit(buf, h, lost, r.outSeq, r.outTimestamp, false);
    red.selectRecovered(-1);
    if (!isSent) return;
    red.markRecovered(lost.extSeq);
    this.recoveredPackets++;
    this.packetsSent++;
    this.octetsSent += red.recoveredLengthBytes(i);
    this.bytesSent += h.payloadOffset + red.recoveredLengthBytes(i);
  }

  /** Asks the source for a key frame of the stream the forwarder moves to (throttled here and in the receiver). */
  private requestKeyframe(nowMs: number): void {
    if (nowMs - this.lastKeyframeRequestMs < KEYFRAME_REQUEST_INTERVAL_MS) return;
    this.lastKeyframeRequestMs = nowMs;
    const target = this.forwarder.targetSpatialLayer;
    const sourceId = target === NO_LAYER ? -1 : this.source.sourceForSpatial(target);
    if (sourceId >= 0) this.source.requestKeyframe(sourceId);
    else this.source.requestKeyframe();
  }

  /** Copies `buf` into the scratch buffer, munges header and codec descriptor, and sends it. */
  private emit(buf: Uint8Array, h: RtpHeader, info: PacketInfo, seq: number, timestamp: number, marker: boolean): boolean {
    const out = this.scratch;
    let len = buf.length;
    let payloadType = this.payloadType;
    const vp8 = this.vp8;
    const d = info.codec.vp8;
    if (this.red !== null) {
      len = this.red.write(buf, h, out);
      if (len < 0) {
        // Not RED where RED was expected, or too large: a publisher's bad packet, not a send failure.
        this.packetsDropped++;
        return false;
      }
      payloadType = this.red.payloadType;
    } else if (vp8 !== null && d !== null) {
      if (!vp8.munger.mapPacket(d, vp8.out)) {
        this.packetsDropped++;
        return false;
      }
      const headerEnd = h.payloadOffset;
      const bodyStart = headerEnd + d.sizeBytes;
      const bodyEnd = headerEnd + h.payloadLength;
      if (bodyEnd > buf.length || bodyStart > bodyEnd) return this.sendFailed();
      if (!h.padding && vp8DescriptorSize(vp8.out) === d.sizeBytes && len <= out.length) {
        // The usual case (Chromium's descriptors keep their shape): one copy, the descriptor rewritten in place.
        out.set(buf, 0);
        writeVp8Descriptor(out, headerEnd, vp8.out);
      } else {
        // Header as is, the munged descriptor, then the VP8 payload after the original descriptor (padding dropped).
        out.set(buf.subarray(0, headerEnd), 0);
        const written = writeVp8Descriptor(out, headerEnd, vp8.out);
        if (written < 0 || headerEnd + written + (bodyEnd - bodyStart) > out.length) return this.sendFailed();
        out.set(buf.subarray(bodyStart, bodyEnd), headerEnd + written);
        len = headerEnd + written + (bodyEnd - bodyStart);
        if (h.padding) out[0] = out[0]! & 0xdf;
      }
    } else {
      if (len > out.length) return this.sendFailed();
      out.set(buf, 0);
    }
    writeSsrc(out, this.ssrc);
    writePayloadType(out, payloadType);
    writeSequenceNumber(out, seq);
    writeTimestamp(out, timestamp);
    if (marker !== h.marker) out[1] = marker ? out[1]! | 0x80 : out[1]! & 0x7f;
    if (this.isDdForwarded && info.codec.ddOffset >= 0) {
      const frameNumber = (info.codec.ddFrameNumber + this.ddFrameOffset) & 0xffff;
      if (this.ddFrameOffset !== 0) rewriteFrameNumber(out, info.codec.ddOffset, frameNumber);
      if (this.lastOutFrameNumber < 0 || ((frameNumber - this.lastOutFrameNumber) & 0xffff) < 0x8000) this.lastOutFrameNumber = frameNumber;
    }
    if (this.extensionIdMap !== undefined && h.extension) rewriteHeaderExtensionIds(out, h, this.extensionIdMap);
    let outH = h;
    if (this.sequencedTransportCcId !== 0) {
      const grown = insertHeaderExtension(out, len, h, this.sequencedTransportCcId, 2);
      if (grown !== len && grown > 0) {
        len = grown;
        outH = this.outHeader;
        if (!parseRtpHeader(out.subarray(0, len), outH)) return this.sendFailed();
      }
    }
    try {
      let view = this.scratchView;
      if (view.length !== len) this.scratchView = view = out.subarray(0, len);
      if (this.isRetransmitting && this.sendRtx !== null && this.sendRtx(view, outH)) {
        this.rtxRetransmits++;
        return true;
      }
      this.send(view, outH);
      return true;
    } catch (err) {
      this.sendErrors++;
      if (this.sendErrors === 1) this.logger.warn({ err }, 'down track send failed');
      return false;
    }
  }

  private sendFailed(): boolean {
    this.sendErrors++;
    return false;
  }

  /** RTCP from the subscriber, already parsed; only feedback addressed to this track's SSRC is used. */
  handleRtcp(packets: readonly RtcpPacket[]): void {
    if (this.closed) return;
    for (const p of packets) {
      switch (p.type) {
        case 'pli':
          if (p.mediaSsrc >>> 0 === this.ssrc) this.onKeyframeRequest();
          break;
        case 'fir':
          if (p.entries.some((e) => e.ssrc >>> 0 === this.ssrc)) this.onKeyframeRequest();
          break;
        case 'nack':
          if (p.mediaSsrc >>> 0 === this.ssrc) this.onNack(p.lostSeqs);
          break;
        case 'rr':
        case 'sr':
          for (const rb of p.reports) if (rb.ssrc >>> 0 === this.ssrc) this.onReportBlock(rb);
          break;
        default:
          break;
      }
    }
  }

  private onKeyframeRequest(): void {
    this.keyframeRequestsReceived++;
    if (this.source.kind !== 'video') return;
    // The subscriber lost its decoder state: a key frame of the stream it is being sent (the receiver throttles).
    const f = this.forwarder;
    const target = f.targetSpatialLayer;
    const sourceId = f.isStarted ? f.currentSourceId : target === NO_LAYER ? -1 : this.source.sourceForSpatial(target);
    if (sourceId >= 0) this.source.requestKeyframe(sourceId);
    else this.source.requestKeyframe();
  }

  private onNack(lostSeqs: readonly number[]): void {
    const nowMs = this.clock.nowMs();
    const intervalMs = this.rttMs > 0 ? Math.max(20, this.rttMs) : this.retransmitIntervalMs;
    const rtx = this.retransmit;
    for (const seq of lostSeqs) {
      this.nacksReceived++;
      const status = this.forwarder.mapSeqForRetransmit(seq, nowMs, intervalMs, this.maxRetransmits, rtx);
      if (status !== RetransmitStatus.OK) {
        this.retransmitMisses++;
        continue;
      }
      const pkt = this.source.getPacket(rtx.inExtSeq, rtx.sourceId);
      if (pkt === undefined || !parseRtpHeader(pkt, this.rtxHeader)) {
        this.retransmitMisses++;
        continue;
      }
      const h = this.rtxHeader;
      const info = this.rtxInfo;
      info.extSeq = rtx.inExtSeq;
      info.sourceId = rtx.sourceId;
      info.codec.vp8 = null;
      if (this.vp8 !== null && parseVp8Descriptor(pkt, h.payloadOffset, h.payloadLength, this.vp8.rtx)) info.codec.vp8 = this.vp8.rtx;
      info.codec.ddOffset = this.isDdForwarded ? findHeaderExtension(pkt, h, this.source.dependencyDescriptorId) : -1;
      if (info.codec.ddOffset >= 0) info.codec.ddFrameNumber = (pkt[info.codec.ddOffset + 1]! << 8) | pkt[info.codec.ddOffset + 2]!;
      this.isRetransmitting = true;
      const isSent = this.emit(pkt, h, info, seq & 0xffff, rtx.outTimestamp, h.marker);
      this.isRetransmitting = false;
      if (isSent) {
        this.retransmits++;
        this.retransmitBytes += pkt.length;
        this.packetsSent++;
        this.octetsSent += h.payloadLength;
        this.bytesSent += pkt.length;
      }
    }
  }

  private onReportBlock(rb: ReportBlock): void {
    this.lossFraction = rb.fractionLost / 256;
    this.cumulativeLost = rb.cumulativeLost;
    this.reportedHighestSeq = rb.highestSeq >>> 0;
    this.lastReportMs = this.clock.nowMs();
    this.jitterMs = (rb.jitter * 1000) / this.source.clockRate;
    if (rb.lastSr === 0) return;
    for (let i = 0; i < SR_HISTORY; i++) {
      if (this.srMid32[i] === rb.lastSr >>> 0) {
        const rtt = this.clock.nowMs() - this.srSentAtMs[i]! - (rb.delaySinceLastSr * 1000) / 65536;
        if (rtt >= 0) this.rttMs = rtt;
        return;
      }
    }
  }

  /**
   * An RTCP SR for the outgoing SSRC, or null before the first packet. The (NTP, RTP) pair lies on the
   * publisher's own SR mapping for the current source (extrapolated by elapsed monotonic time, plus the
   * forwarder's timestamp offset), so audio and video of one publisher stay in sync at the subscriber.
   * Without a publisher SR yet: our wall clock and the last forwarded timestamp advanced by elapsed time.
   */
  senderReport(nowWallMs: number): SenderReport | null {
    if (this.closed || this.packetsSent === 0) return null;
    const nowMs = this.clock.nowMs();
    const clockRate = this.source.clockRate;
    const mapping = this.source.senderReportMapping(this.forwarder.currentSourceId);
    let ntpMs: number;
    let rtpTimestamp: number;
    if (mapping !== undefined) {
      const elapsedMs = nowMs - mapping.receivedAtMs;
      ntpMs = mapping.ntpWallMs + elapsedMs;
      rtpTimestamp =
        (mapping.rtpTimestamp + Math.round((elapsedMs * clockRate) / 1000) + this.forwarder.timestampOffset) >>> 0;
    } else {
      ntpMs = nowWallMs;
      const elapsedMs = nowMs - this.forwarder.lastOutAtMs;
      rtpTimestamp = (this.forwarder.lastOutTimestamp + Math.round((elapsedMs * clockRate) / 1000)) >>> 0;
    }
    const ntpTimestamp = ntpFromWallMs(ntpMs);
    this.srMid32[this.srNext] = ntpMiddle32(ntpTimestamp);
    this.srSentAtMs[this.srNext] = nowMs;
    this.srNext = (this.srNext + 1) % SR_HISTORY;
    return {
      type: 'sr',
      ssrc: this.ssrc,
      ntpTimestamp,
      rtpTimestamp,
      packetCount: this.packetsSent >>> 0,
      octetCount: this.octetsSent >>> 0,
      reports: [],
    };
  }

  /**
   * Whether the packets carry a transport-wide sequence number (when negotiated; on by default). The subscriber
   * session turns it off on audio while the subscriber receives no video: its feedback would then only feed an
   * estimate nothing adapts to, at the cost of a stamp per packet here and a feedback packet from the subscriber every
   * 50 ms. With video, audio carries it too, so the estimate keeps its feedback while the video is paused or held low.
   */
  setTransportWideSequencing(on: boolean): void {
    this.sequencedTransportCcId = on ? this.transportCcId : 0;
    const map = this.mapWithTransportCc;
    if (on || map === undefined || this.transportCcId === 0) {
      this.extensionIdMap = map;
      return;
    }
    // The publisher's own transport-cc element is mapped onto the subscriber's id (webrtc-track-source.ts
    // extensionIdMap); without sequencing, that element is dropped as well.
    if (this.mapWithoutTransportCc === undefined) {
      this.mapWithoutTransportCc = Uint8Array.from(map, (id) => (id === this.transportCcId ? 0 : id));
    }
    this.extensionIdMap = this.mapWithoutTransportCc;
  }

  get isTransportWideSequenced(): boolean {
    return this.sequencedTransportCcId !== 0;
  }

  /** Subscriber-side mute (track disabled by the subscriber). */
  setMuted(muted: boolean): void {
    this.isSubscriberMuted = muted;
    this.applyMute();
  }

  /** Publisher-side mute, set by the receiver for all its senders. */
  setSourceMuted(muted: boolean): void {
    this.isSourceMuted = muted;
    this.applyMute();
  }

  private applyMute(): void {
    const muted = this.isSubscriberMuted || this.isSourceMuted;
    if (this.forwarder.isMuted === muted) return;
    this.forwarder.setMuted(muted);
    if (!muted && this.forwarder.needsKeyframe) this.requestKeyframe(this.clock.nowMs());
  }

  /** The layers to forward (the allocator's decision); spatial NO_LAYER pauses. Asks for a key frame when one is needed. */
  setTargetLayers(spatial: number, temporal: number): void {
    const f = this.forwarder;
    if (f.targetSpatialLayer === spatial && f.targetTemporalLayer === (spatial === NO_LAYER ? NO_LAYER : temporal)) return;
    f.setTarget(spatial, temporal);
    if (f.needsKeyframe) this.requestKeyframe(this.clock.nowMs());
  }

  onSourceLayersChanged(): void {
    this.listener?.onSourceLayersChanged(this);
  }

  /** Idempotent: stops forwarding and detaches from the source. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.source.removeSender(this);
    this.stats?.retireDownTrack(this);
    this.listener?.onClosed(this);
  }
}
