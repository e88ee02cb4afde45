// The room's subscription rules: which tracks each participant wants (auto-subscribe, its own UpdateSubscription
// requests, RoomService UpdateSubscriptions), what publishers allow (SubscriptionPermission), and reconciling
// both with what is subscribed. docs/livekit-protocol.md 4.1 and 4.7.
import {
  SignalResponse,
  SubscriptionPermissionUpdate,
  SubscriptionResponse,
  SubscriptionError,
  TrackSubscribed,
  ParticipantInfo_State,
} from '@livekit/protocol';
import type { SubscriptionPermission, UpdateSubscription } from '@livekit/protocol';
import type { Participant, PublishedTrack } from './participant.js';
import { parseSubscriptionPermission, isSubscriptionAllowed, SubscriptionPermissionError } from './subscription-permission.js';
import type { PermissionRules } from './subscription-permission.js';
import type { SubscriptionBindError } from './participant-media.js';

/** What the manager needs from its room: the participants and the one place that (un)subscribes media. */
export interface SubscriptionHost {
  /** Current participants (any order); the manager skips closed and hidden ones where it matters. */
  participants(): Iterable<Participant>;
  getParticipant(sid: string): Participant | undefined;
  /** Subscribes `subscriber` to `track` (adds it to both sides' sets and to the subscriber's media). */
  attach(subscriber: Participant, publisher: Participant, track: PublishedTrack): void;
  /** Removes the subscription of `subscriberSid` to `track`, if any. */
  detach(subscriberSid: string, track: PublishedTrack): void;
}

/** One wanted subscription: `toldAllowed` is what the subscriber was last told (nothing told = allowed). */
interface Want {
  toldAllowed: boolean | undefined;
}

export class SubscriptionManager {
  private readonly host: SubscriptionHost;
  /** subscriber sid -> track sid -> wanted subscription. */
  private readonly wants = new Map<string, Map<string, Want>>();
  /** publisher sid -> its rules; absent = everyone allowed (LiveKit's default). */
  private readonly rules = new Map<string, PermissionRules>();
  /** Tracks whose publisher was sent TrackSubscribed (once per track, when its first visible subscriber is bound). */
  private readonly everSubscribed = new Set<string>();

  constructor(opts: { host: SubscriptionHost }) {
    this.host = opts.host;
  }

  // ---- room events ----

  /** A participant joined: with auto-subscribe it wants every visible track of the others. */
  participantJoined(p: Participant): void {
    if (!p.autoSubscribe) return;
    for (const publisher of [...this.host.participants()]) {
      if (publisher === p || publisher.isHidden) continue;
      for (const track of publisher.tracks) this.want(p, track.info.sid);
    }
    this.reconcileSubscriber(p);
  }

  /** A track was published (and announced): every auto-subscribing participant wants it. */
  trackPublished(publisher: Participant, track: PublishedTrack): void {
    if (publisher.isHidden) return;
    for (const q of [...this.host.participants()]) {
      if (q === publisher || !q.autoSubscribe) continue;
      this.want(q, track.info.sid);
      this.reconcile(q, publisher, track);
    }
  }

  /** A track is gone: nobody wants it any more (the room has removed its subscriptions). */
  trackUnpublished(track: PublishedTrack): void {
    const sid = track.info.sid;
    for (const wanted of this.wants.values()) wanted.delete(sid);
    this.everSubscribed.delete(sid);
  }

  /** A participant left: forget what it wanted, its rules, and wants of its tracks. */
  participantLeft(p: Participant): void {
    this.wants.delete(p.sid);
    this.rules.delete(p.sid);
    for (const track of p.tracks) this.trackUnpublished(track);
  }

  /**
   * The participant became ACTIVE: tell it what it was denied meanwhile. Permission updates wait for ACTIVE
   * because livekit-client drops them until it has applied the JoinResponse (LiveKit subscribes only then).
   */
  participantActive(p: Participant): void {
    this.reconcileSubscriber(p);
  }

  /** The subscriber's canSubscribe may have changed: subscribe or unsubscribe everything it wants. */
  canSubscribeChanged(p: Participant): void {
    this.reconcileSubscriber(p);
  }

  // ---- requests ----

  /** SignalRequest.subscription from the client itself. */
  handleUpdateSubscription(subscriber: Participant, req: UpdateSubscription): void {
    const sids = [...req.trackSids];
    for (const pt of req.participantTracks) sids.push(...pt.trackSids);
    this.update(subscriber, sids, req.subscribe);
  }

  /**
   * Subscribes `subscriber` to, or unsubscribes it from, the named tracks (client request or RoomService
   * UpdateSubscriptions). A track that is not published by a visible other participant (or, for a hidden recorder,
   * a hidden one) gets
   * SubscriptionResponse{TRACK_NOTFOUND} when subscribing. A renewed request for a denied track repeats the
   * denial (the client resets its own `allowed` flag when it asks).
   */
  update(subscriber: Participant, trackSids: readonly string[], subscribe: boolean): void {
    if (subscriber.isClosed || this.host.getParticipant(subscriber.sid) !== subscriber) return;
    for (const trackSid of new Set(trackSids)) {
      const found = this.findTrack(subscriber, trackSid);
      if (!subscribe) {
        this.wants.get(subscriber.sid)?.delete(trackSid);
        if (found) this.reconcile(subscriber, found.publisher, found.track);
        continue;
      }
      if (!found) {
        subscriber.logger.debug({ track: trackSid }, 'subscription to an unknown track');
        subscriber.send(
          new SignalResponse({
            message: {
              case: 'subscriptionResponse',
              value: new SubscriptionResponse({ trackSid, err: SubscriptionError.SE_TRACK_NOTFOUND }),
            },
          }),
        );
        continue;
      }
      const want = this.want(subscriber, trackSid);
      if (want.toldAllowed === false) want.toldAllowed = undefined;
      this.reconcile(subscriber, found.publisher, found.track);
    }
  }

  /**
   * SignalRequest.subscription_permission from a publisher: replaces its rules, then tells affected subscribers
   * (SubscriptionPermissionUpdate) and subscribes or unsubscribes them. An invalid message keeps the old rules.
   */
  setSubscriptionPermission(publisher: Participant, permission: SubscriptionPermission): void {
    if (publisher.isClosed || this.host.getParticipant(publisher.sid) !== publisher) return;
    let rules: PermissionRules | undefined;
    try {
      rules = parseSubscriptionPermission(permission, (sid) => this.host.getParticipant(sid)?.identity);
    } catch (err) {
      if (!(err instanceof SubscriptionPermissionError)) throw err;
      publisher.logger.info({ err: err.message }, 'subscription permission rejected');
      return;
    }
    if (rules === undefined) this.rules.delete(publisher.sid);
    else this.rules.set(publisher.sid, rules);
    publisher.logger.debug({ allParticipants: rules === undefined, entries: rules?.size ?? 0 }, 'subscription permission updated');
    for (const q of [...this.host.participants()]) {
      if (q === publisher) continue;
      for (const track of publisher.tracks) this.reconcile(q, publisher, track);
    }
  }

  /**
   * The subscriber answered a subscription's m-line. Bound: the publisher hears TrackSubscribed the first time one
   * of its tracks gets a (non-hidden) subscriber, as LiveKit does on bind. Refused (the subscriber cannot decode
   * the codec): the subscription is dropped and the subscriber gets SubscriptionResponse{CODEC_UNSUPPORTED}.
   */
  subscriptionBound(subscriber: Participant, trackSid: string, error: SubscriptionBindError | undefined): void {
    const found = this.findTrack(subscriber, trackSid);
    if (error !== undefined) {
      subscriber.logger.info({ track: trackSid, error }, 'subscription refused by the subscriber');
      this.wants.get(subscriber.sid)?.delete(trackSid);
      if (found) this.reconcile(subscriber, found.publisher, found.track);
      subscriber.send(
        new SignalResponse({
          message: {
            case: 'subscriptionResponse',
            value: new SubscriptionResponse({ trackSid, err: SubscriptionError.SE_CODEC_UNSUPPORTED }),
          },
        }),
      );
      return;
    }
    if (!found || subscriber.isHidden || !subscriber.subscriptions.has(trackSid) || this.everSubscribed.has(trackSid)) return;
    this.everSubscribed.add(trackSid);
    found.publisher.send(new SignalResponse({ message: { case: 'trackSubscribed', value: new TrackSubscribed({ trackSid }) } }));
  }

  /** Whether `subscriber` may subscribe to `trackSid` of `publisher` under the publisher's rules. */
  isAllowed(publisher: Participant, subscriber: Participant, trackSid: string): boolean {
    return isSubscriptionAllowed(this.rules.get(publisher.sid), subscriber.identity, trackSid);
  }

  /** Track sids `subscriber` wants (for tests and diagnostics). */
  wantedBy(subscriber: Participant): string[] {
    return [...(this.wants.get(subscriber.sid)?.keys() ?? [])];
  }

  // ---- reconciliation ----

  private want(subscriber: Participant, trackSid: string): Want {
    let wanted = this.wants.get(subscriber.sid);
    if (!wanted) {
      wanted = new Map();
      this.wants.set(subscriber.sid, wanted);
    }
    let want = wanted.get(trackSid);
    if (!want) {
      want = { toldAllowed: undefined };
      wanted.set(trackSid, want);
    }
    return want;
  }

  private reconcileSubscriber(subscriber: Participant): void {
    for (const publisher of [...this.host.participants()]) {
      if (publisher === subscriber) continue;
      for (const track of publisher.tracks) this.reconcile(subscriber, publisher, track);
    }
  }

  /**
   * Brings one (subscriber, track) pair to what the rules say: subscribed when wanted, canSubscribe and allowed;
   * unsubscribed otherwise. A wanted pair whose permission changed is told first, as LiveKit does (once the
   * subscriber is ACTIVE).
   */
  private reconcile(subscriber: Participant, publisher: Participant, track: PublishedTrack): void {
    const trackSid = track.info.sid;
    const isSubscribed = subscriber.subscriptions.has(trackSid);
    const want = this.wants.get(subscriber.sid)?.get(trackSid);
    if (!want || subscriber.isClosed || !subscriber.canSubscribe || !canSubscribeTo(subscriber, publisher)) {
      if (isSubscribed) this.host.detach(subscriber.sid, track);
      return;
    }
    const allowed = this.isAllowed(publisher, subscriber, trackSid);
    if ((want.toldAllowed ?? true) !== allowed && subscriber.state === ParticipantInfo_State.ACTIVE) {
      want.toldAllowed = allowed;
      subscriber.send(
        new SignalResponse({
          message: {
            case: 'subscriptionPermissionUpdate',
            value: new SubscriptionPermissionUpdate({ participantSid: publisher.sid, trackSid, allowed }),
          },
        }),
      );
    }
    if (!allowed) {
      if (isSubscribed) {
        subscriber.logger.info({ track: trackSid, publisher: publisher.identity }, 'subscription revoked by the publisher');
        this.host.detach(subscriber.sid, track);
      }
      return;
    }
    if (!isSubscribed) this.host.attach(subscriber, publisher, track);
  }

  /** The track `trackSid` of a visible participant other than `subscriber`. */
  private findTrack(subscriber: Participant, trackSid: string): { publisher: Participant; track: PublishedTrack } | undefined {
    for (const publisher of this.host.participants()) {
      if (publisher === subscriber || publisher.isClosed || !canSubscribeTo(subscriber, publisher)) continue;
      for (const track of publisher.tracks) if (track.info.sid === trackSid) return { publisher, track };
    }
    return undefined;
  }
}

/** A hidden publisher (a transcoded WHIP ingress's sender) is for hidden recorders only (its transcoder). */
function canSubscribeTo(subscriber: Participant, publisher: Participant): boolean {
  return !publisher.isHidden || (subscriber.isHidden && subscriber.isRecorder);
}
