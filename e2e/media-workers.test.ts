// A room that spans two media workers (rtc.media_workers 2, rtc.room_participants_per_worker 2): four unmodified
// @livekit/rtc-node participants, two placed on each worker. P0 (worker 0) publishes a 440 Hz tone and 640x360 video
// with simulcast; P2 (worker 1) publishes a 660 Hz tone and 320x240 video. Every subscriber, on either worker, hears
// each tone at its frequency and decodes each video at its full size: tracks cross between the workers through pipes.
// Then a worker dies: the server stays up, replaces it, and the room's participants rejoin and get their media back;
// those of the first room that were on it rejoin onto the replacement while it is still starting, and hear the tone
// published on the other, live worker again (their subscriptions need a pipe to the replacement).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Room } from '@livekit/rtc-node';
import {
  connectRtcNode, publishSineTone, publishTestPattern, readAudioWindow, readVideoFrames, waitForRemoteTrack,
  type RunningPublisher, teardownRtcNode,
} from './helpers/rtc-node.js';
import { startAtrium, type AtriumUnderTest } from './helpers/server.js';
import { createStepRunner } from './helpers/steps.js';
import { dominantFrequency } from './helpers/tone.js';
import { waitFor, withTimeout } from '@atrium/webrtc/testing/wait-for.js';

const SAMPLE_RATE = 48_000;

let server: AtriumUnderTest | undefined;
const rooms: Room[] = [];
const publishers: RunningPublisher[] = [];
const logLines: string[] = [];
/** The first test's participants (P0, P1 placed on worker 0; P2, P3 on worker 1), for the worker-death test. */
let firstRoom: Room[] = [];

before(async () => {
  server = await withTimeout(
    startAtrium({ config: { rtc: { mediaWorkers: 2, roomParticipantsPerWorker: 2 } } }),
    30_000,
    'Atrium with two media workers to start',
  );
});

after(() =>
  teardownRtcNode({ publishers, rooms, also: [{ what: 'closing Atrium', work: () => server?.close() ?? Promise.resolve() }] }),
);

interface Published {
  identity: string;
  toneHz: number;
  width: number;
  height: number;
}

test('a room spanning two media workers: every subscriber on either worker gets every track at its size and pitch', { timeout: 120_000 }, async (t) => {
  assert.ok(server, 'server started');
  const srv = server;
  const workers = srv.server.mediaWorkers;
  assert.ok(workers, 'media runs in worker threads');
  assert.equal(srv.server.udpPorts.length, 2, `two UDP ports, one per worker: ${srv.server.udpPorts.join(', ')}`);
  assert.notEqual(srv.server.udpPorts[0], srv.server.udpPorts[1]);
  const run = createStepRunner({ scenario: 'media-workers.test.ts', logs: () => logLines });
  const roomName = `workers-${Date.now()}`;

  const ps: Room[] = [];
  for (let i = 0; i < 4; i++) {
    ps.push(
      await run.step(`P${i} connects`, async () => {
        const room = await connectRtcNode(srv.url, await srv.token({ identity: `p${i}`, room: roomName }), { label: `P${i}`, eventLog: logLines });
        rooms.push(room);
        return room;
      }),
    );
  }

  firstRoom = ps;
  await run.step('the room spans both workers: two participants on each', async () => {
    const placement = workers.placementOf(roomName);
    assert.deepEqual([...placement.entries()].sort(), [[0, 2], [1, 2]], `placement ${JSON.stringify([...placement])}`);
  });

  const published: Published[] = [
    { identity: 'p0', toneHz: 440, width: 640, height: 360 },
    { identity: 'p2', toneHz: 660, width: 320, height: 240 },
  ];
  for (const p of published) {
    const room = ps[Number(p.identity.slice(1))]!;
    await run.step(`${p.identity} publishes a ${p.toneHz} Hz tone and ${p.width}x${p.height} video`, async () => {
      publishers.push(await publishSineTone(room, { frequencyHz: p.toneHz, sampleRate: SAMPLE_RATE, frameMs: 10, maxDurationMs: 60_000 }));
      publishers.push(
        await publishTestPattern(room, { width: p.width, height: p.height, fps: 15, maxDurationMs: 60_000, simulcast: p.identity === 'p0' }),
      );
    });
  }

  for (let i = 0; i < 4; i++) {
    const subscriber = ps[i]!;
    for (const p of published) {
      if (p.identity === `p${i}`) continue;
      const where = `P${i} (worker ${i < 2 ? 0 : 1}) from ${p.identity} (worker ${p.identity === 'p0' ? 0 : 1})`;
      await run.step(`${where}: ${p.toneHz} Hz and ${p.width}x${p.height} frames`, async () => {
        const audio = await waitForRemoteTrack(subscriber, { kind: 'audio', identity: p.identity, label: `${where} audio`, timeoutMs: 15_000 });
        const video = await waitForRemoteTrack(subscriber, { kind: 'video', identity: p.identity, label: `${where} video`, timeoutMs: 15_000 });
        const skip = SAMPLE_RATE / 5;
        const received = await readAudioWindow(audio.track, { sampleRate: SAMPLE_RATE, windowSamples: skip + SAMPLE_RATE / 2, timeoutMs: 15_000 });
        const found = dominantFrequency(received.samples.subarray(skip), { sampleRate: SAMPLE_RATE, minHz: 100, maxHz: 2_000 });
        assert.ok(Math.abs(found.frequencyHz - p.toneHz) <= 6, `${where}: dominant ${found.frequencyHz} Hz, expected ${p.toneHz}`);
        const sizes = await readVideoFrames(video.track, {
          count: 5,
          timeoutMs: 20_000,
          accept: (s) => s.width === p.width && s.height === p.height,
        });
        run.note(`${where}: ${found.frequencyHz} Hz, last frame ${JSON.stringify(sizes.at(-1))}`);
      });
    }
  }

  await run.step('packets crossed between the workers in both directions', async () => {
    // Each worker reports its pipe counters once a second.
    await waitFor(() => workers.workers.every((w) => (w.last?.pipePacketsIn ?? 0) > 100 && (w.last?.pipePacketsOut ?? 0) > 100) || undefined, {
      label: 'both workers sent and received pipe packets',
      timeoutMs: 5_000,
      describe: () => JSON.stringify(workers.workers.map((w) => ({ in: w.last?.pipePacketsIn, out: w.last?.pipePacketsOut }))),
    });
  });
  t.diagnostic(`steps:\n${run.history()}`);
});

test('a media worker that dies is replaced; its participants are asked to rejoin and get their media back', { timeout: 120_000 }, async (t) => {
  assert.ok(server, 'server started');
  const srv = server;
  const workers = srv.server.mediaWorkers!;
  const run = createStepRunner({ scenario: 'media-workers.test.ts (worker death)', logs: () => logLines });
  const roomName = `workers-death-${Date.now()}`;
  const [x, y] = await run.step('X and Y join a new room (two per worker: both on one worker)', async () => {
    const out: Room[] = [];
    for (const identity of ['x', 'y']) {
      const room = await connectRtcNode(srv.url, await srv.token({ identity, room: roomName }), { label: identity.toUpperCase(), eventLog: logLines });
      rooms.push(room);
      out.push(room);
    }
    return out as [Room, Room];
  });
  const placement = workers.placementOf(roomName);
  assert.equal(placement.size, 1, `one worker holds the room: ${JSON.stringify([...placement])}`);
  const yWorker = [...placement.keys()][0]!;
  await run.step('X publishes a 550 Hz tone; Y hears it', async () => {
    publishers.push(await publishSineTone(x, { frequencyHz: 550, sampleRate: SAMPLE_RATE, frameMs: 10, maxDurationMs: 60_000 }));
    const audio = await waitForRemoteTrack(y, { kind: 'audio', identity: 'x', label: 'Y gets X audio', timeoutMs: 15_000 });
    const received = await readAudioWindow(audio.track, { sampleRate: SAMPLE_RATE, windowSamples: SAMPLE_RATE / 2, timeoutMs: 15_000 });
    const found = dominantFrequency(received.samples.subarray(SAMPLE_RATE / 5), { sampleRate: SAMPLE_RATE, minHz: 100, maxHz: 2_000 });
    assert.ok(Math.abs(found.frequencyHz - 550) <= 6, `dominant ${found.frequencyHz} Hz`);
  });
  const ySidBefore = y.localParticipant?.sid;
  const firstSidsBefore = firstRoom.map((r) => r.localParticipant?.sid);
  const restartsBefore = workers.restarts;
  await run.step(`worker ${yWorker} (the room's) dies; the server stays up and replaces it`, async () => {
    await workers.workers[yWorker]!.worker.terminate();
    await waitFor(() => (workers.restarts > restartsBefore && workers.workers[yWorker]?.isAlive) || undefined, {
      label: 'a replacement worker', timeoutMs: 30_000, describe: () => `restarts ${workers.restarts}`,
    });
  });
  await run.step('Y rejoins (LeaveRequest RECONNECT, MEDIA_FAILURE) and hears the tone again', async () => {
    await waitFor(() => (y.localParticipant?.sid !== undefined && y.localParticipant.sid !== ySidBefore ? true : undefined), {
      label: 'Y rejoined as a new session', timeoutMs: 30_000, describe: () => `Y sid ${y.localParticipant?.sid} (was ${ySidBefore})`,
    });
    const audio = await waitForRemoteTrack(y, { kind: 'audio', identity: 'x', label: 'Y gets X audio again', timeoutMs: 20_000 });
    const received = await readAudioWindow(audio.track, { sampleRate: SAMPLE_RATE, windowSamples: SAMPLE_RATE / 2, timeoutMs: 20_000 });
    const found = dominantFrequency(received.samples.subarray(SAMPLE_RATE / 5), { sampleRate: SAMPLE_RATE, minHz: 100, maxHz: 2_000 });
    assert.ok(Math.abs(found.frequencyHz - 550) <= 6, `dominant ${found.frequencyHz} Hz after the rejoin`);
  });
  // The first room's participants on the dead worker rejoined too, placed on its replacement before it was up. The
  // publisher on the live worker did not move: they hear its tone through a pipe to the replacement.
  const live = yWorker === 0 ? { identity: 'p2', toneHz: 660 } : { identity: 'p0', toneHz: 440 };
  for (const i of yWorker === 0 ? [0, 1] : [2, 3]) {
    const subscriber = firstRoom[i];
    assert.ok(subscriber, `P${i} of the first room`);
    await run.step(`P${i} (first room, was on worker ${yWorker}) rejoins and hears ${live.identity}'s ${live.toneHz} Hz from worker ${1 - yWorker} again`, async () => {
      await waitFor(() => (subscriber.localParticipant?.sid !== undefined && subscriber.localParticipant.sid !== firstSidsBefore[i] ? true : undefined), {
        label: `P${i} rejoined as a new session`, timeoutMs: 30_000, describe: () => `P${i} sid ${subscriber.localParticipant?.sid} (was ${firstSidsBefore[i]})`,
      });
      const audio = await waitForRemoteTrack(subscriber, { kind: 'audio', identity: live.identity, label: `P${i} gets ${live.identity} audio again`, timeoutMs: 20_000 });
      const received = await readAudioWindow(audio.track, { sampleRate: SAMPLE_RATE, windowSamples: SAMPLE_RATE / 2, timeoutMs: 20_000 });
      const found = dominantFrequency(received.samples.subarray(SAMPLE_RATE / 5), { sampleRate: SAMPLE_RATE, minHz: 100, maxHz: 2_000 });
      assert.ok(Math.abs(found.frequencyHz - live.toneHz) <= 6, `P${i}: dominant ${found.frequencyHz} Hz after the rejoin, expected ${live.toneHz}`);
    });
  }
  t.diagnostic(`steps:\n${run.history()}`);
});
