// One outgoing RTP stream on a sending m-line of a PeerConnection. `sendRtp` takes plaintext RTP whose SSRC, payload
// type and header-extension ids are already the negotiated ones; the transport's send stages run on it (the last ones
// stamp header-extension values), then it is encrypted and sent.
import { createRtpHeader, parseRtpHeader } from '../rtp/index.js';
import type { RtcpPacket, RtpHeader } from '../rtp/index.js';
import type { CodecCapability, HeaderExtension, MediaKind } from '../sdp/index.js';
import type { RtpSendStage, SendStreamInfo } from '../stages/rtp-stage.js';

export interface SenderTransport {
  sendRtp(buf: Buffer): void;
  sendRtcp(buf: Buffer): void;
}

export class LocalSender implements SendStreamInfo {
  readonly kind: Exclude<MediaKind, 'application'>;
  readonly streamId: string;
  readonly trackId: string;
  readonly ssrc: number;
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
  /** Bumped whenever the header extensions change (send stages cache the ids they write). */
  negotiationVersion = 0;
  private extensions: HeaderExtension[] = [];
  private readonly transport: SenderTransport;
  private head: RtpSendStage | null = null;
  private readonly header: RtpHeader = createRtpHeader();

  constructor(opts: { kind: Exclude<MediaKind, 'application'>; streamId: string; trackId: string; ssrc: number;
    codec: CodecCapability; alternatives?: readonly CodecCapability[]; mid: string; transport: SenderTransport }) {
    this.kind = opts.kind;
    this.streamId = opts.streamId;
    this.trackId = opts.trackId;
    this.ssrc = opts.ssrc;
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
    head.send(buf, h);
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
