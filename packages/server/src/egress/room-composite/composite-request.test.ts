import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AudioCodec, EncodedFileType, EncodingOptions, EncodingOptionsPreset, RoomCompositeEgressRequest, VideoCodec } from '@livekit/protocol';
import { EgressError } from '../egress-error.js';
import { compositeSettings } from './composite-request.js';

const req = (fields: Partial<RoomCompositeEgressRequest> = {}) => new RoomCompositeEgressRequest({ roomName: 'demo', ...fields });
const refused = (code: string, message: RegExp) => (e: unknown) => e instanceof EgressError && e.code === code && message.test(e.message);

test("defaults are LiveKit's: speaker layout, 1280x720 30 fps 3000 kbps H.264 main, AAC 128 kbps, MP4", () => {
  const s = compositeSettings(req(), EncodedFileType.DEFAULT_FILETYPE);
  assert.deepEqual(s.layout, { kind: 'speaker', theme: 'dark' });
  assert.deepEqual(s.encoding, {
    container: { extension: '.mp4', muxer: 'mp4' },
    video: { width: 1280, height: 720, fps: 30, bitrateKbps: 3000, keyFrameIntervalSec: 2, profile: 'main' },
    audio: { codec: 'aac', bitrateKbps: 128, sampleRate: 48_000 },
  });
});

test('presets, portrait included', () => {
  const s = compositeSettings(req({ options: { case: 'preset', value: EncodingOptionsPreset.PORTRAIT_H264_1080P_60 } }), EncodedFileType.MP4);
  assert.deepEqual([s.encoding.video?.width, s.encoding.video?.height, s.encoding.video?.fps, s.encoding.video?.bitrateKbps], [1080, 1920, 60, 6000]);
  assert.throws(() => compositeSettings(req({ options: { case: 'preset', value: EncodingOptionsPreset.PASSTHROUGH } }), EncodedFileType.MP4), refused('unimplemented', /PASSTHROUGH/));
});

test('advanced options: what is given overrides the default, the rest stays', () => {
  const advanced = new EncodingOptions({ width: 640, height: 360, videoBitrate: 800, keyFrameInterval: 1, videoCodec: VideoCodec.H264_HIGH, audioCodec: AudioCodec.OPUS, audioBitrate: 64, audioFrequency: 48_000 });
  const s = compositeSettings(req({ options: { case: 'advanced', value: advanced } }), EncodedFileType.MP4);
  assert.deepEqual(s.encoding.video, { width: 640, height: 360, fps: 30, bitrateKbps: 800, keyFrameIntervalSec: 1, profile: 'high' });
  assert.deepEqual(s.encoding.audio, { codec: 'opus', bitrateKbps: 64, sampleRate: 48_000 });
  const bad = (o: Partial<EncodingOptions>, code: string, message: RegExp) =>
    assert.throws(() => compositeSettings(req({ options: { case: 'advanced', value: new EncodingOptions(o) } }), EncodedFileType.MP4), refused(code, message));
  bad({ width: 641, height: 360 }, 'invalid_argument', /even/);
  bad({ width: 4000, height: 4000 }, 'invalid_argument', /at most/);
  bad({ framerate: 120 }, 'invalid_argument', /framerate 120/);
  bad({ videoCodec: VideoCodec.VP8 }, 'unimplemented', /VP8/);
  bad({ audioCodec: AudioCodec.AC_MP3 }, 'unimplemented', /MP3/);
  bad({ audioFrequency: 22_050 }, 'invalid_argument', /audio_frequency/);
});

test('audio only: OGG with Opus by default, MP4 with AAC when asked; no video settings', () => {
  const ogg = compositeSettings(req({ audioOnly: true }), EncodedFileType.DEFAULT_FILETYPE);
  assert.deepEqual(ogg.encoding, { container: { extension: '.ogg', muxer: 'ogg' }, audio: { codec: 'opus', bitrateKbps: 128, sampleRate: 48_000 } });
  const mp4 = compositeSettings(req({ audioOnly: true }), EncodedFileType.MP4);
  assert.equal(mp4.encoding.audio?.codec, 'aac');
  assert.equal(mp4.encoding.video, undefined);
  assert.equal(compositeSettings(req({ videoOnly: true }), EncodedFileType.MP4).encoding.audio, undefined);
});

test('refused: unknown layouts, custom templates, OGG or MP3 with video, both audio_only and video_only', () => {
  assert.throws(() => compositeSettings(req({ layout: 'mosaic' }), EncodedFileType.MP4), refused('invalid_argument', /unknown layout "mosaic"/));
  assert.throws(() => compositeSettings(req({ customBaseUrl: 'https://t.example' }), EncodedFileType.MP4), refused('unimplemented', /custom_base_url/));
  assert.throws(() => compositeSettings(req(), EncodedFileType.OGG), refused('invalid_argument', /OGG cannot hold video/));
  assert.throws(() => compositeSettings(req({ audioOnly: true }), EncodedFileType.MP3), refused('unimplemented', /MP3/));
  assert.throws(() => compositeSettings(req({ audioOnly: true, videoOnly: true }), EncodedFileType.MP4), refused('invalid_argument', /both/));
});
