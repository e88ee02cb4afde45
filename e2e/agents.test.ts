// Compatibility: an unmodified @livekit/agents 1.9 worker (examples/agents/echo-agent.mjs, its own npm workspace
// with rtc-node 0.13) registers on Atrium's /agent endpoint, is dispatched a JT_ROOM job when an rtc-node 1.1
// participant creates a room, joins it as a participant of kind AGENT, and echoes the participant's 440 Hz tone
// back as its own microphone track, which the participant hears at 440 Hz.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { ParticipantKind as RtcParticipantKind, type Room } from '@livekit/rtc-node';
import { ParticipantInfo_Kind } from '@livekit/protocol';
import { RoomServiceClient } from 'livekit-server-sdk';
import {
  connectRtcNode,
  publishSineTone,
  readAudioWindow,
  teardownRtcNode,
  waitForRemoteTrack,
  type RunningPublisher,
} from './helpers/rtc-node.js';
import { startAgentWorker, type AgentWorker } from './helpers/agent-worker.js';
import { DEV_API_KEY, DEV_API_SECRET, startAtrium, type AtriumUnderTest } from './helpers/server.js';
import { createStepRunner } from './helpers/steps.js';
import { dominantFrequency } from './helpers/tone.js';
import { waitFor, withTimeout } from '@atrium/webrtc/testing/wait-for.js';

const SAMPLE_RATE = 48_000;
const TONE_HZ = 440;
/** The worker is killed by `timeout` after this even if this process dies without running `after`. */
const WORKER_MAX_LIFETIME_S = 90;

let server: AtriumUnderTest | undefined;
let worker: AgentWorker | undefined;
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
      { what: 'stopping the agent worker', work: () => worker?.stop() ?? Promise.resolve(), timeoutMs: 12_000 },
      { what: 'closing Atrium', work: () => server?.close() ?? Promise.resolve() },
    ],
  }),
);

test('an unmodified @livekit/agents 1.9 echo worker is dispatched, joins as an AGENT and echoes a 440 Hz tone', { timeout: 75_000 }, async (t) => {
  assert.ok(server, 'server started');
  const srv = server;
  const run = createStepRunner({ scenario: 'agents.test.ts', logs: () => [...logLines, '--- worker output ---', ...(worker?.output.slice(-60) ?? [])] });
  const roomName = `agents-e2e-${Date.now()}`;

  await run.step('the echo agent worker starts (node echo-agent.mjs dev) and registers on /agent', async () => {
    worker = await startAgentWorker({ script: 'echo-agent.mjs', url: srv.url, maxLifetimeS: WORKER_MAX_LIFETIME_S });
  });

  const x = await run.step('X connects (rtc-node 1.1), creating the room', async () => {
    const room = await connectRtcNode(srv.url, await srv.token({ identity: 'x', room: roomName }), { label: 'X', eventLog: logLines });
    rooms.push(room);
    return room;
  });
  await run.step('X publishes a 440 Hz sine as its microphone', async () => {
    publishers.push(await publishSineTone(x, { frequencyHz: TONE_HZ, sampleRate: SAMPLE_RATE, frameMs: 10, maxDurationMs: 40_000 }));
  });

  const agentIdentity = await run.step('the job is dispatched and the agent joins the room as a participant of kind AGENT', async () => {
    const api = new RoomServiceClient(srv.httpUrl, DEV_API_KEY, DEV_API_SECRET);
    const agent = await waitFor(
      async () => (await api.listParticipants(roomName)).find((p) => p.identity !== 'x'),
      { label: 'a second participant in the room (listParticipants)', timeoutMs: 20_000 },
    );
    run.note(`agent participant ${agent.identity} (${agent.sid}) kind ${ParticipantInfo_Kind[agent.kind]}, attributes ${JSON.stringify(agent.attributes)}`);
    assert.equal(agent.kind, ParticipantInfo_Kind.AGENT, `listParticipants kind ${ParticipantInfo_Kind[agent.kind]}`);
    const seen = await waitFor(() => x.remoteParticipants.get(agent.identity), {
      label: '[X] the agent as a remote participant',
      timeoutMs: 10_000,
    });
    assert.equal(seen.kind, RtcParticipantKind.AGENT, `rtc-node sees kind ${String(seen.kind)}`);
    return agent.identity;
  });

  await run.step("X receives the agent's echo track and hears 440 Hz (within 5 Hz)", async () => {
    const echo = await waitForRemoteTrack(x, { kind: 'audio', identity: agentIdentity, label: "[X] the agent's echo track subscribed", timeoutMs: 20_000 });
    const skipSamples = SAMPLE_RATE / 5;
    const received = await readAudioWindow(echo.track, { sampleRate: SAMPLE_RATE, windowSamples: skipSamples + SAMPLE_RATE, timeoutMs: 15_000 });
    const found = dominantFrequency(received.samples.subarray(skipSamples), { sampleRate: SAMPLE_RATE, minHz: 100, maxHz: 2_000 });
    run.note(`echo: ${received.framesRead} frames, dominant ${found.frequencyHz} Hz (peak/mean ${found.peakToMean.toFixed(1)})`);
    assert.ok(Math.abs(found.frequencyHz - TONE_HZ) <= 5, `dominant frequency ${found.frequencyHz} Hz, expected ${TONE_HZ} +/- 5 Hz`);
  });
  t.diagnostic(`steps:\n${run.history()}`);
});
