// Per-subscriber forwarding decisions and RTP munging state for one DownTrack: when to start
// (video at a keyframe), continuous outgoing sequence numbers across drops, timestamp offset, source
// switch (simulcast later), and the outgoing->incoming map used to answer NACKs. Pure: no I/O, no clock.
import { seqDelta } from '@atrium/webrtc/rtp/index.js';

/** Why `forward` did not forward a packet (NONE = forward it). */
export const DropReason = {
  NONE: 0,
  /** Video waiting for a keyframe (at start, after a source switch or unmute). */
  NOT_STARTED: 1,
  MUTED: 2,
  /** Empty payload (padding-only probe): not forwarded, its sequence number is absorbed. */
  PADDING: 3,
  /** Older than the start of forwarding or than the offset history. */
  TOO_OLD: 4,
  /** A late packet inside a range whose sequence numbers were absorbed. */
  IN_DROPPED_RANGE: 5,
  /** From a source that is neither current nor the switch target. */
  OTHER_SOURCE: 6,
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
  /** First source id (default 0). */
  sourceId?: number;
}

/** Filled by `forward` when it returns DropReason.NONE (a reused object: no allocation). */
export interface ForwardResult {
  outSeq: number;
  outTimestamp: number;
  /** True for the packet that (re)started forwarding (first packet, source switch). */
  isStart: boolean;
}

/** Filled by `mapSeqForRetransmit`. */
export interface RetransmitInfo {
  inExtSeq: number;
  outTimestamp: number;
  sourceId: number;
}

export function createForwardResult(): ForwardResult {
  return { outSeq: 0, outTimestamp: 0, isStart: false };
}

export function createRetransmitInfo(): RetransmitInfo {
  return { inExtSeq: 0, outTimestamp: 0, sourceId: 0 };
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
  private sourceId: number;
  private targetSourceId = -1;
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

  constructor(opts: ForwarderOptions) {
    this.isVideo = opts.isVideo;
    this.clockRate = opts.clockRate;
    this.waitingForKeyframe = opts.isVideo;
    this.sourceId = opts.sourceId ?? 0;
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
  /** True while video waits for a keyframe (the DownTrack asks the receiver for one). */
  get needsKeyframe(): boolean {
    return this.isVideo && (this.waitingForKeyframe || this.targetSourceId >= 0) && !this.muted;
  }
  get currentSourceId(): number {
    return this.sourceId;
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

  /** Switch to another input stream at its next keyframe (video) or next packet (audio). */
  switchSource(sourceId: number): void {
    if (sourceId === this.sourceId && this.targetSourceId < 0) return;
    this.targetSourceId = sourceId;
  }

  /**
   * Decides about one incoming packet. On DropReason.NONE, `out` holds the outgoing seq and timestamp.
   * `inExtSeq` is the receiver's extended sequence number, `payloadLength` excludes padding.
   */
  forward(
    inExtSeq: number,
    inTimestamp: number,
    isKeyframe: boolean,
    payloadLength: number,
    sourceId: number,
    nowMs: number,
    out: ForwardResult,
  ): DropReasonValue {
    out.isStart = false;
    if (!this.started || (this.targetSourceId >= 0 && sourceId === this.targetSourceId)) {
      if (this.started && sourceId !== this.targetSourceId) return DropReason.OTHER_SOURCE;
      if (!this.started && sourceId !== this.sourceId && sourceId !== this.targetSourceId) {
        return DropReason.OTHER_SOURCE;
      }
      if (this.muted) return DropReason.MUTED;
      if (payloadLength === 0) return DropReason.PADDING;
      if (this.isVideo && !isKeyframe) return DropReason.NOT_STARTED;
      this.rebase(inExtSeq, inTimestamp, sourceId, nowMs);
      out.isStart = true;
      return this.emitNewest(inExtSeq, inTimestamp, nowMs, out);
    }
    if (sourceId !== this.sourceId) return DropReason.OTHER_SOURCE;
    if (inExtSeq > this.highestInExt) {
      if (this.muted) return this.absorb(inExtSeq, DropReason.MUTED);
      if (payloadLength === 0) return this.absorb(inExtSeq, DropReason.PADDING);
      if (this.waitingForKeyframe && this.isVideo && !isKeyframe) {
        return this.absorb(inExtSeq, DropReason.NOT_STARTED);
      }
      this.waitingForKeyframe = false;
      return this.emitNewest(inExtSeq, inTimestamp, nowMs, out);
    }
    // Late (reordered or duplicate) packet: use the offset in force at its position.
    if (inExtSeq < this.baseInExt) return DropReason.TOO_OLD;
    if (this.muted) return DropReason.MUTED;
    if (payloadLength === 0) return DropReason.PADDING;
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

  private rebase(inExtSeq: number, inTimestamp: number, sourceId: number, nowMs: number): void {
    this.seqOffset = inExtSeq - (this.lastOutExt + 1);
    let tsTarget = this.lastOutTs + 1;
    if (this.started) {
      const gapTicks = Math.round(((nowMs - this.lastOutMs) * this.clockRate) / 1000);
      tsTarget = this.lastOutTs + Math.max(1, gapTicks);
    }
    this.tsOffset = (tsTarget - inTimestamp) >>> 0;
    this.started = true;
    this.waitingForKeyframe = false;
    this.sourceId = sourceId;
    this.targetSourceId = -1;
    this.baseInExt = inExtSeq;
    this.highestInExt = inExtSeq - 1;
    this.chgCount = 1;
    this.chgHead = 0;
    this.chgDropStart[0] = inExtSeq;
    this.chgFrom[0] = inExtSeq;
    this.chgOffset[0] = this.seqOffset;
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
