// Compatibility: active speakers and connection quality as unmodified @livekit/rtc-node clients see them. Alice
// publishes a loud 440 Hz tone, Carol a silent one, Bob listens: Bob's ActiveSpeakersChanged names Alice (never
// Carol) and drops her when her tone stops; ConnectionQualityChanged arrives with EXCELLENT or GOOD.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { ConnectionQuality, RoomEvent, type Room } from '@livekit/rtc-node';
import { connectRtcNode, publishSineTone, waitForRemoteTrack, type RunningPublisher, teardownRtcNode } from './helpers/rtc-node.js';
import { startAtrium, type AtriumUnderTest } from './helpers/server.js';
import { createStepRunner } from './helpers/steps.js';
import { waitFor, withTimeout } from '@atrium/webrtc/testing/wait-for.js';

let server: AtriumUnderTest | undefined;
const rooms: Room[] = [];
const publishers: RunningPublisher[] = [];
const logLines: string[] = [];

before(async () => {
  server = await withTimeout(startAtrium(), 15_000, 'Atrium to start');
});

after(() =>
  teardownRtcNode({ publishers, rooms, also: [{ what: 'closing Atrium', work: () => server?.close() ?? Promise.resolve() }] }),
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
