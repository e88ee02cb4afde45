// One outgoing RTP stream on a sending m-line of a PeerConnection. `sendRtp` takes plaintext RTP whose
// SSRC, payload type and header-extension ids are already the negotiated ones; it encrypts and sends.
import type { RtcpPacket } from '../rtp/index.js';
import type { CodecCapability, HeaderExtension, MediaKind } from '../sdp/index.js';

export interface SenderTransport {
  sendRtp(buf: Buffer): void;
  sendRtcp(buf: Buffer): void;
}

export class LocalSender {
  readonly kind: Exclude<MediaKind, 'application'>;
  readonly streamId: string;
  readonly trackId: string;
  readonly ssrc: number;
  readonly codec: CodecCapability;
  mid: string;
  /** Payload type the remote accepted (our offered one when we offer). */
  payloadType: number;
  /** Header extensions the remote accepted on this m-line. */
  headerExtensions: HeaderExtension[] = [];
  /** RTCP feedback for this SSRC (PLI, FIR, NACK, report blocks). */
  onRtcp: (pkt: RtcpPacket) => void = () => {};
  isStopped = false;
  /** True once an answer covered this sender's m-line. */
  isNegotiated = false;
  /** False once an answer rejected the m-line (port 0) or accepted none of our codec: the remote cannot receive it. */
  isAccepted = true;
  packetsSent = 0;
  bytesSent = 0;
  private readonly transport: SenderTransport;

  constructor(opts: { kind: Exclude<MediaKind, 'application'>; streamId: string; trackId: string; ssrc: number;
    codec: CodecCapability; mid: string; transport: SenderTransport }) {
    this.kind = opts.kind;
    this.streamId = opts.streamId;
    this.trackId = opts.trackId;
    this.ssrc = opts.ssrc;
    this.codec = opts.codec;
    this.mid = opts.mid;
    this.payloadType = opts.codec.preferredPayloadType;
    this.transport = opts.transport;
  }

  /** Negotiated id for a header-extension URI, or 0 when the remote did not accept it. */
  extensionId(uri: string): number {
    for (const e of this.headerExtensions) if (e.uri === uri) return e.id;
    return 0;
  }

  sendRtp(buf: Buffer): void {
    if (this.isStopped) return;
    this.packetsSent++;
    this.bytesSent += buf.length;
    this.transport.sendRtp(buf);
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
