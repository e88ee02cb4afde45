import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AccessToken } from 'livekit-server-sdk';
import { TrackSource } from '@livekit/protocol';
import { resolveVideoGrant, canPublishSource, toParticipantPermission, trackSourceFromName } from './grants.js';
import { verifyAccessToken } from './token.js';

test('defaults (livekit auth/grants.go)', () => {
  const g = resolveVideoGrant(undefined);
  assert.equal(g.roomJoin, false);
  assert.equal(g.canPublish, true);
  assert.equal(g.canSubscribe, true);
  assert.equal(g.canPublishData, true);
  assert.deepEqual(g.canPublishSources, []);
  assert.equal(g.canUpdateOwnMetadata, false);
  assert.equal(g.hidden, false);
  assert.equal(g.room, '');
});

test('canPublishData follows canPublish unless set', () => {
  const table: [object, boolean][] = [
    [{ canPublish: false }, false],
    [{ canPublish: true }, true],
    [{ canPublish: false, canPublishData: true }, true],
    [{ canPublish: true, canPublishData: false }, false],
  ];
  for (const [grant, want] of table) assert.equal(resolveVideoGrant(grant).canPublishData, want, JSON.stringify(grant));
});

test('canPublishSources from a livekit-server-sdk token', async () => {
  const at = new AccessToken('devkey', 'secret', { identity: 'x' });
  at.addGrant({ roomJoin: true, room: 'r', canPublishSources: [TrackSource.CAMERA, TrackSource.SCREEN_SHARE_AUDIO] });
  const claims = await verifyAccessToken(await at.toJwt(), { devkey: 'secret' });
  const g = resolveVideoGrant(claims.video);
  assert.deepEqual(g.canPublishSources, [1, 4]);
  assert.equal(canPublishSource(g, 1), true);
  assert.equal(canPublishSource(g, 2), false);
  assert.equal(canPublishSource(resolveVideoGrant({}), 2), true);
  assert.equal(canPublishSource(resolveVideoGrant({ canPublish: false }), 2), false);
  const perm = toParticipantPermission(g);
  assert.deepEqual(perm.canPublishSources, [TrackSource.CAMERA, TrackSource.SCREEN_SHARE_AUDIO]);
  assert.equal(perm.canSubscribe, true);
  assert.equal(perm.canPublishData, true);
});

test('source names that are Object.prototype members are unknown (a token naming "constructor" cannot inject a function)', () => {
  for (const name of ['constructor', '__proto__', 'toString', 'valueOf']) assert.equal(trackSourceFromName(name), undefined, name);
  assert.deepEqual(resolveVideoGrant({ canPublishSources: ['constructor', 'camera', 'hasOwnProperty'] }).canPublishSources, [1]);
});
