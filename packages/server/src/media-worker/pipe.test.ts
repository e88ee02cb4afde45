import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MessageChannel } from 'node:worker_threads';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { systemClock, silentLogger } from '@atrium/webrtc';
import { SeqUnwrapper, createRtpHeader, ntpFromWallMs, parseRtcp, parseRtpHeader, serializeRtpPacket } from '@atrium/webrtc/rtp/index.js';
import type { RtcpPacket, RtpHeader } from '@atrium/webrtc/rtp/index.js';
import { Receiver } from '../sfu/receiver.js';
import type { PacketInfo, TrackSender } from '../sfu/down-track-source.js';
import { PublishedTrackSource } from '../rtc/webrtc-track-source.js';
import { PipePeer, describeSource, type MirrorSpec } from './pipe.js';

const VP8_KEY = Uint8Array.of(0x10, 0x00, 0x9d, 0x01, 0x2a);
const VP8_DELTA = Uint8Array.of(0x10, 0x01, 0x9d);
const SSRC_LOW = 0x1111;
const SSRC_HIGH = 0x2222;

/** An origin worker (0) with one simulcast VP8 track, and a destination worker (1), joined by a MessageChannel. */
function setup() {
  const rtcp: RtcpPacket[][] = [];
  const receiver = new Receiver({
    kind: 'video', mimeType: 'video/VP8', clockRate: 90000, ssrc: SSRC_LOW, spatial: 0,
    sendRtcp: (b) => rtcp.push(parseRtcp(b)), clock: systemClock, keyframeRequestIntervalMs: 0,
  });
  receiver.addStream({ ssrc: SSRC_HIGH, spatial: 2 });
  const source = new PublishedTrackSource({
    receiver, kind: 'video', codec: { mimeType: 'video/VP8', clockRate: 90000, payloadType: 96, rtcpFeedback: [] },
    publisherExtensions: [], rids: ['q', 'f'], clock: systemClock,
  });
  const wanted: [string, string, number][] = [];
  const dyn = source.dynacast!;
  const set = dyn.setSubscriberMaxSpatial.bind(dyn);
  dyn.setSubscriberMaxSpatial = (mime, sub, spatial) => {
    wanted.push([mime, sub, spatial]);
    set(mime, sub, spatial);
  };
  const { port1, port2 } = new MessageChannel();
  const origin = new PipePeer({ peer: 1, port: port1, host: { clock: systemClock, logger: silentLogger, localSource: (id) => (id === 7 ? source : undefined) } });
  const dest = new PipePeer({ peer: 0, port: port2, host: { clock: systemClock, logger: silentLogger, localSource: () => undefined } });
  const spec: MirrorSpec = {
    worker: 0, sourceId: 7, descriptor: describeSource(source),
    state: { muted: false, videoLayers: [], width: 640, height: 360, audioFeatures: { isStereo: false, isRedDisabled: false, isEncrypted: false }, backupCodecs: [] },
    backups: [],
  };
  const h = createRtpHeader();
  const unwrappers = new Map<number, SeqUnwrapper>();
  const write = (ssrc: number, seq: number, payload: Uint8Array): Buffer => {
    const buf = serializeRtpPacket({ payloadType: 96, sequenceNumber: seq, timestamp: seq * 3000, ssrc, payload, marker: true });
    assert.ok(parseRtpHeader(buf, h));
    let u = unwrappers.get(ssrc);
    if (!u) unwrappers.set(ssrc, (u = new SeqUnwrapper()));
    receiver.writeRtp(buf, h, { extSeq: u.unwrap(seq), arrivalMs: systemClock.nowMs() });
    return buf;
  };
  const close = () => {
    origin.close();
    dest.close();
  };
  return { rtcp, receiver, source, origin, dest, spec, write, wanted, close };
}

class RecordingSender implements TrackSender {
  readonly packets: { bytes: Buffer; spatial: number; ssrc: number; isKeyframe: boolean }[] = [];
  muted: boolean[] = [];
  closed = false;
  writeRtp(buf: Uint8Array, h: RtpHeader, info: PacketInfo): void {
    this.packets.push({ bytes: Buffer.from(buf), spatial: info.spatial, ssrc: h.ssrc, isKeyframe: info.isKeyframe });
  }
  setSourceMuted(muted: boolean): void {
    this.muted.push(muted);
  }
  onSourceLayersChanged(): void {}
  close(): void {
    this.closed = true;
  }
}

/** Lets the ports deliver what is queued (a few turns: batch flush, then delivery). */
async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await nextTurn();
  await new Promise((r) => setTimeout(r, 5));
}

test('a mirror gets every packet of every simulcast stream, byte for byte, with its layer; the origin gets its key frame request', async () => {
  const s = setup();
  try {
    const mirror = s.dest.mirror(s.spec);
    assert.equal(mirror.width, 640, 'the mirror starts with the track state it was given');
    const sink = new RecordingSender();
    mirror.receiver.addSender(sink);
    await settle();
    // Opening the pipe asks the publisher for a key frame (the mirror's subscribers start at one).
    assert.ok(s.rtcp.flat().some((p) => p.type === 'pli'), 'a PLI went to the publisher when the pipe opened');
    assert.equal(s.receiver.senderCount, 1, 'the origin receiver feeds the pipe');

    const sent: Buffer[] = [];
    sent.push(s.write(SSRC_HIGH, 10, VP8_KEY));
    sent.push(s.write(SSRC_LOW, 500, VP8_KEY));
    sent.push(s.write(SSRC_HIGH, 11, VP8_DELTA));
    sent.push(s.write(SSRC_LOW, 501, VP8_DELTA));
    await settle();
    assert.deepEqual(sink.packets.map((p) => p.bytes), sent, 'the same bytes, in order');
    assert.deepEqual(sink.packets.map((p) => [p.ssrc, p.spatial]), [[SSRC_HIGH, 2], [SSRC_LOW, 0], [SSRC_HIGH, 2], [SSRC_LOW, 0]]);
    assert.deepEqual(sink.packets.map((p) => p.isKeyframe), [true, true, false, false], 'the mirror reads the payload itself');
    assert.equal(mirror.receiver.sourceForSpatial(2), mirror.receiver.bindStream(SSRC_HIGH, 2), 'spatial 2 is the high stream');
    assert.deepEqual(mirror.receiver.getPacket(11, mirror.receiver.sourceForSpatial(2)), sent[2], 'cached for retransmission');

    // A subscriber on the destination asks for a key frame of the high stream: the origin sends a PLI for that SSRC.
    s.rtcp.length = 0;
    mirror.receiver.requestKeyframe(mirror.receiver.sourceForSpatial(2));
    await settle();
    const plis = s.rtcp.flat().filter((p): p is Extract<RtcpPacket, { type: 'pli' }> => p.type === 'pli');
    assert.deepEqual(plis.map((p) => p.mediaSsrc), [SSRC_HIGH]);
    // Another one at once (a second subscriber there joining): the mirror relays it too; only the origin's receiver,
    // which faces the publisher, throttles (here it does not). Two throttles in a row made joiners on the other
    // worker wait for both.
    s.rtcp.length = 0;
    mirror.receiver.requestKeyframe(mirror.receiver.sourceForSpatial(2));
    await settle();
    assert.deepEqual(s.rtcp.flat().filter((p) => p.type === 'pli').length, 1, 'the mirror did not hold the second request back');

    // Dynacast: what the destination's subscribers need reaches the origin's controller.
    mirror.dynacast!.setSubscriberMaxSpatial('video/VP8', 'PA_sub', 1);
    await settle();
    assert.deepEqual(s.wanted, [['video/VP8', 'PA_sub', 1]]);

    // Mute follows the origin's receiver.
    s.source.setMuted(true);
    await settle();
    assert.equal(mirror.receiver.isMuted, true);
    assert.deepEqual(sink.muted, [true]);
  } finally {
    s.close();
  }
});

test('released mirrors stop the origin sending; an ended origin track closes the mirror and its senders', async () => {
  const s = setup();
  try {
    s.dest.mirror(s.spec);
    await settle();
    assert.equal(s.receiver.senderCount, 1);
    s.dest.releaseMirror(7);
    await settle();
    assert.equal(s.receiver.senderCount, 0, 'nobody on the destination: the origin stops copying');
    assert.equal(s.dest.mirrorCount, 0);

    const mirror = s.dest.mirror(s.spec);
    const sink = new RecordingSender();
    mirror.receiver.addSender(sink);
    await settle();
    s.write(SSRC_LOW, 1, VP8_KEY);
    s.source.close();
    await settle();
    assert.equal(sink.packets.length, 1, 'the packet written before the end arrives first');
    assert.equal(sink.closed, true, 'the mirror closed with the track');
    assert.equal(s.dest.mirrorCount, 0);
  } finally {
    s.close();
  }
});

test('a pipe to a track that already ended is refused: the mirror closes at once', async () => {
  const s = setup();
  try {
    const mirror = s.dest.mirror({ ...s.spec, sourceId: 99 });
    const sink = new RecordingSender();
    mirror.receiver.addSender(sink);
    await settle();
    assert.equal(sink.closed, true);
    assert.equal(s.dest.mirrorCount, 0);
  } finally {
    s.close();
  }
});

test("the publisher's sender reports reach the mirror, on the stream of their SSRC (a down track's SRs need them)", async () => {
  const s = setup();
  try {
    const mirror = s.dest.mirror(s.spec);
    await settle();
    const wallMs = Date.now();
    s.receiver.handleRtcp([{ type: 'sr', ssrc: SSRC_HIGH, ntpTimestamp: ntpFromWallMs(wallMs), rtpTimestamp: 123456, packetCount: 1, octetCount: 1, reports: [] }]);
    // Passed on by the origin's SR check (every 250 ms), before any packet of that stream reached the mirror.
    await new Promise((r) => setTimeout(r, 400));
    const high = mirror.receiver.sourceForSpatial(2);
    assert.ok(high >= 0, 'the SR bound the high stream with its layer');
    const sr = mirror.receiver.senderReportMapping(high);
    assert.equal(sr?.rtpTimestamp, 123456);
    assert.ok(Math.abs((sr?.ntpWallMs ?? 0) - wallMs) < 2, `ntp wall ms ${sr?.ntpWallMs} vs ${wallMs}`);
  } finally {
    s.close();
  }
});
