// Compatibility: agent dispatch with unmodified @livekit/agents 1.9 workers as child processes
// (examples/agents/fixture-agent.mjs, the echo agent with knobs) against Atrium in this process.
// - Two workers of the same agent, one whose request function declines every job: the room's job is offered to the
//   decliner first (it reports the lower load), then runs on the other worker (ListDispatch names it).
// - The room is deleted while the agent is in it: the agent's job process ends, the agent is gone, the job and the
//   dispatch go with the room.
// - Workers with a bad token (wrong API secret; no agent grant) get HTTP 401 with Atrium's reason, and Atrium keeps
//   serving: a good worker registers afterwards.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { ParticipantKind as RtcParticipantKind, RoomEvent, type Room } from '@livekit/rtc-node';
import { JobStatus, ParticipantInfo_Kind } from '@livekit/protocol';
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
import { connectRtcNode, publishSineTone, teardownRtcNode, type RunningPublisher } from './helpers/rtc-node.js';
import { DEV_API_KEY, DEV_API_SECRET, startAtrium, type AtriumUnderTest } from './helpers/server.js';
import { createStepRunner, type StepRunner } from './helpers/steps.js';
import { waitFor, withTimeout } from '@atrium/webrtc/testing/wait-for.js';

const FIXTURE = 'fixture-agent.mjs';
const serverLog = recordingLogger();
const workers: AgentWorkerProcess[] = [];
const rooms: Room[] = [];
const publishers: RunningPublisher[] = [];
const clientLog: string[] = [];
let server: AtriumUnderTest | undefined;
/** Declines every job; reports load 0, so Atrium offers it every job first. Registered first. */
let decliner: RegisteredWorker | undefined;
/** Accepts; reports load 0.5. Logs at debug level (the library's "job exiting" entry names why a job ended). */
let accepter: RegisteredWorker | undefined;

before(async () => {
  server = await withTimeout(startAtrium({ overrides: { logger: serverLog } }), 15_000, 'Atrium to start');
  const url = server.url;
  // One after the other: with equal loads (before the first load report) Atrium picks the first registered.
  decliner = await startRegisteredWorker({ label: 'decliner', url, script: FIXTURE, env: { AGENT_DECLINE: '1', AGENT_LOAD: '0' } }, workers);
  accepter = await startRegisteredWorker({ label: 'accepter', url, script: FIXTURE, logLevel: 'debug', env: { AGENT_LOAD: '0.5' } }, workers);
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

function started(): { srv: AtriumUnderTest; decliner: RegisteredWorker; accepter: RegisteredWorker } {
  assert.ok(server && decliner && accepter, 'Atrium and both workers started (see the before hook)');
  return { srv: server, decliner, accepter };
}

function stepRunner(scenario: string): StepRunner {
  return createStepRunner({
    scenario: `agent-dispatch.test.ts: ${scenario}`,
    logs: () => [...serverLog.lines().slice(-80), '--- clients ---', ...clientLog, ...agentWorkerOutput(workers)],
  });
}

/**
 * A participant creates `roomName`; its automatic dispatch's job is declined by the decliner and taken by the
 * accepter, whose job process joins the room. Returns the job id and the times of the decline and the acceptance.
 */
async function createRoomAndWaitForAgent(run: StepRunner, roomName: string, label: string) {
  const { srv, decliner, accepter } = started();
  const declinerFrom = decliner.worker.lines.length;
  const accepterFrom = accepter.worker.lines.length;
  const createdAtMs = Date.now();
  const room = await run.step(`${label} connects (rtc-node 1.1), creating room ${roomName}`, async () => {
    const r = await connectRtcNode(srv.url, await srv.token({ identity: label, room: roomName }), { label, eventLog: clientLog });
    rooms.push(r);
    return r;
  });
  const declined = await run.step('the decliner (load 0) is offered the job first and declines it', () =>
    decliner.worker.waitForLine(/fixture-agent: declining job (AJ_\w+)/, { label: 'declining the job', timeoutMs: 20_000, fromIndex: declinerFrom }),
  );
  const jobId = declined.match![1]!;
  const accepted = await run.step(`Atrium offers ${jobId} to the other worker, which accepts it`, async () => {
    const line = await accepter.worker.waitForLine(`fixture-agent: accepting job ${jobId}`, { label: 'accepting the job', timeoutMs: 20_000, fromIndex: accepterFrom });
    const moved = serverLog.entries.find((e) => e.msg === 'agent job not taken; trying the next worker' && e.fields['jobID'] === jobId);
    assert.equal(moved?.fields['reason'], 'worker not available', `Atrium moved the job on because it was declined: ${JSON.stringify(moved?.fields)}`);
    run.note(`decline -> offer accepted by the other worker: ${line.atMs - declined.atMs} ms (connect started -> decline: ${declined.atMs - createdAtMs} ms)`);
    return line;
  });
  const joined = await run.step('the job process of the accepting worker joins the room', () =>
    accepter.worker.waitForLine(`fixture-agent: job ${jobId} joined room ${roomName} as agent-${jobId} on worker ${accepter.workerId}`, {
      label: 'the job joined the room',
      timeoutMs: 20_000,
      fromIndex: accepterFrom,
    }),
  );
  run.note(`connect started -> agent joined: ${joined.atMs - createdAtMs} ms`);
  return { room, jobId, declinedAtMs: declined.atMs, acceptedAtMs: accepted.atMs };
}

test('two workers of one agent, one declining every job: the room job runs on the other worker', { timeout: 60_000 }, async (t) => {
  const { srv, decliner, accepter } = started();
  const run = stepRunner('decline');
  const roomName = `agents-decline-${Date.now()}`;
  const { room, jobId, declinedAtMs, acceptedAtMs } = await createRoomAndWaitForAgent(run, roomName, 'x');

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
  t.diagnostic(`decline handoff (decliner's decline -> accepter's acceptance, as printed): ${acceptedAtMs - declinedAtMs} ms`);
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
