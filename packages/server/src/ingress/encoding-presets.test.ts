import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  IngressAudioEncodingOptions, IngressAudioEncodingPreset, IngressAudioOptions, IngressVideoEncodingOptions, IngressVideoEncodingPreset,
  IngressVideoOptions, VideoLayer,
} from '@livekit/protocol';
import { audioPlan, videoPlan } from './encoding-presets.js';

const sizes = (p: ReturnType<typeof videoPlan>): string[] => p.layers.map((l) => `${l.width}x${l.height}@${l.kbps}`);
const preset = (value: IngressVideoEncodingPreset) => new IngressVideoOptions({ encodingOptions: { case: 'preset', value } });

test('video: LiveKit\'s default preset is three layers, 720p at 1.9 Mbps on top, each lower layer half the size', () => {
  const d = videoPlan(undefined);
  assert.deepEqual(sizes(d), ['320x180@150', '640x360@500', '1280x720@1900']);
  assert.equal(d.frameRate, 30);
  assert.deepEqual(sizes(videoPlan(preset(IngressVideoEncodingPreset.H264_540P_25FPS_2_LAYERS))), ['480x270@250', '960x540@1000']);
  assert.equal(videoPlan(preset(IngressVideoEncodingPreset.H264_540P_25FPS_2_LAYERS)).frameRate, 25);
  assert.deepEqual(sizes(videoPlan(preset(IngressVideoEncodingPreset.H264_1080P_30FPS_1_LAYER))), ['1920x1080@3500']);
  assert.throws(() => videoPlan(preset(99 as IngressVideoEncodingPreset)), /unknown video encoding preset/);
});

test('video options: layers sorted low to high, even sizes, bitrates in kbps, frame rate; bounds refused', () => {
  const opts = (layers: VideoLayer[], frameRate = 0) => new IngressVideoOptions({ encodingOptions: { case: 'options', value: new IngressVideoEncodingOptions({ layers, frameRate }) } });
  const p = videoPlan(opts([new VideoLayer({ width: 1280, height: 720, bitrate: 2_000_000 }), new VideoLayer({ width: 641, height: 361, bitrate: 600_000 })], 24));
  assert.deepEqual(sizes(p), ['642x362@600', '1280x720@2000']);
  assert.equal(p.frameRate, 24);
  assert.throws(() => videoPlan(opts([new VideoLayer({ width: 8, height: 8 })])), /outside 16/);
  assert.throws(() => videoPlan(opts([new VideoLayer({ width: 640, height: 360 })], 120)), /over 60/);
});

test('audio: presets and options', () => {
  assert.deepEqual(audioPlan(undefined), { kbps: 96, channels: 2 });
  assert.deepEqual(audioPlan(new IngressAudioOptions({ encodingOptions: { case: 'preset', value: IngressAudioEncodingPreset.OPUS_MONO_64KBS } })), { kbps: 64, channels: 1 });
  assert.deepEqual(audioPlan(new IngressAudioOptions({ encodingOptions: { case: 'options', value: new IngressAudioEncodingOptions({ bitrate: 48_000, channels: 1 }) } })), { kbps: 48, channels: 1 });
  assert.throws(() => audioPlan(new IngressAudioOptions({ encodingOptions: { case: 'options', value: new IngressAudioEncodingOptions({ channels: 6 }) } })), /at most 2/);
});
