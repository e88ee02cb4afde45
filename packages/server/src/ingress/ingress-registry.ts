// The ingresses of this node: their IngressInfo records (by id and by stream key), the live stream of each, the limit
// on live streams, and the ingress_started / ingress_ended reports. The Twirp service and the WHIP routes both work
// through it; the records live in memory (a restart forgets them, as Atrium has no store yet).
import { IngressInfo, IngressInput } from '@livekit/protocol';
import type { CreateIngressRequest, IngressState, InputAudioState, InputVideoState, TrackInfo, UpdateIngressRequest } from '@livekit/protocol';
import { newIngressId, randomBase62 } from '@atrium/protocol';
import type { Clock, Logger } from '@atrium/webrtc';
import { IngressError } from './ingress-error.js';
import { checkCreateRequest, checkUpdateRequest } from './ingress-request.js';
import { endStream, failIdle, inactiveState, isActiveStatus, IngressStateError, setInput, setPublishing, startStream } from './ingress-state.js';

/** A live stream of an ingress (a WHIP session): ended by DeleteIngress or when the node closes. */
export interface IngressStream {
  /** Ends the stream (its participant leaves); the stream reports the end through `IngressRegistry.streamEnded`. */
  stop(reason: string): void;
}

export interface IngressEvents {
  started(info: IngressInfo): void;
  ended(info: IngressInfo): void;
}

export interface IngressRegistryOptions {
  clock: Clock;
  logger: Logger;
  /** Where WHIP senders post: IngressInfo.url of WHIP ingresses (e.g. http://host:7880/w); read at each create. */
  whipBaseUrl: () => string;
  /** IngressInfo.url of RTMP ingresses (e.g. rtmp://host:1935/x); undefined when RTMP is off (RTMP_INPUT refused). */
  rtmpBaseUrl?: () => string | undefined;
  /** Live streams allowed at once on this node (0 = no limit). */
  maxActive: number;
  events?: IngressEvents;
  /** A URL_INPUT ingress was created enabled: its stream starts now (LiveKit pulls URL inputs at once). */
  startUrlInput?: (info: IngressInfo) => void;
}

/** Stream keys are secrets that authorise publishing: 12 base62 characters (about 71 bits), as LiveKit's. */
const STREAM_KEY_LENGTH = 12;

export class IngressRegistry {
  private readonly opts: IngressRegistryOptions;
  private readonly byId = new Map<string, IngressInfo>();
  private readonly idByKey = new Map<string, string>();
  private readonly streams = new Map<string, IngressStream>();

  constructor(opts: IngressRegistryOptions) {
    this.opts = opts;
  }

  get activeCount(): number {
    return this.streams.size;
  }

  create(req: CreateIngressRequest): IngressInfo {
    checkCreateRequest(req);
    const rtmpUrl = req.inputType === IngressInput.RTMP_INPUT ? this.opts.rtmpBaseUrl?.() : undefined;
    if (req.inputType === IngressInput.RTMP_INPUT && rtmpUrl === undefined) {
      throw new IngressError('failed_precondition', 'RTMP ingress is off on this server (set ingress.rtmp_port, docs/ingress.md)');
    }
    const ingressId = newIngressId();
    const streamKey = randomBase62(STREAM_KEY_LENGTH);
    const info = new IngressInfo({
      ingressId,
      name: req.name,
      streamKey,
      url: req.inputType === IngressInput.WHIP_INPUT ? this.opts.whipBaseUrl() : (rtmpUrl ?? req.url),
      inputType: req.inputType,
      bypassTranscoding: req.bypassTranscoding,
      ...(req.enableTranscoding !== undefined ? { enableTranscoding: req.enableTranscoding } : {}),
      ...(req.audio ? { audio: req.audio.clone() } : {}),
      ...(req.video ? { video: req.video.clone() } : {}),
      roomName: req.roomName,
      participantIdentity: req.participantIdentity,
      participantName: req.participantName,
      participantMetadata: req.participantMetadata,
      // WHIP (and RTMP) ingresses take stream after stream with the same key; URL ingresses run once.
      reusable: req.inputType !== IngressInput.URL_INPUT,
      state: inactiveState(this.opts.clock.wallMs()),
      enabled: req.enabled ?? true,
    });
    this.byId.set(ingressId, info);
    this.idByKey.set(streamKey, ingressId);
    this.opts.logger.info({ ingressId, room: info.roomName, participant: info.participantIdentity, inputType: IngressInput[info.inputType] }, 'ingress created');
    const created = info.clone();
    if (info.inputType === IngressInput.URL_INPUT && info.enabled !== false) this.opts.startUrlInput?.(info.clone());
    return created;
  }

  /** As LiveKit: refused while a stream is live; an ingress in ERROR goes back to INACTIVE. */
  update(req: UpdateIngressRequest): IngressInfo {
    if (req.ingressId === '') throw new IngressError('invalid_argument', 'ingress id is required');
    const info = this.get(req.ingressId);
    checkUpdateRequest(req, info.inputType, info);
    const state = info.state!;
    if (isActiveStatus(state.status)) throw new IngressError('failed_precondition', 'the ingress has a live stream; end it before updating');
    if (req.name !== '') info.name = req.name;
    if (req.roomName !== '') info.roomName = req.roomName;
    if (req.participantIdentity !== '') info.participantIdentity = req.participantIdentity;
    if (req.participantName !== '') info.participantName = req.participantName;
    if (req.participantMetadata !== '') info.participantMetadata = req.participantMetadata;
    if (req.bypassTranscoding !== undefined) info.bypassTranscoding = req.bypassTranscoding;
    if (req.enableTranscoding !== undefined) info.enableTranscoding = req.enableTranscoding;
    if (req.audio) info.audio = req.audio.clone();
    if (req.video) info.video = req.video.clone();
    if (req.enabled !== undefined) info.enabled = req.enabled;
    if (state.status === 3 /* ENDPOINT_ERROR */) info.state = inactiveState(this.opts.clock.wallMs());
    return info.clone();
  }

  /** Every ingress, or those of one room, or the one with `ingressId` (none when unknown). */
  list(filter: { roomName?: string; ingressId?: string } = {}): IngressInfo[] {
    const out: IngressInfo[] = [];
    for (const info of this.byId.values()) {
      if (filter.roomName && info.roomName !== filter.roomName) continue;
      if (filter.ingressId && info.ingressId !== filter.ingressId) continue;
      out.push(info.clone());
    }
    return out;
  }

  /** Removes the ingress; a live stream is stopped first (its participant leaves, ingress_ended is sent). */
  delete(ingressId: string): IngressInfo {
    if (ingressId === '') throw new IngressError('invalid_argument', 'ingress id is required');
    const info = this.get(ingressId);
    this.streams.get(ingressId)?.stop('the ingress was deleted');
    // A stream that did not report its end synchronously is ended here, so the record never leaves live.
    this.streamEnded(ingressId);
    this.byId.delete(ingressId);
    this.idByKey.delete(info.streamKey);
    this.opts.logger.info({ ingressId }, 'ingress deleted');
    return info.clone();
  }

  /** The ingress a stream key opens, for a sender about to start a stream. */
  byStreamKey(streamKey: string): IngressInfo | undefined {
    const id = this.idByKey.get(streamKey);
    const info = id !== undefined ? this.byId.get(id) : undefined;
    return info?.clone();
  }

  /**
   * A sender starts a stream on `ingressId`: checks that it may (enabled, not live already, under the node's limit),
   * moves it to BUFFERING and sends ingress_started. The caller registers the stream with `attachStream`.
   */
  startStream(ingressId: string, opts: { resourceId: string; roomId: string }): IngressInfo {
    const info = this.checkStartable(ingressId);
    try {
      startStream(info.state!, { nowMs: this.opts.clock.wallMs(), ...opts });
    } catch (err) {
      if (err instanceof IngressStateError) throw new IngressError('already_exists', err.message);
      throw err;
    }
    this.report('started', info);
    return info.clone();
  }

  /**
   * Why a stream of `ingressId` cannot start now, thrown (disabled, already live, the node's limit), before anything is
   * set up for it (its room is not created for a stream that would be refused).
   */
  checkStartable(ingressId: string): IngressInfo {
    const info = this.get(ingressId);
    if (info.enabled === false) throw new IngressError('permission_denied', 'the ingress is disabled');
    if (isActiveStatus(info.state!.status)) throw new IngressError('already_exists', 'the ingress already has a live stream');
    const max = this.opts.maxActive;
    if (max > 0 && this.streams.size >= max) {
      throw new IngressError('resource_exhausted', `this node already runs ${this.streams.size} ingress streams (ingress.max_active_streams: ${max})`);
    }
    return info;
  }

  attachStream(ingressId: string, stream: IngressStream): void {
    this.streams.set(ingressId, stream);
  }

  /** The live stream's tracks are published: PUBLISHING with these tracks. */
  streamPublishing(ingressId: string, tracks: readonly TrackInfo[]): void {
    const info = this.byId.get(ingressId);
    if (info?.state) setPublishing(info.state, tracks, this.opts.clock.wallMs());
  }

  /** The live stream ended: COMPLETE, or ERROR with `error`; sends ingress_ended once. */
  streamEnded(ingressId: string, error?: string): void {
    this.streams.delete(ingressId);
    const info = this.byId.get(ingressId);
    if (!info?.state) return;
    // An RTMP ingress whose publisher left waits for the next one (INACTIVE), as LiveKit's.
    const inactive = info.inputType === IngressInput.RTMP_INPUT;
    const t = endStream(info.state, { nowMs: this.opts.clock.wallMs(), inactive, ...(error !== undefined ? { error } : {}) });
    if (t === 'ended') this.report('ended', info);
  }

  /** What the live stream's input carries (codecs, size, frame rate, bitrates), as a transcoding ingress reads it. */
  streamInput(ingressId: string, video?: InputVideoState, audio?: InputAudioState): void {
    const info = this.byId.get(ingressId);
    if (info?.state) setInput(info.state, { ...(video ? { video } : {}), ...(audio ? { audio } : {}) }, this.opts.clock.wallMs());
  }

  /** A stream that could not begin: the ingress shows ERROR with `error` (no webhook: nothing started). */
  startFailed(ingressId: string, error: string): void {
    const info = this.byId.get(ingressId);
    if (info?.state) failIdle(info.state, { nowMs: this.opts.clock.wallMs(), error });
  }

  state(ingressId: string): IngressState | undefined {
    return this.byId.get(ingressId)?.state?.clone();
  }

  /** Stops every live stream (the node closes). */
  close(): void {
    for (const [id, stream] of [...this.streams]) {
      stream.stop('the server is shutting down');
      this.streamEnded(id);
    }
  }

  private get(ingressId: string): IngressInfo {
    const info = this.byId.get(ingressId);
    if (!info) throw new IngressError('not_found', 'ingress does not exist');
    return info;
  }

  private report(what: 'started' | 'ended', info: IngressInfo): void {
    const { ingressId } = info;
    const status = info.state?.status;
    this.opts.logger.info({ ingressId, status, error: info.state?.error || undefined }, what === 'started' ? 'ingress stream started' : 'ingress stream ended');
    try {
      this.opts.events?.[what](info.clone());
    } catch (err) {
      this.opts.logger.error({ err, ingressId }, 'ingress event handler threw');
    }
  }
}
