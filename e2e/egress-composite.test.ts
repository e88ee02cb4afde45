// Room composite egress (issue 12) with unmodified clients: three livekit-client pages publish a canvas in a solid
// colour each (red, green, blue) as their camera, and the blue one a 440 Hz WebAudio tone as its microphone;
// livekit-server-sdk's EgressClient records the room composite in the grid layout to MP4, switches it to the speaker
// layout with UpdateLayout mid-recording, mutes one camera, and stops it. ffprobe/ffmpeg check what a viewer would: H.264 1280x720 and
// AAC, duration within 10% of the wall time, each participant's colour in its own grid tile, the speaker (blue, the
// one with the tone) large after the switch, the muted camera's placeholder, the tone in the decoded audio. Then an
// audio-only composite to OGG, the composite livestreamed (HLS and RTMP from one encode, each colour in its tile and the
// tone), a killed encoder (FAILED, the room goes on), and the end when everyone has left.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EgressClient, EncodedFileOutput, EncodedFileType, RoomServiceClient, SegmentedFileOutput, StreamOutput, StreamProtocol } from 'livekit-server-sdk';
import { EgressStatus, StreamInfo_Status } from '@livekit/protocol';
import type { EgressInfo } from '@livekit/protocol';
import { waitFor, withTimeout } from '@atrium/webrtc/testing/wait-for.js';
import { startRtmpReceiver } from '@atrium/server/egress/egress-testing.js';
import type { BrowserParticipant } from './helpers/browser-participant.js';
import { DEV_API_KEY, DEV_API_SECRET } from './helpers/server.js';
import { useAtriumAndBrowser } from './helpers/suite.js';
import { checkTone, goertzelPower } from './helpers/tone.js';
import { decodeAudio, decodeFrameRgb, frameBrightness, probeFile } from './helpers/media-file.js';
import { pidWithArgument } from './helpers/processes.js';

const outDir = mkdtempSync(join(tmpdir(), 'atrium-composite-'));
const roomName = `composite-${Date.now()}`;
const suite = useAtriumAndBrowser({ atrium: { config: { egress: { fileBaseDir: outDir } } } });
after(() => rmSync(outDir, { recursive: true, force: true }));

const COLOURS = { red: [230, 30, 30], green: [30, 200, 30], blue: [30, 30, 230] } as const;
type Colour = keyof typeof COLOURS;

/** Publishes a canvas painted `rgb` (repainted at 30 fps, so the capture keeps producing frames) as the camera. */
async function publishColour(p: BrowserParticipant, rgb: readonly number[]): Promise<void> {
  await p.call('run', `
    const canvas = document.createElement('canvas');
    canvas.width = 320; canvas.height = 180;
    const g = canvas.getContext('2d');
    setInterval(() => { g.fillStyle = 'rgb(${rgb.join(',')})'; g.fillRect(0, 0, 320, 180); }, 33);
    g.fillStyle = 'rgb(${rgb.join(',')})'; g.fillRect(0, 0, 320, 180);
    const track = new LK.LocalVideoTrack(canvas.captureStream(30).getVideoTracks()[0], undefined, true);
    await room.localParticipant.publishTrack(track, { source: LK.Track.Source.Camera, simulcast: false, videoCodec: 'vp8' });
  `);
}

async function waitEnded(client: EgressClient, id: string): Promise<EgressInfo> {
  return waitFor(async () => {
    const [info] = await client.listEgress({ egressId: id });
    return info && info.status >= EgressStatus.EGRESS_COMPLETE ? info : undefined;
  }, { timeoutMs: 30_000, intervalMs: 100, label: `${id} ended` });
}

async function waitActive(client: EgressClient, id: string): Promise<number> {
  await waitFor(async () => (await client.listEgress({ egressId: id }))[0]?.status === EgressStatus.EGRESS_ACTIVE, { timeoutMs: 20_000, intervalMs: 50, label: `${id} ACTIVE` });
  return performance.now();
}

/** The mean colour of a 9x9 patch around (x, y) of an RGB24 frame. */
function colourAt(f: { width: number; rgb: Buffer }, x: number, y: number): number[] {
  const sum = [0, 0, 0];
  for (let dy = -4; dy <= 4; dy++) {
    for (let dx = -4; dx <= 4; dx++) {
      const i = ((y + dy) * f.width + (x + dx)) * 3;
      for (let c = 0; c < 3; c++) sum[c]! += f.rgb[i + c]!;
    }
  }
  return sum.map((s) => Math.round(s / 81));
}

/**
 * Which participant's colour `rgb` is: the nearest of the three, when it is near enough (a canvas colour goes through
 * the browser's capture, VP8, our scaling and H.264, and comes back off by a few tens per channel).
 */
function whichColour(rgb: readonly number[]): Colour | undefined {
  let best: Colour | undefined;
  let bestDistance = 100;
  for (const [name, ref] of Object.entries(COLOURS) as [Colour, readonly number[]][]) {
    const d = Math.hypot(...ref.map((v, i) => v - rgb[i]!));
    if (d < bestDistance) {
      best = name;
      bestDistance = d;
    }
  }
  return best;
}

let pages: Record<Colour, BrowserParticipant> | undefined;

test('room composite: three participants, grid then speaker, to MP4; checked with ffprobe, pixels and the tone', { timeout: 90_000 }, async () => {
  const { server, browser } = suite.started();
  const [red, green, blue] = await browser.openParticipants(['red', 'green', 'blue']);
  pages = { red: red!, green: green!, blue: blue! };
  // joined one after another, so the grid's order (join order) is red, green, blue
  for (const name of ['red', 'green', 'blue'] as const) {
    await pages[name].connect(server.url, await server.token({ identity: name, room: roomName }));
    await publishColour(pages[name], COLOURS[name]);
  }
  await pages.blue.call('publishTone', { leftHz: 440, amplitude: 0.5 });
  const rooms = new RoomServiceClient(server.httpUrl, DEV_API_KEY, DEV_API_SECRET);
  await waitFor(async () => {
    const ps = await rooms.listParticipants(roomName);
    return ps.flatMap((p) => p.tracks).filter((t) => t.mimeType !== '').length === 4;
  }, { timeoutMs: 15_000, label: 'four tracks published on the server' });

  const client = new EgressClient(server.httpUrl, DEV_API_KEY, DEV_API_SECRET);
  const started = await client.startRoomCompositeEgress(roomName, new EncodedFileOutput({ filepath: '{room_name}/grid' }), { layout: 'grid' });
  assert.equal(started.status, EgressStatus.EGRESS_STARTING);
  const active = await waitActive(client, started.egressId);
  // the decoders start at each track's first key frame (a second or two on a busy machine): grid for 4 s
  await new Promise((r) => setTimeout(r, 4_000));
  const switchedAt = (performance.now() - active) / 1000;
  const updated = await client.updateLayout(started.egressId, 'speaker');
  assert.equal(updated.request.case === 'roomComposite' ? updated.request.value.layout : '', 'speaker');
  await new Promise((r) => setTimeout(r, 2_000));
  // green mutes its camera: its tile turns to the placeholder, and the recording goes on at wall-clock pace
  await pages.green.call('run', 'await room.localParticipant.getTrackPublication(LK.Track.Source.Camera).mute();');
  await new Promise((r) => setTimeout(r, 2_500));
  const wall = (performance.now() - active) / 1000;
  await client.stopEgress(started.egressId);
  const done = await waitEnded(client, started.egressId);
  assert.equal(done.status, EgressStatus.EGRESS_COMPLETE, done.error);
  const file = done.fileResults[0]!;
  assert.equal(file.filename, `${roomName}/grid.mp4`);

  const probed = await probeFile(file.location);
  const v = probed.streams.find((s) => s.codecType === 'video');
  const a = probed.streams.find((s) => s.codecType === 'audio');
  assert.deepEqual([v?.codecName, v?.width, v?.height], ['h264', 1280, 720], JSON.stringify(probed));
  assert.equal(a?.codecName, 'aac');
  assert.ok(Math.abs(probed.durationSec - wall) <= wall * 0.1, `duration ${probed.durationSec} s for ${wall.toFixed(2)} s of wall time`);
  console.log(`composite: ${probed.durationSec.toFixed(2)} s in the file (video ${v?.durationSec} s, audio ${a?.durationSec} s) for ${wall.toFixed(2)} s ACTIVE, ${probed.sizeBytes} bytes`);
  // both come off one wall clock: a video shorter than the audio would mean frames were dropped and the picture ran early
  assert.ok(Math.abs((v?.durationSec ?? 0) - (a?.durationSec ?? 0)) <= 0.1, `video ${v?.durationSec} s, audio ${a?.durationSec} s`);

  // grid of three: red and green side by side on top, blue centred below
  const grid = await decodeFrameRgb(file.location, switchedAt - 0.5);
  const seen = { red: colourAt(grid, 320, 180), green: colourAt(grid, 960, 180), blue: colourAt(grid, 640, 540) };
  for (const [name, rgb] of Object.entries(seen)) assert.equal(whichColour(rgb), name, `grid tile of ${name}: ${JSON.stringify(seen)}`);

  // speaker: blue (the only one speaking) large on the left, red and green in the strip on the right
  const speaker = await decodeFrameRgb(file.location, probed.durationSec - 1);
  const main = colourAt(speaker, 512, 360);
  assert.equal(whichColour(main), 'blue', `main tile after UpdateLayout: ${JSON.stringify(main)}`);
  const strip = [colourAt(speaker, 1152, 288), colourAt(speaker, 1152, 432)];
  assert.equal(whichColour(strip[0]!), 'red', `the strip: ${JSON.stringify(strip)}`);
  // the placeholder of a muted camera: flat dark grey (58, 58, 58)
  assert.ok(strip[1]!.every((v) => Math.abs(v - 58) <= 12), `green's tile after the mute: ${JSON.stringify(strip[1])}`);
  const beforeMute = await decodeFrameRgb(file.location, switchedAt + 1.5);
  assert.equal(whichColour(colourAt(beforeMute, 1152, 432)), 'green', 'green in the strip before the mute');

  const pcm = await decodeAudio(file.location);
  const middle = pcm.subarray(Math.floor(pcm.length / 2) - 48_000, Math.floor(pcm.length / 2) + 48_000);
  const tone = checkTone(middle, { sampleRate: 48_000, expectedHz: 440 });
  assert.ok(tone.matches, `tone: ${JSON.stringify(tone)}`);
});

test('room composite, audio only: the mixed microphones to OGG (Opus)', { timeout: 60_000 }, async () => {
  const { server } = suite.started();
  assert.ok(pages, 'the first test set up the room');
  const client = new EgressClient(server.httpUrl, DEV_API_KEY, DEV_API_SECRET);
  const started = await client.startRoomCompositeEgress(roomName, new EncodedFileOutput({ filepath: '{room_name}/audio', fileType: EncodedFileType.DEFAULT_FILETYPE }), { audioOnly: true });
  const active = await waitActive(client, started.egressId);
  await new Promise((r) => setTimeout(r, 3_000));
  const wall = (performance.now() - active) / 1000;
  await client.stopEgress(started.egressId);
  const done = await waitEnded(client, started.egressId);
  assert.equal(done.status, EgressStatus.EGRESS_COMPLETE, done.error);
  const file = done.fileResults[0]!;
  assert.equal(file.filename, `${roomName}/audio.ogg`);
  const probed = await probeFile(file.location);
  assert.deepEqual(probed.streams.map((s) => `${s.codecType}/${s.codecName}`), ['audio/opus']);
  assert.ok(Math.abs(probed.durationSec - wall) <= wall * 0.1, `duration ${probed.durationSec} s for ${wall.toFixed(2)} s of wall time`);
  const pcm = await decodeAudio(file.location);
  const tone = checkTone(pcm.subarray(pcm.length - 96_000), { sampleRate: 48_000, expectedHz: 440 });
  assert.ok(tone.matches, `tone: ${JSON.stringify(tone)}`);
  // UpdateLayout has nothing to change in an audio-only composite
  await assert.rejects(client.updateLayout(started.egressId, 'grid'), /audio only|already ended/);
});

test('room composite livestreamed: HLS and an RTMP stream from one encode, every participant in its tile', { timeout: 90_000 }, async () => {
  const { server } = suite.started();
  assert.ok(pages, 'the first test set up the room');
  const client = new EgressClient(server.httpUrl, DEV_API_KEY, DEV_API_SECRET);
  const rtmp = await startRtmpReceiver(join(outDir, 'live.flv'));
  try {
    const started = await client.startRoomCompositeEgress(roomName, {
      segments: new SegmentedFileOutput({ filenamePrefix: 'live/{room_name}', segmentDuration: 2 }),
      stream: new StreamOutput({ protocol: StreamProtocol.RTMP, urls: [rtmp.url] }),
    }, { layout: 'grid' });
    const active = await waitActive(client, started.egressId);
    await new Promise((r) => setTimeout(r, 5_000));
    const wall = (performance.now() - active) / 1000;
    await client.stopEgress(started.egressId);
    const done = await waitEnded(client, started.egressId);
    assert.equal(done.status, EgressStatus.EGRESS_COMPLETE, done.error);
    assert.equal(await withTimeout(rtmp.done, 10_000, 'the RTMP receiver to finish'), 0);
    assert.deepEqual(done.streamResults.map((x) => StreamInfo_Status[x.status]), ['FINISHED']);
    const seg = done.segmentResults[0]!;
    assert.ok(seg.segmentCount >= 2n, `${seg.segmentCount} segments`);
    const hls = await probeFile(join(outDir, seg.playlistName));
    assert.ok(Math.abs(hls.durationSec - wall) <= wall * 0.15, `HLS ${hls.durationSec} s for ${wall.toFixed(2)} s ACTIVE`);
    for (const path of [join(outDir, seg.playlistName), join(outDir, 'live.flv')]) {
      const probed = await probeFile(path);
      assert.deepEqual(probed.streams.map((x) => `${x.codecType}/${x.codecName}`).sort(), ['audio/aac', 'video/h264'], path);
      // the grid of three, as in the MP4: red and green on top (green's camera muted since the first test: the
      // placeholder), blue below
      const frame = await decodeFrameRgb(path, Math.max(0.5, probed.durationSec - 1));
      const seen = { red: colourAt(frame, 320, 180), green: colourAt(frame, 960, 180), blue: colourAt(frame, 640, 540) };
      assert.equal(whichColour(seen.red), 'red', `${path}: ${JSON.stringify(seen)}`);
      assert.equal(whichColour(seen.blue), 'blue', `${path}: ${JSON.stringify(seen)}`);
      assert.ok(seen.green.every((v) => Math.abs(v - 58) <= 12), `${path}: green's muted tile: ${JSON.stringify(seen)}`);
      const pcm = await decodeAudio(path);
      const tone = checkTone(pcm.subarray(Math.max(0, pcm.length - 96_000)), { sampleRate: 48_000, expectedHz: 440 });
      assert.ok(tone.matches, `${path}: tone ${JSON.stringify(tone)}`);
    }
  } finally {
    rtmp.proc.kill();
  }
});

test('room composite: a killed encoder ends the egress FAILED with the reason; the room goes on', { timeout: 60_000 }, async () => {
  const { server } = suite.started();
  assert.ok(pages, 'the first test set up the room');
  const client = new EgressClient(server.httpUrl, DEV_API_KEY, DEV_API_SECRET);
  const started = await client.startRoomCompositeEgress(roomName, new EncodedFileOutput({ filepath: 'killed/composite' }), { layout: 'grid' });
  await waitActive(client, started.egressId);
  const pid = pidWithArgument(join(outDir, 'killed', 'composite.mp4'));
  assert.ok(pid, 'the encoder ffmpeg is running');
  process.kill(pid, 'SIGKILL');
  const done = await waitEnded(client, started.egressId);
  assert.equal(done.status, EgressStatus.EGRESS_FAILED);
  assert.match(done.error, /the encoder ffmpeg exited \(signal SIGKILL\)/);
  const rooms = new RoomServiceClient(server.httpUrl, DEV_API_KEY, DEV_API_SECRET);
  assert.deepEqual((await rooms.listParticipants(roomName)).map((p) => p.identity).sort(), ['blue', 'green', 'red']);
});

test('room composite: it ends COMPLETE when every participant has left, as LiveKit\'s', { timeout: 60_000 }, async () => {
  const { server } = suite.started();
  assert.ok(pages, 'the first test set up the room');
  const client = new EgressClient(server.httpUrl, DEV_API_KEY, DEV_API_SECRET);
  const started = await client.startRoomCompositeEgress(roomName, new EncodedFileOutput({ filepath: 'left/composite' }), { layout: 'speaker' });
  await waitActive(client, started.egressId);
  await new Promise((r) => setTimeout(r, 1_000));
  await Promise.all(Object.values(pages).map((p) => p.disconnect()));
  const done = await waitEnded(client, started.egressId);
  assert.equal(done.status, EgressStatus.EGRESS_COMPLETE, done.error);
  assert.equal(done.details, 'all participants left the room');
  const probed = await probeFile(done.fileResults[0]!.location);
  assert.deepEqual(probed.streams.map((s) => s.codecName), ['h264', 'aac']);
});

/** Times (s) where `values` (sampled every `stepSec`) rise through `threshold`, at least `gapSec` apart. */
function risingEdges(values: readonly number[], stepSec: number, threshold: number, gapSec = 0.5): number[] {
  const out: number[] = [];
  for (let i = 1; i < values.length; i++) {
    const t = i * stepSec;
    if (values[i - 1]! < threshold && values[i]! >= threshold && (out.length === 0 || t - out.at(-1)! >= gapSec)) out.push(t);
  }
  return out;
}

test('room composite: A/V sync, a flash and a beep together once a second stay together in the file', { timeout: 60_000 }, async () => {
  const { server, browser } = suite.started();
  const [page] = await browser.openParticipants(['sync']);
  const syncRoom = `${roomName}-sync`;
  await page!.connect(server.url, await server.token({ identity: 'sync', room: syncRoom }));
  // one clock for both: the page's AudioContext schedules a 1 kHz beep for 200 ms every second, and the canvas is
  // painted white during the same 200 ms (checked every 10 ms against the same clock), black otherwise
  await page!.call('run', `
    const ctx = new AudioContext({ sampleRate: 48000 });
    await ctx.resume();
    const osc = ctx.createOscillator();
    osc.frequency.value = 1000;
    const gain = ctx.createGain();
    gain.gain.value = 0;
    const dest = ctx.createMediaStreamDestination();
    osc.connect(gain).connect(dest);
    osc.start();
    const t0 = Math.ceil(ctx.currentTime) + 1;
    for (let k = 0; k < 60; k++) { gain.gain.setValueAtTime(0.8, t0 + k); gain.gain.setValueAtTime(0, t0 + k + 0.2); }
    const canvas = document.createElement('canvas');
    canvas.width = 320; canvas.height = 180;
    const g = canvas.getContext('2d');
    setInterval(() => { const t = ctx.currentTime - t0; g.fillStyle = t >= 0 && t % 1 < 0.2 ? '#fff' : '#000'; g.fillRect(0, 0, 320, 180); }, 10);
    await room.localParticipant.publishTrack(new LK.LocalVideoTrack(canvas.captureStream(30).getVideoTracks()[0], undefined, true), { source: LK.Track.Source.Camera, simulcast: false, videoCodec: 'vp8' });
    await room.localParticipant.publishTrack(new LK.LocalAudioTrack(dest.stream.getAudioTracks()[0], undefined, true), { source: LK.Track.Source.Microphone, dtx: false, red: false });
  `);
  const rooms = new RoomServiceClient(server.httpUrl, DEV_API_KEY, DEV_API_SECRET);
  await waitFor(async () => (await rooms.listParticipants(syncRoom)).flatMap((p) => p.tracks).filter((t) => t.mimeType !== '').length === 2, { timeoutMs: 15_000, label: 'two tracks published' });
  const client = new EgressClient(server.httpUrl, DEV_API_KEY, DEV_API_SECRET);
  const started = await client.startRoomCompositeEgress(syncRoom, new EncodedFileOutput({ filepath: 'sync/composite' }), { layout: 'grid' });
  await waitActive(client, started.egressId);
  await new Promise((r) => setTimeout(r, 7_000));
  await client.stopEgress(started.egressId);
  const done = await waitEnded(client, started.egressId);
  assert.equal(done.status, EgressStatus.EGRESS_COMPLETE, done.error);
  const path = done.fileResults[0]!.location;
  const flashes = risingEdges(await frameBrightness(path), 1 / 30, 128);
  const pcm = await decodeAudio(path);
  const windowSamples = 480;
  const power: number[] = [];
  for (let i = 0; i + windowSamples <= pcm.length; i += windowSamples) power.push(goertzelPower(pcm.subarray(i, i + windowSamples), 48_000, 1000));
  const beeps = risingEdges(power, windowSamples / 48_000, Math.max(...power) / 10);
  // each flash against the nearest beep (the first seconds go by before the decoders have their first key frame)
  const offsets = flashes.map((f) => beeps.reduce((best, b) => (Math.abs(f - b) < Math.abs(best) ? f - b : best), Infinity)).filter((o) => Math.abs(o) < 0.5);
  console.log(`A/V: flashes at ${flashes.map((t) => t.toFixed(2)).join(' ')}; beeps at ${beeps.map((t) => t.toFixed(2)).join(' ')}; video - audio ${offsets.map((o) => `${Math.round(o * 1000)} ms`).join(', ')}`);
  assert.ok(offsets.length >= 3, 'at least three flash/beep pairs');
  const median = [...offsets].sort((a, b) => a - b)[Math.floor(offsets.length / 2)]!;
  assert.ok(Math.abs(median) <= 0.1, `median A/V offset ${Math.round(median * 1000)} ms (video after audio when positive)`);
  await page!.disconnect();
});
