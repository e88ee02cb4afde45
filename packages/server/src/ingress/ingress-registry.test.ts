import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CreateIngressRequest, IngressInput, IngressState_Status as S, IngressVideoEncodingPreset, IngressVideoOptions, InputAudioState, InputVideoState, TrackInfo, TrackType, UpdateIngressRequest } from '@livekit/protocol';
import { ManualClock, silentLogger } from '@atrium/webrtc';
import { IngressRegistry } from './ingress-registry.js';
import type { IngressStream } from './ingress-registry.js';
import { IngressError } from './ingress-error.js';
import { whipTranscodes } from './ingress-request.js';

function setup(maxActive = 0) {
  const clock = new ManualClock();
  const events: string[] = [];
  const registry = new IngressRegistry({
    clock,
    logger: silentLogger,
    whipBaseUrl: () => 'http://127.0.0.1:7880/w',
    maxActive,
    events: {
      started: (i) => events.push(`started ${i.ingressId} ${S[i.state!.status]}`),
      ended: (i) => events.push(`ended ${i.ingressId} ${S[i.state!.status]} ${i.state!.error}`.trim()),
    },
  });
  const create = (room = 'r', identity = 'cam') =>
    registry.create(new CreateIngressRequest({ inputType: IngressInput.WHIP_INPUT, roomName: room, participantIdentity: identity, name: 'n' }));
  return { clock, events, registry, create };
}

const code = (fn: () => unknown): string => {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof IngressError);
    return err.code;
  }
  return 'none';
};

test('create gives an IN_ id, a secret stream key, the WHIP URL, an inactive state; list and filters', () => {
  const { registry, create } = setup();
  const a = create('r1');
  const b = create('r2');
  assert.match(a.ingressId, /^IN_[0-9A-Za-z]{12}$/);
  assert.match(a.streamKey, /^[0-9A-Za-z]{12}$/);
  assert.notEqual(a.streamKey, b.streamKey);
  assert.equal(a.url, 'http://127.0.0.1:7880/w');
  assert.equal(a.reusable, true);
  assert.equal(a.enabled, true);
  assert.equal(a.state?.status, S.ENDPOINT_INACTIVE);
  assert.equal(registry.list().length, 2);
  assert.deepEqual(registry.list({ roomName: 'r2' }).map((i) => i.ingressId), [b.ingressId]);
  assert.deepEqual(registry.list({ ingressId: a.ingressId }).map((i) => i.roomName), ['r1']);
  assert.equal(registry.byStreamKey(a.streamKey)?.ingressId, a.ingressId);
  assert.equal(registry.byStreamKey('nope'), undefined);
  // Callers get copies: changing one changes nothing stored.
  a.roomName = 'changed';
  assert.equal(registry.list({ ingressId: a.ingressId })[0]?.roomName, 'r1');
});

test('a stream: started -> publishing -> ended, one webhook each for start and end, reusable afterwards', () => {
  const { registry, create, events, clock } = setup();
  const a = create();
  registry.startStream(a.ingressId, { resourceId: 'WH_1', roomId: 'RM_1' });
  assert.equal(code(() => registry.startStream(a.ingressId, { resourceId: 'WH_2', roomId: 'RM_1' })), 'already_exists');
  registry.streamPublishing(a.ingressId, [new TrackInfo({ sid: 'TR_1' })]);
  assert.equal(registry.state(a.ingressId)?.status, S.ENDPOINT_PUBLISHING);
  assert.equal(code(() => registry.update(new UpdateIngressRequest({ ingressId: a.ingressId, name: 'x' }))), 'failed_precondition');
  clock.advance(1_000);
  registry.streamEnded(a.ingressId);
  registry.streamEnded(a.ingressId);
  assert.deepEqual(events, [`started ${a.ingressId} ENDPOINT_BUFFERING`, `ended ${a.ingressId} ENDPOINT_COMPLETE`]);
  registry.startStream(a.ingressId, { resourceId: 'WH_2', roomId: 'RM_1' });
  registry.streamEnded(a.ingressId, 'the sender did not connect its media within 20000 ms');
  assert.equal(events.at(-1), `ended ${a.ingressId} ENDPOINT_ERROR the sender did not connect its media within 20000 ms`);
  // An update after an error clears it (back to INACTIVE), as LiveKit.
  const updated = registry.update(new UpdateIngressRequest({ ingressId: a.ingressId, participantName: 'New name' }));
  assert.equal(updated.participantName, 'New name');
  assert.equal(updated.roomName, 'r', 'empty fields leave values as they were');
  assert.equal(updated.state?.status, S.ENDPOINT_INACTIVE);
});

test('the node limit on live streams; disabled ingresses take none', () => {
  const { registry, create } = setup(1);
  const a = create('r', 'a');
  const b = create('r', 'b');
  const stream: IngressStream = { stop: () => {} };
  registry.startStream(a.ingressId, { resourceId: 'WH_1', roomId: 'RM_1' });
  registry.attachStream(a.ingressId, stream);
  assert.equal(registry.activeCount, 1);
  assert.equal(code(() => registry.startStream(b.ingressId, { resourceId: 'WH_2', roomId: 'RM_1' })), 'resource_exhausted');
  registry.streamEnded(a.ingressId);
  assert.equal(registry.activeCount, 0);
  registry.update(new UpdateIngressRequest({ ingressId: b.ingressId, enabled: false }));
  assert.equal(code(() => registry.startStream(b.ingressId, { resourceId: 'WH_3', roomId: 'RM_1' })), 'permission_denied');
});

test('delete stops a live stream (ingress_ended) and forgets the key; unknown ids are not_found', () => {
  const { registry, create, events } = setup();
  const a = create();
  const stops: string[] = [];
  registry.startStream(a.ingressId, { resourceId: 'WH_1', roomId: 'RM_1' });
  registry.attachStream(a.ingressId, { stop: (why) => stops.push(why) });
  const deleted = registry.delete(a.ingressId);
  assert.equal(deleted.state?.status, S.ENDPOINT_COMPLETE);
  assert.deepEqual(stops, ['the ingress was deleted']);
  assert.equal(events.filter((e) => e.startsWith('ended')).length, 1);
  assert.equal(registry.byStreamKey(a.streamKey), undefined);
  assert.equal(code(() => registry.delete(a.ingressId)), 'not_found');
  assert.equal(code(() => registry.delete('')), 'invalid_argument');
  assert.equal(code(() => registry.update(new UpdateIngressRequest({ ingressId: 'IN_nope' }))), 'not_found');
});

test('close stops every live stream', () => {
  const { registry, create } = setup();
  const a = create('r', 'a');
  const stops: string[] = [];
  registry.startStream(a.ingressId, { resourceId: 'WH_1', roomId: 'RM_1' });
  registry.attachStream(a.ingressId, { stop: (why) => stops.push(why) });
  registry.close();
  assert.deepEqual(stops, ['the server is shutting down']);
  assert.equal(registry.state(a.ingressId)?.status, S.ENDPOINT_COMPLETE);
});

test('RTMP: the URL is rtmp_base_url, refused when RTMP is off; a publisher leaving puts it back to INACTIVE, the input state is kept while live', () => {
  const clock = new ManualClock();
  const events: string[] = [];
  let rtmpUrl: string | undefined;
  const registry = new IngressRegistry({
    clock, logger: silentLogger, whipBaseUrl: () => 'http://h/w', rtmpBaseUrl: () => rtmpUrl, maxActive: 0,
    events: { started: (i) => events.push(`started ${S[i.state!.status]}`), ended: (i) => events.push(`ended ${S[i.state!.status]}`) },
  });
  const req = new CreateIngressRequest({ inputType: IngressInput.RTMP_INPUT, roomName: 'r', participantIdentity: 'obs' });
  assert.equal(code(() => registry.create(req)), 'failed_precondition');
  rtmpUrl = 'rtmp://127.0.0.1:1935/x';
  const info = registry.create(req);
  assert.equal(info.url, 'rtmp://127.0.0.1:1935/x');
  assert.equal(info.reusable, true);
  registry.startStream(info.ingressId, { resourceId: 'WH_1', roomId: 'RM_1' });
  registry.streamInput(info.ingressId, new InputVideoState({ mimeType: 'video/h264', width: 1280, height: 720, framerate: 30 }), new InputAudioState({ mimeType: 'audio/aac', channels: 2, sampleRate: 48_000 }));
  registry.streamPublishing(info.ingressId, [new TrackInfo({ sid: 'TR_v', type: TrackType.VIDEO, mimeType: 'video/VP8', width: 1280, height: 720 })]);
  const live = registry.state(info.ingressId)!;
  assert.equal(live.status, S.ENDPOINT_PUBLISHING);
  assert.deepEqual([live.video?.mimeType, live.video?.framerate, live.audio?.mimeType], ['video/h264', 30, 'audio/aac'], 'the input, not the published track');
  registry.streamEnded(info.ingressId);
  assert.equal(registry.state(info.ingressId)?.status, S.ENDPOINT_INACTIVE);
  registry.startStream(info.ingressId, { resourceId: 'WH_2', roomId: 'RM_1' });
  assert.equal(registry.state(info.ingressId)?.video, undefined, 'a new stream starts without the last one\'s input');
  registry.streamEnded(info.ingressId, 'ffmpeg exited with code 1');
  assert.equal(registry.state(info.ingressId)?.status, S.ENDPOINT_ERROR);
  assert.deepEqual(events, ['started ENDPOINT_BUFFERING', 'ended ENDPOINT_INACTIVE', 'started ENDPOINT_BUFFERING', 'ended ENDPOINT_ERROR']);
});

test('WHIP UpdateIngress: enable_transcoding and a preset are kept for the next stream; a preset with transcoding off is refused', () => {
  const { registry, create } = setup();
  const a = create();
  assert.equal(whipTranscodes(a), false, 'WHIP default: forwarded as sent');
  const on = registry.update(new UpdateIngressRequest({ ingressId: a.ingressId, enableTranscoding: true }));
  assert.equal(on.enableTranscoding, true);
  assert.equal(whipTranscodes(registry.byStreamKey(a.streamKey)!), true, 'what the next WHIP POST reads');
  const preset = new IngressVideoOptions({ encodingOptions: { case: 'preset', value: IngressVideoEncodingPreset.H264_540P_25FPS_2_LAYERS } });
  registry.update(new UpdateIngressRequest({ ingressId: a.ingressId, video: preset }));
  assert.equal(code(() => registry.update(new UpdateIngressRequest({ ingressId: a.ingressId, enableTranscoding: false }))), 'invalid_argument', 'the kept preset needs transcoding');
  const off = registry.update(new UpdateIngressRequest({ ingressId: a.ingressId, enableTranscoding: false, video: new IngressVideoOptions({ name: 'cam' }) }));
  assert.equal(whipTranscodes(off), false);
});
