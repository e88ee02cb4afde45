// Session resume with unmodified @livekit/rtc-node 1.1 (the Rust SDK, which always tries a resume first): X publishes
// a 440 Hz tone, Y hears it; Y's signal connection is dropped (rtc-node's simulateScenario SIGNAL_RECONNECT) and Y
// resumes: same participant sid on both sides, the server counts one resume, X sees no ParticipantDisconnected, and Y
// hears 440 Hz again from the same track.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { RoomEvent, SimulateScenarioKind, type Room } from '@livekit/rtc-node';
import {
  connectRtcNode, publishSineTone, readAudioWindow, waitForRemoteTrack, teardownRtcNode, type RunningPublisher,
} from './helpers/rtc-node.js';
import { startAtrium, type AtriumUnderTest } from './helpers/server.js';
import { createStepRunner } from './helpers/steps.js';
import { checkTone } from './helpers/tone.js';
import { recordingLogger } from './helpers/log-recorder.js';
import { waitFor, withTimeout } from '@atrium/webrtc/testing/wait-for.js';

const SAMPLE_RATE = 48_000;
const TONE_HZ = 440;

let server: AtriumUnderTest | undefined;
const serverLog = recordingLogger();
const rooms: Room[] = [];
const publishers: RunningPublisher[] = [];
const logLines: string[] = [];

before(async () => {
  server = await withTimeout(startAtrium({ overrides: { logger: serverLog } }), 15_000, 'Atrium to start');
});

after(() =>
  teardownRtcNode({ publishers, rooms, also: [{ what: 'closing Atrium', work: () => server?.close() ?? Promise.resolve() }] }),
);

async function hearsTone(y: Room, label: string): Promise<number> {
  const { track } = await waitForRemoteTrack(y, { kind: 'audio', identity: 'x', label, timeoutMs: 15_000 });
  const skip = SAMPLE_RATE / 5;
  const received = await readAudioWindow(track, { sampleRate: SAMPLE_RATE, windowSamples: skip + SAMPLE_RATE / 2, timeoutMs: 15_000 });
  const tone = checkTone(received.samples.subarray(skip), { sampleRate: SAMPLE_RATE, expectedHz: TONE_HZ });
  assert.ok(tone.matches, `${label}: dominant ${tone.frequencyHz} Hz`);
  return tone.frequencyHz;
}

test('rtc-node resumes after its signal connection drops: same sid, no leave seen, the tone again', { timeout: 90_000 }, async () => {
  assert.ok(server);
  const srv = server;
  const run = createStepRunner({ scenario: 'resume-rtc-node.test.ts', logs: () => [...logLines, ...serverLog.lines()] });
  const roomName = `resume-rtc-node-${Date.now()}`;
  const x = await run.step('X connects and publishes a 440 Hz tone', async () => {
    const room = await connectRtcNode(srv.url, await srv.token({ identity: 'x', room: roomName }), { label: 'X', eventLog: logLines });
    rooms.push(room);
    publishers.push(await publishSineTone(room, { frequencyHz: TONE_HZ, maxDurationMs: 60_000 }));
    return room;
  });
  const y = await run.step('Y connects', async () => {
    const room = await connectRtcNode(srv.url, await srv.token({ identity: 'y', room: roomName }), { label: 'Y', eventLog: logLines });
    rooms.push(room);
    return room;
  });
  await run.step('Y hears 440 Hz', () => hearsTone(y, 'before'));

  const sid = y.localParticipant!.sid!;
  const trackSid = (await waitForRemoteTrack(y, { kind: 'audio', identity: 'x', label: 'x audio', timeoutMs: 5_000 })).publication.sid;
  const participant = srv.server.rooms.getRoom(roomName)?.getParticipant(sid);
  assert.ok(participant, 'Y on the server');
  let xSawLeave = 0;
  x.on(RoomEvent.ParticipantDisconnected, (p) => {
    if (p.identity === 'y') xSawLeave++;
  });
  let reconnected = 0;
  y.on(RoomEvent.Reconnected, () => reconnected++);

  const startMs = Date.now();
  await run.step('Y drops its signal connection (simulateScenario SIGNAL_RECONNECT)', () => y.simulateScenario(SimulateScenarioKind.SIMULATE_SIGNAL_RECONNECT));
  await run.step('the server resumes Y', () => waitFor(() => participant.resumes >= 1, { label: 'one resume', timeoutMs: 20_000 }));
  await run.step('Y reports Reconnected', () => waitFor(() => reconnected >= 1, { label: 'Reconnected', timeoutMs: 20_000 }));
  run.note(`resumed ${Date.now() - startMs} ms after the drop`);
  const hz = await run.step('Y hears 440 Hz again', () => hearsTone(y, 'after'));
  run.note(`after the resume: ${hz} Hz`);
  assert.equal(y.localParticipant!.sid, sid, 'Y keeps its sid');
  assert.equal(srv.server.rooms.getRoom(roomName)?.getParticipant(sid), participant, 'the same participant on the server');
  assert.equal((await waitForRemoteTrack(y, { kind: 'audio', identity: 'x', label: 'x audio', timeoutMs: 5_000 })).publication.sid, trackSid);
  assert.equal(xSawLeave, 0, 'X saw no ParticipantDisconnected for Y');
  assert.equal(x.remoteParticipants.get('y')?.sid, sid);
  process.stdout.write(run.history().split('\n').map((l) => `# ${l}`).join('\n') + '\n');
});
