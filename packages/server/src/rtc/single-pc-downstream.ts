// LiveKit signalling v1's downstream (single PeerConnection): subscribed tracks go out on the client's own PC, on the
// recvonly m-lines it pre-creates (3 audio and 3 video in livekit-client), placed there by our answers. The server never
// offers: when a track waits for an m-line, or a removed one's m-line must go inactive, it sends
// MediaSectionsRequirement (how many recvonly m-lines to add, possibly none) and the client offers again.
// docs/signal-v1.md; LiveKit's transport.go (sendUnmatchedMediaRequirement), livekit-client RTCEngine.addMediaSections.
import type { PeerConnection } from '@atrium/webrtc/pc/peer-connection.js';
import type { LocalSender } from '@atrium/webrtc/pc/local-sender.js';
import type { Downstream, DownstreamHost, DownstreamSenderOptions } from './downstream.js';

export class SinglePcDownstream implements Downstream {
  private readonly host: DownstreamHost;
  /** The client's PC (our side of it), made on first need (a sender may wait on it before the client's first offer). */
  private readonly clientPc: () => PeerConnection;
  /** The client's PC if it exists (never makes one: a closed media session must not). */
  private readonly existingPc: () => PeerConnection | undefined;
  private isNegotiationScheduled = false;
  /** m-lines asked for since the client's last offer: not asked for again while that offer is on its way. */
  private readonly requested = { audio: 0, video: 0 };
  private isOfferRequested = false;

  constructor(host: DownstreamHost, pcs: { clientPc: () => PeerConnection; existingPc: () => PeerConnection | undefined }) {
    this.host = host;
    this.clientPc = pcs.clientPc;
    this.existingPc = pcs.existingPc;
  }

  get pc(): PeerConnection | undefined {
    return this.existingPc();
  }

  start(): void {}

  addSender(opts: DownstreamSenderOptions): LocalSender {
    return this.clientPc().addAnswerSender(opts);
  }

  removeSender(sender: LocalSender): void {
    this.existingPc()?.removeSender(sender);
  }

  /** The client's ICE restart comes with its own offer after a resume; nothing to do on our side. */
  restartIce(): void {}

  /** The client's offer was answered: what it asked for is settled; ask again for what still waits. */
  offerAnswered(): void {
    this.requested.audio = 0;
    this.requested.video = 0;
    this.isOfferRequested = false;
    this.negotiate();
  }

  negotiate(): void {
    if (this.isNegotiationScheduled) return;
    this.isNegotiationScheduled = true;
    queueMicrotask(() => {
      this.isNegotiationScheduled = false;
      this.requestOffer();
    });
  }

  private requestOffer(): void {
    const pc = this.existingPc();
    // Before the client's first offer is answered there is nothing to ask: that answer places what waits.
    if (this.host.isClosed() || pc?.remoteDescription === undefined) return;
    const needs = pc.answerSenderNeeds;
    if (!needs.needsOffer) return;
    const numAudios = Math.max(0, needs.waiting.audio - needs.free.audio - this.requested.audio);
    const numVideos = Math.max(0, needs.waiting.video - needs.free.video - this.requested.video);
    // An offer is already asked for and nothing more is needed: it will come.
    if (this.isOfferRequested && numAudios === 0 && numVideos === 0) return;
    this.requested.audio += numAudios;
    this.requested.video += numVideos;
    this.isOfferRequested = true;
    this.host.emitMediaSectionsRequirement({ numAudios, numVideos });
  }

  close(): void {}
}
