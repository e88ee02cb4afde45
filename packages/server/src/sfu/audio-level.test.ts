import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRtpHeader, parseRtpHeader, serializeRtpPacket } from '@atrium/webrtc/rtp/index.js';
import { ManualClock } from '@atrium/webrtc/clock.js';
import { AudioLevelMeter, linearAudioLevel, readAudioLevel } from './audio-level.js';
import { Receiver } from './receiver.js';

const OPUS_STEP = 960; // 20 ms at 48 kHz

function opusPacket(seq: number, level: number | undefined, opts: { voice?: boolean; extId?: number } = {}): Buffer {
  const extensions = level === undefined ? [] : [{ id: opts.extId ?? 1, value: Uint8Array.of((opts.voice ? 0x80 : 0) | level) }];
  return serializeRtpPacket({
    payloadType: 111,
    sequenceNumber: seq,
    timestamp: seq * OPUS_STEP,
    ssrc: 0x1111,
    marker: false,
    extensions,
    payload: Buffer.alloc(40, 1),
  });
}

test('linear level is 10^(-dBov/20)', () => {
  assert.equal(linearAudioLevel(0), 1);
  assert.ok(Math.abs(linearAudioLevel(20) - 0.1) < 1e-12);
  assert.ok(Math.abs(linearAudioLevel(35) - 0.01778) < 1e-4);
});

test('readAudioLevel takes the 7-bit level and ignores the V bit; -1 without the extension', () => {
  const h = createRtpHeader();
  const withVoice = opusPacket(1, 30, { voice: true, extId: 3 });
  assert.ok(parseRtpHeader(withVoice, h));
  assert.equal(readAudioLevel(withVoice, h, 3), 30);
  assert.equal(readAudioLevel(withVoice, h, 1), -1);
  const bare = opusPacket(2, undefined);
  assert.ok(parseRtpHeader(bare, h));
  assert.equal(readAudioLevel(bare, h, 1), -1);
});

test('a loud window reads as speaking, smoothed toward the level; silence and staleness drop it to 0', () => {
  const meter = new AudioLevelMeter({ clockRate: 48_000 });
  let ts = 0;
  let nowMs = 0;
  const feed = (level: number, packets: number): void => {
    for (let i = 0; i < packets; i++) {
      meter.observePacket(level, ts, nowMs);
      ts += OPUS_STEP;
      nowMs += 20;
    }
  };
  feed(20, 1); // time base only
  feed(20, 20); // one full 400 ms window at -20 dBov
  const first = meter.speakingLevel(nowMs);
  // Smoothing over 2 windows: factor 2/3 of the way from 0 to 0.1.
  assert.ok(Math.abs(first - 0.1 * (2 / 3)) < 1e-9, `first window ${first}`);
  feed(20, 20);
  const second = meter.speakingLevel(nowMs);
  assert.ok(second > first && second < 0.1, `second window ${second}`);
  feed(127, 20); // a silent window resets
  assert.equal(meter.speakingLevel(nowMs), 0);
  feed(10, 40);
  assert.ok(meter.speakingLevel(nowMs) > 0);
  assert.equal(meter.speakingLevel(nowMs + 800), 0, 'no packets for two windows: silent');
});

test('speech in less than minPercentile of a window does not count; quieter than activeLevel never does', () => {
  const meter = new AudioLevelMeter({ clockRate: 48_000 });
  let ts = 0;
  meter.observePacket(127, ts, 0);
  for (let i = 0; i < 20; i++) meter.observePacket(i < 7 ? 10 : 127, (ts += OPUS_STEP), i * 20); // 140 ms of 400
  assert.equal(meter.speakingLevel(400), 0);
  for (let i = 0; i < 40; i++) meter.observePacket(50, (ts += OPUS_STEP), 400 + i * 20); // -50 dBov: too quiet
  assert.equal(meter.speakingLevel(1200), 0);
});

test('Receiver feeds the meter from the negotiated extension id only', () => {
  const clock = new ManualClock();
  const receiver = new Receiver({ kind: 'audio', mimeType: 'audio/opus', clockRate: 48_000, sendRtcp: () => {}, clock });
  const h = createRtpHeader();
  const write = (seq: number, extId: number): void => {
    const p = opusPacket(seq, 5, { extId });
    assert.ok(parseRtpHeader(p, h));
    receiver.writeRtp(p, h);
    clock.advance(20);
  };
  write(0, 1);
  assert.equal(receiver.audioLevel?.packetsObserved, 0, 'no id set: not read');
  receiver.setAudioLevelExtensionId(1);
  for (let seq = 1; seq <= 30; seq++) write(seq, 1);
  assert.ok((receiver.audioLevel?.speakingLevel(clock.nowMs()) ?? 0) > 0.3);
  receiver.close();
  const video = new Receiver({ kind: 'video', mimeType: 'video/VP8', clockRate: 90_000, sendRtcp: () => {}, clock });
  assert.equal(video.audioLevel, null);
  video.close();
});
