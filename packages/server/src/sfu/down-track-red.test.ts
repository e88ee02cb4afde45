// DownTrack audio with RED (red-translator.ts): the bytes a subscriber gets for RED and plain Opus from the
// publisher, with and without RED on its side: pass-through with renumbered blocks, unwrapping to the primary, frames
// lost upstream recovered into their own sequence numbers, RED encoding of plain Opus; hostile input never throws.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '@atrium/webrtc/clock.js';
import { createRtpHeader, parseRtpHeader } from '@atrium/webrtc/rtp/index.js';
import type { RtpHeader } from '@atrium/webrtc/rtp/index.js';
import { seededRandom } from '@atrium/webrtc/testing/seeded-random.js';
import { DownTrack } from './down-track.js';
import { createPacketInfo } from './down-track-source.js';
import type { DownTrackSource, PacketInfo, SenderReportMapping, SourceLayers } from './down-track-source.js';
import type { RedTranslatorOptions } from './red-translator.js';

const PUB_RED = 63;
const PUB_OPUS = 111;
const OUT_SSRC = 0xcafebabe;
/** 20 ms of 48 kHz audio: the timestamp step between Opus frames and a RED block's offset. */
const FRAME_TICKS = 960;

class AudioSource implements DownTrackSource {
  readonly kind = 'audio' as const;
  readonly clockRate = 48000;
  readonly dependencyDescriptorId = 0;
  readonly mimeType: string;
  readonly packets = new Map<number, Buffer>();
  constructor(mimeType: string) {
    this.mimeType = mimeType;
  }
  getPacket(extSeq: number): Buffer | undefined {
    return this.packets.get(extSeq);
  }
  requestKeyframe(): void {}
  sourceForSpatial(): number {
    return 0;
  }
  senderReportMapping(): SenderReportMapping | undefined {
    return undefined;
  }
  layers(): SourceLayers {
    return { activeSpatialMask: 1, maxTemporal: [0], bitrateBps: [0], isSvc: false };
  }
  removeSender(): void {}
}

/** RFC 3550 fixed header, no CSRC/extension: V=2, marker, PT, seq, ts, SSRC 0x11111111. */
function header(pt: number, seq: number, ts: number, marker = false): number[] {
  return [
    0x80, // V=2 P=0 X=0 CC=0
    (marker ? 0x80 : 0) | pt, // M, PT
    (seq >>> 8) & 0xff, seq & 0xff,
    (ts >>> 24) & 0xff, (ts >>> 16) & 0xff, (ts >>> 8) & 0xff, ts & 0xff,
    0x11, 0x11, 0x11, 0x11, // publisher SSRC
  ];
}

/** An Opus "frame" of `length` bytes whose bytes name the sequence number it was first sent with. */
function frame(seq: number, length = 6): number[] {
  return Array.from({ length }, (_, i) => (seq * 16 + i) & 0xff);
}

/**
 * RED payload as Chromium builds it: one 4-byte header per redundant block (F=1, block PT, 14-bit timestamp offset,
 * 10-bit length), the 1-byte primary header (F=0, PT), then the redundant frames oldest first and the primary.
 * `redundant` lists the earlier sequence numbers carried, oldest first (each one frame back per step).
 */
function redPayload(seq: number, redundant: number[], blockPt = PUB_OPUS): number[] {
  const headers: number[] = [];
  const data: number[] = [];
  for (const r of redundant) {
    const offset = (seq - r) * FRAME_TICKS;
    const f = frame(r);
    headers.push(0x80 | blockPt, offset >>> 6, ((offset & 0x3f) << 2) | (f.length >>> 8), f.length & 0xff);
    data.push(...f);
  }
  headers.push(blockPt); // F=0: primary
  return [...headers, ...data, ...frame(seq)];
}

interface Rig {
  sent: Buffer[];
  track: DownTrack;
  source: AudioSource;
  feed(bytes: number[]): void;
}

function rig(sourceMime: string, red: RedTranslatorOptions): Rig {
  const source = new AudioSource(sourceMime);
  const sent: Buffer[] = [];
  const clock = new ManualClock();
  const track = new DownTrack({
    source, ssrc: OUT_SSRC, payloadType: 100, send: (p) => sent.push(Buffer.from(p)), clock,
    initialSeq: 1000, initialTimestamp: 5000, red,
  });
  const h: RtpHeader = createRtpHeader();
  const info: PacketInfo = createPacketInfo();
  return {
    sent, track, source,
    feed(bytes) {
      const buf = Buffer.from(bytes);
      assert.ok(parseRtpHeader(buf, h));
      info.extSeq = h.sequenceNumber;
      info.arrivalMs = clock.nowMs();
      source.packets.set(h.sequenceNumber, buf);
      track.writeRtp(buf, h, info);
      clock.advance(20);
    },
  };
}

/** Header fields of an outgoing packet and its payload bytes. */
function view(p: Buffer): { pt: number; seq: number; ts: number; ssrc: number; marker: boolean; payload: number[] } {
  const h = createRtpHeader();
  assert.ok(parseRtpHeader(p, h), 'a valid RTP packet goes out');
  return {
    pt: h.payloadType, seq: h.sequenceNumber, ts: h.timestamp, ssrc: h.ssrc, marker: h.marker,
    payload: [...p.subarray(h.payloadOffset, h.payloadOffset + h.payloadLength)],
  };
}

const redToRed: RedTranslatorOptions = { sourceRedPayloadType: PUB_RED, sourceOpusPayloadType: PUB_OPUS, redPayloadType: PUB_RED, opusPayloadType: PUB_OPUS };
const redToOpus: RedTranslatorOptions = { sourceRedPayloadType: PUB_RED, sourceOpusPayloadType: PUB_OPUS, redPayloadType: -1, opusPayloadType: PUB_OPUS };

test('RED to a RED subscriber: the packet as it came, only SSRC, sequence number and timestamp rewritten', () => {
  const r = rig('audio/red', redToRed);
  const input = [...header(PUB_RED, 500, 96000, true), ...redPayload(500, [499])];
  r.feed(input);
  assert.equal(r.sent.length, 1);
  const expected = [
    0x80, 0x80 | PUB_RED, // marker kept, RED payload type
    0x03, 0xe8, // seq 1000 (the subscriber's first)
    0x00, 0x00, 0x13, 0x88, // ts 5000
    0xca, 0xfe, 0xba, 0xbe, // our SSRC
    0x80 | PUB_OPUS, 0x0f, 0x00, 0x06, // redundant: F=1 PT 111, offset 960 (0b00001111_000000), length 6
    PUB_OPUS, // primary header
    ...frame(499), ...frame(500),
  ];
  assert.deepEqual([...r.sent[0]!], expected);
});

test('RED to a RED subscriber with another Opus payload type: every block header renumbered', () => {
  const r = rig('audio/red', { ...redToRed, redPayloadType: 100, opusPayloadType: 109 });
  r.feed([...header(PUB_RED, 500, 96000), ...redPayload(500, [498, 499])]);
  const out = view(r.sent[0]!);
  assert.equal(out.pt, 100);
  assert.deepEqual(out.payload.slice(0, 9), [
    0x80 | 109, 0x1e, 0x00, 0x06, // F=1 PT 109, offset 1920 (0b00011110_000000), length 6
    0x80 | 109, 0x0f, 0x00, 0x06, // F=1 PT 109, offset 960, length 6
    109, // primary header, PT 109
  ]);
  assert.deepEqual(out.payload.slice(9), [...frame(498), ...frame(499), ...frame(500)], 'block data untouched');
});

test('RED to a subscriber that refused RED: the primary Opus frame alone, with its Opus payload type', () => {
  const r = rig('audio/red', { ...redToOpus, opusPayloadType: 109 });
  r.feed([...header(PUB_RED, 500, 96000, true), ...redPayload(500, [499])]);
  assert.deepEqual([...r.sent[0]!], [
    0x80, 0x80 | 109, 0x03, 0xe8, 0x00, 0x00, 0x13, 0x88, 0xca, 0xfe, 0xba, 0xbe, // marker, PT 109, seq 1000, ts 5000, SSRC
    ...frame(500), // the primary: redundancy dropped
  ]);
  assert.equal(r.track.recoveredPackets, 0);
});

test('plain Opus from a RED track (the publisher switched) still reaches both kinds of subscriber as Opus', () => {
  for (const opts of [redToRed, redToOpus]) {
    const r = rig('audio/red', opts);
    r.feed([...header(PUB_OPUS, 10, 4800), ...frame(10)]);
    const out = view(r.sent[0]!);
    assert.equal(out.pt, PUB_OPUS);
    assert.deepEqual(out.payload, frame(10));
  }
});

test('loss upstream: frames of lost packets are recovered from the next RED packet into the free sequence numbers', () => {
  const r = rig('audio/red', redToOpus);
  const red = (seq: number, redundant: number[]): number[] => [...header(PUB_RED, seq, seq * FRAME_TICKS), ...redPayload(seq, redundant)];
  r.feed(red(10, [9]));
  r.feed(red(11, [10]));
  // 12 is lost; 13 carries it as its redundant block.
  r.feed(red(13, [12]));
  // 14, 15 and 16 are lost; 17 carries two of them (LiveKit-style redundancy 2): 15 and 16 come back, 14 does not.
  r.feed(red(17, [15, 16]));
  r.feed(red(18, [17]));
  const out = r.sent.map(view);
  assert.deepEqual(out.map((p) => [p.seq, p.ts, p.payload[0], p.marker]), [
    [1000, 5000, frame(10)[0], false],
    [1001, 5000 + 960, frame(11)[0], false],
    [1002, 5000 + 2 * 960, frame(12)[0], false], // recovered: 12's own slot and timestamp
    [1003, 5000 + 3 * 960, frame(13)[0], false],
    // 1004 (14) stays a gap the subscriber's jitter buffer conceals
    [1005, 5000 + 5 * 960, frame(15)[0], false],
    [1006, 5000 + 6 * 960, frame(16)[0], false],
    [1007, 5000 + 7 * 960, frame(17)[0], false],
    [1008, 5000 + 8 * 960, frame(18)[0], false],
  ]);
  assert.deepEqual(out[2]!.payload, frame(12), 'the whole recovered frame');
  assert.ok(out.every((p) => p.pt === PUB_OPUS && p.ssrc === OUT_SSRC));
  assert.equal(r.track.recoveredPackets, 3);
  // The originals arrive late (a retransmission from the publisher): 12 and 15 were recovered and are not sent
  // twice; 14 was not and fills its gap.
  r.feed(red(12, [11]));
  r.feed(red(15, [14]));
  r.feed(red(14, [13]));
  const late = r.sent.slice(out.length).map(view);
  assert.deepEqual(late.map((p) => [p.seq, p.ts, p.payload]), [[1004, 5000 + 4 * 960, frame(14)]]);
});

test('no recovery towards RED subscribers (they recover themselves), nor for blocks older than what was forwarded', () => {
  const toRed = rig('audio/red', redToRed);
  toRed.feed([...header(PUB_RED, 10, 9600), ...redPayload(10, [9])]);
  toRed.feed([...header(PUB_RED, 12, 11520), ...redPayload(12, [11])]);
  assert.equal(toRed.sent.length, 2);
  // A redundant block whose timestamp is not after the last forwarded frame is not a lost frame.
  const r = rig('audio/red', redToOpus);
  r.feed([...header(PUB_RED, 10, 9600), ...redPayload(10, [9])]);
  const odd = [...header(PUB_RED, 12, 9600 + 960), ...redPayload(12, [11])]; // block 11 would sit at ts 9600
  r.feed(odd);
  assert.deepEqual(r.sent.map(view).map((p) => p.seq), [1000, 1002]);
  assert.equal(r.track.recoveredPackets, 0);
});

test('a NACKed Opus packet from a RED track is resent unwrapped', () => {
  const r = rig('audio/red', redToOpus);
  for (let seq = 10; seq < 13; seq++) r.feed([...header(PUB_RED, seq, seq * FRAME_TICKS), ...redPayload(seq, [seq - 1])]);
  r.track.handleRtcp([{ type: 'nack', senderSsrc: 1, mediaSsrc: OUT_SSRC, lostSeqs: [1001] }]);
  const resent = view(r.sent.at(-1)!);
  assert.equal(r.sent.length, 4);
  assert.deepEqual([resent.seq, resent.ts, resent.pt, resent.payload], [1001, 5000 + 960, PUB_OPUS, frame(11)]);
});

test('plain Opus RED-encoded for a RED subscriber (active RED encoding): the previous two frames repeated', () => {
  const r = rig('audio/opus', { sourceRedPayloadType: -1, sourceOpusPayloadType: PUB_OPUS, redPayloadType: PUB_RED, opusPayloadType: 109, encodeRedundancy: 2 });
  for (let seq = 20; seq < 23; seq++) r.feed([...header(PUB_OPUS, seq, seq * FRAME_TICKS), ...frame(seq)]);
  const out = r.sent.map(view);
  assert.ok(out.every((p) => p.pt === PUB_RED));
  assert.deepEqual(out[0]!.payload, [109, ...frame(20)], 'first packet: the primary header (F=0, Opus PT 109) and the frame');
  assert.deepEqual(out[1]!.payload, [0x80 | 109, 0x0f, 0x00, 0x06, 109, ...frame(20), ...frame(21)]);
  assert.deepEqual(out[2]!.payload, [
    0x80 | 109, 0x1e, 0x00, 0x06, // frame 20: offset 1920, length 6
    0x80 | 109, 0x0f, 0x00, 0x06, // frame 21: offset 960
    109, ...frame(20), ...frame(21), ...frame(22),
  ]);
  assert.deepEqual(out.map((p) => [p.seq, p.ts]), [[1000, 5000], [1001, 5960], [1002, 6920]]);
});

test('plain Opus to a subscriber that took both: Opus as is without encoding; wrapped in RED if it took RED only', () => {
  const both = rig('audio/opus', { sourceRedPayloadType: -1, sourceOpusPayloadType: PUB_OPUS, redPayloadType: PUB_RED, opusPayloadType: PUB_OPUS });
  both.feed([...header(PUB_OPUS, 20, 19200), ...frame(20)]);
  assert.deepEqual([view(both.sent[0]!).pt, view(both.sent[0]!).payload], [PUB_OPUS, frame(20)]);
  const redOnly = rig('audio/opus', { sourceRedPayloadType: -1, sourceOpusPayloadType: PUB_OPUS, redPayloadType: PUB_RED, opusPayloadType: -1 });
  redOnly.feed([...header(PUB_OPUS, 20, 19200), ...frame(20)]);
  redOnly.feed([...header(PUB_OPUS, 21, 20160), ...frame(21)]);
  assert.deepEqual(redOnly.sent.map(view).map((p) => [p.pt, p.payload]), [[PUB_RED, [PUB_OPUS, ...frame(20)]], [PUB_RED, [PUB_OPUS, ...frame(21)]]]);
});

test('fuzz: random and truncated RED packets never throw; what goes out is RTP within the scratch buffer', () => {
  const random = seededRandom(0x5eed);
  const byte = (): number => Math.floor(random() * 256);
  for (const opts of [redToOpus, redToRed, { ...redToRed, opusPayloadType: 109 }]) {
    const r = rig('audio/red', opts);
    let seq = 100;
    for (let n = 0; n < 3000; n++) {
      seq += random() < 0.2 ? 1 + Math.floor(random() * 4) : 1; // gaps: recovery runs on garbage too
      const payloadLength = Math.floor(random() * 40);
      const payload = Array.from({ length: payloadLength }, byte);
      // Often a plausible RED header (F=1, PT 111, random offset/length), else pure garbage.
      if (payloadLength >= 5 && random() < 0.7) {
        payload[0] = 0x80 | PUB_OPUS;
        payload[4] = random() < 0.5 ? PUB_OPUS : payload[4]!;
      }
      const bytes = [...header(random() < 0.9 ? PUB_RED : PUB_OPUS, seq & 0xffff, (seq * FRAME_TICKS) >>> 0), ...payload];
      assert.doesNotThrow(() => r.feed(bytes));
    }
    for (const p of r.sent) {
      const h = createRtpHeader();
      assert.ok(parseRtpHeader(p, h));
      assert.ok(p.length <= 1516);
      assert.equal(h.ssrc, OUT_SSRC);
    }
    // Pass-through needs no parsing; unwrapping and renumbering drop what does not parse as RED.
    assert.ok(r.sent.length > (opts === redToRed ? 2900 : 300), `packets out: ${r.sent.length}`);
  }
});
