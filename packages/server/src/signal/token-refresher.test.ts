import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TokenVerifier } from 'livekit-server-sdk';
import { resolveVideoGrant } from '@atrium/protocol';
import type { ClaimGrants } from '@atrium/protocol';
import { mintRefreshToken, currentVideoGrant, REFRESH_TOKEN_MIN_TTL_SEC, TOKEN_REFRESH_INTERVAL_MS } from './token-refresher.js';

const claims: ClaimGrants = {
  identity: 'alice',
  apiKey: 'devkey',
  name: 'Alice',
  metadata: 'm0',
  attributes: { a: '1' },
  kind: 'agent',
  video: { roomJoin: true, room: 'r1', canUpdateOwnMetadata: true, hidden: true, canPublishSources: ['microphone'] },
  roomConfig: { maxParticipants: 3 },
  exp: 1_700_000_000 + 3600,
};

test('LiveKit timing: every 5 min, at least 10 min validity', () => {
  assert.equal(TOKEN_REFRESH_INTERVAL_MS, 300_000);
  assert.equal(REFRESH_TOKEN_MIN_TTL_SEC, 600);
});

test('a refreshed token verifies with the same key and carries current values and the original claims', async () => {
  const grant = resolveVideoGrant(claims.video);
  grant.canPublishSources = [1, 3];
  grant.canSubscribe = false;
  const nowSec = Math.floor(Date.now() / 1000);
  const token = await mintRefreshToken({
    claims: { ...claims, exp: nowSec + 3600 },
    apiSecret: 'secret',
    name: 'Alice B',
    metadata: 'm1',
    attributes: { a: '1', b: '2' },
    grant,
    nowSec,
  });
  const payload = await new TokenVerifier('devkey', 'secret').verify(token);
  assert.equal(payload.iss, 'devkey');
  assert.equal(payload.sub, 'alice');
  assert.equal(payload.name, 'Alice B');
  assert.equal(payload.metadata, 'm1');
  assert.deepEqual(payload.attributes, { a: '1', b: '2' });
  assert.equal(payload.kind, 'agent');
  assert.deepEqual((payload as { roomConfig?: unknown }).roomConfig, { maxParticipants: 3 });
  assert.equal(payload.video?.room, 'r1');
  assert.equal(payload.video?.roomJoin, true);
  assert.equal(payload.video?.hidden, true);
  assert.equal(payload.video?.canSubscribe, false);
  assert.deepEqual(payload.video?.canPublishSources, ['camera', 'screen_share']);
  assert.equal(payload.exp, nowSec + 3600, 'the original validity when longer than 10 min');
  await assert.rejects(new TokenVerifier('devkey', 'other').verify(token));
});

test('a token about to expire is refreshed for 10 minutes', async () => {
  const nowSec = Math.floor(Date.now() / 1000);
  const token = await mintRefreshToken({
    claims: { ...claims, exp: nowSec + 30 },
    apiSecret: 'secret',
    name: '',
    metadata: '',
    attributes: {},
    grant: resolveVideoGrant(claims.video),
    nowSec,
  });
  const payload = await new TokenVerifier('devkey', 'secret').verify(token);
  assert.equal(payload.exp, nowSec + 600);
});

test('currentVideoGrant keeps the token fields a permission cannot change', () => {
  const g = currentVideoGrant({ roomJoin: true, room: 'r', recorder: true, roomAdmin: true }, resolveVideoGrant({ canPublish: false }));
  assert.deepEqual(g, {
    roomJoin: true,
    room: 'r',
    recorder: true,
    roomAdmin: true,
    canPublish: false,
    canSubscribe: true,
    canPublishData: false,
    canPublishSources: [],
    canUpdateOwnMetadata: false,
    canSubscribeMetrics: false,
  });
});
