// A room: its participants (by sid, with an identity index), joins with duplicate-identity eviction,
// ParticipantUpdate and paced RoomUpdate broadcasts, subscriptions (through subscription-manager.ts), data
// forwarding (room-data.ts), the speaker and quality observers while occupied, and the empty/departure timeouts.
import { SignalResponse, ParticipantUpdate, Room as RoomInfo, DisconnectReason, RoomUpdate, ParticipantInfo_State } from '@livekit/protocol';
import type { LeaveRequest_Action } from '@livekit/protocol';
import type { DataPacket, ICEServer, ParticipantInfo, ParticipantPermission, UpdateSubscription, SubscriptionPermission } from '@livekit/protocol';
import type { Logger, Clock, TimerHandle } from '@atrium/webrtc';
import type { Participant, ParticipantHost, PublishedTrack } from './participant.js';
import type { DataKind, SubscriptionBindError } from './participant-media.js';
import { PublishCodecs } from './publish-codecs.js';
import { joinResponse, reconnectResponse } from './join-response.js';
import { stampClientData, stampServerData, deliverData } from './room-data.js';
import { callRoomEvent } from './room-events.js';
import type { RoomEvents } from './room-events.js';
import { SpeakerDetector } from './speaker-detector.js';
import { ConnectionQualityMonitor } from './connection-quality-monitor.js';
import { RoomUpdatePacer } from './room-update-pacer.js';
import { SubscriptionManager } from './subscription-manager.js';

export { SERVER_VERSION, PROTOCOL_VERSION, PING_INTERVAL_SEC, PING_TIMEOUT_SEC } from './join-response.js';

export interface RoomOptions {
  sid: string;
  name: string;
  nodeId: string;
  emptyTimeoutSec: number;
  departureTimeoutSec: number;
  /** Participants admitted at most (agents and recorders excluded); 0 or absent = no limit. */
  maxParticipants?: number;
  /** SpeakersChanged interval, ms (audio.update_interval; default 400). */
  speakerUpdateIntervalMs?: number;
  clock: Clock;
  logger: Logger;
  /** Initial room metadata (CreateRoom). */
  metadata?: string;
  /** Called once when the room has closed. */
  onClosed: (room: Room) => void;
  /** Participant and track lifecycle listener (webhooks). */
  events?: RoomEvents;
  /** The codecs publishers may use (room.enabled_codecs); all forwardable ones when absent. */
  publishCodecs?: PublishCodecs;
  /** The TURN servers (and credentials) a participant is given on join and resume (docs/turn.md); none when absent. */
  iceServers?: IceServersFor;
}

export type IceServersFor = (participant: { sid: string; identity: string }) => ICEServer[];

export class Room implements ParticipantHost {
  readonly sid: string;
  readonly name: string;
  readonly logger: Logger;
  private readonly opts: RoomOptions;
  private readonly participants = new Map<string, Participant>();
  private readonly byIdentity = new Map<string, Participant>();
  private readonly creationTimeMs: number;
  private closeTimer: TimerHandle | undefined;
  private closed = false;
  private metadataValue: string;
  /** Sids of participants reported to `events.participantJoined` (they became ACTIVE). */
  private readonly announced = new Set<string>();
  /** SpeakersChanged and ConnectionQualityUpdate, each on its own timer. */
  private readonly speakers: SpeakerDetector;
  private readonly quality: ConnectionQualityMonitor;
  /** RoomUpdate pacing: metadata and recording at once, counts at most every 5 s. */
  private readonly roomUpdates: RoomUpdatePacer;
  /** A recorder is in the room (Room.active_recording). */
  private activeRecording = false;
  /** Wanted vs actual subscriptions and publishers' subscription permissions; subscribes through this room. */
  readonly subscriptionRules: SubscriptionManager;

  constructor(opts: RoomOptions) {
    this.opts = opts;
    this.metadataValue = opts.metadata ?? '';
    this.sid = opts.sid;
    this.name = opts.name;
    this.logger = opts.logger;
    this.creationTimeMs = opts.clock.wallMs();
    this.roomUpdates = new RoomUpdatePacer({ clock: opts.clock, send: () => this.sendRoomUpdate() });
    this.subscriptionRules = new SubscriptionManager({
      host: {
        participants: () => this.participants.values(),
        getParticipant: (sid) => this.participants.get(sid),
        attach: (subscriber, publisher, track) => this.subscribe(subscriber, publisher, track),
        detach: (subscriberSid, track) => this.unsubscribe(subscriberSid, track),
      },
    });
    // Closes the room if nobody ever joins.
    this.armCloseTimer(opts.emptyTimeoutSec);
    const observed = { clock: opts.clock, participants: () => this.participants.values(), logger: opts.logger };
    this.speakers = new SpeakerDetector({
      ...observed,
      ...(opts.speakerUpdateIntervalMs !== undefined ? { updateIntervalMs: opts.speakerUpdateIntervalMs } : {}),
    });
    this.quality = new ConnectionQualityMonitor(observed);
  }

  get isClosed(): boolean {
    return this.closed;
  }
  get participantCount(): number {
    return this.participants.size;
  }
  getParticipant(sid: string): Participant | undefined {
    return this.participants.get(sid);
  }
  getParticipantByIdentity(identity: string): Participant | undefined {
    return this.byIdentity.get(identity);
  }
  /** Current participants, in join order. */
  listParticipants(): Participant[] {
    return [...this.participants.values()];
  }
  get metadata(): string {
    return this.metadataValue;
  }
  get maxParticipants(): number {
    return this.opts.maxParticipants ?? 0;
  }

  /** Sets the room metadata and sends a RoomUpdate to every participant. */
  setMetadata(metadata: string): void {
    if (this.closed) return;
    this.metadataValue = metadata;
    this.roomUpdates.markChanged({ immediate: true });
  }

  /** Sends RoomUpdate with the current room info to every participant (paced by `roomUpdates`). */
  private sendRoomUpdate(): void {
    if (this.closed || this.participants.size === 0) return;
    const msg = new SignalResponse({ message: { case: 'roomUpdate', value: new RoomUpdate({ room: this.info() }) } });
    for (const q of [...this.participants.values()]) q.send(msg);
  }

  /** Recomputes active_recording; a change goes out at once, other changes (counts) paced. */
  private roomChanged(): void {
    let recording = false;
    for (const q of this.participants.values()) if (q.grant.recorder) recording = true;
    const recordingChanged = recording !== this.activeRecording;
    this.activeRecording = recording;
    this.roomUpdates.markChanged({ immediate: recordingChanged });
  }

  /**
   * Delivers a server-originated DataPacket (no sender) to everyone, or to `destinationIdentities` when
   * that is non-empty (RoomService SendData).
   */
  sendServerData(pkt: DataPacket, kind: DataKind, destinationIdentities: readonly string[]): void {
    deliverData(this.participants.values(), stampServerData(pkt, kind, destinationIdentities), kind);
  }

  info(): RoomInfo {
    let visible = 0;
    let publishers = 0;
    for (const p of this.participants.values()) {
      if (p.isHidden) continue;
      if (!p.isDependent) visible++;
      if (p.isPublisher) publishers++;
    }
    return new RoomInfo({
      sid: this.sid,
      name: this.name,
      metadata: this.metadataValue,
      emptyTimeout: this.opts.emptyTimeoutSec,
      departureTimeout: this.opts.departureTimeoutSec,
      creationTime: BigInt(Math.floor(this.creationTimeMs / 1000)),
      creationTimeMs: BigInt(Math.floor(this.creationTimeMs)),
      numParticipants: visible,
      numPublishers: publishers,
      maxParticipants: this.maxParticipants,
      activeRecording: this.activeRecording,
      enabledCodecs: (this.opts.publishCodecs ?? PublishCodecs.all()).toProto(),
    });
  }

  /**
   * Admits a participant whose signal sink is attached: evicts a same-identity participant, sends the
   * JoinResponse, announces the newcomer, starts its subscriber PC and subscribes it to existing tracks.
   */
  join(p: Participant): void {
    if (this.closed) throw new Error(`room ${this.name} is closed`);
    const old = this.byIdentity.get(p.identity);
    if (old) {
      this.logger.info({ participant: p.identity, old: old.sid, new: p.sid }, 'duplicate identity: replacing the old session');
      old.close(DisconnectReason.DUPLICATE_IDENTITY, { sendLeave: true });
    }
    this.clearCloseTimer();
    this.speakers.start(); // both run while the room is occupied
    this.quality.start();
    this.participants.set(p.sid, p);
    this.byIdentity.set(p.identity, p);
    p.markJoined();

    const others: ParticipantInfo[] = [];
    for (const q of this.participants.values()) if (q !== p && !q.isHidden) others.push(q.snapshot());
    p.send(joinResponse({
      room: this.info(), participant: p.snapshot(), others, nodeId: this.opts.nodeId, subscriberPrimary: p.isSubscriberPrimary,
      publishCodecs: this.opts.publishCodecs ?? PublishCodecs.all(),
      ...(this.opts.iceServers ? { iceServers: this.opts.iceServers(p) } : {}),
    }));
    this.logger.info({ participant: p.identity, pID: p.sid, count: this.participants.size }, 'participant joined');
    if (!p.isHidden) this.sendUpdate(p.snapshot(), (q) => q !== p);
    if (p.isClosed) return;
    this.roomChanged();
    if (p.isSubscriberPrimary) p.media.startSubscriber();
    this.subscriptionRules.participantJoined(p);
  }

  /**
   * Server-driven subscription changes (RoomService UpdateSubscriptions): subscribes `subscriber` to, or
   * unsubscribes it from, the named tracks of visible publishers, within the publishers' permissions.
   * Unknown sids get SubscriptionResponse{TRACK_NOTFOUND} on the participant's signal connection.
   */
  updateSubscriptions(subscriber: Participant, trackSids: readonly string[], subscribe: boolean): void {
    this.subscriptionRules.update(subscriber, trackSids, subscribe);
  }

  /**
   * Applies a permission change (RoomService UpdateParticipant) and then the subscriptions it implies:
   * losing canSubscribe drops every subscription; gaining it auto-subscribes when the participant does.
   */
  setParticipantPermission(p: Participant, permission: ParticipantPermission): void {
    if (this.participants.get(p.sid) !== p) return;
    const couldSubscribe = p.canSubscribe;
    p.setPermission(permission);
    if (couldSubscribe !== p.canSubscribe) this.subscriptionRules.canSubscribeChanged(p);
  }

  /** Sends a ParticipantUpdate with `info` to every participant that `filter` accepts. */
  private sendUpdate(info: ParticipantInfo, filter: (q: Participant) => boolean): void {
    const msg = new SignalResponse({ message: { case: 'update', value: new ParticipantUpdate({ participants: [info] }) } });
    for (const q of [...this.participants.values()]) if (filter(q)) q.send(msg);
  }

  /** Broadcasts p's snapshot: to everyone (p included), or only to p when p is hidden. */
  private broadcast(p: Participant): void {
    const info = p.snapshot();
    if (p.isHidden) this.sendUpdate(info, (q) => q === p);
    else this.sendUpdate(info, () => true);
  }

  private subscribe(subscriber: Participant, publisher: Participant, track: PublishedTrack): void {
    const trackSid = track.info.sid;
    if (subscriber.isClosed || subscriber.subscriptions.has(trackSid)) return;
    subscriber.subscriptions.add(trackSid);
    track.subscribers.add(subscriber.sid);
    try {
      subscriber.media.subscribe(track.source, { publisherSid: publisher.sid, trackSid });
      subscriber.logger.debug({ track: trackSid, publisher: publisher.identity, publisherID: publisher.sid }, 'subscribed');
    } catch (err) {
      subscriber.logger.error({ err, track: trackSid }, 'subscribe failed');
    }
  }

  private unsubscribe(subscriberSid: string, track: PublishedTrack): void {
    const trackSid = track.info.sid;
    track.subscribers.delete(subscriberSid);
    const subscriber = this.participants.get(subscriberSid);
    if (!subscriber || !subscriber.subscriptions.delete(trackSid)) return;
    try {
      subscriber.media.unsubscribe(trackSid);
      subscriber.logger.debug({ track: trackSid }, 'unsubscribed');
    } catch (err) {
      subscriber.logger.error({ err, track: trackSid }, 'unsubscribe failed');
    }
  }

  // ---- ParticipantHost ----

  onParticipantChanged(p: Participant): void {
    if (this.participants.get(p.sid) !== p) return;
    this.broadcast(p);
    if (p.state === ParticipantInfo_State.ACTIVE && !this.announced.has(p.sid)) {
      this.announced.add(p.sid);
      this.subscriptionRules.participantActive(p);
      const events = this.opts.events;
      if (events?.participantJoined) callRoomEvent(this.logger, () => events.participantJoined?.(this.info(), p.snapshot()));
    }
  }

  onTrackPublished(p: Participant, track: PublishedTrack): void {
    if (this.participants.get(p.sid) !== p) return;
    const events = this.opts.events;
    if (events?.trackPublished) callRoomEvent(this.logger, () => events.trackPublished?.(this.info(), p.snapshot(), track.info));
    // The update must reach subscribers before any media (and subscriber offer) for the track.
    this.broadcast(p);
    this.roomChanged();
    this.subscriptionRules.trackPublished(p, track);
  }

  onTrackUnpublished(p: Participant, track: PublishedTrack): void {
    for (const sid of [...track.subscribers]) this.unsubscribe(sid, track);
    this.subscriptionRules.trackUnpublished(track);
    if (this.participants.get(p.sid) !== p) return;
    const events = this.opts.events;
    if (events?.trackUnpublished) callRoomEvent(this.logger, () => events.trackUnpublished?.(this.info(), p.snapshot(), track.info));
    this.broadcast(p);
    this.roomChanged();
  }

  onParticipantClosed(p: Participant, reason: DisconnectReason): void {
    if (this.participants.get(p.sid) !== p) return;
    this.participants.delete(p.sid);
    if (this.byIdentity.get(p.identity) === p) this.byIdentity.delete(p.identity);
    for (const track of p.tracks) for (const sid of [...track.subscribers]) this.unsubscribe(sid, track);
    // Forget p as a subscriber of others' tracks.
    for (const q of this.participants.values()) for (const t of q.tracks) t.subscribers.delete(p.sid);
    this.subscriptionRules.participantLeft(p);
    if (!p.isHidden) this.sendUpdate(p.disconnectedSnapshot(), () => true);
    this.logger.info({ participant: p.identity, pID: p.sid, reason: DisconnectReason[reason], count: this.participants.size }, 'participant left');
    this.reportLeft(p, reason);
    this.roomChanged();
    if (this.participants.size === 0) {
      this.speakers.close();
      this.quality.close();
    }
    if (this.participants.size === 0 && !this.closed) this.armCloseTimer(this.opts.departureTimeoutSec);
  }

  /** The first message of a resumed signal connection. */
  reconnectResponse(p?: { sid: string; identity: string }): SignalResponse {
    const iceServers = p !== undefined && this.opts.iceServers ? this.opts.iceServers(p) : undefined;
    return reconnectResponse({ nodeId: this.opts.nodeId, ...(iceServers ? { iceServers } : {}) });
  }

  /**
   * p resumed (docs/resume.md): after what it missed, a snapshot of every participant it may see (itself included) and
   * of the room, as LiveKit sends after a ReconnectResponse.
   */
  onParticipantResumed(p: Participant): void {
    if (this.participants.get(p.sid) !== p) return;
    const infos: ParticipantInfo[] = [];
    for (const q of this.participants.values()) if (q === p || !q.isHidden) infos.push(q.snapshot());
    p.send(new SignalResponse({ message: { case: 'update', value: new ParticipantUpdate({ participants: infos }) } }));
    p.send(new SignalResponse({ message: { case: 'roomUpdate', value: new RoomUpdate({ room: this.info() }) } }));
  }

  onUpdateSubscription(p: Participant, req: UpdateSubscription): void {
    if (this.participants.get(p.sid) === p) this.subscriptionRules.handleUpdateSubscription(p, req);
  }

  onSubscriptionPermission(p: Participant, permission: SubscriptionPermission): void {
    if (this.participants.get(p.sid) === p) this.subscriptionRules.setSubscriptionPermission(p, permission);
  }

  onSubscriptionBound(p: Participant, trackSid: string, error: SubscriptionBindError | undefined): void {
    if (this.participants.get(p.sid) === p) this.subscriptionRules.subscriptionBound(p, trackSid, error);
  }

  onData(sender: Participant, payload: Uint8Array, kind: DataKind): void {
    const pkt = stampClientData(sender, payload, kind, (sid) => this.participants.get(sid)?.identity);
    if (pkt) deliverData(this.participants.values(), pkt, kind, sender);
  }

  /** Reports p's tracks as unpublished, then p as left when it was reported as joined. */
  private reportLeft(p: Participant, reason: DisconnectReason): void {
    const events = this.opts.events;
    const wasAnnounced = this.announced.delete(p.sid);
    if (!events) return;
    const room = this.info();
    const info = p.snapshot();
    info.disconnectReason = reason;
    for (const track of p.tracks) callRoomEvent(this.logger, () => events.trackUnpublished?.(room, info, track.info));
    if (wasAnnounced) callRoomEvent(this.logger, () => events.participantLeft?.(room, info));
  }

  // ---- lifecycle ----

  private armCloseTimer(timeoutSec: number): void {
    this.clearCloseTimer();
    this.closeTimer = this.opts.clock.setTimeout(() => {
      this.closeTimer = undefined;
      if (this.participants.size === 0) {
        this.logger.info('room closed: empty');
        this.close();
      }
    }, timeoutSec * 1000);
  }

  private clearCloseTimer(): void {
    if (this.closeTimer !== undefined) this.opts.clock.clearTimeout(this.closeTimer);
    this.closeTimer = undefined;
  }

  /**
   * Idempotent: disconnects every participant (with a LeaveRequest carrying `reason`, and `action`: DISCONNECT by
   * default, RECONNECT when the node goes away and the clients should rejoin elsewhere) and frees timers.
   */
  close(reason: DisconnectReason = DisconnectReason.ROOM_CLOSED, opts: { action?: LeaveRequest_Action } = {}): void {
    if (this.closed) return;
    this.closed = true;
    this.clearCloseTimer();
    this.speakers.close();
    this.quality.close();
    this.roomUpdates.close();
    for (const p of [...this.participants.values()]) p.close(reason, { sendLeave: true, ...(opts.action !== undefined ? { action: opts.action } : {}) });
    this.participants.clear();
    this.byIdentity.clear();
    this.opts.onClosed(this);
  }
}
