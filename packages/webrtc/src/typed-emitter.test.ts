import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TypedEmitter } from './typed-emitter.js';
import { ManualClock } from './clock.js';

test('a throwing listener is reported and does not stop the others', () => {
  const e = new TypedEmitter<{ x: [number] }>();
  const errors: unknown[] = [];
  e.onListenerError = (err) => errors.push(err);
  const seen: number[] = [];
  e.on('x', () => {
    throw new Error('boom');
  });
  e.on('x', (n) => seen.push(n));
  e.emit('x', 7);
  assert.deepEqual(seen, [7]);
  assert.equal(errors.length, 1);
});

test('once fires a single time', () => {
  const e = new TypedEmitter<{ x: [] }>();
  let n = 0;
  e.once('x', () => n++);
  e.emit('x');
  e.emit('x');
  assert.equal(n, 1);
  assert.equal(e.listenerCount('x'), 0);
});

test('ManualClock runs timers in order and repeats intervals', () => {
  const c = new ManualClock();
  const log: string[] = [];
  c.setTimeout(() => log.push('t50'), 50);
  const h = c.setInterval(() => log.push(`i@${c.nowMs()}`), 20);
  c.advance(65);
  assert.deepEqual(log, ['i@20', 'i@40', 't50', 'i@60']);
  c.clearInterval(h);
  c.advance(100);
  assert.equal(c.pendingTimers, 0);
});
