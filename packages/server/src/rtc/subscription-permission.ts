// A publisher's subscription permission (SignalRequest.subscription_permission) as rules keyed by subscriber
// identity: who may subscribe to which of its tracks. docs/livekit-protocol.md 4.7.
import type { SubscriptionPermission } from '@livekit/protocol';

/** Per subscriber identity: every track, or the listed track sids. `undefined` rules mean everyone is allowed. */
export type PermissionRules = ReadonlyMap<string, { readonly allTracks: boolean; readonly trackSids: ReadonlySet<string> }>;

export class SubscriptionPermissionError extends Error {
  readonly code = 'subscription_permission_invalid';
}

/**
 * Turns a SubscriptionPermission into rules. `allParticipants` wins over any list; each entry names its
 * subscriber by identity, or by participant sid (resolved now with `identityOfSid`; unknown sids are skipped,
 * as LiveKit does). Every update replaces the previous rules. Throws SubscriptionPermissionError when an entry
 * names neither an identity nor a sid.
 */
export function parseSubscriptionPermission(
  permission: SubscriptionPermission,
  identityOfSid: (sid: string) => string | undefined,
): PermissionRules | undefined {
  if (permission.allParticipants) return undefined;
  const rules = new Map<string, { allTracks: boolean; trackSids: Set<string> }>();
  for (const entry of permission.trackPermissions) {
    let identity = entry.participantIdentity;
    if (identity === '') {
      if (entry.participantSid === '') throw new SubscriptionPermissionError('a track permission needs a participant identity or sid');
      const resolved = identityOfSid(entry.participantSid);
      if (resolved === undefined) continue;
      identity = resolved;
    }
    rules.set(identity, { allTracks: entry.allTracks, trackSids: new Set(entry.trackSids) });
  }
  return rules;
}

/** Whether `subscriberIdentity` may subscribe to `trackSid` under `rules`. */
export function isSubscriptionAllowed(rules: PermissionRules | undefined, subscriberIdentity: string, trackSid: string): boolean {
  if (rules === undefined) return true;
  const entry = rules.get(subscriberIdentity);
  if (!entry) return false;
  return entry.allTracks || entry.trackSids.has(trackSid);
}
