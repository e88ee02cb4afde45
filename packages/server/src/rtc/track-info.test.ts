import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AddTrackRequest, AudioTrackFeature, Encryption_Type, SimulcastCodec, TrackSource, TrackType, VideoLayer, VideoQuality } from '@livekit/protocol';
import { audioFeaturesOf, publisherOpusParams, trackInfoFromAddTrack, mimeTypeFromCodecName } from './track-info.js';
import { PublishCodecs } from './publish-codecs.js';

test('camera track with simulcast layers', () => {
  const layers = [
    new VideoLayer({ quality: VideoQuality.HIGH, width: 1280, height: 720, bitrate: 1_700_000 }),
    new VideoLayer({ quality: VideoQuality.LOW, width: 320, height: 180, bitrate: 120_000 }),
    new VideoLayer({ quality: VideoQuality.MEDIUM, width: 640, height: 360, bitrate: 400_000 }),
  ];
  const req = new AddTrackRequest({
    cid: 'cam-1', name: 'camera', type: TrackType.VIDEO, source: TrackSource.CAMERA, width: 1280, height: 720, layers,
    simulcastCodecs: [new SimulcastCodec({ codec: 'vp8', cid: 'cam-1', layers })],
  });
  const info = trackInfoFromAddTrack(req, 'TR_VCabc');
  assert.equal(info.sid, 'TR_VCabc');
  assert.equal(info.type, TrackType.VIDEO);
  assert.equal(info.source, TrackSource.CAMERA);
  assert.equal(info.name, 'camera');
  assert.equal(info.width, 1280);
  assert.equal(info.mimeType, 'video/VP8');
  assert.equal(info.codecs[0]?.mimeType, 'video/VP8');
  assert.equal(info.codecs[0]?.cid, 'cam-1');
  assert.deepEqual(info.codecs[0]?.layers.map((l) => l.quality), [0, 1, 2]);
  assert.deepEqual(info.layers.map((l) => l.width), [320, 640, 1280]);
  assert.equal(info.simulcast, true);
  assert.equal(info.stream, 'camera');
  layers[0]!.width = 1; // copied, not shared
  assert.equal(info.layers[2]!.width, 1280);
});

test('a primary codec not enabled falls back to the backup codec; VP9 and AV1 are forwarded', () => {
  const noSvc = new PublishCodecs(['audio/opus', 'video/VP8', 'video/H264'].map((mime) => ({ mime, fmtpLine: '' })));
  const vp9 = new AddTrackRequest({ cid: 'c', type: TrackType.VIDEO, source: TrackSource.SCREEN_SHARE,
    simulcastCodecs: [new SimulcastCodec({ codec: 'vp9', cid: 'c' }), new SimulcastCodec({ codec: 'h264', cid: '' })] });
  const info = trackInfoFromAddTrack(vp9, 'TR_VS1', noSvc);
  assert.equal(info.codecs[0]?.mimeType, 'video/H264');
  assert.equal(info.stream, 'screen');
  assert.equal(info.simulcast, false);
  assert.equal(trackInfoFromAddTrack(vp9, 'TR_VS1').codecs[0]?.mimeType, 'video/VP9');
  const av1 = new AddTrackRequest({ cid: 'c', type: TrackType.VIDEO, simulcastCodecs: [new SimulcastCodec({ codec: 'av1', cid: 'c' })] });
  assert.equal(trackInfoFromAddTrack(av1, 'TR_V1').mimeType, 'video/AV1');
  const mic = new AddTrackRequest({ cid: 'm', type: TrackType.AUDIO, source: TrackSource.MICROPHONE, muted: true, stream: 'custom' });
  const m = trackInfoFromAddTrack(mic, 'TR_AM1');
  assert.equal(m.mimeType, 'audio/opus');
  assert.equal(m.muted, true);
  assert.equal(m.stream, 'custom');
  assert.equal(mimeTypeFromCodecName('video/h264'), 'video/H264');
  assert.equal(mimeTypeFromCodecName('foo'), undefined);
});

test('codec names that are Object.prototype members are unknown, not a crash (fuzz seed 20261121)', () => {
  for (const name of ['constructor', '__proto__', 'toString', 'hasOwnProperty', 'video/valueOf']) {
    assert.equal(mimeTypeFromCodecName(name), undefined, name);
  }
  const info = trackInfoFromAddTrack(
    new AddTrackRequest({ cid: 'c', type: TrackType.VIDEO, simulcastCodecs: [new SimulcastCodec({ codec: 'constructor' }), new SimulcastCodec({ codec: 'vp8' })] }),
    'TR_x',
  );
  assert.equal(info.mimeType, 'video/VP8');
});

test('audio requests: deprecated flags join audio_features; the Opus parameters and subscriber features they imply', () => {
  const cases: [string, Partial<AddTrackRequest>, number[], string, { isStereo: boolean; isRedDisabled: boolean; isEncrypted: boolean }][] = [
    ['default microphone', {}, [], 'usedtx=1', { isStereo: false, isRedDisabled: false, isEncrypted: false }],
    ['TF_STEREO', { audioFeatures: [AudioTrackFeature.TF_STEREO] }, [AudioTrackFeature.TF_STEREO], 'usedtx=1;stereo=1;maxaveragebitrate=510000', { isStereo: true, isRedDisabled: false, isEncrypted: false }],
    ['stereo flag', { stereo: true }, [AudioTrackFeature.TF_STEREO], 'usedtx=1;stereo=1;maxaveragebitrate=510000', { isStereo: true, isRedDisabled: false, isEncrypted: false }],
    ['disable_dtx flag', { disableDtx: true }, [AudioTrackFeature.TF_NO_DTX], '', { isStereo: false, isRedDisabled: false, isEncrypted: false }],
    ['both features twice, RED off, encrypted',
      { audioFeatures: [AudioTrackFeature.TF_NO_DTX, AudioTrackFeature.TF_STEREO, AudioTrackFeature.TF_NO_DTX], stereo: true, disableDtx: true, disableRed: true, encryption: Encryption_Type.GCM },
      [AudioTrackFeature.TF_NO_DTX, AudioTrackFeature.TF_STEREO], 'stereo=1;maxaveragebitrate=510000', { isStereo: true, isRedDisabled: true, isEncrypted: true }],
  ];
  for (const [name, fields, features, params, subscriber] of cases) {
    const info = trackInfoFromAddTrack(new AddTrackRequest({ cid: 'a', type: TrackType.AUDIO, source: TrackSource.MICROPHONE, ...fields }), 'TR_AM1');
    assert.deepEqual(info.audioFeatures, features, name);
    assert.equal(publisherOpusParams(info), params, name);
    assert.deepEqual(audioFeaturesOf(info), subscriber, name);
  }
  const video = trackInfoFromAddTrack(new AddTrackRequest({ cid: 'v', type: TrackType.VIDEO, stereo: true }), 'TR_V1');
  assert.equal(publisherOpusParams(video), '', 'video: no Opus parameters');
});
