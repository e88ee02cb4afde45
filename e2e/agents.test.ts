// Compatibility: an unmodified @livekit/agents 1.9 worker (examples/agents/echo-agent.mjs, its own npm workspace
// with rtc-node 0.13) registers on Atrium's /agent endpoint and is dispatched a JT_ROOM job for every new room; it
// joins as a participant of kind AGENT and echoes the first microphone it hears as its own microphone track.
// - rtc-node 1.1: the participant creates the room, publishes 440 Hz and hears 440 Hz back from the agent.
// - livekit-client in Chromium: the page's fake microphone plays a 440 Hz tone file; the page hears 440 Hz back from
//   the agent, and measures the round trip by switching its microphone off and on (see the test).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ParticipantKind as RtcParticipantKind, type Room } from '@livekit/rtc-node';
import { ParticipantInfo_Kind } from '@livekit/protocol';
import { RoomServiceClient } from 'livekit-server-sdk';
import { agentWorkerOutput, startRegisteredWorker, stopAgentWorkers, type AgentWorkerProcess, type RegisteredWorker } from './helpers/agent-worker.js';
import { launchBrowser, type BrowserHarness } from './helpers/browser.js';
import type { PageEvent } from './helpers/browser-participant.js';
import { echoEdges, type EchoBlock } from './helpers/echo-timing.js';
import {
  connectRtcNode,
  publishSineTone,
  readAudioWindow,
  teardownRtcNode,
  waitForRemoteTrack,
  type RunningPublisher,
} from './helpers/rtc-node.js';
import { DEV_API_KEY, DEV_API_SECRET, startAtrium, type AtriumUnderTest } from './helpers/server.js';
import { createStepRunner } from './helpers/steps.js';
import { checkTone, writeToneWav } from './helpers/tone.js';
import { waitFor, withTimeout } from '@atrium/webrtc/testing/wait-for.js';

const SAMPLE_RATE = 48_000;
const TONE_HZ = 440;
/** The echo's round trip must stay under this (a sanity bound; the measured value is reported). */
const MAX_ECHO_LATENCY_MS = 1_500;
/** How long the microphone stays off, and then on, before the probe's blocks are read (more than the bound). */
const SILENCE_MS = 2_000;
/** How long the echo must have been arriving before the microphone is switched off. */
const STEADY_MS = 2_000;
const delay = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

let server: AtriumUnderTest | undefined;
let echoWorker: RegisteredWorker | undefined;
let browser: BrowserHarness | undefined;
const workers: AgentWorkerProcess[] = [];
const rooms: Room[] = [];
const publishers: RunningPublisher[] = [];
const logLines: string[] = [];
const wavDir = mkdtempSync(join(tmpdir(), 'atrium-agents-'));

before(async () => {
  server = await withTimeout(startAtrium(), 15_000, 'Atrium to start');
  echoWorker = await startRegisteredWorker({ label: 'echo-agent', url: server.url }, workers);
});

after(() =>
  teardownRtcNode({
    publishers,
    rooms,
    also: [
      { what: 'closing Chromium', work: () => browser?.close() ?? Promise.resolve(), timeoutMs: 15_000 },
      // Atrium first: its shutdown takes the agents out of their rooms, so their jobs end and the worker exits at once.
      { what: 'closing Atrium', work: () => server?.close() ?? Promise.resolve() },
      { what: 'stopping the agent worker', work: () => stopAgentWorkers(workers), timeoutMs: 12_000 },
      { what: 'removing the tone file', work: async () => rmSync(wavDir, { recursive: true, force: true }) },
    ],
  }),
);

function started(): { srv: AtriumUnderTest; worker: RegisteredWorker } {
  assert.ok(server && echoWorker, 'Atrium and the echo worker started (see the before hook)');
  return { srv: server, worker: echoWorker };
}

test('an unmodified @livekit/agents 1.9 echo worker is dispatched, joins as an AGENT and echoes a 440 Hz tone', { timeout: 75_000 }, async (t) => {
  const { srv, worker } = started();
  const run = createStepRunner({ scenario: 'agents.test.ts (rtc-node)', logs: () => [...logLines, ...agentWorkerOutput(workers, 60)] });
  run.note(`the worker (node echo-agent.mjs dev) registered on /agent as ${worker.workerId}`);
  const roomName = `agents-e2e-${Date.now()}`;

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
    const tone = checkTone(received.samples.subarray(skipSamples), { sampleRate: SAMPLE_RATE, expectedHz: TONE_HZ });
    run.note(`echo: ${received.framesRead} frames, dominant ${tone.frequencyHz} Hz (peak/mean ${tone.peakToMean.toFixed(1)})`);
    assert.ok(tone.matches, `dominant frequency ${tone.frequencyHz} Hz, expected ${TONE_HZ} +/- ${tone.toleranceHz} Hz`);
  });
  await run.step('X leaves (its echo job ends before the next test measures timing)', async () => {
    await Promise.all(publishers.splice(0).map((p) => p.stop()));
    await Promise.all(rooms.splice(0).map((r) => r.disconnect()));
  });
  t.diagnostic(`steps:\n${run.history()}`);
});

// How the round trip is measured: Chromium's fake microphone plays a steady 440 Hz tone file (a WAV written here,
// --use-file-for-fake-audio-capture). In the page one ScriptProcessorNode reads both the local microphone track and
// the agent's echo track, and records per 256-frame block (5.3 ms) the 440 Hz power of each: one sample clock for
// what is sent and what comes back. After two seconds of steady echo the test disables the microphone's
// MediaStreamTrack (it sends silence; no signalling) for 2 s, then enables it for 2 s. Each switch is an edge in the
// local power; the same edge arrives in the echo one round trip later (page -> Atrium -> agent's rtc-node decode,
// AudioSource, encode -> Atrium -> page, jitter buffers included). The onset counts only if the echo was silent just
// before it (else it could be an older one). Nothing CPU-heavy runs in this process meanwhile: it also runs Atrium.
test('livekit-client in Chromium: the echo agent joins an auto-created room, the page hears its 440 Hz back and measures the round trip', { timeout: 90_000 }, async (t) => {
  const { srv } = started();
  const wav = join(wavDir, 'tone-440.wav');
  writeToneWav(wav, { frequencyHz: TONE_HZ, amplitude: 0.5, seconds: 2 });
  const harness = await withTimeout(launchBrowser({ extraArgs: [`--use-file-for-fake-audio-capture=${wav}`] }), 30_000, 'Chromium to launch');
  browser = harness;
  const run = createStepRunner({ scenario: 'agents.test.ts (livekit-client)', logs: () => [...harness.logs(), ...agentWorkerOutput(workers, 60)] });
  const roomName = `agents-browser-${Date.now()}`;
  const page = await harness.openParticipant('page');

  await run.step('the page connects (livekit-client), creating the room, and publishes its microphone (the tone file)', async () => {
    // No audio processing: noise suppression removes a steady tone, echo cancellation would fight the echo.
    const roomOptions = { audioCaptureDefaults: { noiseSuppression: false, echoCancellation: false, autoGainControl: false } };
    await page.connect(srv.url, await srv.token({ identity: 'page', room: roomName }), roomOptions);
    await page.setMicrophoneEnabled(true);
  });
  const micSid = (await page.localPublications()).find((p) => p.source === 'microphone')?.trackSid;
  assert.ok(micSid, 'the page publishes a microphone track');

  const echo = await run.step("the agent joins (automatic dispatch) and the page subscribes to the agent's echo track", async () => {
    const subscribed = await page.waitForEvent((e: PageEvent) => e.type === 'trackSubscribed' && e.kind === 'audio' && String(e.participant).startsWith('agent-AJ_'), {
      label: "the agent's audio track subscribed",
      timeoutMs: 30_000,
    });
    run.note(`echo track ${subscribed.trackSid} from ${subscribed.participant}`);
    return { trackSid: String(subscribed.trackSid), identity: String(subscribed.participant) };
  });

  const probe = await page.call<{ sampleRate: number; blockFrames: number }>('startEchoProbe', micSid, echo.trackSid, TONE_HZ);
  const blockMs = (probe.blockFrames / probe.sampleRate) * 1000;
  const blocks = async (): Promise<EchoBlock[]> => (await page.call<{ blocks: EchoBlock[] }>('echoProbe', 0)).blocks;
  let knownCount = 0;
  /** Waits until the last `count` blocks satisfy `ok` (at or after block `from`); returns the block count then. */
  const waitForBlocks = (label: string, from: number, count: number, ok: (b: EchoBlock) => boolean, timeoutMs: number): Promise<number> =>
    waitFor(
      async () => {
        // Only the blocks that can matter cross over from the page.
        const since = Math.max(from, knownCount - count);
        const r = await page.call<{ count: number; blocks: EchoBlock[] }>('echoProbe', since);
        knownCount = r.count;
        const last = r.blocks.slice(-count);
        return r.count - from >= count && last.length === count && last.every(ok) ? r.count : undefined;
      },
      { label, timeoutMs, intervalMs: 100 },
    );

  // Two seconds: the jitter buffers on the way settle after the first packets.
  await run.step('the echo arrives steadily: two seconds of blocks where it carries at least 1% of the local tone power', () =>
    waitForBlocks('two seconds of echoed tone', 0, Math.ceil(STEADY_MS / blockMs), (b) => b[0] > 0 && b[1] > b[0] / 100, 20_000),
  );

  const edges = await run.step('microphone off, then on: the echo follows each switch within the bound', async () => {
    const offBlock = await page.call<number>('setMicrophoneTrackEnabled', false);
    await delay(SILENCE_MS);
    const onBlock = await page.call<number>('setMicrophoneTrackEnabled', true);
    await delay(SILENCE_MS);
    const e = echoEdges(await blocks(), { offBlock, onBlock, blockFrames: probe.blockFrames, sampleRate: probe.sampleRate });
    run.note(
      `blocks of ${blockMs.toFixed(2)} ms: off at ${e.localOff} -> echo off at ${e.remoteOff} (${e.offLatencyMs.toFixed(0)} ms); ` +
        `on at ${e.localOn} -> echo on at ${e.remoteOn} (${e.onLatencyMs.toFixed(0)} ms)`,
    );
    assert.ok(e.echoSilentBeforeOn, 'the echo was silent just before the microphone came back on (the onset is this one)');
    for (const [what, ms] of [['onset', e.onLatencyMs], ['offset', e.offLatencyMs]] as const) {
      assert.ok(ms > 0 && ms < MAX_ECHO_LATENCY_MS, `echo ${what} latency ${ms.toFixed(0)} ms, expected 0 < x < ${MAX_ECHO_LATENCY_MS}`);
    }
    return e;
  });
  // After the timing: the frequency scan is CPU work in this process, which also runs Atrium.
  await run.step('the page hears the echo at 440 Hz (within 5 Hz) over its last second', async () => {
    const samples = Int16Array.from(await page.call<number[]>('echoProbeSamples'));
    const tone = checkTone(samples, { sampleRate: probe.sampleRate, expectedHz: TONE_HZ });
    run.note(`echo in the page: dominant ${tone.frequencyHz} Hz (peak/mean ${tone.peakToMean.toFixed(1)})`);
    assert.ok(tone.matches, `dominant frequency ${tone.frequencyHz} Hz, expected ${TONE_HZ} +/- ${tone.toleranceHz} Hz`);
  });
  t.diagnostic(`echo round trip (livekit-client -> Atrium -> @livekit/agents echo -> Atrium -> livekit-client): onset ${edges.onLatencyMs.toFixed(0)} ms, offset ${edges.offLatencyMs.toFixed(0)} ms`);
  t.diagnostic(`steps:\n${run.history()}`);
  await page.disconnect().catch(() => undefined);
});
