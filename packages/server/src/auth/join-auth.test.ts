import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createAccessToken } from '@atrium/protocol';
import { authenticateJoin, extractToken, AuthError } from './join-auth.js';

const keys = { devkey: 'secret' };
const tok = (o: Parameters<typeof createAccessToken>[0]['video'], identity = 'alice'): Promise<string> =>
  createAccessToken({ apiKey: 'devkey', apiSecret: 'secret', identity, video: o });

test('extractToken: query first, then Bearer header', () => {
  assert.equal(extractToken(new URLSearchParams('access_token=abc'), { authorization: 'Bearer zzz' }), 'abc');
  assert.equal(extractToken(new URLSearchParams(''), { authorization: 'Bearer zzz' }), 'zzz');
  assert.equal(extractToken(new URLSearchParams(''), { authorization: 'bearer  zzz ' }), 'zzz');
  assert.equal(extractToken(new URLSearchParams(''), { authorization: 'Basic zzz' }), undefined);
  assert.equal(extractToken(new URLSearchParams('access_token='), {}), undefined);
});

test('accepts a join token', async () => {
  const a = await authenticateJoin(await tok({ roomJoin: true, room: 'r' }), keys);
  assert.equal(a.roomName, 'r');
  assert.equal(a.identity, 'alice');
  assert.equal(a.grant.canPublish, true);
});

test('rejections carry status and code', async () => {
  const table: [string | undefined, string, number][] = [
    [undefined, 'missing_token', 401],
    ['garbage', 'token_malformed', 401],
    [await tok({ room: 'r' }), 'permission_denied', 401],
    [await tok({ roomJoin: true }), 'no_room', 401],
    [await tok({ roomJoin: true, room: 'x'.repeat(300) }), 'name_too_long', 400],
    // 129 two-byte characters: 258 bytes (LiveKit counts bytes); before, 129 UTF-16 units passed.
    [await tok({ roomJoin: true, room: 'é'.repeat(129) }), 'name_too_long', 400],
    [await tok({ roomJoin: true, room: 'r' }, '😀'.repeat(65)), 'name_too_long', 400],
    [await createAccessToken({ apiKey: 'devkey', apiSecret: 'nope', identity: 'a', video: { roomJoin: true, room: 'r' } }), 'token_invalid_signature', 401],
  ];
  for (const [token, code, status] of table) {
    await assert.rejects(authenticateJoin(token, keys), (e: unknown) => {
      assert.ok(e instanceof AuthError);
      assert.equal(e.code, code);
      assert.equal(e.status, status);
      return true;
    });
  }
});
