import { test } from 'node:test';
import assert from 'node:assert/strict';
import { newTrackSid, newRoomSid, newParticipantSid, randomBase62, ID_RANDOM_LENGTH, newWebhookEventId } from './ids.js';

test('prefixes and base62 random part', () => {
  assert.match(newRoomSid(), new RegExp(`^RM_[0-9A-Za-z]{${ID_RANDOM_LENGTH}}$`));
  assert.match(newParticipantSid(), /^PA_[0-9A-Za-z]{12}$/);
  assert.match(newWebhookEventId(), /^EV_[0-9A-Za-z]{12}$/);
  assert.equal(randomBase62(40).length, 40);
});

test('track sids carry type and source tags', () => {
  const table: [number | undefined, number | undefined, RegExp][] = [
    [1, 1, /^TR_VC[0-9A-Za-z]{12}$/],
    [0, 2, /^TR_AM[0-9A-Za-z]{12}$/],
    [1, 3, /^TR_VS[0-9A-Za-z]{12}$/],
    [0, 4, /^TR_As[0-9A-Za-z]{12}$/],
    [1, 0, /^TR_V[0-9A-Za-z]{12}$/],
    [undefined, undefined, /^TR_[0-9A-Za-z]{12}$/],
  ];
  for (const [type, source, re] of table) assert.match(newTrackSid({ type, source }), re);
});

test('ids are unique', () => {
  const seen = new Set<string>();
  for (let i = 0; i < 2000; i++) seen.add(newParticipantSid());
  assert.equal(seen.size, 2000);
});
