import { test } from 'node:test';
import assert from 'node:assert/strict';
import { codecsMatch, intersectFeedback, parseFmtp, type CodecDescriptor } from './codec-match.js';

const h264 = (fmtp?: string): CodecDescriptor => (fmtp === undefined ? { mimeType: 'video/H264', clockRate: 90000 } : { mimeType: 'video/H264', clockRate: 90000, fmtp });
const lasPm1 = (plid: string): CodecDescriptor => h264(`level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=${plid}`);

const cases: [string, CodecDescriptor, CodecDescriptor, boolean][] = [
  ['same opus', { mimeType: 'audio/opus', clockRate: 48000, channels: 2 }, { mimeType: 'audio/OPUS', clockRate: 48000, channels: 2 }, true],
  ['opus channel count differs', { mimeType: 'audio/opus', clockRate: 48000, channels: 2 }, { mimeType: 'audio/opus', clockRate: 48000 }, false],
  ['clock rate differs', { mimeType: 'audio/telephone-event', clockRate: 8000 }, { mimeType: 'audio/telephone-event', clockRate: 48000 }, false],
  ['mime case-insensitive', { mimeType: 'video/vp8', clockRate: 90000 }, { mimeType: 'video/VP8', clockRate: 90000 }, true],
  ['different codec', { mimeType: 'video/VP8', clockRate: 90000 }, { mimeType: 'video/VP9', clockRate: 90000 }, false],
  ['H264 same', lasPm1('42e01f'), lasPm1('42e01f'), true],
  ['H264 hex case', lasPm1('42E01F'), lasPm1('42e01f'), true],
  ['H264 packetization-mode differs', lasPm1('42e01f'), h264('level-asymmetry-allowed=1;packetization-mode=0;profile-level-id=42e01f'), false],
  ['H264 missing packetization-mode is 0', h264('profile-level-id=42e01f'), h264('packetization-mode=0;profile-level-id=42e01f'), true],
  ['H264 baseline vs constrained baseline', lasPm1('42001f'), lasPm1('42e01f'), false],
  ['H264 main vs baseline', lasPm1('4d001f'), lasPm1('42001f'), false],
  ['H264 level differs, asymmetry on both', lasPm1('42e01f'), lasPm1('42e034'), true],
  ['H264 level differs, asymmetry on one', lasPm1('42e01f'), h264('packetization-mode=1;profile-level-id=42e034'), false],
  ['H264 default profile-level-id is 42001f', h264('packetization-mode=1'), h264('packetization-mode=1;profile-level-id=42001f'), true],
  ['VP9 profile-id differs', { mimeType: 'video/VP9', clockRate: 90000, fmtp: 'profile-id=2' }, { mimeType: 'video/VP9', clockRate: 90000 }, false],
  ['VP9 default profile 0', { mimeType: 'video/VP9', clockRate: 90000, fmtp: 'profile-id=0' }, { mimeType: 'video/VP9', clockRate: 90000 }, true],
];
for (const [name, a, b, expected] of cases) {
  test(`codecsMatch: ${name}`, () => {
    assert.equal(codecsMatch(a, b), expected);
    assert.equal(codecsMatch(b, a), expected, 'symmetric');
  });
}

test('parseFmtp lower-cases keys and keeps values', () => {
  assert.deepEqual([...parseFmtp('Profile-Level-Id=42E01F; packetization-mode=1;flag')], [['profile-level-id', '42E01F'], ['packetization-mode', '1'], ['flag', '']]);
  assert.equal(parseFmtp(undefined).size, 0);
});

test('intersectFeedback keeps entries present in both, including parameters', () => {
  assert.deepEqual(
    intersectFeedback([{ type: 'nack' }, { type: 'nack', parameter: 'pli' }, { type: 'goog-remb' }, { type: 'ccm', parameter: 'fir' }], [{ type: 'ccm', parameter: 'fir' }, { type: 'nack', parameter: 'pli' }]),
    [{ type: 'nack', parameter: 'pli' }, { type: 'ccm', parameter: 'fir' }],
  );
});
