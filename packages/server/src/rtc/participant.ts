// One participant of a room in LiveKit signalling v0: its ParticipantInfo (full snapshots, rising version),
// its publications (participant-publications.ts), and the wiring between its media (publisher/subscriber PCs) and signalling.
import {
  SignalResponse,
  ParticipantInfo,
  ParticipantInfo_State,
  SessionDescription,
  TrickleRequest,
  TrackPublishedResponse,
  TrackUnpublishedResponse,
  MuteTrackRequest,
  LeaveRequest,
  LeaveRequest_Action,
  RequestResponse,
  RequestResponse_Reason,
  DisconnectReason,
  TrackType,
  MediaSectionsRequirement,
  StreamState,
  StreamStateInfo,
  StreamStateUpdate,
  SubscribedCodec,
  SubscribedQuality,
  SubscribedQualityUpdate,
  VideoQuality,
  UpdateTrackSettings,
} from '@livekit/protocol';
import type {
  AddTrackRequest, TrackInfo, ParticipantPermission, UpdateSubscription, SubscriptionPermission, SyncState,
} from '@livekit/protocol';
import { canPublishSource, toParticipantPermission } from '@atrium/protocol';
import type { ResolvedVideoGrant, ClaimGrants } from '@atrium/protocol';
import type { Logger, Clock, TimerHandle } from '@atrium/webrtc';
import { SignalTarget } from './participant-media.js';
import type { ParticipantMedia } from './participant-media.js';
import type { SignalSink, ParticipantHost, PublishedTrack } from './participant-host.js';
import { normalizeCandidateInit } from './candidate-init.js';
import { initialParticipantInfo } from './participant-info.js';
import { ParticipantPublications } from './participant-publications.js';
import { isDependentParticipant } from './join-admission.js';
import { PublishCodecs } from './publish-codecs.js';
import { unusableCodecs } from './track-info.js';
import { SignalOutbox } from './signal-outbox.js';

/**
 * How long a participant whose signal connection closed without a Leave is kept for a resume (its media session, PCs,
 * tracks and subscriptions go on meanwhile). LiveKit keeps it until its PCs fail; a PC that fails ends it here too.
 */
export const RESUME_TIMEOUT_MS = 20_000;

export type { SignalSink, ParticipantHost, PublishedTrack } from './participant-host.js';

export interface ParticipantOptions {
  sid: string;
  claims: ClaimGrants;
  grant: ResolvedVideoGrant;
  autoSubscribe: boolean;
  protocol: number;
  clientProtocol: number;
  /** ClientInfo.Capability names from the `capabilities` query parameter; unknown names are ignored. */
  capabilities?: readonly string[];
  media: ParticipantMedia;
  host: ParticipantHost;
  clock: Clock;
  logger: Logger;
  /** What this server lets publishers use (room.enabled_codecs); all forwardable codecs when absent. */
  publishCodecs?: PublishCodecs;
  /** How long it is kept without a signal connection, for a resume (default RESUME_TIMEOUT_MS). */
  resumeTimeoutMs?: number;
  /** Signalling v1 (`/rtc/v1`): one PC, the client's, which is then the primary one (docs/signal-v1.md). */
  isSinglePeerConnection?: boolean;
}

export class Participant {
  readonly sid: string;
  readonly identity: string;
  readonly grant: ResolvedVideoGrant;
  readonly autoSubscribe: boolean;
  readonly protocol: number;
  readonly media: ParticipantMedia;
  readonly logger: Logger;
  /** Joined over /rtc/v1: one PeerConnection, the client's (docs/signal-v1.md). */
  readonly isSinglePeerConnection: boolean;
  /** Track sids this participant is subscribed to. */
  readonly subscriptions = new Set<string>();
  private readonly host: ParticipantHost;
  private readonly subscriberPrimary: boolean;
  private readonly info: ParticipantInfo;
  private readonly publications: ParticipantPublications;
  private readonly publishCodecs: PublishCodecs;
  private sink: SignalSink | undefined;
  private closed = false;
  private readonly clock: Clock;
  private readonly resumeTimeoutMs: number;
  /** Set while the signal connection is gone and the participant waits for a resume: what it would have been sent. */
  private outbox: SignalOutbox | undefined;
  private resumeTimer: TimerHandle | undefined;
  /** One of its PCs reached 'connected' at least once (LiveKit closes a participant that never connected at once). */
  private hasMediaConnected = false;
  /** Resumes this participant went through. */
  resumes = 0;
  /** Why it leaves if no resume comes: SIGNAL_CLOSE, or CONNECTION_TIMEOUT after its transport failed. */
  private signalLossReason: DisconnectReason = DisconnectReason.SIGNAL_CLOSE;
  /** The highest reliable DataPacket sequence received from this participant (ReconnectResponse.last_message_seq). */
  private lastReliableSeq = 0;
  /** Called after name, metadata, attributes or permission changed (the token refresher sends a new token). */
  onClaimsChanged: (() => void) | undefined;

  constructor(opts: ParticipantOptions) {
    this.sid = opts.sid;
    this.identity = opts.claims.identity;
    this.grant = { ...opts.grant, canPublishSources: [...opts.grant.canPublishSources] };
    this.isSinglePeerConnection = opts.isSinglePeerConnection === true;
    // v1 has no subscriber PC: the client's single PC is primary.
    this.subscriberPrimary = opts.isSinglePeerConnection !== true && opts.grant.canSubscribe;
    this.autoSubscribe = opts.autoSubscribe;
    this.protocol = opts.protocol;
    this.media = opts.media;
    this.host = opts.host;
    this.logger = opts.logger;
    this.clock = opts.clock;
    this.resumeTimeoutMs = opts.resumeTimeoutMs ?? RESUME_TIMEOUT_MS;
    this.info = initialParticipantInfo({
      sid: opts.sid,
      claims: opts.claims,
      grant: opts.grant,
      clientProtocol: opts.clientProtocol,
      capabilities: opts.capabilities ?? [],
      nowMs: opts.clock.wallMs(),
    });
    this.publishCodecs = opts.publishCodecs ?? PublishCodecs.all();
    this.publications = new ParticipantPublications({
      codecs: this.publishCodecs,
      logger: this.logger,
      events: {
        bound: (track) => {
          this.bumpVersion();
          this.host.onTrackPublished(this, track);
        },
        ended: (track) => {
          this.bumpVersion();
          this.host.onTrackUnpublished(this, track);
        },
        codecsChanged: () => {
          this.bumpVersion();
          this.host.onParticipantChanged(this);
        },
      },
    });
    this.wireMedia();
  }

  get state(): ParticipantInfo_State {
    return this.info.state;
  }
  get isClosed(): boolean {
    return this.closed;
  }
  get isHidden(): boolean {
    return this.grant.hidden;
  }
  /** A recorder grant (egress; the WHIP transcoder's subscriber). */
  get isRecorder(): boolean {
    return this.grant.recorder;
  }
  /** Agents, egress and recorders: not counted for max_participants nor in num_participants (as LiveKit). */
  get isDependent(): boolean {
    return isDependentParticipant({ kind: this.info.kind, agent: this.grant.agent, recorder: this.grant.recorder });
  }
  get canSubscribe(): boolean {
    return this.grant.canSubscribe;
  }
  /** v0: the subscriber PC is primary when the participant could subscribe at join (fixed for the session). */
  get isSubscriberPrimary(): boolean {
    return this.subscriberPrimary;
  }
  get tracks(): readonly PublishedTrack[] {
    return this.publications.tracks;
  }
  get isPublisher(): boolean {
    return this.publications.publishedCount > 0;
  }

  attachSink(sink: SignalSink): void {
    this.sink = sink;
  }

  /** `sink` is the signal connection this participant talks through now (not one replaced by a resume). */
  isCurrentSink(sink: SignalSink): boolean {
    return this.sink === sink;
  }

  /** The signal connection is gone and the participant waits for a resume. */
  get isAwaitingResume(): boolean {
    return this.outbox !== undefined;
  }

  /**
   * Whether a resume can be honoured now, or why not. A participant with an open signal connection can be resumed
   * too (the client may find its connection dead before the server does); the old connection is then closed.
   */
  resumeRefusal(): string | undefined {
    if (this.closed) return 'the participant has left';
    if (this.outbox?.hasOverflowed === true) return 'too much was sent while the signal connection was down';
    if (!this.hasMediaConnected) return 'the participant never connected its media';
    return undefined;
  }

  /**
   * The signal connection closed without a Leave (or stopped answering). As LiveKit: a participant whose media never
   * connected leaves now; otherwise it stays, with its media, for `resumeTimeoutMs`, while what it is sent is kept
   * for the resume. A PC failing meanwhile ends it.
   */
  signalLost(): void {
    if (this.closed) return;
    this.sink = undefined;
    if (!this.hasMediaConnected || this.resumeTimeoutMs <= 0) {
      this.close(DisconnectReason.SIGNAL_CLOSE);
      return;
    }
    if (this.outbox !== undefined) return;
    this.outbox = new SignalOutbox();
    this.logger.info({ resumeTimeoutMs: this.resumeTimeoutMs }, 'signal connection lost; keeping the participant for a resume');
    this.resumeTimer = this.clock.setTimeout(() => {
      this.resumeTimer = undefined;
      this.logger.info({ reason: DisconnectReason[this.signalLossReason] }, 'no resume within the resume timeout; the participant leaves');
      this.close(this.signalLossReason);
    }, this.resumeTimeoutMs);
  }

  /**
   * Reattaches a new signal connection (a resume, `reconnect=1`): `first` (the ReconnectResponse) goes out first,
   * then what was kept while the connection was down; the room then sends fresh snapshots, and the subscriber PC
   * gets an ICE-restart offer. The caller checked resumeRefusal().
   */
  resume(sink: SignalSink, first: SignalResponse): void {
    if (this.closed) return;
    const old = this.sink;
    const kept = this.outbox?.drain() ?? [];
    this.outbox = undefined;
    if (this.resumeTimer !== undefined) this.clock.clearTimeout(this.resumeTimer);
    this.resumeTimer = undefined;
    this.sink = sink;
    if (old !== undefined && old !== sink) {
      try {
        old.close();
      } catch (err) {
        this.logger.debug({ err }, 'closing the replaced signal connection failed');
      }
    }
    this.resumes++;
    this.signalLossReason = DisconnectReason.SIGNAL_CLOSE;
    // The client resends the reliable data it sent after this (it buffered what it sent while reconnecting).
    if (first.message.case === 'reconnect') first.message.value.lastMessageSeq = this.lastReliableSeq;
    this.send(first);
    for (const msg of kept) this.send(msg);
    this.logger.info({ kept: kept.length, resumes: this.resumes }, 'participant resumed');
    this.host.onParticipantResumed(this);
    if (this.closed) return;
    // The ICE-restart offer covers every subscription: offers and candidates kept while away are superseded by it.
    this.media.restartIce?.();
  }

  /** A reliable DataPacket with `sequence` arrived: false if it was seen already (a resend after a resume). */
  acceptReliableSequence(sequence: number): boolean {
    if (sequence <= this.lastReliableSeq) return false;
    this.lastReliableSeq = sequence;
    return true;
  }

  get lastReliableSequence(): number {
    return this.lastReliableSeq;
  }

  send(msg: SignalResponse): void {
    if (this.closed) return;
    if (this.outbox !== undefined) {
      this.outbox.push(msg);
      return;
    }
    if (!this.sink) return;
    try {
      this.sink.send(msg);
    } catch (err) {
      this.logger.warn({ err }, 'sending a signal response failed');
    }
  }

  /** A full snapshot of the participant for JoinResponse / ParticipantUpdate. */
  snapshot(): ParticipantInfo {
    const info = this.info.clone();
    info.tracks = this.publications.tracks.map((t) => t.info.clone());
    info.isPublisher = this.publications.publishedCount > 0;
    return info;
  }

  private bumpVersion(): void {
    this.info.version += 1;
  }

  /** JOINING -> JOINED, right before the JoinResponse goes out. */
  markJoined(): void {
    if (this.info.state !== ParticipantInfo_State.JOINING) return;
    this.info.state = ParticipantInfo_State.JOINED;
    this.bumpVersion();
  }

  // ---- requests from the client (called in order by the signal session) ----

  async handlePublisherOffer(offer: SessionDescription): Promise<void> {
    const answer = await this.media.handlePublisherOffer(offer.sdp, offer.id, {
      codecByTrackId: this.publications.requestedCodecs(),
      opusParamsByTrackId: this.publications.opusParams(),
    });
    if (this.closed) return;
    this.send(
      new SignalResponse({
        message: {
          case: 'answer',
          value: new SessionDescription({ type: 'answer', sdp: answer.sdp, id: offer.id, midToTrackId: { ...answer.midToTrackId } }),
        },
      }),
    );
  }

  handleSubscriberAnswer(answer: SessionDescription): void {
    this.media.handleSubscriberAnswer(answer.sdp, answer.id);
  }

  handleTrickle(trickle: TrickleRequest): void {
    const target = trickle.target === 1 ? SignalTarget.SUBSCRIBER : SignalTarget.PUBLISHER;
    this.media.addRemoteCandidate(trickle.candidateInit, target);
  }

  addTrack(req: AddTrackRequest): void {
    if (!canPublishSource(this.grant, req.source)) {
      this.refuseAddTrack(req, RequestResponse_Reason.NOT_ALLOWED, 'not allowed to publish this track source');
      return;
    }
    // As LiveKit: only audio and video tracks, a backup codec only for a track we have, at most 20 pending.
    if (req.type !== TrackType.AUDIO && req.type !== TrackType.VIDEO) {
      this.refuseAddTrack(req, RequestResponse_Reason.UNSUPPORTED_TYPE, 'unsupported track type');
      return;
    }
    // A track only in codecs this server cannot forward would never get media through: refuse it, naming them.
    const unusable = unusableCodecs(req, this.publishCodecs);
    if (unusable.length > 0) {
      const enabled = this.publishCodecs.mimeTypes.filter((m) => m.startsWith(req.type === TrackType.AUDIO ? 'audio/' : 'video/'));
      this.refuseAddTrack(req, RequestResponse_Reason.UNSUPPORTED_TYPE, `codec ${unusable.join(', ')} is not supported by this server (enabled: ${enabled.join(', ') || 'none'})`);
      return;
    }
    const refusal = this.publications.refusalOf(req);
    if (refusal) {
      const reason = refusal.reason === 'not_found' ? RequestResponse_Reason.NOT_FOUND : RequestResponse_Reason.LIMIT_EXCEEDED;
      this.refuseAddTrack(req, reason, refusal.message);
      return;
    }
    // A backup codec for a known track, or a repeated cid, is answered with the track as it is.
    const info = this.publications.add(req);
    this.sendTrackPublished(req.cid, info);
    // Media may already be there, waiting for this request.
    this.publications.bindWaiting(req.cid, info);
  }

  private refuseAddTrack(req: AddTrackRequest, reason: RequestResponse_Reason, message: string): void {
    this.logger.info({ cid: req.cid, source: req.source, type: req.type, reason: RequestResponse_Reason[reason] }, `add track refused: ${message}`);
    const value = new RequestResponse({ reason, message, request: { case: 'addTrack', value: req } });
    this.send(new SignalResponse({ message: { case: 'requestResponse', value } }));
  }

  muteTrack(trackSid: string, muted: boolean): void {
    const published = this.publications.getPublished(trackSid);
    if (published) {
      if (published.info.muted === muted) return;
      published.info.muted = muted;
      published.source.setMuted(muted);
      this.bumpVersion();
      this.host.onParticipantChanged(this);
      return;
    }
    const pending = this.publications.getPending(trackSid);
    if (pending) pending.muted = muted;
    else this.logger.debug({ track: trackSid }, 'mute for an unknown track ignored');
  }

  /**
   * SyncState, sent by the client right after a resume: what it believes it publishes and is subscribed to. Every
   * published track it names must be one we know (as LiveKit; otherwise its state and ours differ and it must rejoin:
   * a Leave with RECONNECT). Its subscription list is applied again (idempotent for tracks we already agree on).
   */
  handleSyncState(sync: SyncState): void {
    if (this.closed) return;
    const unknown = sync.publishTracks
      .map((t) => t.track?.sid ?? '')
      .filter((sid) => this.publications.getPublished(sid) === undefined && this.publications.getPending(sid) === undefined);
    if (unknown.length > 0) {
      this.logger.warn({ tracks: unknown }, 'sync state names published tracks this server does not know; asking for a full reconnect');
      this.close(DisconnectReason.STATE_MISMATCH, { sendLeave: true, action: LeaveRequest_Action.RECONNECT });
      return;
    }
    const sub = sync.subscription;
    if (sub !== undefined && (sub.trackSids.length > 0 || sub.participantTracks.length > 0)) this.updateSubscription(sub);
    // Tracks the client has disabled (setEnabled(false), adaptive stream hiding a tile) stay disabled, whatever the
    // server's settings were (as LiveKit, which synthesizes UpdateTrackSettings{disabled} for each).
    if (sync.trackSidsDisabled.length > 0) this.updateTrackSettings(new UpdateTrackSettings({ trackSids: [...sync.trackSidsDisabled], disabled: true }));
    this.logger.debug(
      { published: sync.publishTracks.length, subscriptionTracks: sub?.trackSids.length ?? 0, subscribe: sub?.subscribe, disabled: sync.trackSidsDisabled.length },
      'sync state applied',
    );
  }

  /** UpdateSubscription from the client: handled by the room's subscription rules. */
  updateSubscription(req: UpdateSubscription): void {
    if (!this.closed) this.host.onUpdateSubscription(this, req);
  }

  /**
   * UpdateTrackSettings from the client as a subscriber (adaptive stream, setVideoQuality, setEnabled...): applied to
   * each named track it is subscribed to; others are ignored (a subscription may have just ended).
   */
  updateTrackSettings(req: UpdateTrackSettings): void {
    if (this.closed) return;
    for (const trackSid of req.trackSids) {
      if (!this.subscriptions.has(trackSid)) continue;
      this.media.updateTrackSettings(trackSid, {
        isDisabled: req.disabled,
        quality: req.quality,
        width: req.width,
        height: req.height,
        fps: req.fps,
        priority: req.priority,
      });
    }
  }

  /** SubscriptionPermission from the client as a publisher: handled by the room's subscription rules. */
  setSubscriptionPermission(permission: SubscriptionPermission): void {
    if (!this.closed) this.host.onSubscriptionPermission(this, permission);
  }

  /**
   * Server-side mute (RoomService MutePublishedTrack): marks the track muted, broadcasts, and sends
   * SignalResponse.mute so the client mutes locally. Returns the updated TrackInfo, or undefined if not published.
   */
  muteFromServer(trackSid: string, muted: boolean): TrackInfo | undefined {
    const published = this.publications.getPublished(trackSid);
    if (!published) return undefined;
    this.send(new SignalResponse({ message: { case: 'mute', value: new MuteTrackRequest({ sid: trackSid, muted }) } }));
    this.muteTrack(trackSid, muted);
    return published.info.clone();
  }

  /** Name/metadata/attribute changes from the server API; an empty attribute value deletes the key. */
  updateFromServer(change: { name?: string; metadata?: string; attributes?: Readonly<Record<string, string>> }): void {
    if (this.closed) return;
    if (change.name !== undefined) this.info.name = change.name;
    if (change.metadata !== undefined) this.info.metadata = change.metadata;
    for (const [k, v] of Object.entries(change.attributes ?? {})) {
      if (v === '') delete this.info.attributes[k];
      else this.info.attributes[k] = v;
    }
    this.bumpVersion();
    this.host.onParticipantChanged(this);
    this.onClaimsChanged?.();
  }

  /**
   * Permission change from the server API (UpdateParticipant). hidden, recorder and agent keep the token's
   * values. Published tracks no longer allowed are unpublished on the client (TrackUnpublishedResponse).
   */
  setPermission(perm: ParticipantPermission): void {
    if (this.closed) return;
    const g = this.grant;
    g.canPublish = perm.canPublish;
    g.canSubscribe = perm.canSubscribe;
    g.canPublishData = perm.canPublishData;
    g.canPublishSources = [...perm.canPublishSources];
    g.canUpdateOwnMetadata = perm.canUpdateMetadata;
    g.canSubscribeMetrics = perm.canSubscribeMetrics;
    this.info.permission = toParticipantPermission(g);
    this.bumpVersion();
    this.host.onParticipantChanged(this);
    this.onClaimsChanged?.();
    for (const t of this.publications.tracks) {
      if (canPublishSource(g, t.info.source)) continue;
      this.send(new SignalResponse({ message: { case: 'trackUnpublished', value: new TrackUnpublishedResponse({ trackSid: t.info.sid }) } }));
    }
  }

  // ---- media events ----

  private wireMedia(): void {
    const m = this.media;
    m.onListenerError = (err, event) => this.logger.error({ err, event }, 'media event handler threw');
    m.on('subscriberOffer', (sd) => {
      this.send(
        new SignalResponse({
          message: {
            case: 'offer',
            value: new SessionDescription({ type: 'offer', sdp: sd.sdp, id: sd.id, midToTrackId: { ...sd.midToTrackId } }),
          },
        }),
      );
    });
    m.on('mediaSectionsRequirement', ({ numAudios, numVideos }) => {
      const value = new MediaSectionsRequirement({ numAudios, numVideos });
      this.send(new SignalResponse({ message: { case: 'mediaSectionsRequirement', value } }));
    });
    m.on('iceCandidate', ({ candidateInit, target }) => {
      const json = normalizeCandidateInit(candidateInit);
      if (json === undefined) return;
      this.send(new SignalResponse({ message: { case: 'trickle', value: new TrickleRequest({ candidateInit: json, target }) } }));
    });
    m.on('data', ({ payload, kind }) => {
      if (!this.closed) this.host.onData(this, payload, kind);
    });
    m.on('trackPublished', (track) => {
      if (!this.closed) this.publications.mediaArrived(track);
    });
    m.on('trackEnded', ({ mid, msidTrackId }) => {
      if (!this.closed) this.publications.mediaEnded(mid, msidTrackId);
    });
    m.on('subscriptionBound', ({ trackSid, error }) => {
      if (!this.closed) this.host.onSubscriptionBound(this, trackSid, error);
    });
    m.on('streamStates', (changes) => {
      const streamStates = changes.map(
        (c) => new StreamStateInfo({ participantSid: c.publisherId, trackSid: c.trackId, state: c.state === 'paused' ? StreamState.PAUSED : StreamState.ACTIVE }),
      );
      this.send(new SignalResponse({ message: { case: 'streamStateUpdate', value: new StreamStateUpdate({ streamStates }) } }));
    });
    m.on('subscribedQuality', ({ mid, msidTrackId, qualities }) => {
      const track = this.publications.publishedByMid(mid, msidTrackId);
      if (track !== undefined) this.sendSubscribedQuality(track.info.sid, qualities);
    });
    m.on('mediaLost', ({ reason }) => {
      if (this.closed) return;
      this.logger.error({ reason }, 'participant media lost; asking the client to rejoin');
      this.close(DisconnectReason.MEDIA_FAILURE, { sendLeave: true, action: LeaveRequest_Action.RECONNECT });
    });
    m.on('connectionState', ({ target, state }) => {
      if (state === 'connected') this.hasMediaConnected = true;
      if (state === 'failed' && this.outbox !== undefined && !this.closed) {
        this.logger.info({ target }, 'peer connection failed while the signal connection is down; the participant leaves');
        this.close(DisconnectReason.SIGNAL_CLOSE);
        return;
      }
      const primary = this.isSubscriberPrimary ? SignalTarget.SUBSCRIBER : SignalTarget.PUBLISHER;
      if (target === primary && state === 'connected' && this.info.state === ParticipantInfo_State.JOINED) {
        this.info.state = ParticipantInfo_State.ACTIVE;
        this.bumpVersion();
        this.logger.info('participant active');
        this.host.onParticipantChanged(this);
      } else if (state === 'failed') {
        this.transportFailed(target);
      }
    });
  }

  /**
   * A PC lost consent (the client's path is gone: an address change, UDP blocked) while the signal connection is up.
   * As LiveKit: LeaveRequest{RESUME, CONNECTION_TIMEOUT} and the signal connection is closed, so the client resumes
   * at once (ICE restart, same session) instead of waiting for its own timeouts; if it does not come back within the
   * resume window, it leaves with CONNECTION_TIMEOUT.
   */
  private transportFailed(target: number): void {
    if (this.closed || this.outbox !== undefined) return;
    if (!this.hasMediaConnected) {
      // Never connected: nothing to resume; the client gives up on its own (and LiveKit's would rejoin).
      this.logger.warn({ target }, 'peer connection failed before connecting');
      return;
    }
    this.logger.warn({ target }, 'peer connection failed (no consent); asking the client to resume');
    this.signalLossReason = DisconnectReason.CONNECTION_TIMEOUT;
    const leave = new LeaveRequest({ reason: DisconnectReason.CONNECTION_TIMEOUT, action: LeaveRequest_Action.RESUME, canReconnect: true });
    this.send(new SignalResponse({ message: { case: 'leave', value: leave } }));
    const sink = this.sink;
    if (sink === undefined) {
      this.signalLost();
      return;
    }
    // Its close event makes this a lost signal connection (signalLost): kept for a resume.
    sink.close();
  }

  // ---- lifecycle ----

  /**
   * Idempotent. Optionally tells the client with a LeaveRequest (DISCONNECT), tells the room (which
   * broadcasts DISCONNECTED and tears down subscriptions), then closes media and the signal connection.
   */
  close(reason: DisconnectReason, opts: { sendLeave?: boolean; action?: LeaveRequest_Action } = {}): void {
    if (this.closed) return;
    if (opts.sendLeave) {
      const action = opts.action ?? LeaveRequest_Action.DISCONNECT;
      this.send(
        new SignalResponse({
          message: { case: 'leave', value: new LeaveRequest({ reason, action, canReconnect: action !== LeaveRequest_Action.DISCONNECT }) },
        }),
      );
    }
    this.closed = true;
    this.outbox = undefined;
    if (this.resumeTimer !== undefined) this.clock.clearTimeout(this.resumeTimer);
    this.resumeTimer = undefined;
    this.info.state = ParticipantInfo_State.DISCONNECTED;
    this.info.disconnectReason = reason;
    this.bumpVersion();
    this.logger.info({ reason: DisconnectReason[reason] }, 'participant closed');
    try {
      this.host.onParticipantClosed(this, reason);
    } catch (err) {
      this.logger.error({ err }, 'room failed to remove the participant');
    }
    this.publications.clear();
    this.subscriptions.clear();
    try {
      this.media.close();
    } catch (err) {
      this.logger.warn({ err }, 'closing media failed');
    }
    this.media.removeAllListeners();
    const sink = this.sink;
    this.sink = undefined;
    sink?.close();
  }

  /** Snapshot as it was at close (state DISCONNECTED), for the broadcast. */
  disconnectedSnapshot(): ParticipantInfo {
    const info = this.info.clone();
    info.tracks = [];
    return info;
  }

  /**
   * Dynacast, as LiveKit: per codec (lower-case name without "video/"), each quality enabled up to the highest one a
   * subscriber needs; OFF turns every layer off. The deprecated flat list repeats the first codec's.
   */
  private sendSubscribedQuality(trackSid: string, qualities: ReadonlyMap<string, number>): void {
    const subscribedCodecs: SubscribedCodec[] = [];
    for (const [mime, max] of qualities) {
      const list = [VideoQuality.LOW, VideoQuality.MEDIUM, VideoQuality.HIGH].map(
        (q) => new SubscribedQuality({ quality: q, enabled: max !== VideoQuality.OFF && q <= max }),
      );
      subscribedCodecs.push(new SubscribedCodec({ codec: mime.replace(/^video\//, '').toLowerCase(), qualities: list }));
    }
    if (subscribedCodecs.length === 0) return;
    const value = new SubscribedQualityUpdate({
      trackSid,
      subscribedQualities: subscribedCodecs[0]!.qualities.map((q) => q.clone()),
      subscribedCodecs,
    });
    this.send(new SignalResponse({ message: { case: 'subscribedQualityUpdate', value } }));
  }

  private sendTrackPublished(cid: string, info: TrackInfo): void {
    this.send(
      new SignalResponse({
        message: { case: 'trackPublished', value: new TrackPublishedResponse({ cid, track: info.clone() }) },
      }),
    );
  }
}
