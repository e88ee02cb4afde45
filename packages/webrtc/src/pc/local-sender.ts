// One outgoing RTP stream on a sending m-line of a PeerConnection. `sendRtp` takes plaintext RTP whose SSRC, payload
// type and header-extension ids are already the negotiated ones; the transport's send stages run on it (the last ones
// stamp header-extension values), then it is encrypted and sent. A video sender may have an RTX SSRC (RFC 4588) for
// retransmissions (`sendRtx`) and padding-only packets (bandwidth probes), when the remote accepted RTX.
import { createRtpHeader, parseRtpHeader } from '../rtp/index.js';
import type { RtcpPacket, RtpHeader } from '../rtp/index.js';
import { HeaderExtensionUri } from '../sdp/capabilities.js';
import type { CodecCapability, HeaderExtension, MediaKind } from '../sdp/index.js';
import type { RtpSendStage, SendStreamInfo } from '../stages/rtp-stage.js';
import { PADDING_PACKET_CAPACITY, rtxPacketLength, writePaddingPacket, writeRtxPacket } from '../stages/rtx-packet.js';

export interface SenderTransport {
  sendRtp(buf: Buffer): void;
  sendRtcp(buf: Buffer): void;
}

export class LocalSender implements SendStreamInfo {
  readonly kind: Exclude<MediaKind, 'application'>;
  readonly streamId: string;
  readonly trackId: string;
  readonly ssrc: number;
  /**
   * Simulcast layers, low to high (empty without simulcast). RTCP for a layer's SSRC (PLI, FIR, NACK, reports) comes
   * to `onRtcp` too; packets are sent with the layer's SSRC and rid written by the caller.
   */
  readonly layers: readonly { rid: string; ssrc: number }[];
  /** SSRC of the RTX stream paired with this one (`a=ssrc-group:FID`), undefined when the sender has none. */
  readonly rtxSsrc: number | undefined;
  /** RTX payload type the remote accepted for the codec sent; undefined when RTX is not negotiated (then no RTX). */
  rtxPayloadType: number | undefined;
  /** Codecs offered for this sender, in preference order. */
  readonly codecs: readonly CodecCapability[];
  /** The codec the remote accepted (the first of its answer that is ours), undefined before an answer. */
  negotiatedCodec: CodecCapability | undefined;
  /** Payload types the remote accepted, by lower-case mime type (e.g. RED's inner Opus type). */
  readonly payloadTypes = new Map<string, number>();
  mid: string;
  /** Payload type the remote accepted (our offered one when we offer). */
  payloadType: number;
  /** RTCP feedback for this SSRC (PLI, FIR, NACK, report blocks). */
  onRtcp: (pkt: RtcpPacket) => void = () => {};
  isStopped = false;
  /** True once an answer covered this sender's m-line. */
  isNegotiated = false;
  /** False once an answer rejected the m-line (port 0) or accepted none of our codec: the remote cannot receive it. */
  isAccepted = true;
  packetsSent = 0;
  bytesSent = 0;
  rtxPacketsSent = 0;
  rtxBytesSent = 0;
  paddingPacketsSent = 0;
  paddingBytesSent = 0;
  /** Bumped whenever the header extensions change (send stages cache the ids they write). */
  negotiationVersion = 0;
  private extensions: HeaderExtension[] = [];
  private readonly transport: SenderTransport;
  private head: RtpSendStage | null = null;
  private readonly header: RtpHeader = createRtpHeader();
  /** Next RTX sequence number (retransmissions and padding share it); random start (RFC 3550 §5.1). */
  private rtxSeq = Math.floor(Math.random() * 0x10000);
  /** RTP timestamp of the newest media packet sent (padding packets carry it). */
  private lastTimestamp = 0;
  private rtxBuf: Buffer = Buffer.alloc(0);
  private readonly rtxHeader: RtpHeader = createRtpHeader();
  private paddingBuf: Buffer | null = null;
  private readonly paddingHeader: RtpHeader = createRtpHeader();
  private paddingIdsVersion = -1;
  private transportCcId = 0;
  private absSendTimeId = 0;

  constructor(opts: { kind: Exclude<MediaKind, 'application'>; streamId: string; trackId: string; ssrc: number;
    codec: CodecCapability; alternatives?: readonly CodecCapability[]; mid: string; transport: SenderTransport;
    rtxSsrc?: number; layers?: readonly { rid: string; ssrc: number }[] }) {
    this.kind = opts.kind;
    this.streamId = opts.streamId;
    this.trackId = opts.trackId;
    this.ssrc = opts.ssrc;
    this.rtxSsrc = opts.rtxSsrc;
    this.layers = opts.layers ?? [];
    this.rtxPayloadType = undefined;
    this.codecs = [opts.codec, ...(opts.alternatives ?? [])];
    this.mid = opts.mid;
    this.payloadType = opts.codec.preferredPayloadType;
    this.transport = opts.transport;
  }

  /** The codec sent: the negotiated one, or the first offered before an answer. */
  get codec(): CodecCapability {
    return this.negotiatedCodec ?? this.codecs[0]!;
  }

  /** Header extensions the remote accepted on this m-line. */
  get headerExtensions(): HeaderExtension[] {
    return this.extensions;
  }
  set headerExtensions(list: HeaderExtension[]) {
    this.extensions = list;
    this.negotiationVersion++;
  }

  /** Negotiated id for a header-extension URI, or 0 when the remote did not accept it. */
  extensionId(uri: string): number {
    for (const e of this.extensions) if (e.uri === uri) return e.id;
    return 0;
  }

  /** Installs the transport's send stages bound to this sender (the PeerConnection does, once). */
  setStages(head: RtpSendStage): void {
    this.head = head;
  }

  /**
   * Sends one packet. `h`, when given, must describe `buf`'s header (its extension block at least); otherwise it is
   * parsed here when a send stage needs it.
   */
  sendRtp(buf: Buffer, h?: RtpHeader): void {
    if (this.isStopped) return;
    this.packetsSent++;
    this.bytesSent += buf.length;
    const head = this.head;
    if (head === null) {
      this.transport.sendRtp(buf);
      return;
    }
    if (h === undefined) {
      h = this.header;
      if (!parseRtpHeader(buf, h)) return;
    }
    this.lastTimestamp = h.timestamp;
    head.send(buf, h);
  }

  /**
   * Retransmits one packet on the RTX SSRC (RFC 4588 §4). `buf` is the complete plaintext packet as it was sent on
   * the media SSRC (this sender's SSRC, outgoing sequence number) and `h` describes it. The RTX packet is built in a
   * reused buffer and goes through the send stages (so it gets its own transport-wide sequence number). Returns false,
   * sending nothing, when RTX is not negotiated: the caller then resends on the media SSRC.
   */
  sendRtx(buf: Buffer, h: RtpHeader): boolean {
    const rtxPayloadType = this.rtxPayloadType;
    const rtxSsrc = this.rtxSsrc;
    if (rtxPayloadType === undefined || rtxSsrc === undefined) return false;
    if (this.isStopped) return true;
    const length = rtxPacketLength(buf, h);
    if (this.rtxBuf.length < length) this.rtxBuf = Buffer.allocUnsafe(Math.max(length, 1500));
    const seq = this.rtxSeq;
    this.rtxSeq = (seq + 1) & 0xffff;
    writeRtxPacket(buf, h, this.rtxBuf, this.rtxHeader, rtxPayloadType, seq, rtxSsrc);
    const out = this.rtxBuf.subarray(0, length);
    this.rtxPacketsSent++;
    this.rtxBytesSent += length;
    const head = this.head;
    if (head === null) this.transport.sendRtp(out);
    else head.send(out, this.rtxHeader);
    return true;
  }

  /** Padding-only packets can go out on the RTX SSRC (RTX negotiated on an accepted, running sender). */
  get canSendPadding(): boolean {
    return this.rtxPayloadType !== undefined && this.rtxSsrc !== undefined && !this.isStopped && this.isAccepted;
  }

  /**
   * Builds one padding-only packet on the RTX SSRC (RTX payload type and sequence number, the newest media timestamp,
   * `paddingBytes` of padding, slots for transport-cc and abs-send-time when negotiated) and passes it to `via`, the
   * stages after the caller (the pacer gives its own `next`). Returns the packet's size, 0 when padding is impossible.
   */
  sendPadding(paddingBytes: number, via: RtpSendStage): number {
    if (!this.canSendPadding) return 0;
    if (this.paddingIdsVersion !== this.negotiationVersion) {
      this.paddingIdsVersion = this.negotiationVersion;
      this.transportCcId = this.extensionId(HeaderExtensionUri.transportCc);
      this.absSendTimeId = this.extensionId(HeaderExtensionUri.absSendTime);
    }
    this.paddingBuf ??= Buffer.alloc(PADDING_PACKET_CAPACITY);
    const seq = this.rtxSeq;
    this.rtxSeq = (seq + 1) & 0xffff;
    const length = writePaddingPacket(this.paddingBuf, this.paddingHeader, this.rtxPayloadType!, seq, this.lastTimestamp,
      this.rtxSsrc!, this.transportCcId, this.absSendTimeId, paddingBytes);
    this.paddingPacketsSent++;
    this.paddingBytesSent += length;
    via.send(this.paddingBuf.subarray(0, length), this.paddingHeader);
    return length;
  }

  sendRtcp(buf: Buffer): void {
    if (this.isStopped) return;
    this.transport.sendRtcp(buf);
  }

  stop(): void {
    this.isStopped = true;
    this.onRtcp = () => {};
  }
}
