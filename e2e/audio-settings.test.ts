// Compatibility: livekit.yaml's `audio:` settings change what unmodified clients see. A quiet tone (-53 dBov) is
// below LiveKit's default active_level (35) and never speaks there; on an Atrium started with `audio.active_level: 60`
// the rtc-node listener sees it as the active speaker (the default case is covered by config/audio-settings.test.ts).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { RoomEvent, type Room } from '@livekit/rtc-node';
import { connectRtcNode, publishSineTone, waitForRemoteTrack, type RunningPublisher, teardownRtcNode } from './helpers/rtc-node.js';
import { startAtrium, type AtriumUnderTest } from './helpers/server.js';
import { createStepRunner } from './helpers/steps.js';
import { waitFor, withTimeout } from '@atrium/webrtc/testing/wait-for.js';
import { loadConfig } from '@atrium/server/config/load-config.js';

let server: AtriumUnderTest | undefined;
const rooms: Room[] = [];
const publishers: RunningPublisher[] = [];
const logLines: string[] = [];

before(async () => {
  const { audio } = loadConfig({ dev: true, yaml: 'audio:\n  active_level: 60\n  update_interval: 200\n' });
  server = await withTimeout(startAtrium({ config: { audio } }), 15_000, 'Atrium to start');
});

after(() => teardownRtcNode({ publishers, rooms, also: [{ what: 'closing Atrium', work: () => server?.close() ?? Promise.resolve() }] }));

test('rtc-node: with audio.active_level 60 a quiet tone is an active speaker', { timeout: 60_000 }, async (t) => {
  assert.ok(server, 'server started');
  const srv = server;
  const run = createStepRunner({ scenario: 'audio-settings.test.ts', logs: () => logLines });
  const roomName = `audio-settings-${Date.now()}`;
  const connect = async (identity: string): Promise<Room> => {
    const room = await connectRtcNode(srv.url, await srv.token({ identity, room: roomName }), { label: identity, eventLog: logLines });
    rooms.push(room);
    return room;
  };
  const bob = await run.step('Bob connects (rtc-node) and records speaker events', () => connect('bob'));
  const speakerLists: string[][] = [];
  bob.on(RoomEvent.ActiveSpeakersChanged, (speakers) => {
    speakerLists.push(speakers.map((p) => p.identity));
    logLines.push(`${new Date().toISOString().slice(11, 23)} [bob] active speakers [${speakers.map((p) => p.identity).join(', ')}]`);
  });
  await run.step('Alice connects and publishes a quiet 440 Hz tone (amplitude 0.003, about -53 dBov)', async () => {
    const room = await connect('alice');
    publishers.push(await publishSineTone(room, { frequencyHz: 440, amplitude: 0.003, maxDurationMs: 45_000 }));
  });
  await run.step("Bob subscribes to Alice's audio", () => waitForRemoteTrack(bob, { kind: 'audio', identity: 'alice', label: "[bob] alice's audio", timeoutMs: 15_000 }));
  await run.step('Bob sees Alice as an active speaker', () =>
    waitFor(() => speakerLists.some((l) => l.includes('alice')), {
      label: '[bob] alice among active speakers', timeoutMs: 15_000, describe: () => `lists seen: ${JSON.stringify(speakerLists)}`,
    }),
  );
  t.diagnostic(`steps:\n${run.history()}`);
});
