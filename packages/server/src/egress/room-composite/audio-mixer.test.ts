import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AudioMixer, JITTER_MS, MAX_QUEUED_MS, SAMPLE_RATE } from './audio-mixer.js';

const FRAMES_20MS = SAMPLE_RATE / 50;
/** `ms` of a constant stereo value. */
function pcm(ms: number, value: number): Buffer {
  const frames = (ms * SAMPLE_RATE) / 1000;
  const b = Buffer.alloc(frames * 4);
  for (let i = 0; i < frames * 2; i++) b.writeInt16LE(value, 2 * i);
  return b;
}
const samples = (b: Buffer): number[] => Array.from({ length: b.length / 2 }, (_, i) => b.readInt16LE(2 * i));

test('no sources, or a source still filling its jitter buffer: silence of exactly the asked length', () => {
  const m = new AudioMixer();
  assert.deepEqual(new Set(samples(m.mix(FRAMES_20MS))), new Set([0]));
  m.push('a', pcm(20, 1000));
  const out = m.mix(FRAMES_20MS);
  assert.equal(out.length, FRAMES_20MS * 4);
  assert.deepEqual(new Set(samples(out)), new Set([0]));
});

test('sources are summed, with clipping, once they hold a jitter buffer', () => {
  const m = new AudioMixer();
  m.push('a', pcm(JITTER_MS + 20, 1000));
  m.push('b', pcm(JITTER_MS + 20, 2000));
  assert.deepEqual(new Set(samples(m.mix(FRAMES_20MS))), new Set([3000]));
  m.push('c', pcm(JITTER_MS + 20, 32000));
  assert.deepEqual(new Set(samples(m.mix(FRAMES_20MS))), new Set([32767]));
});

test('a muted source is drained but not heard; a removed one is gone', () => {
  const m = new AudioMixer();
  m.push('a', pcm(100, 1000));
  m.push('b', pcm(100, 2000));
  assert.deepEqual(new Set(samples(m.mix(FRAMES_20MS, new Set(['b'])))), new Set([1000]));
  m.remove('a');
  assert.deepEqual(m.ids, ['b']);
});

test('a source that runs dry gives silence for the rest, then waits for a jitter buffer again', () => {
  const m = new AudioMixer();
  m.push('a', pcm(JITTER_MS + 10, 500));
  m.mix(FRAMES_20MS);
  m.mix(FRAMES_20MS);
  m.mix(FRAMES_20MS);
  const partial = samples(m.mix(FRAMES_20MS));
  assert.equal(partial[0], 500);
  assert.equal(partial.at(-1), 0);
  m.push('a', pcm(20, 700));
  assert.deepEqual(new Set(samples(m.mix(FRAMES_20MS))), new Set([0]), 'waiting again');
});

test(`a queue past ${MAX_QUEUED_MS} ms is trimmed to the newest audio`, () => {
  const m = new AudioMixer();
  m.push('a', pcm(MAX_QUEUED_MS - 20, 100));
  m.push('a', pcm(100, 900));
  // the old audio went; what is played now is the newest
  assert.deepEqual(new Set(samples(m.mix(FRAMES_20MS))), new Set([900]));
});
