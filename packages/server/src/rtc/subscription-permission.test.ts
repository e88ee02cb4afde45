// Subscription permission rules: parsing (identity, sid, all participants) and the allow decision.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SubscriptionPermission, TrackPermission } from '@livekit/protocol';
import { parseSubscriptionPermission, isSubscriptionAllowed, SubscriptionPermissionError } from './subscription-permission.js';

const sids: Record<string, string> = { PA_bob: 'bob', PA_carol: 'carol' };
const identityOfSid = (sid: string): string | undefined => sids[sid];

test('allParticipants allows everyone and wins over any list', () => {
  const rules = parseSubscriptionPermission(
    new SubscriptionPermission({ allParticipants: true, trackPermissions: [new TrackPermission({ participantIdentity: 'bob' })] }),
    identityOfSid,
  );
  assert.equal(rules, undefined);
  assert.equal(isSubscriptionAllowed(rules, 'anyone', 'TR_x'), true);
});

test('per identity and per sid, all tracks or listed tracks; everyone else denied', () => {
  const rules = parseSubscriptionPermission(
    new SubscriptionPermission({
      allParticipants: false,
      trackPermissions: [
        new TrackPermission({ participantIdentity: 'alice', allTracks: true }),
        new TrackPermission({ participantSid: 'PA_bob', trackSids: ['TR_cam'] }),
        new TrackPermission({ participantSid: 'PA_gone', allTracks: true }), // unknown sid: skipped
        new TrackPermission({ participantIdentity: 'dave' }), // listed, but no track
      ],
    }),
    identityOfSid,
  );
  const cases: [string, string, boolean][] = [
    ['alice', 'TR_cam', true],
    ['alice', 'TR_mic', true],
    ['bob', 'TR_cam', true],
    ['bob', 'TR_mic', false],
    ['carol', 'TR_cam', false],
    ['dave', 'TR_cam', false],
    ['PA_gone', 'TR_cam', false],
  ];
  for (const [identity, track, allowed] of cases) {
    assert.equal(isSubscriptionAllowed(rules, identity, track), allowed, `${identity} -> ${track}`);
  }
});

test('an empty list denies everyone; an entry without identity or sid is an error', () => {
  const none = parseSubscriptionPermission(new SubscriptionPermission({ allParticipants: false }), identityOfSid);
  assert.equal(isSubscriptionAllowed(none, 'bob', 'TR_cam'), false);
  assert.throws(
    () => parseSubscriptionPermission(new SubscriptionPermission({ trackPermissions: [new TrackPermission({ allTracks: true })] }), identityOfSid),
    SubscriptionPermissionError,
  );
});
