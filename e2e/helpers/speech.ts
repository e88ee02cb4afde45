// A synthetic voice for the voice-activity e2e check: a pulse train at a drifting pitch (glottal pulses),
// shaped by three formant resonators that glide between vowel targets, cut into syllables at about 4 per second
// with short noise bursts as consonants. A pure sine is not speech to a voice-activity model; this is close
// enough to voiced speech for Silero VAD to call it speech (measured in e2e/agent-examples.test.ts).
// Deterministic: the same seed gives the same samples.
import { seededRandom } from '@atrium/webrtc/testing/seeded-random.js';

/** Vowel formant targets (F1, F2, F3 in Hz), roughly those of an adult voice. */
const VOWELS: ReadonlyArray<readonly [number, number, number]> = [
  [730, 1090, 2440], // a
  [530, 1840, 2480], // e
  [270, 2290, 3010], // i
  [570, 840, 2410], // o
  [300, 870, 2240], // u
];
const FORMANT_BANDWIDTHS_HZ = [80, 100, 140] as const;

/** A two-pole resonator whose centre frequency can change per sample. */
class Resonator {
  private y1 = 0;
  private y2 = 0;
  constructor(private readonly sampleRate: number, private readonly bandwidthHz: number) {}
  step(x: number, frequencyHz: number): number {
    const r = Math.exp((-Math.PI * this.bandwidthHz) / this.sampleRate);
    const a1 = 2 * r * Math.cos((2 * Math.PI * frequencyHz) / this.sampleRate);
    const a2 = -r * r;
    const gain = 1 - r; // keeps the peak gain near 1 / (2 sin θ), fine for a test signal
    const y = gain * x + a1 * this.y1 + a2 * this.y2;
    this.y2 = this.y1;
    this.y1 = y;
    return y;
  }
}

export interface SpeechLikeOptions {
  sampleRate: number;
  /** Peak level, 0..1 of full scale (default 0.5). */
  amplitude?: number;
  /** Mean pitch in Hz (default 140). */
  pitchHz?: number;
  seed?: number;
}

/**
 * A stateful source of speech-like samples: call `next(n)` for the next n samples (mono Int16).
 * Syllables are 180-300 ms long, separated by 20-60 ms gaps; about a third start with a noise burst.
 */
export class SpeechLikeVoice {
  private readonly sampleRate: number;
  private readonly amplitude: number;
  private readonly pitchHz: number;
  private readonly random: () => number;
  private readonly formants: Resonator[];
  private sample = 0;
  private phase = 0;
  private lastSource = 0;
  private syllableStart = 0;
  private syllableLength = 0;
  private gapLength = 0;
  private burstLength = 0;
  private vowelFrom: readonly [number, number, number];
  private vowelTo: readonly [number, number, number];
  private accentHz = 0;
  private gain = 0;
  private peak = 1e-9;

  constructor(options: SpeechLikeOptions) {
    this.sampleRate = options.sampleRate;
    this.amplitude = options.amplitude ?? 0.5;
    this.pitchHz = options.pitchHz ?? 140;
    this.random = seededRandom(options.seed ?? 7);
    this.formants = FORMANT_BANDWIDTHS_HZ.map((bw) => new Resonator(this.sampleRate, bw));
    this.vowelFrom = VOWELS[0]!;
    this.vowelTo = VOWELS[1]!;
    this.newSyllable();
  }

  private newSyllable(): void {
    const r = this.random;
    this.syllableStart = this.sample;
    this.syllableLength = Math.round((0.18 + 0.12 * r()) * this.sampleRate);
    this.gapLength = Math.round((0.02 + 0.04 * r()) * this.sampleRate);
    this.burstLength = r() < 0.35 ? Math.round(0.04 * this.sampleRate) : 0;
    this.vowelFrom = this.vowelTo;
    this.vowelTo = VOWELS[Math.floor(r() * VOWELS.length)]!;
    this.accentHz = (r() - 0.4) * 40;
  }

  /** The next `count` samples. */
  next(count: number): Int16Array {
    const out = new Int16Array(count);
    const sr = this.sampleRate;
    for (let i = 0; i < count; i++, this.sample++) {
      let pos = this.sample - this.syllableStart;
      if (pos >= this.syllableLength + this.gapLength) {
        this.newSyllable();
        pos = 0;
      }
      const t = this.sample / sr;
      const u = Math.min(1, pos / this.syllableLength); // progress through the syllable
      // Pitch: slow drift, a per-syllable accent that falls over the syllable, 1% jitter.
      const f0 = this.pitchHz + 15 * Math.sin(2 * Math.PI * 0.6 * t) + this.accentHz * (1 - u) + this.pitchHz * 0.01 * (this.random() - 0.5);
      this.phase += f0 / sr;
      let source = 0;
      if (this.phase >= 1) this.phase -= 1;
      // Rosenberg-like glottal flow: opening over 40% of the period, closing over 16%, then closed.
      const p = this.phase;
      const flow = p < 0.4 ? 0.5 * (1 - Math.cos((Math.PI * p) / 0.4)) : p < 0.56 ? Math.cos((Math.PI / 2) * ((p - 0.4) / 0.16)) : 0;
      source = flow - this.lastSource; // lip radiation: first difference
      this.lastSource = flow;
      // Envelope: 30 ms rise, sustain, 50 ms fall, then the gap.
      const rise = 0.03 * sr;
      const fall = 0.05 * sr;
      let envelope = 0;
      if (pos < this.syllableLength) {
        envelope = Math.min(1, pos / rise, (this.syllableLength - pos) / fall);
      }
      let voiced = source * envelope;
      // Consonant burst: white noise at the syllable start, the voicing fading in after it.
      let noise = 0;
      if (pos < this.burstLength) {
        noise = (this.random() * 2 - 1) * 0.15 * (1 - pos / this.burstLength);
        voiced *= pos / this.burstLength;
      }
      noise += (this.random() * 2 - 1) * 0.004 * envelope; // breathiness
      const w = 0.5 - 0.5 * Math.cos(Math.PI * u); // smooth glide between the vowels
      let y = voiced + noise;
      let shaped = 0;
      for (let k = 0; k < 3; k++) {
        const f = this.vowelFrom[k]! + (this.vowelTo[k]! - this.vowelFrom[k]!) * w;
        // Parallel formants, each a bit weaker than the one below.
        shaped += this.formants[k]!.step(y, f) * (k === 0 ? 1 : k === 1 ? 0.6 : 0.3);
      }
      y = shaped;
      // Automatic gain: track the running peak so the level stays near `amplitude`.
      this.peak = Math.max(Math.abs(y), this.peak * 0.99995);
      this.gain = this.amplitude / this.peak;
      out[i] = Math.max(-32767, Math.min(32767, Math.round(y * this.gain * 32767)));
    }
    return out;
  }
}
