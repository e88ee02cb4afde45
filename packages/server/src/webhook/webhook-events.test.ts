// Tests for the webhook event builder: names as LiveKit spells them, copied parts, protojson shape.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EgressInfo, EgressStatus, ParticipantInfo, Room, TrackInfo } from '@livekit/protocol';
import { buildEgressWebhookEvent, buildWebhookEvent, WebhookEventName } from './webhook-events.js';

test('event names are LiveKit\'s', () => {
  assert.deepEqual(Object.values(WebhookEventName), [
    'room_started',
    'room_finished',
    'participant_joined',
    'participant_left',
    'track_published',
    'track_unpublished',
    'egress_started',
    'egress_updated',
    'egress_ended',
    'ingress_started',
    'ingress_ended',
  ]);
});

test('the event holds copies of room, participant and track', () => {
  const room = new Room({ name: 'r', sid: 'RM_1', numParticipants: 1 });
  const participant = new ParticipantInfo({ sid: 'PA_1', identity: 'alice' });
  const track = new TrackInfo({ sid: 'TR_1', muted: true });
  const e = buildWebhookEvent(WebhookEventName.trackPublished, { room, participant, track });
  room.numParticipants = 2;
  participant.identity = 'changed';
  track.muted = false;
  assert.equal(
    e.toJsonString(),
    '{"event":"track_published","room":{"sid":"RM_1","name":"r","numParticipants":1},' +
      '"participant":{"sid":"PA_1","identity":"alice"},"track":{"sid":"TR_1","muted":true}}',
  );
  const bare = buildWebhookEvent(WebhookEventName.roomStarted, { room });
  assert.equal(bare.participant, undefined);
  assert.equal(bare.track, undefined);
  assert.equal(bare.id, '');
  assert.equal(bare.createdAt, 0n);
});

test('egress events carry a copy of the EgressInfo and no room, as LiveKit', () => {
  const info = new EgressInfo({ egressId: 'EG_1', roomName: 'r', status: EgressStatus.EGRESS_ACTIVE });
  const e = buildEgressWebhookEvent(WebhookEventName.egressUpdated, info);
  info.status = EgressStatus.EGRESS_COMPLETE;
  assert.equal(e.toJsonString(), '{"event":"egress_updated","egressInfo":{"egressId":"EG_1","status":"EGRESS_ACTIVE","roomName":"r"}}');
  assert.equal(e.room, undefined);
});
