import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LayoutAssigner, isLayout } from './layout.js';

test("speaker: six participants, the first video at 1280x720, five at 320x180, everyone else's tracks disabled", () => {
  const a = new LayoutAssigner('speaker');
  assert.deepEqual(a.settingsFor('p0', 'video'), { width: 1280, height: 720 });
  assert.equal(a.settingsFor('p0', 'audio'), 'heard', 'audio of a tiled publisher is kept');
  for (let i = 1; i <= 5; i++) assert.deepEqual(a.settingsFor(`p${i}`, 'video'), { width: 320, height: 180 });
  assert.equal(a.settingsFor('p6', 'video'), 'disabled');
  assert.equal(a.settingsFor('p6', 'audio'), 'disabled', 'a publisher without a tile is not heard either');
  assert.equal(a.settingsFor('p1', 'audio'), 'heard');
});

test('grids: 9 at 640x360, 16 and 25 at 320x180; audio-only publishers take a tile too', () => {
  const g = new LayoutAssigner('3x3');
  assert.equal(g.settingsFor('speaker-0', 'audio'), 'heard');
  for (let i = 0; i < 8; i++) assert.deepEqual(g.settingsFor(`v${i}`, 'video'), { width: 640, height: 360 });
  assert.equal(g.settingsFor('v8', 'video'), 'disabled', 'the ninth tile went to the audio-only publisher');
  for (const [layout, n] of [['4x4', 16], ['5x5', 25]] as const) {
    const a = new LayoutAssigner(layout);
    for (let i = 0; i < n; i++) assert.deepEqual(a.settingsFor(`v${i}`, 'video'), { width: 320, height: 180 });
    assert.equal(a.settingsFor(`v${n}`, 'video'), 'disabled');
  }
  assert.equal(isLayout('3x3'), true);
  assert.equal(isLayout('6x6'), false);
});
