import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeChat, encodeChat, MAX_CHAT_CHARS } from './chat.js';

test('chat messages round-trip; long ones are cut; bad payloads are not messages', () => {
  const m = decodeChat(encodeChat('hello <b>there</b>', 1000));
  assert.equal(m?.text, 'hello <b>there</b>');
  assert.equal(m?.ts, 1000);
  assert.match(m?.id ?? '', /^rs-[0-9a-z]+$/);
  assert.equal(decodeChat(encodeChat('x'.repeat(MAX_CHAT_CHARS + 10)))?.text.length, MAX_CHAT_CHARS);
  const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
  assert.equal(decodeChat(enc('not json')), undefined);
  assert.equal(decodeChat(enc('{"text":""}')), undefined);
  assert.equal(decodeChat(enc('{"text":5}')), undefined);
  assert.equal(decodeChat(enc('[]')), undefined);
  assert.deepEqual(decodeChat(enc('{"text":"hi"}'))?.text, 'hi');
});
