// Unit tests for `atrium publish`'s pieces: reading ffprobe's answer, and ffmpeg's RTP sent on as our sender's stream.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRtpHeader, parseRtpHeader } from '@atrium/webrtc';
import { serializeRtpPacket } from '@atrium/webrtc/rtp/rtp-packet.js';
import type { LocalSender } from '@atrium/webrtc/pc/local-sender.js';
import { parseRate, readProbe } from './probe.js';
import { RelaySource } from './relay-source.js';

test('readProbe: the first sized video stream, audio presence, duration', () => {
  assert.deepEqual(
    readProbe({ streams: [{ codec_type: 'audio' }, { codec_type: 'video', width: 1280, height: 720, avg_frame_rate: '30000/1001' }], format: { duration: '12.5' } }),
    { video: { width: 1280, height: 720, fps: 30000 / 1001 }, hasAudio: true, durationSec: 12.5 },
  );
  // cover art (a video stream without a size is not picked), no duration
  assert.deepEqual(readProbe({ streams: [{ codec_type: 'audio' }, { codec_type: 'video', width: 0 }], format: {} }), { hasAudio: true });
  assert.deepEqual(readProbe({ streams: [{ codec_type: 'video', width: 2, height: 2, avg_frame_rate: '0/0', r_frame_rate: '25/1' }] }), { video: { width: 2, height: 2, fps: 25 }, hasAudio: false });
  assert.equal(parseRate('x'), 0);
  assert.equal(parseRate('25'), 25);
});

test("RelaySource: ffmpeg's payload, marker and timestamp spacing under the sender's SSRC, type and extensions", () => {
  const sent: Buffer[] = [];
  const sender = { ssrc: 0x1234, payloadType: 96, mid: '1', sendRtp: (b: Buffer) => sent.push(Buffer.from(b)) } as unknown as LocalSender;
  const src = new RelaySource('video', sender);
  const ffmpegPacket = (seq: number, ts: number, marker: boolean, payload: number[]): Buffer =>
    serializeRtpPacket({ payloadType: 97, sequenceNumber: seq, timestamp: ts, ssrc: 0x9999, marker, payload: Uint8Array.from(payload) });
  src.push(ffmpegPacket(1, 1000, false, [1])); // before configure: dropped
  src.configure({ mid: 1, rid: 0, audioLevel: 0, transportCc: 0, absSendTime: 0 }, () => Buffer.from([0xbe, 0xde, 0, 1, 0x10, 0x31, 0, 0]));
  src.push(ffmpegPacket(7, 0xfffffff0, false, [0x10, 2, 3]));
  src.push(ffmpegPacket(8, 0xfffffff0, true, [0x00, 4]));
  src.push(ffmpegPacket(9, 0x00000bb8, true, [0x00, 5])); // the source's clock wraps
  src.push(Buffer.from([1, 2, 3])); // not RTP
  assert.equal(sent.length, 3);
  assert.equal(src.malformed, 1);
  assert.equal(src.framesSent, 2);
  const h = createRtpHeader();
  const headers = sent.map((b) => {
    assert.ok(parseRtpHeader(b, h));
    return { ...h, payload: [...b.subarray(h.payloadOffset, h.payloadOffset + h.payloadLength)] };
  });
  assert.deepEqual(headers.map((x) => [x.ssrc, x.payloadType, x.marker, x.extensionProfile]), [[0x1234, 96, false, 0xbede], [0x1234, 96, true, 0xbede], [0x1234, 96, true, 0xbede]]);
  assert.deepEqual(headers.map((x) => x.payload), [[0x10, 2, 3], [0x00, 4], [0x00, 5]]);
  assert.equal((headers[1]!.sequenceNumber - headers[0]!.sequenceNumber) & 0xffff, 1);
  assert.equal(headers[1]!.timestamp, headers[0]!.timestamp);
  assert.equal((headers[2]!.timestamp - headers[0]!.timestamp) >>> 0, 0x0bb8 + 0x10);
});
