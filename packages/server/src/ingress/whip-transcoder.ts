// WHIP with transcoding (enable_transcoding, or encoding presets/options on a WHIP ingress, as LiveKit): the WHIP
// sender's stream is a hidden participant of the room (WhipSession with `hiddenIdentity`); a hidden recorder of ours
// (EgressParticipant, as egress subscribes) takes its first video track (the top simulcast layer the SFU sends it)
// and its Opus, and hands the RTP to one ffmpeg over loopback UDP (an SDP input, as egress feeds ffmpeg), which decodes
// and encodes the ingress's preset (VP8 simulcast layers + Opus) exactly as the RTMP transcoder does; that output is
// published as the ingress's participant through the same path as RTMP and URL ingress (ffmpeg-ingress.ts).
// Anything failing (ffmpeg dying, the recorder losing its seat) ends the stream in ERROR with the reason.
import { TrackType } from '@livekit/protocol';
import type { IngressInfo, TrackInfo } from '@livekit/protocol';
import type { Logger } from '@atrium/webrtc';
import type { RemoteStream } from '@atrium/webrtc/pc/remote-stream.js';
import { EgressParticipant } from '../egress/egress-participant.js';
import { RtpRelay } from '../egress/rtp-relay.js';
import { rtpFormatForMime } from '../egress/track-container.js';
import type { RtpFormat } from '../egress/track-container.js';
import { throttled } from '../egress/recorder-lifecycle.js';
import { audioPlan, videoPlan } from './encoding-presets.js';
import { startFfmpegIngress } from './ffmpeg-ingress.js';
import type { FfmpegIngress } from './ffmpeg-ingress.js';
import type { WhipSession } from './whip-session.js';
import type { LayerSize } from './whip-offer.js';

const KEY_FRAME_REQUEST_INTERVAL_MS = 500;

/** Where the transcoder's recorder joins: this server's own /rtc, with one of its API keys. */
export interface TranscoderSignal {
  url: string;
  apiKey: string;
  apiSecret: string;
}

export interface WhipTranscoderOptions {
  ingress: IngressInfo;
  /** The WHIP sender's (hidden) session, answered. */
  source: WhipSession;
  signal: TranscoderSignal;
  logger: Logger;
  /** Opens the output stream (the ingress's visible participant) with this offer. */
  open(offerSdp: string, opts: { videoLayers?: readonly LayerSize[] }): Promise<{ session: WhipSession; answer: string }>;
}

interface InputTrack {
  sid: string;
  kind: 'audio' | 'video';
  format: RtpFormat;
}

/** The tracks ffmpeg takes: the first video and the first audio track, in that order; an error when one cannot be. */
export function transcoderInputs(tracks: readonly TrackInfo[]): InputTrack[] | string {
  const out: InputTrack[] = [];
  for (const kind of ['video', 'audio'] as const) {
    const t = tracks.find((x) => x.type === (kind === 'video' ? TrackType.VIDEO : TrackType.AUDIO));
    if (!t) continue;
    const mime = t.mimeType || t.codecs[0]?.mimeType || '';
    const format = rtpFormatForMime(mime);
    if (!format) return `WHIP transcoding takes VP8 or H.264 video and Opus audio (the sender sent ${mime || `an unknown ${kind} codec`})`;
    out.push({ sid: t.sid, kind, format });
  }
  return out.length > 0 ? out : 'the WHIP sender published no audio or video track';
}

export class WhipTranscoder {
  private readonly opts: WhipTranscoderOptions;
  private output: FfmpegIngress | undefined;
  private recorder: EgressParticipant | undefined;
  private readonly relays: RtpRelay[] = [];
  private stopped = false;

  constructor(opts: WhipTranscoderOptions) {
    this.opts = opts;
  }

  /** The sender's tracks are published: start ffmpeg, the output stream and the recorder. Never throws. */
  async start(tracks: readonly TrackInfo[]): Promise<void> {
    try {
      await this.run(tracks);
    } catch (err) {
      this.opts.source.failWith(`the WHIP transcoder could not start: ${(err as Error).message}`);
      this.stop();
    }
  }

  private async run(tracks: readonly TrackInfo[]): Promise<void> {
    const { ingress, source, logger } = this.opts;
    const inputs = transcoderInputs(tracks);
    if (typeof inputs === 'string') return source.failWith(inputs);
    const video = videoPlan(ingress.video);
    const audio = audioPlan(ingress.audio);
    const hasVideo = inputs.some((t) => t.kind === 'video');
    const hasAudio = inputs.some((t) => t.kind === 'audio');
    this.output = await startFfmpegIngress({
      ingress,
      logger,
      source: {
        rtpInput: inputs.map((t) => t.format),
        video: hasVideo,
        audio: hasAudio,
        videoLayers: video.layers,
        frameRate: video.frameRate,
        audioKbps: audio.kbps,
        audioChannels: audio.channels,
      },
      open: (sdp, o) => this.opts.open(sdp, o),
      onStartFailed: (error) => source.failWith(error),
    });
    const output = this.output;
    if (!output || this.stopped) return this.stop();
    logger.info({ layers: video.layers.map((l) => `${l.width}x${l.height}@${l.kbps}k`), pid: output.source.pid }, 'WHIP transcoder started');
    try {
      const recorder = await EgressParticipant.join({
        ...this.opts.signal,
        roomName: ingress.roomName,
        identity: `${ingress.ingressId}-transcoder`,
        trackSids: inputs.map((t) => t.sid),
        logger,
        onStream: (stream, trackSid) => this.relayFor(stream, inputs, trackSid),
        onLost: (why) => source.failWith(`the WHIP transcoder lost the sender's media: ${why}`),
      });
      this.recorder = recorder;
      if (this.stopped) this.stop();
    } catch (err) {
      source.failWith(`the WHIP transcoder could not subscribe to the sender: ${(err as Error).message}`);
    }
  }

  /** The sink of one subscribed stream: its relay to ffmpeg's input port for that track. */
  private relayFor(stream: RemoteStream, inputs: readonly InputTrack[], trackSid: string): RemoteStream['onRtp'] {
    const index = inputs.findIndex((t) => t.sid === trackSid);
    const input = inputs[index];
    const port = this.output?.source.inputPorts[index];
    if (!input || port === undefined || this.stopped) return () => {};
    const { kind } = input;
    const relay = new RtpRelay({ mimeType: stream.primaryCodec?.mimeType ?? `${kind}/${input.format.encodingName}`, clockRate: stream.clockRate, port });
    this.relays.push(relay);
    relay.onNeedKeyFrame = throttled(() => this.recorder?.requestKeyFrame(stream), KEY_FRAME_REQUEST_INTERVAL_MS);
    stream.onRtcp = (pkt) => {
      if (pkt.type === 'sr') relay.forwardSenderReport(pkt);
    };
    if (kind === 'video') relay.onNeedKeyFrame();
    return (buf, h) => relay.handle(buf, h);
  }

  /** Ends everything it holds (the sender's stream ended): relays, the recorder, ffmpeg and the output stream. Idempotent. */
  stop(): void {
    this.stopped = true;
    for (const r of this.relays.splice(0)) r.close();
    const recorder = this.recorder;
    this.recorder = undefined;
    void recorder?.leave().catch(() => {});
    if (this.output && !this.output.session.isEnded) this.output.session.stop('the WHIP sender ended its stream');
  }
}
