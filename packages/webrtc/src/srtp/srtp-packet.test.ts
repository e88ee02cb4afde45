import { test } from 'node:test';
import assert from 'node:assert/strict';
import { estimateSrtpIndex, rtpHeaderLength } from './srtp-packet.js';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');

test('rtpHeaderLength: fixed, CSRCs, extension, and rejections', () => {
  const fixed = hex('8060 0001 00000001 11223344 aabb');
  assert.equal(rtpHeaderLength(fixed, fixed.length), 12);
  const twoCsrc = hex('8260 0001 00000001 11223344 00000001 00000002 aa');
  assert.equal(rtpHeaderLength(twoCsrc, twoCsrc.length), 20);
  const ext = hex('9060 0001 00000001 11223344 bede0002 11223344 55667788 aa');
  assert.equal(rtpHeaderLength(ext, ext.length), 24);
  const csrcAndExt = hex('9160 0001 00000001 11223344 00000009 bede0001 11223344');
  assert.equal(rtpHeaderLength(csrcAndExt, csrcAndExt.length), 24);
  assert.equal(rtpHeaderLength(ext, 23), -1, 'extension runs past the limit');
  assert.equal(rtpHeaderLength(hex('9060 0001 00000001 11223344 bede'), 14), -1, 'truncated extension header');
  assert.equal(rtpHeaderLength(hex('8f60 0001 00000001 11223344'), 12), -1, '15 CSRCs missing');
  assert.equal(rtpHeaderLength(hex('4060 0001 00000001 11223344'), 12), -1, 'version 1');
  assert.equal(rtpHeaderLength(Buffer.alloc(11, 0x80), 11), -1);
  assert.equal(rtpHeaderLength(fixed, fixed.length + 1), -1, 'limit beyond the buffer');
});

test('estimateSrtpIndex: RFC 3711 section 3.3.1 guesses', () => {
  const cases: Array<[highest: number, seq: number, expected: number]> = [
    [-1, 1234, 1234], // first packet: ROC 0
    [100, 101, 101],
    [100, 50, 50],
    [65535, 0, 65536], // wrap forward
    [65530, 3, 65539],
    [65536 + 2, 65534, 65534], // late packet from before the wrap
    [65536 + 2, 5, 65541],
    [5, 65535, -1], // a rollover before the start
    [3 * 65536 + 40000, 100, 4 * 65536 + 100], // highest in the upper half, seq far below: next ROC
    [3 * 65536 + 40000, 7300, 3 * 65536 + 7300], // within half a cycle below: same ROC
    [3 * 65536 + 100, 60000, 2 * 65536 + 60000], // highest in the lower half, seq far above: previous ROC
    [3 * 65536 + 100, 30000, 3 * 65536 + 30000],
  ];
  for (const [highest, seq, expected] of cases) {
    assert.equal(estimateSrtpIndex(highest, seq), expected, `highest ${highest} seq ${seq}`);
  }
});
