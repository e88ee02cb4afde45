// One incoming RTP stream (one SSRC, one simulcast layer) on a receiving m-line of a PeerConnection.
// The consumer sets `onRtp`/`onRtcp` synchronously in the `remoteStream` event; they are hot-path sinks.
import type { RtpHeader } from '../rtp/index.js';
import type { RtcpPacket } from '../rtp/index.js';
import type { CodecParams, MediaKind } from '../sdp/index.js';

export type RtpSink = (buf: Buffer, header: RtpHeader) => void;
export type RtcpSink = (pkt: RtcpPacket) => void;

const dropRtp: RtpSink = () => {};
const dropRtcp: RtcpSink = () => {};

export class RemoteStream {
  readonly mid: string;
  readonly rid: string | undefined;
  readonly ssrc: number;
  readonly kind: MediaKind;
  /** Codecs negotiated on the m-line, by payload type. */
  readonly codecs: ReadonlyMap<number, CodecParams>;
  /** Payload type of the stream's first packet: the codec the remote chose to send. */
  readonly payloadType: number;
  /** The SSRC that carries RTX (RFC 4588) for this stream, once known. */
  rtxSsrc: number | undefined;
  onRtp: RtpSink = dropRtp;
  onRtcp: RtcpSink = dropRtcp;
  packetsReceived = 0;
  bytesReceived = 0;
  isClosed = false;

  constructor(opts: { mid: string; rid: string | undefined; ssrc: number; kind: MediaKind; codecs: ReadonlyMap<number, CodecParams>; payloadType: number }) {
    this.payloadType = opts.payloadType;
    this.mid = opts.mid;
    this.rid = opts.rid;
    this.ssrc = opts.ssrc;
    this.kind = opts.kind;
    this.codecs = opts.codecs;
  }

  /** The codec the stream is sent with (from its first packet's payload type). */
  get primaryCodec(): CodecParams | undefined {
    return this.codecs.get(this.payloadType);
  }

  close(): void {
    this.isClosed = true;
    this.onRtp = dropRtp;
    this.onRtcp = dropRtcp;
  }
}
