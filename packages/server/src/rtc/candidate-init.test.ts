import { test } from 'node:test';
import assert from 'node:assert/strict';
import { normalizeCandidateInit } from './candidate-init.js';

test('keeps a complete candidate', () => {
  const c = '{"candidate":"candidate:1 1 udp 2130706431 127.0.0.1 7882 typ host","sdpMid":"0","sdpMLineIndex":0,"usernameFragment":"abc"}';
  assert.equal(normalizeCandidateInit(c), c);
});

test('fills missing or mistyped sdpMid / sdpMLineIndex', () => {
  const table: [object, string, number][] = [
    [{ candidate: 'candidate:x' }, '0', 0],
    [{ candidate: 'candidate:x', sdpMLineIndex: 2 }, '2', 2],
    [{ candidate: 'candidate:x', sdpMid: 1, sdpMLineIndex: null }, '1', 0],
    [{ candidate: 'candidate:x', sdpMid: 'audio', sdpMLineIndex: 1.5 }, 'audio', 0],
  ];
  for (const [input, mid, index] of table) {
    const out = JSON.parse(normalizeCandidateInit(JSON.stringify(input))!);
    assert.equal(out.sdpMid, mid);
    assert.equal(out.sdpMLineIndex, index);
  }
});

test('drops empty and unparsable candidates', () => {
  for (const s of ['', 'nope', '{"candidate":""}', 'null', '[1]', '{"sdpMid":"0"}']) assert.equal(normalizeCandidateInit(s), undefined, s);
});
