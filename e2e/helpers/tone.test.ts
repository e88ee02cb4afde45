// Unit tests for the tone helpers the rtc-node audio check relies on.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkTone, dominantFrequency, fillSine, firstNonSilentSample, goertzelPower, writeToneWav } from './tone.js';

const sampleRate = 48_000;

function sine(frequencyHz: number, count: number, amplitude = 0.5): Int16Array {
  const out = new Int16Array(count);
  fillSine(out, { frequencyHz, sampleRate, startSample: 0, amplitude });
  return out;
}

test('fillSine continues the phase across frames', () => {
  const whole = sine(440, 960);
  const a = new Int16Array(480);
  const b = new Int16Array(480);
  fillSine(a, { frequencyHz: 440, sampleRate, startSample: 0 });
  fillSine(b, { frequencyHz: 440, sampleRate, startSample: 480 });
  assert.deepEqual([...a, ...b], [...whole]);
  assert.equal(Math.max(...whole), 16384);
});

test('dominantFrequency finds 440 Hz, 1 kHz and 300 Hz within 1 Hz', () => {
  for (const f of [440, 1000, 300]) {
    const found = dominantFrequency(sine(f, sampleRate), { sampleRate, minHz: 100, maxHz: 2000 });
    assert.ok(Math.abs(found.frequencyHz - f) <= 1, `expected ${f}, got ${found.frequencyHz}`);
    assert.ok(found.peakToMean > 20, `peak ratio ${found.peakToMean}`);
  }
});

test('dominantFrequency tolerates noise and a quieter second tone', () => {
  const samples = sine(440, sampleRate, 0.3);
  const other = sine(700, sampleRate, 0.1);
  let seed = 1;
  for (let i = 0; i < samples.length; i++) {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    const noise = ((seed / 0x7fffffff) * 2 - 1) * 3000;
    samples[i] = Math.round((samples[i] ?? 0) + (other[i] ?? 0) + noise);
  }
  assert.equal(dominantFrequency(samples, { sampleRate, minHz: 100, maxHz: 2000 }).frequencyHz, 440);
});

test('silence has no power and no peak', () => {
  const silence = new Int16Array(4800);
  assert.equal(goertzelPower(silence, sampleRate, 440), 0);
  assert.equal(dominantFrequency(silence, { sampleRate, minHz: 400, maxHz: 480 }).peakToMean, 0);
  assert.equal(firstNonSilentSample(silence), -1);
});

test('firstNonSilentSample skips leading quiet samples', () => {
  const samples = new Int16Array(1000);
  samples[10] = 100;
  samples[700] = -800;
  assert.equal(firstNonSilentSample(samples), 700);
  assert.equal(firstNonSilentSample(samples, 50), 10);
});

test('checkTone accepts the tone within the tolerance and refuses another one', () => {
  const samples = sine(443, sampleRate);
  const near = checkTone(samples, { sampleRate, expectedHz: 440 });
  assert.equal(near.frequencyHz, 443);
  assert.equal(near.matches, true);
  assert.equal(checkTone(samples, { sampleRate, expectedHz: 440, toleranceHz: 2 }).matches, false);
  assert.equal(checkTone(sine(660, sampleRate), { sampleRate, expectedHz: 440 }).matches, false);
});

test('writeToneWav writes a 48 kHz mono PCM WAV whose samples are the sine', () => {
  const dir = mkdtempSync(join(tmpdir(), 'atrium-tone-test-'));
  try {
    const path = join(dir, 'tone.wav');
    writeToneWav(path, { frequencyHz: 440, amplitude: 0.5, seconds: 1 });
    const bytes = readFileSync(path);
    assert.equal(bytes.toString('latin1', 0, 4), 'RIFF');
    assert.equal(bytes.toString('latin1', 8, 16), 'WAVEfmt ');
    assert.equal(bytes.readUInt16LE(22), 1);
    assert.equal(bytes.readUInt32LE(24), 48_000);
    assert.equal(bytes.readUInt32LE(40), 96_000);
    const samples = new Int16Array(48_000);
    for (let i = 0; i < samples.length; i++) samples[i] = bytes.readInt16LE(44 + i * 2);
    assert.deepEqual([...samples.subarray(0, 480)], [...sine(440, 480)]);
    assert.equal(checkTone(samples, { sampleRate, expectedHz: 440, toleranceHz: 0 }).matches, true);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
