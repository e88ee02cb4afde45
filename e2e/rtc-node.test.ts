// Compatibility: two unmodified @livekit/rtc-node 1.1 participants talk through Atrium. X publishes a 440 Hz
// sine (AudioSource, 48 kHz mono, 10 ms frames) and a 320x240 test pattern (VideoSource, ~15 fps); Y hears
// 440 Hz within 5 Hz through an AudioStream and gets 320x240 frames from a VideoStream.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Room } from '@livekit/rtc-node';
import {
  connectRtcNode,
  publishSineTone,
  publishTestPattern,
  readAudioWindow,
  readVideoFrames,
  waitForRemoteTrack,
  type RunningPublisher,
  teardownRtcNode,
} from './helpers/rtc-node.js';
import { startAtrium, type AtriumUnderTest } from './helpers/server.js';
import { createStepRunner } from './helpers/steps.js';
import { dominantFrequency } from './helpers/tone.js';
import { withTimeout } from '@atrium/webrtc/testing/wait-for.js';

const SAMPLE_RATE = 48_000;
const TONE_HZ = 440;
const VIDEO_WIDTH = 320;
const VIDEO_HEIGHT = 240;

let server: AtriumUnderTest | undefined;
const rooms: Room[] = [];
const publishers: RunningPublisher[] = [];
const logLines: string[] = [];

before(async () => {
  server = await withTimeout(startAtrium(), 15_000, 'Atrium to start');
});

after(() =>
  teardownRtcNode({
    publishers,
    rooms,
    also: [
      { what: 'closing Atrium', work: () => server?.close() ?? Promise.resolve() },
    ],
  }),
);

test('rtc-node participants exchange a 440 Hz tone and 320x240 video through Atrium', { timeout: 90_000 }, async (t) => {
  assert.ok(server, 'server started');
  const srv = server;
  const run = createStepRunner({ scenario: 'rtc-node.test.ts', logs: () => logLines });
  const roomName = `rtc-node-e2e-${Date.now()}`;

  const x = await run.step('X connects (rtc-node)', async () => {
    const room = await connectRtcNode(srv.url, await srv.token({ identity: 'x', room: roomName }), { label: 'X', eventLog: logLines });
    rooms.push(room);
    return room;
  });
  const y = await run.step('Y connects (rtc-node)', async () => {
    const room = await connectRtcNode(srv.url, await srv.token({ identity: 'y', room: roomName }), { label: 'Y', eventLog: logLines });
    rooms.push(room);
    return room;
  });

  await run.step('X publishes a 440 Hz sine from an AudioSource (48 kHz mono, 10 ms frames)', async () => {
    const tone = await publishSineTone(x, { frequencyHz: TONE_HZ, sampleRate: SAMPLE_RATE, frameMs: 10, maxDurationMs: 30_000 });
    publishers.push(tone);
    assert.ok(tone.publication.sid?.startsWith('TR_'), `audio track sid ${tone.publication.sid}`);
  });
  await run.step('X publishes a 320x240 RGBA test pattern from a VideoSource at 15 fps', async () => {
    const video = await publishTestPattern(x, { width: VIDEO_WIDTH, height: VIDEO_HEIGHT, fps: 15, maxDurationMs: 30_000 });
    publishers.push(video);
    assert.ok(video.publication.sid?.startsWith('TR_'), `video track sid ${video.publication.sid}`);
  });

  const audio = await run.step("Y subscribes to X's audio track", () =>
    waitForRemoteTrack(y, { kind: 'audio', identity: 'x', label: "[Y] X's audio track subscribed", timeoutMs: 15_000 }),
  );
  const video = await run.step("Y subscribes to X's video track", () =>
    waitForRemoteTrack(y, { kind: 'video', identity: 'x', label: "[Y] X's video track subscribed", timeoutMs: 15_000 }),
  );

  await run.step('Y hears 440 Hz (within 5 Hz) through an AudioStream at 48 kHz', async () => {
    // Skip the first 200 ms of signal (codec start-up), then analyse one second: 1 Hz resolution.
    const skipSamples = SAMPLE_RATE / 5;
    const received = await readAudioWindow(audio.track, {
      sampleRate: SAMPLE_RATE,
      windowSamples: skipSamples + SAMPLE_RATE,
      timeoutMs: 15_000,
    });
    const window = received.samples.subarray(skipSamples);
    const found = dominantFrequency(window, { sampleRate: SAMPLE_RATE, minHz: 100, maxHz: 2_000 });
    run.note(
      `audio: ${received.framesRead} frames read, ${received.leadingSilenceSamples} silent samples skipped, ` +
        `dominant ${found.frequencyHz} Hz (peak/mean ${found.peakToMean.toFixed(1)})`,
    );
    assert.ok(
      Math.abs(found.frequencyHz - TONE_HZ) <= 5,
      `dominant frequency ${found.frequencyHz} Hz, expected ${TONE_HZ} +/- 5 Hz (peak/mean ${found.peakToMean.toFixed(1)})`,
    );
  });

  await run.step('Y reads 320x240 frames from a VideoStream', async () => {
    const sizes = await readVideoFrames(video.track, {
      count: 10,
      timeoutMs: 15_000,
      accept: (s) => s.width === VIDEO_WIDTH && s.height === VIDEO_HEIGHT,
    });
    run.note(`video: ${sizes.length} frames read, last ${JSON.stringify(sizes.at(-1))}`);
  });
  t.diagnostic(`steps:\n${run.history()}`);
});
