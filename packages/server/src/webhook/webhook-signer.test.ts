// Tests for webhook body encoding and signing: golden protojson, SHA-256 vector, and livekit-server-sdk's verifier.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { WebhookEvent, Room, ParticipantInfo, TrackInfo, TrackType } from '@livekit/protocol';
import { WebhookReceiver } from 'livekit-server-sdk';
import { encodeWebhookBody, signWebhook, webhookBodySha256, WEBHOOK_TOKEN_TTL_SEC } from './webhook-signer.js';

const KEY = 'APIkey123';
const SECRET = 'secret-of-at-least-32-characters-long';

test('body is protojson: camelCase, defaults omitted, int64 as strings', () => {
  const event = new WebhookEvent({
    event: 'track_published',
    room: new Room({ name: 'r', sid: 'RM_a', emptyTimeout: 300, creationTime: 1700000000n }),
    participant: new ParticipantInfo({ sid: 'PA_b', identity: 'alice', joinedAt: 5n }),
    track: new TrackInfo({ sid: 'TR_c', type: TrackType.AUDIO }),
    id: 'EV_x',
    createdAt: 1700000000n,
  });
  assert.equal(
    encodeWebhookBody(event),
    '{"event":"track_published","room":{"sid":"RM_a","name":"r","emptyTimeout":300,"creationTime":"1700000000"},' +
      '"participant":{"sid":"PA_b","identity":"alice","joinedAt":"5"},"id":"EV_x","createdAt":"1700000000",' +
      '"track":{"sid":"TR_c"}}',
  );
});

test('sha256 claim is padded standard base64 (FIPS 180-2 "abc" vector)', () => {
  assert.equal(webhookBodySha256('abc'), 'ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0=');
});

test('token: HS256 over header.payload, iss/nbf/exp/sha256 claims', () => {
  const token = signWebhook('{"event":"room_started"}', KEY, SECRET, 1_700_000_000);
  const [h, p, s] = token.split('.');
  assert.ok(h !== undefined && p !== undefined && s !== undefined);
  assert.deepEqual(JSON.parse(Buffer.from(h, 'base64url').toString()), { alg: 'HS256', typ: 'JWT' });
  assert.deepEqual(JSON.parse(Buffer.from(p, 'base64url').toString()), {
    iss: KEY,
    nbf: 1_700_000_000,
    exp: 1_700_000_000 + WEBHOOK_TOKEN_TTL_SEC,
    sha256: webhookBodySha256('{"event":"room_started"}'),
  });
  assert.equal(s, createHmac('sha256', SECRET).update(`${h}.${p}`).digest('base64url'));
});

test('WebhookReceiver accepts a signed body and rejects a wrong secret, key or a changed body', async () => {
  const event = new WebhookEvent({ event: 'room_started', room: new Room({ name: 'r1' }), id: 'EV_1', createdAt: 7n });
  const body = encodeWebhookBody(event);
  const auth = signWebhook(body, KEY, SECRET, Math.floor(Date.now() / 1000));
  const got = await new WebhookReceiver(KEY, SECRET).receive(body, auth);
  assert.equal(got.event, 'room_started');
  assert.equal(got.room?.name, 'r1');
  assert.equal(got.id, 'EV_1');
  assert.equal(got.createdAt, 7n);
  await assert.rejects(new WebhookReceiver(KEY, 'another-secret-of-32-characters-xx').receive(body, auth));
  await assert.rejects(new WebhookReceiver('otherKey', SECRET).receive(body, auth));
  await assert.rejects(new WebhookReceiver(KEY, SECRET).receive(body.replace('r1', 'r2'), auth), /sha256/);
});

test('an expired token is rejected', async () => {
  const body = '{"event":"room_started"}';
  const auth = signWebhook(body, KEY, SECRET, Math.floor(Date.now() / 1000) - WEBHOOK_TOKEN_TTL_SEC - 60);
  await assert.rejects(new WebhookReceiver(KEY, SECRET).receive(body, auth));
});
