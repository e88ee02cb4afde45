import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PacketCache } from './packet-cache.js';

function pkt(n: number, len = 20): Buffer {
  return Buffer.alloc(len, n & 0xff);
}

test('stores and returns copies keyed by extended sequence number', () => {
  const cache = new PacketCache({ capacity: 4, maxPacketBytes: 64 });
  const p = pkt(7);
  assert.equal(cache.put(100, p), true);
  p.fill(0); // the cache holds a copy
  assert.deepEqual(cache.get(100), pkt(7));
  assert.equal(cache.get(101), undefined);
  assert.equal(cache.get(96), undefined, 'same slot, different sequence');
});

test('evicts the oldest when the ring wraps, and ignores packets older than the ring', () => {
  const cache = new PacketCache({ capacity: 4, maxPacketBytes: 64 });
  for (let s = 0; s < 6; s++) cache.put(s, pkt(s, 10 + s));
  assert.equal(cache.get(0), undefined);
  assert.equal(cache.get(1), undefined);
  for (let s = 2; s < 6; s++) assert.deepEqual(cache.get(s), pkt(s, 10 + s), `seq ${s}`);
  assert.equal(cache.put(1, pkt(1)), false, 'older than the slot holder');
  assert.deepEqual(cache.get(5), pkt(5, 15));
});

test('extended numbers past 16 bits and a late packet filling its own slot', () => {
  const cache = new PacketCache({ capacity: 512 });
  const base = 65530;
  for (let i = 0; i < 12; i++) if (i !== 5) cache.put(base + i, pkt(i));
  assert.equal(cache.get(base + 5), undefined);
  cache.put(base + 5, pkt(5)); // late arrival, still within the window
  assert.deepEqual(cache.get(base + 5), pkt(5));
  assert.deepEqual(cache.get(65536 + 3), pkt(9));
});

test('oversize packets are counted, not stored; bad capacity throws', () => {
  const cache = new PacketCache({ capacity: 2, maxPacketBytes: 16 });
  assert.equal(cache.put(1, pkt(1, 17)), false);
  assert.equal(cache.oversizeCount, 1);
  assert.equal(cache.get(1), undefined);
  assert.throws(() => new PacketCache({ capacity: 0 }));
});

test('clear forgets everything', () => {
  const cache = new PacketCache({ capacity: 2 });
  cache.put(3, pkt(3));
  cache.clear();
  assert.equal(cache.get(3), undefined);
});
