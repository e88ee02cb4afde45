import { test } from 'node:test';
import assert from 'node:assert/strict';
import { REPLAY_WINDOW_SIZE, ReplayCheck, ReplayWindow } from './replay-window.js';

test('window is at least 128 packets', () => {
  assert.ok(REPLAY_WINDOW_SIZE >= 128);
});

test('new, duplicate, out of order and too old indices', () => {
  const w = new ReplayWindow();
  assert.equal(w.check(5), ReplayCheck.ok);
  w.accept(5);
  assert.equal(w.check(5), ReplayCheck.duplicate);
  assert.equal(w.check(4), ReplayCheck.ok);
  w.accept(10);
  assert.equal(w.check(7), ReplayCheck.ok);
  w.accept(7);
  assert.equal(w.check(7), ReplayCheck.duplicate);
  assert.equal(w.check(10), ReplayCheck.duplicate);
  assert.equal(w.highestIndex, 10);
  w.accept(10 + REPLAY_WINDOW_SIZE - 1);
  assert.equal(w.check(10), ReplayCheck.duplicate); // still inside the window, still seen
  assert.equal(w.check(9), ReplayCheck.tooOld);
  assert.equal(w.check(11), ReplayCheck.ok);
});

test('advancing clears slots that wrap around the ring', () => {
  const w = new ReplayWindow();
  for (let i = 0; i < REPLAY_WINDOW_SIZE; i++) w.accept(i);
  // Advance by 100: indices REPLAY_WINDOW_SIZE .. +99 reuse the slots of 0..99 and must read as unseen.
  w.accept(REPLAY_WINDOW_SIZE + 99);
  for (let i = REPLAY_WINDOW_SIZE; i < REPLAY_WINDOW_SIZE + 99; i++) assert.equal(w.check(i), ReplayCheck.ok, `index ${i}`);
  for (let i = 100; i < REPLAY_WINDOW_SIZE; i++) assert.equal(w.check(i), ReplayCheck.duplicate, `index ${i}`);
  assert.equal(w.check(99), ReplayCheck.tooOld);
});

test('a jump larger than the window forgets everything older', () => {
  const w = new ReplayWindow();
  for (let i = 0; i < 50; i++) w.accept(i);
  const far = 10 * REPLAY_WINDOW_SIZE + 3;
  w.accept(far);
  assert.equal(w.check(far), ReplayCheck.duplicate);
  assert.equal(w.check(far - 1), ReplayCheck.ok);
  assert.equal(w.check(far - REPLAY_WINDOW_SIZE + 1), ReplayCheck.ok);
  assert.equal(w.check(far - REPLAY_WINDOW_SIZE), ReplayCheck.tooOld);
  assert.equal(w.check(40), ReplayCheck.tooOld);
});

test('large 48-bit indices', () => {
  const w = new ReplayWindow();
  const base = 2 ** 47 + 12345;
  w.accept(base);
  w.accept(base + 40);
  assert.equal(w.check(base), ReplayCheck.duplicate);
  assert.equal(w.check(base + 1), ReplayCheck.ok);
});
