// RTMP_INPUT: an RTMP publisher (OBS, ffmpeg) connects to rtmp://host:<rtmp_port>/<app>/<stream key>; the key picks
// the ingress. Its H.264/AAC (whatever ffmpeg decodes) goes as FLV into ffmpeg's stdin, which encodes the ingress's
// preset (VP8 simulcast layers + Opus, encoding-presets.ts); our client PeerConnection publishes that as the ingress's
// INGRESS participant (ffmpeg-ingress.ts). One live publisher per key; a publisher leaving puts the ingress back to
// INACTIVE (RTMP ingresses are reusable: OBS reconnects with the same key and the same ingress publishes again); a
// malformed stream or a failing ffmpeg ends it in ERROR with the reason.
import { IngressInput, InputAudioState, InputVideoState } from '@livekit/protocol';
import type { IngressInfo } from '@livekit/protocol';
import type { Logger } from '@atrium/webrtc';
import { IngressError } from './ingress-error.js';
import type { IngressRegistry } from './ingress-registry.js';
import type { IngressSessions } from './ingress-sessions.js';
import { audioPlan, videoPlan } from './encoding-presets.js';
import { startFfmpegIngress } from './ffmpeg-ingress.js';
import type { FfmpegIngress } from './ffmpeg-ingress.js';
import { decodeAmf0 } from './rtmp/amf0.js';
import type { Amf0Object } from './rtmp/amf0.js';
import { audioFormat, FLV_TAG, flvHeader, flvTag, isVideoKeyFrame, videoCodecId } from './rtmp/flv.js';
import type { PublishDecision, RtmpConnectionHandler } from './rtmp/rtmp-connection.js';
import type { RtmpPeer } from './rtmp/rtmp-server.js';

/** Media held while ffmpeg starts (a second or so of a publisher's stream); past it, media is dropped until a key frame. */
const PRESTART_MAX_BYTES = 4 << 20;
/** ffmpeg's stdin may hold this much before the publisher is paused (TCP then pushes back on it). */
const STDIN_HIGH_WATER_BYTES = 2 << 20;
/**
 * A publisher whose stream sent nothing for this long gives way to a new publisher on the same key: OBS reconnecting
 * after a network drop finds its old, half-open connection still here (until the 30 s idle timeout) otherwise.
 */
const STALE_PUBLISHER_MS = 5_000;
/** The input's measured bitrates in IngressInfo.state are refreshed this often. */
const INPUT_STATS_MS = 2_000;

const FLV_VIDEO_CODECS: Readonly<Record<number, string>> = { 2: 'video/x-flv-h263', 4: 'video/x-vp6', 7: 'video/h264', 12: 'video/h265' };
const FLV_AUDIO_FORMATS: Readonly<Record<number, string>> = { 2: 'audio/mpeg', 10: 'audio/aac', 11: 'audio/speex' };

export interface RtmpIngressOptions {
  ingresses: IngressRegistry;
  sessions: Pick<IngressSessions, 'open'>;
  logger: Logger;
}

export class RtmpIngress {
  private readonly opts: RtmpIngressOptions;
  /** Live publishers by ingress id (from an accepted publish until their stream is gone). */
  private readonly live = new Map<string, RtmpStream>();

  constructor(opts: RtmpIngressOptions) {
    this.opts = opts;
  }

  get liveCount(): number {
    return this.live.size;
  }

  /** The handler of one RTMP connection (rtmp-server.ts). */
  handlerFor(peer: RtmpPeer): RtmpConnectionHandler & { onClosed(reason: string): void } {
    let stream: RtmpStream | undefined;
    return {
      onPublish: (req) => {
        const decision = this.decide(req.streamKey, peer);
        if (decision.ok) stream = decision.stream;
        return decision.ok ? { ok: true } : decision;
      },
      onMedia: (kind, timestamp, payload) => stream?.onMedia(kind, timestamp, payload),
      onUnpublish: (error) => (error !== undefined ? stream?.broke(error) : stream?.publisherLeft('the publisher stopped publishing')),
      onClosed: (reason) => stream?.publisherLeft(reason),
    };
  }

  private decide(streamKey: string, peer: RtmpPeer): ({ ok: true; stream: RtmpStream }) | Exclude<PublishDecision, { ok: true }> {
    const { ingresses, logger } = this.opts;
    const refuse = (description: string, fields: object = {}): Exclude<PublishDecision, { ok: true }> => {
      logger.warn({ remote: peer.remote, ...fields, reason: description }, 'RTMP publish refused');
      return { ok: false, code: 'NetStream.Publish.BadName', description };
    };
    const info = ingresses.byStreamKey(streamKey);
    if (!info || info.inputType !== IngressInput.RTMP_INPUT) return refuse('no RTMP ingress has this stream key', { streamKey: `${streamKey.slice(0, 3)}…` });
    const fields = { ingressId: info.ingressId };
    const current = this.live.get(info.ingressId);
    if (current && current.silentForMs() >= STALE_PUBLISHER_MS) {
      logger.info({ ...fields, remote: peer.remote }, 'RTMP: a new publisher replaces a silent one');
      current.publisherLeft(`replaced by a new publisher after ${Math.round(current.silentForMs() / 1000)} s of silence`);
    }
    if (this.live.has(info.ingressId)) return refuse('the ingress already has a live publisher', fields);
    let plan;
    try {
      ingresses.checkStartable(info.ingressId);
      plan = { video: videoPlan(info.video), audio: audioPlan(info.audio) };
    } catch (err) {
      if (err instanceof IngressError) return refuse(err.message, fields);
      throw err;
    }
    const stream = new RtmpStream({
      info, peer, plan, ingresses, sessions: this.opts.sessions,
      logger: logger.child({ ingressId: info.ingressId, room: info.roomName, remote: peer.remote }),
      onGone: () => {
        if (this.live.get(info.ingressId) === stream) this.live.delete(info.ingressId);
      },
    });
    this.live.set(info.ingressId, stream);
    logger.info({ ...fields, remote: peer.remote }, 'RTMP publisher accepted');
    stream.start();
    return { ok: true, stream };
  }

  /** Ends every publisher (the node closes). */
  close(): void {
    for (const s of [...this.live.values()]) s.publisherLeft('the server is shutting down');
  }
}

interface RtmpStreamOptions {
  info: IngressInfo;
  peer: RtmpPeer;
  plan: { video: ReturnType<typeof videoPlan>; audio: ReturnType<typeof audioPlan> };
  ingresses: IngressRegistry;
  sessions: Pick<IngressSessions, 'open'>;
  logger: Logger;
  onGone(): void;
}

/** One publish: FLV to ffmpeg (held while ffmpeg starts, bounded), the session, the input's state. */
class RtmpStream {
  private readonly opts: RtmpStreamOptions;
  private ingress: FfmpegIngress | undefined;
  /** The publisher is gone (or the stream ended on our side). */
  private ended = false;
  private gone = false;
  /** The RTMP stream broke before the session existed: the session is failed with this once it does. */
  private brokenWith: string | undefined;
  /** Tags waiting for ffmpeg's stdin. */
  private held: Buffer[] = [];
  private heldBytes = 0;
  /** Media was dropped: video waits for a key frame so the decoder restarts cleanly. */
  private waitForKey = false;
  private paused = false;
  private baseTs: number | undefined;
  /** The latest metadata and decoder configurations (AVC/AAC sequence headers), given to ffmpeg first. */
  private metadata: Buffer | undefined;
  private videoConfig: Buffer | undefined;
  private audioConfig: Buffer | undefined;
  private readonly input = { video: new InputVideoState(), audio: new InputAudioState() };
  private readonly bytes = { video: 0, audio: 0, sinceMs: Date.now() };
  private statsTimer: NodeJS.Timeout | undefined;
  private lastMediaMs = Date.now();

  constructor(opts: RtmpStreamOptions) {
    this.opts = opts;
  }

  /** How long the publisher has sent no audio or video. */
  silentForMs(): number {
    return Date.now() - this.lastMediaMs;
  }

  start(): void {
    const { info, plan, logger } = this.opts;
    void startFfmpegIngress({
      ingress: info,
      logger,
      source: {
        flvStdin: true,
        videoLayers: plan.video.layers,
        frameRate: plan.video.frameRate,
        audioKbps: plan.audio.kbps,
        audioChannels: plan.audio.channels,
      },
      open: (sdp, o) => this.opts.sessions.open(info, sdp, o),
      onStartFailed: (error) => {
        this.opts.ingresses.startFailed(info.ingressId, error);
        this.finish(error);
      },
      // ffmpeg read the end of the FLV: the publisher's stream ended.
      onInputEnded: (session) => session.stop('the RTMP stream ended'),
    }).then((started) => {
      if (!started) return this.finish('the stream could not start');
      this.ingress = started;
      const { session } = started;
      const release = session.onEnded;
      session.onEnded = () => {
        release?.();
        this.finish(session.failureReason ?? 'the stream ended');
      };
      if (this.ended) {
        if (this.brokenWith !== undefined) session.failWith(`the RTMP stream failed: ${this.brokenWith}`);
        else session.stop('the publisher left while the stream started');
        return;
      }
      this.flushHeld();
      this.statsTimer = setInterval(() => this.reportInput(), INPUT_STATS_MS);
      this.statsTimer.unref();
    });
  }

  onMedia(kind: 'audio' | 'video' | 'metadata', timestamp: number, payload: Buffer): void {
    if (this.ended) return;
    if (kind === 'metadata') {
      this.metadata = payload;
      this.readMetadata(payload);
      return this.write(FLV_TAG.script, 0, payload, true);
    }
    this.lastMediaMs = Date.now();
    this.baseTs ??= timestamp;
    const ts = (timestamp - this.baseTs) >>> 0;
    if (kind === 'video') {
      this.bytes.video += payload.length;
      const codec = videoCodecId(payload);
      if (!this.input.video.mimeType) this.input.video.mimeType = FLV_VIDEO_CODECS[codec] ?? `video/x-flv-codec-${codec}`;
      // An AVC sequence header (AVCPacketType 0): the decoder's configuration, kept for a restart of ffmpeg's input.
      if (codec === 7 && payload[1] === 0) {
        this.videoConfig = payload;
        return this.write(FLV_TAG.video, ts, payload, true);
      }
      if (this.waitForKey) {
        if (!isVideoKeyFrame(payload)) return;
        this.waitForKey = false;
      }
      return this.write(FLV_TAG.video, ts, payload, false);
    }
    this.bytes.audio += payload.length;
    const format = audioFormat(payload);
    if (!this.input.audio.mimeType) {
      this.input.audio.mimeType = FLV_AUDIO_FORMATS[format] ?? `audio/x-flv-format-${format}`;
      this.input.audio.channels ||= (payload[0]! & 1) + 1;
    }
    if (format === 10 && payload[1] === 0) {
      this.audioConfig = payload;
      return this.write(FLV_TAG.audio, ts, payload, true);
    }
    if (!this.waitForKey) this.write(FLV_TAG.audio, ts, payload, false);
  }

  /** The RTMP stream broke (malformed, timed out): the ingress ends in ERROR with why. */
  broke(error: string): void {
    if (this.ended) return;
    const session = this.ingress?.session;
    if (session && !session.isEnded) {
      this.ended = true;
      session.failWith(`the RTMP stream failed: ${error}`);
      return;
    }
    this.brokenWith = error;
    this.publisherLeft(error);
  }

  /** The publisher unpublished or disconnected: the stream ends normally (the ingress goes back to INACTIVE). */
  publisherLeft(reason: string): void {
    if (this.ended) return;
    this.ended = true;
    this.opts.logger.info({ reason }, 'RTMP publisher left');
    this.held = [];
    this.heldBytes = 0;
    const session = this.ingress?.session;
    if (session && !session.isEnded) session.stop(reason);
    else if (this.ingress) this.finish(reason);
    // Still starting: the start's continuation stops the session it gets.
  }

  private write(type: number, ts: number, payload: Buffer, isConfig: boolean): void {
    const stdin = this.ingress?.source.input;
    const tag = Buffer.concat(flvTag(type, ts, payload));
    if (!stdin) {
      // Configurations are given to ffmpeg first when it starts (flushHeld); media waits, bounded.
      if (isConfig) return;
      if (this.heldBytes + tag.length > PRESTART_MAX_BYTES) {
        this.opts.logger.warn({ heldBytes: this.heldBytes }, 'RTMP: ffmpeg is not ready; dropping media until the next key frame');
        this.held = [];
        this.heldBytes = 0;
        this.waitForKey = true;
        return;
      }
      this.held.push(tag);
      this.heldBytes += tag.length;
      return;
    }
    stdin.write(tag);
    this.backPressure();
  }

  private flushHeld(): void {
    const stdin = this.ingress?.source.input;
    if (!stdin) return;
    const configs = [this.metadata && flvTag(FLV_TAG.script, 0, this.metadata), this.videoConfig && flvTag(FLV_TAG.video, 0, this.videoConfig), this.audioConfig && flvTag(FLV_TAG.audio, 0, this.audioConfig)];
    stdin.write(Buffer.concat([flvHeader(), ...configs.flatMap((c) => c ?? []), ...this.held]));
    this.held = [];
    this.heldBytes = 0;
    this.backPressure();
  }

  /** ffmpeg is behind: stop reading the publisher until its stdin drains. */
  private backPressure(): void {
    const stdin = this.ingress?.source.input;
    if (!stdin || this.paused || stdin.writableLength < STDIN_HIGH_WATER_BYTES) return;
    this.paused = true;
    this.opts.peer.pause();
    stdin.once('drain', () => {
      this.paused = false;
      this.opts.peer.resume();
    });
  }

  private readMetadata(payload: Buffer): void {
    let meta: Amf0Object | undefined;
    try {
      const v = decodeAmf0(payload)[1];
      if (v && typeof v === 'object' && !Array.isArray(v) && !(v instanceof Date)) meta = v;
    } catch {
      return;
    }
    if (!meta) return;
    const num = (k: string): number => (typeof meta[k] === 'number' && Number.isFinite(meta[k]) ? meta[k] : 0);
    const { video, audio } = this.input;
    video.width = Math.max(0, Math.round(num('width')));
    video.height = Math.max(0, Math.round(num('height')));
    video.framerate = num('framerate') || num('fps');
    if (num('videocodecid') > 0) video.mimeType = FLV_VIDEO_CODECS[num('videocodecid')] ?? video.mimeType;
    if (num('audiocodecid') > 0) audio.mimeType = FLV_AUDIO_FORMATS[num('audiocodecid')] ?? audio.mimeType;
    audio.sampleRate = Math.round(num('audiosamplerate'));
    audio.channels = num('audiochannels') || (meta['stereo'] === true ? 2 : meta['stereo'] === false ? 1 : audio.channels);
    this.reportInput();
  }

  /** IngressInfo.state.video / .audio: the input as announced, with bitrates measured since the last report. */
  private reportInput(): void {
    const now = Date.now();
    const seconds = (now - this.bytes.sinceMs) / 1000;
    if (seconds >= 1) {
      this.input.video.averageBitrate = Math.round((this.bytes.video * 8) / seconds);
      this.input.audio.averageBitrate = Math.round((this.bytes.audio * 8) / seconds);
      this.bytes.video = 0;
      this.bytes.audio = 0;
      this.bytes.sinceMs = now;
    }
    this.opts.ingresses.streamInput(this.opts.info.ingressId, this.input.video, this.input.audio);
  }

  /** The stream is over (ended on either side): the publisher's connection goes, the ingress id is free again. */
  private finish(reason: string): void {
    this.ended = true;
    if (this.statsTimer) clearInterval(this.statsTimer);
    if (this.gone) return;
    this.gone = true;
    this.held = [];
    this.opts.peer.close(reason);
    this.opts.onGone();
  }
}
