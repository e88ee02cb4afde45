// One subscriber's RED (RFC 2198, https://www.rfc-editor.org/rfc/rfc2198) view of one audio track, used by its
// DownTrack: RED from the publisher passed on (block payload types renumbered) or unwrapped to its primary Opus frame,
// frames lost upstream recovered from the redundant blocks, plain Opus RED-encoded (audio.active_red_encoding).
// Hot path: no allocation, no closures, nothing thrown (-1 / 0 instead).
import type { RtpHeader } from '@atrium/webrtc/rtp/index.js';
import {
  RED_MAX_BLOCKS, createRedPayload, createRedRecovery, findRecoverableBlocks, parseRedPayload, unwrapRedPacket,
  writeRedBlockPacket, writeRedBlockPayloadTypes,
} from './codec/red.js';
import type { RedPayload, RedRecovery } from './codec/red.js';
import { RedEncoder } from './codec/red-encoder.js';
import { createPacketInfo } from './down-track-source.js';
import type { PacketInfo } from './down-track-source.js';

export interface RedTranslatorOptions {
  /** The publisher's RED and Opus payload types on the track's m-line; -1 when it did not negotiate that codec. */
  sourceRedPayloadType: number;
  sourceOpusPayloadType: number;
  /**
   * The subscriber's RED payload type (-1: it refused RED, so it gets plain Opus) and Opus payload type (-1: it
   * refused Opus). RED goes out whenever the subscriber accepted it.
   */
  redPayloadType: number;
  opusPayloadType: number;
  /** Earlier frames repeated when RED-encoding plain Opus for a RED subscriber; 0 (default): Opus stays Opus. */
  encodeRedundancy?: number;
  /** Recover frames lost upstream from RED's redundant blocks for a plain-Opus subscriber (default true). */
  isRecoveryEnabled?: boolean;
}

/** Recovered sequence numbers remembered, so the original arriving late is not sent a second time. */
const RECOVERED_HISTORY = 32;

export class RedTranslator {
  readonly sourceRedPayloadType: number;
  readonly sourceOpusPayloadType: number;
  readonly redPayloadType: number;
  readonly opusPayloadType: number;
  /** The payload type of the packet the last `write` produced. */
  payloadType: number;
  private readonly isRecoveryEnabled: boolean;
  /** RED block payload types differ between publisher and subscriber: rewritten in every forwarded RED packet. */
  private readonly isRenumbering: boolean;
  /** RED-encodes plain Opus for a RED subscriber (with redundancy, or none when the subscriber refused Opus). */
  private readonly encoder: RedEncoder | null;
  private readonly red: RedPayload = createRedPayload();
  private readonly recovery: RedRecovery = createRedRecovery();
  private readonly recoveredPacketInfo: PacketInfo = createPacketInfo();
  /** Block of the current packet that `write` writes as its own Opus packet (-1: the packet itself). */
  private selectedBlock = -1;
  private hasForwarded = false;
  private highestExtSeq = -1;
  private lastForwardedTimestamp = 0;
  private readonly recovered = new Float64Array(RECOVERED_HISTORY).fill(-1);

  constructor(opts: RedTranslatorOptions) {
    this.sourceRedPayloadType = opts.sourceRedPayloadType;
    this.sourceOpusPayloadType = opts.sourceOpusPayloadType;
    this.redPayloadType = opts.redPayloadType;
    this.opusPayloadType = opts.opusPayloadType;
    this.payloadType = opts.redPayloadType >= 0 ? opts.redPayloadType : opts.opusPayloadType;
    this.isRecoveryEnabled = opts.isRecoveryEnabled ?? true;
    this.isRenumbering = opts.redPayloadType >= 0 && opts.opusPayloadType >= 0 && opts.sourceOpusPayloadType >= 0
      && opts.sourceOpusPayloadType !== opts.opusPayloadType;
    const redundancy = opts.encodeRedundancy ?? 0;
    // A RED-only subscriber gets even plain Opus as RED (no redundant blocks), the one format it decodes.
    const needsEncoder = opts.redPayloadType >= 0 && (redundancy > 0 || opts.opusPayloadType < 0);
    const blockPayloadType = opts.opusPayloadType >= 0 ? opts.opusPayloadType : Math.max(0, opts.sourceOpusPayloadType);
    this.encoder = needsEncoder ? new RedEncoder({ opusPayloadType: blockPayloadType, redundancy }) : null;
  }

  /** True when the subscriber receives RED. */
  get sendsRed(): boolean {
    return this.redPayloadType >= 0;
  }

  private isRedPacket(h: RtpHeader): boolean {
    return this.sourceRedPayloadType >= 0 && h.payloadType === this.sourceRedPayloadType;
  }

  /**
   * Writes what the subscriber gets for `buf` (RTP, header `h`) into `out`: the header as is (the DownTrack rewrites
   * SSRC, payload type, sequence number and timestamp) and the payload translated; `payloadType` says which of the
   * subscriber's types it is. Returns the length, or -1 when the packet cannot be translated or does not fit `out`.
   */
  write(buf: Uint8Array, h: RtpHeader, out: Uint8Array): number {
    if (this.selectedBlock >= 0) {
      this.payloadType = this.opusPayloadType;
      return writeRedBlockPacket(buf, h.payloadOffset, this.red, this.selectedBlock, 0, 0, out);
    }
    if (this.isRedPacket(h)) {
      if (this.redPayloadType >= 0) {
        this.payloadType = this.redPayloadType;
        if (buf.length > out.length) return -1;
        out.set(buf, 0);
        if (this.isRenumbering) {
          if (!parseRedPayload(out, h.payloadOffset, h.payloadLength, this.red)) return -1;
          writeRedBlockPayloadTypes(out, h.payloadOffset, this.red, this.opusPayloadType);
        }
        return buf.length;
      }
      if (this.opusPayloadType < 0) return -1;
      this.payloadType = this.opusPayloadType;
      return unwrapRedPacket(buf, h.payloadOffset, h.payloadLength, this.red, out);
    }
    // Plain Opus (or anything but RED) from the publisher.
    if (this.encoder !== null) {
      this.payloadType = this.redPayloadType;
      return this.encoder.encode(buf, h.payloadOffset, h.payloadLength, out);
    }
    if (this.opusPayloadType < 0 || buf.length > out.length) return -1;
    this.payloadType = this.opusPayloadType;
    out.set(buf, 0);
    return buf.length;
  }

  /**
   * Before the DownTrack forwards `buf`: when it is RED, the subscriber gets plain Opus and packets were lost right
   * before this one, finds the redundant blocks carrying the lost frames; returns how many (0 almost always).
   */
  findRecoverable(buf: Uint8Array, h: RtpHeader, info: PacketInfo): number {
    if (!this.isRecoveryEnabled || this.redPayloadType >= 0 || this.opusPayloadType < 0 || !this.hasForwarded) return 0;
    if (!this.isRedPacket(h)) return 0;
    const missed = info.extSeq - this.highestExtSeq - 1;
    if (missed < 1) return 0;
    if (!parseRedPayload(buf, h.payloadOffset, h.payloadLength, this.red)) return 0;
    const limit = missed < RED_MAX_BLOCKS ? missed : RED_MAX_BLOCKS;
    return findRecoverableBlocks(this.red, h.timestamp, this.lastForwardedTimestamp, limit, this.recovery);
  }

  /** The PacketInfo of recovered frame `i` (of the last findRecoverable): the lost packet's place in the stream. */
  recoveredInfo(i: number, info: PacketInfo): PacketInfo {
    const r = this.recoveredPacketInfo;
    r.extSeq = info.extSeq - this.recovery.sequenceDistances[i]!;
    r.sourceId = info.sourceId;
    r.arrivalMs = info.arrivalMs;
    r.spatial = info.spatial;
    return r;
  }

  recoveredTimestamp(i: number): number {
    return this.recovery.timestamps[i]!;
  }

  recoveredLengthBytes(i: number): number {
    return this.red.blockLengthsBytes[this.recovery.blockIndexes[i]!]!;
  }

  /** Makes the next `write` produce recovered frame `i` as a plain Opus packet; -1 returns to normal writing. */
  selectRecovered(i: number): void {
    this.selectedBlock = i < 0 ? -1 : this.recovery.blockIndexes[i]!;
  }

  /** A frame the subscriber got recovered from redundancy. */
  markRecovered(extSeq: number): void {
    this.recovered[extSeq % RECOVERED_HISTORY] = extSeq;
  }

  /** True for a late packet whose frame was already sent, recovered from redundancy: sending it again would duplicate it. */
  wasRecovered(extSeq: number): boolean {
    return extSeq <= this.highestExtSeq && this.recovered[extSeq % RECOVERED_HISTORY] === extSeq;
  }

  /** After the forwarder decided about a packet (its incoming sequence number and timestamp). */
  observe(extSeq: number, timestamp: number, isForwarded: boolean): void {
    if (extSeq <= this.highestExtSeq) return;
    this.highestExtSeq = extSeq;
    if (isForwarded) {
      this.hasForwarded = true;
      this.lastForwardedTimestamp = timestamp;
    }
  }
}
