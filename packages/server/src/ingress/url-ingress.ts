// URL_INPUT: ffmpeg pulls the ingress's URL in real time and encodes VP8 + Opus, published through our own client
// PeerConnection as a WHIP sender would (ffmpeg-ingress.ts). The end of the input completes the ingress; ffmpeg
// failing ends it in ERROR with ffmpeg's words, never anything more.
import type { Logger } from '@atrium/webrtc';
import type { IngressInfo } from '@livekit/protocol';
import { startFfmpegIngress } from './ffmpeg-ingress.js';
import type { WhipSession } from './whip-session.js';

export interface UrlIngressOptions {
  ingress: IngressInfo;
  logger: Logger;
  /** Opens the ingress's stream with this offer (the WHIP path without HTTP) and returns the session and its answer. */
  open(offerSdp: string): Promise<{ session: WhipSession; answer: string }>;
  /** The stream could not start (before a session existed): the ingress ends in ERROR with this. */
  onStartFailed(error: string): void;
}

/** Starts one URL ingress run; everything it holds is released when its session ends. Never throws. */
export async function startUrlIngress(opts: UrlIngressOptions): Promise<void> {
  await startFfmpegIngress({
    ingress: opts.ingress,
    logger: opts.logger,
    source: { url: opts.ingress.url },
    open: (sdp) => opts.open(sdp),
    onStartFailed: opts.onStartFailed,
    onInputEnded: (session) => {
      opts.logger.info('URL ingress: the input ended');
      session.stop('the input ended');
    },
  });
}
