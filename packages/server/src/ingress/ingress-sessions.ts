// The live streams of this node's ingresses: each is a WhipSession (an INGRESS participant whose media comes from an SDP
// offer), opened for a WHIP sender by whip-server.ts or for a URL ingress by url-ingress.ts, closed when it ends.
import type { IngressInfo } from '@livekit/protocol';
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

export interface IngressSessionsOptions {
  ingresses: IngressRegistry;
  rooms: RoomManager;
  mediaFactory: MediaFactory;
  clock: Clock;
  logger: Logger;
  publishCodecs?: PublishCodecs;
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
    const { ingresses } = this.opts;
    if (this.closing) throw new IngressError('unavailable', 'the server is shutting down');
    const resourceId = newId('WH_');
    const offer = readWhipOffer(offerSdp, { streamId: ingress.ingressId });
    // Refused streams are refused before their room is created.
    ingresses.checkStartable(ingress.ingressId);
    const room = this.roomFor(ingress.roomName, ingress.participantIdentity);
    ingresses.startStream(ingress.ingressId, { resourceId, roomId: room.sid });
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
        ...(opts.videoLayers ? { videoLayers: opts.videoLayers } : {}),
        onPublishing: (tracks) => ingresses.streamPublishing(ingress.ingressId, tracks),
        onEnded: (error) => {
          this.sessions.delete(resourceId);
          ingresses.streamEnded(ingress.ingressId, error);
        },
      });
    } catch (err) {
      ingresses.streamEnded(ingress.ingressId, `the stream could not start: ${(err as Error).message}`);
      throw err;
    }
    this.sessions.set(resourceId, session);
    ingresses.attachStream(ingress.ingressId, session);
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
