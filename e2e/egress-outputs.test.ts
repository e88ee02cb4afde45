// Egress outputs (issue 12) with unmodified clients: a livekit-client page publishes its fake camera (VP8, 320x180)
// and a steady 440 Hz tone; livekit-server-sdk's EgressClient starts a track composite with HLS segments (and a live
// playlist), an RTMP stream to a local receiver (ffmpeg listening) and JPEG images, all from one H.264/AAC encode;
// UpdateStream moves the stream to a second receiver mid-way. ffprobe/ffmpeg check what a user would: segments and
// playlists, H.264/AAC, duration within 10% of the wall time, the receivers' FLVs decode with frames not blank and the
// tone in their audio. Then an MP4 (VP8 transcoded) uploaded to a local S3 server (s3rver), and a killed ffmpeg that
// fails its egress with a reason while the room goes on. Webhooks arrive in order. One room and page for everything.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import S3rver from 's3rver';
import { EgressClient, EncodedFileOutput, EncodedFileType, EncodingOptions, ImageOutput, RoomServiceClient, S3Upload, SegmentedFileOutput, StreamOutput, StreamProtocol } from 'livekit-server-sdk';
import { EgressStatus, StreamInfo_Status } from '@livekit/protocol';
import { startWebhookReceiver } from '@atrium/server/webhook/test-webhook-receiver.js';
import { waitFor, withTimeout } from '@atrium/webrtc/testing/wait-for.js';
import { launchBrowser, type BrowserHarness } from './helpers/browser.js';
import type { BrowserParticipant } from './helpers/browser-participant.js';
import { DEV_API_KEY, DEV_API_SECRET, startAtrium, type AtriumUnderTest } from './helpers/server.js';
import { checkTone, writeToneWav } from './helpers/tone.js';
import { decodeAudio, decodeVideo, probeFile } from './helpers/media-file.js';
import { egressWaits, pidWithArgument, publishToneAndCamera } from './helpers/egress.js';
import { freeTcpPort, startRtmpReceiver, type RtmpReceiver } from '@atrium/server/egress/egress-testing.js';

const outDir = mkdtempSync(join(tmpdir(), 'atrium-egress-outputs-'));
const recDir = join(outDir, 'rec');
const wav = join(outDir, 'tone.wav');
const roomName = `egress-out-${Date.now()}`;
const BUCKET = 'recordings';
let server: AtriumUnderTest | undefined;
let browser: BrowserHarness | undefined;
let receiver: Awaited<ReturnType<typeof startWebhookReceiver>> | undefined;
let publisher: BrowserParticipant | undefined;
let s3: S3rver | undefined;
let s3Endpoint = '';
let audioSid = '';
let videoSid = '';
const children: ChildProcess[] = [];

/** An RTMP receiver killed after the tests if still running. */
async function rtmpReceiver(file: string): Promise<RtmpReceiver> {
  const r = await startRtmpReceiver(file);
  children.push(r.proc);
  return r;
}

before(async () => {
  receiver = await startWebhookReceiver(DEV_API_KEY, DEV_API_SECRET);
  const s3Port = await freeTcpPort();
  s3 = new S3rver({ port: s3Port, address: '127.0.0.1', silent: true, directory: join(outDir, 's3'), configureBuckets: [{ name: BUCKET, configs: [] }] });
  await s3.run();
  s3Endpoint = `http://127.0.0.1:${s3Port}`;
  server = await withTimeout(
    startAtrium({ config: { webhook: { apiKey: DEV_API_KEY, urls: [receiver.url] }, egress: { fileBaseDir: recDir } } }),
    15_000, 'Atrium to start',
  );
  writeToneWav(wav, { frequencyHz: 440, amplitude: 0.5, seconds: 2 });
  browser = await withTimeout(launchBrowser({ extraArgs: [`--use-file-for-fake-audio-capture=${wav}`] }), 30_000, 'Chromium to launch');
  const [pub] = await browser.openParticipants(['pub']);
  publisher = pub!;
  ({ audioSid, videoSid } = await publishToneAndCamera(server, publisher, roomName));
});

after(async () => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  await publisher?.disconnect().catch(() => undefined);
  await browser?.close();
  await server?.close();
  await receiver?.close();
  await s3?.close();
  rmSync(outDir, { recursive: true, force: true });
});

const egressClient = (): EgressClient => new EgressClient(server!.httpUrl, DEV_API_KEY, DEV_API_SECRET);
const { waitActive, waitEnded } = egressWaits(egressClient);
const within = (actual: number, expected: number, share: number): boolean => Math.abs(actual - expected) <= expected * share;
// a smaller encode than LiveKit's 720p default: the test machine is small and shared
const ENCODING = new EncodingOptions({ width: 640, height: 360, framerate: 30, videoBitrate: 800, keyFrameInterval: 1 });
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** The egress's webhooks as `event:STATUS`, in arrival order. */
const hooksOf = (id: string): string[] =>
  receiver!.received.filter((r) => r.event.egressInfo?.egressId === id).map((r) => `${r.event.event}:${EgressStatus[r.event.egressInfo!.status]}`);

async function checkAv(path: string, label: string): Promise<void> {
  const probe = await probeFile(path);
  assert.deepEqual(probe.streams.map((s) => `${s.codecType}/${s.codecName}`).sort(), ['audio/aac', 'video/h264'], `${label}: ${JSON.stringify(probe.streams)}`);
  const video = await decodeVideo(path);
  assert.ok(video.frames > 10, `${label}: ${video.frames} frames`);
  assert.ok(video.middleLumaStdDev > 10, `${label}: the middle frame is not blank (${video.middleLumaStdDev.toFixed(1)})`);
  const pcm = await decodeAudio(path);
  const middle = pcm.subarray(Math.max(0, Math.floor(pcm.length / 2) - 24_000), Math.floor(pcm.length / 2) + 24_000);
  const tone = checkTone(middle, { sampleRate: 48_000, expectedHz: 440 });
  assert.ok(tone.matches, `${label}: 440 Hz in the audio: ${JSON.stringify(tone)}`);
}

test('track composite to HLS + RTMP + images from one encode; UpdateStream moves the stream', { timeout: 120_000 }, async (t) => {
  const client = egressClient();
  const first = await rtmpReceiver(join(outDir, 'first.flv'));
  const second = await rtmpReceiver(join(outDir, 'second.flv'));
  const info = await client.startTrackCompositeEgress(roomName, {
    segments: new SegmentedFileOutput({ filenamePrefix: 'hls/{room_name}', livePlaylistName: 'live.m3u8', segmentDuration: 2 }),
    stream: new StreamOutput({ protocol: StreamProtocol.RTMP, urls: [first.url] }),
    images: new ImageOutput({ captureInterval: 1, width: 320, height: 180, filenamePrefix: 'img/{room_name}' }),
  }, { audioTrackId: audioSid, videoTrackId: videoSid, encodingOptions: ENCODING });
  assert.equal(info.status, EgressStatus.EGRESS_STARTING);
  const active = await waitActive(info.egressId);
  await sleep(4_000);
  // the stream moves to the second receiver: the first gets a finished FLV, the HLS goes on
  const updated = await client.updateStream(info.egressId, [second.url], [first.url]);
  assert.deepEqual(updated.streamResults.map((s) => StreamInfo_Status[s.status]), ['ACTIVE', 'ACTIVE'].slice(0, updated.streamResults.length));
  assert.equal(await withTimeout(first.done, 10_000, 'the first receiver to finish'), 0);
  await sleep(4_000);
  const wall = (performance.now() - active) / 1000;
  await client.stopEgress(info.egressId);
  const done = await waitEnded(info.egressId, EgressStatus.EGRESS_COMPLETE, 30_000);
  assert.equal(await withTimeout(second.done, 10_000, 'the second receiver to finish'), 0);

  // HLS: playlists and segments, H.264/AAC, as long as the egress was ACTIVE
  const seg = done.segmentResults[0]!;
  assert.equal(seg.playlistName, `hls/${roomName}.m3u8`);
  assert.equal(seg.livePlaylistName, 'hls/live.m3u8');
  const playlist = readFileSync(join(recDir, seg.playlistName), 'utf8');
  const live = readFileSync(join(recDir, seg.livePlaylistName), 'utf8');
  assert.match(playlist, /#EXT-X-ENDLIST/);
  assert.match(live, /#EXT-X-ENDLIST/);
  const names = playlist.split('\n').filter((l) => l.endsWith('.ts'));
  assert.equal(BigInt(names.length), seg.segmentCount);
  assert.equal(names[0], `${roomName}_00000.ts`);
  for (const n of names) assert.ok(existsSync(join(recDir, 'hls', n)), n);
  const hlsSec = Number(seg.duration) / 1e9;
  assert.ok(within(hlsSec, wall, 0.1), `HLS ${hlsSec.toFixed(2)} s vs ${wall.toFixed(2)} s ACTIVE`);
  const hlsProbe = await probeFile(join(recDir, seg.playlistName));
  t.diagnostic(`HLS: ${seg.segmentCount} segments, ${hlsSec.toFixed(2)} s (ffprobe ${hlsProbe.durationSec} s) for ${wall.toFixed(2)} s ACTIVE; ${done.imageResults[0]?.imageCount} images; streams ${done.streamResults.map((x) => `${x.url} ${StreamInfo_Status[x.status]}`).join(', ')}`);
  assert.ok(within(hlsProbe.durationSec, wall, 0.1), `ffprobe of the playlist: ${hlsProbe.durationSec} s vs ${wall.toFixed(2)} s`);
  await checkAv(join(recDir, seg.playlistName), 'HLS');

  // RTMP: both receivers got H.264/AAC with picture and tone; results redacted, both FINISHED
  assert.deepEqual(done.streamResults.map((s) => StreamInfo_Status[s.status]), ['FINISHED', 'FINISHED']);
  for (const s of done.streamResults) assert.ok(!s.url.includes('streamkey'), `redacted: ${s.url}`);
  // nowhere in what ListEgress or the webhooks show (the request included)
  assert.ok(!JSON.stringify(done.toJson()).includes('streamkey'), 'no stream key in the EgressInfo');
  assert.ok(!receiver!.received.some((r) => r.body.includes('streamkey')), 'no stream key in a webhook');
  await checkAv(join(outDir, 'first.flv'), 'first RTMP receiver');
  await checkAv(join(outDir, 'second.flv'), 'second RTMP receiver');

  // Images: one a second at 320x180
  const images = done.imageResults[0]!;
  assert.equal(images.filenamePrefix, `img/${roomName}`);
  assert.ok(images.imageCount >= BigInt(Math.floor(wall * 0.7)), `${images.imageCount} images in ${wall.toFixed(1)} s`);
  const img = await probeFile(join(recDir, 'img', `${roomName}_00001.jpeg`));
  assert.deepEqual(img.streams.map((s) => `${s.codecName} ${s.width}x${s.height}`), ['mjpeg 320x180']);

  // Webhooks in order, with the UpdateStream and stream changes as egress_updated while ACTIVE
  await waitFor(() => hooksOf(info.egressId).at(-1) === 'egress_ended:EGRESS_COMPLETE', { timeoutMs: 10_000, label: 'egress_ended', describe: async () => hooksOf(info.egressId).join(', ') });
  // (stream changes and UpdateStream are egress_updated too, in whatever state the egress is then)
  const hooks = hooksOf(info.egressId);
  assert.equal(hooks[0], 'egress_started:EGRESS_STARTING');
  const middle = hooks.slice(1, -1);
  const rank = (h: string): number => ['egress_updated:EGRESS_STARTING', 'egress_updated:EGRESS_ACTIVE', 'egress_updated:EGRESS_ENDING'].indexOf(h);
  assert.ok(middle.every((h, i) => rank(h) >= 0 && (i === 0 || rank(h) >= rank(middle[i - 1]!))), `in order: ${hooks.join(', ')}`);
  assert.ok(middle.includes('egress_updated:EGRESS_ACTIVE') && middle.includes('egress_updated:EGRESS_ENDING'), hooks.join(', '));
});

test('an MP4 (VP8 transcoded to H.264/AAC) uploaded to S3 (s3rver); a bad bucket fails with the reason', { timeout: 60_000 }, async (t) => {
  const client = egressClient();
  const upload = (bucket: string): S3Upload => new S3Upload({ accessKey: 'S3RVER', secret: 'S3RVER', endpoint: s3Endpoint, forcePathStyle: true, region: 'us-east-1', bucket });
  const info = await client.startTrackCompositeEgress(roomName, new EncodedFileOutput({ fileType: EncodedFileType.MP4, filepath: 's3/{room_name}.mp4', output: { case: 's3', value: upload(BUCKET) } }), { audioTrackId: audioSid, videoTrackId: videoSid, encodingOptions: ENCODING });
  const bad = await client.startTrackCompositeEgress(roomName, new EncodedFileOutput({ fileType: EncodedFileType.MP4, filepath: 's3/nobucket.mp4', output: { case: 's3', value: upload('no-such-bucket') } }), { audioTrackId: audioSid, encodingOptions: ENCODING });
  await Promise.all([waitActive(info.egressId), waitActive(bad.egressId)]);
  await sleep(3_000);
  await Promise.all([client.stopEgress(info.egressId), client.stopEgress(bad.egressId)]);
  const done = await waitEnded(info.egressId, EgressStatus.EGRESS_COMPLETE, 30_000);
  const file = done.fileResults[0]!;
  const key = `s3/${roomName}.mp4`;
  assert.equal(file.filename, key);
  assert.equal(file.location, `${s3Endpoint}/${BUCKET}/${key}`);
  assert.ok(!JSON.stringify(done.toJson()).includes('S3RVER'), 'S3 credentials are not shown');
  const listed = await new S3Client({ endpoint: s3Endpoint, forcePathStyle: true, region: 'us-east-1', credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } })
    .send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: 's3/' }));
  const obj = listed.Contents?.find((o) => o.Key === key);
  assert.ok(obj, `listed: ${JSON.stringify(listed.Contents?.map((o) => o.Key))}`);
  assert.equal(BigInt(obj.Size ?? -1), file.size);
  t.diagnostic(`S3: ${key} ${obj.Size} bytes at ${file.location}`);
  const local = join(recDir, key);
  assert.deepEqual((await probeFile(local)).streams.map((s) => `${s.codecType}/${s.codecName}`).sort(), ['audio/aac', 'video/h264']);
  const failed = await waitEnded(bad.egressId, EgressStatus.EGRESS_FAILED, 30_000);
  assert.match(failed.error, /upload of s3\/nobucket\.mp4: .*(bucket|Bucket)/);
  t.diagnostic(`failed upload: ${failed.error}`);
  assert.ok(existsSync(join(recDir, 's3', 'nobucket.mp4')), 'the local file is kept');
});

test('a mute longer than 10 s keeps its duration in the recording (HLS of the page muted for 11 s)', { timeout: 90_000 }, async (t) => {
  const client = egressClient();
  const info = await client.startTrackCompositeEgress(roomName, new SegmentedFileOutput({ filenamePrefix: 'muted/{room_name}', segmentDuration: 2 }), { audioTrackId: audioSid, videoTrackId: videoSid, encodingOptions: ENCODING });
  const active = await waitActive(info.egressId);
  await sleep(2_000);
  await publisher!.setCameraEnabled(false);
  await publisher!.setMicrophoneEnabled(false);
  await sleep(11_000);
  assert.equal((await egressWaits(egressClient).infoOf(info.egressId)).status, EgressStatus.EGRESS_ACTIVE, 'still recording while muted');
  await publisher!.setMicrophoneEnabled(true);
  await publisher!.setCameraEnabled(true, { simulcast: false, videoCodec: 'vp8' });
  await sleep(2_000);
  const wall = (performance.now() - active) / 1000;
  await client.stopEgress(info.egressId);
  const done = await waitEnded(info.egressId, EgressStatus.EGRESS_COMPLETE, 30_000);
  const hlsSec = Number(done.segmentResults[0]!.duration) / 1e9;
  t.diagnostic(`muted: HLS ${hlsSec.toFixed(2)} s for ${wall.toFixed(2)} s ACTIVE, 11 s of it muted`);
  assert.ok(within(hlsSec, wall, 0.1), `HLS ${hlsSec.toFixed(2)} s vs ${wall.toFixed(2)} s ACTIVE, 11 s of it muted`);
  const probe = await probeFile(join(recDir, done.segmentResults[0]!.playlistName));
  assert.ok(within(probe.durationSec, wall, 0.1), `ffprobe: ${probe.durationSec} s vs ${wall.toFixed(2)} s`);
});

test('a killed ffmpeg fails its egress with a reason; the room and other outputs go on', { timeout: 60_000 }, async () => {
  const client = egressClient();
  const info = await client.startTrackCompositeEgress(roomName, new SegmentedFileOutput({ filenamePrefix: 'killed/kill-{room_name}' }), { audioTrackId: audioSid, videoTrackId: videoSid, encodingOptions: ENCODING });
  await waitActive(info.egressId);
  const pid = pidWithArgument(join(recDir, 'killed', `kill-${roomName}`));
  assert.ok(pid, 'the ffmpeg process of the egress');
  process.kill(pid, 'SIGKILL');
  const failed = await waitEnded(info.egressId, EgressStatus.EGRESS_FAILED);
  assert.match(failed.error, /ffmpeg exited unexpectedly \(signal SIGKILL\)/);
  await waitFor(() => hooksOf(info.egressId).at(-1) === 'egress_ended:EGRESS_FAILED', { timeoutMs: 10_000, label: 'egress_ended FAILED webhook' });
  const [p] = await new RoomServiceClient(server!.httpUrl, DEV_API_KEY, DEV_API_SECRET).listParticipants(roomName);
  assert.equal(p?.identity, 'pub');
  assert.equal(p?.tracks.length, 2);
  assert.equal(await publisher!.connectionState(), 'connected');
});
