// The live streams of this node's ingresses: each is a WhipSession (an INGRESS participant whose media comes from an SDP
// offer), opened for a WHIP sender by whip-server.ts or for a URL ingress by url-ingress.ts, closed when it ends.
import { IngressInput } from '@livekit/protocol';
import type { IngressInfo, TrackInfo } from '@livekit/protocol';
import { newId } from '@atrium/protocol';
import type { Clock, Logger } from '@atrium/webrtc';
import { SdpError } from '@atrium/webrtc/sdp/sdp-model.js';
import type { MediaFactory } from '../rtc/participant-media.js';
import type { RoomManager } from '../rtc/room-manager.js';
import type { Room } from '../rtc/room.js';
import type { PublishCodecs } from '../rtc/publish-codecs.js';
import { JoinRefusedError } from '../rtc/join-admission.js';
import { IngressError } from './ingress-error.js';
import type { IngressRegistry } from './ingress-registry.js';
import { readWhipOffer } from './whip-offer.js';
import type { LayerSize } from './whip-offer.js';
import { WhipSession } from './whip-session.js';
import { startUrlIngress } from './url-ingress.js';
import { whipTranscodes } from './ingress-request.js';
import { WhipTranscoder } from './whip-transcoder.js';
import type { TranscoderSignal } from './whip-transcoder.js';

export interface IngressSessionsOptions {
  ingresses: IngressRegistry;
  rooms: RoomManager;
  mediaFactory: MediaFactory;
  clock: Clock;
  logger: Logger;
  publishCodecs?: PublishCodecs;
  /** Where a WHIP transcoder's recorder joins (this server's /rtc and an API key); without it WHIP transcoding is refused. */
  transcoderSignal?: () => TranscoderSignal | undefined;
}

interface SessionRole {
  videoLayers?: readonly LayerSize[];
  /** The WHIP sender of a transcoded ingress: a hidden participant. */
  hiddenIdentity?: string;
  /**
   * The ingress's stream as the registry knows it (the WHIP resource, BUFFERING/PUBLISHING, the end reported): true
   * for every stream but a WHIP transcoder's output, which reports through `onPublishing`/`onEnded` here instead.
   */
  registered: boolean;
  onPublishing?(tracks: TrackInfo[]): void;
  onEnded?(error: string | undefined): void;
}

export class IngressSessions {
  private readonly opts: IngressSessionsOptions;
  /** By resource id (WH_…). */
  private readonly sessions = new Map<string, WhipSession>();
  private closing = false;

  constructor(opts: IngressSessionsOptions) {
    this.opts = opts;
  }

  get count(): number {
    return this.sessions.size;
  }

  byResource(resourceId: string): WhipSession | undefined {
    return this.sessions.get(resourceId);
  }

  /**
   * Starts a stream of `ingress` from an SDP offer: the ingress goes BUFFERING (ingress_started), its participant joins
   * the room and the offer is answered. Refusals are IngressErrors saying why.
   */
  async open(ingress: IngressInfo, offerSdp: string, opts: { videoLayers?: readonly LayerSize[] } = {}): Promise<{ session: WhipSession; answer: string }> {
    if (ingress.inputType === IngressInput.WHIP_INPUT && whipTranscodes(ingress)) return this.openTranscoded(ingress, offerSdp);
    return this.openSession(ingress, offerSdp, { ...opts, registered: true });
  }

  /**
   * A transcoded WHIP stream (whip-transcoder.ts): the sender's session is a hidden participant and the registry's
   * stream; once its tracks are published, the transcoder publishes the ingress's participant. Either side ending
   * ends the other; the output failing fails the stream with its reason.
   */
  private async openTranscoded(ingress: IngressInfo, offerSdp: string): Promise<{ session: WhipSession; answer: string }> {
    const signal = this.opts.transcoderSignal?.();
    if (!signal) throw new IngressError('unavailable', 'WHIP transcoding is not available on this server (no API key for its transcoder to join with)');
    let transcoder: WhipTranscoder | undefined;
    const opened = await this.openSession(ingress, offerSdp, {
      registered: true,
      hiddenIdentity: ingress.ingressId,
      onPublishing: (tracks) => void transcoder?.start(tracks),
      onEnded: () => transcoder?.stop(),
    });
    const source = opened.session;
    transcoder = new WhipTranscoder({
      ingress,
      source,
      signal,
      logger: this.opts.logger.child({ ingressId: ingress.ingressId, room: ingress.roomName }),
      open: (sdp, o) => this.openSession(ingress, sdp, {
        ...o,
        registered: false,
        onPublishing: (tracks) => this.opts.ingresses.streamPublishing(ingress.ingressId, tracks),
        onEnded: (error) => {
          if (source.isEnded) return;
          if (error !== undefined) source.failWith(error);
          else source.stop('the transcoder ended');
        },
      }),
    });
    if (source.isEnded) transcoder.stop();
    return opened;
  }

  private async openSession(ingress: IngressInfo, offerSdp: string, role: SessionRole): Promise<{ session: WhipSession; answer: string }> {
    const { ingresses } = this.opts;
    if (this.closing) throw new IngressError('unavailable', 'the server is shutting down');
    const resourceId = newId('WH_');
    const offer = readWhipOffer(offerSdp, { streamId: ingress.ingressId });
    const { registered } = role;
    // Refused streams are refused before their room is created.
    if (registered) ingresses.checkStartable(ingress.ingressId);
    const room = this.roomFor(ingress.roomName, role.hiddenIdentity ?? ingress.participantIdentity);
    if (registered) ingresses.startStream(ingress.ingressId, { resourceId, roomId: room.sid });
    let session: WhipSession;
    try {
      session = new WhipSession({
        ingress,
        resourceId,
        room,
        offer,
        mediaFactory: this.opts.mediaFactory,
        clock: this.opts.clock,
        logger: this.opts.logger,
        ...(this.opts.publishCodecs ? { publishCodecs: this.opts.publishCodecs } : {}),
        ...(role.videoLayers ? { videoLayers: role.videoLayers } : {}),
        ...(role.hiddenIdentity !== undefined ? { hiddenIdentity: role.hiddenIdentity } : {}),
        onPublishing: (tracks) => (role.onPublishing ? role.onPublishing(tracks) : ingresses.streamPublishing(ingress.ingressId, tracks)),
        onEnded: (error) => {
          if (registered) {
            this.sessions.delete(resourceId);
            ingresses.streamEnded(ingress.ingressId, error);
          }
          role.onEnded?.(error);
        },
      });
    } catch (err) {
      if (registered) ingresses.streamEnded(ingress.ingressId, `the stream could not start: ${(err as Error).message}`);
      throw err;
    }
    if (registered) {
      this.sessions.set(resourceId, session);
      ingresses.attachStream(ingress.ingressId, session);
    }
    let answer: string;
    try {
      answer = await session.answer();
    } catch (err) {
      // The media side's coded refusals of an offer (sdp_*: unreadable, pc_*: no ICE credentials, no fingerprint, a
      // DTLS role it cannot take...) are the sender's to fix; anything else is ours.
      if (err instanceof SdpError || isOfferRefusal(err)) throw new IngressError('invalid_argument', `the offer was refused: ${(err as Error).message}`);
      throw err;
    }
    if (session.isEnded) throw new IngressError('unavailable', 'the stream ended before its offer was answered');
    return { session, answer };
  }

  /** A URL ingress was created: ffmpeg and our client PC publish it through `open`. */
  startUrl(ingress: IngressInfo): void {
    const logger = this.opts.logger.child({ ingressId: ingress.ingressId, room: ingress.roomName });
    void startUrlIngress({
      ingress,
      logger,
      open: (sdp) => this.open(ingress, sdp),
      onStartFailed: (error) => this.opts.ingresses.startFailed(ingress.ingressId, error),
    });
  }

  /** Ends every stream (the node closes). */
  close(): void {
    this.closing = true;
    for (const s of [...this.sessions.values()]) s.stop('the server is shutting down');
  }

  /** The ingress's room, created as a join would (room.auto_create); refusals say why. */
  private roomFor(roomName: string, identity: string): Room {
    try {
      return this.opts.rooms.roomForJoin(roomName, { identity, isDependent: false, canCreateRoom: true });
    } catch (err) {
      if (err instanceof JoinRefusedError) {
        throw new IngressError(err.code === 'room_not_found' ? 'not_found' : 'unavailable', `the ingress cannot join room ${roomName}: ${err.message}`);
      }
      throw err;
    }
  }
}

function isOfferRefusal(err: unknown): boolean {
  const code = (err as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' && (code.startsWith('sdp') || (code.startsWith('pc_') && code !== 'pc_closed'));
}
