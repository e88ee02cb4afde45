// What a simulated participant sends: the video layers for `--video-resolution` (with or without simulcast) at
// realistic rates, frame sizes and key-frame intervals, and Opus audio (20 ms frames). Pure data, no I/O.

export type VideoResolution = 'high' | 'medium' | 'low';

export interface VideoLayerPlan {
  /** rid as livekit-client names simulcast layers: q (low), h (medium), f (high); '' without simulcast. */
  rid: string;
  /** VideoQuality as the AddTrackRequest's layers carry it: 0 low, 1 medium, 2 high. */
  quality: 0 | 1 | 2;
  width: number;
  height: number;
  fps: number;
  bitrateBps: number;
}

const LADDER: readonly Omit<VideoLayerPlan, 'rid'>[] = [
  { quality: 0, width: 320, height: 180, fps: 15, bitrateBps: 150_000 },
  { quality: 1, width: 640, height: 360, fps: 30, bitrateBps: 500_000 },
  { quality: 2, width: 1280, height: 720, fps: 30, bitrateBps: 1_700_000 },
];
const RIDS = ['q', 'h', 'f'] as const;
const TOP_LAYER: Readonly<Record<VideoResolution, number>> = { low: 0, medium: 1, high: 2 };

/**
 * The layers a video publisher sends, low to high: with simulcast every rung of the ladder up to the resolution
 * (720p: 180p/15 fps 150 kbps, 360p/30 fps 500 kbps, 720p/30 fps 1.7 Mbps), without it only the top one.
 */
export function videoLayers(resolution: VideoResolution, simulcast: boolean): VideoLayerPlan[] {
  const top = TOP_LAYER[resolution];
  if (!simulcast || top === 0) return [{ rid: '', ...LADDER[top]! }];
  return LADDER.slice(0, top + 1).map((l, i) => ({ rid: RIDS[i]!, ...l }));
}

export const KEYFRAME_INTERVAL_MS = 2000;
/** A key frame is this many times the size of an average frame (the rest of the group makes up for it). */
const KEYFRAME_SIZE_FACTOR = 5;

/**
 * Sizes of one group of pictures (a key frame then delta frames up to the next key frame) whose mean bitrate is the
 * layer's: the key frame 5x the mean frame, deltas varying +-20% around what is left, from a seeded sequence so
 * runs are alike. Every size >= 20 bytes.
 */
export function frameSizes(layer: Pick<VideoLayerPlan, 'fps' | 'bitrateBps'>, seed = 1): number[] {
  const frames = Math.max(1, Math.round((layer.fps * KEYFRAME_INTERVAL_MS) / 1000));
  const meanBytes = layer.bitrateBps / 8 / layer.fps;
  if (frames === 1) return [Math.max(20, Math.round(meanBytes))];
  const key = Math.round(meanBytes * KEYFRAME_SIZE_FACTOR);
  const delta = (meanBytes * frames - key) / (frames - 1);
  let x = seed >>> 0 || 1;
  const jitters: number[] = [];
  for (let i = 1; i < frames; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    jitters.push(0.8 + 0.4 * (x / 0xffffffff));
  }
  // scaled so the group's mean is exactly the layer's bitrate
  const scale = jitters.length / jitters.reduce((a, b) => a + b, 0);
  return [key, ...jitters.map((j) => Math.max(20, Math.round(delta * j * scale)))];
}

export const OPUS_FRAME_MS = 20;
export const OPUS_SAMPLES_PER_FRAME = 960; // 20 ms at 48 kHz
/** Opus payload sizes for one second (50 frames), 60..100 bytes (about 32 kbps), seeded. */
export function opusSizes(seed = 7): number[] {
  let x = seed >>> 0 || 1;
  const out: number[] = [];
  for (let i = 0; i < 1000 / OPUS_FRAME_MS; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    out.push(60 + ((x >>> 16) % 41));
  }
  return out;
}
