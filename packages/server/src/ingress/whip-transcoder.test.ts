import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SimulcastCodecInfo, TrackInfo, TrackType } from '@livekit/protocol';
import { transcoderInputs } from './whip-transcoder.js';

test('transcoder inputs: the first video track then the first audio one, as RTP formats ffmpeg reads', () => {
  const mic = new TrackInfo({ sid: 'TR_a', type: TrackType.AUDIO, mimeType: 'audio/opus' });
  const cam = new TrackInfo({ sid: 'TR_v', type: TrackType.VIDEO, mimeType: 'video/VP8' });
  const second = new TrackInfo({ sid: 'TR_v2', type: TrackType.VIDEO, mimeType: 'video/H264' });
  assert.deepEqual(transcoderInputs([mic, cam, second]), [
    { sid: 'TR_v', kind: 'video', format: { encodingName: 'VP8', clockRate: 90000 } },
    { sid: 'TR_a', kind: 'audio', format: { encodingName: 'opus', clockRate: 48000, channels: 2 } },
  ]);
  const audioOnly = transcoderInputs([mic]);
  assert.ok(Array.isArray(audioOnly));
  assert.deepEqual(audioOnly.map((t) => t.kind), ['audio'], 'audio only');
  const fromCodecs = new TrackInfo({ sid: 'TR_h', type: TrackType.VIDEO, codecs: [new SimulcastCodecInfo({ mimeType: 'video/H264' })] });
  assert.deepEqual(transcoderInputs([fromCodecs]), [{ sid: 'TR_h', kind: 'video', format: { encodingName: 'H264', clockRate: 90000 } }]);
});

test('transcoder inputs: a codec ffmpeg is not fed (VP9, AV1) or no track at all is an error saying so', () => {
  const vp9 = new TrackInfo({ sid: 'TR_v', type: TrackType.VIDEO, mimeType: 'video/VP9' });
  assert.match(String(transcoderInputs([vp9])), /takes VP8 or H\.264 video and Opus audio \(the sender sent video\/VP9\)/);
  assert.match(String(transcoderInputs([])), /published no audio or video track/);
});
