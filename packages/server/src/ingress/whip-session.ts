// One WHIP stream (RFC 9725): the ingress's participant in its room, whose "signal connection" is the WHIP resource
// instead of a WebSocket. It is an ordinary Participant on the ordinary media path (ParticipantMedia from the server's
// media factory, publications, the room's subscriptions): it announces the offer's tracks as AddTrackRequests, hands
// the offer to the publisher PC and returns the answer in the HTTP response; DELETE on the resource makes it leave.
import { DisconnectReason, SessionDescription, TrackType } from '@livekit/protocol';
import type { IngressInfo, SignalResponse } from '@livekit/protocol';
import { newParticipantSid, resolveVideoGrant } from '@atrium/protocol';
import type { Clock, Logger, TimerHandle } from '@atrium/webrtc';
import { Participant } from '../rtc/participant.js';
import type { ParticipantHost, SignalSink } from '../rtc/participant-host.js';
import type { MediaFactory, ParticipantMedia } from '../rtc/participant-media.js';
import type { Room } from '../rtc/room.js';
import type { PublishCodecs } from '../rtc/publish-codecs.js';
import { parseSdp } from '@atrium/webrtc/sdp/parse-sdp.js';
import { addTrackRequestFor } from './whip-offer.js';
import { IngressError } from './ingress-error.js';
import type { LayerSize, WhipOffer } from './whip-offer.js';
import type { IngressStream } from './ingress-registry.js';

/** A sender that does not connect its media within this long after its offer was answered ends the stream in error. */
export const WHIP_CONNECT_TIMEOUT_MS = 20_000;

/** The participant protocol version the ingress participant reports (what livekit-client 2.x speaks). */
const INGRESS_PROTOCOL = 15;

export interface WhipSessionOptions {
  ingress: IngressInfo;
  resourceId: string;
  room: Room;
  offer: WhipOffer;
  mediaFactory: MediaFactory;
  clock: Clock;
  logger: Logger;
  publishCodecs?: PublishCodecs;
  /** The video layers' sizes when the sender is a transcoder of ours (RTMP), lowest first. */
  videoLayers?: readonly LayerSize[];
  /**
   * The WHIP sender's side of a transcoded ingress (whip-transcoder.ts): a hidden participant with this identity,
   * whose tracks only the transcoder subscribes to; the ingress's participant is the transcoder's output.
   */
  hiddenIdentity?: string;
  /** Every track the offer sends is published (PUBLISHING), with their TrackInfos. */
  onPublishing(tracks: ReturnType<Participant['snapshot']>['tracks']): void;
  /** The stream ended: `error` when it failed, undefined when it ended normally. Called once. */
  onEnded(error: string | undefined): void;
}

/** The WebSocket's place in a Participant: keeps the answer to the offer; everything else has no one to go to. */
class WhipSignalSink implements SignalSink {
  answer: string | undefined;
  send(msg: SignalResponse): void {
    if (msg.message.case === 'answer') this.answer = msg.message.value.sdp;
  }
  close(): void {}
}

export class WhipSession implements IngressStream {
  readonly resourceId: string;
  readonly ingressId: string;
  readonly streamKey: string;
  readonly participant: Participant;
  private readonly opts: WhipSessionOptions;
  private readonly media: ParticipantMedia;
  private readonly sink = new WhipSignalSink();
  private connectTimer: TimerHandle | undefined;
  /** Why the stream ends in error, set before the participant is closed for a failure. */
  private failure: string | undefined;
  private ended = false;
  private hasPublished = false;
  /** Called once the stream ended, after `onEnded` of the options (what a URL ingress releases). */
  onEnded: (() => void) | undefined;
  /** Media m-lines the answer accepted: the tracks to wait for before PUBLISHING. */
  private expectedTracks = Number.POSITIVE_INFINITY;

  constructor(opts: WhipSessionOptions) {
    this.opts = opts;
    const { ingress, room } = opts;
    this.resourceId = opts.resourceId;
    this.ingressId = ingress.ingressId;
    this.streamKey = ingress.streamKey;
    const sid = newParticipantSid();
    const identity = opts.hiddenIdentity ?? ingress.participantIdentity;
    const logger = opts.logger.child({ room: room.name, participant: identity, pID: sid, roomID: room.sid, ingressId: ingress.ingressId });
    this.media = opts.mediaFactory.createParticipantMedia({
      participantSid: sid, identity, logger, roomName: room.name,
      logBindings: { room: room.name, participant: identity, pID: sid, roomID: room.sid, ingressId: ingress.ingressId },
    });
    const grant = resolveVideoGrant(this.videoGrant(room.name));
    this.participant = this.createParticipant(sid, grant, logger);
    this.participant.attachSink(this.sink);
    this.media.on('connectionState', ({ state }) => {
      if (state === 'connected' && this.connectTimer !== undefined) {
        this.opts.clock.clearTimeout(this.connectTimer);
        this.connectTimer = undefined;
      }
      if (state === 'failed') this.fail('the WebRTC connection to the sender failed');
    });
  }

  private videoGrant(room: string): Parameters<typeof resolveVideoGrant>[0] {
    return { roomJoin: true, room, canPublish: true, canSubscribe: false, canPublishData: false, ...(this.opts.hiddenIdentity !== undefined ? { hidden: true } : {}) };
  }

  /** The participant over this session's media; the media is closed if that fails (nothing is left behind). */
  private createParticipant(sid: string, grant: ReturnType<typeof resolveVideoGrant>, logger: Logger): Participant {
    const { ingress, room } = this.opts;
    try {
      return new Participant({
        sid,
        claims: {
          identity: this.opts.hiddenIdentity ?? ingress.participantIdentity,
          apiKey: '',
          name: ingress.participantName,
          metadata: ingress.participantMetadata,
          kind: 'ingress',
          video: this.videoGrant(room.name),
        },
        grant,
        autoSubscribe: false,
        protocol: INGRESS_PROTOCOL,
        clientProtocol: 0,
        media: this.media,
        host: this.hostFor(room),
        clock: this.opts.clock,
        logger,
        ...(this.opts.publishCodecs ? { publishCodecs: this.opts.publishCodecs } : {}),
      });
    } catch (err) {
      this.media.close();
      throw err;
    }
  }

  /** Joins the room, announces the tracks and answers the offer. Rejects (with the participant gone) on a bad offer. */
  async answer(): Promise<string> {
    const { offer, ingress, room } = this.opts;
    room.join(this.participant);
    for (const m of offer.media) this.participant.addTrack(addTrackRequestFor(m, { audio: ingress.audio, video: ingress.video, videoLayers: this.opts.videoLayers }));
    try {
      await this.participant.handlePublisherOffer(new SessionDescription({ type: 'offer', sdp: offer.sdp, id: 1 }));
    } catch (err) {
      this.fail(`the offer was refused: ${(err as Error).message}`);
      throw err;
    }
    const answer = this.sink.answer;
    if (answer === undefined) {
      this.fail('the participant left before its offer was answered');
      throw new Error('no answer: the participant left');
    }
    // m-lines whose codecs this server cannot forward are refused in the answer (port 0): the rest must be published.
    const offered = new Set(offer.media.map((m) => m.mid));
    this.expectedTracks = parseSdp(answer).media.filter((m) => offered.has(m.mid) && m.port !== 0).length;
    if (this.expectedTracks === 0) {
      const error = `none of the offered codecs can be forwarded (this server takes ${this.codecList()})`;
      this.fail(error);
      throw new IngressError('invalid_argument', error);
    }
    this.connectTimer = this.opts.clock.setTimeout(() => {
      this.connectTimer = undefined;
      this.fail(`the sender did not connect its media within ${WHIP_CONNECT_TIMEOUT_MS} ms`);
    }, WHIP_CONNECT_TIMEOUT_MS);
    return answer;
  }

  /** IngressStream: ends the stream normally (DELETE on the resource, the ingress deleted, the node closing). */
  stop(reason: string): void {
    this.participant.logger.info({ reason }, 'ingress stream stopped');
    this.participant.close(DisconnectReason.CLIENT_INITIATED);
  }

  get isEnded(): boolean {
    return this.ended;
  }

  /** The sender's ICE credentials from its offer (a trickle PATCH must carry the same: whip-trickle.ts). */
  get offerIce(): { iceUfrag: string | undefined; icePwd: string | undefined } {
    const sdp = parseSdp(this.opts.offer.sdp);
    const m = sdp.media[0];
    return { iceUfrag: m?.iceUfrag ?? sdp.iceUfrag, icePwd: m?.icePwd ?? sdp.icePwd };
  }

  /** Why the stream failed, when it did. */
  get failureReason(): string | undefined {
    return this.failure;
  }

  private codecList(): string {
    return (this.opts.publishCodecs?.mimeTypes ?? ['audio/opus', 'video/VP8', 'video/H264', 'video/VP9', 'video/AV1']).join(', ');
  }

  /** Ends the stream in ERROR with `error` (a failure found outside: ffmpeg for a URL ingress). */
  failWith(error: string): void {
    this.fail(error);
  }

  private fail(error: string): void {
    if (this.ended) return;
    this.failure ??= error;
    this.participant.logger.warn({ error }, 'ingress stream failed');
    this.participant.close(DisconnectReason.MEDIA_FAILURE);
  }

  /** The room, with the stream's own bookkeeping on the way: tracks published and the participant leaving. */
  private hostFor(room: Room): ParticipantHost {
    return {
      onParticipantChanged: (p) => room.onParticipantChanged(p),
      onTrackPublished: (p, track) => {
        room.onTrackPublished(p, track);
        this.checkPublishing();
      },
      onTrackUnpublished: (p, track) => room.onTrackUnpublished(p, track),
      onData: (p, payload, kind) => room.onData(p, payload, kind),
      onParticipantClosed: (p, reason) => {
        try {
          room.onParticipantClosed(p, reason);
        } finally {
          this.onClosed();
        }
      },
      onParticipantResumed: (p) => room.onParticipantResumed(p),
      onUpdateSubscription: (p, req) => room.onUpdateSubscription(p, req),
      onSubscriptionPermission: (p, permission) => room.onSubscriptionPermission(p, permission),
      onSubscriptionBound: (p, trackSid, error) => room.onSubscriptionBound(p, trackSid, error),
    };
  }

  /** PUBLISHING once every track of the offer is published (audio and video of a camera come a moment apart). */
  private checkPublishing(): void {
    const tracks = this.participant.snapshot().tracks;
    const want = this.expectedTracks;
    const published = tracks.filter((t) => t.type === TrackType.AUDIO || t.type === TrackType.VIDEO).length;
    if (published < want || this.hasPublished) return;
    this.hasPublished = true;
    this.opts.onPublishing(tracks);
  }

  private onClosed(): void {
    if (this.ended) return;
    this.ended = true;
    if (this.connectTimer !== undefined) this.opts.clock.clearTimeout(this.connectTimer);
    this.connectTimer = undefined;
    this.opts.onEnded(this.failure);
    try {
      this.onEnded?.();
    } catch (err) {
      this.participant.logger.error({ err }, 'releasing the stream failed');
    }
  }
}
