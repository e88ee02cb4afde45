// The encoder against Debian's ffmpeg: fixed-rate raw video and PCM in, a finished MP4 (H.264 + AAC) or OGG (Opus)
// out with the duration of what was written; a missing binary or a killed ffmpeg is reported, never thrown.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { silentLogger as silent } from '@atrium/webrtc';
import { CompositeEncoder } from './composite-encoder.js';
import type { CompositeEncoding } from './composite-request.js';
import { fillRect, newFrame, rgbToYuv } from './i420.js';

const FFMPEG = 'ffmpeg';

async function probe(path: string): Promise<{ streams: string[]; duration: number }> {
  const { stdout } = await promisify(execFile)('ffprobe', ['-v', 'error', '-show_entries', 'stream=codec_name,width,height,nb_frames:format=duration', '-of', 'json', path]);
  const j = JSON.parse(stdout) as { streams: { codec_name: string; width?: number; height?: number; nb_frames?: string }[]; format: { duration: string } };
  return { streams: j.streams.map((s) => (s.width ? `${s.codec_name} ${s.width}x${s.height} ${s.nb_frames}` : s.codec_name)), duration: Number(j.format.duration) };
}

const video = { width: 320, height: 180, fps: 30, bitrateKbps: 500, keyFrameIntervalSec: 1, profile: 'main' as const };

test('two seconds of frames (ten missing) and PCM become an MP4 of two seconds (H.264 + AAC) with about 60 frames', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'atrium-enc-'));
  try {
    const encoding: CompositeEncoding = { container: { extension: '.mp4', muxer: 'mp4' }, video, audio: { codec: 'aac', bitrateKbps: 64, sampleRate: 48_000 } };
    const out = join(dir, 'x.mp4');
    const enc = await CompositeEncoder.start({ ffmpegPath: FFMPEG, encoding, outputPath: out, logger: silent });
    const frame = newFrame(320, 180);
    fillRect(frame, { x: 0, y: 0, width: 320, height: 180 }, rgbToYuv(200, 30, 30));
    const pcm = Buffer.alloc(960 * 4);
    // 60 frames and 100 chunks of 20 ms, written as the pipes take them
    let frames = 0;
    let chunks = 0;
    while (frames < 60 || chunks < 100) {
      if (frames < 60 && enc.canWriteVideo()) {
        // frames 20-29 never handed over (the encoder "behind"): the file repeats frame 19 in their place
        if (frames < 20 || frames >= 30) enc.writeVideo(frame.data, (frames * 1000) / 30);
        frames++;
      }
      if (chunks < 100 && enc.canWriteAudio()) {
        enc.writeAudio(pcm, chunks * 20);
        chunks++;
      }
      await new Promise((r) => setTimeout(r, 2));
    }
    const exit = await enc.stop();
    assert.equal(exit.code, 0, exit.tail);
    const p = await probe(out);
    // 60 frames give or take one (millisecond timestamps, rounded onto the 30 fps grid)
    assert.match(p.streams[0] ?? '', /^h264 320x180 (59|60|61)$/);
    assert.equal(p.streams[1], 'aac');
    assert.ok(Math.abs(p.duration - 2) < 0.1, `duration ${p.duration}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('audio only to OGG (Opus)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'atrium-enc-'));
  try {
    const out = join(dir, 'a.ogg');
    const enc = await CompositeEncoder.start({ ffmpegPath: FFMPEG, encoding: { container: { extension: '.ogg', muxer: 'ogg' }, audio: { codec: 'opus', bitrateKbps: 64, sampleRate: 48_000 } }, outputPath: out, logger: silent });
    assert.equal(enc.canWriteVideo(), false);
    for (let i = 0; i < 50; i++) enc.writeAudio(Buffer.alloc(960 * 4), i * 20);
    const exit = await enc.stop();
    assert.equal(exit.code, 0, exit.tail);
    const p = await probe(out);
    assert.deepEqual(p.streams, ['opus']);
    assert.ok(Math.abs(p.duration - 1) < 0.1, `duration ${p.duration}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a missing binary and a killed ffmpeg are reported in `exited`, and writes after them are ignored', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'atrium-enc-'));
  try {
    const encoding: CompositeEncoding = { container: { extension: '.mp4', muxer: 'mp4' }, video, audio: { codec: 'aac', bitrateKbps: 64, sampleRate: 48_000 } };
    const missing = await CompositeEncoder.start({ ffmpegPath: join(dir, 'no-ffmpeg'), encoding, outputPath: join(dir, 'm.mp4'), logger: silent });
    const m = await missing.exited;
    assert.match(m.spawnError ?? '', /ENOENT/);
    missing.writeVideo(Buffer.alloc(10), 0);
    const enc = await CompositeEncoder.start({ ffmpegPath: FFMPEG, encoding, outputPath: join(dir, 'k.mp4'), logger: silent });
    enc.kill();
    const k = await enc.exited;
    assert.equal(k.signal, 'SIGKILL');
    assert.equal(enc.isRunning, false);
    enc.writeAudio(Buffer.alloc(10), 0);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
