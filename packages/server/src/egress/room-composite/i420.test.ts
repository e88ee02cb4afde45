import { test } from 'node:test';
import assert from 'node:assert/strict';
import { drawScaled, fillRect, i420Size, newFrame, pixelAt, rgbToYuv } from './i420.js';

test('I420 sizes and BT.601 colours', () => {
  assert.equal(i420Size(1280, 720), 1280 * 720 * 1.5);
  assert.deepEqual(rgbToYuv(0, 0, 0), { y: 16, u: 128, v: 128 });
  assert.deepEqual(rgbToYuv(255, 255, 255), { y: 235, u: 128, v: 128 });
  const red = rgbToYuv(255, 0, 0);
  assert.ok(red.v > 200 && red.u < 128);
});

test('fillRect paints exactly the rect, in all three planes', () => {
  const f = newFrame(64, 32);
  fillRect(f, { x: 0, y: 0, width: 64, height: 32 }, { y: 16, u: 128, v: 128 });
  fillRect(f, { x: 10, y: 4, width: 20, height: 8 }, { y: 200, u: 50, v: 60 });
  assert.deepEqual(pixelAt(f, 10, 4), { y: 200, u: 50, v: 60 });
  assert.deepEqual(pixelAt(f, 29, 11), { y: 200, u: 50, v: 60 });
  assert.deepEqual(pixelAt(f, 30, 11), { y: 16, u: 128, v: 128 });
  assert.deepEqual(pixelAt(f, 9, 4), { y: 16, u: 128, v: 128 });
  assert.deepEqual(pixelAt(f, 10, 12), { y: 16, u: 128, v: 128 });
});

test('drawScaled puts each quadrant of the source in the matching quadrant of the tile (up, down and same size)', () => {
  const src = newFrame(32, 16);
  const colours = [{ y: 50, u: 60, v: 70 }, { y: 100, u: 110, v: 120 }, { y: 150, u: 160, v: 170 }, { y: 200, u: 210, v: 220 }];
  fillRect(src, { x: 0, y: 0, width: 16, height: 8 }, colours[0]!);
  fillRect(src, { x: 16, y: 0, width: 16, height: 8 }, colours[1]!);
  fillRect(src, { x: 0, y: 8, width: 16, height: 8 }, colours[2]!);
  fillRect(src, { x: 16, y: 8, width: 16, height: 8 }, colours[3]!);
  for (const [w, h] of [[64, 32], [16, 8], [32, 16], [40, 24]] as const) {
    const dst = newFrame(100, 50);
    const rect = { x: 20, y: 10, width: w, height: h };
    drawScaled(dst, rect, src);
    const q = (cx: number, cy: number) => pixelAt(dst, rect.x + Math.floor(cx * w), rect.y + Math.floor(cy * h));
    assert.deepEqual(q(0.25, 0.25), colours[0], `${w}x${h}`);
    assert.deepEqual(q(0.75, 0.25), colours[1], `${w}x${h}`);
    assert.deepEqual(q(0.25, 0.75), colours[2], `${w}x${h}`);
    assert.deepEqual(q(0.75, 0.75), colours[3], `${w}x${h}`);
    // nothing outside the tile was touched
    assert.deepEqual(pixelAt(dst, rect.x - 2, rect.y), { y: 0, u: 0, v: 0 });
    assert.deepEqual(pixelAt(dst, rect.x + w, rect.y + h), { y: 0, u: 0, v: 0 });
  }
});
