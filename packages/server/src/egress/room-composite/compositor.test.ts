import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Compositor } from './compositor.js';
import { fillRect, newFrame, pixelAt, rgbToYuv } from './i420.js';
import { parseLayout } from './layout.js';

const solid = (r: number, g: number, b: number) => {
  const f = newFrame(64, 36);
  fillRect(f, { x: 0, y: 0, width: 64, height: 36 }, rgbToYuv(r, g, b));
  return f;
};
const at = (c: Compositor, buf: Buffer, x: number, y: number) => pixelAt({ width: c.width, height: c.height, data: buf }, x, y);

test('grid: each participant\'s frame in its tile, a placeholder without one; speaker layout after setLayout', () => {
  const c = new Compositor({ width: 320, height: 180 }, parseLayout('grid')!);
  c.setParticipants([{ identity: 'red' }, { identity: 'green' }, { identity: 'none' }, { identity: 'blue' }]);
  c.setFrame('red', solid(255, 0, 0));
  c.setFrame('green', solid(0, 255, 0));
  c.setFrame('blue', solid(0, 0, 255));
  let frame = c.compose();
  assert.equal(frame.length, 320 * 180 * 1.5);
  assert.deepEqual(at(c, frame, 80, 45), rgbToYuv(255, 0, 0));
  assert.deepEqual(at(c, frame, 240, 45), rgbToYuv(0, 255, 0));
  assert.deepEqual(at(c, frame, 80, 135), rgbToYuv(58, 58, 58));
  assert.deepEqual(at(c, frame, 240, 135), rgbToYuv(0, 0, 255));
  c.setLayout(parseLayout('speaker')!);
  c.setSpeaker('blue');
  frame = c.compose();
  // blue large on the left, red at the top of the strip on the right
  assert.deepEqual(at(c, frame, 120, 90), rgbToYuv(0, 0, 255));
  const strip = c.currentTiles().find((t) => t.identity === 'red')!;
  assert.ok(strip.x >= 250);
  assert.deepEqual(at(c, frame, strip.x + strip.width / 2, strip.y + strip.height / 2), rgbToYuv(255, 0, 0));
});

test('a participant who leaves loses its tile and its frame; the buffers are fresh each time', () => {
  const c = new Compositor({ width: 320, height: 180 }, parseLayout('grid-light')!);
  c.setParticipants([{ identity: 'a' }, { identity: 'b' }]);
  c.setFrame('a', solid(255, 0, 0));
  const first = c.compose();
  c.setParticipants([{ identity: 'b' }]);
  const second = c.compose();
  assert.notEqual(first, second);
  assert.deepEqual(c.currentTiles().map((t) => t.identity), ['b']);
  assert.deepEqual(at(c, second, 160, 90), rgbToYuv(190, 190, 190));
  c.setParticipants([{ identity: 'a' }, { identity: 'b' }]);
  assert.deepEqual(at(c, c.compose(), 80, 90), rgbToYuv(190, 190, 190), 'a came back without a frame');
});
