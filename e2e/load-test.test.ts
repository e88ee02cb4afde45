// `atrium load-test` as a child process (packages/cli/bin/atrium.js) against an in-process Atrium, in the small
// shape (2 simulcast video publishers, 5 subscribers): it passes its own loss check and prints its table; from
// --json, every subscriber received every track with < 1% loss at a plausible bitrate and frame rate, and
// livekit-server-sdk's RoomService saw the simulated participants and their tracks while it ran. With --layout, the
// subscribers' tile sizes choose the layers they get.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { RoomServiceClient } from 'livekit-server-sdk';
import { DEV_API_KEY, DEV_API_SECRET, startAtrium, type AtriumUnderTest } from './helpers/server.js';
import { withTimeout } from '@atrium/webrtc/testing/wait-for.js';
import { runAtrium, type CliRun } from './helpers/cli-process.js';

let server: AtriumUnderTest | undefined;

before(async () => {
  server = await withTimeout(startAtrium(), 15_000, 'Atrium to start');
});

after(() => server?.close());

function loadTest(args: string[], deadlineMs: number): Promise<CliRun> {
  assert.ok(server);
  return runAtrium(['load-test', '--url', server.url, '--api-key', DEV_API_KEY, '--api-secret', DEV_API_SECRET, ...args], { deadlineMs });
}

interface TrackJson {
  track: string; publisher: string; kind: string; layers: string; packetsSent: number; subscribers: number; receiving: number;
  packetsReceived: number; lossPct: number; bitrateBps: number; fps: number; latencyMs: { p50: number | null; samples: number };
  perSubscriber: { subscriber: string; packets: number; lossPct: number; bitrateBps: number; fps: number }[];
}

test('2 video publishers (720p simulcast) -> 5 subscribers for 8 s: every subscriber gets every track, loss < 1%, a plausible bitrate and frame rate', { timeout: 40_000 }, async () => {
  assert.ok(server);
  const room = `lt-e2e-${Date.now()}`;
  const rooms = new RoomServiceClient(server.httpUrl, DEV_API_KEY, DEV_API_SECRET);
  const running = loadTest(['--room', room, '--video-publishers', '2', '--subscribers', '5', '--duration', '8s', '--identity-prefix', 'e2e', '--json'], 35_000);
  // While it runs, the server's own API shows the participants and the two camera tracks.
  let seen = { participants: 0, videoTracks: 0 };
  for (const deadline = Date.now() + 20_000; Date.now() < deadline && (seen.participants < 7 || seen.videoTracks < 2); ) {
    await new Promise((r) => setTimeout(r, 250));
    const ps = await rooms.listParticipants(room).catch(() => []);
    seen = { participants: ps.length, videoTracks: ps.flatMap((p) => p.tracks).filter((t) => t.simulcast || t.layers.length === 3).length };
  }
  assert.deepEqual(seen, { participants: 7, videoTracks: 2 }, 'the room as RoomService lists it');
  const run = await running;
  assert.equal(run.code, 0, `exit ${String(run.code)}\n${run.stderr}\n${run.stdout}`);
  const r = JSON.parse(run.stdout) as {
    isPassed: boolean; failures: string[]; participants: { joined: number; failed: number };
    tracks: TrackJson[]; summary: { packetsLost: number; lossPct: number; subscriptions: { expected: number; receiving: number } };
    tester: { cpuSec: number; cpuUsPerPacket: number };
  };
  assert.equal(r.isPassed, true, r.failures.join('; '));
  assert.deepEqual(r.participants, { ...r.participants, joined: 7, failed: 0 });
  assert.equal(r.tracks.length, 2);
  assert.deepEqual(r.tracks.map((t) => t.publisher).sort(), ['e2e_video_0', 'e2e_video_1']);
  assert.deepEqual(r.summary.subscriptions, { expected: 10, receiving: 10 });
  for (const t of r.tracks) {
    assert.equal(t.kind, 'video');
    assert.equal(t.layers, 'q,h,f');
    assert.equal(t.receiving, 5);
    assert.deepEqual(t.perSubscriber.map((s) => s.subscriber).sort(), ['e2e_sub_0', 'e2e_sub_1', 'e2e_sub_2', 'e2e_sub_3', 'e2e_sub_4']);
    // 8 s of 3 layers: ~ (15 + 30 + 30 fps) worth of packets, 2.35 Mbps in all
    assert.ok(t.packetsSent > 1500, `${t.track}: ${t.packetsSent} packets sent`);
    assert.ok(t.lossPct < 1, `${t.track}: loss ${t.lossPct}%`);
    for (const s of t.perSubscriber) {
      assert.ok(s.packets > 500, `${s.subscriber} ${t.track}: ${s.packets} packets`);
      assert.ok(s.lossPct < 1, `${s.subscriber} ${t.track}: loss ${s.lossPct}%`);
      // any layer is plausible (the server picks by its estimate); each is 150 kbps..1.7 Mbps at 15..30 fps
      assert.ok(s.bitrateBps > 100_000 && s.bitrateBps < 2_500_000, `${s.subscriber} ${t.track}: ${s.bitrateBps} bps`);
      assert.ok(s.fps > 10 && s.fps < 36, `${s.subscriber} ${t.track}: ${s.fps} fps`);
    }
    assert.ok(t.latencyMs.samples > 0 && t.latencyMs.p50 !== null && t.latencyMs.p50 < 50, `${t.track}: latency p50 ${String(t.latencyMs.p50)} ms`);
  }
  assert.ok(r.tester.cpuSec > 0, 'the tester reports its own CPU');
});

test("--layout speaker (lk's): 7 simulcast cameras -> 2 subscribers; each shows 6, one at the top layer and five at the lowest; the seventh is disabled", { timeout: 40_000 }, async () => {
  const run = await loadTest(['--video-publishers', '7', '--subscribers', '2', '--layout', 'speaker', '--duration', '6s', '--num-per-second', '20', '--identity-prefix', 'lay', '--json'], 35_000);
  assert.equal(run.code, 0, `exit ${String(run.code)}\n${run.stderr}\n${run.stdout}`);
  const r = JSON.parse(run.stdout) as { isPassed: boolean; failures: string[]; tracks: TrackJson[]; summary: { subscriptions: { expected: number; receiving: number } } };
  assert.equal(r.isPassed, true, r.failures.join('; '));
  assert.deepEqual(r.summary.subscriptions, { expected: 12, receiving: 12 }, 'six tiles for each of the two subscribers');
  for (const sub of ['lay_sub_0', 'lay_sub_1']) {
    const shown = r.tracks.flatMap((t) => t.perSubscriber.filter((s) => s.subscriber === sub).map((s) => ({ track: t.track, ...s })));
    assert.equal(shown.length, 6, `${sub} shows 6 cameras: ${JSON.stringify(shown)}`);
    // The big tile asked 1280x720 (the 720p layer, 1.7 Mbps); the small ones 320x180 (the 180p layer, 150 kbps).
    const big = shown.filter((s) => s.bitrateBps > 1_000_000);
    const small = shown.filter((s) => s.bitrateBps < 400_000);
    assert.equal(big.length, 1, `${sub}: one track at the top layer: ${shown.map((s) => s.bitrateBps).join(', ')} bps`);
    assert.equal(small.length, 5, `${sub}: five at the lowest layer: ${shown.map((s) => s.bitrateBps).join(', ')} bps`);
    for (const s of small) assert.ok(s.fps > 10 && s.fps < 20, `${sub}: the 180p layer runs at 15 fps, got ${s.fps}`);
  }
});

test("table output: audio and video, the per-track table, the summary and PASS; lk's --simulate-speakers reaches every subscriber", { timeout: 30_000 }, async () => {
  const run = await loadTest(['--video-publishers', '1', '--audio-publishers', '1', '--subscribers', '2', '--no-simulcast', '--video-resolution', 'medium', '--duration', '3s', '--num-per-second', '10', '--simulate-speakers'], 25_000);
  assert.equal(run.code, 0, `exit ${String(run.code)}\n${run.stderr}\n${run.stdout}`);
  const lines = run.stdout.split('\n');
  assert.match(lines[0] ?? '', /^TRACK +PUBLISHER +KIND +LAYERS +SENT +SUBS +RECEIVED +LOSS +BITRATE\/SUB +FPS +FIRST MEDIA +LATENCY p50 \/ p99$/);
  assert.ok(lines.some((l) => /^TR_\w+ +lt-\w+_video_0 +video +single +[\d,]+ +2\/2 +[\d,]+ +0\.\d\d% +[\d.]+ kbps/.test(l)), run.stdout);
  assert.ok(lines.some((l) => /^TR_\w+ +lt-\w+_audio_0 +audio +single +[\d,]+ +2\/2 +[\d,]+ +0\.\d\d% +[\d.]+ kbps +(4[5-9]|5[0-5])\.\d/.test(l)), run.stdout);
  assert.match(run.stdout, /\ntracks +2 \(1 video, 1 audio\); 4\/4 subscriptions receiving\n/);
  assert.match(run.stdout, /\ntester CPU +[\d.]+ s in [\d.]+ s/);
  // One request at 1 s into the media window (then every 6 s): the server reports that publisher speaking to everyone.
  assert.match(run.stdout, /\nspeakers +1 simulated speaker requests; [1-9]\d* speaker updates received, by 2 of 2 subscribers\n/);
  assert.match(run.stdout, /\nPASS: loss \d+\.\d\d% <= 1%/);
  assert.match(run.stderr, /joined \d+\/4/, 'progress lines on stderr');
});

test('--talkers 1 of 3 audio publishers: one track at 50 frames a second, two silent ones in Opus DTX at 2.5, all received without loss', { timeout: 30_000 }, async () => {
  const run = await loadTest(['--audio-publishers', '3', '--subscribers', '2', '--talkers', '1', '--duration', '4s', '--num-per-second', '10', '--json'], 25_000);
  assert.equal(run.code, 0, `exit ${String(run.code)}\n${run.stderr}\n${run.stdout}`);
  const r = JSON.parse(run.stdout) as { isPassed: boolean; tracks: TrackJson[]; shape: { talkers?: number } };
  assert.equal(r.shape.talkers, 1);
  assert.equal(r.tracks.length, 3);
  const byRate = [...r.tracks].sort((a, b) => b.fps - a.fps);
  for (const t of r.tracks) {
    assert.equal(t.receiving, 2, `${t.track}: both subscribers receive it`);
    assert.ok(t.lossPct < 1, `${t.track}: loss ${t.lossPct}%`);
  }
  // The first to publish talks (a frame every 20 ms); the others are silent: a DTX frame every 400 ms.
  assert.ok(byRate[0]!.fps > 40 && byRate[0]!.fps < 60, `the talker: ${byRate[0]!.fps} frames/s`);
  for (const t of byRate.slice(1)) assert.ok(t.fps > 1 && t.fps < 4, `${t.track}, silent: ${t.fps} frames/s`);
  assert.ok(byRate[1]!.bitrateBps < byRate[0]!.bitrateBps / 10, `silence costs a fraction of speech: ${byRate[1]!.bitrateBps} vs ${byRate[0]!.bitrateBps} bps`);
});

test('a wrong secret: every join fails, exit 1 with the reason', { timeout: 30_000 }, async () => {
  const run = await loadTest(['--subscribers', '1', '--audio-publishers', '1', '--duration', '1', '--api-secret', 'wrong'], 25_000);
  assert.equal(run.code, 1, run.stderr);
  assert.match(run.stderr, /atrium load-test: 2 of 2 participants failed to join \(lt-\w+_audio_0: signalling rejected: HTTP 401/);
  assert.match(run.stdout, /FAIL: 2 of 2 participants failed to join/);
});
