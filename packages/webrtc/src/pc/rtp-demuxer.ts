// Routes decrypted RTP on a BUNDLE transport to the stream it belongs to: by SSRC when known, otherwise by
// the SDES MID / RID / repaired-RID header extensions (RFC 8843, RFC 8852) or the SSRCs signalled in SDP.
// RTX (RFC 4588) packets are turned back into the original packet before delivery.
import {
  createRtpHeader, parseRtpHeader, findHeaderExtension, headerExtensionLength, type RtpHeader,
} from '../rtp/index.js';
import { HeaderExtensionUri, type CodecParams, type MediaKind } from '../sdp/index.js';
import { RemoteStream } from './remote-stream.js';
import { SsrcMap } from '../rtp/ssrc-map.js';
import type { TransportSeqRecorder } from '../stages/twcc-feedback.js';
import type { AbsSendTimeRecorder } from '../stages/remb-generator.js';

/** What the demuxer knows of one receiving m-line. */
export interface ReceiveConfig {
  mid: string;
  kind: Exclude<MediaKind, 'application'>;
  /** Primary codecs by payload type. */
  codecs: Map<number, CodecParams>;
  /** RTX payload type -> primary payload type. */
  rtxPayloadTypes: Map<number, number>;
  /** SSRCs signalled in SDP (a=ssrc), with their RTX partner from a=ssrc-group:FID. */
  ssrcs: { ssrc: number; rtxSsrc?: number }[];
  /** Header-extension ids on this m-line, by URI. */
  extensionIds: Map<string, number>;
}

interface StreamEntry {
  stream: RemoteStream;
  /** Set for an RTX SSRC: the stream it repairs. */
  repairs: RemoteStream | undefined;
  rtxPayloadTypes: Map<number, number>;
}

export interface DemuxStats {
  unknownSsrc: number;
  malformed: number;
  rtxPadding: number;
}

export class RtpDemuxer {
  /** Called once per new primary stream, before its first packet is delivered. */
  onStream: (stream: RemoteStream) => void = () => {};
  readonly stats: DemuxStats = { unknownSsrc: 0, malformed: 0, rtxPadding: 0 };
  private readonly header: RtpHeader = createRtpHeader();
  /** Looked up once per packet (twice in the load tester, which asks streamBySsrc before decrypting). */
  private readonly bySsrc = new SsrcMap<StreamEntry>();
  private configs = new Map<string, ReceiveConfig>();
  /**
   * Sees every parsed packet first, before routing or any drop (unknown SSRC, RTX padding): transport-wide
   * feedback must cover every packet that carries a transport-wide sequence number.
   */
  transportSeqRecorder: TransportSeqRecorder | undefined;
  /** Likewise for the receive-side estimator (REMB), which reads abs-send-time; set only where it is negotiated. */
  absSendTimeRecorder: AbsSendTimeRecorder | undefined;

  /** Replaces the receive configuration after a negotiation. Streams of removed mids are closed. */
  configure(configs: ReceiveConfig[]): RemoteStream[] {
    this.configs = new Map(configs.map((c) => [c.mid, c]));
    const closed: RemoteStream[] = [];
    for (const [ssrc, entry] of this.bySsrc) {
      if (!this.configs.has(entry.stream.mid)) {
        this.bySsrc.delete(ssrc);
        if (!entry.repairs && !entry.stream.isClosed) {
          entry.stream.close();
          closed.push(entry.stream);
        }
      }
    }
    return closed;
  }

  streams(): RemoteStream[] {
    const out: RemoteStream[] = [];
    for (const e of this.bySsrc.values()) if (!e.repairs) out.push(e.stream);
    return out;
  }

  streamBySsrc(ssrc: number): RemoteStream | undefined {
    const e = this.bySsrc.get(ssrc);
    return e && !e.repairs ? e.stream : undefined;
  }

  /**
   * Hot path: one decrypted RTP packet, read from the socket at `arrivalMs` (monotonic). `isDecrypted` false: the
   * payload is still ciphertext (only for an SSRC of a known primary stream, without padding; see PeerConnection).
   */
  handleRtp(buf: Buffer, arrivalMs: number, isDecrypted = true): void {
    const h = this.header;
    if (!parseRtpHeader(buf, h)) {
      this.stats.malformed++;
      return;
    }
    const recorder = this.transportSeqRecorder;
    if (recorder !== undefined && recorder.extensionId !== 0) recorder.recordRtp(buf, h, arrivalMs);
    const absRecorder = this.absSendTimeRecorder;
    if (absRecorder !== undefined && absRecorder.extensionId !== 0) absRecorder.recordRtp(buf, h, arrivalMs);
    let entry = this.bySsrc.get(h.ssrc);
    if (entry === undefined) {
      entry = this.learn(buf, h);
      if (entry === undefined) {
        this.stats.unknownSsrc++;
        return;
      }
    }
    if (entry.repairs === undefined) {
      entry.stream.handleRtp(buf, h, arrivalMs, isDecrypted);
      return;
    }
    if (!isDecrypted) return; // an RTX payload (its original sequence number) cannot be read encrypted
    this.deliverRtx(buf, h, entry, arrivalMs);
  }

  close(): void {
    for (const e of this.bySsrc.values()) e.stream.close();
    this.bySsrc.clear();
  }

  private deliverRtx(buf: Buffer, h: RtpHeader, entry: StreamEntry, arrivalMs: number): void {
    const primary = entry.repairs!;
    const apt = entry.rtxPayloadTypes.get(h.payloadType);
    if (h.payloadLength < 2 || apt === undefined) {
      this.stats.rtxPadding++;
      return;
    }
    const osnOffset = h.payloadOffset;
    const osn = (buf[osnOffset]! << 8) | buf[osnOffset + 1]!;
    // Rebuild: original header (with primary SSRC, PT and sequence number) + payload after the OSN.
    const payloadStart = osnOffset + 2;
    const payloadEnd = h.payloadOffset + h.payloadLength;
    const out = Buffer.allocUnsafe(h.payloadOffset + (payloadEnd - payloadStart));
    buf.copy(out, 0, 0, h.payloadOffset);
    buf.copy(out, h.payloadOffset, payloadStart, payloadEnd);
    out[0] = out[0]! & 0xdf; // padding removed
    out[1] = (out[1]! & 0x80) | (apt & 0x7f);
    out.writeUInt16BE(osn, 2);
    out.writeUInt32BE(primary.ssrc >>> 0, 8);
    const h2 = this.header;
    if (!parseRtpHeader(out, h2)) return;
    primary.handleRtp(out, h2, arrivalMs);
  }

  private readSdes(buf: Buffer, h: RtpHeader, id: number | undefined): string | undefined {
    if (id === undefined || id === 0 || !h.extension) return undefined;
    const off = findHeaderExtension(buf, h, id);
    if (off < 0) return undefined;
    const len = headerExtensionLength(buf, h, id);
    if (len <= 0) return undefined;
    return buf.toString('latin1', off, off + len);
  }

  /** First packet of an unknown SSRC: find its m-line and create the stream (control path). */
  private learn(buf: Buffer, h: RtpHeader): StreamEntry | undefined {
    let config: ReceiveConfig | undefined;
    let signalledRtxOf: number | undefined;
    for (const c of this.configs.values()) {
      for (const s of c.ssrcs) {
        if (s.ssrc === h.ssrc) config = c;
        else if (s.rtxSsrc === h.ssrc) {
          config = c;
          signalledRtxOf = s.ssrc;
        }
      }
      if (config) break;
    }
    const anyConfig = config ?? this.configs.values().next().value;
    const midId = anyConfig?.extensionIds.get(HeaderExtensionUri.sdesMid);
    if (config === undefined) {
      const mid = this.readSdes(buf, h, midId);
      if (mid !== undefined) config = this.configs.get(mid);
    }
    if (config === undefined) {
      // Last resort: a single m-line that negotiated this payload type.
      const matches = [...this.configs.values()].filter(
        (c) => c.codecs.has(h.payloadType) || c.rtxPayloadTypes.has(h.payloadType),
      );
      if (matches.length === 1) config = matches[0];
    }
    if (config === undefined) return undefined;

    const isRtx = config.rtxPayloadTypes.has(h.payloadType);
    const rid = this.readSdes(buf, h, config.extensionIds.get(HeaderExtensionUri.rtpStreamId));
    const rrid = this.readSdes(buf, h, config.extensionIds.get(HeaderExtensionUri.repairedRtpStreamId));

    if (isRtx || signalledRtxOf !== undefined || rrid !== undefined) {
      let primary: RemoteStream | undefined;
      if (signalledRtxOf !== undefined) primary = this.bySsrc.get(signalledRtxOf)?.stream;
      if (!primary) {
        const wantRid = rrid ?? rid;
        for (const e of this.bySsrc.values()) {
          if (!e.repairs && e.stream.mid === config.mid && e.stream.rid === wantRid) primary = e.stream;
        }
      }
      if (!primary) return undefined; // RTX before its primary stream: drop until the primary is known
      primary.rtxSsrc = h.ssrc;
      const entry: StreamEntry = { stream: primary, repairs: primary, rtxPayloadTypes: config.rtxPayloadTypes };
      this.bySsrc.set(h.ssrc, entry);
      return entry;
    }
    if (!config.codecs.has(h.payloadType)) return undefined;
    const stream = new RemoteStream({ mid: config.mid, rid, ssrc: h.ssrc, kind: config.kind, codecs: config.codecs, payloadType: h.payloadType });
    const signalled = config.ssrcs.find((s) => s.ssrc === h.ssrc);
    if (signalled?.rtxSsrc !== undefined) stream.rtxSsrc = signalled.rtxSsrc;
    const entry: StreamEntry = { stream, repairs: undefined, rtxPayloadTypes: config.rtxPayloadTypes };
    this.bySsrc.set(h.ssrc, entry);
    this.onStream(stream);
    return entry;
  }
}
