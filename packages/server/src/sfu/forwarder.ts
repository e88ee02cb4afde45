// Per-subscriber forwarding decisions and RTP munging state for one DownTrack. Layers: which simulcast stream is
// forwarded and which spatial (SVC) and temporal layers of it, moving towards the target the allocator sets (up only at a
// key frame or switching point of the new layer, down at the next frame boundary). Munging: outgoing sequence numbers
// continuous across dropped packets and stream switches, timestamps continuous across switches, and the outgoing ->
// incoming map that answers NACKs. Pure: no I/O, no clock (times are inputs).
import { seqDelta } from '@atrium/webrtc/rtp/index.js';
import type { PacketInfo } from './down-track-source.js';
import { NO_LAYER } from './video-layers.js';

/** Why `forward` did not forward a packet (NONE = forward it). */
export const DropReason = {
  NONE: 0,
  /** Video waiting for a key frame (at start, after a source switch or unmute). */
  NOT_STARTED: 1,
  MUTED: 2,
  /** Empty payload (padding-only probe): not forwarded, its sequence number is absorbed. */
  PADDING: 3,
  /** Older than the start of forwarding or than the offset history. */
  TOO_OLD: 4,
  /** A late packet inside a range whose sequence numbers were absorbed. */
  IN_DROPPED_RANGE: 5,
  /** From a stream (simulcast layer) other than the one forwarded. */
  OTHER_SOURCE: 6,
  /** A spatial or temporal layer above the one forwarded. */
  LAYER_DROPPED: 7,
  /** The subscriber is paused (no target layer: disabled, or no bandwidth). */
  PAUSED: 8,
} as const;
export type DropReasonValue = (typeof DropReason)[keyof typeof DropReason];

export const RetransmitStatus = { OK: 0, UNKNOWN: 1, THROTTLED: 2 } as const;
export type RetransmitStatusValue = (typeof RetransmitStatus)[keyof typeof RetransmitStatus];

export interface ForwarderOptions {
  isVideo: boolean;
  clockRate: number;
  /** First outgoing sequence number (default random). */
  initialSeq?: number;
  /** First outgoing timestamp (default random). */
  initialTimestamp?: number;
  /** Forwarded packets remembered for NACK mapping (default 512 video, 128 audio). */
  historySize?: number;
}

/** Filled by `forward` when it returns DropReason.NONE (a reused object: no allocation). */
export interface ForwardResult {
  outSeq: number;
  outTimestamp: number;
  /** True for the packet that (re)started forwarding (first packet, stream switch, resume). */
  isStart: boolean;
  /** The RTP marker to send: the original, or set on the last forwarded spatial layer's frame end (SVC). */
  marker: boolean;
}

/** Filled by `mapSeqForRetransmit`. */
export interface RetransmitInfo {
  inExtSeq: number;
  outTimestamp: number;
  sourceId: number;
}

export function createForwardResult(): ForwardResult {
  return { outSeq: 0, outTimestamp: 0, isStart: false, marker: false };
}

export function createRetransmitInfo(): RetransmitInfo {
  return { inExtSeq: 0, outTimestamp: 0, sourceId: 0 };
}

/** Hooks a codec munger (VP8 picture ids...) gets from the forwarder's decisions, on frames, not per drop reason. */
export interface FrameListener {
  /** Forwarding (re)starts at this key frame of a (possibly new) stream. */
  onStart(info: PacketInfo): void;
  /** A packet of the forwarded stream dropped because its layer is above the forwarded one (every such packet). */
  onFrameDropped(info: PacketInfo): void;
}

const OFFSET_HISTORY = 64;

function mod16(x: number): number {
  return ((x % 65536) + 65536) % 65536;
}

export class Forwarder {
  readonly isVideo: boolean;
  readonly clockRate: number;
  private started = false;
  private muted = false;
  private waitingForKeyframe: boolean;
  private sourceId = 0;
  private curSpatial = NO_LAYER;
  private curTemporal = NO_LAYER;
  private targetSpatial: number;
  private targetTemporal: number;
  /** Spatial layer of the last frame start seen on the current stream (SVC: frames of one picture rise). */
  private lastFrameSpatial = -1;
  /** out extended seq = in extended seq - seqOffset. */
  private seqOffset = 0;
  /** out ts = (in ts + tsOffset) mod 2^32. */
  private tsOffset = 0;
  private baseInExt = 0;
  private highestInExt = 0;
  private lastOutExt: number;
  private lastOutTs: number;
  private lastOutMs = 0;
  // Ring of offset changes: packets in [dropStart, from) were absorbed; from `from` on, `offset` applies.
  private readonly chgDropStart = new Float64Array(OFFSET_HISTORY);
  private readonly chgFrom = new Float64Array(OFFSET_HISTORY);
  private readonly chgOffset = new Float64Array(OFFSET_HISTORY);
  private chgCount = 0;
  private chgHead = 0; // index of the newest entry
  // Reverse map for NACKs, keyed by outgoing extended seq.
  private readonly historySize: number;
  private readonly hOutExt: Float64Array;
  private readonly hInExt: Float64Array;
  private readonly hOutTs: Uint32Array;
  private readonly hSource: Uint8Array;
  private readonly hRtxCount: Uint8Array;
  private readonly hLastRtxMs: Float64Array;
  /** Codec munger hooks (set by the DownTrack for VP8). */
  frameListener: FrameListener | null = null;

  constructor(opts: ForwarderOptions) {
    this.isVideo = opts.isVideo;
    this.clockRate = opts.clockRate;
    this.waitingForKeyframe = opts.isVideo;
    // Audio has one layer; video waits for the allocator's first target (forwarding the lowest until then).
    this.targetSpatial = opts.isVideo ? 0 : 0;
    this.targetTemporal = opts.isVideo ? 2 : 0;
    const initialSeq = mod16(opts.initialSeq ?? Math.floor(Math.random() * 65536));
    this.lastOutExt = initialSeq - 1 + 65536; // keep extended numbers positive
    this.lastOutTs = ((opts.initialTimestamp ?? Math.floor(Math.random() * 4294967296)) - 1) >>> 0;
    this.historySize = opts.historySize ?? (opts.isVideo ? 512 : 128);
    this.hOutExt = new Float64Array(this.historySize).fill(-1);
    this.hInExt = new Float64Array(this.historySize);
    this.hOutTs = new Uint32Array(this.historySize);
    this.hSource = new Uint8Array(this.historySize);
    this.hRtxCount = new Uint8Array(this.historySize);
    this.hLastRtxMs = new Float64Array(this.historySize);
  }

  get isStarted(): boolean {
    return this.started;
  }
  get isMuted(): boolean {
    return this.muted;
  }
  /** No target: the subscriber does not want this track now, or there is no bandwidth for it. */
  get isPaused(): boolean {
    return this.targetSpatial === NO_LAYER;
  }
  /**
   * True while video waits for a key frame of the stream it should forward (the DownTrack asks for one): at start,
   * after a resume or unmute, or while a stream switch is pending.
   */
  get needsKeyframe(): boolean {
    if (!this.isVideo || this.muted || this.targetSpatial === NO_LAYER) return false;
    return !this.started || this.waitingForKeyframe || this.curSpatial !== this.targetSpatial;
  }
  get currentSourceId(): number {
    return this.sourceId;
  }
  get currentSpatial(): number {
    return this.curSpatial;
  }
  get currentTemporal(): number {
    return this.curTemporal;
  }
  get targetSpatialLayer(): number {
    return this.targetSpatial;
  }
  get targetTemporalLayer(): number {
    return this.targetTemporal;
  }
  /** Offset added (mod 2^32) to incoming timestamps of the current source. */
  get timestampOffset(): number {
    return this.tsOffset;
  }
  get lastOutTimestamp(): number {
    return this.lastOutTs;
  }
  /** Monotonic ms of the last forwarded newest packet. */
  get lastOutAtMs(): number {
    return this.lastOutMs;
  }

  setMuted(muted: boolean): void {
    if (this.muted === muted) return;
    this.muted = muted;
    if (!muted && this.isVideo && this.started) this.waitingForKeyframe = true;
  }

  /**
   * The layers to forward (from the allocator). Spatial NO_LAYER pauses; leaving the pause waits for a key frame.
   * The forwarder moves there at the next chance: up at a key frame (stream switch, SVC) or a temporal switching
   * point, down at the next frame boundary (within a stream) or key frame (another stream).
   */
  setTarget(spatial: number, temporal: number): void {
    if (!this.isVideo) return;
    if (spatial !== NO_LAYER && this.targetSpatial === NO_LAYER && this.started) this.waitingForKeyframe = true;
    this.targetSpatial = spatial;
    this.targetTemporal = spatial === NO_LAYER ? NO_LAYER : Math.max(0, temporal);
  }

  /**
   * Decides about one incoming packet. On DropReason.NONE, `out` holds the outgoing seq, timestamp and marker.
   * `inExtSeq` is the receiver's extended sequence number, `payloadLength` excludes padding.
   */
  forward(info: PacketInfo, inTimestamp: number, marker: boolean, payloadLength: number, out: ForwardResult): DropReasonValue {
    out.isStart = false;
    out.marker = marker;
    const inExtSeq = info.extSeq;
    if (!this.isVideo) return this.forwardAudio(info, inTimestamp, payloadLength, out);
    const isCurrentSource = this.started && info.sourceId === this.sourceId;
    if (!isCurrentSource) {
      // Another stream (or nothing forwarded yet): only a key frame of an acceptable layer can start it.
      if (this.muted) return DropReason.MUTED;
      if (this.targetSpatial === NO_LAYER) return DropReason.PAUSED;
      if (payloadLength === 0) return DropReason.PADDING;
      if (!info.isKeyframe || !this.acceptsStreamSwitch(info.spatial)) {
        return this.started ? DropReason.OTHER_SOURCE : DropReason.NOT_STARTED;
      }
      this.rebase(inExtSeq, inTimestamp, info, info.arrivalMs);
      out.isStart = true;
      this.frameListener?.onStart(info);
      out.marker = this.markerFor(info, marker);
      return this.emitNewest(inExtSeq, inTimestamp, info.arrivalMs, out);
    }
    if (inExtSeq > this.highestInExt) {
      if (this.muted) return this.absorb(inExtSeq, DropReason.MUTED);
      if (this.targetSpatial === NO_LAYER) return this.absorb(inExtSeq, DropReason.PAUSED);
      if (payloadLength === 0) return this.absorb(inExtSeq, DropReason.PADDING);
      if (this.waitingForKeyframe) {
        if (!info.isKeyframe) return this.absorb(inExtSeq, DropReason.NOT_STARTED);
        // Resume (after a pause, an unmute) at this key frame: every layer of it is decodable.
        this.waitingForKeyframe = false;
        this.curTemporal = this.targetTemporal;
        out.isStart = true;
        this.frameListener?.onStart(info);
      }
      if (info.isFrameStart) this.onFrameStart(info);
      if (info.spatial > this.curSpatial || info.temporal > this.curTemporal) {
        this.frameListener?.onFrameDropped(info);
        return this.absorb(inExtSeq, DropReason.LAYER_DROPPED);
      }
      out.marker = this.markerFor(info, marker);
      return this.emitNewest(inExtSeq, inTimestamp, info.arrivalMs, out);
    }
    // Late (reordered or duplicate) packet: use the offset in force at its position.
    if (inExtSeq < this.baseInExt) return DropReason.TOO_OLD;
    if (this.muted) return DropReason.MUTED;
    if (payloadLength === 0) return DropReason.PADDING;
    if (info.spatial > this.curSpatial || info.temporal > this.curTemporal) return DropReason.LAYER_DROPPED;
    out.marker = this.markerFor(info, marker);
    return this.mapLate(inExtSeq, inTimestamp, out);
  }

  private forwardAudio(info: PacketInfo, inTimestamp: number, payloadLength: number, out: ForwardResult): DropReasonValue {
    const inExtSeq = info.extSeq;
    if (!this.started || (info.sourceId !== this.sourceId)) {
      if (this.muted) return DropReason.MUTED;
      if (payloadLength === 0) return DropReason.PADDING;
      if (this.started && info.sourceId !== this.sourceId) return DropReason.OTHER_SOURCE;
      this.rebase(inExtSeq, inTimestamp, info, info.arrivalMs);
      out.isStart = true;
      return this.emitNewest(inExtSeq, inTimestamp, info.arrivalMs, out);
    }
    if (inExtSeq > this.highestInExt) {
      if (this.muted) return this.absorb(inExtSeq, DropReason.MUTED);
      if (payloadLength === 0) return this.absorb(inExtSeq, DropReason.PADDING);
      return this.emitNewest(inExtSeq, inTimestamp, info.arrivalMs, out);
    }
    if (inExtSeq < this.baseInExt) return DropReason.TOO_OLD;
    if (this.muted) return DropReason.MUTED;
    if (payloadLength === 0) return DropReason.PADDING;
    return this.mapLate(inExtSeq, inTimestamp, out);
  }

  /** Whether a key frame of another stream at spatial layer `layer` may become the forwarded one. */
  private acceptsStreamSwitch(layer: number): boolean {
    const target = this.targetSpatial;
    if (!this.started || this.curSpatial === NO_LAYER) return layer <= target;
    const cur = this.curSpatial;
    if (cur < target) return layer > cur && layer <= target; // step up towards the target
    if (cur > target) return layer < cur && layer >= target; // step down towards the target
    return false;
  }

  /** Layer moves inside the forwarded stream, at frame starts. */
  private onFrameStart(info: PacketInfo): void {
    const isNewPicture = info.spatial <= this.lastFrameSpatial || this.lastFrameSpatial < 0;
    this.lastFrameSpatial = info.spatial;
    // Spatial (SVC): down at the start of a picture, up at a switching frame of the higher layer.
    if (this.targetSpatial < this.curSpatial && isNewPicture) {
      this.curSpatial = Math.max(this.targetSpatial, this.baseSpatialOfStream(info));
    } else if (
      this.targetSpatial > this.curSpatial &&
      info.spatial > this.curSpatial &&
      info.spatial <= this.targetSpatial &&
      info.isSpatialSwitchPoint
    ) {
      this.curSpatial = info.spatial;
    }
    // Temporal: down at once, up at a switching point of a layer within the target.
    if (this.targetTemporal < this.curTemporal) {
      this.curTemporal = this.targetTemporal;
    } else if (
      this.targetTemporal > this.curTemporal &&
      info.temporal > this.curTemporal &&
      info.temporal <= this.targetTemporal &&
      info.isTemporalSwitchPoint
    ) {
      this.curTemporal = info.temporal;
    }
  }

  /** A simulcast stream carries one spatial layer: it cannot go below its own. */
  private baseSpatialOfStream(info: PacketInfo): number {
    return info.spatial < this.streamSpatial ? info.spatial : this.streamSpatial;
  }
  /** Spatial layer of the stream's own (lowest) layer: the key frame that started it. */
  private streamSpatial = 0;

  /**
   * SVC: the last packet of the highest forwarded layer's frame ends the picture for this subscriber, unless this
   * picture is where the forwarder moves up (its next layer frame will be forwarded too).
   */
  private markerFor(info: PacketInfo, marker: boolean): boolean {
    if (marker) return true;
    if (!info.isFrameEnd || info.spatial !== this.curSpatial) return false;
    return this.targetSpatial <= this.curSpatial || !info.isSpatialSwitchPoint;
  }

  private rebase(inExtSeq: number, inTimestamp: number, info: PacketInfo, nowMs: number): void {
    this.seqOffset = inExtSeq - (this.lastOutExt + 1);
    let tsTarget = this.lastOutTs + 1;
    if (this.started) {
      const gapTicks = Math.round(((nowMs - this.lastOutMs) * this.clockRate) / 1000);
      tsTarget = this.lastOutTs + Math.max(1, gapTicks);
    }
    this.tsOffset = (tsTarget - inTimestamp) >>> 0;
    this.started = true;
    this.waitingForKeyframe = false;
    this.sourceId = info.sourceId;
    this.streamSpatial = info.spatial;
    this.curSpatial = this.isVideo ? Math.min(Math.max(info.spatial, 0), Math.max(this.targetSpatial, info.spatial)) : 0;
    this.curTemporal = this.isVideo ? this.targetTemporal : 0;
    this.lastFrameSpatial = -1;
    this.baseInExt = inExtSeq;
    this.highestInExt = inExtSeq - 1;
    this.chgCount = 1;
    this.chgHead = 0;
    this.chgDropStart[0] = inExtSeq;
    this.chgFrom[0] = inExtSeq;
    this.chgOffset[0] = this.seqOffset;
    if (this.isVideo) this.lastFrameSpatial = info.spatial;
  }

  private emitNewest(inExtSeq: number, inTimestamp: number, nowMs: number, out: ForwardResult): DropReasonValue {
    const outExt = inExtSeq - this.seqOffset;
    const outTs = (inTimestamp + this.tsOffset) >>> 0;
    this.highestInExt = inExtSeq;
    this.lastOutExt = outExt;
    this.lastOutTs = outTs;
    this.lastOutMs = nowMs;
    out.outSeq = outExt % 65536;
    out.outTimestamp = outTs;
    this.remember(outExt, inExtSeq, outTs);
    return DropReason.NONE;
  }

  private mapLate(inExtSeq: number, inTimestamp: number, out: ForwardResult): DropReasonValue {
    for (let n = 0, i = this.chgHead; n < this.chgCount; n++, i = (i + OFFSET_HISTORY - 1) % OFFSET_HISTORY) {
      if (this.chgDropStart[i]! <= inExtSeq) {
        if (inExtSeq < this.chgFrom[i]!) return DropReason.IN_DROPPED_RANGE;
        const outExt = inExtSeq - this.chgOffset[i]!;
        out.outSeq = outExt % 65536;
        out.outTimestamp = (inTimestamp + this.tsOffset) >>> 0;
        this.remember(outExt, inExtSeq, out.outTimestamp);
        return DropReason.NONE;
      }
    }
    return DropReason.TOO_OLD;
  }

  /** Drops the newest packet without leaving a gap in the outgoing sequence. */
  private absorb(inExtSeq: number, reason: DropReasonValue): DropReasonValue {
    this.highestInExt = inExtSeq;
    this.seqOffset += 1;
    const h = this.chgHead;
    if (this.chgCount > 0 && this.chgFrom[h] === inExtSeq) {
      this.chgFrom[h] = inExtSeq + 1;
      this.chgOffset[h] = this.seqOffset;
    } else {
      const i = (h + 1) % OFFSET_HISTORY;
      this.chgHead = i;
      if (this.chgCount < OFFSET_HISTORY) this.chgCount++;
      this.chgDropStart[i] = inExtSeq;
      this.chgFrom[i] = inExtSeq + 1;
      this.chgOffset[i] = this.seqOffset;
    }
    return reason;
  }

  private remember(outExt: number, inExtSeq: number, outTs: number): void {
    const slot = outExt % this.historySize;
    this.hOutExt[slot] = outExt;
    this.hInExt[slot] = inExtSeq;
    this.hOutTs[slot] = outTs;
    this.hSource[slot] = this.sourceId;
    this.hRtxCount[slot] = 0;
    this.hLastRtxMs[slot] = -Infinity;
  }

  /**
   * Maps an outgoing (16-bit) sequence number from a subscriber's NACK back to the incoming packet.
   * THROTTLED when it was retransmitted less than `minIntervalMs` ago or `maxRetransmits` times already;
   * on OK, the retransmission is counted at `nowMs`.
   */
  mapSeqForRetransmit(
    outSeq: number,
    nowMs: number,
    minIntervalMs: number,
    maxRetransmits: number,
    out: RetransmitInfo,
  ): RetransmitStatusValue {
    if (!this.started) return RetransmitStatus.UNKNOWN;
    const outExt = this.lastOutExt + seqDelta(outSeq & 0xffff, this.lastOutExt % 65536);
    if (outExt < 0) return RetransmitStatus.UNKNOWN;
    const slot = outExt % this.historySize;
    if (this.hOutExt[slot] !== outExt) return RetransmitStatus.UNKNOWN;
    if (this.hRtxCount[slot]! >= maxRetransmits || nowMs - this.hLastRtxMs[slot]! < minIntervalMs) {
      return RetransmitStatus.THROTTLED;
    }
    this.hRtxCount[slot] = this.hRtxCount[slot]! + 1;
    this.hLastRtxMs[slot] = nowMs;
    out.inExtSeq = this.hInExt[slot]!;
    out.outTimestamp = this.hOutTs[slot]!;
    out.sourceId = this.hSource[slot]!;
    return RetransmitStatus.OK;
  }
}
