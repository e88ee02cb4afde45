import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rateLine, trackLiveText } from './admin-view.js';

test('trackLiveText: the total, and the layers when more than one flows', () => {
  assert.equal(trackLiveText(undefined), '');
  assert.equal(trackLiveText({ bitrateBps: 64_400, layerBitrateBps: [64_400, 0, 0] }), '64 kbps');
  assert.equal(trackLiveText({ bitrateBps: 1_450_000, layerBitrateBps: [150_000, 500_000, 800_000] }), '1450 kbps (q 150, h 500, f 800)');
  assert.equal(trackLiveText({ bitrateBps: 650_000, layerBitrateBps: [150_000, 500_000, 0] }), '650 kbps (q 150, h 500)');
});

test('rateLine: node rates from two snapshots', () => {
  const snap = (atMs: number, bytes: number) => ({
    atMs, subscribers: {}, media: { audio: { packetsIn: 0, bytesIn: bytes / 10, packetsOut: 0, bytesOut: 0 }, video: { packetsIn: 0, bytesIn: bytes, packetsOut: 0, bytesOut: bytes * 2 } },
  });
  assert.equal(rateLine(snap(0, 0), snap(2_000, 250_000)), 'Media in: video 1000 kbps, audio 100 kbps; out: video 2000 kbps, audio 0 kbps (this node, last 2.0 s)');
});
