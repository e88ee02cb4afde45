import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  AudioCodec, CreateIngressRequest, IngressAudioEncodingOptions, IngressAudioEncodingPreset, IngressAudioOptions, IngressInput,
  IngressVideoEncodingOptions, IngressVideoEncodingPreset, IngressVideoOptions, UpdateIngressRequest, VideoLayer,
} from '@livekit/protocol';
import { checkCreateRequest, checkUpdateRequest, whipTranscodes } from './ingress-request.js';
import { IngressError } from './ingress-error.js';

const whip = (over: Partial<ConstructorParameters<typeof CreateIngressRequest>[0]> = {}): CreateIngressRequest =>
  new CreateIngressRequest({ inputType: IngressInput.WHIP_INPUT, roomName: 'r', participantIdentity: 'p', ...over });

function refusal(fn: () => void): { code: string; message: string } {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof IngressError, `an IngressError, got ${String(err)}`);
    return { code: err.code, message: err.message };
  }
  assert.fail('expected a refusal');
}

test('a plain WHIP request passes; options that only name or place the tracks pass too', () => {
  checkCreateRequest(whip());
  checkCreateRequest(whip({ name: 'cam', participantName: 'Cam', participantMetadata: '{}', audio: new IngressAudioOptions({ name: 'mic', source: 2 }), video: new IngressVideoOptions({ name: 'cam', source: 1 }) }));
  checkCreateRequest(whip({ enableTranscoding: false, bypassTranscoding: true }));
  checkCreateRequest(whip({ inputType: IngressInput.URL_INPUT, url: 'https://example.com/a.mp4' }));
  checkCreateRequest(whip({ inputType: IngressInput.RTMP_INPUT }));
  checkCreateRequest(whip({ inputType: IngressInput.RTMP_INPUT, video: new IngressVideoOptions({ encodingOptions: { case: 'preset', value: IngressVideoEncodingPreset.H264_540P_25FPS_2_LAYERS } }) }));
});

test('table: what CreateIngress refuses, with which code and words', () => {
  const rows: [string, CreateIngressRequest, string, RegExp][] = [
    ['RTMP bypass', whip({ inputType: IngressInput.RTMP_INPUT, bypassTranscoding: true }), 'invalid_argument', /RTMP ingress is always transcoded/],
    ['RTMP 4 layers', whip({ inputType: IngressInput.RTMP_INPUT, video: new IngressVideoOptions({ encodingOptions: { case: 'options', value: new IngressVideoEncodingOptions({ layers: [1, 2, 3, 4].map((i) => new VideoLayer({ width: 160 * i, height: 90 * i })) }) } }) }), 'invalid_argument', /at most 3 video layers/],
    ['RTMP AAC out', whip({ inputType: IngressInput.RTMP_INPUT, audio: new IngressAudioOptions({ encodingOptions: { case: 'options', value: new IngressAudioEncodingOptions({ audioCodec: AudioCodec.AAC }) } }) }), 'invalid_argument', /Atrium encodes Opus/],
    ['URL without url', whip({ inputType: IngressInput.URL_INPUT }), 'invalid_argument', /url is required for URL_INPUT/],
    ['URL file', whip({ inputType: IngressInput.URL_INPUT, url: 'file:///etc/passwd' }), 'invalid_argument', /must be http or https/],
    ['URL garbage', whip({ inputType: IngressInput.URL_INPUT, url: 'not a url' }), 'invalid_argument', /not a valid URL/],
    ['URL preset', whip({ inputType: IngressInput.URL_INPUT, url: 'http://x/y.mp4', audio: new IngressAudioOptions({ encodingOptions: { case: 'preset', value: IngressAudioEncodingPreset.OPUS_MONO_64KBS } }) }), 'unimplemented', /encoding options for URL ingress/],
    ['unknown input', whip({ inputType: 7 as IngressInput }), 'invalid_argument', /unknown ingress input type 7/],
    ['no room', whip({ roomName: '' }), 'invalid_argument', /room name is required/],
    ['no identity', whip({ participantIdentity: '' }), 'invalid_argument', /participant identity is required/],
    ['url on WHIP', whip({ url: 'http://x' }), 'invalid_argument', /url is only valid for URL_INPUT/],
    ['long room', whip({ roomName: 'r'.repeat(257) }), 'invalid_argument', /room name length/],
    ['long identity', whip({ participantIdentity: 'p'.repeat(257) }), 'invalid_argument', /identity length/],
    ['long name', whip({ participantName: 'n'.repeat(257) }), 'invalid_argument', /participant name length/],
    ['big metadata', whip({ participantMetadata: 'm'.repeat(512 * 1024 + 1) }), 'invalid_argument', /metadata size/],
    ['WHIP enable + bypass', whip({ enableTranscoding: true, bypassTranscoding: true }), 'invalid_argument', /contradict/],
    ['WHIP preset, transcoding off', whip({ enableTranscoding: false, audio: new IngressAudioOptions({ encodingOptions: { case: 'preset', value: IngressAudioEncodingPreset.OPUS_MONO_64KBS } }) }), 'invalid_argument', /need transcoding/],
    ['WHIP preset, bypass', whip({ bypassTranscoding: true, video: new IngressVideoOptions({ encodingOptions: { case: 'preset', value: IngressVideoEncodingPreset.H264_720P_30FPS_1_LAYER } }) }), 'invalid_argument', /need transcoding/],
    ['WHIP unknown preset', whip({ enableTranscoding: true, video: new IngressVideoOptions({ encodingOptions: { case: 'preset', value: 99 as IngressVideoEncodingPreset } }) }), 'invalid_argument', /unknown video encoding preset 99/],
    ['WHIP AAC out', whip({ enableTranscoding: true, audio: new IngressAudioOptions({ encodingOptions: { case: 'options', value: new IngressAudioEncodingOptions({ audioCodec: AudioCodec.AAC }) } }) }), 'invalid_argument', /Atrium encodes Opus/],
  ];
  for (const [name, req, code, words] of rows) {
    const r = refusal(() => checkCreateRequest(req));
    assert.equal(r.code, code, name);
    assert.match(r.message, words, name);
  }
});

test('WHIP transcoding: enable_transcoding decides; else presets/options ask for it unless bypassed; default off', () => {
  const preset = new IngressVideoOptions({ encodingOptions: { case: 'preset', value: IngressVideoEncodingPreset.H264_540P_25FPS_2_LAYERS } });
  assert.equal(whipTranscodes({}), false);
  assert.equal(whipTranscodes({ enableTranscoding: true }), true);
  assert.equal(whipTranscodes({ enableTranscoding: false, video: preset }), false);
  assert.equal(whipTranscodes({ video: preset }), true);
  assert.equal(whipTranscodes({ bypassTranscoding: true, video: preset }), false);
  assert.equal(whipTranscodes({ audio: new IngressAudioOptions({ name: 'mic' }) }), false, 'a track name is no encoding option');
  checkCreateRequest(whip({ enableTranscoding: true }));
  checkCreateRequest(whip({ video: preset }));
  checkCreateRequest(whip({ enableTranscoding: true, audio: new IngressAudioOptions({ encodingOptions: { case: 'preset', value: IngressAudioEncodingPreset.OPUS_MONO_64KBS } }) }));
});

test('UpdateIngress needs the id, keeps the size limits, and checks WHIP transcoding as the record will be', () => {
  checkUpdateRequest(new UpdateIngressRequest({ ingressId: 'IN_a', name: 'x' }), IngressInput.WHIP_INPUT);
  assert.equal(refusal(() => checkUpdateRequest(new UpdateIngressRequest({}), IngressInput.WHIP_INPUT)).code, 'invalid_argument');
  assert.equal(refusal(() => checkUpdateRequest(new UpdateIngressRequest({ ingressId: 'IN_a', roomName: 'r'.repeat(300) }), IngressInput.WHIP_INPUT)).code, 'invalid_argument');
  checkUpdateRequest(new UpdateIngressRequest({ ingressId: 'IN_a', enableTranscoding: true }), IngressInput.WHIP_INPUT);
  const preset = new IngressVideoOptions({ encodingOptions: { case: 'preset', value: IngressVideoEncodingPreset.H264_720P_30FPS_1_LAYER } });
  // a preset added to an ingress whose transcoding was turned off is refused; turned on in the same update, it passes
  assert.equal(refusal(() => checkUpdateRequest(new UpdateIngressRequest({ ingressId: 'IN_a', video: preset }), IngressInput.WHIP_INPUT, { enableTranscoding: false })).code, 'invalid_argument');
  checkUpdateRequest(new UpdateIngressRequest({ ingressId: 'IN_a', video: preset, enableTranscoding: true }), IngressInput.WHIP_INPUT, { enableTranscoding: false });
  // turning transcoding off while the record keeps a preset is refused
  assert.match(refusal(() => checkUpdateRequest(new UpdateIngressRequest({ ingressId: 'IN_a', enableTranscoding: false }), IngressInput.WHIP_INPUT, { enableTranscoding: true, video: preset })).message, /need transcoding/);
});
