// The example agents of examples/agents/ (unmodified @livekit/agents 1.9 workers, their own npm workspace with
// rtc-node 0.13) against Atrium, each checked by what a participant (rtc-node 1.1) notices:
// - greeter-agent.mjs (automatic dispatch): joins every new room as an AGENT, sends each participant a welcome
//   data message naming it, and plays a 660 Hz chime on its audio track;
// - vad-agent.mjs (explicit dispatch as `vad`): Silero VAD on the participant's microphone; `vad` data messages
//   and the agent's `speaking` attribute follow speech, silence and speech again;
// - camera-monitor-agent.mjs (explicit dispatch as `camera-monitor`): no alert while the camera shows a static
//   scene, an `alerts` data message naming the track soon after something moves.
// The greeter runs first and is stopped before the others, so its automatic dispatch does not join their rooms.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { ParticipantKind as RtcParticipantKind, RoomEvent, type Room } from '@livekit/rtc-node';
import { ParticipantInfo_Kind } from '@livekit/protocol';
import { AgentDispatchClient, RoomServiceClient } from 'livekit-server-sdk';
import {
  connectRtcNode,
  publishGeneratedAudio,
  publishPaintedVideo,
  readAudioWindow,
  teardownRtcNode,
  waitForRemoteTrack,
  type RunningPublisher,
} from './helpers/rtc-node.js';
import { startAgentWorker, type AgentWorker } from './helpers/agent-worker.js';
import { DEV_API_KEY, DEV_API_SECRET, startAtrium, type AtriumUnderTest } from './helpers/server.js';
import { SpeechLikeVoice } from './helpers/speech.js';
import { createStepRunner, type StepRunner } from './helpers/steps.js';
import { dominantFrequency } from './helpers/tone.js';
import { waitFor, withTimeout } from '@atrium/webrtc/testing/wait-for.js';

const SAMPLE_RATE = 48_000;
/** Each worker is killed by `timeout` after this even if this process dies without running `after`. */
const WORKER_MAX_LIFETIME_S = 60;

let server: AtriumUnderTest | undefined;
const workers: AgentWorker[] = [];
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
      { what: 'stopping the agent workers', work: () => Promise.all(workers.map((w) => w.stop())), timeoutMs: 12_000 },
      { what: 'closing Atrium', work: () => server?.close() ?? Promise.resolve() },
    ],
  }),
);

function requireServer(): AtriumUnderTest {
  assert.ok(server, 'server started');
  return server;
}

function stepRunner(scenario: string, worker: () => AgentWorker | undefined): StepRunner {
  return createStepRunner({ scenario, logs: () => [...logLines, '--- worker output ---', ...(worker()?.output.slice(-80) ?? [])] });
}

async function startWorker(script: string, srv: AtriumUnderTest): Promise<AgentWorker> {
  const worker = await startAgentWorker({ script, url: srv.url, maxLifetimeS: WORKER_MAX_LIFETIME_S });
  workers.push(worker);
  return worker;
}

interface ReceivedMessage {
  atMs: number;
  from: string | undefined;
  json: Record<string, unknown>;
}

/** Collects the JSON data messages `room` receives on `topic`, with their arrival times. */
function collectMessages(room: Room, topic: string): ReceivedMessage[] {
  const messages: ReceivedMessage[] = [];
  room.on(RoomEvent.DataReceived, (payload, participant, _kind, receivedTopic) => {
    if (receivedTopic !== topic) return;
    const text = new TextDecoder().decode(payload);
    logLines.push(`${new Date().toISOString().slice(11, 23)} data on ${topic} from ${participant?.identity ?? '?'}: ${text}`);
    messages.push({ atMs: Date.now(), from: participant?.identity, json: JSON.parse(text) as Record<string, unknown> });
  });
  return messages;
}

/** Waits for the one agent participant in `roomName` (listParticipants) and checks its kind both ways. */
async function waitForAgent(run: StepRunner, srv: AtriumUnderTest, room: Room, roomName: string, humans: string[]): Promise<string> {
  const api = new RoomServiceClient(srv.httpUrl, DEV_API_KEY, DEV_API_SECRET);
  const agent = await waitFor(
    async () => (await api.listParticipants(roomName)).find((p) => !humans.includes(p.identity)),
    { label: `an agent participant in ${roomName} (listParticipants)`, timeoutMs: 20_000 },
  );
  run.note(`agent ${agent.identity} kind ${ParticipantInfo_Kind[agent.kind]}, attributes ${JSON.stringify(agent.attributes)}`);
  assert.equal(agent.kind, ParticipantInfo_Kind.AGENT, `listParticipants kind ${ParticipantInfo_Kind[agent.kind]}`);
  const seen = await waitFor(() => room.remoteParticipants.get(agent.identity), { label: 'the agent as a remote participant', timeoutMs: 10_000 });
  assert.equal(seen.kind, RtcParticipantKind.AGENT, `rtc-node sees kind ${String(seen.kind)}`);
  return agent.identity;
}

/** Resolves when the server tells `room` that someone subscribed to one of its tracks (track_subscribed). */
function nextLocalSubscription(room: Room, timeoutMs: number, label: string): Promise<void> {
  return withTimeout(new Promise<void>((resolve) => room.once(RoomEvent.LocalTrackSubscribed, () => resolve())), timeoutMs, label);
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

test('greeter-agent (automatic dispatch) welcomes each participant by name and plays a 660 Hz chime', { timeout: 60_000 }, async (t) => {
  const srv = requireServer();
  let worker: AgentWorker | undefined;
  const run = stepRunner('agent-examples greeter', () => worker);
  const roomName = `greeter-e2e-${Date.now()}`;
  const CHIME_HZ = 660;
  try {
    await run.step('the greeter worker starts (node greeter-agent.mjs dev) and registers', async () => {
      worker = await startWorker('greeter-agent.mjs', srv);
    });
    const grace = await run.step('Grace connects, creating the room', async () => {
      const room = await connectRtcNode(srv.url, await srv.token({ identity: 'grace', name: 'Grace', room: roomName }), { label: 'grace', eventLog: logLines });
      rooms.push(room);
      return room;
    });
    const graceMessages = collectMessages(grace, 'greetings');
    const agentIdentity = await run.step('the automatic dispatch brings the greeter in as a participant of kind AGENT', () =>
      waitForAgent(run, srv, grace, roomName, ['grace', 'henry']),
    );
    await run.step('Grace gets a welcome data message (topic greetings) from the greeter naming her', async () => {
      const welcome = await waitFor(() => graceMessages[0], { label: '[grace] a message on topic greetings', timeoutMs: 10_000 });
      run.note(`welcome: ${JSON.stringify(welcome.json)}`);
      assert.equal(welcome.from, agentIdentity);
      assert.equal(welcome.json['identity'], 'grace');
      assert.equal(welcome.json['name'], 'Grace');
      assert.match(String(welcome.json['text']), /Grace/);
    });
    await run.step(`Grace subscribes to the greeter's audio and hears the chime at ${CHIME_HZ} Hz (within 5 Hz)`, async () => {
      const chime = await waitForRemoteTrack(grace, { kind: 'audio', identity: agentIdentity, label: "[grace] the greeter's track", timeoutMs: 10_000 });
      const skip = SAMPLE_RATE / 10;
      const received = await readAudioWindow(chime.track, { sampleRate: SAMPLE_RATE, windowSamples: skip + SAMPLE_RATE, timeoutMs: 10_000 });
      const found = dominantFrequency(received.samples.subarray(skip), { sampleRate: SAMPLE_RATE, minHz: 100, maxHz: 2_000 });
      run.note(`chime: ${received.framesRead} frames, ${received.leadingSilenceSamples} silent samples first, dominant ${found.frequencyHz} Hz (peak/mean ${found.peakToMean.toFixed(1)})`);
      assert.ok(Math.abs(found.frequencyHz - CHIME_HZ) <= 5, `dominant frequency ${found.frequencyHz} Hz, expected ${CHIME_HZ} +/- 5 Hz`);
    });
    await run.step('Henry joins later and gets his own welcome; Grace does not get his', async () => {
      const henry = await connectRtcNode(srv.url, await srv.token({ identity: 'henry', name: 'Henry', room: roomName }), { label: 'henry', eventLog: logLines });
      rooms.push(henry);
      const henryMessages = collectMessages(henry, 'greetings');
      const welcome = await waitFor(() => henryMessages[0], { label: '[henry] a message on topic greetings', timeoutMs: 10_000 });
      assert.equal(welcome.from, agentIdentity);
      assert.equal(welcome.json['identity'], 'henry');
      assert.match(String(welcome.json['text']), /Henry/);
      await sleep(300);
      assert.deepEqual(graceMessages.map((m) => m.json['identity']), ['grace'], 'welcomes go only to the participant named');
    });
  } finally {
    // Stop the greeter so the automatic dispatch of the next tests' rooms finds no worker.
    await worker?.stop();
  }
  t.diagnostic(`steps:\n${run.history()}`);
});

test('vad-agent (dispatched as "vad") reports start and end of speech by data message and attribute', { timeout: 60_000 }, async (t) => {
  const srv = requireServer();
  let worker: AgentWorker | undefined;
  const run = stepRunner('agent-examples vad', () => worker);
  const roomName = `vad-e2e-${Date.now()}`;
  const SPEECH_MS = 2_000;
  const PAUSE_MS = 2_000;
  const MAX_START_LATENCY_MS = 1_500;
  /** Silero's end of speech comes after minSilenceDuration (550 ms) of silence. */
  const MAX_END_LATENCY_MS = 1_500;

  await run.step('the VAD worker starts (node vad-agent.mjs dev) and registers as "vad"', async () => {
    worker = await startWorker('vad-agent.mjs', srv);
  });
  const speaker = await run.step('Sam connects', async () => {
    const room = await connectRtcNode(srv.url, await srv.token({ identity: 'sam', room: roomName }), { label: 'sam', eventLog: logLines });
    rooms.push(room);
    return room;
  });
  const messages = collectMessages(speaker, 'vad');
  const attributeChanges: { atMs: number; speaking: string | undefined }[] = [];
  speaker.on(RoomEvent.ParticipantAttributesChanged, (changed, participant) => {
    if (!('speaking' in changed)) return;
    logLines.push(`${new Date().toISOString().slice(11, 23)} [sam] ${participant.identity} attribute speaking=${JSON.stringify(changed['speaking'])}`);
    attributeChanges.push({ atMs: Date.now(), speaking: participant.attributes['speaking'] });
  });

  // Silence until `speechFromFrame` is set, then speech, a pause, speech, and silence again. The onsets are timed
  // when the frame is due to play out (after what the source has queued).
  // Every burst is the same 2 s utterance, a fresh voice with a seed whose whole 2 s Silero scores as speech
  // (probability >= 0.88 after the first 300 ms when fed to the model directly; seeds vary, some have pauses).
  const newVoice = (): SpeechLikeVoice => new SpeechLikeVoice({ sampleRate: SAMPLE_RATE, seed: 18 });
  let voice = newVoice();
  let speechFromFrame: number | undefined;
  const edges: { kind: 'start' | 'end'; atMs: number }[] = [];
  const frameMs = 10;
  const phaseAt = (index: number): 'speech' | 'silence' => {
    if (speechFromFrame === undefined || index < speechFromFrame) return 'silence';
    const ms = (index - speechFromFrame) * frameMs;
    return ms < SPEECH_MS || (ms >= SPEECH_MS + PAUSE_MS && ms < 2 * SPEECH_MS + PAUSE_MS) ? 'speech' : 'silence';
  };
  let lastFrameIndex = -1;
  const mic = await run.step('Sam publishes a microphone track (silence for now)', async () => {
    const publisher = await publishGeneratedAudio(speaker, {
      frameMs,
      maxDurationMs: 40_000,
      trackName: 'voice',
      next: ({ index, samples, playoutAtMs }) => {
        lastFrameIndex = index;
        const phase = phaseAt(index);
        if (index > 0 && phase !== phaseAt(index - 1)) {
          edges.push({ kind: phase === 'speech' ? 'start' : 'end', atMs: playoutAtMs });
          if (phase === 'speech') voice = newVoice();
        }
        return phase === 'speech' ? voice.next(samples) : new Int16Array(samples);
      },
    });
    publishers.push(publisher);
    return publisher;
  });
  const subscribed = nextLocalSubscription(speaker, 25_000, "the agent's subscription to Sam's microphone (track_subscribed)");
  const agentIdentity = await run.step('AgentDispatchClient.createDispatch(room, "vad") brings the VAD agent in (kind AGENT)', async () => {
    const dispatch = await new AgentDispatchClient(srv.httpUrl, DEV_API_KEY, DEV_API_SECRET).createDispatch(roomName, 'vad', { metadata: '{}' });
    run.note(`dispatch ${dispatch.id} agent ${dispatch.agentName}`);
    return waitForAgent(run, srv, speaker, roomName, ['sam']);
  });
  await run.step("the agent subscribes to Sam's microphone", async () => {
    await subscribed;
    await sleep(1_000); // some silence first: nobody is speaking yet
    assert.deepEqual(messages, [], 'no vad message before any speech');
    speechFromFrame = lastFrameIndex + 1;
  });

  const within = async (what: string, predicate: (m: ReceivedMessage) => boolean, edgeIndex: number, maxMs: number): Promise<number> => {
    const edge = await waitFor(() => edges[edgeIndex], { label: `speech edge ${edgeIndex}`, timeoutMs: 10_000 });
    const message = await waitFor(() => messages.find((m) => predicate(m)), {
      label: what,
      timeoutMs: edge.atMs + maxMs + 3_000 - Date.now(),
      describe: () => `messages: ${JSON.stringify(messages.map((m) => m.json))}`,
    });
    const latency = message.atMs - edge.atMs;
    run.note(`${what}: ${latency} ms after the ${edge.kind} of speech; ${JSON.stringify(message.json)}`);
    assert.equal(message.from, agentIdentity);
    assert.equal(message.json['trackSid'], mic.publication.sid);
    assert.ok(latency >= 0, `${what} arrived ${-latency} ms before the ${edge.kind} of speech`);
    assert.ok(latency <= maxMs, `${what} arrived ${latency} ms after the ${edge.kind} of speech (max ${maxMs})`);
    return latency;
  };
  const nth = (n: number, speaking: boolean) => (m: ReceivedMessage): boolean =>
    m.json['identity'] === 'sam' && m.json['speaking'] === speaking && messages.filter((x) => x.json['identity'] === 'sam').indexOf(m) === n;

  await run.step(`speaking=true for sam within ${MAX_START_LATENCY_MS} ms of the first burst`, () => within('speaking=true #1', nth(0, true), 0, MAX_START_LATENCY_MS));
  await run.step(`speaking=false within ${MAX_END_LATENCY_MS} ms of the pause`, () => within('speaking=false #1', nth(1, false), 1, MAX_END_LATENCY_MS));
  await run.step(`speaking=true again within ${MAX_START_LATENCY_MS} ms of the second burst`, () => within('speaking=true #2', nth(2, true), 2, MAX_START_LATENCY_MS));
  await run.step(`speaking=false within ${MAX_END_LATENCY_MS} ms of the end`, () => within('speaking=false #2', nth(3, false), 3, MAX_END_LATENCY_MS));
  await run.step("Sam saw the agent's speaking attribute follow: sam, empty, sam, empty", async () => {
    await waitFor(() => attributeChanges.length >= 4 || undefined, {
      label: 'four changes of the speaking attribute',
      timeoutMs: 3_000,
      describe: () => JSON.stringify(attributeChanges),
    });
    assert.deepEqual(attributeChanges.map((c) => c.speaking ?? ''), ['sam', '', 'sam', ''], JSON.stringify(attributeChanges));
    assert.equal(messages.length, 4, `exactly four vad messages: ${JSON.stringify(messages.map((m) => m.json))}`);
  });
  await run.step('Sam speaks again and unpublishes the microphone mid-speech: speaking=false and the attribute empties', async () => {
    speechFromFrame = lastFrameIndex + 1; // the pattern starts over
    await within('speaking=true #3', nth(4, true), 4, MAX_START_LATENCY_MS);
    const unpublishedAtMs = Date.now();
    await speaker.localParticipant!.unpublishTrack(mic.publication.sid!);
    await mic.stop();
    const end = await waitFor(() => messages.find(nth(5, false)), {
      label: 'speaking=false after the track went away',
      timeoutMs: 5_000,
      describe: () => `messages: ${JSON.stringify(messages.map((m) => m.json))}`,
    });
    run.note(`speaking=false ${end.atMs - unpublishedAtMs} ms after unpublishing; ${JSON.stringify(end.json)}`);
    await waitFor(() => attributeChanges.length >= 6 || undefined, { label: 'six changes of the speaking attribute', timeoutMs: 3_000, describe: () => JSON.stringify(attributeChanges) });
    assert.deepEqual(attributeChanges.slice(4).map((c) => c.speaking ?? ''), ['sam', '']);
  });
  await worker?.stop();
  t.diagnostic(`steps:\n${run.history()}`);
});

test('camera-monitor-agent (dispatched as "camera-monitor") stays quiet on a static scene and alerts on motion', { timeout: 60_000 }, async (t) => {
  const srv = requireServer();
  let worker: AgentWorker | undefined;
  const run = stepRunner('agent-examples camera-monitor', () => worker);
  const roomName = `camera-e2e-${Date.now()}`;
  const WIDTH = 320;
  const HEIGHT = 240;
  const STATIC_MS = 3_000;
  const MAX_ALERT_LATENCY_MS = 1_000;

  await run.step('the camera monitor worker starts (node camera-monitor-agent.mjs dev) and registers as "camera-monitor"', async () => {
    worker = await startWorker('camera-monitor-agent.mjs', srv);
  });
  const cam = await run.step('Carla connects', async () => {
    const room = await connectRtcNode(srv.url, await srv.token({ identity: 'carla', room: roomName }), { label: 'carla', eventLog: logLines });
    rooms.push(room);
    return room;
  });
  const alerts = collectMessages(cam, 'alerts');

  // A static scene (grey gradient with two dark boxes) until `moveFromFrame`, then a white square sweeping across it.
  let moveFromFrame: number | undefined;
  let movedAtMs: number | undefined;
  let lastFrameIndex = -1;
  const paint = (frame: Uint8Array, index: number): void => {
    lastFrameIndex = index;
    for (let y = 0; y < HEIGHT; y++) {
      for (let x = 0; x < WIDTH; x++) {
        const box = (x > 40 && x < 100 && y > 60 && y < 180) || (x > 220 && x < 290 && y > 30 && y < 90);
        frame[y * WIDTH + x] = box ? 40 : 90 + Math.round((x * 80) / WIDTH);
      }
    }
    frame.fill(128, WIDTH * HEIGHT); // neutral chroma
    if (moveFromFrame !== undefined && index >= moveFromFrame) {
      movedAtMs ??= Date.now();
      const side = 96;
      const left = ((index - moveFromFrame) * 12) % (WIDTH - side);
      for (let y = 72; y < 72 + side; y++) frame.fill(235, y * WIDTH + left, y * WIDTH + left + side);
    }
  };
  const publisher = await run.step(`Carla publishes a ${WIDTH}x${HEIGHT} I420 camera at 15 fps showing a static scene`, async () => {
    const p = await publishPaintedVideo(cam, { width: WIDTH, height: HEIGHT, fps: 15, maxDurationMs: 40_000, trackName: 'camera', paint });
    publishers.push(p);
    return p;
  });
  const subscribed = nextLocalSubscription(cam, 25_000, "the agent's subscription to Carla's camera (track_subscribed)");
  const agentIdentity = await run.step('AgentDispatchClient.createDispatch(room, "camera-monitor") brings the agent in (kind AGENT)', async () => {
    const dispatch = await new AgentDispatchClient(srv.httpUrl, DEV_API_KEY, DEV_API_SECRET).createDispatch(roomName, 'camera-monitor', {
      metadata: JSON.stringify({ threshold: 6, cooldownMs: 2_000, sampleHz: 5 }),
    });
    run.note(`dispatch ${dispatch.id} agent ${dispatch.agentName} metadata ${dispatch.metadata}`);
    return waitForAgent(run, srv, cam, roomName, ['carla']);
  });
  await run.step(`no alert while the agent watches the static scene for ${STATIC_MS} ms`, async () => {
    await subscribed;
    await waitFor(() => worker?.output.some((l) => l.includes('camera-monitor-agent: watching')) || undefined, {
      label: 'the agent to log that it watches the camera',
      timeoutMs: 5_000,
    });
    await sleep(STATIC_MS);
    assert.deepEqual(alerts.map((a) => a.json), [], 'no alert on a static scene');
  });
  await run.step(`an alert naming Carla's track within ${MAX_ALERT_LATENCY_MS} ms after something moves`, async () => {
    moveFromFrame = lastFrameIndex + 1;
    const alert = await waitFor(() => alerts[0], { label: '[carla] a message on topic alerts', timeoutMs: 5_000 });
    const latency = alert.atMs - (movedAtMs ?? alert.atMs);
    run.note(`alert ${latency} ms after the first moving frame: ${JSON.stringify(alert.json)}`);
    assert.equal(alert.from, agentIdentity);
    assert.equal(alert.json['type'], 'motion');
    assert.equal(alert.json['identity'], 'carla');
    assert.equal(alert.json['trackSid'], publisher.publication.sid);
    assert.ok(Number(alert.json['score']) >= 6, `score ${String(alert.json['score'])}`);
    assert.ok(latency <= MAX_ALERT_LATENCY_MS, `alert ${latency} ms after the change (max ${MAX_ALERT_LATENCY_MS})`);
  });
  await run.step('while it keeps moving, the cooldown (2 s) spaces the alerts', async () => {
    await sleep(3_000);
    const times = alerts.map((a) => Number(a.json['at']));
    run.note(`alerts at +${times.map((x) => x - times[0]!).join(', +')} ms`);
    assert.ok(alerts.length >= 2, `a second alert after the cooldown (got ${alerts.length})`);
    for (let i = 1; i < times.length; i++) assert.ok(times[i]! - times[i - 1]! >= 2_000, `alerts ${times[i]! - times[i - 1]!} ms apart`);
  });
  await worker?.stop();
  t.diagnostic(`steps:\n${run.history()}`);
});
