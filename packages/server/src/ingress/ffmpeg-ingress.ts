// A transcoded ingress stream: ffmpeg (ffmpeg-rtp-source.ts) encodes VP8 (one stream, or simulcast layers) and Opus as
// RTP; a PeerConnection of our own stack in the client role publishes that RTP to this server as a WHIP sender would,
// so the media takes the ordinary path (WhipSession -> an INGRESS participant -> the SFU). Used by URL ingress (ffmpeg
// pulls the URL) and RTMP ingress (FLV on ffmpeg's stdin). ffmpeg failing ends the stream in ERROR with ffmpeg's words.
import { defaultCapabilities, UdpMux } from '@atrium/webrtc';
import type { Logger } from '@atrium/webrtc';
import { PeerConnection } from '@atrium/webrtc/pc/peer-connection.js';
import type { LocalSender } from '@atrium/webrtc/pc/local-sender.js';
import { HeaderExtensionUri } from '@atrium/webrtc/sdp/capabilities.js';
import { generateCertificate } from '@atrium/webrtc/dtls/certificate.js';
import type { DtlsCertificate } from '@atrium/webrtc/dtls/certificate.js';
import type { IngressInfo } from '@livekit/protocol';
import { FfmpegRtpSource } from './ffmpeg-rtp-source.js';
import type { FfmpegRtpSourceOptions } from './ffmpeg-rtp-source.js';
import type { WhipSession } from './whip-session.js';
import type { LayerSize } from './whip-offer.js';

const OPUS = defaultCapabilities.audio.find((c) => c.mimeType.toLowerCase() === 'audio/opus')!;
const VP8 = defaultCapabilities.video.find((c) => c.mimeType.toLowerCase() === 'video/vp8')!;
/** Simulcast rids, lowest first, as livekit-client names its layers. */
const RIDS = ['q', 'h', 'f'] as const;

export interface FfmpegIngressOptions {
  ingress: IngressInfo;
  logger: Logger;
  /** What ffmpeg reads and how it encodes (`videoLayers`: lowest first; more than one is simulcast). */
  source: Omit<FfmpegRtpSourceOptions, 'onRtp' | 'onExit'>;
  /** Opens the ingress's stream with this offer (the WHIP path without HTTP) and returns the session and its answer. */
  open(offerSdp: string, opts: { videoLayers?: readonly LayerSize[] }): Promise<{ session: WhipSession; answer: string }>;
  /** The stream could not start (before a session existed): the ingress ends in ERROR with this. */
  onStartFailed(error: string): void;
  /** ffmpeg reached the end of its input (a URL's file ended; an RTMP publisher's FLV ended). */
  onInputEnded?(session: WhipSession): void;
}

export interface FfmpegIngress {
  readonly session: WhipSession;
  readonly source: FfmpegRtpSource;
}

let certificate: Promise<DtlsCertificate> | undefined;

/**
 * Starts one transcoded stream; everything it holds is released when its session ends. Never throws: undefined when
 * it could not start (then `onStartFailed` or the session's failure said why).
 */
export async function startFfmpegIngress(opts: FfmpegIngressOptions): Promise<FfmpegIngress | undefined> {
  const { ingress, logger } = opts;
  let mux: UdpMux | undefined;
  let pc: PeerConnection | undefined;
  let source: FfmpegRtpSource | undefined;
  let session: WhipSession | undefined;
  const release = (): void => {
    source?.stop();
    pc?.close();
    void mux?.close();
  };
  try {
    mux = await UdpMux.bind({ port: 0, address: '127.0.0.1' });
    certificate ??= generateCertificate();
    const peer = new PeerConnection({ role: 'client', mux, certificate: await certificate, advertisedAddress: '127.0.0.1', logger });
    pc = peer;
    const layers = opts.source.videoLayers ?? [];
    const onRtp = addFfmpegSenders(peer, ingress.ingressId, layers.length);
    const opened = await opts.open(peer.createOffer(), layers.length > 1 ? { videoLayers: layers } : {});
    session = opened.session;
    peer.handleAnswer(opened.answer);
    session.onEnded = release;
    const s = session;
    source = await FfmpegRtpSource.start({
      ...opts.source,
      onRtp,
      onExit: (error) => {
        if (error !== undefined) s.failWith(error);
        else if (opts.onInputEnded) opts.onInputEnded(s);
        else s.stop('the input ended');
      },
    });
    if (s.isEnded) {
      release();
      return undefined;
    }
    return { session: s, source };
  } catch (err) {
    const error = `the ingress could not start: ${(err as Error).message}`;
    logger.warn({ err }, error);
    release();
    if (session) session.failWith(error);
    else opts.onStartFailed(error);
    return undefined;
  }
}

/**
 * Adds an Opus sender and a VP8 one (simulcast with `videoLayers` > 1: rids q, h, f, lowest first) to a client-role
 * PeerConnection, before its offer; returns what takes ffmpeg's RTP (FfmpegRtpSource's `onRtp`) and sends it on them
 * once the connection is up. Also used by the WHIP ingress bench, as a WHIP sender of our own.
 */
export function addFfmpegSenders(peer: PeerConnection, streamId: string, videoLayers: number): FfmpegRtpSourceOptions['onRtp'] {
  const simulcast = videoLayers > 1 ? RIDS.slice(RIDS.length - videoLayers).map((rid) => ({ rid })) : [];
  const audio = peer.addSender({ kind: 'audio', streamId, trackId: 'audio', codec: OPUS });
  const video = peer.addSender({ kind: 'video', streamId, trackId: 'video', codec: VP8, ...(simulcast.length > 0 ? { simulcast } : {}) });
  const layerHeaders = new LayerHeaders(video);
  return (kind, packet, layer) => {
    if (peer.connectionState !== 'connected') return;
    if (kind === 'audio') forward(audio, packet);
    else if (video.layers.length > 0) layerHeaders.forward(layer, packet);
    else forward(video, packet);
  };
}

/** ffmpeg's RTP with the payload type and SSRC this sender negotiated (ffmpeg's packets carry no header extensions). */
function forward(sender: LocalSender, packet: Buffer): void {
  if (packet.length < 12 || (packet[0]! & 0xc0) !== 0x80) return;
  packet[1] = (packet[1]! & 0x80) | (sender.payloadType & 0x7f);
  packet.writeUInt32BE(sender.ssrc, 8);
  sender.sendRtp(packet);
}

/**
 * Simulcast: each layer's packets get the layer's SSRC and a header-extension block naming the m-line (mid) and the
 * layer (rid), as a browser sends them, with a transport-wide sequence number slot the send stages stamp.
 */
class LayerHeaders {
  private blocks: Buffer[] | undefined;
  private version = -1;

  constructor(private readonly sender: LocalSender) {}

  forward(layer: number, packet: Buffer): void {
    const l = this.sender.layers[layer];
    if (!l || packet.length < 12 || (packet[0]! & 0xc0) !== 0x80) return;
    // ffmpeg's header: 12 bytes, CSRCs, maybe an extension block; the payload follows (no padding from ffmpeg).
    let start = 12 + (packet[0]! & 0x0f) * 4;
    if (packet[0]! & 0x10) {
      if (packet.length < start + 4) return;
      start += 4 + packet.readUInt16BE(start + 2) * 4;
    }
    if (start > packet.length) return;
    const block = this.blockFor(layer);
    const out = Buffer.allocUnsafe(12 + block.length + packet.length - start);
    out[0] = block.length > 0 ? 0x90 : 0x80;
    out[1] = (packet[1]! & 0x80) | (this.sender.payloadType & 0x7f);
    packet.copy(out, 2, 2, 8); // sequence number and timestamp
    out.writeUInt32BE(l.ssrc, 8);
    block.copy(out, 12);
    packet.copy(out, 12 + block.length, start);
    this.sender.sendRtp(out);
  }

  private blockFor(layer: number): Buffer {
    if (!this.blocks || this.version !== this.sender.negotiationVersion) {
      this.version = this.sender.negotiationVersion;
      this.blocks = this.sender.layers.map((l) => oneByteExtensions([
        [this.sender.extensionId(HeaderExtensionUri.sdesMid), Buffer.from(this.sender.mid, 'latin1')],
        [this.sender.extensionId(HeaderExtensionUri.rtpStreamId), Buffer.from(l.rid, 'latin1')],
        [this.sender.extensionId(HeaderExtensionUri.transportCc), Buffer.alloc(2)],
      ]));
    }
    return this.blocks[layer]!;
  }
}

/** An RFC 8285 one-byte-header extension block (0xBEDE profile, padded to 32 bits); ids of 0 are left out. */
function oneByteExtensions(elements: readonly (readonly [number, Buffer])[]): Buffer {
  const used = elements.filter(([id, v]) => id > 0 && id < 15 && v.length >= 1 && v.length <= 16);
  if (used.length === 0) return Buffer.alloc(0);
  const body = used.reduce((n, [, v]) => n + 1 + v.length, 0);
  const words = Math.ceil(body / 4);
  const out = Buffer.alloc(4 + words * 4);
  out.writeUInt16BE(0xbede, 0);
  out.writeUInt16BE(words, 2);
  let at = 4;
  for (const [id, v] of used) {
    out[at++] = (id << 4) | (v.length - 1);
    v.copy(out, at);
    at += v.length;
  }
  return out;
}
