import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AddTrackRequest, SimulcastCodec, TrackType } from '@livekit/protocol';
import { defaultCapabilities } from '@atrium/webrtc';
import { LIVEKIT_DEFAULT_CODECS } from '../config/server-config.js';
import { PublishCodecs } from './publish-codecs.js';
import { trackInfoFromAddTrack, unusableCodecs } from './track-info.js';

const specs = (...mimes: string[]) => mimes.map((mime) => ({ mime, fmtpLine: '' }));

test("LiveKit's default list: every codec Atrium forwards is enabled; the others are named as ignored", () => {
  const c = new PublishCodecs(specs(...LIVEKIT_DEFAULT_CODECS));
  assert.deepEqual(c.mimeTypes, ['audio/opus', 'audio/red', 'video/VP8', 'video/H264', 'video/VP9', 'video/AV1']);
  assert.deepEqual(c.ignored, ['audio/PCMU', 'audio/PCMA', 'video/H265']);
  assert.deepEqual(c.toProto().map((x) => x.mime), c.mimeTypes);
});

test('a narrower list: only those reach the JoinResponse and the publisher answer', () => {
  const c = new PublishCodecs(specs('audio/opus', 'video/vp8', 'video/AV1'));
  assert.deepEqual(c.mimeTypes, ['audio/opus', 'video/VP8', 'video/AV1']);
  assert.deepEqual(c.filter(defaultCapabilities.video).map((x) => x.mimeType), ['video/VP8', 'video/AV1']);
  assert.equal(c.isEnabled('video/h264'), false);
});

test('an fmtp_line restricts the codec to that format (one H.264 profile)', () => {
  const c = new PublishCodecs([{ mime: 'video/H264', fmtpLine: 'level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f' }]);
  const h264 = c.filter(defaultCapabilities.video);
  assert.deepEqual(h264.map((x) => x.fmtp), ['level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f']);
});

test('a track asking only for codecs this server cannot take is named for refusal; its TrackInfo never swaps silently', () => {
  const c = new PublishCodecs(specs('audio/opus', 'video/VP8', 'video/H264'));
  const req = (...codecs: string[]) =>
    new AddTrackRequest({ cid: 'c', type: TrackType.VIDEO, simulcastCodecs: codecs.map((codec) => new SimulcastCodec({ codec, cid: codec === '' ? '' : 'c' })) });
  assert.deepEqual(unusableCodecs(req('vp9'), c), ['vp9']);
  assert.deepEqual(unusableCodecs(req('h265'), c), ['h265']);
  assert.deepEqual(unusableCodecs(req('vp9', 'vp8'), c), [], 'a usable backup: the track goes on in VP8');
  assert.deepEqual(unusableCodecs(req(), c), [], 'no codec named: the default');
  assert.equal(trackInfoFromAddTrack(req('vp9', 'vp8'), 'TR_x', c).mimeType, 'video/VP8');
  assert.equal(trackInfoFromAddTrack(req('vp9', 'vp8'), 'TR_x', PublishCodecs.all()).mimeType, 'video/VP9');
});
