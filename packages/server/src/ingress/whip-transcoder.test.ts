import { test } from 'node:test';
import assert from 'node:assert/strict';
import { IngressInfo, IngressVideoEncodingPreset, IngressVideoOptions, SimulcastCodecInfo, TrackInfo, TrackType } from '@livekit/protocol';
import { silentLogger } from '@atrium/webrtc';
import { transcoderInputs, WhipTranscoder } from './whip-transcoder.js';
import type { WhipSession } from './whip-session.js';

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

test('start never throws: an input it cannot take or a preset it cannot encode fails the sender stream with the reason', async () => {
  const failures: string[] = [];
  let opened = 0;
  const source = { failWith: (e: string) => failures.push(e), isEnded: false } as unknown as WhipSession;
  const make = (ingress: IngressInfo) => new WhipTranscoder({
    ingress, source, logger: silentLogger, signal: { url: 'ws://127.0.0.1:1', apiKey: 'k', apiSecret: 's' },
    open: () => {
      opened++;
      throw new Error('not reached');
    },
  });
  await make(new IngressInfo({ ingressId: 'IN_a' })).start([new TrackInfo({ sid: 'TR_v', type: TrackType.VIDEO, mimeType: 'video/AV1' })]);
  // a record with a preset the request checks would have refused (99): the plan throws inside start
  const bad = new IngressInfo({ ingressId: 'IN_b', video: new IngressVideoOptions({ encodingOptions: { case: 'preset', value: 99 as IngressVideoEncodingPreset } }) });
  await make(bad).start([new TrackInfo({ sid: 'TR_v', type: TrackType.VIDEO, mimeType: 'video/VP8' })]);
  assert.equal(opened, 0, 'no output stream opened');
  assert.equal(failures.length, 2, failures.join(' | '));
  assert.match(failures[0]!, /takes VP8 or H\.264 video.*video\/AV1/);
  assert.match(failures[1]!, /the WHIP transcoder could not start: unknown video encoding preset 99/);
});
