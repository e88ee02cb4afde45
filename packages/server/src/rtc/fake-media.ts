// Test double for the media seam: records every call and lets tests emit media events.
import { TypedEmitter } from '@atrium/webrtc';
import type {
  MediaFactory,
  ParticipantMedia,
  ParticipantMediaEvents,
  SessionDescriptionMessage,
  SignalTargetValue,
  MediaTrackSource,
  DataKind,
  MediaKind,
  TrackSettings,
} from './participant-media.js';

export type FakeCall =
  | { method: 'handlePublisherOffer'; sdp: string; id: number }
  | { method: 'handleSubscriberAnswer'; sdp: string; id: number }
  | { method: 'addRemoteCandidate'; candidateInit: string; target: SignalTargetValue }
  | { method: 'startSubscriber' }
  | { method: 'restartIce' }
  | { method: 'setSubscriberCapacityOverride'; bps: number }
  | { method: 'subscribe'; source: MediaTrackSource; publisherSid: string; trackSid: string }
  | { method: 'unsubscribe'; trackSid: string }
  | { method: 'updateTrackSettings'; trackSid: string; settings: TrackSettings }
  | { method: 'sendData'; payload: Uint8Array; kind: DataKind }
  | { method: 'close' };

export class FakeTrackSource implements MediaTrackSource {
  readonly kind: MediaKind;
  readonly mimeType: string;
  readonly mutedCalls: boolean[] = [];
  constructor(kind: MediaKind, mimeType: string) {
    this.kind = kind;
    this.mimeType = mimeType;
  }
  setMuted(muted: boolean): void {
    this.mutedCalls.push(muted);
  }
}

export class FakeParticipantMedia extends TypedEmitter<ParticipantMediaEvents> implements ParticipantMedia {
  readonly participantSid: string;
  readonly identity: string;
  readonly calls: FakeCall[] = [];
  /** What handlePublisherOffer answers with; the id is whatever the fake is given. */
  answerMidToTrackId: Record<string, string> = {};
  closed = false;

  constructor(participantSid: string, identity: string) {
    super();
    this.participantSid = participantSid;
    this.identity = identity;
  }

  callsOf<M extends FakeCall['method']>(method: M): Extract<FakeCall, { method: M }>[] {
    return this.calls.filter((c): c is Extract<FakeCall, { method: M }> => c.method === method);
  }

  async handlePublisherOffer(sdp: string, id: number): Promise<SessionDescriptionMessage> {
    this.calls.push({ method: 'handlePublisherOffer', sdp, id });
    if (!sdp.startsWith('v=0')) throw Object.assign(new Error('sdp must start with v=0'), { code: 'sdp_invalid' });
    return { sdp: `answer-to:${sdp}`, id: 999, midToTrackId: { ...this.answerMidToTrackId } };
  }
  handleSubscriberAnswer(sdp: string, id: number): void {
    this.calls.push({ method: 'handleSubscriberAnswer', sdp, id });
  }
  addRemoteCandidate(candidateInit: string, target: SignalTargetValue): void {
    this.calls.push({ method: 'addRemoteCandidate', candidateInit, target });
  }
  startSubscriber(): void {
    this.calls.push({ method: 'startSubscriber' });
  }
  restartIce(): void {
    this.calls.push({ method: 'restartIce' });
  }
  setSubscriberCapacityOverride(bps: number): void {
    this.calls.push({ method: 'setSubscriberCapacityOverride', bps });
  }
  subscribe(source: MediaTrackSource, opts: { publisherSid: string; trackSid: string }): void {
    this.calls.push({ method: 'subscribe', source, ...opts });
  }
  unsubscribe(trackSid: string): void {
    this.calls.push({ method: 'unsubscribe', trackSid });
  }
  updateTrackSettings(trackSid: string, settings: TrackSettings): void {
    this.calls.push({ method: 'updateTrackSettings', trackSid, settings });
  }
  sendData(payload: Uint8Array, kind: DataKind): void {
    this.calls.push({ method: 'sendData', payload, kind });
  }
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.calls.push({ method: 'close' });
  }
}

export class FakeMediaFactory implements MediaFactory {
  readonly medias: FakeParticipantMedia[] = [];
  /** The candidate protocol each media session was created with, in creation order (force-tcp). */
  readonly candidateProtocols: { identity: string; candidateProtocol: string | undefined }[] = [];
  /** participant sid -> whether its media was asked for one PeerConnection (signalling v1). */
  readonly singlePeerConnection = new Map<string, boolean>();
  closed = false;
  createParticipantMedia(opts: { participantSid: string; identity: string; candidateProtocol?: string; isSinglePeerConnection?: boolean }): ParticipantMedia {
    this.candidateProtocols.push({ identity: opts.identity, candidateProtocol: opts.candidateProtocol });
    const m = new FakeParticipantMedia(opts.participantSid, opts.identity);
    this.medias.push(m);
    this.singlePeerConnection.set(opts.participantSid, opts.isSinglePeerConnection === true);
    return m;
  }
  /** The latest media created for `identity`. */
  mediaOf(identity: string): FakeParticipantMedia {
    const m = [...this.medias].reverse().find((x) => x.identity === identity);
    if (!m) throw new Error(`no media for ${identity}`);
    return m;
  }
  resources(): { sessions: number; udpRegistrations: number } {
    return { sessions: this.medias.filter((m) => !m.closed).length, udpRegistrations: 0 };
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}
