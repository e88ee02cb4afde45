// Auto egress as LiveKit configures it, driven by livekit-server-sdk with @livekit/rtc-node participants publishing a
// tone: CreateRoom's `egress.tracks` records each published track on its own (filepath template, listed by
// EgressClient, ended and finalized when the track goes), and a token's `roomConfig.egress.participant` records the
// participant whose join creates the room. ffprobe and the tone's frequency check what was written.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AccessToken, AutoParticipantEgress, AutoTrackEgress, EgressClient, EncodedFileOutput, RoomEgress, RoomServiceClient } from 'livekit-server-sdk';
import { EgressStatus, RoomConfiguration } from '@livekit/protocol';
import type { EgressInfo } from '@livekit/protocol';
import type { Room } from '@livekit/rtc-node';
import { waitFor, withTimeout } from '@atrium/webrtc/testing/wait-for.js';
import { connectRtcNode, publishSineTone, teardownRtcNode, type RunningPublisher } from './helpers/rtc-node.js';
import { DEV_API_KEY, DEV_API_SECRET, startAtrium, type AtriumUnderTest } from './helpers/server.js';
import { decodeAudio, probeFile } from './helpers/media-file.js';
import { checkTone } from './helpers/tone.js';

const outDir = mkdtempSync(join(tmpdir(), 'atrium-auto-egress-'));
let server: AtriumUnderTest | undefined;
const rooms: Room[] = [];
const publishers: RunningPublisher[] = [];

before(async () => {
  server = await withTimeout(startAtrium({ config: { egress: { fileBaseDir: outDir } } }), 15_000, 'Atrium to start');
});
after(() => teardownRtcNode({ publishers, rooms, also: [{ what: 'closing Atrium', work: () => server?.close() ?? Promise.resolve() }] }));

function egressClient(): EgressClient {
  assert.ok(server);
  return new EgressClient(server.url, DEV_API_KEY, DEV_API_SECRET);
}

/** Waits until the room's egresses satisfy `done`; returns them. */
async function waitForEgresses(roomName: string, label: string, done: (items: EgressInfo[]) => boolean): Promise<EgressInfo[]> {
  let items: EgressInfo[] = [];
  await waitFor(async () => done((items = await egressClient().listEgress({ roomName }))), {
    timeoutMs: 20_000, label, describe: () => items.map((e) => `${e.egressId} ${EgressStatus[e.status]} ${e.error}`).join(', ') || 'none',
  });
  return items;
}

/** The recording's audio is Opus in OGG, lasts about as long as it was recorded, and carries the 440 Hz tone. */
async function checkRecording(path: string, seconds: number): Promise<void> {
  assert.ok(existsSync(path), `${path} was written`);
  const probed = await probeFile(path);
  assert.deepEqual(probed.streams.map((s) => `${s.codecType}/${s.codecName}`), ['audio/opus']);
  assert.ok(probed.durationSec > seconds * 0.6, `duration ${probed.durationSec} s for about ${seconds} s recorded`);
  const tone = checkTone(await decodeAudio(path), { sampleRate: 48_000, expectedHz: 440 });
  assert.ok(tone.matches, `the tone is found at ${tone.expectedHz} Hz (dominant: ${tone.frequencyHz} Hz)`);
}

test("CreateRoom's egress.tracks records every published track on its own, ended with the track", { timeout: 90_000 }, async () => {
  assert.ok(server);
  const roomName = `auto-tracks-${Date.now()}`;
  await new RoomServiceClient(server.url, DEV_API_KEY, DEV_API_SECRET).createRoom({
    name: roomName, emptyTimeout: 30, egress: new RoomEgress({ tracks: new AutoTrackEgress({ filepath: 'auto/{room_name}/{track_id}' }) }),
  });
  const a = await connectRtcNode(server.url, await server.token({ identity: 'a', room: roomName }), { label: 'a' });
  rooms.push(a);
  const tone = await publishSineTone(a, { frequencyHz: 440, maxDurationMs: 60_000 });
  publishers.push(tone);
  const trackSid = tone.publication.sid;
  assert.ok(trackSid);
  const [live] = await waitForEgresses(roomName, 'the auto track egress active', (items) => items.length === 1 && items[0]!.status === EgressStatus.EGRESS_ACTIVE);
  assert.equal(live!.request.case, 'track');
  assert.equal(live!.request.case === 'track' ? live!.request.value.trackId : '', trackSid);
  await new Promise((r) => setTimeout(r, 3_000));
  await a.localParticipant!.unpublishTrack(trackSid);
  const [ended] = await waitForEgresses(roomName, 'the egress complete after the unpublish', (items) => items[0]?.status === EgressStatus.EGRESS_COMPLETE);
  const file = ended!.fileResults[0];
  assert.equal(file?.filename, `auto/${roomName}/${trackSid}.ogg`);
  await checkRecording(file!.location, 3);
});

test("a token's roomConfig.egress.participant records the participant whose join creates the room", { timeout: 90_000 }, async () => {
  assert.ok(server);
  const roomName = `auto-participant-${Date.now()}`;
  const at = new AccessToken(DEV_API_KEY, DEV_API_SECRET, { identity: 'p', ttl: '10m' });
  at.addGrant({ roomJoin: true, room: roomName, canPublish: true, canSubscribe: true });
  at.roomConfig = new RoomConfiguration({
    egress: new RoomEgress({ participant: new AutoParticipantEgress({ fileOutputs: [new EncodedFileOutput({ filepath: 'auto/{room_name}/{publisher_identity}' })] }) }),
  });
  const p = await connectRtcNode(server.url, await at.toJwt(), { label: 'p' });
  rooms.push(p);
  publishers.push(await publishSineTone(p, { frequencyHz: 440, maxDurationMs: 60_000 }));
  const [live] = await waitForEgresses(roomName, 'the auto participant egress active', (items) => items.length === 1 && items[0]!.status === EgressStatus.EGRESS_ACTIVE);
  assert.equal(live!.request.case, 'participant');
  assert.equal(live!.request.case === 'participant' ? live!.request.value.identity : '', 'p');
  await new Promise((r) => setTimeout(r, 3_000));
  await egressClient().stopEgress(live!.egressId);
  const [ended] = await waitForEgresses(roomName, 'the participant egress complete', (items) => items[0]?.status === EgressStatus.EGRESS_COMPLETE);
  const file = ended!.fileResults[0];
  assert.equal(file?.filename, `auto/${roomName}/p.ogg`);
  await checkRecording(file!.location, 3);
});
