// Unit tests for `token create` flags -> token contents: the default join grant, each grant flag, and refusals.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TrackSource } from '@livekit/protocol';
import { RoomAgentDispatch, RoomConfiguration } from 'livekit-server-sdk';
import { buildTokenRequest, DEFAULT_TOKEN_TTL_SEC } from './token-request.js';
import { UsageError } from './command.js';

test('no grant flag means a join token with publish, subscribe and data allowed', () => {
  assert.deepEqual(buildTokenRequest({ room: 'r', identity: 'me' }), {
    identity: 'me',
    ttlSec: DEFAULT_TOKEN_TTL_SEC,
    grant: { room: 'r', roomJoin: true, canPublish: true, canSubscribe: true, canPublishData: true },
  });
});

test('grant flags, --no-* limits, sources, participant fields and lifetime', () => {
  const r = buildTokenRequest({
    room: 'r',
    identity: 'me',
    name: 'Me',
    metadata: 'm',
    attribute: ['role=host'],
    join: true,
    admin: true,
    list: true,
    'no-publish': true,
    'no-publish-data': true,
    'can-update-metadata': true,
    'allow-source': ['camera,microphone', 'screen_share'],
    hidden: true,
    recorder: true,
    ttl: '1h',
  });
  assert.deepEqual(r, {
    identity: 'me',
    name: 'Me',
    metadata: 'm',
    attributes: { role: 'host' },
    ttlSec: 3600,
    grant: {
      room: 'r',
      roomJoin: true,
      roomAdmin: true,
      roomList: true,
      canPublish: false,
      canSubscribe: true,
      canPublishData: false,
      canUpdateOwnMetadata: true,
      canPublishSources: [TrackSource.CAMERA, TrackSource.MICROPHONE, TrackSource.SCREEN_SHARE],
      hidden: true,
      recorder: true,
    },
  });
});

test('--list or --create alone are not join tokens and need no room or identity; --valid-for is --ttl', () => {
  assert.deepEqual(buildTokenRequest({ list: true, create: true, 'valid-for': '10m' }), { ttlSec: 600, grant: { roomList: true, roomCreate: true } });
});

test('--grant JSON is the base the flags go over', () => {
  const r = buildTokenRequest({ grant: '{"roomJoin":true,"room":"a","canSubscribe":false}', identity: 'x', room: 'b' });
  assert.deepEqual(r.grant, { roomJoin: true, room: 'b', canSubscribe: false });
  const joined = buildTokenRequest({ grant: '{"canSubscribe":false}', join: true, identity: 'x', room: 'b' });
  assert.deepEqual(joined.grant, { canSubscribe: false, room: 'b', roomJoin: true, canPublish: true, canPublishData: true });
});

test('refusals name the problem', () => {
  const cases: [Record<string, string | boolean | string[]>, RegExp][] = [
    [{ identity: 'me' }, /missing required flag --room \(the room to join\)/],
    [{ room: 'r' }, /missing required flag --identity/],
    [{ admin: true }, /missing required flag --room \(the room --admin applies to\)/],
    [{ room: 'r', identity: 'i', 'can-publish': true, 'no-publish': true }, /--can-publish and --no-publish contradict/],
    [{ room: 'r', identity: 'i', ttl: '1h', 'valid-for': '1h' }, /give --ttl or --valid-for, not both/],
    [{ room: 'r', identity: 'i', ttl: 'soon' }, /--ttl: 'soon' is not a duration/],
    [{ room: 'r', identity: 'i', 'allow-source': ['webcam'] }, /--allow-source: 'webcam' is not one of camera, microphone/],
    // Before: an Object.prototype member passed the lookup and the token signer failed with a TypeError (exit 1).
    [{ room: 'r', identity: 'i', 'allow-source': ['constructor'] }, /--allow-source: 'constructor' is not one of/],
    [{ room: 'r', identity: 'i', 'allow-source': ['__proto__'] }, /--allow-source: '__proto__' is not one of/],
    [{ grant: '{bad' }, /--grant: not JSON/],
    [{ grant: '[1]' }, /--grant: must be a JSON object/],
  ];
  for (const [values, pattern] of cases) {
    assert.throws(() => buildTokenRequest(values), (err: unknown) => err instanceof UsageError && pattern.test(err.message), JSON.stringify(values));
  }
});

test('--agent NAME (with --job-metadata) puts one agent dispatch in the roomConfig of a join token, as lk token create', () => {
  const r = buildTokenRequest({ room: 'r', identity: 'me', agent: 'greeter', 'job-metadata': '{"topic":"hi"}' });
  assert.deepEqual(r.roomConfig, new RoomConfiguration({ agents: [new RoomAgentDispatch({ agentName: 'greeter', metadata: '{"topic":"hi"}' })] }));
  assert.equal(r.grant.roomJoin, true);
  assert.equal(r.grant.agent, undefined, '--agent names the agent to dispatch; it is not the agent grant');
  assert.deepEqual(buildTokenRequest({ room: 'r', identity: 'me', agent: 'greeter' }).roomConfig?.agents[0]?.metadata, '');
  assert.equal(buildTokenRequest({ room: 'r', identity: 'me', agent: 'greeter', deployment: 'staging' }).roomConfig?.agents[0]?.deployment, 'staging');
  assert.equal(buildTokenRequest({ room: 'r', identity: 'me' }).roomConfig, undefined);
});

test('an agent worker token: --grant \'{"agent":true}\' alone, no join, no room, no identity', () => {
  assert.deepEqual(buildTokenRequest({ grant: '{"agent":true}' }), { ttlSec: DEFAULT_TOKEN_TTL_SEC, grant: { agent: true } });
});

test('--agent and --job-metadata refusals', () => {
  const cases: [Record<string, string | boolean>, RegExp][] = [
    [{ list: true, agent: 'greeter' }, /--agent needs a join token \(--join\)/],
    [{ grant: '{"agent":true}', agent: 'greeter' }, /--agent needs a join token/],
    [{ room: 'r', identity: 'i', 'job-metadata': 'm' }, /--job-metadata needs --agent NAME/],
    [{ room: 'r', identity: 'i', agent: '' }, /--agent: give the agent name to dispatch/],
    [{ room: 'r', identity: 'i', deployment: 'staging' }, /--deployment needs --agent NAME/],
  ];
  for (const [values, pattern] of cases) {
    assert.throws(() => buildTokenRequest(values), (err: unknown) => err instanceof UsageError && pattern.test(err.message), JSON.stringify(values));
  }
});
