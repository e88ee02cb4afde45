import { test } from 'node:test';
import assert from 'node:assert/strict';
import { StreamAllocator } from './stream-allocator.js';
import type { StreamTrack } from './stream-allocator.js';
import type { SourceLayers } from './down-track-source.js';
import { NO_LAYER } from './video-layers.js';

const RATES = [150_000, 500_000, 1_500_000];
function source(mask = 0b111, bitrateBps: number[] = RATES): SourceLayers {
  return { activeSpatialMask: mask, maxTemporal: [0, 1, 2].map((s) => ((mask >> s) & 1 ? 2 : -1)), bitrateBps, isSvc: false };
}
function track(current: number, extra: Partial<StreamTrack> = {}): StreamTrack {
  return { isDisabled: false, maxSpatial: 2, maxTemporal: 2, priority: 0, layers: source(), current, isNew: false, ...extra };
}

/** Runs ticks of 250 ms, feeding each decision back as the next tick's current layers; returns the layers per tick. */
function run(a: StreamAllocator, tracks: StreamTrack[], estimate: (tick: number) => number, ticks: number, audioBps = 40_000) {
  const seen: number[][] = [];
  const probes: number[] = [];
  for (let tick = 0; tick < ticks; tick++) {
    const d = a.decide(tracks, estimate(tick), audioBps, tick * 250);
    tracks = tracks.map((t, i) => ({ ...t, current: d.targets[i]!.spatial, isNew: false }));
    seen.push(d.targets.map((x) => x.spatial));
    probes.push(d.probeBps);
  }
  return { seen, probes };
}

test('a new track starts where it fits; with no limit it gets its best layer', () => {
  const a = new StreamAllocator({ allowPause: false });
  assert.deepEqual(a.decide([track(NO_LAYER, { isNew: true })], 800_000, 40_000, 0).targets.map((t) => t.spatial), [1]);
  assert.deepEqual(a.decide([track(NO_LAYER, { isNew: true })], Infinity, 0, 0).targets.map((t) => t.spatial), [2]);
});

test('congestion drops layers at once; recovery climbs one step per interval', () => {
  const a = new StreamAllocator({ allowPause: false, upgradeIntervalMs: 1000 });
  // 3 Mbps, then 400 kbps at tick 4, then 3 Mbps again from tick 8.
  const { seen } = run(a, [track(2)], (t) => (t >= 4 && t < 8 ? 400_000 : 3_000_000), 24);
  assert.deepEqual(seen.slice(0, 4).flat(), [2, 2, 2, 2]);
  assert.equal(seen[4]![0], 0, 'down to the lowest layer in the same tick');
  const firstUp = seen.findIndex((s, i) => i >= 8 && s[0] === 1);
  const top = seen.findIndex((s, i) => i >= 8 && s[0] === 2);
  assert.equal(firstUp, 8, 'the first step up as soon as it fits (the last upgrade was long ago)');
  assert.equal(top, 12, 'the next step one interval (4 ticks) later');
  assert.equal(a.downgrades, 1);
  assert.equal(a.upgrades, 2);
});

test('a wanted layer that does not fit asks for a probe sized for the next step; the step follows the grown estimate', () => {
  const a = new StreamAllocator({ allowPause: false, probeOvershoot: 1.2 });
  let estimate = 300_000;
  const tracks = [track(0)];
  const d = a.decide(tracks, estimate, 40_000, 0);
  assert.equal(d.targets[0]!.spatial, 0);
  assert.equal(d.isDeficient, true);
  // Next step: 500k - 150k = 350k more than the 150k + 40k in use -> (150k + 40k + 350k) x 1.2.
  assert.equal(d.probeBps, Math.round((150_000 + 40_000 + 350_000) * 1.2));
  assert.equal(a.decide(tracks, estimate, 40_000, 250).probeBps, 0, 'one probe at a time');
  estimate = 600_000; // the probe worked
  const after = a.decide(tracks, estimate, 40_000, 500);
  assert.equal(after.targets[0]!.spatial, 1);
  assert.equal(a.probesSucceeded, 1);
  const next = [1250, 1500, 1750].map((t) => a.decide([track(1)], estimate, 40_000, t).probeBps > 0);
  assert.deepEqual(next, [false, true, false], 'after a success the next step probes one upgrade interval later');
});

test('a probe that does not raise the estimate backs off', () => {
  const a = new StreamAllocator({ allowPause: false, probeIntervalMs: 3000, probeTimeoutMs: 2000 });
  const { probes } = run(a, [track(0)], () => 300_000, 80);
  const at = probes.map((p, i) => (p > 0 ? i : -1)).filter((i) => i >= 0);
  assert.equal(at[0], 0);
  // Fails at 2 s (tick 8); next after 3 s x 2 = 6 s (tick 32); fails at tick 40; next after min(12 s, 6 s) (tick 64).
  assert.deepEqual(at, [0, 32, 64]);
  assert.equal(a.probesFailed, 3);
});

test('allow_pause: a track pauses when not even its lowest layer fits and resumes at its lowest layer', () => {
  const a = new StreamAllocator({ allowPause: true, upgradeIntervalMs: 1000 });
  const { seen } = run(a, [track(1)], (t) => (t < 4 ? 150_000 : 900_000), 8);
  assert.equal(seen[0]![0], NO_LAYER, 'paused: 150k for audio and a 150k layer does not fit');
  assert.equal(seen[4]![0], 0, 'resumed at the lowest layer first');
  assert.equal(seen[7]![0], 0, 'no second step within the interval');
  assert.equal(a.pauses, 1);
  const keep = new StreamAllocator({ allowPause: false });
  assert.equal(keep.decide([track(1)], 150_000, 40_000, 0).targets[0]!.spatial, 0, 'without allow_pause the lowest layer stays');
});

test('priority: a screen share and a larger tile are raised before a small camera tile', () => {
  const a = new StreamAllocator({ allowPause: false, upgradeIntervalMs: 0 });
  const camSmall = track(0, { requestedPixels: 320 * 180 });
  const camLarge = track(0, { requestedPixels: 1280 * 720 });
  const screen = track(0, { isScreenShare: true, requestedPixels: 320 * 180 });
  const d = a.decide([camSmall, camLarge, screen], 1_200_000, 40_000, 0);
  assert.deepEqual(d.targets.map((t) => t.spatial), [0, 0, 1], 'one step per tick: the screen share first');
  const d2 = a.decide([camSmall, camLarge, { ...screen, current: 1 }], 1_200_000, 40_000, 250);
  assert.deepEqual(d2.targets.map((t) => t.spatial), [0, 1, 1], 'then the larger tile');
});

test('a held layer that stops flowing is left at once for what fits', () => {
  const a = new StreamAllocator({ allowPause: false });
  const t = track(2, { layers: source(0b011) });
  assert.equal(a.decide([t], 3_000_000, 40_000, 0).targets[0]!.spatial, 1);
});

test('an estimate hovering at a layer rate does not flip the picture every second: undone upgrades double the wait', () => {
  const a = new StreamAllocator({ allowPause: false });
  // Layer 1 (500k) + 40k audio fits 800k, not 500k: 1 s covered, 0.5 s not, over and over for 20 s; then 3 Mbps.
  const estimate = (t: number): number => (t >= 80 ? 3_000_000 : t % 6 < 4 ? 800_000 : 500_000);
  const { seen } = run(a, [track(0)], estimate, 140);
  const changes = (from: number, to: number): number => seen.slice(from + 1, to).filter((s, i) => s[0] !== seen[from + i]![0]).length;
  const upTicks = seen.map((s, i) => (i > 0 && s[0]! > seen[i - 1]![0]! ? i : -1)).filter((i) => i >= 0 && i < 80);
  // Without the hold: up every 1.5 s (13 ups and 13 downs in 20 s). With it: the waits grow 1, 2, 4, 8 s.
  assert.ok(upTicks.length <= 5, `ups at ticks ${upTicks.join(', ')}`);
  for (let i = 2; i < upTicks.length; i++) assert.ok(upTicks[i]! - upTicks[i - 1]! > upTicks[i - 1]! - upTicks[i - 2]!, `growing gaps: ${upTicks.join(', ')}`);
  assert.ok(changes(0, 80) <= 10, `${changes(0, 80)} changes in 20 s`);
  // Then the link is good: the climb waits out the hold (at most 8 s) and goes up a layer per second.
  const top = seen.findIndex((s, i) => i >= 80 && s[0] === 2);
  assert.ok(top > 80 && top <= 80 + 4 * 10, `at the top layer by tick ${top}`);
});

test('the wait after an undone upgrade is back to one interval after a stable stretch', () => {
  const a = new StreamAllocator({ allowPause: false, stableResetMs: 10_000 });
  // Two undone upgrades (hold 4 s), 12 s of steady 800k (no downgrade), a dip, then 800k again: back up 1 s after the dip.
  const estimate = (t: number): number => {
    if (t < 20) return t % 6 < 4 ? 800_000 : 500_000;
    if (t >= 70 && t < 72) return 500_000;
    return 800_000;
  };
  const { seen } = run(a, [track(0)], estimate, 90);
  assert.equal(seen[70]![0], 0, 'the dip drops the layer');
  const up = seen.findIndex((s, i) => i > 70 && s[0] === 1);
  assert.equal(up, 74, 'up again one interval after the dip (4 ticks), not after a long hold');
});
