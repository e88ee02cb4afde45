// Compatibility: agent dispatch with unmodified @livekit/agents 1.9 workers as child processes
// (examples/agents/fixture-agent.mjs, the echo agent with knobs; echo-agent.mjs) against Atrium in this process.
// - Workers with a bad token (wrong API secret; no agent grant) get HTTP 401 with Atrium's reason, and Atrium keeps
//   serving: a good worker registers meanwhile.
// - Two workers of the same agent, one whose request function declines every job: the room's job, offered to the
//   decliner first, runs on the other worker (ListDispatch names it). Atrium draws the worker at random weighted by
//   spare capacity (1 - load): the decliner reports load 0 and the other 0.9, so the decliner is drawn first about 10
//   times in 11, and the test opens another room until it was (at most 4).
// - The room is deleted while the agent is in it: the agent's job process ends, the agent is gone, the job and the
//   dispatch go with the room.
// - A token's roomConfig.agents dispatches the agent named there, with the metadata, to the worker registered under
//   that name (and replaces the automatic dispatch).
// - The worker running a job is killed with SIGKILL: the job fails and is restarted on another worker; a new agent
//   joins and echoes again.
// - Job types: a JT_PUBLISHER worker gets a job about each participant that publishes, a JT_PARTICIPANT worker one
//   about each participant (agents excepted); ListDispatch lists them beside the room job, which waits (no JT_ROOM
//   worker of that name).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { ParticipantKind as RtcParticipantKind, RoomEvent, type Room } from '@livekit/rtc-node';
import { JobStatus, JobType, ParticipantInfo_Kind, RoomAgentDispatch, RoomConfiguration } from '@livekit/protocol';
import { AccessToken, AgentDispatchClient, RoomServiceClient } from 'livekit-server-sdk';
import { WebSocket } from 'ws';
import {
  agentWorkerOutput,
  spawnAgentWorker,
  startRegisteredWorker,
  stopAgentWorkers,
  type AgentWorkerProcess,
  type RegisteredWorker,
} from './helpers/agent-worker.js';
import { recordingLogger } from './helpers/log-recorder.js';
import { connectRtcNode, publishSineTone, readAudioWindow, teardownRtcNode, waitForRemoteTrack, type RunningPublisher } from './helpers/rtc-node.js';
import { DEV_API_KEY, DEV_API_SECRET, startAtrium, type AtriumUnderTest } from './helpers/server.js';
import { createStepRunner, type StepRunner } from './helpers/steps.js';
import { checkTone } from './helpers/tone.js';
import { waitFor, withTimeout } from '@atrium/webrtc/testing/wait-for.js';

const FIXTURE = 'fixture-agent.mjs';
const serverLog = recordingLogger();
const workers: AgentWorkerProcess[] = [];
const rooms: Room[] = [];
const publishers: RunningPublisher[] = [];
const clientLog: string[] = [];
let server: AtriumUnderTest | undefined;
/** Declines every job; reports load 0 (weight 1 in Atrium's draw). */
let decliner: RegisteredWorker | undefined;
/** Accepts; reports load 0.9 (weight 0.1). Logs at debug level (the library's "job exiting" entry names why a job ended). */
let accepter: RegisteredWorker | undefined;
/** Registered with agent name "x" (explicit dispatch only). */
let named: RegisteredWorker | undefined;
/** A second accepting worker for the restart test, started by the test before it (it takes a couple of seconds). */
let secondAccepter: Promise<RegisteredWorker> | undefined;
function startSecondAccepter(url: string): Promise<RegisteredWorker> {
  secondAccepter ??= startRegisteredWorker({ label: 'accepter-2', url, script: FIXTURE, env: { AGENT_LOAD: ACCEPTER_LOAD } }, workers);
  secondAccepter.catch(() => undefined); // awaited by the restart test
  return secondAccepter;
}
const ACCEPTER_LOAD = '0.9';
/** @livekit/agents 1.9 sends its first load report 2.5 s after registering (UPDATE_LOAD_INTERVAL). */
const FIRST_LOAD_REPORT_MS = 2_500;

before(async () => {
  server = await withTimeout(startAtrium({ overrides: { logger: serverLog } }), 15_000, 'Atrium to start');
  const url = server.url;
  [decliner, accepter, named] = await Promise.all([
    startRegisteredWorker({ label: 'decliner', url, script: FIXTURE, env: { AGENT_DECLINE: '1', AGENT_LOAD: '0' } }, workers),
    startRegisteredWorker({ label: 'accepter', url, script: FIXTURE, logLevel: 'debug', env: { AGENT_LOAD: ACCEPTER_LOAD } }, workers),
    startRegisteredWorker({ label: 'named-x', url, script: FIXTURE, env: { LIVEKIT_AGENT_NAME: 'x', AGENT_LOAD: '0.5' } }, workers),
  ]);
});

after(() =>
  teardownRtcNode({
    publishers,
    rooms,
    also: [
      // Atrium first: its shutdown disconnects the agents from their rooms, which ends their jobs, so the workers
      // then exit at once on SIGTERM (a worker waits up to 15 s for a job's entry function to return).
      { what: 'closing Atrium', work: () => server?.close() ?? Promise.resolve() },
      { what: 'stopping the agent workers', work: () => stopAgentWorkers(workers), timeoutMs: 12_000 },
    ],
  }),
);

function started(): { srv: AtriumUnderTest; decliner: RegisteredWorker; accepter: RegisteredWorker; named: RegisteredWorker } {
  assert.ok(server && decliner && accepter && named, 'Atrium and the workers started (see the before hook)');
  return { srv: server, decliner, accepter, named };
}

const delay = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

function stepRunner(scenario: string): StepRunner {
  return createStepRunner({
    scenario: `agent-dispatch.test.ts: ${scenario}`,
    logs: () => [...serverLog.lines().slice(-80), '--- clients ---', ...clientLog, ...agentWorkerOutput(workers)],
  });
}

/** Which of `candidates` accepted `jobId` (its "accepting job" line), waiting for one to. */
async function acceptedBy(jobId: string, candidates: RegisteredWorker[], timeoutMs: number, fromMs = 0) {
  return waitFor(
    () => {
      for (const c of candidates) {
        const line = c.worker.lines.find((l) => l.atMs >= fromMs && l.text.includes(`fixture-agent: accepting job ${jobId}`));
        if (line) return { runner: c, line };
      }
      return undefined;
    },
    { label: `a worker accepting ${jobId}`, timeoutMs, describe: () => agentWorkerOutput(workers, 6).join(' | ') },
  );
}

/**
 * A participant `label` creates `roomName` (rtc-node 1.1); the room's automatic dispatch launches one job, which the
 * accepting worker ends up running (the decliner may be offered it first). Returns the room, the job id, whether the
 * decliner was offered it first, and when it declined and the accepter accepted.
 */
async function createRoomAndWaitForAgent(run: StepRunner, roomName: string, label: string) {
  const { srv, decliner, accepter } = started();
  const startedAtMs = Date.now();
  const room = await run.step(`${label} connects (rtc-node 1.1), creating room ${roomName}`, async () => {
    const r = await connectRtcNode(srv.url, await srv.token({ identity: label, room: roomName }), { label, eventLog: clientLog });
    rooms.push(r);
    return r;
  });
  const job = await run.step("the room's automatic dispatch launches a job and the accepting worker takes it", async () => {
    const created = await serverLog.waitFor('agent job launched', (f) => f['room'] === roomName && f['agentName'] === '', { label: 'the job', timeoutMs: 10_000 });
    const jobId = String(created.fields['jobID']);
    const { line } = await acceptedBy(jobId, [accepter], 20_000);
    const declined = decliner.worker.lines.find((l) => l.text.includes(`fixture-agent: declining job ${jobId}`));
    run.note(`${jobId}: ${declined ? `declined by the decliner, accepted ${line.atMs - declined.atMs} ms later by the accepter` : 'offered to the accepter first'}`);
    return { jobId, declinedAtMs: declined?.atMs, acceptedAtMs: line.atMs };
  });
  const joined = await run.step('the job process of the accepting worker joins the room', () =>
    accepter.worker.waitForLine(`fixture-agent: job ${job.jobId} joined room ${roomName} as agent-${job.jobId} on worker ${accepter.workerId}`, {
      label: 'the job joined the room',
      timeoutMs: 20_000,
    }),
  );
  run.note(`connect started -> agent joined: ${joined.atMs - startedAtMs} ms`);
  return { room, ...job };
}

/** Opens `/agent` with `token` and returns the HTTP status and body of the refusal (fails if the upgrade succeeds). */
function refusal(url: string, token: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`${url}/agent`, { headers: { authorization: `Bearer ${token}` } });
    ws.on('open', () => {
      ws.terminate();
      reject(new Error('the upgrade succeeded'));
    });
    ws.on('unexpected-response', (_req, res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    ws.on('error', (err) => reject(err));
  });
}

test('workers with a bad token are refused with 401 and the reason; Atrium keeps serving', { timeout: 60_000 }, async (t) => {
  const { srv } = started();
  const run = stepRunner('bad tokens');

  await run.step("a worker token signed with the wrong secret: 401 with Atrium's reason (raw ws)", async () => {
    const token = new AccessToken(DEV_API_KEY, 'not-the-secret');
    token.addGrant({ agent: true });
    const r = await refusal(srv.url, await token.toJwt());
    run.note(`${r.status} ${r.body}`);
    assert.equal(r.status, 401);
    assert.match(r.body, /^invalid authorization token: /);
  });

  await run.step('a valid token without the agent grant: 401 "permissions denied" (raw ws)', async () => {
    const token = new AccessToken(DEV_API_KEY, DEV_API_SECRET, { identity: 'not-a-worker' });
    token.addGrant({ roomJoin: true, room: 'any' });
    const r = await refusal(srv.url, await token.toJwt());
    run.note(`${r.status} ${r.body}`);
    assert.equal(r.status, 401);
    assert.equal(r.body, 'permissions denied: the token has no agent grant (video.agent)');
  });

  const from = serverLog.entries.length;
  // Both start now (each takes a second or two to load); the good one registers after the refusals above.
  const bad = spawnAgentWorker({ label: 'bad-secret', url: srv.url, script: FIXTURE, apiSecret: 'not-the-secret', env: { AGENT_MAX_RETRY: '1' } });
  workers.push(bad);
  const good = startRegisteredWorker({ label: 'good', url: srv.url }, workers);
  good.catch(() => undefined); // awaited below

  await run.step('an unmodified worker with the wrong API secret reports the 401 and gives up (exit 1)', async () => {
    const failed = await bad.waitForLine('Unexpected server response: 401', { label: 'the 401', timeoutMs: 20_000 });
    run.note(`worker: ${failed.text.trim()}`);
    const exit = await withTimeout(bad.exited, 20_000, 'the worker to give up');
    run.note(`worker exit ${String(exit.code ?? exit.signal)}; last line: ${bad.lines.at(-1)?.text.trim()}`);
    assert.equal(exit.code, 1);
    assert.ok(bad.lines.some((l) => l.text.includes('closing worker due to error')));
    assert.ok(!bad.lines.some((l) => l.text.includes('registered worker')), 'never registered');
    const refused = serverLog.entries.slice(from).filter((e) => e.msg === 'agent worker connection refused');
    run.note(`Atrium: ${refused.length} x "agent worker connection refused" ${JSON.stringify(refused[0]?.fields)}`);
    assert.equal(refused.length, 2, 'the first attempt and the one retry');
    assert.equal(refused[0]!.fields['status'], 401);
    assert.match(String(refused[0]!.fields['error']), /^invalid authorization token: /);
  });

  await run.step('a good worker (echo-agent.mjs) registers meanwhile', async () => {
    const registered = await good;
    run.note(`registered as ${registered.workerId}`);
    await registered.worker.stop();
  });
  t.diagnostic(`steps:\n${run.history()}`);
});

test('two workers of one agent, one declining every job: the room job runs on the other worker', { timeout: 90_000 }, async (t) => {
  const { srv, decliner, accepter } = started();
  const run = stepRunner('decline');
  // Both workers' first load reports must be in, or Atrium draws them with equal weights.
  await delay(Math.max(0, Math.max(decliner.registeredAtMs, accepter.registeredAtMs) + FIRST_LOAD_REPORT_MS + 500 - Date.now()));
  let attempt: Awaited<ReturnType<typeof createRoomAndWaitForAgent>> & { roomName: string };
  for (let i = 1; ; i++) {
    const roomName = `agents-decline-${Date.now()}-${i}`;
    attempt = { roomName, ...(await createRoomAndWaitForAgent(run, roomName, `x${i}`)) };
    if (attempt.declinedAtMs !== undefined) break;
    assert.ok(i < 4, 'the decliner (weight 1 against 0.1) was drawn first in one of 4 rooms');
  }
  const { room, jobId, roomName, declinedAtMs, acceptedAtMs } = attempt;

  await run.step('Atrium moved the job on because the decliner declined it', async () => {
    const moved = serverLog.entries.find((e) => e.msg === 'agent job not taken; trying the next worker' && e.fields['jobID'] === jobId);
    assert.equal(moved?.fields['reason'], 'worker not available', JSON.stringify(moved?.fields));
  });

  await run.step('the agent is in the room as agent-<job id>, kind AGENT (listParticipants and as rtc-node sees it)', async () => {
    const api = new RoomServiceClient(srv.httpUrl, DEV_API_KEY, DEV_API_SECRET);
    const agent = await waitFor(async () => (await api.listParticipants(roomName)).find((p) => p.identity === `agent-${jobId}`), {
      label: `agent-${jobId} in listParticipants`,
      timeoutMs: 10_000,
    });
    assert.equal(agent.kind, ParticipantInfo_Kind.AGENT);
    const seen = await waitFor(() => room.remoteParticipants.get(`agent-${jobId}`), { label: '[x] the agent as a remote participant', timeoutMs: 10_000 });
    assert.equal(seen.kind, RtcParticipantKind.AGENT);
  });

  await run.step("ListDispatch: the room's automatic dispatch has the job, running on the accepting worker", async () => {
    const dispatches = await new AgentDispatchClient(srv.httpUrl, DEV_API_KEY, DEV_API_SECRET).listDispatch(roomName);
    assert.equal(dispatches.length, 1, `one dispatch: ${JSON.stringify(dispatches.map((d) => d.id))}`);
    const [dispatch] = dispatches;
    assert.equal(dispatch!.agentName, '');
    const jobs = dispatch!.state?.jobs ?? [];
    assert.deepEqual(jobs.map((j) => j.id), [jobId]);
    const state = jobs[0]!.state;
    run.note(`job ${jobId}: ${JobStatus[state?.status ?? JobStatus.JS_PENDING]} on ${state?.workerId} as ${state?.participantIdentity}`);
    assert.equal(state?.status, JobStatus.JS_RUNNING);
    assert.equal(state?.workerId, accepter.workerId, `the accepting worker ${accepter.workerId}, not the decliner ${decliner.workerId}`);
    assert.equal(state?.participantIdentity, `agent-${jobId}`);
  });
  assert.ok(!decliner.worker.lines.some((l) => l.text.includes(`job ${jobId} joined`)), 'the decliner never ran the job');
  t.diagnostic(`decline handoff (decliner's decline -> accepter's acceptance, as printed): ${acceptedAtMs - declinedAtMs!} ms`);
  t.diagnostic(`steps:\n${run.history()}`);
});

test('room deleted with the agent in it: the job process ends, the agent is gone, the job ends', { timeout: 60_000 }, async (t) => {
  const { srv, accepter } = started();
  const run = stepRunner('room deleted');
  const roomName = `agents-delete-${Date.now()}`;
  const { room, jobId } = await createRoomAndWaitForAgent(run, roomName, 'y');
  const api = new RoomServiceClient(srv.httpUrl, DEV_API_KEY, DEV_API_SECRET);

  await run.step('y publishes a 440 Hz tone and the agent publishes its echo track', async () => {
    publishers.push(await publishSineTone(room, { frequencyHz: 440, maxDurationMs: 30_000 }));
    await accepter.worker.waitForLine('echo-agent: published the echo track', { label: 'echoing', timeoutMs: 20_000 });
  });

  const disconnected = new Promise<number>((resolve) => room.once(RoomEvent.Disconnected, () => resolve(Date.now())));
  const fromLine = accepter.worker.lines.length;
  const deletedAtMs = Date.now();
  await run.step('DeleteRoom (livekit-server-sdk)', () => api.deleteRoom(roomName));

  await run.step('the agent participant is closed by the room deletion (Atrium) and y is disconnected', async () => {
    const closed = await serverLog.waitFor('participant closed', (f) => f['participant'] === `agent-${jobId}`, { label: 'the agent closed', timeoutMs: 10_000 });
    assert.equal(String(closed.fields['reason']), 'ROOM_DELETED');
    await withTimeout(disconnected, 10_000, 'y to be disconnected');
  });

  await run.step("Atrium ends the job (the agent left with ROOM_DELETED: the worker is sent a JobTermination) and restarts nothing", async () => {
    const ended = await serverLog.waitFor('agent left the room; job ended', (f) => f['jobID'] === jobId, { label: 'the job ended', timeoutMs: 10_000 });
    assert.equal(ended.fields['reason'], 'ROOM_DELETED');
    assert.equal(ended.fields['workerID'], accepter.workerId);
    assert.ok(!serverLog.entries.some((e) => e.msg.startsWith('agent job failed') && e.fields['jobID'] === jobId), 'not failed, not restarted');
  });

  await run.step("the agent's job process shuts down (the worker logs why)", async () => {
    const exiting = await accepter.worker.waitForLine('job exiting', { label: 'the job process exiting', timeoutMs: 15_000, fromIndex: fromLine });
    const reason = await accepter.worker.waitForLine(/^\s+reason: "([^"]*)"/, { label: 'its reason', timeoutMs: 5_000, fromIndex: exiting.index + 1 });
    const shutDown = await accepter.worker.waitForLine(`fixture-agent: job ${jobId} shut down`, { label: 'the job shut down', timeoutMs: 15_000, fromIndex: fromLine });
    run.note(`job process exiting because "${reason.match![1]}" ${exiting.atMs - deletedAtMs} ms after DeleteRoom; shut down after ${shutDown.atMs - deletedAtMs} ms`);
    // "room disconnected" (its room connection was closed) or "shutdown request" (the worker got the JobTermination
    // first): Atrium sends both, the participant's leave first.
    assert.ok(['room disconnected', 'shutdown request'].includes(reason.match![1]!), `reason ${reason.match![1]}`);
    assert.ok(!accepter.worker.hasExited, 'the worker itself keeps running');
  });

  await run.step('the room is gone: listParticipants and ListDispatch answer not_found', async () => {
    const notFound = (err: Error & { code?: string }): boolean => err.code === 'not_found';
    await assert.rejects(api.listParticipants(roomName), notFound);
    await assert.rejects(new AgentDispatchClient(srv.httpUrl, DEV_API_KEY, DEV_API_SECRET).listDispatch(roomName), notFound);
    assert.ok(!serverLog.entries.some((e) => e.msg === 'agent worker deregistered' && e.fields['workerID'] === accepter.workerId), 'the worker stays registered');
  });
  t.diagnostic(`steps:\n${run.history()}`);
});


test("a token's roomConfig.agents dispatches agent x with its metadata (instead of the automatic dispatch)", { timeout: 60_000 }, async (t) => {
  const { srv, decliner, accepter, named } = started();
  const run = stepRunner('roomConfig');
  const roomName = `agents-roomconfig-${Date.now()}`;
  const metadata = JSON.stringify({ greeting: 'hello from the token', n: 9 });
  const namedFrom = named.worker.lines.length;
  const startedAtMs = Date.now();
  startSecondAccepter(srv.url); // for the next test; it gets no job here (this room has no automatic dispatch)

  const room = await run.step("w joins with a token whose roomConfig.agents names agent x (livekit-server-sdk AccessToken), creating the room", async () => {
    const at = new AccessToken(DEV_API_KEY, DEV_API_SECRET, { identity: 'w', ttl: '10m' });
    at.addGrant({ roomJoin: true, room: roomName, canPublish: true, canSubscribe: true, canPublishData: true });
    at.roomConfig = new RoomConfiguration({ agents: [new RoomAgentDispatch({ agentName: 'x', metadata })] });
    const r = await connectRtcNode(srv.url, await at.toJwt(), { label: 'w', eventLog: clientLog });
    rooms.push(r);
    return r;
  });

  const jobId = await run.step('the worker registered as x is offered the job and its job process reads the metadata', async () => {
    const accepted = await named.worker.waitForLine(/fixture-agent: accepting job (AJ_\w+)/, { label: 'accepting', timeoutMs: 20_000, fromIndex: namedFrom });
    const id = accepted.match![1]!;
    const joined = await named.worker.waitForLine(`fixture-agent: job ${id} joined room ${roomName} as agent-${id} on worker ${named.workerId} metadata ${JSON.stringify(metadata)}`, {
      label: 'the job joined with the metadata',
      timeoutMs: 20_000,
      fromIndex: namedFrom,
    });
    run.note(`join -> agent x joined: ${joined.atMs - startedAtMs} ms`);
    return id;
  });

  await run.step("w sees agent x with the token's metadata in its attribute (rtc-node)", async () => {
    const agent = await waitFor(
      () => {
        const p = room.remoteParticipants.get(`agent-${jobId}`);
        return p?.attributes['fixture.job-metadata'] !== undefined ? p : undefined;
      },
      { label: "[w] agent x's fixture.job-metadata attribute", timeoutMs: 10_000 },
    );
    assert.equal(agent.kind, RtcParticipantKind.AGENT);
    assert.equal(agent.attributes['fixture.job-metadata'], metadata);
    assert.equal(agent.attributes['lk.agent.name'], 'x');
  });

  await run.step("ListDispatch: the room's one dispatch is agent x's, with the metadata; no automatic dispatch", async () => {
    const dispatches = await new AgentDispatchClient(srv.httpUrl, DEV_API_KEY, DEV_API_SECRET).listDispatch(roomName);
    assert.deepEqual(dispatches.map((d) => [d.agentName, d.metadata]), [['x', metadata]]);
    const jobs = dispatches[0]!.state?.jobs ?? [];
    assert.deepEqual(jobs.map((j) => [j.id, j.state?.status, j.state?.workerId]), [[jobId, JobStatus.JS_RUNNING, named.workerId]]);
    assert.equal(jobs[0]!.metadata, metadata);
    // The workers without a name were offered nothing for this room.
    for (const w of [decliner, accepter]) assert.ok(!w.worker.lines.some((l) => l.atMs >= startedAtMs && l.text.includes('received job request')), `${w.worker.label} got no job request`);
  });
  t.diagnostic(`steps:\n${run.history()}`);
});

// Last in this file: it kills a worker.
test('the worker running a job is killed (SIGKILL): the job is restarted on another worker and the echo works again', { timeout: 120_000 }, async (t) => {
  const { srv, decliner, accepter } = started();
  const run = stepRunner('worker killed');
  const roomName = `agents-restart-${Date.now()}`;
  // A second accepting worker (load 0.9 too): whichever runs the job is killed, the other takes the restart.
  const second = await run.step('a second accepting worker is registered', () => startSecondAccepter(srv.url));
  const accepting = [accepter, second];

  const room = await run.step('z connects (rtc-node 1.1), creating the room, and publishes a 440 Hz tone', async () => {
    const r = await connectRtcNode(srv.url, await srv.token({ identity: 'z', room: roomName }), { label: 'z', eventLog: clientLog });
    rooms.push(r);
    publishers.push(await publishSineTone(r, { frequencyHz: 440, maxDurationMs: 90_000 }));
    return r;
  });
  const first = await run.step('the first job runs on one of the accepting workers and its agent joins', async () => {
    const launched = await serverLog.waitFor('agent job launched', (f) => f['room'] === roomName, { label: 'the job', timeoutMs: 10_000 });
    const jobId = String(launched.fields['jobID']);
    const { runner } = await acceptedBy(jobId, accepting, 20_000);
    await runner.worker.waitForLine(`fixture-agent: job ${jobId} joined room ${roomName}`, { label: 'joined', timeoutMs: 20_000 });
    await waitFor(() => room.remoteParticipants.get(`agent-${jobId}`), { label: `[z] agent-${jobId}`, timeoutMs: 10_000 });
    run.note(`${jobId} on ${runner.worker.label} (${runner.workerId})`);
    return { jobId, runner, survivor: runner === accepter ? second : accepter };
  });

  const killedAtMs = Date.now();
  await run.step(`kill -9 the process group of ${first.runner.worker.label} (worker and job process)`, async () => {
    first.runner.worker.signalGroup('SIGKILL');
    await withTimeout(first.runner.worker.exited, 5_000, 'the killed worker to be gone');
  });

  const restarted = await run.step('Atrium fails the job and, once the dead agent is gone, restarts it as a new job', async () => {
    const failed = await serverLog.waitFor('agent job failed; restarting it', (f) => f['jobID'] === first.jobId, { label: 'the restart', timeoutMs: 60_000 });
    const newJobId = String(failed.fields['newJobID']);
    run.note(`restart ${newJobId} ${failed.atMs - killedAtMs} ms after the kill: ${JSON.stringify(failed.fields)}`);
    const waited = serverLog.entries.find((e) => e.msg === 'agent job failed; its agent is still in the room, restart when it leaves' && e.fields['jobID'] === first.jobId);
    if (waited) run.note(`worker loss noticed ${waited.atMs - killedAtMs} ms after the kill; the dead agent left ${failed.atMs - waited.atMs} ms later`);
    assert.notEqual(newJobId, first.jobId);
    return { newJobId, atMs: failed.atMs };
  });

  const rejoinedAtMs = await run.step('the surviving worker takes the new job and a new agent participant joins', async () => {
    const { runner } = await acceptedBy(restarted.newJobId, [first.survivor], 20_000);
    assert.equal(runner, first.survivor);
    const declined = decliner.worker.lines.some((l) => l.text.includes(`declining job ${restarted.newJobId}`));
    await waitFor(() => room.remoteParticipants.get(`agent-${restarted.newJobId}`), { label: `[z] agent-${restarted.newJobId}`, timeoutMs: 20_000 });
    const at = Date.now();
    run.note(`new agent agent-${restarted.newJobId} in the room ${at - killedAtMs} ms after the kill (${at - restarted.atMs} ms after the restart${declined ? '; the decliner was offered it first' : ''})`);
    assert.ok(!room.remoteParticipants.has(`agent-${first.jobId}`), 'the dead agent is gone');
    return at;
  });

  await run.step("z hears 440 Hz (within 5 Hz) from the new agent's echo", async () => {
    const echo = await waitForRemoteTrack(room, { kind: 'audio', identity: `agent-${restarted.newJobId}`, label: "[z] the new agent's echo track", timeoutMs: 20_000 });
    const skip = 48_000 / 5;
    const received = await readAudioWindow(echo.track, { sampleRate: 48_000, windowSamples: skip + 48_000, timeoutMs: 15_000 });
    const tone = checkTone(received.samples.subarray(skip), { sampleRate: 48_000, expectedHz: 440 });
    run.note(`echo: dominant ${tone.frequencyHz} Hz (peak/mean ${tone.peakToMean.toFixed(1)})`);
    assert.ok(tone.matches, `dominant ${tone.frequencyHz} Hz`);
  });

  await run.step('ListDispatch: the dispatch has the failed job and the new one running on the survivor', async () => {
    const [dispatch] = await new AgentDispatchClient(srv.httpUrl, DEV_API_KEY, DEV_API_SECRET).listDispatch(roomName);
    const jobs = dispatch?.state?.jobs ?? [];
    run.note(jobs.map((j) => `${j.id} ${JobStatus[j.state?.status ?? 0]} ${j.state?.workerId} ${j.state?.error}`).join('; '));
    assert.deepEqual(jobs.map((j) => [j.id, j.state?.status]), [[first.jobId, JobStatus.JS_FAILED], [restarted.newJobId, JobStatus.JS_RUNNING]]);
    assert.equal(jobs[1]!.state?.workerId, first.survivor.workerId);
  });
  t.diagnostic(`re-dispatch after kill -9: new agent in the room after ${rejoinedAtMs - killedAtMs} ms`);
  t.diagnostic(`steps:\n${run.history()}`);
});

test('publisher and participant jobs: JT_PUBLISHER workers get a job about each publisher, JT_PARTICIPANT workers one about each participant', { timeout: 90_000 }, async (t) => {
  const { srv } = started();
  const run = stepRunner('job types');
  const roomName = `agents-jobtypes-${Date.now()}`;
  // Named, so that the other tests' rooms (automatic dispatch) launch nothing for them.
  const [pubWorker, partWorker] = await run.step('a JT_PUBLISHER and a JT_PARTICIPANT worker register as agent "watch"', () =>
    Promise.all([
      startRegisteredWorker({ label: 'publisher-type', url: srv.url, script: FIXTURE, env: { LIVEKIT_AGENT_NAME: 'watch', AGENT_JOB_TYPE: 'publisher', AGENT_LOAD: '0.2' } }, workers),
      startRegisteredWorker({ label: 'participant-type', url: srv.url, script: FIXTURE, env: { LIVEKIT_AGENT_NAME: 'watch', AGENT_JOB_TYPE: 'participant', AGENT_LOAD: '0.2' } }, workers),
    ]),
  );

  const [, viewer] = await run.step('p (publishes a tone) and v (only watches) join with a token dispatching agent "watch"', async () => {
    const join = async (identity: string): Promise<Room> => {
      const at = new AccessToken(DEV_API_KEY, DEV_API_SECRET, { identity, ttl: '10m' });
      at.addGrant({ roomJoin: true, room: roomName, canPublish: true, canSubscribe: true, canPublishData: true });
      at.roomConfig = new RoomConfiguration({ agents: [new RoomAgentDispatch({ agentName: 'watch', metadata: 'jobtypes' })] });
      const r = await connectRtcNode(srv.url, await at.toJwt(), { label: identity, eventLog: clientLog });
      rooms.push(r);
      return r;
    };
    const p = await join('p');
    publishers.push(await publishSineTone(p, { frequencyHz: 440, maxDurationMs: 60_000 }));
    return [p, await join('v')];
  });

  /** Who the jobs of the agent participants the observer sees are about (one entry per agent), sorted. */
  const agentsAbout = (observer: Room): string[] =>
    [...observer.remoteParticipants.values()]
      .filter((p) => p.kind === RtcParticipantKind.AGENT && p.attributes['lk.agent.name'] === 'watch')
      .map((p) => p.attributes['fixture.job-participant'] ?? '?')
      .sort();

  await run.step('the publisher worker runs one job about p; the participant worker one about p and one about v', async () => {
    await pubWorker.worker.waitForLine(/fixture-agent: job AJ_\w+ of type JT_PUBLISHER about p$/, { label: 'publisher job about p', timeoutMs: 30_000 });
    await partWorker.worker.waitForLine(/fixture-agent: job AJ_\w+ of type JT_PARTICIPANT about p$/, { label: 'participant job about p', timeoutMs: 30_000 });
    await partWorker.worker.waitForLine(/fixture-agent: job AJ_\w+ of type JT_PARTICIPANT about v$/, { label: 'participant job about v', timeoutMs: 30_000 });
    // Three agents, each naming its participant: two about p (publisher and participant jobs), one about v.
    const seen = await waitFor(() => {
      const about = agentsAbout(viewer);
      return about.length >= 3 && !about.includes('?') ? about : undefined;
    }, {
      label: '[v] three agents with their job participant',
      timeoutMs: 20_000,
      describe: () => JSON.stringify([...viewer.remoteParticipants.values()].map((p) => [p.identity, p.kind, p.attributes])),
    });
    run.note(`agents seen by v are about: ${seen.join(', ')}`);
    assert.deepEqual(seen, ['p', 'p', 'v']);
    assert.ok(!pubWorker.worker.lines.some((l) => /of type JT_PUBLISHER about v$/.test(l.text)), 'v publishes nothing: no publisher job about v');
    assert.ok(![pubWorker, partWorker].some((w) => w.worker.lines.some((l) => /of type \w+ about agent-/.test(l.text))), 'no jobs about agents');
  });

  await run.step('ListDispatch: the dispatch holds the room job (no JT_ROOM worker: waiting) and the three running participant jobs', async () => {
    const [dispatch] = await new AgentDispatchClient(srv.httpUrl, DEV_API_KEY, DEV_API_SECRET).listDispatch(roomName);
    const jobs = (dispatch?.state?.jobs ?? []).map((j) => `${JobType[j.type]} ${j.participant?.identity ?? '-'} ${JobStatus[j.state?.status ?? 0]}`).sort();
    run.note(jobs.join('; '));
    assert.deepEqual(jobs, ['JT_PARTICIPANT p JS_RUNNING', 'JT_PARTICIPANT v JS_RUNNING', 'JT_PUBLISHER p JS_RUNNING', 'JT_ROOM - JS_PENDING']);
  });

  t.diagnostic(`steps:\n${run.history()}`);
});
