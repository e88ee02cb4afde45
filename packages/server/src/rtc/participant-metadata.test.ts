import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RequestResponse_Reason } from '@livekit/protocol';
import { checkMetadataUpdate, metadataChange, METADATA_LIMITS } from './participant-metadata.js';

const update = (u: { name?: string; metadata?: string; attributes?: Record<string, string> }) => ({
  name: u.name ?? '',
  metadata: u.metadata ?? '',
  attributes: u.attributes ?? {},
});

test('permission first, then LiveKit limits (bytes), each with its reason and message', () => {
  const cases: [string, ReturnType<typeof update>, boolean, RequestResponse_Reason, string][] = [
    ['allowed', update({ name: 'n', metadata: 'm', attributes: { a: '1' } }), true, RequestResponse_Reason.OK, ''],
    ['no grant', update({ name: 'n' }), false, RequestResponse_Reason.NOT_ALLOWED, 'does not have permission to update own metadata'],
    ['no grant beats limits', update({ name: 'x'.repeat(300) }), false, RequestResponse_Reason.NOT_ALLOWED, 'does not have permission to update own metadata'],
    ['name 256 bytes', update({ name: 'x'.repeat(256) }), true, RequestResponse_Reason.OK, ''],
    ['name 257 bytes', update({ name: 'x'.repeat(257) }), true, RequestResponse_Reason.LIMIT_EXCEEDED, 'exceeds name length limit'],
    ['name counted in bytes', update({ name: 'é'.repeat(129) }), true, RequestResponse_Reason.LIMIT_EXCEEDED, 'exceeds name length limit'],
    ['metadata 512 KiB', update({ metadata: 'x'.repeat(512 * 1024) }), true, RequestResponse_Reason.OK, ''],
    ['metadata over', update({ metadata: 'x'.repeat(512 * 1024 + 1) }), true, RequestResponse_Reason.LIMIT_EXCEEDED, 'exceeds metadata size limit'],
    ['attributes keys + values over 64 KiB', update({ attributes: { k: 'x'.repeat(64 * 1024) } }), true, RequestResponse_Reason.LIMIT_EXCEEDED, 'exceeds attributes size limit'],
    ['attributes at 64 KiB', update({ attributes: { k: 'x'.repeat(64 * 1024 - 1) } }), true, RequestResponse_Reason.OK, ''],
  ];
  for (const [name, u, allowed, reason, message] of cases) {
    assert.deepEqual(checkMetadataUpdate(u, allowed), { reason, message }, name);
  }
  assert.equal(METADATA_LIMITS.maxNameBytes, 256);
});

test('only real changes are applied: empty name/metadata keep the value, empty attribute values delete', () => {
  const current = { name: 'Alice', metadata: 'm1', attributes: { a: '1', b: '2' } };
  assert.equal(metadataChange(current, update({ name: 'Alice', metadata: 'm1' })), undefined, 'what livekit-client sends for an unchanged field');
  assert.equal(metadataChange(current, update({})), undefined);
  assert.deepEqual(metadataChange(current, update({ name: 'Al', metadata: 'm1' })), { name: 'Al' });
  assert.deepEqual(metadataChange(current, update({ name: 'Alice', metadata: 'm2' })), { metadata: 'm2' });
  assert.deepEqual(metadataChange(current, update({ attributes: { a: '1', b: '', c: '3', d: '' } })), { attributes: { b: '', c: '3' } });
  assert.deepEqual(metadataChange(current, update({ attributes: { toString: '' } })), undefined, 'prototype keys are not attributes');
});
