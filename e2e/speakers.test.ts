// Compatibility: active speakers and connection quality as unmodified clients see them. rtc-node: Alice publishes a
// loud 440 Hz tone, Carol a silent one, Bob listens: Bob's ActiveSpeakersChanged names Alice (never Carol) and drops
// her when her tone stops. livekit-client in Chromium (a looped tone file as the fake microphone): the listener sees
// the speaker, and sees her go when she mutes. ConnectionQualityChanged arrives with EXCELLENT or GOOD in both.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { launchBrowser, type BrowserHarness } from './helpers/browser.js';
import type { BrowserParticipant, PageEvent } from './helpers/browser-participant.js';
import { ConnectionQuality, RoomEvent, type Room } from '@livekit/rtc-node';
import { connectRtcNode, publishSineTone, waitForRemoteTrack, type RunningPublisher, teardownRtcNode } from './helpers/rtc-node.js';
import { startAtrium, type AtriumUnderTest } from './helpers/server.js';
import { createStepRunner } from './helpers/steps.js';
import { writeToneWav } from './helpers/tone.js';
import { waitFor, withTimeout } from '@atrium/webrtc/testing/wait-for.js';

let server: AtriumUnderTest | undefined;
const rooms: Room[] = [];
const publishers: RunningPublisher[] = [];
const logLines: string[] = [];

before(async () => {
  server = await withTimeout(startAtrium(), 15_000, 'Atrium to start');
});

let browser: BrowserHarness | undefined;
const wavDir = mkdtempSync(join(tmpdir(), 'atrium-speakers-'));

after(() =>
  teardownRtcNode({
    publishers,
    rooms,
    also: [
      { what: 'closing Chromium', work: () => browser?.close() ?? Promise.resolve(), timeoutMs: 15_000 },
      { what: 'closing Atrium', work: () => server?.close() ?? Promise.resolve() },
      { what: 'removing the tone file', work: async () => rmSync(wavDir, { recursive: true, force: true }) },
    ],
  }),
);

test('rtc-node: the loud publisher is the active speaker, the silent one never; quality is reported', { timeout: 90_000 }, async (t) => {
  assert.ok(server, 'server started');
  const srv = server;
  const run = createStepRunner({ scenario: 'speakers.test.ts', logs: () => logLines });
  const roomName = `speakers-e2e-${Date.now()}`;
  const connect = async (identity: string): Promise<Room> => {
    const room = await connectRtcNode(srv.url, await srv.token({ identity, room: roomName }), { label: identity, eventLog: logLines });
    rooms.push(room);
    return room;
  };

  const bob = await run.step('Bob connects (rtc-node) and records speaker and quality events', async () => {
    const room = await connect('bob');
    return room;
  });
  /** Every ActiveSpeakersChanged Bob sees, as identity lists. */
  const speakerLists: string[][] = [];
  bob.on(RoomEvent.ActiveSpeakersChanged, (speakers) => {
    const ids = speakers.map((p) => p.identity);
    speakerLists.push(ids);
    logLines.push(`${new Date().toISOString().slice(11, 23)} [bob] active speakers [${ids.join(', ')}]`);
  });
  const qualities = new Map<string, ConnectionQuality>();
  bob.on(RoomEvent.ConnectionQualityChanged, (quality, participant) => {
    qualities.set(participant.identity, quality);
    logLines.push(`${new Date().toISOString().slice(11, 23)} [bob] quality of ${participant.identity}: ${ConnectionQuality[quality]}`);
  });
  const current = (): string[] => speakerLists.at(-1) ?? [];

  const alice = await run.step('Alice connects and publishes a loud 440 Hz tone', async () => {
    const room = await connect('alice');
    publishers.push(await publishSineTone(room, { frequencyHz: 440, amplitude: 0.5, maxDurationMs: 60_000 }));
    return room;
  });
  await run.step('Carol connects and publishes a silent tone', async () => {
    const room = await connect('carol');
    publishers.push(await publishSineTone(room, { frequencyHz: 440, amplitude: 0, maxDurationMs: 60_000 }));
  });
  await run.step('Bob subscribes to both audio tracks', async () => {
    await waitForRemoteTrack(bob, { kind: 'audio', identity: 'alice', label: "[bob] alice's audio", timeoutMs: 15_000 });
    await waitForRemoteTrack(bob, { kind: 'audio', identity: 'carol', label: "[bob] carol's audio", timeoutMs: 15_000 });
  });

  await run.step('Bob sees Alice as the only active speaker', () =>
    waitFor(() => current().length === 1 && current()[0] === 'alice', {
      label: '[bob] active speakers = [alice]', timeoutMs: 15_000, describe: () => `lists seen: ${JSON.stringify(speakerLists)}`,
    }),
  );
  await run.step('Bob gets connection quality for himself and the publishers: EXCELLENT or GOOD', async () => {
    const sane = (q: ConnectionQuality | undefined): boolean => q === ConnectionQuality.QUALITY_EXCELLENT || q === ConnectionQuality.QUALITY_GOOD;
    await waitFor(() => ['bob', 'alice', 'carol'].every((id) => sane(qualities.get(id))), {
      label: '[bob] quality of bob, alice and carol', timeoutMs: 15_000,
      describe: () => `seen: ${JSON.stringify(Object.fromEntries([...qualities].map(([id, q]) => [id, ConnectionQuality[q]])))}`,
    });
    run.note(`qualities: ${JSON.stringify(Object.fromEntries([...qualities].map(([id, q]) => [id, ConnectionQuality[q]])))}`);
  });
  await run.step("Alice's tone stops: she is no longer a speaker", async () => {
    await publishers[0]!.stop();
    await waitFor(() => !current().includes('alice'), {
      label: '[bob] alice gone from active speakers', timeoutMs: 10_000, describe: () => `lists seen: ${JSON.stringify(speakerLists)}`,
    });
  });
  assert.ok(!speakerLists.some((l) => l.includes('carol')), `carol (silent) was never a speaker: ${JSON.stringify(speakerLists)}`);
  assert.ok(alice.localParticipant, 'alice still connected');
  t.diagnostic(`steps:\n${run.history()}`);
});

test('livekit-client: the listener sees the speaker, and sees her go when she mutes', { timeout: 90_000 }, async (t) => {
  assert.ok(server, 'server started');
  const srv = server;
  const wav = join(wavDir, 'tone.wav');
  writeToneWav(wav, { frequencyHz: 440, amplitude: 0.5, seconds: 2 });
  const harness = await withTimeout(
    launchBrowser({ extraArgs: [`--use-file-for-fake-audio-capture=${wav}`] }),
    30_000,
    'Chromium to launch',
  );
  browser = harness;
  const run = createStepRunner({ scenario: 'speakers.test.ts (livekit-client)', logs: () => harness.logs() });
  const roomName = `speakers-browser-${Date.now()}`;
  const [anna, ben] = await harness.openParticipants(['anna', 'ben']);
  assert.ok(anna && ben);
  // No audio processing: a steady tone is exactly what noise suppression removes.
  const roomOptions = { audioCaptureDefaults: { noiseSuppression: false, echoCancellation: false, autoGainControl: false } };
  await run.step('both connect', async () => {
    await anna.connect(srv.url, await srv.token({ identity: 'anna', room: roomName }), roomOptions);
    await ben.connect(srv.url, await srv.token({ identity: 'ben', room: roomName }), roomOptions);
  });
  const speakersIn = (e: PageEvent): string[] => (Array.isArray(e['speakers']) ? (e['speakers'] as string[]) : []);
  const isSpeakers = (e: PageEvent): boolean => e.type === 'activeSpeakersChanged';
  await run.step('anna publishes her microphone (the tone file)', () => anna.setMicrophoneEnabled(true));
  await run.step('ben sees anna as the active speaker', () =>
    ben.waitForEvent((e) => isSpeakers(e) && speakersIn(e).includes('anna'), { label: 'anna speaking', timeoutMs: 20_000 }),
  );
  await run.step('ben gets EXCELLENT or GOOD quality for anna and for himself', async () => {
    const sane = (who: string) => (e: PageEvent): boolean =>
      e.type === 'connectionQualityChanged' && e.participant === who && (e['quality'] === 'excellent' || e['quality'] === 'good');
    await ben.waitForEvent(sane('anna'), { label: "anna's quality", timeoutMs: 15_000 });
    await ben.waitForEvent(sane('ben'), { label: 'own quality', timeoutMs: 15_000 });
  });
  const fromIndex = await ben.eventCount();
  await run.step('anna mutes: ben sees her stop speaking', async () => {
    await anna.setMicrophoneEnabled(false);
    await ben.waitForEvent((e) => isSpeakers(e) && !speakersIn(e).includes('anna'), { label: 'anna stopped speaking', timeoutMs: 10_000, fromIndex });
  });
  const lastSpeakers = (await ben.events()).filter(isSpeakers).at(-1);
  assert.deepEqual(lastSpeakers && speakersIn(lastSpeakers), [], 'nobody speaks after the mute');
  await closeBoth(anna, ben);
  t.diagnostic(`steps:\n${run.history()}`);
});

async function closeBoth(a: BrowserParticipant, b: BrowserParticipant): Promise<void> {
  await Promise.all([a.disconnect().catch(() => undefined), b.disconnect().catch(() => undefined)]);
}
