import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EncodedFileType } from '@livekit/protocol';
import { ffmpegSdp } from './rtp-sdp.js';
import { compositeContainer, containerForMime, rtpFormatForMime } from './track-container.js';

test('SDP for ffmpeg: Opus stereo at 48 kHz, VP8 and H.264 at 90 kHz, one m-line per stream', () => {
  assert.equal(
    ffmpegSdp([{ format: rtpFormatForMime('audio/opus')!, port: 40000 }]),
    'v=0\r\no=- 0 0 IN IP4 127.0.0.1\r\ns=atrium egress\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 40000 RTP/AVP 96\r\na=rtpmap:96 opus/48000/2\r\na=recvonly\r\n',
  );
  assert.match(ffmpegSdp([{ format: rtpFormatForMime('video/VP8')!, port: 40002 }]), /m=video 40002 RTP\/AVP 96\r\na=rtpmap:96 VP8\/90000\r\n/);
  assert.match(ffmpegSdp([{ format: rtpFormatForMime('video/H264')!, port: 40004 }]), /a=rtpmap:96 H264\/90000\r\na=fmtp:96 packetization-mode=1\r\n/);
  const both = ffmpegSdp([{ format: rtpFormatForMime('video/VP8')!, port: 40006 }, { format: rtpFormatForMime('audio/opus')!, port: 40008 }]);
  assert.match(both, /m=video 40006 .*\r\nm=audio 40008 /s);
});

test('containers: Opus -> ogg, VP8 -> webm, H.264 -> mp4; others none', () => {
  assert.deepEqual(['audio/opus', 'audio/red', 'video/VP8', 'video/h264', 'video/VP9', 'video/AV1'].map((m) => containerForMime(m)?.muxer), ['ogg', 'ogg', 'webm', 'mp4', undefined, undefined]);
});

test('composite containers: no transcoding, so the file type must fit the codecs', () => {
  const opus = rtpFormatForMime('audio/opus');
  const vp8 = rtpFormatForMime('video/VP8');
  const h264 = rtpFormatForMime('video/H264');
  const muxer = (v: typeof vp8, a: typeof opus, t: EncodedFileType): string => {
    const c = compositeContainer(v, a, t);
    return typeof c === 'string' ? 'refused' : c.muxer;
  };
  assert.equal(muxer(vp8, opus, EncodedFileType.DEFAULT_FILETYPE), 'webm');
  assert.equal(muxer(vp8, undefined, EncodedFileType.DEFAULT_FILETYPE), 'webm');
  assert.equal(muxer(h264, opus, EncodedFileType.DEFAULT_FILETYPE), 'mp4');
  assert.equal(muxer(h264, opus, EncodedFileType.MP4), 'mp4');
  assert.equal(muxer(undefined, opus, EncodedFileType.DEFAULT_FILETYPE), 'ogg');
  assert.equal(muxer(undefined, opus, EncodedFileType.OGG), 'ogg');
  assert.equal(muxer(vp8, opus, EncodedFileType.MP4), 'refused');
  assert.equal(muxer(vp8, opus, EncodedFileType.OGG), 'refused');
  assert.equal(muxer(undefined, opus, EncodedFileType.MP3), 'refused');
});
