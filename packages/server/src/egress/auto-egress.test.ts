// Unit tests for auto egress: which egress each room event starts, with which request, once; failures logged only.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  AutoParticipantEgress, AutoTrackEgress, EgressInfo, EncodedFileOutput, ParticipantInfo, ParticipantInfo_Kind, Room, RoomCompositeEgressRequest, RoomEgress,
  S3Upload, TrackInfo, TrackSource,
} from '@livekit/protocol';
import type { ParticipantEgressRequest, TrackEgressRequest } from '@livekit/protocol';
import { ManualClock, silentLogger } from '@atrium/webrtc';
import { AutoEgress } from './auto-egress.js';
import type { AutoEgressTarget } from './auto-egress.js';
import { EgressError } from './egress-error.js';

function setup(withComposite = true) {
  const calls: { kind: string; req: TrackEgressRequest | ParticipantEgressRequest | RoomCompositeEgressRequest }[] = [];
  const info = (): EgressInfo => new EgressInfo({ egressId: `EG_${calls.length}` });
  const target: AutoEgressTarget = {
    startTrackEgress: (req) => {
      calls.push({ kind: 'track', req });
      if (req.trackId === 'TR_vp9') throw new EgressError('unimplemented', 'track egress of video/VP9 is not supported');
      return info();
    },
    startParticipantEgress: (req) => (calls.push({ kind: 'participant', req }), info()),
    ...(withComposite ? { startRoomCompositeEgress: (req: RoomCompositeEgressRequest) => (calls.push({ kind: 'room', req }), info()) } : {}),
  };
  const clock = new ManualClock();
  const auto = new AutoEgress({ target, clock, logger: silentLogger });
  return { calls, clock, auto, events: auto.roomEvents() };
}

const room = new Room({ sid: 'RM_1', name: 'demo' });
const alice = new ParticipantInfo({ sid: 'PA_a', identity: 'alice' });
const mic = new TrackInfo({ sid: 'TR_mic', source: TrackSource.MICROPHONE });
const cam = new TrackInfo({ sid: 'TR_cam', source: TrackSource.CAMERA });

test('a room without auto egress starts nothing', () => {
  const { calls, auto, events } = setup();
  events.roomStarted!(room, {});
  events.roomStarted!(new Room({ name: 'other' }), { egress: new RoomEgress() });
  events.trackPublished!(room, alice, mic);
  assert.equal(calls.length, 0);
  assert.equal(auto.roomCount, 0);
});

test('tracks: one track egress per published track, with the template and upload; failures do not stop the next', () => {
  const { calls, events } = setup();
  const s3 = new S3Upload({ bucket: 'b', endpoint: 'http://127.0.0.1:4568' });
  events.roomStarted!(room, { egress: new RoomEgress({ tracks: new AutoTrackEgress({ filepath: 'auto/{track_id}', output: { case: 's3', value: s3 } }) }) });
  events.trackPublished!(room, alice, new TrackInfo({ sid: 'TR_vp9', source: TrackSource.CAMERA }));
  events.trackPublished!(room, alice, mic);
  assert.deepEqual(calls.map((c) => [c.kind, (c.req as TrackEgressRequest).trackId]), [['track', 'TR_vp9'], ['track', 'TR_mic']]);
  const req = calls[1]!.req as TrackEgressRequest;
  assert.equal(req.roomName, 'demo');
  assert.equal(req.output.case, 'file');
  assert.equal(req.output.case === 'file' ? req.output.value.filepath : '', 'auto/{track_id}');
  assert.equal(req.output.case === 'file' && req.output.value.output.case === 's3' ? req.output.value.output.value.bucket : '', 'b');
});

test('participant: one egress per participant, after its camera and microphone settled; egress participants and left ones are not recorded', () => {
  const { calls, clock, events } = setup();
  const file = new EncodedFileOutput({ filepath: '{room_name}/{publisher_identity}' });
  events.roomStarted!(room, { egress: new RoomEgress({ participant: new AutoParticipantEgress({ fileOutputs: [file] }) }) });
  events.trackPublished!(room, alice, mic);
  clock.advance(500);
  events.trackPublished!(room, alice, cam);
  assert.equal(calls.length, 0, 'waits for the tracks published together');
  clock.advance(600);
  assert.deepEqual(calls.map((c) => [c.kind, (c.req as ParticipantEgressRequest).identity]), [['participant', 'alice']]);
  assert.equal((calls[0]!.req as ParticipantEgressRequest).fileOutputs[0]?.filepath, '{room_name}/{publisher_identity}');
  events.trackPublished!(room, alice, new TrackInfo({ sid: 'TR_cam2', source: TrackSource.CAMERA }));
  clock.advance(2_000);
  assert.equal(calls.length, 1, 'once per participant');

  const bob = new ParticipantInfo({ sid: 'PA_b', identity: 'bob' });
  events.trackPublished!(room, bob, mic);
  events.participantLeft!(room, bob);
  events.trackPublished!(room, new ParticipantInfo({ sid: 'PA_e', identity: 'EG_x', kind: ParticipantInfo_Kind.EGRESS }), mic);
  events.trackPublished!(room, new ParticipantInfo({ sid: 'PA_s', identity: 'screen' }), new TrackInfo({ sid: 'TR_s', source: TrackSource.SCREEN_SHARE }));
  clock.advance(2_000);
  assert.equal(calls.length, 1);
});

test('room: a room composite for the room, named after it; a finished room forgets its configuration and timers', () => {
  const { calls, clock, auto, events } = setup();
  events.roomStarted!(room, {
    egress: new RoomEgress({ room: new RoomCompositeEgressRequest({ roomName: 'ignored', layout: 'grid' }), participant: new AutoParticipantEgress() }),
  });
  assert.deepEqual(calls.map((c) => [c.kind, (c.req as RoomCompositeEgressRequest).roomName, (c.req as RoomCompositeEgressRequest).layout]), [['room', 'demo', 'grid']]);
  events.trackPublished!(room, alice, mic);
  events.roomFinished!(room);
  clock.advance(5_000);
  assert.equal(calls.length, 1);
  assert.equal(auto.roomCount, 0);
});

test('room composite without a composite recorder is logged, not thrown', () => {
  const { calls, events } = setup(false);
  events.roomStarted!(room, { egress: new RoomEgress({ room: new RoomCompositeEgressRequest() }) });
  assert.equal(calls.length, 0);
});
