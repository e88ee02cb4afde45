// A room that spans two media workers (rtc.media_workers 2, rtc.room_participants_per_worker 2): four unmodified
// @livekit/rtc-node participants, two placed on each worker. P0 (worker 0) publishes a 440 Hz tone and 640x360 video
// with simulcast; P2 (worker 1) publishes a 660 Hz tone and 320x240 video. Every subscriber, on either worker, hears
// each tone at its frequency and decodes each video at its full size: tracks cross between the workers through pipes.
// Then a worker dies: the server stays up and replaces it; the participants that were on it rejoin (on the live worker:
// a starting replacement takes participants only when no worker is ready) and hear the tones published on the other
// worker again, while those on the live worker keep their sessions.
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
  // X publishes; Y shares its worker; Z, the third, goes to the other worker (two of the room per worker). Z's worker
  // dies. (The publisher stays up: a publisher that must republish after a full reconnect depends on the client SDK's
  // republish, which in @livekit/rtc-node 1.1.0 can stall on its side: docs/multicore.md, Failure.)
  const [x, y, z] = await run.step('X, Y and Z join a new room: X and Y on one worker, Z on the other', async () => {
    const out: Room[] = [];
    for (const identity of ['x', 'y', 'z']) {
      const room = await connectRtcNode(srv.url, await srv.token({ identity, room: roomName }), { label: identity.toUpperCase(), eventLog: logLines });
      rooms.push(room);
      out.push(room);
    }
    return out as [Room, Room, Room];
  });
  const placement = workers.placementOf(roomName);
  assert.equal(placement.size, 2, `the room spans both workers: ${JSON.stringify([...placement])}`);
  const xWorker = [...placement.entries()].find(([, n]) => n === 2)?.[0];
  assert.ok(xWorker !== undefined, `two of the room on one worker: ${JSON.stringify([...placement])}`);
  const zWorker = 1 - xWorker;
  await run.step('X publishes a 550 Hz tone; Y and Z (through a pipe) hear it', async () => {
    publishers.push(await publishSineTone(x, { frequencyHz: 550, sampleRate: SAMPLE_RATE, frameMs: 10, maxDurationMs: 60_000 }));
    for (const [who, room] of [['Y', y], ['Z', z]] as const) {
      const audio = await waitForRemoteTrack(room, { kind: 'audio', identity: 'x', label: `${who} gets X audio`, timeoutMs: 15_000 });
      const received = await readAudioWindow(audio.track, { sampleRate: SAMPLE_RATE, windowSamples: SAMPLE_RATE / 2, timeoutMs: 15_000 });
      const found = dominantFrequency(received.samples.subarray(SAMPLE_RATE / 5), { sampleRate: SAMPLE_RATE, minHz: 100, maxHz: 2_000 });
      assert.ok(Math.abs(found.frequencyHz - 550) <= 6, `${who}: dominant ${found.frequencyHz} Hz`);
    }
  });
  const zSidBefore = z.localParticipant?.sid;
  const ySidBefore = y.localParticipant?.sid;
  const firstSidsBefore = firstRoom.map((r) => r.localParticipant?.sid);
  const restartsBefore = workers.restarts;
  await run.step(`worker ${zWorker} (Z's) dies; the server stays up and replaces it`, async () => {
    await workers.workers[zWorker]!.worker.terminate();
    await waitFor(() => (workers.restarts > restartsBefore && workers.workers[zWorker]?.isAlive) || undefined, {
      label: 'a replacement worker', timeoutMs: 30_000, describe: () => `restarts ${workers.restarts}`,
    });
  });
  await run.step('Z rejoins (LeaveRequest RECONNECT, MEDIA_FAILURE) as a new session and hears the tone again', async () => {
    await waitFor(() => (z.localParticipant?.sid !== undefined && z.localParticipant.sid !== zSidBefore ? true : undefined), {
      label: 'Z rejoined as a new session', timeoutMs: 30_000, describe: () => `Z sid ${z.localParticipant?.sid} (was ${zSidBefore})`,
    });
    const audio = await waitForRemoteTrack(z, { kind: 'audio', identity: 'x', label: 'Z gets X audio again', timeoutMs: 20_000 });
    const received = await readAudioWindow(audio.track, { sampleRate: SAMPLE_RATE, windowSamples: SAMPLE_RATE / 2, timeoutMs: 20_000 });
    const found = dominantFrequency(received.samples.subarray(SAMPLE_RATE / 5), { sampleRate: SAMPLE_RATE, minHz: 100, maxHz: 2_000 });
    assert.ok(Math.abs(found.frequencyHz - 550) <= 6, `dominant ${found.frequencyHz} Hz after the rejoin`);
  });
  await run.step('Y, on the live worker, kept its session', async () => {
    assert.equal(y.localParticipant?.sid, ySidBefore, 'Y was not asked to rejoin');
  });
  // The first room's participants on the dead worker rejoined too. The publisher on the live worker did not move:
  // they hear its tone again.
  const live = zWorker === 0 ? { identity: 'p2', toneHz: 660 } : { identity: 'p0', toneHz: 440 };
  for (const i of zWorker === 0 ? [0, 1] : [2, 3]) {
    const subscriber = firstRoom[i];
    assert.ok(subscriber, `P${i} of the first room`);
    await run.step(`P${i} (first room, was on worker ${zWorker}) rejoins and hears ${live.identity}'s ${live.toneHz} Hz from worker ${1 - zWorker} again`, async () => {
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
