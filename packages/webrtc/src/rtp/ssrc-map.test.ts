import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SsrcMap } from './ssrc-map.js';

test('SsrcMap: get/set/delete as a Map, across SSRCs that share a cache slot and SSRCs of 2^31 and more', () => {
  const m = new SsrcMap<string>();
  // 64 apart: the same slot of the 64-slot cache.
  const a = 0x8000_0005;
  const b = a + 64;
  const c = 5;
  m.set(a, 'a').set(b, 'b').set(c, 'c');
  assert.equal(m.size, 3);
  assert.deepEqual([m.get(a), m.get(b), m.get(c), m.get(a), m.get(0xffff_ffff)], ['a', 'b', 'c', 'a', undefined]);
  m.set(b, 'b2');
  assert.equal(m.get(b), 'b2', 'a replaced value, not the cached one');
  assert.equal(m.delete(a), true);
  assert.deepEqual([m.get(a), m.has(a), m.get(b), m.get(c)], [undefined, false, 'b2', 'c'], 'a deleted key is gone from the cache too');
  m.get(c);
  assert.equal(m.delete(c), true, 'deleting the cached key');
  assert.equal(m.get(c), undefined);
  assert.equal(m.delete(c), false);
  assert.deepEqual([...m], [[b, 'b2']]);
  m.set(a, 'a3');
  assert.deepEqual([...m.keys()], [b, a], 'insertion order');
  assert.deepEqual([...m.values()], ['b2', 'a3']);
  for (const [k] of m) m.delete(k);
  assert.equal(m.size, 0, 'deleting while iterating');
  m.set(7, 'x');
  m.clear();
  assert.deepEqual([m.size, m.get(7), m.has(7)], [0, undefined, false]);
});
