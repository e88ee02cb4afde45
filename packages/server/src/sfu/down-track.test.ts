import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '@atrium/webrtc/clock.js';
import {
  createRtpHeader,
  headerExtensionLength,
  ntpMiddle32,
  parseRtpHeader,
  serializeRtpPacket,
  wallMsFromNtp,
} from '@atrium/webrtc/rtp/index.js';
import type { RtpHeader, RtpPacketInit } from '@atrium/webrtc/rtp/index.js';
import { DownTrack } from './down-track.js';
import { createPacketInfo } from './down-track-source.js';
import type { DownTrackSource, MediaKind, PacketInfo, SenderReportMapping, SourceLayers } from './down-track-source.js';
import { createPayloadInspector } from './codec/payload-inspector.js';
import { CodecKind } from './codec/keyframe.js';

class FakeSource implements DownTrackSource {
  readonly kind: MediaKind;
  readonly mimeType: string;
  readonly clockRate: number;
  readonly packets = new Map<number, Buffer>();
  keyframeRequests = 0;
  removed = 0;
  mapping: SenderReportMapping | undefined;
  constructor(kind: MediaKind) {
    this.kind = kind;
    this.mimeType = kind === 'video' ? 'video/VP8' : 'audio/opus';
    this.clockRate = kind === 'video' ? 90000 : 48000;
  }
  getPacket(extSeq: number): Buffer | undefined {
    return this.packets.get(extSeq);
  }
  requestKeyframe(): void {
    this.keyframeRequests++;
  }
  sourceForSpatial(): number {
    return 0;
  }
  senderReportMapping(): SenderReportMapping | undefined {
    return this.mapping;
  }
  layers(): SourceLayers {
    return { activeSpatialMask: 1, maxTemporal: [0, -1, -1], bitrateBps: [0, 0, 0], isSvc: false };
  }
  removeSender(): void {
    this.removed++;
  }
  readonly dependencyDescriptorId = 0;
}

const VP8_KEY = [0x10, 0x00, 0x9d, 0x01, 0x2a];
const VP8_DELTA = [0x10, 0x01, 0x9d];

interface Rig {
  source: FakeSource;
  clock: ManualClock;
  track: DownTrack;
  sent: Buffer[];
  /** Feeds a publisher packet (extended seq = seq) as the receiver would. */
  feed(init: Partial<RtpPacketInit> & { sequenceNumber: number }, isKeyframe?: boolean): void;
}

function rig(kind: MediaKind, extensionIdMap?: Uint8Array, extra: Partial<ConstructorParameters<typeof DownTrack>[0]> = {}): Rig {
  const source = new FakeSource(kind);
  const clock = new ManualClock();
  const sent: Buffer[] = [];
  const opts: ConstructorParameters<typeof DownTrack>[0] = {
    source,
    ssrc: 0xcafebabe,
    payloadType: 96,
    send: (p) => sent.push(Buffer.from(p)),
    clock,
    initialSeq: 1000,
    initialTimestamp: 5000,
  };
  if (extensionIdMap) opts.extensionIdMap = extensionIdMap;
  const track = new DownTrack({ ...opts, ...extra });
  const h: RtpHeader = createRtpHeader();
  const info: PacketInfo = createPacketInfo();
  const inspector = createPayloadInspector(kind === 'video' ? CodecKind.VP8 : CodecKind.AUDIO);
  return {
    source,
    clock,
    track,
    sent,
    feed(init, isKeyframe = false) {
      const buf = serializeRtpPacket({
        payloadType: 100,
        timestamp: init.sequenceNumber * 3000,
        ssrc: 0x11111111,
        payload: Uint8Array.from(VP8_DELTA),
        ...init,
      });
      assert.ok(parseRtpHeader(buf, h));
      source.packets.set(init.sequenceNumber, buf);
      info.extSeq = init.sequenceNumber;
      inspector.inspect(buf, h, info);
      if (kind === 'video') assert.equal(info.isKeyframe, isKeyframe, 'the payload says what the test says');
      info.arrivalMs = clock.nowMs();
      track.writeRtp(buf, h, info);
    },
  };
}

test('munging golden bytes: SSRC, PT, seq, ts and extension ids rewritten, marker and payload intact', () => {
  const idMap = new Uint8Array(256);
  idMap[1] = 5; // publisher id 1 -> subscriber id 5; id 3 not negotiated -> dropped
  const r = rig('video', idMap);
  r.feed(
    {
      sequenceNumber: 40000,
      timestamp: 123456,
      marker: true,
      extensions: [
        { id: 1, value: Uint8Array.of(0xaa) },
        { id: 3, value: Uint8Array.of(1, 2, 3) },
      ],
      payload: Uint8Array.from(VP8_KEY),
    },
    true,
  );
  assert.equal(r.sent.length, 1);
  assert.equal(
    r.sent[0]!.toString('hex'),
    '90e003e8' + '00001388' + 'cafebabe' + 'bede0002' + '50aa000000000000' + '10009d012a',
  );
});

test('video waits for a keyframe and asks for one; seq/ts continue from the start values', () => {
  const r = rig('video');
  r.feed({ sequenceNumber: 10 });
  assert.equal(r.sent.length, 0);
  assert.equal(r.source.keyframeRequests, 1);
  r.clock.advance(100);
  r.feed({ sequenceNumber: 11 });
  assert.equal(r.source.keyframeRequests, 1, 'throttled in the down track too');
  r.feed({ sequenceNumber: 12, payload: Uint8Array.from(VP8_KEY) }, true);
  r.feed({ sequenceNumber: 13 });
  const h = createRtpHeader();
  const got = r.sent.map((p) => (parseRtpHeader(p, h), [h.sequenceNumber, h.timestamp, h.ssrc, h.payloadType]));
  assert.deepEqual(got, [
    [1000, 5000, 0xcafebabe, 96],
    [1001, 8000, 0xcafebabe, 96],
  ]);
  assert.equal(r.track.packetsDropped, 2);
});

test('NACK from the subscriber retransmits the cached packet with the munged seq, throttled', () => {
  const r = rig('audio');
  for (let s = 500; s < 505; s++) r.feed({ sequenceNumber: s, payload: Uint8Array.of(s & 0xff, 1, 2) });
  assert.equal(r.sent.length, 5);
  const original = Buffer.from(r.sent[2]!);
  r.sent.length = 0;
  const nack = { type: 'nack' as const, senderSsrc: 9, mediaSsrc: 0xcafebabe, lostSeqs: [1002] };
  r.track.handleRtcp([nack]);
  assert.equal(r.sent.length, 1);
  assert.deepEqual(r.sent[0], original, 'same bytes as the first transmission');
  r.clock.advance(50);
  r.track.handleRtcp([nack]);
  assert.equal(r.sent.length, 1, 'second NACK within 100 ms is ignored');
  r.clock.advance(50);
  r.track.handleRtcp([nack, { ...nack, mediaSsrc: 1234 }]);
  assert.equal(r.sent.length, 2, 'after 100 ms it is resent; NACK for another SSRC ignored');
  r.track.handleRtcp([{ ...nack, lostSeqs: [999, 1010] }]);
  assert.equal(r.sent.length, 2, 'unknown sequence numbers');
  assert.equal(r.track.retransmits, 2);
  assert.equal(r.track.retransmitMisses, 3);
});

test('transport-wide-cc negotiated: the publisher\'s element is kept under the subscriber\'s id, or added when missing', () => {
  const idMap = new Uint8Array(256);
  idMap[3] = 7; // publisher's transport-cc id 3 -> subscriber's 7
  idMap[1] = 1;
  const r = rig('audio', idMap, { transportCcId: 7 });
  r.feed({ sequenceNumber: 10, extensions: [{ id: 3, value: Uint8Array.of(0xab, 0xcd) }], payload: Uint8Array.of(1, 2, 3) });
  r.feed({ sequenceNumber: 11, extensions: [{ id: 1, value: Uint8Array.of(0x90) }], payload: Uint8Array.of(4, 5, 6) });
  r.feed({ sequenceNumber: 12, payload: Uint8Array.of(7, 8, 9) });
  assert.equal(r.sent.length, 3);
  const h = createRtpHeader();
  const expect = [[1, 2, 3], [4, 5, 6], [7, 8, 9]];
  for (let i = 0; i < 3; i++) {
    const pkt = r.sent[i]!;
    assert.ok(parseRtpHeader(pkt, h));
    assert.equal(headerExtensionLength(pkt, h, 7), 2, `packet ${i} carries the element`);
    assert.deepEqual([...pkt.subarray(h.payloadOffset)], expect[i], 'payload intact');
  }
  assert.equal(headerExtensionLength(r.sent[1]!, (parseRtpHeader(r.sent[1]!, h), h), 1), 1, 'other elements kept');
});

test('transport-wide sequencing off: no element is added and the publisher\'s is dropped; on again: both as before', () => {
  const idMap = new Uint8Array(256);
  idMap[3] = 7;
  idMap[1] = 1;
  const r = rig('audio', idMap, { transportCcId: 7 });
  const h = createRtpHeader();
  const carries = (i: number, id: number): boolean => (parseRtpHeader(r.sent[i]!, h), headerExtensionLength(r.sent[i]!, h, id) >= 0);
  r.track.setTransportWideSequencing(false);
  assert.equal(r.track.isTransportWideSequenced, false);
  r.feed({ sequenceNumber: 10, extensions: [{ id: 3, value: Uint8Array.of(0xab, 0xcd) }, { id: 1, value: Uint8Array.of(0x90) }], payload: Uint8Array.of(1, 2, 3) });
  r.feed({ sequenceNumber: 11, payload: Uint8Array.of(4, 5, 6) });
  assert.equal(r.sent.length, 2);
  assert.deepEqual([carries(0, 7), carries(0, 1), carries(1, 7)], [false, true, false], 'no transport-cc element; the audio level kept');
  assert.equal(r.sent[1]!.length, 12 + 3, 'nothing inserted into a packet without extensions');
  assert.equal(idMap[3], 7, "the caller's map is not changed");
  r.track.setTransportWideSequencing(true);
  r.feed({ sequenceNumber: 12, extensions: [{ id: 3, value: Uint8Array.of(0xab, 0xcd) }], payload: Uint8Array.of(7) });
  r.feed({ sequenceNumber: 13, payload: Uint8Array.of(8) });
  assert.deepEqual([carries(2, 7), carries(3, 7)], [true, true], 'kept and added again');
});

test('with RTX negotiated a NACKed packet goes out on the RTX sink; without, on the media SSRC', () => {
  const rtx: Buffer[] = [];
  const r = rig('audio', undefined, { sendRtx: (p) => (rtx.push(Buffer.from(p)), true) });
  for (let s = 500; s < 503; s++) r.feed({ sequenceNumber: s, payload: Uint8Array.of(s & 0xff) });
  const original = Buffer.from(r.sent[1]!);
  r.track.handleRtcp([{ type: 'nack', senderSsrc: 9, mediaSsrc: 0xcafebabe, lostSeqs: [1001] }]);
  assert.equal(r.sent.length, 3, 'nothing resent on the media SSRC');
  assert.deepEqual(rtx, [original], 'the RTX sink gets the packet as first sent (it wraps it)');
  assert.equal(r.track.rtxRetransmits, 1);
  const refused = rig('audio', undefined, { sendRtx: () => false });
  for (let s = 500; s < 503; s++) refused.feed({ sequenceNumber: s, payload: Uint8Array.of(s & 0xff) });
  refused.track.handleRtcp([{ type: 'nack', senderSsrc: 9, mediaSsrc: 0xcafebabe, lostSeqs: [1001] }]);
  assert.equal(refused.sent.length, 4, 'RTX not negotiated: resent on the media SSRC');
  assert.equal(refused.track.rtxRetransmits, 0);
});

test('PLI and FIR for this SSRC ask the source for a keyframe; others are ignored', () => {
  const r = rig('video');
  r.track.handleRtcp([
    { type: 'pli', senderSsrc: 1, mediaSsrc: 0xcafebabe },
    { type: 'pli', senderSsrc: 1, mediaSsrc: 42 },
    { type: 'fir', senderSsrc: 1, entries: [{ ssrc: 0xcafebabe, seqNr: 1 }] },
    { type: 'fir', senderSsrc: 1, entries: [{ ssrc: 43, seqNr: 1 }] },
  ]);
  assert.equal(r.source.keyframeRequests, 2);
  assert.equal(r.track.keyframeRequestsReceived, 2);
});

test('SR: null before the first packet; (NTP, RTP) on the publisher SR mapping plus the ts offset', () => {
  const r = rig('video');
  assert.equal(r.track.senderReport(r.clock.wallMs()), null);
  r.clock.advance(1000);
  // Publisher SR at t=1000: its NTP 1,600,000,000,000 ms <-> its RTP 900,000.
  r.source.mapping = { ntpWallMs: 1_600_000_000_000, rtpTimestamp: 900_000, receivedAtMs: 1000 };
  r.feed({ sequenceNumber: 7, timestamp: 900_000 + 90 * 20, payload: Uint8Array.from(VP8_KEY) }, true);
  // ts offset = 5000 - 901800
  r.clock.advance(500); // now 1500: 500 ms after the SR
  const sr = r.track.senderReport(r.clock.wallMs());
  assert.ok(sr);
  assert.equal(sr.ssrc, 0xcafebabe);
  assert.ok(Math.abs(wallMsFromNtp(sr.ntpTimestamp) - 1_600_000_000_500) < 0.001);
  const expectedRtp = (900_000 + 500 * 90 + (5000 - 901_800)) >>> 0;
  assert.equal(sr.rtpTimestamp, expectedRtp);
  assert.equal(sr.packetCount, 1);
  assert.equal(sr.octetCount, VP8_KEY.length);
});

test('SR without a publisher SR: wall clock and last timestamp advanced by elapsed time', () => {
  const r = rig('audio');
  r.feed({ sequenceNumber: 1, timestamp: 777 });
  r.clock.advance(20);
  const wall = r.clock.wallMs();
  const sr = r.track.senderReport(wall);
  assert.ok(sr);
  assert.ok(Math.abs(wallMsFromNtp(sr.ntpTimestamp) - wall) < 0.001);
  assert.equal(sr.rtpTimestamp, 5000 + 20 * 48);
});

test('RR from the subscriber gives loss, jitter and RTT (LSR/DLSR against our SR)', () => {
  const r = rig('audio');
  r.feed({ sequenceNumber: 1 });
  const sr = r.track.senderReport(r.clock.wallMs());
  assert.ok(sr);
  r.clock.advance(150);
  r.track.handleRtcp([
    {
      type: 'rr',
      ssrc: 77,
      reports: [
        {
          ssrc: 0xcafebabe,
          fractionLost: 64,
          cumulativeLost: 3,
          highestSeq: 1000,
          jitter: 480,
          lastSr: ntpMiddle32(sr.ntpTimestamp),
          delaySinceLastSr: 6554, // 100.006 ms (units of 1/65536 s)
        },
      ],
    },
  ]);
  assert.equal(r.track.lossFraction, 0.25);
  assert.equal(r.track.cumulativeLost, 3);
  assert.equal(r.track.jitterMs, 10);
  assert.ok(Math.abs(r.track.rttMs - 50) < 0.1, `${r.track.rttMs}`);
});

test('mute absorbs packets; close detaches once and stops forwarding', () => {
  const r = rig('audio');
  r.feed({ sequenceNumber: 1 });
  r.track.setMuted(true);
  r.feed({ sequenceNumber: 2 });
  r.track.setSourceMuted(true);
  r.track.setMuted(false);
  r.feed({ sequenceNumber: 3 });
  r.track.setSourceMuted(false);
  r.feed({ sequenceNumber: 4 });
  const h = createRtpHeader();
  assert.deepEqual(
    r.sent.map((p) => (parseRtpHeader(p, h), h.sequenceNumber)),
    [1000, 1001],
  );
  r.track.close();
  r.track.close();
  assert.equal(r.source.removed, 1);
  r.feed({ sequenceNumber: 5 });
  assert.equal(r.sent.length, 2);
});

test('a throwing sink is counted, not thrown', () => {
  const source = new FakeSource('audio');
  const track = new DownTrack({
    source,
    ssrc: 1,
    payloadType: 111,
    clock: new ManualClock(),
    send: () => {
      throw new Error('boom');
    },
  });
  const buf = serializeRtpPacket({ payloadType: 111, sequenceNumber: 1, timestamp: 1, ssrc: 2, payload: Uint8Array.of(1) });
  const h = createRtpHeader();
  parseRtpHeader(buf, h);
  track.writeRtp(buf, h, { ...createPacketInfo(), extSeq: 1 });
  assert.equal(track.sendErrors, 1);
  assert.equal(track.packetsSent, 0);
});

test('VP8 descriptors stay continuous for the decoder across a simulcast switch and dropped temporal layers', async () => {
  const { Receiver } = await import('./receiver.js');
  const { parseVp8Descriptor, createVp8Descriptor } = await import('./codec/vp8-descriptor.js');
  const clock = new ManualClock();
  const receiver = new Receiver({ kind: 'video', mimeType: 'video/VP8', clockRate: 90000, ssrc: 0x10, sendRtcp: () => {}, clock });
  receiver.addStream({ ssrc: 0x20, spatial: 1 });
  const sent: Buffer[] = [];
  const down = new DownTrack({ source: receiver, ssrc: 0xcafe, payloadType: 96, send: (p) => sent.push(Buffer.from(p)), clock, initialSeq: 0, initialTimestamp: 0 });
  down.setTargetLayers(0, 1); // layer 0, temporal layers 0 and 1 (TID 2 frames dropped)
  receiver.addSender(down);
  const h = createRtpHeader();
  // Chromium-like VP8: X, I (15-bit picture id), L (TL0PICIDX), T (TID, Y); TIDs 0 2 1 2 per four frames.
  // The two streams number their pictures independently (stream 0 from 100, stream 1 from 5000).
  const frame = (ssrc: number, n: number, base: number, isKey: boolean): void => {
    const tid = [0, 2, 1, 2][n % 4]!;
    const pid = base + n;
    const payload = Uint8Array.of(0x90, 0xe0, 0x80 | (pid >> 8), pid & 0xff, (base + Math.floor(n / 4)) & 0xff, (tid << 6) | (tid > 0 ? 0x20 : 0), isKey ? 0 : 1, 0x9d);
    const buf = serializeRtpPacket({ payloadType: 96, sequenceNumber: base + n, timestamp: n * 3000, ssrc, marker: true, payload });
    assert.ok(parseRtpHeader(buf, h));
    receiver.writeRtp(buf, h);
    clock.advance(33);
  };
  for (let n = 0; n < 8; n++) frame(0x10, n, 100, n === 0);
  down.setTargetLayers(1, 1);
  for (let n = 0; n < 8; n++) {
    frame(0x10, 8 + n, 100, false);
    frame(0x20, n, 5000, n === 4);
  }
  const d = createVp8Descriptor();
  const out = sent.map((p) => {
    assert.ok(parseRtpHeader(p, h));
    assert.ok(parseVp8Descriptor(p, h.payloadOffset, h.payloadLength, d));
    return { seq: h.sequenceNumber, pid: d.pictureId, tl0: d.tl0PicIdx, tid: d.tid, layerTag: p[p.length - 1] };
  });
  assert.ok(out.every((o) => o.tid <= 1), 'TID 2 frames never forwarded');
  assert.deepEqual(out.map((o) => o.seq), out.map((_, i) => i), 'sequence numbers without a gap');
  assert.deepEqual(out.map((o) => o.pid), out.map((_, i) => 100 + i), 'picture ids without a gap, across the switch too');
  const firstOfNewStream = out.findIndex((o, i) => i > 0 && o.tl0 !== out[i - 1]!.tl0 && o.tid === 0 && out[i - 1]!.tl0 !== o.tl0);
  assert.ok(firstOfNewStream > 0);
  for (let i = 1; i < out.length; i++) {
    const step = (out[i]!.tl0 - out[i - 1]!.tl0 + 256) % 256;
    assert.ok(step === 0 || step === 1, `TL0PICIDX steps by 0 or 1 (${out[i - 1]!.tl0} -> ${out[i]!.tl0})`);
  }
  receiver.close();
});

test('VP8 rewrite keeps the payload whether the descriptor keeps its size (in place), grows (7-bit picture id) or has padding', async () => {
  const { parseVp8Descriptor, createVp8Descriptor } = await import('./codec/vp8-descriptor.js');
  const tail = [0x9d, 0x01, 0x2a, 0x11, 0x22, 0x33];
  const h = createRtpHeader();
  const d = createVp8Descriptor();
  const read = (sent: Buffer[]): { pid: number; size: number; body: number[] }[] =>
    sent.map((p) => {
      assert.ok(parseRtpHeader(p, h));
      assert.equal(h.padding, false, 'no padding goes out');
      assert.equal(p.length, h.payloadOffset + h.payloadLength);
      assert.ok(parseVp8Descriptor(p, h.payloadOffset, h.payloadLength, d));
      return { pid: d.pictureId, size: d.sizeBytes, body: [...p.subarray(h.payloadOffset + d.sizeBytes)] };
    });
  // 15-bit picture ids (X, I, M): rewritten in place; the second packet carries 4 bytes of RTP padding, dropped.
  const a = rig('video');
  a.feed({ sequenceNumber: 1, payload: Uint8Array.of(0x90, 0x80, 0x80 | (300 >> 8), 300 & 0xff, 0x00, ...tail) }, true);
  a.feed({ sequenceNumber: 2, payload: Uint8Array.of(0x90, 0x80, 0x80 | (301 >> 8), 301 & 0xff, 0x01, ...tail), paddingLength: 4 });
  assert.deepEqual(read(a.sent), [
    { pid: 300, size: 4, body: [0x00, ...tail] },
    { pid: 301, size: 4, body: [0x01, ...tail] },
  ]);
  // 7-bit picture ids (X, I, no M): the rewritten descriptor takes the 15-bit form, one byte longer.
  const b = rig('video');
  b.feed({ sequenceNumber: 1, payload: Uint8Array.of(0x90, 0x80, 45, 0x00, ...tail) }, true);
  b.feed({ sequenceNumber: 2, payload: Uint8Array.of(0x90, 0x80, 46, 0x01, ...tail) });
  assert.deepEqual(read(b.sent), [
    { pid: 45, size: 4, body: [0x00, ...tail] },
    { pid: 46, size: 4, body: [0x01, ...tail] },
  ]);
});
