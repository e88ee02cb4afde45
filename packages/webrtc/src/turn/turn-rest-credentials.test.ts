// TURN-REST-style credentials and stateless nonces: derivation, expiry, tampering, and nonce binding and staleness.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { TurnRestCredentials } from './turn-rest-credentials.js';
import { TurnNonces } from './turn-nonce.js';

const SECRET = Buffer.alloc(32, 1);

test('issue: "<expiry>:<user>" and base64(HMAC-SHA1(secret, username)), as coturn use-auth-secret checks', () => {
  const c = new TurnRestCredentials(SECRET).issue('PA_abc', 1_700_000_000.7, 3600);
  assert.equal(c.username, '1700003600:PA_abc');
  assert.equal(c.expiresAtSec, 1_700_003_600);
  assert.equal(c.password, createHmac('sha1', SECRET).update('1700003600:PA_abc').digest('base64'));
  assert.throws(() => new TurnRestCredentials(Buffer.alloc(8)));
  assert.throws(() => new TurnRestCredentials(SECRET).issue('', 0, 1));
});

test('check: valid until expiry, expired after; malformed usernames refused; another secret gives another password', () => {
  const creds = new TurnRestCredentials(SECRET);
  const c = creds.issue('PA_abc', 1000, 60);
  const ok = creds.check(c.username, 1060);
  assert.ok(ok.ok);
  assert.equal(ok.password, c.password);
  assert.equal(ok.userId, 'PA_abc');
  assert.deepEqual(creds.check(c.username, 1061), { ok: false, reason: 'expired' });
  for (const bad of ['', 'nocolon', ':PA_x', '1060:', 'abc:PA_x', '-1:PA_x', '1e9:PA_x', `1:${'x'.repeat(600)}`]) {
    assert.deepEqual(creds.check(bad, 0), { ok: false, reason: 'malformed' }, bad);
  }
  assert.ok(creds.matches(c.username, c.password));
  assert.ok(!creds.matches(c.username, c.password.slice(1)));
  assert.ok(!new TurnRestCredentials(Buffer.alloc(32, 2)).matches(c.username, c.password));
  // The user id may itself hold colons; only the first one separates the expiry.
  assert.equal((creds.check('2000:a:b', 0) as { userId: string }).userId, 'a:b');
});

test('nonces: valid for their client until their lifetime, stale after, invalid for another client or when altered', () => {
  const nonces = new TurnNonces({ lifetimeMs: 1000 });
  const n = nonces.issue('192.0.2.1', 5000);
  assert.equal(nonces.check(n, '192.0.2.1', 5999), 'ok');
  assert.equal(nonces.check(n, '192.0.2.1', 6001), 'stale');
  assert.equal(nonces.check(n, '192.0.2.2', 5500), 'invalid');
  assert.equal(nonces.check(n.slice(0, -1) + (n.endsWith('0') ? '1' : '0'), '192.0.2.1', 5500), 'invalid');
  assert.equal(nonces.check('garbage', '192.0.2.1', 5500), 'invalid');
  assert.equal(nonces.check('', '192.0.2.1', 5500), 'invalid');
  assert.equal(new TurnNonces().check(n, '192.0.2.1', 5500), 'invalid', 'another server key');
});
