// Test-tone helpers for the audio e2e checks: fill frames with a sine, skip leading silence, and find the
// dominant frequency of received samples with a Goertzel scan (https://en.wikipedia.org/wiki/Goertzel_algorithm),
// and write a tone as a WAV file for Chromium's fake microphone.
import { writeFileSync } from 'node:fs';

/**
 * Writes `out.length` samples of a sine of `frequencyHz` (amplitude 0..1 of full scale) into `out`,
 * continuing from sample index `startSample`, so consecutive frames join without a phase jump.
 */
export function fillSine(
  out: Int16Array,
  options: { frequencyHz: number; sampleRate: number; startSample: number; amplitude?: number },
): void {
  const amplitude = (options.amplitude ?? 0.5) * 32767;
  const step = (2 * Math.PI * options.frequencyHz) / options.sampleRate;
  for (let i = 0; i < out.length; i++) out[i] = Math.round(amplitude * Math.sin(step * (options.startSample + i)));
}

/** Index of the first sample whose magnitude reaches `threshold` (of 32767), or -1 if none does. */
export function firstNonSilentSample(samples: Int16Array, threshold = 500): number {
  for (let i = 0; i < samples.length; i++) {
    const s = samples[i] ?? 0;
    if (s >= threshold || s <= -threshold) return i;
  }
  return -1;
}

/** Power of one frequency in `samples` (Goertzel), normalised by the window length. */
export function goertzelPower(samples: Int16Array, sampleRate: number, frequencyHz: number): number {
  const coefficient = 2 * Math.cos((2 * Math.PI * frequencyHz) / sampleRate);
  let previous = 0;
  let beforePrevious = 0;
  for (let i = 0; i < samples.length; i++) {
    const current = (samples[i] ?? 0) / 32768 + coefficient * previous - beforePrevious;
    beforePrevious = previous;
    previous = current;
  }
  const power = previous * previous + beforePrevious * beforePrevious - coefficient * previous * beforePrevious;
  return power / (samples.length * samples.length);
}

export interface DominantFrequency {
  frequencyHz: number;
  /** Goertzel power at frequencyHz. */
  power: number;
  /** power divided by the mean power over the scanned band: how clearly one tone dominates. */
  peakToMean: number;
}

/**
 * Scans [minHz, maxHz] in `stepHz` steps (default 1 Hz) and returns the frequency with the most power.
 * Use a window of at least sampleRate / stepHz samples so neighbouring steps are resolved (1 s for 1 Hz).
 */
export function dominantFrequency(
  samples: Int16Array,
  options: { sampleRate: number; minHz: number; maxHz: number; stepHz?: number },
): DominantFrequency {
  const stepHz = options.stepHz ?? 1;
  let best: DominantFrequency = { frequencyHz: options.minHz, power: -1, peakToMean: 0 };
  let total = 0;
  let count = 0;
  for (let f = options.minHz; f <= options.maxHz; f += stepHz) {
    const power = goertzelPower(samples, options.sampleRate, f);
    total += power;
    count++;
    if (power > best.power) best = { frequencyHz: f, power, peakToMean: 0 };
  }
  const mean = count > 0 ? total / count : 0;
  best.peakToMean = mean > 0 ? best.power / mean : 0;
  return best;
}

export interface ToneCheck extends DominantFrequency {
  expectedHz: number;
  toleranceHz: number;
  /** |frequencyHz - expectedHz| <= toleranceHz. */
  matches: boolean;
}

/**
 * The check the audio e2e tests make on received audio: the dominant frequency between 100 and 2000 Hz (1 Hz steps;
 * give it at least a second of samples) and whether it is within `toleranceHz` (default 5) of `expectedHz`.
 */
export function checkTone(samples: Int16Array, options: { sampleRate: number; expectedHz: number; toleranceHz?: number }): ToneCheck {
  const toleranceHz = options.toleranceHz ?? 5;
  const found = dominantFrequency(samples, { sampleRate: options.sampleRate, minHz: 100, maxHz: 2_000 });
  return { ...found, expectedHz: options.expectedHz, toleranceHz, matches: Math.abs(found.frequencyHz - options.expectedHz) <= toleranceHz };
}

/**
 * Writes a mono 16-bit 48 kHz WAV of a continuous sine, for `--use-file-for-fake-audio-capture` (Chromium loops it:
 * a whole number of cycles in `seconds`, e.g. 440 Hz over 2 s, loops without a click).
 */
export function writeToneWav(path: string, opts: { frequencyHz: number; amplitude: number; seconds: number }): void {
  const sampleRate = 48_000;
  const samples = new Int16Array(sampleRate * opts.seconds);
  fillSine(samples, { frequencyHz: opts.frequencyHz, sampleRate, startSample: 0, amplitude: opts.amplitude });
  const out = Buffer.alloc(44 + samples.length * 2);
  out.write('RIFF', 0);
  out.writeUInt32LE(36 + samples.length * 2, 4);
  out.write('WAVEfmt ', 8);
  out.writeUInt32LE(16, 16);
  out.writeUInt16LE(1, 20); // PCM
  out.writeUInt16LE(1, 22); // mono
  out.writeUInt32LE(sampleRate, 24);
  out.writeUInt32LE(sampleRate * 2, 28);
  out.writeUInt16LE(2, 32);
  out.writeUInt16LE(16, 34);
  out.write('data', 36);
  out.writeUInt32LE(samples.length * 2, 40);
  for (let i = 0; i < samples.length; i++) out.writeInt16LE(samples[i]!, 44 + i * 2);
  writeFileSync(path, out);
}
