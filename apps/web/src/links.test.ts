import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeTokenClaims, gridColumns, identityFor, parseTokenAnswer, roomFromPath, sameOriginSignalUrl, tokenRequestUrl } from './links.js';

test('roomFromPath: /rooms/<name> (decoded), nothing else', () => {
  const table: [string, string | undefined][] = [
    ['/rooms/demo', 'demo'],
    ['/rooms/demo/', 'demo'],
    ['/rooms/my%20room', 'my room'],
    ['/rooms/caf%C3%A9', 'café'],
    ['/rooms/', undefined],
    ['/rooms/%20', undefined],
    ['/rooms/a/b', undefined],
    ['/rooms/%E0%A4%A', undefined],
    ['/app/', undefined],
    ['/', undefined],
  ];
  for (const [path, want] of table) assert.equal(roomFromPath(path), want, path);
});

function jwt(payload: object): string {
  const b64 = (s: string): string => Buffer.from(s).toString('base64url');
  return `${b64('{"alg":"HS256"}')}.${b64(JSON.stringify(payload))}.sig`;
}

test('decodeTokenClaims reads room, identity, name and expiry; anything else is undefined', () => {
  assert.deepEqual(decodeTokenClaims(jwt({ sub: 'sam', name: 'Sam é', exp: 42, video: { room: 'r1', roomJoin: true } })), { room: 'r1', identity: 'sam', name: 'Sam é', exp: 42 });
  assert.deepEqual(decodeTokenClaims(jwt({ sub: 'x' })), { identity: 'x' });
  assert.equal(decodeTokenClaims('not-a-token'), undefined);
  assert.equal(decodeTokenClaims('a.%%%.c'), undefined);
  assert.equal(decodeTokenClaims(`a.${Buffer.from('[1').toString('base64url')}.c`), undefined);
});

test('identityFor: the name slugged plus a suffix; never empty', () => {
  assert.equal(identityFor('Sam Smith', () => 0), 'sam-smith-0000');
  assert.equal(identityFor('Zoë', () => 0.5), `zoe-${Math.floor(0.5 * 36 ** 4).toString(36)}`);
  assert.equal(identityFor('日本', () => 0), 'guest-0000');
  assert.match(identityFor('x'.repeat(100)), /^x{32}-[0-9a-z]{4}$/);
});

test('token endpoint: the request URL and both answer shapes', () => {
  assert.equal(tokenRequestUrl('/app/token', 'http://h:7880/rooms/x', { room: 'a b', identity: 'i', name: 'N&M' }), 'http://h:7880/app/token?room=a+b&identity=i&name=N%26M');
  assert.equal(tokenRequestUrl('https://t.example/api?v=1', 'http://h/', { room: 'r', identity: 'i', name: 'n' }), 'https://t.example/api?v=1&room=r&identity=i&name=n');
  assert.deepEqual(parseTokenAnswer({ token: 't', url: '' }), { token: 't', url: '' });
  assert.deepEqual(parseTokenAnswer({ participantToken: 't', serverUrl: 'wss://x' }), { token: 't', url: 'wss://x' });
  assert.equal(parseTokenAnswer({ token: '' }), undefined);
  assert.equal(parseTokenAnswer(null), undefined);
  assert.equal(parseTokenAnswer('t'), undefined);
});

test('sameOriginSignalUrl and gridColumns', () => {
  assert.equal(sameOriginSignalUrl({ protocol: 'http:', host: '127.0.0.1:7880' }), 'ws://127.0.0.1:7880');
  assert.equal(sameOriginSignalUrl({ protocol: 'https:', host: 'meet.example.com' }), 'wss://meet.example.com');
  const table: [number, number, number][] = [
    [1, 1280, 1], [2, 1280, 2], [3, 1280, 2], [4, 1280, 2], [5, 1280, 3], [10, 1280, 4], [16, 1280, 4], [17, 1280, 4],
    [3, 375, 1], [4, 600, 2], [0, 1280, 1],
  ];
  for (const [n, w, want] of table) assert.equal(gridColumns(n, w), want, `${n} tiles in ${w} px`);
});
