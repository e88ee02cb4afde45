import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { HmacSha1 } from './hmac-sha1.js';

test('RFC 2202 test case 2 (key "Jefe")', () => {
  const hmac = new HmacSha1(Buffer.from('Jefe'));
  const digest = hmac.digest(Buffer.from('what do ya want '), Buffer.from('for nothing?'));
  assert.equal(digest.toString('hex'), 'effcdf6ae5eb2fa2d27416d5f184df9c259a7c79');
});

test('RFC 2202 test case 6 (80-byte key, hashed first)', () => {
  const hmac = new HmacSha1(Buffer.alloc(80, 0xaa));
  const digest = hmac.digest(Buffer.from('Test Using Larger Than Block-Size Key - Hash Key First'), Buffer.alloc(0));
  assert.equal(digest.toString('hex'), 'aa4ae5e15272d00e95705637ce8a3b55ed402112');
});

test('matches createHmac for many lengths, including growth past the initial capacity', () => {
  const key = Buffer.from('0123456789abcdefghij');
  const hmac = new HmacSha1(key, 32);
  const roc = Buffer.from([0, 0, 0, 7]);
  for (const length of [0, 1, 31, 32, 33, 63, 64, 65, 200, 1500, 3000, 100]) {
    const data = Buffer.alloc(length, length & 0xff);
    const expected = createHmac('sha1', key).update(data).update(roc).digest();
    assert.deepEqual(hmac.digest(data, roc), expected, `length ${length}`);
  }
});
