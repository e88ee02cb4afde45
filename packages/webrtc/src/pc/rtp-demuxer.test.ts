import { test } from 'node:test';
import assert from 'node:assert/strict';
import { serializeRtpPacket, type RtpHeader } from '../rtp/index.js';
import { HeaderExtensionUri } from '../sdp/index.js';
import { RtpDemuxer } from './rtp-demuxer.js';

const vp8 = { mimeType: 'video/VP8', clockRate: 90000, payloadType: 96, rtcpFeedback: [] };

test('demuxer: the transport-wide recorder sees every parsed packet first, also RTX padding and unknown SSRCs it drops', () => {
  const demux = new RtpDemuxer();
  demux.configure([{
    mid: '0', kind: 'video', codecs: new Map([[96, vp8]]), rtxPayloadTypes: new Map([[97, 96]]),
    ssrcs: [{ ssrc: 1000, rtxSsrc: 1001 }],
    extensionIds: new Map([[HeaderExtensionUri.transportCc, 3], [HeaderExtensionUri.sdesMid, 4]]),
  }]);
  const seen: number[] = [];
  demux.transportSeqRecorder = {
    extensionId: 3,
    recordRtp: (_buf: Uint8Array, h: RtpHeader) => seen.push(h.ssrc),
  };
  const delivered: number[] = [];
  demux.onStream = (s) => {
    s.onRtp = (_b, h) => delivered.push(h.sequenceNumber);
  };
  const twcc = (n: number) => [{ id: 3, value: Uint8Array.of(0, n) }];
  demux.handleRtp(serializeRtpPacket({ payloadType: 96, sequenceNumber: 5, timestamp: 0, ssrc: 1000, extensions: twcc(0), payload: Uint8Array.of(1) }), 0);
  // A padding-only probe on the RTX SSRC (no OSN), as Chromium sends them.
  demux.handleRtp(serializeRtpPacket({ payloadType: 97, sequenceNumber: 9, timestamp: 0, ssrc: 1001, extensions: twcc(1), payload: new Uint8Array(0), paddingLength: 224 }), 1);
  demux.handleRtp(serializeRtpPacket({ payloadType: 100, sequenceNumber: 1, timestamp: 0, ssrc: 4242, extensions: twcc(2), payload: Uint8Array.of(1) }), 2);
  demux.handleRtp(Buffer.from([0x80, 96, 0]), 3); // malformed: never reaches it
  assert.deepEqual(seen, [1000, 1001, 4242]);
  assert.deepEqual(delivered, [5]);
  assert.equal(demux.stats.rtxPadding, 1);
  assert.equal(demux.stats.unknownSsrc, 1);
  assert.equal(demux.stats.malformed, 1);
});
