// The load tester's packets as an SFU reads them: RTP header and extensions (webrtc's parser), VP8 descriptors and key
// frames (the server's VP8 parser), Opus timing, simulcast layers by rid and SSRC, key frames on PLI, the trailer.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRtpHeader, findHeaderExtension, headerExtensionLength, parseRtpHeader } from '@atrium/webrtc';
import type { RtcpPacket, RtpHeader } from '@atrium/webrtc';
import type { LocalSender } from '@atrium/webrtc/pc/local-sender.js';
import { createVp8Descriptor, parseVp8Descriptor } from '@atrium/server/sfu/codec/vp8-descriptor.js';
import { MAX_PAYLOAD_BYTES, RtpStreamWriter, TRAILER_BYTES, Vp8Packetizer, extensionBlock, opusPacket, readTrailer } from './packetizer.js';
import type { ExtensionIds } from './packetizer.js';
import { AudioSource, VideoSource } from './media-source.js';
import { videoLayers } from './media-plan.js';

const IDS: ExtensionIds = { mid: 4, rid: 10, audioLevel: 1, transportCc: 3, absSendTime: 2 };

function parse(buf: Buffer): RtpHeader {
  const h = createRtpHeader();
  assert.ok(parseRtpHeader(buf, h), 'a valid RTP packet');
  return h;
}

function ext(buf: Buffer, h: RtpHeader, id: number): string | undefined {
  const at = findHeaderExtension(buf, h, id);
  return at < 0 ? undefined : buf.toString('latin1', at, at + headerExtensionLength(buf, h, id));
}

test('extension block: mid, rid, audio level and room for transport-cc and abs-send-time, in the one-byte form', () => {
  const w = new RtpStreamWriter({ ssrc: 0x11223344, payloadType: 96, extensions: extensionBlock(IDS, '1', 'h'), firstSeq: 65535 });
  const a = w.packet(100, 1234, true).buf;
  const b = w.packet(100, 1234, false).buf;
  const h = parse(a);
  assert.equal(h.ssrc, 0x11223344);
  assert.equal(h.payloadType, 96);
  assert.equal(h.marker, true);
  assert.equal(h.timestamp, 1234);
  assert.equal(h.payloadLength, 100);
  assert.equal(ext(a, h, IDS.mid), '1');
  assert.equal(ext(a, h, IDS.rid), 'h');
  assert.equal(headerExtensionLength(a, h, IDS.transportCc), 2);
  assert.equal(headerExtensionLength(a, h, IDS.absSendTime), 3);
  assert.equal(findHeaderExtension(a, h, IDS.audioLevel), -1, 'no audio level on video');
  assert.equal(parse(b).sequenceNumber, 0, 'sequence numbers wrap');
  assert.equal(parse(b).marker, false);
  assert.equal(w.packetsWritten, 2);
  const none = new RtpStreamWriter({ ssrc: 1, payloadType: 111, extensions: extensionBlock({ mid: 0, rid: 0, audioLevel: 0, transportCc: 0, absSendTime: 0 }, '0', '') });
  assert.equal(parse(none.packet(10, 0, false).buf).extension, false);
});

test('VP8 frames: descriptors the server parses, key frames it detects, picture ids per frame, L1T2, marker on the last packet', () => {
  const w = new RtpStreamWriter({ ssrc: 5, payloadType: 96, extensions: extensionBlock(IDS, '0', '') });
  const p = new Vp8Packetizer(1280, 720);
  const d = createVp8Descriptor();
  const frames = [
    p.frame(w, { frameBytes: 20_000, isKeyframe: true, timestamp: 9000, sentAtMs: 1000.25 }),
    p.frame(w, { frameBytes: 5000, isKeyframe: false, timestamp: 12000, sentAtMs: 1033.5 }),
    p.frame(w, { frameBytes: 300, isKeyframe: false, timestamp: 15000, sentAtMs: 1066 }),
  ];
  const pictureIds: number[] = [];
  const tids: number[] = [];
  const tl0: number[] = [];
  frames.forEach((packets, f) => {
    let vp8Bytes = 0;
    packets.forEach((buf, i) => {
      const h = parse(buf);
      assert.ok(h.payloadLength <= MAX_PAYLOAD_BYTES, 'packets stay under the MTU budget');
      assert.equal(h.marker, i === packets.length - 1, 'marker on the last packet of the frame only');
      assert.equal(h.timestamp, [9000, 12000, 15000][f]);
      assert.ok(parseVp8Descriptor(buf, h.payloadOffset, h.payloadLength, d));
      assert.equal(d.isStartOfPartition, i === 0);
      assert.equal(d.partitionIndex, 0);
      assert.equal(d.isKeyframe, f === 0 && i === 0, 'the server sees the key frame on its first packet only');
      assert.ok(d.isPictureIdLong && d.hasTl0PicIdx && d.hasTid);
      if (i === 0) {
        pictureIds.push(d.pictureId);
        tids.push(d.tid);
        tl0.push(d.tl0PicIdx);
      } else {
        assert.equal(d.pictureId, pictureIds[f], 'one picture id per frame');
      }
      vp8Bytes += h.payloadLength - d.sizeBytes;
      assert.equal(readTrailer(buf, h.payloadOffset, h.payloadLength), [1000.25, 1033.5, 1066][f]);
    });
    assert.equal(vp8Bytes, [20_000, 5000, 300][f], 'the frame size is what was asked');
  });
  assert.equal(frames[0]!.length, Math.ceil(20_000 / (MAX_PAYLOAD_BYTES - 6)));
  assert.deepEqual(pictureIds.map((x) => (x - pictureIds[0]! + 0x8000) & 0x7fff), [0, 1, 2]);
  assert.deepEqual(tids, [0, 1, 0]);
  assert.equal((tl0[2]! - tl0[0]! + 256) & 0xff, 1, 'TL0PICIDX counts base layer frames');
  assert.equal(tl0[1], tl0[0]);
  // The key frame's payload header: frame tag, start code, 1280x720.
  const key = frames[0]![0]!;
  const h = parse(key);
  const vp8 = h.payloadOffset + 6;
  assert.equal(key[vp8]! & 0x01, 0);
  assert.deepEqual([...key.subarray(vp8 + 3, vp8 + 6)], [0x9d, 0x01, 0x2a]);
  assert.equal(key.readUInt16LE(vp8 + 6), 1280);
  assert.equal(key.readUInt16LE(vp8 + 8), 720);
  assert.equal(p.keyframesWritten, 1);
  assert.equal(p.framesWritten, 3);
});

test('trailer: absent or foreign payloads read as NaN', () => {
  const w = new RtpStreamWriter({ ssrc: 5, payloadType: 111, extensions: Buffer.alloc(0) });
  const buf = opusPacket(w, { payloadBytes: 80, timestamp: 0, sentAtMs: 42.125 });
  const h = parse(buf);
  assert.equal(h.payloadLength, 80);
  assert.equal(buf[h.payloadOffset], 15 << 3, 'Opus TOC: config 15, mono, one frame');
  assert.equal(readTrailer(buf, h.payloadOffset, h.payloadLength), 42.125);
  buf[buf.length - TRAILER_BYTES] = 0;
  assert.ok(Number.isNaN(readTrailer(buf, h.payloadOffset, h.payloadLength)));
  assert.ok(Number.isNaN(readTrailer(buf, h.payloadOffset, 5)));
});

/** What the sources need of a LocalSender; records what they send. */
function fakeSender(opts: { layers?: string[] } = {}) {
  const sent: Buffer[] = [];
  const sender = {
    ssrc: 100, payloadType: 96, mid: '2',
    layers: (opts.layers ?? []).map((rid, i) => ({ rid, ssrc: 200 + i })),
    onRtcp: (_pkt: RtcpPacket) => {},
    sendRtp: (buf: Buffer) => void sent.push(buf),
  };
  return { sender: sender as unknown as LocalSender & typeof sender, sent };
}

test('Opus source: a 20 ms frame per tick interval, RTP timestamps 960 apart, audio level set, nothing before configure', () => {
  const { sender, sent } = fakeSender();
  const src = new AudioSource(sender);
  src.tick(1000);
  assert.equal(sent.length, 0, 'not configured yet');
  src.configure(IDS, (ids, mid, rid, level) => extensionBlock(ids, mid, rid, level));
  for (let t = 1000; t <= 2000; t += 5) src.tick(t);
  assert.equal(sent.length, 51, 'one second and the first frame');
  const hs = sent.map(parse);
  for (let i = 1; i < hs.length; i++) {
    assert.equal((hs[i]!.timestamp - hs[i - 1]!.timestamp) >>> 0, 960);
    assert.equal((hs[i]!.sequenceNumber - hs[i - 1]!.sequenceNumber) & 0xffff, 1);
  }
  assert.ok(hs.every((h) => h.payloadLength >= 60 && h.payloadLength <= 100), 'payloads of 60..100 bytes');
  assert.equal(sent[0]![findHeaderExtension(sent[0]!, hs[0]!, IDS.audioLevel)], 30);
  assert.equal(ext(sent[0]!, hs[0]!, IDS.mid), '2');
  src.stop();
  src.tick(3000);
  assert.equal(sent.length, 51);
});

test('simulcast video source: one SSRC and rid per layer, frame rates per layer, a key frame every 2 s, and one on PLI for that layer only', () => {
  const { sender, sent } = fakeSender({ layers: ['q', 'h', 'f'] });
  const src = new VideoSource(sender, videoLayers('high', true));
  src.configure(IDS, (ids, mid, rid) => extensionBlock(ids, mid, rid));
  const d = createVp8Descriptor();
  const keyAt = new Map<number, number[]>();
  const frames = new Map<number, number>();
  const rids = new Map<number, string | undefined>();
  const bytes = new Map<number, number>();
  let now = 10_000;
  const drain = (): void => {
    for (const buf of sent.splice(0)) {
      const h = parse(buf);
      rids.set(h.ssrc, ext(buf, h, IDS.rid));
      bytes.set(h.ssrc, (bytes.get(h.ssrc) ?? 0) + buf.length);
      if (h.marker) frames.set(h.ssrc, (frames.get(h.ssrc) ?? 0) + 1);
      parseVp8Descriptor(buf, h.payloadOffset, h.payloadLength, d);
      if (d.isKeyframe) keyAt.set(h.ssrc, [...(keyAt.get(h.ssrc) ?? []), now]);
    }
  };
  for (; now < 14_000; now += 5) {
    src.tick(now);
    drain();
  }
  assert.deepEqual([...rids.entries()].sort(), [[200, 'q'], [201, 'h'], [202, 'f']]);
  // 4 s: 15 fps for q, 30 fps for h and f (the tick at 14 000 is not run)
  assert.equal(frames.get(200), 60);
  assert.equal(frames.get(201), 120);
  assert.equal(frames.get(202), 120);
  for (const ssrc of [200, 201, 202]) assert.deepEqual(keyAt.get(ssrc), [10_000, 12_000], `layer ${ssrc}: key frames every 2 s`);
  // bitrates near the plan (150k, 500k, 1.7M; RTP headers on top)
  const kbps = (ssrc: number): number => (bytes.get(ssrc)! * 8) / 4 / 1000;
  assert.ok(kbps(200) > 150 && kbps(200) < 180, `q ${kbps(200)} kbps`);
  assert.ok(kbps(201) > 500 && kbps(201) < 560, `h ${kbps(201)} kbps`);
  assert.ok(kbps(202) > 1700 && kbps(202) < 1850, `f ${kbps(202)} kbps`);
  // a PLI for the middle layer, between periodic key frames: its next frame is a key frame, the others keep their schedule
  for (; now < 14_500; now += 5) {
    src.tick(now);
    drain();
  }
  sender.onRtcp({ type: 'pli', senderSsrc: 1, mediaSsrc: 201 });
  keyAt.clear();
  for (const end = now + 200; now < end; now += 5) {
    src.tick(now);
    drain();
  }
  assert.deepEqual([...keyAt.keys()], [201]);
  assert.equal(src.keyframeRequests, 1);
});

test('single-layer video: no rid, the sender SSRC', () => {
  const { sender, sent } = fakeSender();
  const src = new VideoSource(sender, videoLayers('high', false));
  src.configure(IDS, (ids, mid, rid) => extensionBlock(ids, mid, rid));
  src.tick(0);
  const h = parse(sent[0]!);
  assert.equal(h.ssrc, 100);
  assert.equal(findHeaderExtension(sent[0]!, h, IDS.rid), -1);
});
