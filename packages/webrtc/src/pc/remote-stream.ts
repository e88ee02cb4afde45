// One incoming RTP stream (one SSRC, one simulcast layer) on a receiving m-line of a PeerConnection. Its core keeps
// what every consumer needs (extended sequence numbers, RFC 3550 receive statistics, the sender's last SR); the
// transport's receive stages (stages/) run next, then the consumer's `onRtp`, set synchronously in the `remoteStream`
// event. `onRtp`/`onRtcp` are hot-path sinks.
import { SeqUnwrapper, ntpMiddle32, wallMsFromNtp } from '../rtp/index.js';
import type { RtpHeader, RtcpPacket, SenderReport } from '../rtp/index.js';
import type { CodecParams, MediaKind } from '../sdp/index.js';
import { ReceiveStats } from '../stages/receive-stats.js';
import type { RtpReceiveMeta, RtpReceiveStage } from '../stages/rtp-stage.js';
import type { ReportableStream, SenderReportInfo } from '../stages/receiver-report-stage.js';

export type RtpSink = (buf: Buffer, header: RtpHeader, meta: RtpReceiveMeta) => void;
export type RtcpSink = (pkt: RtcpPacket) => void;

const dropRtp: RtpSink = () => {};
const dropRtcp: RtcpSink = () => {};

export class RemoteStream implements ReportableStream, RtpReceiveStage {
  readonly mid: string;
  readonly rid: string | undefined;
  readonly ssrc: number;
  readonly kind: MediaKind;
  /** Codecs negotiated on the m-line, by payload type. */
  readonly codecs: ReadonlyMap<number, CodecParams>;
  /** The same codecs' payload types by lower-case mime type, the first of each (as LocalSender.payloadTypes). */
  readonly payloadTypes = new Map<string, number>();
  /** Payload type of the stream's first packet: the codec the remote chose to send. */
  readonly payloadType: number;
  readonly clockRate: number;
  /** RFC 3550 receive statistics (loss, jitter), counting retransmissions too. */
  readonly stats: ReceiveStats;
  /** The sender's last SR for this stream (one reused object), undefined before one arrives. */
  senderReport: SenderReportInfo | undefined = undefined;
  /** The SSRC that carries RTX (RFC 4588) for this stream, once known. */
  rtxSsrc: number | undefined;
  onRtp: RtpSink = dropRtp;
  onRtcp: RtcpSink = dropRtcp;
  packetsReceived = 0;
  bytesReceived = 0;
  /** Sequence numbers NACKed for this stream by the transport's NACK stage. */
  nacksSent = 0;
  isClosed = false;
  /** Monotonic ms of the last packet, -Infinity before the first. */
  lastPacketMs = -Infinity;
  private readonly unwrapper = new SeqUnwrapper();
  private readonly meta: RtpReceiveMeta = { extSeq: 0, arrivalMs: 0, isDecrypted: true };
  /** Head of the transport's receive stages for this stream (set by the PeerConnection; this stream's tail). */
  private head: RtpReceiveStage = this;

  constructor(opts: { mid: string; rid: string | undefined; ssrc: number; kind: MediaKind; codecs: ReadonlyMap<number, CodecParams>; payloadType: number }) {
    this.payloadType = opts.payloadType;
    this.mid = opts.mid;
    this.rid = opts.rid;
    this.ssrc = opts.ssrc;
    this.kind = opts.kind;
    this.codecs = opts.codecs;
    for (const [pt, c] of opts.codecs) {
      const mime = c.mimeType.toLowerCase();
      if (!this.payloadTypes.has(mime)) this.payloadTypes.set(mime, pt);
    }
    this.clockRate = opts.codecs.get(opts.payloadType)?.clockRate ?? (opts.kind === 'audio' ? 48000 : 90000);
    this.stats = new ReceiveStats(this.clockRate);
  }

  /** The codec the stream is sent with (from its first packet's payload type). */
  get primaryCodec(): CodecParams | undefined {
    return this.codecs.get(this.payloadType);
  }

  /** Installs the receive stages bound to this stream (the PeerConnection does, before the first packet). */
  setStages(head: RtpReceiveStage): void {
    this.head = head;
  }

  /**
   * Per packet from the demuxer (retransmissions already restored): the core, then the stages. `isDecrypted` false:
   * a packet the transport did not decrypt (its payload is ciphertext; see PeerConnectionOptions.decryptRtp).
   */
  handleRtp(buf: Buffer, h: RtpHeader, arrivalMs: number, isDecrypted = true): void {
    if (this.isClosed) return;
    const meta = this.meta;
    meta.extSeq = this.unwrapper.unwrap(h.sequenceNumber);
    meta.arrivalMs = arrivalMs;
    meta.isDecrypted = isDecrypted;
    this.packetsReceived++;
    this.bytesReceived += buf.length;
    this.lastPacketMs = arrivalMs;
    this.stats.update(meta.extSeq, h.timestamp, arrivalMs, h.payloadLength);
    this.head.receive(buf, h, meta);
  }

  /** The tail of the stage chain: hands the packet to the consumer. */
  receive(buf: Buffer, h: RtpHeader, meta: RtpReceiveMeta): void {
    this.onRtp(buf, h, meta);
  }

  /** An SR from the sender of this stream: keeps its NTP/RTP mapping (reused object), then tells the consumer. */
  handleSenderReport(sr: SenderReport, nowMs: number): void {
    const ntpWallMs = wallMsFromNtp(sr.ntpTimestamp);
    const mid32 = ntpMiddle32(sr.ntpTimestamp);
    const info = this.senderReport;
    if (info === undefined) {
      this.senderReport = { ntpWallMs, rtpTimestamp: sr.rtpTimestamp >>> 0, receivedAtMs: nowMs, mid32 };
    } else {
      info.ntpWallMs = ntpWallMs;
      info.rtpTimestamp = sr.rtpTimestamp >>> 0;
      info.receivedAtMs = nowMs;
      info.mid32 = mid32;
    }
    this.onRtcp(sr);
  }

  close(): void {
    this.isClosed = true;
    this.onRtp = dropRtp;
    this.onRtcp = dropRtcp;
  }
}
