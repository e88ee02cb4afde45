import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AccessToken, RoomAgentDispatch, RoomConfiguration } from 'livekit-server-sdk';
import { SignJWT } from 'jose';
import { verifyAccessToken, createAccessToken, TokenError } from './token.js';

const keys = { devkey: 'secret', other: 'another-secret-value' };

async function sdkToken(opts: { key?: string; secret?: string; ttl?: string | number; grant?: object } = {}): Promise<string> {
  const at = new AccessToken(opts.key ?? 'devkey', opts.secret ?? 'secret', {
    identity: 'alice',
    name: 'Alice',
    metadata: 'meta',
    attributes: { a: '1' },
    ttl: opts.ttl ?? '1h',
  });
  at.addGrant({ roomJoin: true, room: 'test', canPublishData: false, ...(opts.grant ?? {}) });
  return at.toJwt();
}

async function expectCode(p: Promise<unknown>, code: string): Promise<void> {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof TokenError, `expected TokenError, got ${String(err)}`);
    assert.equal(err.code, code);
    assert.ok(err.message.length > 5);
    return true;
  });
}

test('accepts a livekit-server-sdk token and returns its claims', async () => {
  const claims = await verifyAccessToken(await sdkToken(), keys);
  assert.equal(claims.identity, 'alice');
  assert.equal(claims.apiKey, 'devkey');
  assert.equal(claims.name, 'Alice');
  assert.equal(claims.metadata, 'meta');
  assert.deepEqual(claims.attributes, { a: '1' });
  assert.equal(claims.video?.roomJoin, true);
  assert.equal(claims.video?.room, 'test');
  assert.equal(claims.video?.canPublishData, false);
  assert.equal(typeof claims.exp, 'number');
});

test('selects the secret by API key', async () => {
  const claims = await verifyAccessToken(await sdkToken({ key: 'other', secret: 'another-secret-value' }), keys);
  assert.equal(claims.apiKey, 'other');
});

test('expired token', async () => {
  const token = await sdkToken({ ttl: 60 });
  await expectCode(verifyAccessToken(token, keys, { currentDate: new Date(Date.now() + 3600_000) }), 'token_expired');
  // within the clock tolerance it is still accepted
  await verifyAccessToken(token, keys, { currentDate: new Date(Date.now() + 90_000), clockToleranceSec: 60 });
});

test('wrong secret, unknown key, malformed', async () => {
  await expectCode(verifyAccessToken(await sdkToken({ secret: 'wrong' }), keys), 'token_invalid_signature');
  await expectCode(verifyAccessToken(await sdkToken({ key: 'nokey' }), keys), 'token_unknown_key');
  await expectCode(verifyAccessToken('not-a-jwt', keys), 'token_malformed');
  await expectCode(verifyAccessToken('', keys), 'token_malformed');
  await expectCode(verifyAccessToken('a.b.c', keys), 'token_malformed');
  // '__proto__' must not be looked up on the prototype chain
  const proto = await new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).setIssuer('__proto__').setExpirationTime('1h')
    .sign(new TextEncoder().encode('x'));
  await expectCode(verifyAccessToken(proto, keys), 'token_unknown_key');
});

test('algorithm other than HS256, missing exp, nbf in the future', async () => {
  const secret = new TextEncoder().encode('secret');
  const hs512 = await new SignJWT({}).setProtectedHeader({ alg: 'HS512' }).setIssuer('devkey').setExpirationTime('1h').sign(secret);
  await expectCode(verifyAccessToken(hs512, keys), 'token_unsupported_alg');
  const header = Buffer.from(JSON.stringify({ alg: 'none' })).toString('base64url');
  const body = Buffer.from(JSON.stringify({ iss: 'devkey', exp: 9999999999 })).toString('base64url');
  await expectCode(verifyAccessToken(`${header}.${body}.`, keys), 'token_unsupported_alg');
  const noExp = await new SignJWT({ sub: 'x' }).setProtectedHeader({ alg: 'HS256' }).setIssuer('devkey').sign(secret);
  await expectCode(verifyAccessToken(noExp, keys), 'token_missing_exp');
  const later = Math.floor(Date.now() / 1000) + 3600;
  const nbf = await new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).setIssuer('devkey').setNotBefore(later)
    .setExpirationTime(later + 3600).sign(secret);
  await expectCode(verifyAccessToken(nbf, keys), 'token_not_yet_valid');
});

test('falls back to jti for the identity', async () => {
  const secret = new TextEncoder().encode('secret');
  const t = await new SignJWT({ video: { roomJoin: true, room: 'r' } }).setProtectedHeader({ alg: 'HS256' })
    .setIssuer('devkey').setJti('old-identity').setExpirationTime('1h').sign(secret);
  assert.equal((await verifyAccessToken(t, keys)).identity, 'old-identity');
});

test('createAccessToken round trip, and livekit-server-sdk verifies it', async () => {
  const token = await createAccessToken({
    apiKey: 'devkey',
    apiSecret: 'secret',
    identity: 'bob',
    name: 'Bob',
    video: { roomJoin: true, room: 'r1', canPublishSources: ['camera'] },
    ttlSec: 600,
  });
  const claims = await verifyAccessToken(token, keys);
  assert.equal(claims.identity, 'bob');
  assert.deepEqual(claims.video, { roomJoin: true, room: 'r1', canPublishSources: ['camera'] });
  assert.ok(claims.exp! - Math.floor(Date.now() / 1000) <= 600);
  const { TokenVerifier } = await import('livekit-server-sdk');
  const payload = await new TokenVerifier('devkey', 'secret').verify(token);
  assert.equal(payload.sub, 'bob');
  await assert.rejects(createAccessToken({ apiKey: 'k', apiSecret: 's', video: { roomJoin: true } }));
});

test('a video claim with wrongly typed fields is malformed (as Go fails to unmarshal it); null and unknown keys are ignored', async () => {
  const signed = (video: unknown): Promise<string> =>
    new SignJWT({ video: video as Record<string, unknown>, sub: 'alice' }).setProtectedHeader({ alg: 'HS256' }).setIssuer('devkey').setExpirationTime('1h').sign(new TextEncoder().encode('secret'));
  for (const video of [
    { roomJoin: 'yes', room: 'r' },
    { roomJoin: 1, room: 'r' },
    { roomJoin: true, room: 5 },
    { roomJoin: true, room: { toString: 'x' } },
    { roomJoin: true, room: 'r', canPublishSources: 5 },
    { roomJoin: true, room: 'r', canPublishSources: 'camera' },
    { roomJoin: true, room: 'r', canPublishSources: [{}] },
    { roomJoin: true, room: 'r', hidden: 'false' },
  ]) {
    await expectCode(verifyAccessToken(await signed(video), keys), 'token_malformed');
  }
  const claims = await verifyAccessToken(await signed({ roomJoin: true, room: 'r', hidden: null, bogus: 5, canPublishSources: ['camera', 2] }), keys);
  assert.deepEqual(claims.video, { roomJoin: true, room: 'r', canPublishSources: ['camera', 2] });
});

test('roomConfig.agents: kept as written, from livekit-server-sdk (defaults included) and from createAccessToken (Go lk style)', async () => {
  const at = new AccessToken('devkey', 'secret', { identity: 'alice' });
  at.addGrant({ roomJoin: true, room: 'r' });
  at.roomConfig = new RoomConfiguration({ agents: [new RoomAgentDispatch({ agentName: 'greeter', metadata: 'm' })] });
  const fromSdk = await verifyAccessToken(await at.toJwt(), keys);
  const parsed = RoomConfiguration.fromJson(fromSdk.roomConfig as never);
  assert.deepEqual(parsed.agents.map((a) => [a.agentName, a.metadata]), [['greeter', 'm']]);
  assert.equal((fromSdk.roomConfig as { agents: { agentName: string }[] }).agents[0]?.agentName, 'greeter');

  // lk (Go protojson) leaves default values out; the claim is passed through as written either way.
  const lkStyle = { agents: [{ agentName: 'greeter' }] };
  const token = await createAccessToken({ apiKey: 'devkey', apiSecret: 'secret', identity: 'bob', video: { roomJoin: true, room: 'r' }, roomConfig: lkStyle });
  const claims = await verifyAccessToken(token, keys);
  assert.deepEqual(claims.roomConfig, lkStyle);
  assert.deepEqual(RoomConfiguration.fromJson(claims.roomConfig as never).agents.map((a) => a.agentName), ['greeter']);
});
