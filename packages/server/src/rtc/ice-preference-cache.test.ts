// IcePreferenceCache: per room and identity, expires after its TTL, bounded.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '@atrium/webrtc';
import { IcePreferenceCache, ICE_PREFERENCE_TTL_MS } from './ice-preference-cache.js';

test('a preference applies to the same room and identity only, until its TTL', () => {
  const clock = new ManualClock();
  const cache = new IcePreferenceCache({ clock });
  cache.set('room', 'alice', 'tcp');
  assert.equal(cache.get('room', 'alice'), 'tcp');
  assert.equal(cache.get('room', 'bob'), undefined);
  assert.equal(cache.get('other', 'alice'), undefined);
  // Keys cannot collide by concatenation.
  assert.equal(cache.get('roo', 'malice'), undefined);
  clock.advance(ICE_PREFERENCE_TTL_MS - 1);
  assert.equal(cache.get('room', 'alice'), 'tcp');
  clock.advance(1);
  assert.equal(cache.get('room', 'alice'), undefined);
  assert.equal(cache.size, 0);
});

test('bounded: the oldest entries go first', () => {
  const cache = new IcePreferenceCache({ clock: new ManualClock() });
  for (let i = 0; i < 10_005; i++) cache.set('r', `id${i}`, 'tcp');
  assert.equal(cache.size, 10_000);
  assert.equal(cache.get('r', 'id0'), undefined);
  assert.equal(cache.get('r', 'id10004'), 'tcp');
});
