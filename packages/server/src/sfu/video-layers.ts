// Video layers of a published track and how subscriber wishes map onto them: LiveKit's qualities (LOW, MEDIUM,
// HIGH) <-> spatial layer indices, and a requested render size -> the smallest layer that still fills it (with a 10%
// tolerance, as LiveKit's GetQualityForDimension). Pure: table-tested in video-layers.test.ts.

/** LiveKit's VideoQuality values (livekit_models.proto). */
export const Quality = { LOW: 0, MEDIUM: 1, HIGH: 2, OFF: 3 } as const;
export type QualityValue = (typeof Quality)[keyof typeof Quality];

/** One published layer as the publisher announced it (TrackInfo.codecs[].layers / layers). */
export interface LayerSpec {
  quality: QualityValue;
  width: number;
  height: number;
  /** The publisher's target bitrate for the layer, 0 when unknown. */
  bitrateBps: number;
}

/** No layer: paused, or not chosen yet. */
export const NO_LAYER = -1;
/** The highest spatial/temporal index the selectors handle (three layers each, as livekit-client publishes). */
export const MAX_SPATIAL = 2;
export const MAX_TEMPORAL = 2;

/** A requested render size is met by a layer at least this share of it (LiveKit's layerSelectionTolerance). */
const SIZE_TOLERANCE = 0.9;

/** Qualities the publisher announced, ascending, without duplicates (OFF and unknown values dropped). */
function presentQualities(layers: readonly LayerSpec[]): QualityValue[] {
  const out: QualityValue[] = [];
  for (const q of [Quality.LOW, Quality.MEDIUM, Quality.HIGH] as const) {
    if (layers.some((l) => l.quality === q)) out.push(q);
  }
  return out;
}

/**
 * The spatial index that serves `quality` (0 = lowest layer). With fewer than three layers the qualities collapse as
 * LiveKit's VideoQualityToSpatialLayer: LOW -> 0; MEDIUM -> 1 when LOW is also present, else 0; HIGH -> the top layer.
 * Without layer information (a track published without layers) the quality's own index is used.
 */
export function spatialForQuality(quality: number, layers: readonly LayerSpec[]): number {
  if (quality === Quality.OFF || quality < 0) return NO_LAYER;
  const present = presentQualities(layers);
  if (present.length === 0) return Math.min(quality, MAX_SPATIAL);
  if (quality >= Quality.HIGH) return present.length - 1;
  if (quality === Quality.MEDIUM) {
    if (present.length === 1) return 0;
    return present[0] === Quality.LOW ? 1 : 0;
  }
  return 0;
}

/** The quality a spatial index stands for (for dynacast): the index-th announced quality; HIGH past the top. */
export function qualityForSpatial(spatial: number, layers: readonly LayerSpec[]): QualityValue {
  if (spatial < 0) return Quality.OFF;
  const present = presentQualities(layers);
  if (present.length === 0) return (Math.min(spatial, Quality.HIGH) as QualityValue);
  return present[Math.min(spatial, present.length - 1)]!;
}

/**
 * The quality whose layer is the smallest that still fills `width` x `height` (10% tolerance), as LiveKit's
 * GetQualityForDimension: announced layers are compared by height; without them LiveKit's defaults (180, 360, the
 * track's own size) are compared with the shorter side (widths for portrait tracks). A zero request is LOW.
 */
export function qualityForSize(
  width: number,
  height: number,
  layers: readonly LayerSpec[],
  track: { width: number; height: number },
): QualityValue {
  const isPortrait = track.width > 0 && track.width < track.height;
  const sized = layers.filter((l) => l.height > 0 && l.quality <= Quality.HIGH).sort((a, b) => a.quality - b.quality);
  let sizes: number[];
  let qualities: QualityValue[];
  let requested: number;
  if (sized.length > 0) {
    sizes = sized.map((l) => l.height);
    qualities = sized.map((l) => l.quality);
    requested = height * SIZE_TOLERANCE;
  } else {
    requested = (isPortrait ? width : height) * SIZE_TOLERANCE;
    const own = isPortrait ? track.width : track.height;
    if (own === 0) return Quality.HIGH;
    sizes = [180, 360, own];
    qualities = [Quality.LOW, Quality.MEDIUM, Quality.HIGH];
  }
  for (let i = 0; i < sizes.length; i++) {
    if (i === sizes.length - 1) return qualities[i]!;
    if (sizes[i]! >= requested && sizes[i] !== sizes[i + 1]) return qualities[i]!;
  }
  return Quality.HIGH;
}

/** Highest temporal layer whose frame rate reaches `fps` when each layer doubles the rate below (3 layers: /4, /2, /1). */
export function temporalForFps(fps: number, fullFps: number, temporalLayers: number): number {
  if (fps <= 0 || temporalLayers <= 1 || fullFps <= 0) return MAX_TEMPORAL;
  for (let t = 0; t < temporalLayers; t++) {
    const layerFps = fullFps / 2 ** (temporalLayers - 1 - t);
    if (layerFps >= fps * SIZE_TOLERANCE) return t;
  }
  return temporalLayers - 1;
}
