// Output plans (LiveKit's names and defaults), ffmpeg arguments, stream key redaction and playlists; then the real
// thing with Debian's ffmpeg: a synthetic H.264/AAC encode through trackOutputArgs writing an MP4, HLS segments with a
// live playlist, JPEG images and an RTMP stream (StreamFanout to an ffmpeg listening for RTMP), collected into results.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EncodedFileOutput, EncodedFileType, EncodingOptions, EncodingOptionsPreset, ImageOutput, S3Upload, SegmentedFileOutput, StreamOutput } from '@livekit/protocol';
import { silentLogger } from '@atrium/webrtc';
import { errorOf, startRtmpReceiver } from './egress-testing.js';
import { encodingSettings, ffmpegOutputArgs, H264_720P_30, livePlaylist, normalizeOutputs, parsePlaylist, redactStreamUrl } from './egress-outputs.js';
import type { NormalizeContext, OutputsRequest } from './egress-outputs.js';
import type { EgressJob } from './egress-manager.js';
import { OutputCollector } from './output-collector.js';
import { s3Location } from './s3-upload.js';
import { StreamFanout } from './stream-fanout.js';
import { trackOutputArgs } from './track-recorder.js';

const NOW = new Date(Date.UTC(2026, 11, 5, 14, 3, 9));
const ctx = (baseDir = '/rec'): NormalizeContext => ({
  baseDir,
  values: { roomName: 'demo', roomId: 'RM_x', trackId: 'TR_v', trackSource: 'camera', trackType: 'video', publisherIdentity: 'alice', now: NOW },
  stem: 'demo',
  fileContainer: () => ({ extension: '.mp4', muxer: 'mp4' }),
  defaultUpload: undefined,
});
const req = (r: Partial<OutputsRequest>): OutputsRequest => ({ output: { case: undefined }, fileOutputs: [], streamOutputs: [], segmentOutputs: [], imageOutputs: [], ...r });
const code = errorOf;

test('segments: LiveKit names (playlist from the prefix or generated, live playlist only when named, 4 s)', () => {
  const a = normalizeOutputs(req({ segmentOutputs: [new SegmentedFileOutput({})] }), ctx()).segments!;
  assert.deepEqual([a.playlistName, a.livePlaylistName, a.segmentPrefix, a.segmentDurationSec], ['demo-2026-12-05T140309.m3u8', undefined, 'demo-2026-12-05T140309', 4]);
  const b = normalizeOutputs(req({ output: { case: 'segments', value: new SegmentedFileOutput({ filenamePrefix: 'hls/{room_name}/seg', playlistName: 'hls/{room_name}/index.m3u8', livePlaylistName: 'live', segmentDuration: 2 }) } }), ctx()).segments!;
  assert.deepEqual([b.playlistName, b.livePlaylistName, b.segmentPrefix, b.segmentDurationSec], ['hls/demo/index.m3u8', 'hls/demo/live.m3u8', 'hls/demo/seg', 2]);
  assert.match(code(() => normalizeOutputs(req({ segmentOutputs: [new SegmentedFileOutput({ playlistName: 'hls/index.m3u8', livePlaylistName: 'other/live.m3u8' })] }), ctx())), /same directory/);
  const c = normalizeOutputs(req({ segmentOutputs: [new SegmentedFileOutput({ playlistName: 'hls/index.m3u8', livePlaylistName: 'hls/live.m3u8' })] }), ctx()).segments!;
  assert.deepEqual([c.playlistName, c.livePlaylistName, c.segmentPrefix], ['hls/index.m3u8', 'hls/live.m3u8', 'hls/index']);
  assert.match(code(() => normalizeOutputs(req({ segmentOutputs: [new SegmentedFileOutput({ playlistName: 'p', livePlaylistName: 'p.m3u8' })] }), ctx())), /cannot be identical/);
  assert.match(code(() => normalizeOutputs(req({ segmentOutputs: [new SegmentedFileOutput({ segmentDuration: 99 })] }), ctx())), /segment_duration/);
  assert.match(code(() => normalizeOutputs(req({ segmentOutputs: [new SegmentedFileOutput({}), new SegmentedFileOutput({})] }), ctx())), /one segments output at most/);
});

test('files, images, streams and uploads normalized; bad ones refused', () => {
  const p = normalizeOutputs(req({
    fileOutputs: [new EncodedFileOutput({ filepath: '../../{room_name}/x.webm', fileType: EncodedFileType.MP4, output: { case: 's3', value: new S3Upload({ bucket: 'b' }) } })],
    imageOutputs: [new ImageOutput({ filenamePrefix: 'img/{publisher_identity}.jpeg' })],
    streamOutputs: [new StreamOutput({ urls: ['rtmp://127.0.0.1:1935/live/k1', 'rtmps://a.example/app/k2'] })],
  }), ctx());
  assert.deepEqual([p.file?.filename, p.file?.localPath, p.file?.upload?.bucket], ['demo/x.mp4', '/rec/demo/x.mp4', 'b']);
  assert.deepEqual([p.image?.prefix, p.image?.intervalSec, p.image?.suffix], ['img/alice', 10, 'index']);
  assert.deepEqual(p.stream?.urls, ['rtmp://127.0.0.1:1935/live/k1', 'rtmps://a.example/app/k2']);
  assert.equal(normalizeOutputs(req({ imageOutputs: [new ImageOutput({})] }), { ...ctx(), defaultUpload: new S3Upload({ bucket: 'cfg' }) }).image?.upload?.bucket, 'cfg');
  assert.match(code(() => normalizeOutputs(req({}), ctx())), /^invalid_argument: an output is required/);
  assert.match(code(() => normalizeOutputs(req({ streamOutputs: [new StreamOutput({ urls: ['rtmp://h/a/k', 'rtmp://h/a/k'] })] }), ctx())), /same stream url twice/);
  assert.match(code(() => normalizeOutputs(req({ streamOutputs: [new StreamOutput({ urls: ['not a url'] })] }), ctx())), /is not a URL/);
  assert.match(code(() => normalizeOutputs(req({ imageOutputs: [new ImageOutput({ captureInterval: 0, width: 100, height: 3 })] }), ctx())), /image width and height/);
  assert.match(code(() => normalizeOutputs(req({ fileOutputs: [new EncodedFileOutput({ output: { case: 'azure', value: {} as never } })] }), ctx())), /^unimplemented: upload to azure/);
});

test('encoding options: presets and advanced settings, bad values refused', () => {
  assert.deepEqual(encodingSettings({ case: undefined }), H264_720P_30);
  assert.deepEqual(encodingSettings({ case: 'preset', value: EncodingOptionsPreset.H264_1080P_60 }), { ...H264_720P_30, width: 1920, height: 1080, framerate: 60, videoBitrateKbps: 6000 });
  const adv = encodingSettings({ case: 'advanced', value: new EncodingOptions({ width: 640, height: 360, framerate: 25, videoBitrate: 800, keyFrameInterval: 1 }) });
  assert.deepEqual([adv.width, adv.height, adv.framerate, adv.videoBitrateKbps, adv.keyFrameIntervalSec, adv.audioBitrateKbps], [640, 360, 25, 800, 1, 128]);
  assert.match(code(() => encodingSettings({ case: 'advanced', value: new EncodingOptions({ width: 641 }) })), /^invalid_argument: advanced encoding: width/);
  assert.match(code(() => encodingSettings({ case: 'advanced', value: new EncodingOptions({ videoCodec: 4 }) })), /^unimplemented: only H.264/);
});

test('stream keys are masked in results and logs; S3 locations', () => {
  assert.equal(redactStreamUrl('rtmp://a.rtmp.youtube.com/live2/abcd-efgh-ijkl'), 'rtmp://a.rtmp.youtube.com/live2/{a...l}');
  assert.equal(redactStreamUrl('rtmps://user:pass@host:443/app/k'), 'rtmps://{auth}@host:443/app/{...}');
  assert.equal(redactStreamUrl('rtmp://host/app/keyname?secret=1'), 'rtmp://host/app/{k...e}');
  assert.ok(!redactStreamUrl('rtmp://host/live/supersecretkey').includes('supersecret'));
  assert.equal(s3Location(new S3Upload({ bucket: 'b', endpoint: 'http://127.0.0.1:4569/', forcePathStyle: true }), 'a b/c.mp4'), 'http://127.0.0.1:4569/b/a%20b/c.mp4');
  assert.equal(s3Location(new S3Upload({ bucket: 'b', region: 'eu-west-1' }), 'x.mp4'), 'https://b.s3.eu-west-1.amazonaws.com/x.mp4');
});

test('playlists: parsed, and the live playlist keeps the last segments', () => {
  const segs = parsePlaylist('#EXTM3U\n#EXT-X-TARGETDURATION:4\n#EXTINF:4.000000,\na_00000.ts\n#EXTINF:4.0,\na_00001.ts\n#EXTINF:3.5,\na_00002.ts\n#EXTINF:4,\na_00003.ts\n#EXT-X-ENDLIST\n');
  assert.deepEqual(segs.map((s) => s.name), ['a_00000.ts', 'a_00001.ts', 'a_00002.ts', 'a_00003.ts']);
  const live = livePlaylist(segs, 3, false);
  assert.match(live, /#EXT-X-MEDIA-SEQUENCE:1\n/);
  assert.ok(!live.includes('a_00000.ts') && live.includes('a_00003.ts') && !live.includes('ENDLIST'));
  assert.match(livePlaylist(segs, 3, true), /#EXT-X-ENDLIST\n$/);
});

test('ffmpeg args: one output without tee, several through tee (escaped), images as their own output', () => {
  const one = normalizeOutputs(req({ fileOutputs: [new EncodedFileOutput({ filepath: 'a' })] }), ctx());
  assert.deepEqual(ffmpegOutputArgs(one, { videoInput: '0:0' }), ['-f', 'mp4', '-movflags', '+faststart', '-y', '/rec/a.mp4']);
  const all = normalizeOutputs(req({ fileOutputs: [new EncodedFileOutput({ filepath: 'a' })], segmentOutputs: [new SegmentedFileOutput({ filenamePrefix: 'h/s' })], streamOutputs: [new StreamOutput({ urls: ['rtmp://h/a/k'] })], imageOutputs: [new ImageOutput({ captureInterval: 5, width: 320, height: 180 })] }), ctx());
  const args = ffmpegOutputArgs(all, { videoInput: '0:0' });
  assert.equal(args[args.indexOf('-f') + 1], 'tee');
  assert.equal(args[3], '[f=mp4:movflags=+faststart]/rec/a.mp4|[f=hls:hls_time=4:hls_list_size=0:hls_segment_filename=/rec/h/s_%05d.ts:hls_flags=independent_segments]/rec/h/s.m3u8|[f=mpegts]pipe\\:1');
  assert.deepEqual(args.slice(4, 10), ['-map', '0:0', '-an', '-vf', 'fps=1/5,scale=320:180', '-c:v']);
  assert.equal(args.at(-1), '/rec/demo-2026-12-05T140309_%05d.jpeg');
});

test('real ffmpeg: one encode writes MP4, HLS (+ live playlist), JPEGs and an RTMP stream; a dead RTMP URL fails alone', { timeout: 60_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'atrium-outputs-'));
  try {
    const flv = join(dir, 'received.flv');
    const rtmp = await startRtmpReceiver(flv);
    const plan = normalizeOutputs(req({
      fileOutputs: [new EncodedFileOutput({ filepath: 'rec/{room_name}' })],
      segmentOutputs: [new SegmentedFileOutput({ filenamePrefix: 'hls/seg', playlistName: 'hls/index.m3u8', livePlaylistName: 'hls/live.m3u8', segmentDuration: 1 })],
      streamOutputs: [new StreamOutput({ urls: [rtmp.url] })],
      imageOutputs: [new ImageOutput({ captureInterval: 1, width: 160, height: 90, filenamePrefix: 'img/snap' })],
    }), ctx(dir));
    const settings = { ...H264_720P_30, width: 320, height: 180, videoBitrateKbps: 300, keyFrameIntervalSec: 1 };
    const job: EgressJob = {
      egressId: 'EG_t', roomName: 'demo', localPath: plan.file!.localPath, plan, transcode: settings, container: { extension: '.mp4', muxer: 'mp4' },
      tracks: [{ trackSid: 'TR_v', kind: 'video', format: { encodingName: 'VP8', clockRate: 90000 } }, { trackSid: 'TR_a', kind: 'audio', format: { encodingName: 'opus', clockRate: 48000, channels: 2 } }],
    };
    for (const d of ['rec', 'hls', 'img']) execFileSync('mkdir', ['-p', join(dir, d)]);
    const encoder = spawn('ffmpeg', ['-v', 'error', '-re', '-t', '4', '-f', 'lavfi', '-i', 'testsrc2=size=320x180:rate=30[out0];sine=f=440:sample_rate=48000[out1]', ...trackOutputArgs(job)], { stdio: ['ignore', 'pipe', 'inherit'] });
    const fanout = new StreamFanout({ ffmpegPath: 'ffmpeg', logger: silentLogger, nowMs: () => Date.now() });
    fanout.attach(encoder.stdout);
    fanout.add(rtmp.url);
    fanout.add('rtmp://127.0.0.1:1/live/deadkey');
    const collector = new OutputCollector(plan, silentLogger);
    collector.start();
    const code = await new Promise((r) => encoder.once('exit', r));
    assert.equal(code, 0);
    await fanout.close();
    await rtmp.done;
    const r = await collector.finish();
    assert.equal(r.error, undefined);
    const streams = fanout.results();
    assert.deepEqual(streams.map((s) => [s.url, s.status]), [[rtmp.url.replace(/streamkey\d+$/, (k) => `{s...${k.slice(-1)}}`), 1], ['rtmp://127.0.0.1:1/live/{d...y}', 2]]);
    assert.match(streams[1]!.error, /Connection refused|stream ended/);
    assert.ok((r.file?.sizeBytes ?? 0) > 10_000);
    assert.ok((r.segments?.segmentCount ?? 0) >= 3, JSON.stringify(r.segments));
    assert.ok(Math.abs((r.segments?.durationMs ?? 0) - 4000) < 500, JSON.stringify(r.segments));
    assert.ok((r.imageCount ?? 0) >= 3, String(r.imageCount));
    const live = readFileSync(join(dir, 'hls/live.m3u8'), 'utf8');
    assert.match(live, /#EXT-X-ENDLIST/);
    assert.ok(parsePlaylist(live).length <= 3);
    assert.ok(existsSync(join(dir, 'hls/seg_00000.ts')));
    const probe = (p: string): string => execFileSync('ffprobe', ['-v', 'error', '-show_entries', 'stream=codec_name', '-of', 'csv=p=0', p], { encoding: 'utf8' }).trim().split('\n').sort().join(',');
    assert.equal(probe(plan.file!.localPath), 'aac,h264');
    assert.equal(probe(flv), 'aac,h264');
    assert.equal(probe(join(dir, 'img/snap_00000.jpeg')), 'mjpeg');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
