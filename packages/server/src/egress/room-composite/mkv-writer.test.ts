// The Matroska stream against Debian's ffprobe: it must read our header and blocks with the right streams and times.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { MkvWriter } from './mkv-writer.js';

test('ffprobe reads raw I420 video and PCM with their timestamps, across clusters, with a gap where a frame is missing', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'atrium-mkv-'));
  try {
    const w = new MkvWriter({ video: { width: 64, height: 36 }, audio: { sampleRate: 48_000, channels: 2 } });
    const parts: Buffer[] = [w.header()];
    const frame = Buffer.alloc(64 * 36 * 1.5, 0x80);
    // 12 s: video at 10 fps with frame 25 missing, audio in 100 ms chunks
    for (let ms = 0; ms < 12_000; ms += 100) {
      if (ms !== 2_500) parts.push(...w.block(w.videoTrack!, ms, frame));
      parts.push(...w.block(w.audioTrack!, ms, Buffer.alloc(4800 * 4)));
    }
    const path = join(dir, 'x.mkv');
    writeFileSync(path, Buffer.concat(parts));
    const { stdout } = await promisify(execFile)('ffprobe', ['-v', 'error', '-show_entries', 'packet=stream_index,pts_time', '-show_entries', 'stream=codec_name,width,height,pix_fmt,sample_rate,channels', '-of', 'json', path], { maxBuffer: 64 << 20 });
    const j = JSON.parse(stdout) as { streams: Record<string, unknown>[]; packets: { stream_index: number; pts_time: string }[] };
    assert.equal(j.streams[0]!['codec_name'], 'rawvideo');
    assert.deepEqual([j.streams[0]!['width'], j.streams[0]!['height'], j.streams[0]!['pix_fmt']], [64, 36, 'yuv420p']);
    assert.equal(j.streams[1]!['codec_name'], 'pcm_s16le');
    assert.deepEqual([j.streams[1]!['sample_rate'], j.streams[1]!['channels']], ['48000', 2]);
    const videoTimes = j.packets.filter((p) => p.stream_index === 0).map((p) => Number(p.pts_time));
    assert.equal(videoTimes.length, 119);
    assert.equal(videoTimes.includes(2.5), false);
    assert.equal(videoTimes.at(-1), 11.9);
    assert.equal(j.packets.filter((p) => p.stream_index === 1).length, 120);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
