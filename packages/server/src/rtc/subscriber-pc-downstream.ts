// LiveKit signalling v0's downstream: a subscriber PeerConnection of our own, on which we offer one sendonly m-line per
// subscribed track plus the `_reliable`/`_lossy`/`_data_track` data channels, one offer at a time (the client answers
// with the same id). docs/livekit-protocol.md 2.3 A and 4.2.
import type { PeerConnection } from '@atrium/webrtc/pc/peer-connection.js';
import type { LocalSender } from '@atrium/webrtc/pc/local-sender.js';
import type { Logger } from '@atrium/webrtc';
import { SignalTarget } from './participant-media.js';
import type { Downstream, DownstreamHost, DownstreamSenderOptions } from './downstream.js';

export class SubscriberPcDownstream implements Downstream {
  private readonly host: DownstreamHost;
  private readonly logger: Logger;
  private subscriber: PeerConnection | undefined;
  /** The next subscriber offer restarts ICE (a resume). */
  private isIceRestartPending = false;
  private offerId = 0;
  private awaitingAnswer = false;
  private negotiationPending = false;
  private isNegotiationScheduled = false;
  /** The subscriber's first offer is due at the end of this event-loop turn (start). */
  private isFirstOfferScheduled = false;

  constructor(host: DownstreamHost, logger: Logger) {
    this.host = host;
    this.logger = logger;
  }

  get pc(): PeerConnection | undefined {
    return this.subscriber;
  }

  start(): void {
    if (this.subscriber || this.host.isClosed()) return;
    const pc = this.host.createSubscriberPc();
    this.subscriber = pc;
    this.host.onTransport(pc);
    for (const [label, opts] of [
      ['_reliable', { ordered: true }],
      ['_lossy', { ordered: false, maxRetransmits: 0 }],
      ['_data_track', { ordered: false, maxRetransmits: 0 }],
    ] as const) {
      this.host.onOwnChannel(pc.createDataChannel(label, opts));
    }
    // The first offer carries the data m-line first (its channels were created before any track's sender), so it is
    // the BUNDLE tag: were a media m-line the tag, a subscriber refusing its codec would reject it, and Chromium then
    // moves the bundle to a new transport, restarting ICE and DTLS under the handshake already running (the
    // subscriber never connects). It waits for the end of the event-loop turn so that it also carries the tracks the
    // joiner subscribes to meanwhile: Room.join subscribes in the same turn, and with media workers those
    // subscriptions arrive as separate messages delivered together. One offer/answer round trip instead of two.
    this.isFirstOfferScheduled = true;
    setImmediate(() => {
      this.isFirstOfferScheduled = false;
      this.negotiateNow();
    });
  }

  addSender(opts: DownstreamSenderOptions): LocalSender {
    if (!this.subscriber) this.start();
    // Reuse an m-line of an ended subscription: a long-lived subscriber must not grow one per track it ever saw.
    return this.subscriber!.addSender({ ...opts, recycle: true });
  }

  removeSender(sender: LocalSender): void {
    this.subscriber?.removeSender(sender);
  }

  /**
   * Applies the client's answer to our latest offer; false when there is nothing it answers (no offer out, or an older
   * offer's answer). A change queued while the offer was out gets its own offer next.
   */
  handleAnswer(sdp: string, id: number): boolean {
    const pc = this.subscriber;
    if (!pc || !this.awaitingAnswer) return false;
    if (id !== 0 && id !== this.offerId) {
      this.logger.debug({ id, expected: this.offerId }, 'stale subscriber answer ignored');
      return false;
    }
    pc.handleAnswer(sdp);
    this.awaitingAnswer = false;
    if (this.negotiationPending) {
      this.negotiationPending = false;
      this.negotiate();
    }
    return true;
  }

  /**
   * A resume: the subscriber PC offers again with new ICE credentials and every current subscription. An offer sent
   * while the signal connection was down may never have reached the client, so it is superseded (its answer, if one
   * comes, is stale by id). Before the first offer went out there is nothing to restart.
   */
  restartIce(): void {
    if (this.host.isClosed() || this.subscriber === undefined || this.isFirstOfferScheduled) return;
    this.awaitingAnswer = false;
    this.negotiationPending = false;
    this.isIceRestartPending = true;
    this.logger.debug('subscriber ICE restart');
    this.negotiateNow();
  }

  /**
   * Asks for a subscriber offer. Changes made in the same turn share one offer: a joiner's data channels and its
   * subscriptions to the tracks already in the room go out together, not in two offer/answer round trips.
   */
  negotiate(): void {
    if (this.isNegotiationScheduled || this.isFirstOfferScheduled) return;
    this.isNegotiationScheduled = true;
    queueMicrotask(() => {
      this.isNegotiationScheduled = false;
      this.negotiateNow();
    });
  }

  private negotiateNow(): void {
    const pc = this.subscriber;
    if (!pc || this.host.isClosed()) return;
    if (this.awaitingAnswer) {
      this.negotiationPending = true;
      return;
    }
    const sdp = pc.createOffer({ iceRestart: this.isIceRestartPending });
    this.isIceRestartPending = false;
    this.offerId++;
    this.awaitingAnswer = true;
    this.host.emitOffer({ sdp, id: this.offerId, midToTrackId: this.host.midToTrackId() });
    this.host.trickle(pc, SignalTarget.SUBSCRIBER);
  }

  close(): void {
    this.subscriber?.close();
  }
}
