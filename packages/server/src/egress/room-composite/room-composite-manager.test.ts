// EgressManager's room composite requests with a fake recorder: what the recorder is asked to do, UpdateLayout
// reaching it (and refused where there is no layout), and the room's end ending it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EgressStatus, EncodedFileOutput, EncodedFileType, Room as RoomInfo, RoomCompositeEgressRequest } from '@livekit/protocol';
import { ManualClock, silentLogger } from '@atrium/webrtc';
import { EgressManager } from '../egress-manager.js';
import type { EgressJob, RecorderCallbacks } from '../egress-manager.js';
import { EgressError } from '../egress-error.js';
import type { LayoutSpec } from './layout.js';

function compositeManager() {
  const room = new RoomInfo({ name: 'demo', sid: 'RM_demo' });
  const started: { job: EgressJob; cb: RecorderCallbacks; layouts: LayoutSpec[]; stops: number }[] = [];
  const manager = new EgressManager({
    findRoom: (name) => (name === 'demo' ? room : undefined),
    findTrack: () => undefined,
    findParticipantTracks: () => undefined,
    startRecorder: (job, cb) => {
      const r = { job, cb, layouts: [] as LayoutSpec[], stops: 0 };
      started.push(r);
      return { stop: () => void r.stops++, updateLayout: (l) => void r.layouts.push(l) };
    },
    fileBaseDir: '/rec',
    clock: new ManualClock(),
    logger: silentLogger,
  });
  return { room, manager, started };
}

const request = (fields: Partial<RoomCompositeEgressRequest> = {}, filepath = '') =>
  new RoomCompositeEgressRequest({ roomName: 'demo', fileOutputs: [new EncodedFileOutput({ filepath })], ...fields });
const code = (c: string) => (e: unknown) => e instanceof EgressError && e.code === c;

test('the recorder gets the composite settings, no fixed tracks, and a file named as LiveKit names composites', () => {
  const { manager, started } = compositeManager();
  const info = manager.startRoomCompositeEgress(request({ layout: 'grid' }));
  assert.equal(info.request.case, 'roomComposite');
  const { job } = started[0]!;
  assert.deepEqual(job.tracks, []);
  assert.deepEqual(job.composite?.layout, { kind: 'grid', theme: 'dark' });
  assert.equal(job.composite?.encoding.video?.width, 1280);
  assert.match(job.localPath, /^\/rec\/demo-\d{4}-\d\d-\d\dT\d{6}\.mp4$/);
  const audio = manager.startRoomCompositeEgress(request({ audioOnly: true }, 'rec/{room_name}'));
  assert.equal(started[1]!.job.localPath, '/rec/rec/demo.ogg');
  assert.equal(audio.status, EgressStatus.EGRESS_STARTING);
});

test('the deprecated single `file` output (as older SDKs send it) is taken too; no output is refused', () => {
  const { manager, started } = compositeManager();
  manager.startRoomCompositeEgress(new RoomCompositeEgressRequest({ roomName: 'demo', output: { case: 'file', value: new EncodedFileOutput({ filepath: 'a', fileType: EncodedFileType.MP4 }) } }));
  assert.equal(started[0]!.job.localPath, '/rec/a.mp4');
  assert.throws(() => manager.startRoomCompositeEgress(new RoomCompositeEgressRequest({ roomName: 'demo' })), code('invalid_argument'));
  assert.throws(() => manager.startRoomCompositeEgress(request({ roomName: 'nope' })), code('not_found'));
});

test('UpdateLayout reaches the recorder and shows in the request; refused for audio only, unknown names, ended egresses, other kinds', () => {
  const { manager, started } = compositeManager();
  const info = manager.startRoomCompositeEgress(request({ layout: 'grid' }, 'one'));
  const updated = manager.updateLayout(info.egressId, 'single-speaker-light');
  assert.deepEqual(started[0]!.layouts, [{ kind: 'single-speaker', theme: 'light' }]);
  assert.equal(updated.request.case === 'roomComposite' ? updated.request.value.layout : '', 'single-speaker-light');
  assert.throws(() => manager.updateLayout(info.egressId, 'mosaic'), code('invalid_argument'));
  const audio = manager.startRoomCompositeEgress(request({ audioOnly: true }, 'two'));
  assert.throws(() => manager.updateLayout(audio.egressId, 'grid'), (e: unknown) => code('invalid_argument')(e) && /audio only/.test((e as Error).message));
  manager.stopEgress(info.egressId);
  started[0]!.cb.ended({ sizeBytes: 0, durationMs: 0 });
  assert.throws(() => manager.updateLayout(info.egressId, 'grid'), code('failed_precondition'));
  assert.throws(() => manager.updateLayout('EG_none', 'grid'), code('not_found'));
});

test('a composite ends with its room, not with any one track', () => {
  const { room, manager, started } = compositeManager();
  const info = manager.startRoomCompositeEgress(request({}, 'x'));
  const events = manager.roomEvents();
  events.trackUnpublished?.(room as never, {} as never, { sid: 'TR_any' } as never);
  assert.equal(started[0]!.stops, 0);
  events.roomFinished?.(room as never);
  assert.equal(started[0]!.stops, 1);
  assert.equal(manager.listEgress({ egressId: info.egressId })[0]?.status, EgressStatus.EGRESS_ENDING);
});
