import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { LocalSender } from '@atrium/webrtc/pc/local-sender.js';
import { createRtpHeader, parseRtpHeader } from '@atrium/webrtc/rtp/index.js';
import { findHeaderExtension } from '@atrium/webrtc/rtp/header-extensions.js';
import { AudioSource } from './media-source.js';
import { extensionBlock } from './packetizer.js';

test('an audio source talks (a frame every 20 ms at level 30) or is silent (Opus DTX: a frame every 400 ms at level 127)', () => {
  const sent: Buffer[] = [];
  const sender = { ssrc: 0x1234, payloadType: 111, mid: '0', sendRtp: (b: Buffer) => void sent.push(Buffer.from(b)) } as unknown as LocalSender;
  const source = new AudioSource(sender);
  source.configure({ mid: 0, rid: 0, audioLevel: 1, transportCc: 0, absSendTime: 0 }, (ids, mid, rid, level) => extensionBlock(ids, mid, rid, level));
  const h = createRtpHeader();
  const read = (b: Buffer) => {
    assert.ok(parseRtpHeader(b, h));
    const at = findHeaderExtension(b, h, 1);
    return { seq: h.sequenceNumber, ts: h.timestamp, level: at >= 0 ? b[at]! & 0x7f : -1, size: h.payloadLength };
  };
  const run = (fromMs: number, toMs: number): void => {
    for (let t = fromMs; t <= toMs; t += 10) source.tick(t);
  };
  run(1000, 1990);
  assert.equal(sent.length, 50, 'talking: 50 frames a second');
  assert.ok(sent.every((b) => read(b).level === 30));
  source.setTalking(false);
  assert.equal(source.isTalking, false);
  const before = sent.length;
  run(2000, 3990);
  const dtx = sent.slice(before).map(read);
  assert.equal(dtx.length, 5, 'silent: a frame every 400 ms, 5 in 2 s');
  assert.ok(dtx.every((p) => p.level === 127 && p.size < 30), 'at the level of silence, small');
  for (let i = 1; i < dtx.length; i++) {
    assert.equal((dtx[i]!.seq - dtx[i - 1]!.seq) & 0xffff, 1, 'sequence numbers stay contiguous (no loss to a receiver)');
    assert.equal((dtx[i]!.ts - dtx[i - 1]!.ts) >>> 0, 400 * 48, 'the RTP clock moves on by 400 ms');
  }
  source.setTalking(true);
  const resumed = sent.length;
  run(4000, 4990);
  assert.equal(sent.length - resumed, 50);
  assert.equal(read(sent[sent.length - 1]!).level, 30);
  assert.equal(source.framesSent, sent.length);
});
