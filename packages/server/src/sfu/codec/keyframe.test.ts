import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isVp8KeyframeStart } from './vp8.js';
import { isH264KeyframeStart } from './h264.js';
import { CodecKind, codecKindFromMime, isKeyframeStart } from './keyframe.js';

const vp8Cases: Array<[string, number[], boolean]> = [
  ['no extension, S=1 PID=0, P=0', [0x10, 0x00, 0x9d, 0x01, 0x2a], true],
  ['no extension, S=1, P=1 (inter frame)', [0x10, 0x01, 0x00], false],
  ['S=0 (continuation)', [0x00, 0x00, 0x9d], false],
  ['S=1 but partition 1', [0x11, 0x00, 0x9d], false],
  ['X, I with 7-bit picture id, key', [0x90, 0x80, 0x05, 0x00, 0x9d], true],
  ['X, I with 15-bit picture id, key', [0x90, 0x80, 0x81, 0x23, 0x00, 0x9d], true],
  ['X, I 15-bit picture id, inter', [0x90, 0x80, 0x81, 0x23, 0x01, 0x9d], false],
  ['X, I L T K all present, key', [0x90, 0xf0, 0x81, 0x23, 0x07, 0x40, 0x50, 0x9d], true],
  ['X, I L T K all present, inter', [0x90, 0xf0, 0x81, 0x23, 0x07, 0x40, 0x51, 0x9d], false],
  ['X, L only, key', [0x90, 0x40, 0x07, 0x10], true],
  ['X, K only, inter', [0x90, 0x10, 0x20, 0x11], false],
  ['truncated after descriptor', [0x90, 0x80, 0x81, 0x23], false],
  ['truncated extension byte', [0x90], false],
  ['empty', [], false],
];

for (const [name, bytes, expected] of vp8Cases) {
  test(`vp8: ${name}`, () => {
    const buf = Uint8Array.from(bytes);
    assert.equal(isVp8KeyframeStart(buf, 0, buf.length), expected);
  });
}

test('vp8: honours offset and length inside a larger packet', () => {
  const buf = Uint8Array.from([0xff, 0xff, 0x10, 0x00, 0xee]);
  assert.equal(isVp8KeyframeStart(buf, 2, 3), true);
  assert.equal(isVp8KeyframeStart(buf, 2, 1), false);
  assert.equal(isVp8KeyframeStart(buf, 4, 5), false, 'length past the end');
});

const h264Cases: Array<[string, number[], boolean]> = [
  ['single NAL IDR (5)', [0x65, 0x88, 0x80], true],
  ['single NAL SPS (7)', [0x67, 0x42, 0x00, 0x1f], true],
  ['single NAL PPS (8)', [0x68, 0xce], false],
  ['single NAL non-IDR slice (1)', [0x41, 0x9a], false],
  ['single NAL SEI (6)', [0x06, 0x05], false],
  ['STAP-A with SPS, PPS', [0x78, 0x00, 0x02, 0x67, 0x42, 0x00, 0x02, 0x68, 0xce], true],
  ['STAP-A with SEI then IDR', [0x78, 0x00, 0x01, 0x06, 0x00, 0x02, 0x65, 0x88], true],
  ['STAP-A with PPS only', [0x78, 0x00, 0x02, 0x68, 0xce], false],
  ['STAP-A with a size past the end', [0x78, 0x00, 0x09, 0x67, 0x42], false],
  ['STAP-A with zero size', [0x78, 0x00, 0x00, 0x67], false],
  ['FU-A start of IDR', [0x7c, 0x85, 0x88], true],
  ['FU-A middle of IDR', [0x7c, 0x05, 0x88], false],
  ['FU-A end of IDR', [0x7c, 0x45, 0x88], false],
  ['FU-A start of non-IDR', [0x7c, 0x81, 0x9a], false],
  ['FU-A truncated', [0x7c], false],
  ['empty', [], false],
];

for (const [name, bytes, expected] of h264Cases) {
  test(`h264: ${name}`, () => {
    const buf = Uint8Array.from(bytes);
    assert.equal(isH264KeyframeStart(buf, 0, buf.length), expected);
  });
}

test('dispatch by mime type', () => {
  assert.equal(codecKindFromMime('audio/opus'), CodecKind.AUDIO);
  assert.equal(codecKindFromMime('video/VP8'), CodecKind.VP8);
  assert.equal(codecKindFromMime('video/h264'), CodecKind.H264);
  assert.equal(codecKindFromMime('video/VP9'), CodecKind.VP9);
  assert.equal(codecKindFromMime('video/AV1'), CodecKind.AV1);
  assert.equal(codecKindFromMime('video/x-unknown'), CodecKind.OTHER_VIDEO);
  const inter = Uint8Array.from([0x10, 0x01]);
  const key = Uint8Array.from([0x10, 0x00]);
  assert.equal(isKeyframeStart(CodecKind.VP8, inter, 0, 2), false);
  assert.equal(isKeyframeStart(CodecKind.VP8, key, 0, 2), true);
  assert.equal(isKeyframeStart(CodecKind.H264, Uint8Array.from([0x65]), 0, 1), true);
  assert.equal(isKeyframeStart(CodecKind.AUDIO, inter, 0, 2), true);
  // VP9: B=1 P=0 (key start) vs P=1; AV1: N bit.
  assert.equal(isKeyframeStart(CodecKind.VP9, Uint8Array.from([0x08]), 0, 1), true);
  assert.equal(isKeyframeStart(CodecKind.VP9, Uint8Array.from([0x48]), 0, 1), false);
  assert.equal(isKeyframeStart(CodecKind.VP9, Uint8Array.from([0x28, 0x02]), 0, 2), false, 'spatial layer 1');
  assert.equal(isKeyframeStart(CodecKind.AV1, Uint8Array.from([0x18]), 0, 1), true);
  assert.equal(isKeyframeStart(CodecKind.AV1, Uint8Array.from([0x10]), 0, 1), false);
});
