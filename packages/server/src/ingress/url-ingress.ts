// URL_INPUT: ffmpeg pulls the ingress's URL in real time and encodes VP8 + Opus (ffmpeg-rtp-source.ts); a PeerConnection
// of our own stack in the client role publishes that RTP to this server as a WHIP sender would, so the media takes the
// ordinary path (WhipSession -> an INGRESS participant -> the SFU). The end of the input completes the ingress; ffmpeg
// failing ends it in ERROR with ffmpeg's words, never anything more.
import { defaultCapabilities, UdpMux } from '@atrium/webrtc';
import type { Logger } from '@atrium/webrtc';
import { PeerConnection } from '@atrium/webrtc/pc/peer-connection.js';
import type { LocalSender } from '@atrium/webrtc/pc/local-sender.js';
import { generateCertificate } from '@atrium/webrtc/dtls/certificate.js';
import type { DtlsCertificate } from '@atrium/webrtc/dtls/certificate.js';
import type { IngressInfo } from '@livekit/protocol';
import { FfmpegRtpSource } from './ffmpeg-rtp-source.js';
import type { WhipSession } from './whip-session.js';

const OPUS = defaultCapabilities.audio.find((c) => c.mimeType.toLowerCase() === 'audio/opus')!;
const VP8 = defaultCapabilities.video.find((c) => c.mimeType.toLowerCase() === 'video/vp8')!;

export interface UrlIngressOptions {
  ingress: IngressInfo;
  logger: Logger;
  /** Opens the ingress's stream with this offer (the WHIP path without HTTP) and returns the session and its answer. */
  open(offerSdp: string): Promise<{ session: WhipSession; answer: string }>;
  /** The stream could not start (before a session existed): the ingress ends in ERROR with this. */
  onStartFailed(error: string): void;
}

let certificate: Promise<DtlsCertificate> | undefined;

/** Starts one URL ingress run; everything it holds is released when its session ends. Never throws. */
export async function startUrlIngress(opts: UrlIngressOptions): Promise<void> {
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
    const audio = peer.addSender({ kind: 'audio', streamId: ingress.ingressId, trackId: 'audio', codec: OPUS });
    const video = peer.addSender({ kind: 'video', streamId: ingress.ingressId, trackId: 'video', codec: VP8 });
    const opened = await opts.open(peer.createOffer());
    session = opened.session;
    peer.handleAnswer(opened.answer);
    session.onEnded = release;
    const s = session;
    source = await FfmpegRtpSource.start({
      url: ingress.url,
      onRtp: (kind, packet) => {
        if (peer.connectionState === 'connected') forward(kind === 'audio' ? audio : video, packet);
      },
      onExit: (error) => {
        if (error === undefined) {
          logger.info('URL ingress: the input ended');
          s.stop('the input ended');
        } else {
          s.failWith(error);
        }
      },
    });
    if (s.isEnded) release();
  } catch (err) {
    const error = `the URL ingress could not start: ${(err as Error).message}`;
    logger.warn({ err }, error);
    release();
    if (session) session.failWith(error);
    else opts.onStartFailed(error);
  }
}

/** ffmpeg's RTP with the payload type and SSRC this sender negotiated (ffmpeg's packets carry no header extensions). */
function forward(sender: LocalSender, packet: Buffer): void {
  if (packet.length < 12 || (packet[0]! & 0xc0) !== 0x80) return;
  packet[1] = (packet[1]! & 0x80) | (sender.payloadType & 0x7f);
  packet.writeUInt32BE(sender.ssrc, 8);
  sender.sendRtp(packet);
}
