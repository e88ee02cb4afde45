import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '@atrium/webrtc/clock.js';
import {
  createDependencyDescriptor, createRtpHeader, findHeaderExtension, parseRtpHeader, serializeRtpPacket,
} from '@atrium/webrtc/rtp/index.js';
import type { DependencyDescriptorFields, DependencyStructure, RtpHeader } from '@atrium/webrtc/rtp/index.js';
import { writeDependencyDescriptor } from '@atrium/webrtc/rtp/dependency-descriptor-writer.js';
import { L1T3 } from '@atrium/webrtc/testing/dependency-descriptor-vectors.js';
import { createPacketInfo } from '../down-track-source.js';
import type { PacketInfo } from '../down-track-source.js';
import { DownTrack } from '../down-track.js';
import { Receiver } from '../receiver.js';
import { CodecKind } from './keyframe.js';
import { createPayloadInspector, isDescriptorAware } from './payload-inspector.js';
import { DependencyDescriptorInspector } from './dd-inspector.js';

const DD_ID = 12;

/**
 * The descriptor of one packet of an L1T3 stream (libwebrtc's structure, template id offset 62): `template` is the
 * template index (0: key frame S0T0, 1: T0, 2: T1, 3 and 4: T2); a key frame carries the structure.
 */
function l1t3Descriptor(template: number, frameNumber: number, structure: DependencyStructure = L1T3): Uint8Array {
  const fields: DependencyDescriptorFields = {
    ...createDependencyDescriptor(),
    isStartOfFrame: true,
    isEndOfFrame: true,
    templateId: (structure.structureId + template) % 64,
    frameNumber,
    attachedStructure: template === 0 ? structure : undefined,
  };
  const out = new Uint8Array(64);
  const n = writeDependencyDescriptor(out, 0, fields, structure);
  assert.ok(n > 0, 'descriptor written');
  return out.subarray(0, n);
}

function packet(opts: { ssrc?: number; seq: number; dd?: Uint8Array; payload?: Uint8Array }): { buf: Buffer; h: RtpHeader } {
  const buf = serializeRtpPacket({
    payloadType: 45, sequenceNumber: opts.seq & 0xffff, timestamp: opts.seq * 3000, ssrc: opts.ssrc ?? 0x10, marker: true,
    ...(opts.dd ? { extensions: [{ id: DD_ID, value: opts.dd }] } : {}),
    payload: opts.payload ?? Uint8Array.of(0x10, 1, 2, 3),
  });
  const h = createRtpHeader();
  assert.ok(parseRtpHeader(buf, h));
  return { buf, h };
}

test('dependency descriptor: layers, key frames and switch points of an L1T3 stream; nothing before its structure', () => {
  const dd = new DependencyDescriptorInspector();
  dd.setExtensionId(DD_ID);
  const info: PacketInfo = createPacketInfo();
  const read = (template: number, frame: number): Partial<PacketInfo> | false => {
    const { buf, h } = packet({ seq: frame, dd: l1t3Descriptor(template, frame) });
    if (!dd.inspect(buf, h, info)) return false;
    return {
      spatial: info.spatial, temporal: info.temporal, isKeyframe: info.isKeyframe,
      isTemporalSwitchPoint: info.isTemporalSwitchPoint, isFrameStart: info.isFrameStart,
    };
  };
  assert.equal(read(1, 99), false, 'a delta frame before any structure cannot be read');
  assert.equal(dd.unreadable, 1);
  assert.deepEqual(read(0, 100), { spatial: 0, temporal: 0, isKeyframe: true, isTemporalSwitchPoint: true, isFrameStart: true });
  assert.equal(info.codec.ddFrameNumber, 100);
  assert.ok(info.codec.ddOffset > 12, 'the descriptor is located in the header extension block');
  // The structure's own indications decide: T2 frames are discardable for their target, T1 ones too, T0 are switches.
  assert.deepEqual(read(3, 101), { spatial: 0, temporal: 2, isKeyframe: false, isTemporalSwitchPoint: false, isFrameStart: true });
  assert.deepEqual(read(2, 102), { spatial: 0, temporal: 1, isKeyframe: false, isTemporalSwitchPoint: false, isFrameStart: true });
  assert.deepEqual(read(1, 104), { spatial: 0, temporal: 0, isKeyframe: false, isTemporalSwitchPoint: true, isFrameStart: true });
  // Not negotiated, no extension, or garbage: false, the packet is left for another inspector.
  const { buf, h } = packet({ seq: 105, dd: Uint8Array.of(0xff, 0xff) });
  assert.equal(dd.inspect(buf, h, info), false);
  const plain = packet({ seq: 106 });
  assert.equal(dd.inspect(plain.buf, plain.h, info), false);
  dd.setExtensionId(0);
  const good = packet({ seq: 107, dd: l1t3Descriptor(1, 107) });
  assert.equal(dd.inspect(good.buf, good.h, info), false);
});

test('VP9: layers from the payload descriptor, or from the dependency descriptor when the publisher sends one', () => {
  const vp9 = createPayloadInspector(CodecKind.VP9);
  assert.ok(isDescriptorAware(vp9));
  const info = createPacketInfo();
  // 0xa8: I=1 P=0 L=1 B=1 | 0x80 0x05: picture id 5 | 0x00: TID 0, U=0, SID 0 | 0x07: TL0PICIDX
  const key = packet({ seq: 1, payload: Uint8Array.of(0xa8, 0x80, 0x05, 0x00, 0x07, 0x82, 0x49) });
  vp9.inspect(key.buf, key.h, info);
  assert.deepEqual([info.isKeyframe, info.spatial, info.temporal, info.isFrameStart, info.isSpatialSwitchPoint], [true, 0, 0, true, true]);
  // 0xe8: I=1 P=1 L=1 B=1 | 0x43 = 010 0 001 1: TID 2, U=0, SID 1, D=1
  const delta = packet({ seq: 2, payload: Uint8Array.of(0xe8, 0x80, 0x06, 0x43, 0x07, 0x00) });
  vp9.inspect(delta.buf, delta.h, info);
  assert.deepEqual(
    [info.isKeyframe, info.spatial, info.temporal, info.isTemporalSwitchPoint, info.isSpatialSwitchPoint],
    [false, 1, 2, false, false],
  );
  // With the dependency descriptor negotiated, its layers win over the payload descriptor's.
  vp9.setDependencyDescriptorId(DD_ID);
  const withDd = packet({ seq: 3, dd: l1t3Descriptor(0, 500), payload: Uint8Array.of(0xe8, 0x80, 0x07, 0x43, 0x07, 0x00) });
  vp9.inspect(withDd.buf, withDd.h, info);
  assert.deepEqual([info.isKeyframe, info.spatial, info.temporal, info.codec.ddFrameNumber], [true, 0, 0, 500]);
  // A truncated payload descriptor: no layers claimed, not a key frame.
  vp9.setDependencyDescriptorId(0);
  const bad = packet({ seq: 4, payload: Uint8Array.of(0xa8) });
  vp9.inspect(bad.buf, bad.h, info);
  assert.deepEqual([info.isKeyframe, info.isTemporalSwitchPoint], [false, false]);
});

test('AV1 simulcast: dependency descriptor frame numbers continue across a stream switch for one subscriber', () => {
  const clock = new ManualClock();
  const receiver = new Receiver({ kind: 'video', mimeType: 'video/AV1', clockRate: 90000, ssrc: 0x10, sendRtcp: () => {}, clock });
  receiver.addStream({ ssrc: 0x20, spatial: 1 });
  receiver.setDependencyDescriptorId(DD_ID);
  const sent: Buffer[] = [];
  const down = new DownTrack({ source: receiver, ssrc: 0xcafe, payloadType: 45, send: (p) => sent.push(Buffer.from(p)), clock, initialSeq: 0, initialTimestamp: 0 });
  down.setTargetLayers(0, 2);
  receiver.addSender(down);
  // Each stream numbers its frames on its own: stream 0 from 100, stream 1 from 40000. TIDs 0 2 1 2 (templates 1 3 2 4).
  const feed = (ssrc: number, n: number, base: number): void => {
    const template = n === 0 ? 0 : [1, 3, 2, 4][n % 4]!;
    const { buf, h } = packet({ ssrc, seq: base + n, dd: l1t3Descriptor(template, base + n) });
    receiver.writeRtp(buf, h);
    clock.advance(33);
  };
  for (let n = 0; n < 6; n++) feed(0x10, n, 100);
  down.setTargetLayers(1, 2);
  for (let n = 0; n < 6; n++) {
    feed(0x10, 6 + n, 100);
    feed(0x20, n, 40000);
  }
  const h = createRtpHeader();
  const frames = sent.map((p) => {
    assert.ok(parseRtpHeader(p, h));
    const at = findHeaderExtension(p, h, DD_ID);
    assert.ok(at >= 0, 'the descriptor is forwarded');
    return { ssrcSeq: h.sequenceNumber, frame: (p[at + 1]! << 8) | p[at + 2]! };
  });
  assert.ok(frames.length >= 12, `${frames.length} packets sent`);
  assert.deepEqual(frames.map((f) => f.frame), frames.map((_, i) => 100 + i), 'frame numbers run on without a jump');
  assert.deepEqual(frames.map((f) => f.ssrcSeq), frames.map((_, i) => i), 'sequence numbers too');
  receiver.close();
});
