// SimulateScenario requests (docs/scenarios.md) over real WebSockets with the fake media seam and a manual clock: what
// each scenario sends, closes or changes, and the two resume traps (close on resume, before or after the messages).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { DisconnectReason, LeaveRequest_Action, ParticipantInfo_State, SimulateScenario, CandidateProtocol } from '@livekit/protocol';
import type { JoinResponse, LeaveRequest, ParticipantInfo, SpeakersChanged } from '@livekit/protocol';
import { waitFor } from '@atrium/webrtc/testing/wait-for.js';
import type { FakeParticipantMedia } from '../rtc/fake-media.js';
import type { Participant } from '../rtc/participant.js';
import { TestSignalClient, devToken, expectFullReconnect, isGone, isUpdate, startFakeSignalServer } from './test-signal-client.js';
import type { FakeSignalServer } from './test-signal-client.js';
import { simulatedSpeakerSeconds, MAX_SILENT_RESUME_CLOSES, SIMULATE_DISCONNECT_TIMEOUT_MS, MAX_SIMULATED_SPEAKER_SEC } from './scenario-simulator.js';

const polling = { timeoutMs: 3000, intervalMs: 5 } as const;

let env: FakeSignalServer;
let roomSeq = 0;

before(async () => {
  env = await startFakeSignalServer();
});
after(() => env.close());


interface Room2 {
  room: string;
  video: { roomJoin: true; room: string };
  alice: TestSignalClient;
  bob: TestSignalClient;
  aliceSid: string;
  bobSid: string;
  aliceMedia: FakeParticipantMedia;
}

/** alice and bob in a new room, alice's media connected (so she may resume). */
async function room2(): Promise<Room2> {
  const video = { roomJoin: true as const, room: `simulate-${++roomSeq}` };
  const alice = await TestSignalClient.join(env.server.url, 'alice', '', video);
  const bob = await TestSignalClient.join(env.server.url, 'bob', '', video);
  env.clients.push(alice, bob);
  await alice.waitFor(isUpdate('bob'));
  const aliceSid = (alice.messages[0]!.value as JoinResponse).participant!.sid;
  const bobSid = (bob.messages[0]!.value as JoinResponse).participant!.sid;
  const aliceMedia = env.fake.mediaOf('alice');
  aliceMedia.emit('connectionState', { target: 1, state: 'connected' });
  await bob.waitFor(isUpdate('alice', (p) => p.state === ParticipantInfo_State.ACTIVE));
  return { room: video.room, video, alice, bob, aliceSid, bobSid, aliceMedia };
}

const participantOf = (r: Room2): Participant | undefined => env.server.rooms.getRoom(r.room)?.getParticipant(r.aliceSid);

function simulate(c: TestSignalClient, scenario: SimulateScenario['scenario']): void {
  c.send({ case: 'simulate', value: new SimulateScenario({ scenario }) });
}

async function resume(r: Room2): Promise<TestSignalClient> {
  const c = await TestSignalClient.connect(env.server.url, await devToken('alice', r.video), `&reconnect=1&sid=${r.aliceSid}&reconnect_reason=1`);
  env.clients.push(c);
  return c;
}

async function dropSignal(r: Room2, c: TestSignalClient): Promise<void> {
  c.close();
  await waitFor(() => participantOf(r)?.isAwaitingResume === true, { ...polling, label: 'the server saw the close' });
}

test('speaker: everyone is told the participant speaks at 0.9, and that it stopped after the given seconds', async () => {
  const r = await room2();
  simulate(r.alice, { case: 'speakerUpdate', value: 3 });
  for (const c of [r.alice, r.bob]) {
    const m = await c.waitFor((x) => x.case === 'speakersChanged');
    const speakers = (m.value as SpeakersChanged).speakers;
    assert.deepEqual(speakers.map((s) => [s.sid, s.active, Math.round(s.level * 10) / 10]), [[r.aliceSid, true, 0.9]]);
  }
  env.clock.advance(2_999);
  await new Promise((res) => setTimeout(res, 20));
  assert.equal(r.bob.messages.filter((x) => x.case === 'speakersChanged').length, 1, 'still speaking before 3 s');
  env.clock.advance(1);
  const stopped = await r.bob.waitFor((x) => x.case === 'speakersChanged' && !x.value.speakers[0]!.active);
  assert.equal((stopped.value as SpeakersChanged).speakers[0]!.sid, r.aliceSid);
  assert.equal((stopped.value as SpeakersChanged).speakers[0]!.level, 0);
  // Nonsense durations are bounded: a negative one ends at once, a huge one after MAX_SIMULATED_SPEAKER_SEC.
  const from = r.bob.messages.length;
  simulate(r.alice, { case: 'speakerUpdate', value: -7 });
  await r.bob.waitFor((x) => x.case === 'speakersChanged' && x.value.speakers[0]!.active, { from });
  env.clock.advance(0);
  await r.bob.waitFor((x) => x.case === 'speakersChanged' && !x.value.speakers[0]!.active, { from });
  assert.deepEqual([1_000_000, -7, 2.5, Number.NaN].map(simulatedSpeakerSeconds), [MAX_SIMULATED_SPEAKER_SEC, 0, 2, 0]);
});

for (const [name, scenario, reason] of [
  ['node failure', { case: 'nodeFailure', value: true }, DisconnectReason.SERVER_SHUTDOWN],
  ['migration', { case: 'migration', value: true }, DisconnectReason.MIGRATION],
] as const) {
  test(`${name}: the signal connection closes without a leave; the resume is refused (full reconnect)`, async () => {
    const r = await room2();
    simulate(r.alice, scenario);
    await r.alice.waitClosed();
    assert.equal(r.alice.messages.filter((m) => m.case === 'leave').length, 0, 'no LeaveRequest: the node just went away');
    const gone = await r.bob.waitFor(isGone('alice'));
    const info = (gone.value as { participants: ParticipantInfo[] }).participants.find((p) => p.identity === 'alice')!;
    assert.equal(info.disconnectReason, reason);
    assert.equal(r.aliceMedia.closed, true);
    await expectFullReconnect(await resume(r));
  });
}

test('server leave: LeaveRequest DISCONNECT with SERVER_SHUTDOWN, then the connection closes', async () => {
  const r = await room2();
  simulate(r.alice, { case: 'serverLeave', value: true });
  await r.alice.waitClosed();
  const leave = r.alice.messages.find((m) => m.case === 'leave')!.value as LeaveRequest;
  assert.equal(leave.action, LeaveRequest_Action.DISCONNECT);
  assert.equal(leave.reason, DisconnectReason.SERVER_SHUTDOWN);
  assert.equal(leave.canReconnect, false);
  await r.bob.waitFor(isGone('alice'));
});

test('leave request full reconnect: LeaveRequest RECONNECT (can reconnect), the participant leaves', async () => {
  const r = await room2();
  simulate(r.alice, { case: 'leaveRequestFullReconnect', value: true });
  await r.alice.waitClosed();
  const leave = r.alice.messages.find((m) => m.case === 'leave')!.value as LeaveRequest;
  assert.equal(leave.action, LeaveRequest_Action.RECONNECT);
  assert.equal(leave.reason, DisconnectReason.SERVER_SHUTDOWN);
  assert.equal(leave.canReconnect, true);
  await r.bob.waitFor(isGone('alice'));
});

test('subscriber bandwidth: the cap reaches the media session; 0 and negatives clear it', async () => {
  const r = await room2();
  simulate(r.alice, { case: 'subscriberBandwidth', value: 300_000n });
  simulate(r.alice, { case: 'subscriberBandwidth', value: 0n });
  simulate(r.alice, { case: 'subscriberBandwidth', value: -5n });
  await waitFor(() => r.aliceMedia.callsOf('setSubscriberCapacityOverride').length === 3, { ...polling, label: 'three calls' });
  assert.deepEqual(r.aliceMedia.callsOf('setSubscriberCapacityOverride').map((c) => c.bps), [300_000, 0, 0]);
});

test('switch candidate protocol: TCP for the next sessions, UDP back to the default; TLS is ignored', async () => {
  const r = await room2();
  const nextSession = async (): Promise<string | undefined> => {
    const c = await TestSignalClient.join(env.server.url, 'alice', '', r.video);
    env.clients.push(c);
    const created = env.fake.candidateProtocols.filter((x) => x.identity === 'alice');
    return created[created.length - 1]!.candidateProtocol;
  };
  simulate(r.alice, { case: 'switchCandidateProtocol', value: CandidateProtocol.TCP });
  simulate(r.alice, { case: 'switchCandidateProtocol', value: CandidateProtocol.TLS });
  await new Promise((res) => setTimeout(res, 20));
  const again = await nextSession();
  assert.equal(again, 'tcp', 'TCP only (TLS changed nothing)');
  const c = env.clients[env.clients.length - 1]!;
  env.fake.mediaOf('alice').emit('connectionState', { target: 1, state: 'connected' });
  simulate(c, { case: 'switchCandidateProtocol', value: CandidateProtocol.UDP });
  await new Promise((res) => setTimeout(res, 20));
  assert.equal(await nextSession(), undefined, 'back to the default');
});

test('disconnect signal on resume: the resume is served, then its connection closes; the next resume is normal', async () => {
  const r = await room2();
  simulate(r.alice, { case: 'disconnectSignalOnResume', value: true });
  await new Promise((res) => setTimeout(res, 20));
  await dropSignal(r, r.alice);
  const first = await resume(r);
  await first.waitClosed();
  assert.equal(first.messages[0]?.case, 'reconnect', 'the resume was served before the close');
  assert.ok(first.messages.some((m) => m.case === 'update'), 'with its snapshot');
  await waitFor(() => participantOf(r)?.isAwaitingResume === true, { ...polling, label: 'waiting for a resume again' });
  assert.equal(participantOf(r)?.resumes, 1);
  const second = await resume(r);
  await second.waitFor((m) => m.case === 'roomUpdate');
  assert.equal(second.closed, false, 'the second resume stays');
  assert.equal(participantOf(r)?.resumes, 2);
  assert.equal(r.bob.messages.filter(isGone('alice')).length, 0, 'bob never saw alice leave');
});

test('disconnect signal on resume, no messages: up to three resumes close at once, silent; then one is served', async () => {
  const r = await room2();
  simulate(r.alice, { case: 'disconnectSignalOnResumeNoMessages', value: true });
  await new Promise((res) => setTimeout(res, 20));
  await dropSignal(r, r.alice);
  for (let i = 0; i < MAX_SILENT_RESUME_CLOSES; i++) {
    const c = await resume(r);
    await c.waitClosed();
    assert.deepEqual(c.messages, [], `resume ${i + 1}: closed before any message`);
    assert.equal(participantOf(r)?.isAwaitingResume, true, 'still waiting for a resume');
  }
  const served = await resume(r);
  await served.waitFor((m) => m.case === 'roomUpdate');
  assert.equal(served.messages[0]?.case, 'reconnect');
  assert.equal(participantOf(r)?.resumes, 1);
  assert.equal(r.bob.messages.filter(isGone('alice')).length, 0);
});

test('the resume traps expire: a resume after the simulate timeout is served normally', async () => {
  const r = await room2();
  simulate(r.alice, { case: 'disconnectSignalOnResumeNoMessages', value: true });
  simulate(r.alice, { case: 'disconnectSignalOnResume', value: true });
  await new Promise((res) => setTimeout(res, 20));
  await dropSignal(r, r.alice);
  env.clock.advance(SIMULATE_DISCONNECT_TIMEOUT_MS);
  const c = await resume(r);
  await c.waitFor((m) => m.case === 'roomUpdate');
  await new Promise((res) => setTimeout(res, 20));
  assert.equal(c.closed, false);
  assert.equal(participantOf(r)?.resumes, 1);
});

test('an empty or unknown scenario is ignored; the session goes on', async () => {
  const r = await room2();
  simulate(r.alice, { case: undefined });
  r.alice.send({ case: 'ping', value: 1n });
  await r.alice.waitFor((m) => m.case === 'pong');
  assert.equal(r.alice.closed, false);
  assert.equal(participantOf(r)?.isClosed, false);
});
