// Test-tone helpers for the audio e2e checks: fill frames with a sine, skip leading silence, and find the
// dominant frequency of received samples with a Goertzel scan (https://en.wikipedia.org/wiki/Goertzel_algorithm).

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
