import { test } from 'node:test';
import assert from 'node:assert/strict';
import { systemClock } from './clock.js';

test('systemClock: a delay beyond 2^31-1 ms (a uint32 of seconds from CreateRoom) does not fire at once', async () => {
  let fired = false;
  const long = systemClock.setTimeout(() => (fired = true), 4294967295 * 1000);
  const longInterval = systemClock.setInterval(() => (fired = true), 2 ** 31);
  try {
    // Node would run the overflowing timers after 1 ms: a 30 ms timer set afterwards would see them fired.
    await new Promise<void>((resolve) => systemClock.setTimeout(resolve, 30));
    assert.equal(fired, false);
  } finally {
    systemClock.clearTimeout(long);
    systemClock.clearInterval(longInterval);
  }
});
