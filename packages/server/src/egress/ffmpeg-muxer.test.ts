// The muxer with Debian's ffmpeg (no WebRTC): Opus RTP in, a finalized OGG out on stop; a killed or missing ffmpeg
// gives a reason, never a throw at the caller.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRtpHeader, parseRtpHeader, serializeRtpPacket, silentLogger } from '@atrium/webrtc';
import { FfmpegMuxer } from './ffmpeg-muxer.js';
import { RtpRelay } from './rtp-relay.js';
import { containerForMime } from './track-container.js';
import type { TrackContainer } from './track-container.js';

const opus: TrackContainer = containerForMime('audio/opus')!;
const start = (outputPath: string, ffmpegPath = 'ffmpeg') => FfmpegMuxer.start({ ffmpegPath, formats: [opus], container: opus, outputPath, logger: silentLogger });

test('Opus RTP -> OGG: stop finalizes the file (ffprobe reads its duration)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'atrium-muxer-'));
  try {
    const out = join(dir, 'sub', 'a.ogg');
    const muxer = await start(out);
    const relay = new RtpRelay({ mimeType: 'audio/opus', clockRate: 48000, port: muxer.ports[0]! });
    const h = createRtpHeader();
    let seq = 0;
    // 20 ms packets in real time (ffmpeg timestamps from RTP, but its reads follow arrival) until the stop is done
    const timer = setInterval(() => {
      // TOC 0xfc: CELT fullband 20 ms stereo, one frame; an empty frame is a valid (silent) packet
      const buf = serializeRtpPacket({ payloadType: 111, sequenceNumber: seq, timestamp: seq * 960, ssrc: 7, payload: Buffer.from([0xfc]) });
      seq++;
      parseRtpHeader(buf, h);
      relay.handle(buf, h);
    }, 20);
    await new Promise((r) => setTimeout(r, 1_500));
    const exit = await muxer.stop();
    clearInterval(timer);
    relay.close();
    assert.deepEqual(exit, { isClean: true, reason: '' });
    assert.ok(statSync(out).size > 0);
    const duration = Number(execFileSync('ffprobe', ['-v', 'error', '-show_entries', 'format=duration', '-of', 'csv=p=0', out], { encoding: 'utf8' }));
    assert.ok(Math.abs(duration - relay.durationMs / 1000) < 0.1, `file ${duration} s, relay ${relay.durationMs} ms`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a killed ffmpeg: exited unexpectedly with the signal', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'atrium-muxer-'));
  try {
    const muxer = await start(join(dir, 'b.ogg'));
    muxer.kill();
    const exit = await muxer.exited;
    assert.equal(exit.isClean, false);
    assert.match(exit.reason, /^ffmpeg exited unexpectedly \(signal SIGKILL\)/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('no ffmpeg at the configured path: start rejects with a clear reason', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'atrium-muxer-'));
  try {
    await assert.rejects(
      start(join(dir, 'c.ogg'), join(dir, 'no-ffmpeg')),
      /ffmpeg could not start: spawn .*no-ffmpeg ENOENT/,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a silent stretch longer than any timeout keeps its duration; a stop while silent finalizes at once (wake)', { timeout: 40_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'atrium-muxer-'));
  try {
    const out = join(dir, 'mute.ogg');
    const muxer = await start(out);
    const relay = new RtpRelay({ mimeType: 'audio/opus', clockRate: 48000, port: muxer.ports[0]! });
    const h = createRtpHeader();
    let seq = 0;
    const t0 = performance.now();
    const sendFor = async (ms: number): Promise<void> => {
      const end = performance.now() + ms;
      while (performance.now() < end) {
        // timestamps follow the wall clock, as a sender's do across a mute
        const ts = Math.round(((performance.now() - t0) / 1000) * 48000);
        const buf = serializeRtpPacket({ payloadType: 111, sequenceNumber: seq++, timestamp: ts, ssrc: 7, payload: Buffer.from([0xfc]) });
        parseRtpHeader(buf, h);
        relay.handle(buf, h);
        await new Promise((r) => setTimeout(r, 20));
      }
    };
    await sendFor(1_000);
    // 11 s of nothing: longer than ffmpeg's former 10 s input timeout
    await new Promise((r) => setTimeout(r, 11_000));
    await sendFor(1_000);
    await new Promise((r) => setTimeout(r, 1_000));
    const stopAt = performance.now();
    const exit = await muxer.stop(() => relay.wake());
    const stopMs = performance.now() - stopAt;
    relay.close();
    assert.deepEqual(exit, { isClean: true, reason: '' });
    assert.ok(stopMs < 3_000, `finalized ${stopMs.toFixed(0)} ms after the stop`);
    const duration = Number(execFileSync('ffprobe', ['-v', 'error', '-show_entries', 'format=duration', '-of', 'csv=p=0', out], { encoding: 'utf8' }));
    assert.ok(Math.abs(duration - 13) < 0.5, `file ${duration} s for 13 s of sending with an 11 s silence`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a full disk: ffmpeg says so (it would exit 0), the muxer reports it at once and its exit is not clean', async () => {
  // a 8 KiB tmpfs (root, as the e2e network tests): the SDP fits, the recording does not
  const dir = mkdtempSync(join(tmpdir(), 'atrium-muxer-full-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=8k', 'tmpfs', dir]);
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    assert.fail(`this test mounts a small tmpfs and needs root: ${(err as Error).message}`);
  }
  try {
    const muxer = await start(join(dir, 'full.ogg'));
    let said: string | undefined;
    muxer.onWriteError = (line) => (said = line);
    const relay = new RtpRelay({ mimeType: 'audio/opus', clockRate: 48000, port: muxer.ports[0]! });
    const h = createRtpHeader();
    let seq = 0;
    const timer = setInterval(() => {
      // large packets (a TOC and 600 bytes copied as they are) fill the disk within a second
      const buf = serializeRtpPacket({ payloadType: 111, sequenceNumber: seq, timestamp: seq * 960, ssrc: 7, payload: Buffer.concat([Buffer.from([0xfc]), Buffer.alloc(600, 0x55)]) });
      seq++;
      parseRtpHeader(buf, h);
      relay.handle(buf, h);
    }, 10);
    const deadline = Date.now() + 15_000;
    while (said === undefined && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    const exit = await muxer.stop();
    clearInterval(timer);
    relay.close();
    assert.match(said ?? '', /No space left on device/);
    assert.equal(exit.isClean, false);
    assert.match(exit.reason, /^ffmpeg could not write its output: .*No space left on device/);
  } finally {
    execFileSync('umount', [dir]);
    rmSync(dir, { recursive: true, force: true });
  }
});
