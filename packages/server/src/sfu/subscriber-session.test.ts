import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '@atrium/webrtc/clock.js';
import { createRtpHeader, parseRtcp, parseRtpHeader, serializeRtpPacket } from '@atrium/webrtc/rtp/index.js';
import type { RtcpPacket } from '@atrium/webrtc/rtp/index.js';
import { Receiver } from './receiver.js';
import { SubscriberSession } from './subscriber-session.js';
import type { StreamStateChange, TrackSettings } from './subscriber-session.js';
import { DynacastController } from './dynacast.js';
import { fixedBandwidth } from './bandwidth-estimator.js';
import { NO_LAYER, Quality } from './video-layers.js';
import type { LayerSpec } from './video-layers.js';

const SSRCS = [0x1000, 0x2000, 0x3000];
const LAYERS: LayerSpec[] = [
  { quality: Quality.LOW, width: 320, height: 180, bitrateBps: 150_000 },
  { quality: Quality.MEDIUM, width: 640, height: 360, bitrateBps: 500_000 },
  { quality: Quality.HIGH, width: 1280, height: 720, bitrateBps: 1_500_000 },
];

/** A simulcast publisher (three streams) and one subscriber session; `tick` sends one frame on each flowing layer. */
function rig(
  opts: { isAdaptiveStream?: boolean; estimator?: ReturnType<typeof fixedBandwidth>; allowPause?: boolean; isCongestionControlEnabled?: boolean } = {},
) {
  const clock = new ManualClock();
  const plis: number[] = [];
  const receiver = new Receiver({
    kind: 'video', mimeType: 'video/VP8', clockRate: 90000, ssrc: SSRCS[0]!, clock,
    sendRtcp: (b) => {
      for (const p of parseRtcp(b)) if (p.type === 'pli') plis.push(p.mediaSsrc);
    },
  });
  receiver.addStream({ ssrc: SSRCS[1]!, spatial: 1 });
  receiver.addStream({ ssrc: SSRCS[2]!, spatial: 2 });
  const states: StreamStateChange[][] = [];
  const dynacast = new DynacastController({ clock, layersFor: () => LAYERS, onUpdate: () => {} });
  const session = new SubscriberSession({
    subscriberId: 'PA_sub', clock, listener: { onStreamStates: (c) => states.push(c) },
    ...(opts.isAdaptiveStream ? { isAdaptiveStream: true } : {}),
    ...(opts.estimator ? { estimator: opts.estimator } : {}),
    ...(opts.allowPause !== undefined ? { allowPause: opts.allowPause } : {}),
    ...(opts.isCongestionControlEnabled !== undefined ? { isCongestionControlEnabled: opts.isCongestionControlEnabled } : {}),
  });
  const sent: Buffer[] = [];
  const rtcp: RtcpPacket[] = [];
  const h = createRtpHeader();
  const seqs = [0, 0, 0];
  let flowing = 0b111;
  const nextKey = new Set<number>([0, 1, 2]);
  const add = () =>
    session.addTrack({
      trackId: 'TR_v', publisherId: 'PA_pub', source: receiver, ssrc: 0xabc, payloadType: 96,
      send: (p) => sent.push(Buffer.from(p)), sendRtcp: (b) => rtcp.push(...parseRtcp(b)),
      layers: LAYERS, width: 1280, height: 720, dynacast,
    });
  /** One frame (one packet) on every flowing layer; a layer's first frame after a PLI is a key frame. */
  const frame = (): void => {
    for (let l = 0; l < 3; l++) {
      if (((flowing >> l) & 1) === 0) continue;
      const isKey = nextKey.has(l) || plis.includes(SSRCS[l]!);
      nextKey.delete(l);
      const seq = seqs[l]!++;
      // VP8 descriptor: S, key or delta frame tag, and a marker byte naming the layer.
      const buf = serializeRtpPacket({ payloadType: 96, sequenceNumber: seq, timestamp: seq * 3000, ssrc: SSRCS[l]!, marker: true, payload: Uint8Array.of(0x10, isKey ? 0 : 1, 0x9d, l) });
      assert.ok(parseRtpHeader(buf, h));
      receiver.writeRtp(buf, h);
    }
    plis.length = 0;
    clock.advance(33);
  };
  const layerOfLast = (): number => sent[sent.length - 1]![sent[sent.length - 1]!.length - 1]!;
  const trace = (): string => sent.map((p) => p[p.length - 1]).join('');
  const settings = (s: Partial<TrackSettings>): void =>
    session.updateSettings('TR_v', { isDisabled: false, quality: Quality.HIGH, width: 0, height: 0, fps: 0, priority: 0, ...s });
  const setFlowing = (mask: number): void => {
    flowing = mask;
  };
  return { clock, receiver, session, states, sent, rtcp, frame, add, layerOfLast, settings, setFlowing, dynacast, plis, trace };
}

test('a subscriber without settings gets the top layer; an adaptive-stream one starts at LOW', () => {
  for (const [adaptive, want] of [[false, 2], [true, 0]] as const) {
    const r = rig({ isAdaptiveStream: adaptive });
    for (let i = 0; i < 5; i++) r.frame(); // the publisher is already sending: this subscriber joins late
    r.add();
    for (let i = 0; i < 10; i++) r.frame();
    assert.equal(r.layerOfLast(), want, adaptive ? 'adaptive' : 'default');
    assert.deepEqual(r.dynacast.maxWanted().get('video/vp8'), adaptive ? Quality.LOW : Quality.HIGH);
    r.session.close();
    r.receiver.close();
  }
});

test('settings: a size picks the layer that fills it (after 100 ms); quality when no size', () => {
  const r = rig();
  r.add();
  for (let i = 0; i < 5; i++) r.frame();
  assert.equal(r.layerOfLast(), 2);
  r.settings({ width: 160, height: 90 });
  r.clock.advance(50);
  r.frame();
  assert.equal(r.layerOfLast(), 2, 'not yet: debounced');
  for (let i = 0; i < 5; i++) r.frame();
  assert.equal(r.layerOfLast(), 0, r.trace());
  // Each switch waits for the new layer's key frame; PLIs to one stream are at most one per 500 ms.
  r.settings({ width: 600, height: 340 });
  for (let i = 0; i < 20; i++) r.frame();
  assert.equal(r.layerOfLast(), 1, r.trace());
  r.settings({ quality: Quality.LOW });
  for (let i = 0; i < 20; i++) r.frame();
  assert.equal(r.layerOfLast(), 0, r.trace());
  r.session.close();
  r.receiver.close();
});

test('disabled: forwarding stops and PAUSED is reported; enabled again (at once): ACTIVE when it resumes at a key frame', () => {
  const r = rig();
  r.add();
  for (let i = 0; i < 5; i++) r.frame();
  r.settings({ isDisabled: true });
  for (let i = 0; i < 6; i++) r.frame();
  assert.deepEqual(r.states.flat(), [{ trackId: 'TR_v', publisherId: 'PA_pub', state: 'paused' }]);
  assert.equal(r.dynacast.maxWanted().get('video/vp8'), Quality.OFF, 'a disabled track needs nothing from the publisher');
  const count = r.sent.length;
  for (let i = 0; i < 10; i++) r.frame();
  assert.equal(r.sent.length, count, 'no bytes while disabled');
  r.settings({ isDisabled: false });
  r.frame(); // the PLI went out at once: the key frame comes with this frame
  r.frame();
  assert.ok(r.sent.length > count, 'forwarding again');
  assert.deepEqual(r.states.flat().map((s) => s.state), ['paused', 'active']);
  r.session.close();
  r.receiver.close();
});

test('settings sent before the subscription started forwarding are applied when it starts', () => {
  const r = rig();
  r.session.updateSettings('TR_v', { isDisabled: false, quality: Quality.LOW, width: 0, height: 0, fps: 0, priority: 0 });
  r.add();
  for (let i = 0; i < 6; i++) r.frame();
  assert.equal(r.layerOfLast(), 0);
  r.session.close();
  r.receiver.close();
});

test('the forwarded layer stops (the publisher paused it): the subscriber moves down at the next allocation', () => {
  const r = rig();
  r.add();
  for (let i = 0; i < 5; i++) r.frame();
  assert.equal(r.layerOfLast(), 2);
  r.setFlowing(0b011);
  for (let i = 0; i < 45; i++) r.frame(); // > 1 s without the top layer
  assert.equal(r.layerOfLast(), 1);
  assert.deepEqual(r.states, [], 'a publisher-side change is not a pause for the subscriber');
  r.setFlowing(0b111);
  for (let i = 0; i < 10; i++) r.frame();
  assert.equal(r.layerOfLast(), 2, 'back up when it returns');
  r.session.close();
  r.receiver.close();
});

test('under a bandwidth budget, with pausing allowed, the allocator pauses what does not fit, and says so', () => {
  const r = rig({ estimator: fixedBandwidth(1_000), allowPause: true });
  r.add();
  for (let i = 0; i < 40; i++) r.frame(); // bitrates are measured over the first second
  assert.deepEqual(r.states.flat().map((s) => s.state), ['paused']);
  r.session.close();
  r.receiver.close();
});

test('under a bandwidth budget, without pausing (the default), the lowest layer is kept', () => {
  const r = rig({ estimator: fixedBandwidth(1_000) });
  r.add();
  for (let i = 0; i < 60; i++) r.frame();
  assert.deepEqual(r.states, []);
  assert.equal(r.layerOfLast(), 0);
  r.session.close();
  r.receiver.close();
});

test('congestion control disabled: the bandwidth estimate is ignored, the settings decide (top layer, no pause)', () => {
  const r = rig({ estimator: fixedBandwidth(1_000), allowPause: true, isCongestionControlEnabled: false });
  r.add();
  for (let i = 0; i < 60; i++) r.frame();
  assert.deepEqual(r.states, []);
  assert.equal(r.layerOfLast(), 2);
  r.session.close();
  r.receiver.close();
});

test('a simulated capacity (subscriber_bandwidth) replaces the estimate, even with congestion control off; 0 clears it', () => {
  for (const isCongestionControlEnabled of [true, false]) {
    const r = rig({ isCongestionControlEnabled });
    r.add();
    for (let i = 0; i < 60; i++) r.frame();
    assert.equal(r.layerOfLast(), 2, 'no override: the top layer');
    r.session.setCapacityOverride(1_000);
    assert.equal(r.session.capacityOverride, 1_000);
    for (let i = 0; i < 60; i++) r.frame();
    assert.equal(r.layerOfLast(), 0, 'capped: the lowest layer');
    assert.equal(r.session.estimateBps, 1_000);
    r.session.setCapacityOverride(0);
    for (let i = 0; i < 90; i++) r.frame();
    assert.equal(r.layerOfLast(), 2, 'cleared: back to the top layer');
    r.session.setCapacityOverride(Number.NaN);
    assert.equal(r.session.capacityOverride, 0, 'nonsense clears it');
    r.session.close();
    r.receiver.close();
  }
});

test('sender reports every second for a forwarding track; close leaves no timer', () => {
  const r = rig();
  r.add();
  for (let i = 0; i < 40; i++) r.frame();
  assert.ok(r.rtcp.some((p) => p.type === 'sr' && p.ssrc === 0xabc));
  r.session.close();
  r.dynacast.close();
  r.receiver.close();
  assert.equal(r.clock.pendingTimers, 0);
  assert.equal(r.session.downTrack('TR_v'), undefined);
  void NO_LAYER;
});

test('audio carries transport-wide sequence numbers only while the subscriber receives video', () => {
  const r = rig();
  const audio = new Receiver({ kind: 'audio', mimeType: 'audio/opus', clockRate: 48000, ssrc: 0x4000, clock: r.clock, sendRtcp: () => {} });
  const addAudio = (trackId: string) =>
    r.session.addTrack({
      trackId, publisherId: 'PA_pub', source: audio, ssrc: 0xa0 + trackId.length, payloadType: 111, transportCcId: 5,
      send: () => {}, sendRtcp: () => {}, layers: [], width: 0, height: 0,
    });
  const a1 = addAudio('TR_a');
  assert.equal(a1.isTransportWideSequenced, false, 'audio only: off');
  const video = r.session.addTrack({
    trackId: 'TR_v', publisherId: 'PA_pub', source: r.receiver, ssrc: 0xabc, payloadType: 96, transportCcId: 5,
    send: () => {}, sendRtcp: () => {}, layers: LAYERS, width: 1280, height: 720, dynacast: r.dynacast,
  });
  assert.equal(video.isTransportWideSequenced, true, 'video: always on');
  assert.equal(a1.isTransportWideSequenced, true, 'with video: on');
  const a2 = addAudio('TR_a2');
  assert.equal(a2.isTransportWideSequenced, true, 'audio added while video is received: on');
  r.settings({ isDisabled: true });
  r.clock.advance(200);
  assert.equal(a1.isTransportWideSequenced, true, 'video disabled, still subscribed: on (the estimate keeps its feedback)');
  r.session.removeTrack('TR_v');
  assert.deepEqual([a1.isTransportWideSequenced, a2.isTransportWideSequenced], [false, false], 'the last video gone: off');
  r.session.close();
  r.dynacast.close();
  r.receiver.close();
  audio.close();
});

test('sender reports: every forwarding track in one compound packet, the first within 1 s of the start, then every 3 s', () => {
  const r = rig();
  const sends: RtcpPacket[][] = [];
  const sink = (b: Buffer) => void sends.push(parseRtcp(b));
  const audio = new Receiver({ kind: 'audio', mimeType: 'audio/opus', clockRate: 48000, ssrc: 0x4000, clock: r.clock, sendRtcp: () => {} });
  r.session.addTrack({
    trackId: 'TR_v', publisherId: 'PA_pub', source: r.receiver, ssrc: 0xabc, payloadType: 96,
    send: () => {}, sendRtcp: sink, layers: LAYERS, width: 1280, height: 720, dynacast: r.dynacast,
  });
  r.session.addTrack({
    trackId: 'TR_a', publisherId: 'PA_pub', source: audio, ssrc: 0xdef, payloadType: 111,
    send: () => {}, sendRtcp: sink, layers: [], width: 0, height: 0,
  });
  const h = createRtpHeader();
  let audioSeq = 0;
  const step = (): void => {
    r.frame();
    const buf = serializeRtpPacket({ payloadType: 111, sequenceNumber: audioSeq, timestamp: audioSeq * 960, ssrc: 0x4000, payload: Uint8Array.of(1, 2, 3) });
    audioSeq++;
    assert.ok(parseRtpHeader(buf, h));
    audio.writeRtp(buf, h);
  };
  for (let i = 0; i < 31; i++) step(); // about 1 s
  assert.equal(sends.length, 1, 'the first reports within 1 s, in one datagram');
  assert.deepEqual(sends[0]!.map((p) => p.type === 'sr' ? p.ssrc : -1).sort((a, b) => a - b), [0xabc, 0xdef], 'both tracks in it');
  for (let i = 0; i < 60; i++) step(); // about 2 s more: no report yet
  assert.equal(sends.length, 1);
  for (let i = 0; i < 31; i++) step(); // past 3 s after the first
  assert.equal(sends.length, 2, 'the next one 3 s later');
  assert.equal(sends[1]!.length, 2);
  r.session.close();
  r.dynacast.close();
  r.receiver.close();
  audio.close();
});
