import { test } from 'node:test';
import assert from 'node:assert/strict';
import { allocateLayers, bestLayer } from './layer-allocator.js';
import type { AllocationTrack, LayerTarget } from './layer-allocator.js';
import type { SourceLayers } from './down-track-source.js';
import { NO_LAYER } from './video-layers.js';

/** A source whose flowing layers are `mask`, three temporal layers each, and the given bitrates. */
function source(mask: number, bitrateBps: number[] = [150_000, 500_000, 1_500_000], isSvc = false): SourceLayers {
  return { activeSpatialMask: mask, maxTemporal: [0, 1, 2].map((s) => ((mask >> s) & 1 ? 2 : -1)), bitrateBps, isSvc };
}

function track(maxSpatial: number, layers: SourceLayers, extra: Partial<AllocationTrack> = {}): AllocationTrack {
  return { isDisabled: false, maxSpatial, maxTemporal: 2, priority: 0, layers, ...extra };
}

const spatialOf = (t: LayerTarget): number => t.spatial;

test('bestLayer: requested size x flowing layers -> layer', () => {
  const table: Array<[string, AllocationTrack, number]> = [
    ['wants HIGH, all flow', track(2, source(0b111)), 2],
    ['wants MEDIUM, all flow', track(1, source(0b111)), 1],
    ['wants LOW, all flow', track(0, source(0b111)), 0],
    ['wants HIGH, top paused by the publisher', track(2, source(0b011)), 1],
    ['wants HIGH, only low flows', track(2, source(0b001)), 0],
    ['wants LOW, low paused (dynacast off): overshoot to the lowest flowing', track(0, source(0b110)), 1],
    ['wants MEDIUM, only high flows', track(1, source(0b100)), 2],
    ['nothing flows', track(2, source(0)), NO_LAYER],
    ['disabled', track(2, source(0b111), { isDisabled: true }), NO_LAYER],
    ['wants nothing (OFF)', track(NO_LAYER, source(0b111)), NO_LAYER],
  ];
  for (const [name, t, want] of table) assert.equal(bestLayer(t).spatial, want, name);
});

test('bestLayer: temporal layer = the wish, capped by what the publisher sends at that layer', () => {
  assert.deepEqual(bestLayer(track(2, source(0b111), { maxTemporal: 1 })), { spatial: 2, temporal: 1 });
  const fewer: SourceLayers = { ...source(0b111), maxTemporal: [2, 2, 0] };
  assert.deepEqual(bestLayer(track(2, fewer)), { spatial: 2, temporal: 0 });
});

test('no bandwidth limit: every track gets its best layer', () => {
  const out: LayerTarget[] = [];
  allocateLayers([track(2, source(0b111)), track(0, source(0b111)), track(1, source(0b101))], Infinity, out);
  assert.deepEqual(out.map(spatialOf), [2, 0, 0]);
});

test('under a budget: all start at their lowest layer, then rise one step at a time by priority', () => {
  const out: LayerTarget[] = [];
  const a = track(2, source(0b111), { priority: 1 });
  const b = track(2, source(0b111));
  const table: Array<[number, number[]]> = [
    [300_000, [0, 0]], // 150k + 150k
    [700_000, [1, 0]], // a rises first (priority): 500k + 150k
    [1_100_000, [1, 1]],
    [2_100_000, [2, 1]],
    [3_000_000, [2, 2]],
    [200_000, [0, NO_LAYER]], // only one fits: the higher priority one
    [100_000, [NO_LAYER, NO_LAYER]],
  ];
  for (const [budget, want] of table) {
    allocateLayers([a, b], budget, out);
    assert.deepEqual(out.map(spatialOf), want, `budget ${budget}`);
  }
});

test('under a budget: SVC layers cost their own bitrate plus the ones below', () => {
  const out: LayerTarget[] = [];
  const svc = track(2, source(0b111, [100_000, 200_000, 400_000], true));
  allocateLayers([svc], 350_000, out);
  assert.equal(out[0]!.spatial, 1, '100k + 200k fits, + 400k does not');
  allocateLayers([svc], 700_000, out);
  assert.equal(out[0]!.spatial, 2);
});

test('under a budget without pausing (allow_pause false): a track that does not fit keeps its lowest layer', () => {
  const out: LayerTarget[] = [];
  allocateLayers([track(2, source(0b111)), track(2, source(0b111))], 200_000, out, { allowPause: false });
  assert.deepEqual(out.map(spatialOf), [0, 0]);
});

test('under a budget: disabled tracks cost nothing and layers that do not flow are skipped', () => {
  const out: LayerTarget[] = [];
  allocateLayers([track(2, source(0b101)), track(2, source(0b111), { isDisabled: true })], 1_700_000, out);
  assert.deepEqual(out.map(spatialOf), [2, NO_LAYER]);
});
