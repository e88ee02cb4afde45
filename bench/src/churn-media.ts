// A media double for the signalling churn benchmark: behaves like connected media without recording anything,
// so the server's own state is what the heap shows. A publisher offer `v=0 cids:a,b` publishes tracks a and b.
import { TypedEmitter } from '@atrium/webrtc';
import type { MediaFactory, MediaKind, MediaTrackSource, ParticipantMedia, ParticipantMediaEvents, SessionDescriptionMessage } from '@atrium/server/rtc/participant-media.js';

class ChurnTrackSource implements MediaTrackSource {
  readonly kind: MediaKind;
  readonly mimeType: string;
  constructor(kind: MediaKind) {
    this.kind = kind;
    this.mimeType = kind === 'audio' ? 'audio/opus' : 'video/VP8';
  }
  setMuted(): void {}
  speakingLevel(): number {
    return 0;
  }
}

class ChurnMedia extends TypedEmitter<ParticipantMediaEvents> implements ParticipantMedia {
  closed = false;
  private readonly onClosed: (m: ChurnMedia) => void;
  constructor(onClosed: (m: ChurnMedia) => void) {
    super();
    this.onClosed = onClosed;
  }
  async handlePublisherOffer(sdp: string, id: number): Promise<SessionDescriptionMessage> {
    const cids = /cids:(\S*)/.exec(sdp)?.[1]?.split(',').filter(Boolean) ?? [];
    setImmediate(() => {
      if (this.closed) return;
      cids.forEach((cid, i) => {
        const kind: MediaKind = cid.startsWith('mic') ? 'audio' : 'video';
        this.emit('trackPublished', { msidTrackId: cid, msidStreamId: 's', mid: String(i), kind, mimeType: kind === 'audio' ? 'audio/opus' : 'video/VP8', rids: [], source: new ChurnTrackSource(kind) });
      });
    });
    return { sdp: `answer ${id}`, id, midToTrackId: {} };
  }
  handleSubscriberAnswer(): void {}
  addRemoteCandidate(): void {}
  startSubscriber(): void {
    setImmediate(() => {
      if (!this.closed) this.emit('connectionState', { target: 1, state: 'connected' });
    });
  }
  subscribe(_source: MediaTrackSource, opts: { publisherSid: string; trackSid: string }): void {
    setImmediate(() => {
      if (!this.closed) this.emit('subscriptionBound', { trackSid: opts.trackSid, error: undefined });
    });
  }
  unsubscribe(): void {}
  updateTrackSettings(): void {}
  sendData(): void {}
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.onClosed(this);
  }
}

/** Media that connects at once and publishes what the offer names; keeps only the open sessions. */
export class ChurnMediaFactory implements MediaFactory {
  private readonly open = new Set<ChurnMedia>();
  createParticipantMedia(): ParticipantMedia {
    const m = new ChurnMedia((x) => this.open.delete(x));
    this.open.add(m);
    return m;
  }
  resources(): { sessions: number; udpRegistrations: number } {
    return { sessions: this.open.size, udpRegistrations: 0 };
  }
  async close(): Promise<void> {}
}
