// Unit tests for the echo latency analysis (echo-timing.ts) on made-up probe blocks.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { echoEdges, type EchoBlock } from './echo-timing.js';

const blockFrames = 256;
const sampleRate = 48_000;
const msPerBlock = (blockFrames / sampleRate) * 1000;

/** Local tone on except in [offAt, onAt); the echo follows `delay` blocks later at `echoLevel`, with a noise floor. */
function blocks(opts: { count: number; offAt: number; onAt: number; delay: number; echoLevel?: number; dip?: number }): EchoBlock[] {
  const localOn = (i: number): boolean => i < opts.offAt || i >= opts.onAt;
  const out: EchoBlock[] = [];
  for (let i = 0; i < opts.count; i++) {
    const local = localOn(i) ? 0.01 : 0;
    let remote = i >= opts.delay && localOn(i - opts.delay) ? (opts.echoLevel ?? 0.008) : 1e-7;
    if (opts.dip === i) remote = 1e-7; // one concealed block in the middle of the tone
    out.push([local, remote]);
  }
  return out;
}

test('echoEdges measures the delay of both edges in blocks of the probe clock', () => {
  const b = blocks({ count: 1200, offAt: 300, onAt: 700, delay: 37 });
  const e = echoEdges(b, { offBlock: 300, onBlock: 700, blockFrames, sampleRate });
  assert.equal(e.localOff, 300);
  assert.equal(e.remoteOff, 337);
  assert.equal(e.localOn, 700);
  assert.equal(e.remoteOn, 737);
  assert.equal(e.onLatencyMs, 37 * msPerBlock);
  assert.equal(e.offLatencyMs, 37 * msPerBlock);
  assert.equal(e.echoSilentBeforeOn, true);
});

test('echoEdges: the switch takes effect a few blocks after it was asked for; a dip inside the tone is no edge', () => {
  const b = blocks({ count: 1200, offAt: 303, onAt: 702, delay: 50, dip: 250 });
  const e = echoEdges(b, { offBlock: 300, onBlock: 700, blockFrames, sampleRate });
  assert.equal(e.localOff, 303);
  assert.equal(e.remoteOff, 353);
  assert.equal(e.onLatencyMs, 50 * msPerBlock);
});

test('echoEdges: an echo longer than the silence is flagged (its onset could be an older one)', () => {
  const b = blocks({ count: 1500, offAt: 300, onAt: 400, delay: 150 });
  const e = echoEdges(b, { offBlock: 300, onBlock: 400, blockFrames, sampleRate });
  assert.equal(e.echoSilentBeforeOn, false);
});

test('echoEdges throws when the echo never goes quiet or never comes back', () => {
  const stuck: EchoBlock[] = blocks({ count: 1000, offAt: 300, onAt: 600, delay: 20 }).map(([l]) => [l, 0.008]);
  assert.throws(() => echoEdges(stuck, { offBlock: 300, onBlock: 600, blockFrames, sampleRate }), /never went quiet/);
  const gone: EchoBlock[] = blocks({ count: 1000, offAt: 300, onAt: 600, delay: 20 }).map(([l], i) => [l, i < 310 ? 0.008 : 0]);
  assert.throws(() => echoEdges(gone, { offBlock: 300, onBlock: 600, blockFrames, sampleRate }), /never came back/);
  const silent: EchoBlock[] = blocks({ count: 1000, offAt: 300, onAt: 600, delay: 20 }).map(([l]) => [l, 0]);
  assert.throws(() => echoEdges(silent, { offBlock: 300, onBlock: 600, blockFrames, sampleRate }), /no tone/);
});
