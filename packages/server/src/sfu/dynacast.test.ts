import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '@atrium/webrtc/clock.js';
import { DynacastController } from './dynacast.js';
import { NO_LAYER, Quality } from './video-layers.js';
import type { LayerSpec, QualityValue } from './video-layers.js';

const three: LayerSpec[] = [
  { quality: Quality.LOW, width: 320, height: 180, bitrateBps: 0 },
  { quality: Quality.MEDIUM, width: 640, height: 360, bitrateBps: 0 },
  { quality: Quality.HIGH, width: 1280, height: 720, bitrateBps: 0 },
];

function rig() {
  const clock = new ManualClock();
  const updates: string[] = [];
  const d = new DynacastController({
    clock,
    layersFor: () => three,
    onUpdate: (q: ReadonlyMap<string, QualityValue>) => updates.push([...q].map(([m, v]) => `${m}=${v}`).join(',')),
  });
  d.addCodec('video/VP8');
  return { clock, d, updates };
}

test('the max over subscribers is committed: upgrades at once, downgrades after the pause delay', () => {
  const { clock, d, updates } = rig();
  d.setSubscriberMaxSpatial('video/VP8', 'A', 0);
  assert.deepEqual(updates, [`video/vp8=${Quality.LOW}`], 'first report: at once');
  d.setSubscriberMaxSpatial('video/VP8', 'B', 2);
  assert.deepEqual(updates.slice(1), [`video/vp8=${Quality.HIGH}`], 'upgrade: at once');
  d.setSubscriberMaxSpatial('video/VP8', 'B', 1);
  clock.advance(4999);
  assert.equal(updates.length, 2, 'downgrade waits');
  clock.advance(1);
  assert.deepEqual(updates.slice(2), [`video/vp8=${Quality.MEDIUM}`]);
  // A downgrade taken back within the delay is never sent.
  d.setSubscriberMaxSpatial('video/VP8', 'B', 0);
  clock.advance(2000);
  d.setSubscriberMaxSpatial('video/VP8', 'B', 1);
  clock.advance(10_000);
  assert.equal(updates.length, 3);
  d.close();
  assert.equal(clock.pendingTimers, 0);
});

test('the last subscriber leaving turns every layer off (after the delay); nobody at all: off after 10 s', () => {
  const { clock, d, updates } = rig();
  clock.advance(9999);
  assert.equal(updates.length, 0);
  clock.advance(1);
  assert.deepEqual(updates, [`video/vp8=${Quality.OFF}`], 'nobody subscribed within 10 s');
  d.setSubscriberMaxSpatial('video/VP8', 'A', 1);
  assert.deepEqual(updates.slice(1), [`video/vp8=${Quality.MEDIUM}`]);
  d.removeSubscriber('A');
  clock.advance(5000);
  assert.deepEqual(updates.slice(2), [`video/vp8=${Quality.OFF}`]);
  d.setSubscriberMaxSpatial('video/VP8', 'C', NO_LAYER);
  clock.advance(10_000);
  assert.equal(updates.length, 3, 'a subscriber that wants nothing changes nothing');
  d.close();
});

test('per codec: a backup codec is reported next to the primary', () => {
  const { d, updates } = rig();
  d.setSubscriberMaxSpatial('video/VP8', 'A', 2);
  d.setSubscriberMaxSpatial('video/AV1', 'B', 0);
  assert.deepEqual(updates, [`video/vp8=${Quality.HIGH}`, `video/vp8=${Quality.HIGH},video/av1=${Quality.LOW}`]);
  d.close();
});
