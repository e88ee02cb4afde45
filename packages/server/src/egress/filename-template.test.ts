import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cleanRelativePath, formatTemplateTime, outputFilename, replacePlaceholders } from './filename-template.js';
import type { TemplateValues } from './filename-template.js';

const v: TemplateValues = {
  roomName: 'demo', roomId: 'RM_abc', trackId: 'TR_xyz', trackSource: 'microphone', trackType: 'audio',
  publisherIdentity: 'alice', now: new Date(Date.UTC(2026, 11, 5, 9, 4, 7, 42)),
};

test("{time} is Go's 2006-01-02T150405 in UTC", () => {
  assert.equal(formatTemplateTime(v.now), '2026-12-05T090407');
});

test('placeholders as LiveKit; unknown ones stay', () => {
  assert.equal(
    replacePlaceholders('{room_name}/{room_id}/{track_id}-{track_source}-{track_type}-{publisher_identity}-{time}-{utc}-{nope}', v),
    'demo/RM_abc/TR_xyz-microphone-audio-alice-2026-12-05T090407-20261205090407042-{nope}',
  );
});

test('names: generated, extension added or swapped, directories kept', () => {
  const cases: [requested: string, ext: string, expected: string][] = [
    ['', '.ogg', 'TR_xyz-2026-12-05T090407.ogg'],
    ['recs/', '.ogg', 'recs/TR_xyz-2026-12-05T090407.ogg'],
    ['{room_name}/', '.webm', 'demo/TR_xyz-2026-12-05T090407.webm'],
    ['{room_name}-{track_id}', '.ogg', 'demo-TR_xyz.ogg'],
    ['a.ogg', '.ogg', 'a.ogg'],
    ['a.mp4', '.webm', 'a.webm'],
    ['a.b.c', '.mp4', 'a.b.c.mp4'],
    ['dir.v1/name', '.ogg', 'dir.v1/name.ogg'],
    ['../../etc/x', '.ogg', 'etc/x.ogg'],
    ['/abs/x', '.ogg', 'abs/x.ogg'],
  ];
  for (const [requested, ext, expected] of cases) assert.equal(outputFilename(requested, ext, v), expected, requested);
  // a composite's generated name starts with the room name
  assert.equal(outputFilename('', '.webm', v, v.roomName), 'demo-2026-12-05T090407.webm');
});

test('no path climbs out of the base directory', () => {
  for (const p of ['a/../../b', '../../../b', '/../b', 'x/../../../b']) assert.equal(cleanRelativePath(p), 'b', p);
  assert.equal(cleanRelativePath('a/../b'), 'b');
  assert.equal(cleanRelativePath('.'), '');
});
