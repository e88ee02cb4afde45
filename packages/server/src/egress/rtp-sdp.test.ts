import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ffmpegSdp } from './rtp-sdp.js';
import { containerForMime } from './track-container.js';

test('SDP for ffmpeg: Opus stereo at 48 kHz, VP8 and H.264 at 90 kHz on the given port', () => {
  assert.equal(
    ffmpegSdp(containerForMime('audio/opus')!, 40000),
    'v=0\r\no=- 0 0 IN IP4 127.0.0.1\r\ns=atrium egress\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 40000 RTP/AVP 96\r\na=rtpmap:96 opus/48000/2\r\na=recvonly\r\n',
  );
  assert.match(ffmpegSdp(containerForMime('video/VP8')!, 40002), /m=video 40002 RTP\/AVP 96\r\na=rtpmap:96 VP8\/90000\r\n/);
  assert.match(ffmpegSdp(containerForMime('video/H264')!, 40004), /a=rtpmap:96 H264\/90000\r\na=fmtp:96 packetization-mode=1\r\n/);
});

test('containers: Opus -> ogg, VP8 -> webm, H.264 -> mp4; others none', () => {
  assert.deepEqual(['audio/opus', 'audio/red', 'video/VP8', 'video/h264', 'video/VP9', 'video/AV1'].map((m) => containerForMime(m)?.muxer), ['ogg', 'ogg', 'webm', 'mp4', undefined, undefined]);
});
