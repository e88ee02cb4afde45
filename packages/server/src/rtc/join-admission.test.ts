import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ParticipantInfo_Kind, RoomConfiguration } from '@livekit/protocol';
import { isDependentParticipant, hasRoomFor, roomSettingsFromToken, JoinRefusedError } from './join-admission.js';

test('dependent participants: agent/egress kinds, agent or recorder grants (LiveKit IsDependent)', () => {
  const cases: [kind: ParticipantInfo_Kind | string | undefined, agent: boolean, recorder: boolean, expected: boolean][] = [
    [undefined, false, false, false],
    ['standard', false, false, false],
    [ParticipantInfo_Kind.STANDARD, false, false, false],
    [ParticipantInfo_Kind.SIP, false, false, false],
    ['agent', false, false, true],
    ['EGRESS', false, false, true],
    [ParticipantInfo_Kind.AGENT, false, false, true],
    [ParticipantInfo_Kind.EGRESS, false, false, true],
    ['ingress', false, false, false],
    [undefined, true, false, true],
    [undefined, false, true, true],
  ];
  for (const [kind, agent, recorder, expected] of cases) {
    assert.equal(isDependentParticipant({ kind, agent, recorder }), expected, JSON.stringify({ kind, agent, recorder }));
  }
});

test('max participants: counts others who are not dependent; same identity replaces; 0 = no limit', () => {
  const p = (identity: string, isDependent = false) => ({ identity, isDependent });
  const room = [p('a'), p('b'), p('rec', true)];
  assert.equal(hasRoomFor(0, p('c'), room), true, 'no limit');
  assert.equal(hasRoomFor(3, p('c'), room), true, 'the recorder does not count');
  assert.equal(hasRoomFor(2, p('c'), room), false, 'full');
  assert.equal(hasRoomFor(2, p('a'), room), true, 'a rejoining identity replaces its old session');
  assert.equal(hasRoomFor(2, p('agent', true), room), true, 'dependent joiners are always admitted');
  assert.equal(hasRoomFor(1, p('x'), []), true);
  assert.equal(hasRoomFor(1, p('x'), [p('y')]), false);
});

test('the token roomConfig (protobuf JSON as livekit-server-sdk writes it) becomes room settings', () => {
  const json = new RoomConfiguration({ name: 'r', emptyTimeout: 7, departureTimeout: 3, maxParticipants: 4, metadata: 'm' }).toJson({ emitDefaultValues: true });
  assert.deepEqual(roomSettingsFromToken({ identity: 'x', apiKey: 'k', roomConfig: json }), {
    emptyTimeoutSec: 7,
    departureTimeoutSec: 3,
    maxParticipants: 4,
    metadata: 'm',
  });
  assert.deepEqual(roomSettingsFromToken({ identity: 'x', apiKey: 'k', roomConfig: { max_participants: 2 } }), { maxParticipants: 2 });
  assert.deepEqual(roomSettingsFromToken({ identity: 'x', apiKey: 'k' }), {});
  assert.deepEqual(roomSettingsFromToken({ identity: 'x', apiKey: 'k', roomConfig: { maxParticipants: 'lots' } }), {}, 'unreadable: ignored');
  assert.deepEqual(roomSettingsFromToken({ identity: 'x', apiKey: 'k', roomConfig: 'nonsense' }), {});
});

test('refusals carry LiveKit texts and stable codes', () => {
  assert.equal(new JoinRefusedError('room_not_found').message, 'requested room does not exist');
  assert.equal(new JoinRefusedError('room_full').message, 'room has exceeded its max participants');
  assert.equal(new JoinRefusedError('room_full').code, 'room_full');
});
