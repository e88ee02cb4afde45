import { test } from 'node:test';
import assert from 'node:assert/strict';
import { NO_LAYER, Quality, qualityForSize, qualityForSpatial, spatialForQuality, temporalForFps } from './video-layers.js';
import type { LayerSpec } from './video-layers.js';

const layer = (quality: LayerSpec['quality'], width: number, height: number): LayerSpec => ({ quality, width, height, bitrateBps: 0 });
// livekit-client's camera presets: 1280x720 in three layers, 640x360 in two (q, h = full size), 320x180 alone.
const three = [layer(Quality.LOW, 320, 180), layer(Quality.MEDIUM, 640, 360), layer(Quality.HIGH, 1280, 720)];
const two = [layer(Quality.LOW, 320, 180), layer(Quality.MEDIUM, 640, 360)];
const one = [layer(Quality.HIGH, 320, 180)];

test('quality -> spatial layer, as LiveKit collapses qualities onto fewer layers', () => {
  const table: Array<[string, number, readonly LayerSpec[], number]> = [
    ['LOW of three', Quality.LOW, three, 0],
    ['MEDIUM of three', Quality.MEDIUM, three, 1],
    ['HIGH of three', Quality.HIGH, three, 2],
    ['LOW of two', Quality.LOW, two, 0],
    ['MEDIUM of two', Quality.MEDIUM, two, 1],
    ['HIGH of two: the top one', Quality.HIGH, two, 1],
    ['MEDIUM of MEDIUM+HIGH', Quality.MEDIUM, [layer(Quality.MEDIUM, 640, 360), layer(Quality.HIGH, 1280, 720)], 0],
    ['anything of one', Quality.MEDIUM, one, 0],
    ['HIGH of one', Quality.HIGH, one, 0],
    ['OFF', Quality.OFF, three, NO_LAYER],
    ['no layer info: the quality index', Quality.MEDIUM, [], 1],
  ];
  for (const [name, q, layers, want] of table) assert.equal(spatialForQuality(q, layers), want, name);
});

test('spatial layer -> quality (what dynacast tells the publisher, matched to its rids)', () => {
  assert.deepEqual([0, 1, 2].map((s) => qualityForSpatial(s, three)), [Quality.LOW, Quality.MEDIUM, Quality.HIGH]);
  assert.deepEqual([0, 1, 2].map((s) => qualityForSpatial(s, two)), [Quality.LOW, Quality.MEDIUM, Quality.MEDIUM]);
  assert.equal(qualityForSpatial(NO_LAYER, three), Quality.OFF);
  assert.equal(qualityForSpatial(0, one), Quality.HIGH);
});

test('requested size -> the smallest layer that fills it (10% tolerance), by height or by width for portrait', () => {
  const landscape = { width: 1280, height: 720 };
  const table: Array<[string, number, number, readonly LayerSpec[], { width: number; height: number }, number]> = [
    ['a 160x90 tile', 160, 90, three, landscape, Quality.LOW],
    ['exactly the low layer', 320, 180, three, landscape, Quality.LOW],
    ['a little larger than low, within 10%', 330, 195, three, landscape, Quality.LOW],
    ['clearly larger than low', 480, 270, three, landscape, Quality.MEDIUM],
    ['640x360', 640, 360, three, landscape, Quality.MEDIUM],
    ['800x450', 800, 450, three, landscape, Quality.HIGH],
    ['full size', 1280, 720, three, landscape, Quality.HIGH],
    ['larger than full size', 1920, 1080, three, landscape, Quality.HIGH],
    ['zero', 0, 0, three, landscape, Quality.LOW],
    ['two layers, large tile', 1280, 720, two, { width: 640, height: 360 }, Quality.MEDIUM],
    ['no sizes announced: 180/360/track', 500, 500, [], landscape, Quality.HIGH],
    ['no sizes announced, 400 high is met by 360 within 10%', 400, 400, [], landscape, Quality.MEDIUM],
    ['no sizes announced, small', 200, 150, [], landscape, Quality.LOW],
    ['portrait with layers: heights still', 200, 400, [layer(0, 180, 320), layer(1, 360, 640), layer(2, 720, 1280)], { width: 720, height: 1280 }, Quality.MEDIUM],
    ['portrait without layers: widths against 180/360/track', 300, 600, [], { width: 720, height: 1280 }, Quality.MEDIUM],
  ];
  for (const [name, w, h, layers, track, want] of table) assert.equal(qualityForSize(w, h, layers, track), want, name);
});

test('requested frame rate -> temporal layer (each layer doubles the rate below it)', () => {
  assert.equal(temporalForFps(7, 30, 3), 0);
  assert.equal(temporalForFps(15, 30, 3), 1);
  assert.equal(temporalForFps(24, 30, 3), 2);
  assert.equal(temporalForFps(60, 30, 3), 2);
  assert.equal(temporalForFps(0, 30, 3), 2, 'no wish: all');
  assert.equal(temporalForFps(5, 30, 1), 2, 'one layer: nothing to drop');
});
