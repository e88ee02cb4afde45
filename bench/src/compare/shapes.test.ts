import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseShapes, expectedSubscriptions, FULL_SHAPES } from './shapes.js';

test('parseShapes reads video, audio and meeting shapes', () => {
  const [v, a, m] = parseShapes('1v:100, 10a:1000,25m');
  assert.equal(v!.videoPublishers, 1);
  assert.equal(v!.subscribers, 100);
  assert.deepEqual(v!.publisherVideo.map((l) => l.rid), ['q', 'h', 'f']);
  assert.equal(a!.audioPublishers, 10);
  assert.equal(expectedSubscriptions(a!), 10_000);
  assert.equal(m!.meeting, 25);
  assert.deepEqual(m!.meetingVideo.map((l) => [l.rid, l.height]), [['', 360]]);
  assert.equal(expectedSubscriptions(m!), 600);
  assert.equal(parseShapes(FULL_SHAPES).length, 6);
});

test('parseShapes refuses what it cannot read', () => {
  assert.throws(() => parseShapes('1x:3'), /not like/);
  assert.throws(() => parseShapes('1m'), /at least 2/);
  assert.throws(() => parseShapes('0v:3'), /at least one/);
});

test('nominalForwardRate counts the top layer per video subscription and 50 pkt/s per audio one', async () => {
  const { nominalForwardRate, layerPacketRate } = await import('./shapes.js');
  const [v, a] = parseShapes('1v:100,10a:1000');
  const top = layerPacketRate(v!.publisherVideo[2]!);
  assert.ok(top > 150 && top < 260, `720p layer ${top} pkt/s`);
  assert.equal(nominalForwardRate(v!), 100 * top);
  assert.equal(nominalForwardRate(a!), 500_000);
});
