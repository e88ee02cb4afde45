import { test } from 'node:test';
import assert from 'node:assert/strict';
import { IngressState_Status as S, TrackInfo, TrackType } from '@livekit/protocol';
import { endStream, inactiveState, isActiveStatus, IngressStateError, setPublishing, startStream } from './ingress-state.js';

const MS = 1_000_000n;

test('inactive -> buffering -> publishing -> complete, with start and end times in ns', () => {
  const s = inactiveState(1_000);
  assert.equal(s.status, S.ENDPOINT_INACTIVE);
  assert.equal(startStream(s, { nowMs: 2_000, resourceId: 'WH_a', roomId: 'RM_x' }), 'started');
  assert.equal(s.status, S.ENDPOINT_BUFFERING);
  assert.equal(s.startedAt, 2_000n * MS);
  assert.equal(s.resourceId, 'WH_a');
  assert.equal(s.roomId, 'RM_x');
  const tracks = [
    new TrackInfo({ sid: 'TR_v', type: TrackType.VIDEO, mimeType: 'video/VP8', width: 1280, height: 720 }),
    new TrackInfo({ sid: 'TR_a', type: TrackType.AUDIO, mimeType: 'audio/opus' }),
  ];
  assert.equal(setPublishing(s, tracks, 2_500), 'changed');
  assert.equal(s.status, S.ENDPOINT_PUBLISHING);
  assert.deepEqual(s.tracks.map((t) => t.sid), ['TR_v', 'TR_a']);
  assert.deepEqual([s.video?.mimeType, s.video?.width, s.video?.height], ['video/VP8', 1280, 720]);
  assert.deepEqual([s.audio?.mimeType, s.audio?.channels, s.audio?.sampleRate], ['audio/opus', 1, 48_000]);
  assert.equal(endStream(s, { nowMs: 3_000 }), 'ended');
  assert.equal(s.status, S.ENDPOINT_COMPLETE);
  assert.equal(s.error, '');
  assert.equal(s.endedAt, 3_000n * MS);
  assert.deepEqual(s.tracks, []);
  assert.equal(s.video, undefined);
});

test('a failure ends in ERROR with its text; ending twice reports once', () => {
  const s = inactiveState(0);
  startStream(s, { nowMs: 10, resourceId: 'WH_a', roomId: 'RM_x' });
  assert.equal(endStream(s, { nowMs: 20, error: 'the WebRTC connection to the sender failed' }), 'ended');
  assert.equal(s.status, S.ENDPOINT_ERROR);
  assert.equal(s.error, 'the WebRTC connection to the sender failed');
  assert.equal(endStream(s, { nowMs: 30 }), 'none');
  assert.equal(s.status, S.ENDPOINT_ERROR, 'a second end changes nothing');
  assert.equal(s.endedAt, 20n * MS);
});

test('one live stream at a time; a reusable ingress starts again after the end, with the old error and end cleared', () => {
  const s = inactiveState(0);
  startStream(s, { nowMs: 10, resourceId: 'WH_1', roomId: 'RM_x' });
  assert.throws(() => startStream(s, { nowMs: 11, resourceId: 'WH_2', roomId: 'RM_x' }), IngressStateError);
  setPublishing(s, [], 12);
  assert.throws(() => startStream(s, { nowMs: 13, resourceId: 'WH_2', roomId: 'RM_x' }), IngressStateError);
  endStream(s, { nowMs: 14, error: 'boom' });
  assert.equal(startStream(s, { nowMs: 15, resourceId: 'WH_2', roomId: 'RM_y' }), 'started');
  assert.equal(s.status, S.ENDPOINT_BUFFERING);
  assert.equal(s.error, '');
  assert.equal(s.endedAt, 0n);
  assert.equal(s.resourceId, 'WH_2');
});

test('publishing is ignored unless a stream is live', () => {
  const s = inactiveState(0);
  assert.equal(setPublishing(s, [new TrackInfo({ sid: 'TR_v' })], 1), 'none');
  assert.equal(s.status, S.ENDPOINT_INACTIVE);
  assert.equal(endStream(s, { nowMs: 2 }), 'none');
  for (const [status, active] of [[S.ENDPOINT_INACTIVE, false], [S.ENDPOINT_BUFFERING, true], [S.ENDPOINT_PUBLISHING, true], [S.ENDPOINT_ERROR, false], [S.ENDPOINT_COMPLETE, false]] as const) {
    assert.equal(isActiveStatus(status), active, S[status]);
  }
});
