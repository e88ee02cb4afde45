// `atrium dispatch` and `atrium token create --agent` as a child process (packages/cli/bin/atrium.js) against an
// in-process Atrium with a fake agent worker (registered as 'greeter' over /agent with a worker token the CLI minted):
// create -> the worker gets and accepts the job -> list shows the dispatch and its running job -> get -> delete -> the
// worker is told to end the job; --deployment; a --agent token whose join dispatches the agent (an rtc-node participant
// joins with it); errors with their exit codes.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { WebSocket } from 'ws';
import { AvailabilityResponse, JobType, RegisterWorkerRequest, ServerMessage, WorkerMessage } from '@livekit/protocol';
import { RoomConfiguration, TokenVerifier } from 'livekit-server-sdk';
import type { Room } from '@livekit/rtc-node';
import { connectRtcNode, teardownRtcNode } from './helpers/rtc-node.js';
import { DEV_API_KEY, DEV_API_SECRET, startAtrium, type AtriumUnderTest } from './helpers/server.js';
import { waitFor, withTimeout } from '@atrium/webrtc/testing/wait-for.js';
import { runAtrium, type CliRun } from './helpers/cli-process.js';

const CLI_DEADLINE_MS = 30_000;

let server: AtriumUnderTest | undefined;
const sockets: WebSocket[] = [];
const rooms: Room[] = [];

before(async () => {
  server = await withTimeout(startAtrium(), 15_000, 'Atrium to start');
});

after(() =>
  teardownRtcNode({
    publishers: [],
    rooms,
    also: [
      { what: 'closing the fake workers', work: async () => sockets.forEach((ws) => ws.terminate()) },
      { what: 'closing Atrium', work: () => server?.close() ?? Promise.resolve() },
    ],
  }),
);

/** Runs `atrium ...args` without the caller's LIVEKIT_* settings; killed at the deadline. */
function cli(args: string[]): Promise<CliRun> {
  return runAtrium(args, { deadlineMs: CLI_DEADLINE_MS });
}

function conn(): string[] {
  assert.ok(server);
  return ['--url', server.url, '--api-key', DEV_API_KEY, '--api-secret', DEV_API_SECRET];
}

function ok(r: CliRun, what: string): CliRun {
  assert.equal(r.code, 0, `${what}: exit ${String(r.code)}\n${r.stderr}`);
  return r;
}

type SMsg = ServerMessage['message'];

/** A worker registered with `agentName` that accepts every job offered to it and records what it is sent. */
async function fakeWorker(token: string, agentName: string, deployment = ''): Promise<{ messages: SMsg[]; ws: WebSocket }> {
  assert.ok(server);
  const ws = new WebSocket(`${server.url}/agent`, { headers: { Authorization: `Bearer ${token}` } });
  sockets.push(ws);
  const messages: SMsg[] = [];
  const send = (message: WorkerMessage['message']): void => ws.send(new WorkerMessage({ message }).toBinary());
  ws.on('message', (data: Buffer) => {
    const m = ServerMessage.fromBinary(new Uint8Array(data)).message;
    messages.push(m);
    if (m.case === 'availability' && m.value.job) {
      send({ case: 'availability', value: new AvailabilityResponse({ jobId: m.value.job.id, available: true, participantIdentity: `${agentName}-bot` }) });
    }
  });
  await new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  send({ case: 'register', value: new RegisterWorkerRequest({ type: JobType.JT_ROOM, agentName, deployment, version: '1.9.0' }) });
  await waitFor(() => messages.some((m) => m.case === 'register'), { timeoutMs: 5000, intervalMs: 10, label: 'the register answer' });
  return { messages, ws };
}

test('dispatch create -> list shows it with its running job -> get -> delete; the worker token is from token create --grant', { timeout: 60_000 }, async () => {
  const workerToken = ok(await cli(['token', 'create', ...conn(), '--grant', '{"agent":true}']), 'worker token').stdout.trim();
  const worker = await fakeWorker(workerToken, 'greeter');

  const created = ok(await cli(['dispatch', 'create', ...conn(), '--room', 'cli-dispatch', '--agent-name', 'greeter', '--metadata', '{"topic":"hi"}', '--json']), 'create');
  const dispatch = JSON.parse(created.stdout) as { id: string; agentName: string; room: string; metadata: string };
  assert.match(dispatch.id, /^AD_\w+$/);
  assert.deepEqual([dispatch.agentName, dispatch.room, dispatch.metadata], ['greeter', 'cli-dispatch', '{"topic":"hi"}']);

  await waitFor(() => worker.messages.some((m) => m.case === 'assignment'), { timeoutMs: 5000, intervalMs: 10, label: 'the job assignment' });
  const assignment = worker.messages.find((m) => m.case === 'assignment');
  assert.equal(assignment?.case, 'assignment');
  const jobId = assignment.value.job?.id ?? '';
  assert.equal(assignment.value.job?.dispatchId, dispatch.id);
  assert.equal(assignment.value.job?.metadata, '{"topic":"hi"}');

  // The table: the named dispatch with its running job (and the room's automatic dispatch, which no worker took).
  const table = ok(await cli(['dispatch', 'list', ...conn(), 'cli-dispatch']), 'list').stdout;
  const lines = table.trimEnd().split('\n');
  assert.match(lines[0] ?? '', /^DISPATCH-ID\s+ROOM\s+AGENT-NAME\s+DEPLOYMENT\s+METADATA\s+CREATED\s+JOBS$/);
  const row = lines.find((l) => l.startsWith(dispatch.id));
  assert.ok(row, table);
  assert.match(row, new RegExp(`^${dispatch.id}\\s+cli-dispatch\\s+greeter\\s+\\{"topic":"hi"\\}\\s+\\d{4}-\\d\\d-\\d\\dT\\S+Z\\s+${jobId} running AW_\\w+$`));
  assert.equal(lines.length, 3, `header, the named and the automatic dispatch:\n${table}`);

  const listed = JSON.parse(ok(await cli(['dispatch', 'list', ...conn(), '--room', 'cli-dispatch', '--json']), 'list --json').stdout) as {
    id: string;
    state: { jobs: { id: string; state: { status: string; participantIdentity: string } }[] };
  }[];
  const mine = listed.find((d) => d.id === dispatch.id);
  assert.deepEqual(
    mine?.state.jobs.map((j) => [j.id, j.state.status, j.state.participantIdentity]),
    [[jobId, 'JS_RUNNING', 'greeter-bot']],
  );

  const got = ok(await cli(['dispatch', 'get', ...conn(), 'cli-dispatch', dispatch.id]), 'get').stdout;
  assert.equal(got.trimEnd().split('\n').length, 2, got);
  assert.ok(got.includes(`${jobId} running`), got);

  const deleted = ok(await cli(['dispatch', 'delete', ...conn(), 'cli-dispatch', dispatch.id]), 'delete');
  assert.equal(deleted.stdout, `deleted dispatch ${dispatch.id} in room cli-dispatch\n`);
  await waitFor(() => worker.messages.some((m) => m.case === 'termination' && m.value.jobId === jobId), {
    timeoutMs: 5000,
    intervalMs: 10,
    label: 'the job termination',
  });
  const after = ok(await cli(['dispatch', 'list', ...conn(), 'cli-dispatch']), 'list after delete').stdout;
  assert.ok(!after.includes(dispatch.id), after);

  // --new-room: a generated room name, created by the dispatch.
  const fresh = ok(await cli(['dispatch', 'create', ...conn(), '--new-room', '--agent-name', 'greeter']), 'create --new-room').stdout;
  assert.match(fresh, /^DISPATCH-ID .*\nAD_\w+\s+room-[0-9A-Za-z]{12}\s+greeter\s+\d{4}-/);
});

test('--deployment: dispatch create -d staging goes to the worker registered with that deployment', { timeout: 60_000 }, async () => {
  const workerToken = ok(await cli(['token', 'create', ...conn(), '--grant', '{"agent":true}']), 'worker token').stdout.trim();
  const staging = await fakeWorker(workerToken, 'mover', 'staging');
  const production = await fakeWorker(workerToken, 'mover');
  const created = ok(await cli(['dispatch', 'create', ...conn(), '--room', 'cli-deploy', '--agent-name', 'mover', '-d', 'staging']), 'create -d');
  assert.match(created.stdout, /\nAD_\w+\s+cli-deploy\s+mover\s+staging\s+\d{4}-/);
  await waitFor(() => staging.messages.some((m) => m.case === 'assignment'), { timeoutMs: 5000, intervalMs: 10, label: 'the staging job' });
  const job = staging.messages.find((m) => m.case === 'assignment');
  assert.equal(job?.case === 'assignment' ? job.value.job?.deployment : undefined, 'staging');
  assert.equal(production.messages.filter((m) => m.case === 'availability').length, 0, 'the worker without a deployment is not offered it');
});

test('token create --agent NAME --job-metadata M: the roomConfig claim names the agent, and the join that creates the room dispatches it', { timeout: 60_000 }, async () => {
  assert.ok(server);
  const workerToken = ok(await cli(['token', 'create', ...conn(), '--grant', '{"agent":true}']), 'worker token').stdout.trim();
  const worker = await fakeWorker(workerToken, 'caller-agent');

  const r = ok(await cli(['token', 'create', ...conn(), '--room', 'cli-agent-token', '--identity', 'caller', '--agent', 'caller-agent', '--job-metadata', 'call 42']), 'token');
  const claims = (await new TokenVerifier(DEV_API_KEY, DEV_API_SECRET).verify(r.stdout.trim())) as Record<string, unknown>;
  const config = RoomConfiguration.fromJson(claims['roomConfig'] as never);
  assert.deepEqual(config.agents.map((a) => ({ agentName: a.agentName, metadata: a.metadata })), [{ agentName: 'caller-agent', metadata: 'call 42' }]);
  assert.deepEqual(claims['video'], { room: 'cli-agent-token', roomJoin: true, canPublish: true, canSubscribe: true, canPublishData: true });

  rooms.push(await connectRtcNode(server.url, r.stdout.trim(), { label: 'caller' }));
  await waitFor(() => worker.messages.some((m) => m.case === 'assignment'), { timeoutMs: 10_000, intervalMs: 10, label: 'the job from the token' });
  const assignment = worker.messages.find((m) => m.case === 'assignment');
  assert.equal(assignment?.case, 'assignment');
  assert.equal(assignment.value.job?.room?.name, 'cli-agent-token');
  assert.equal(assignment.value.job?.agentName, 'caller-agent');
  assert.equal(assignment.value.job?.metadata, 'call 42');

  const table = ok(await cli(['dispatch', 'list', ...conn(), 'cli-agent-token']), 'list').stdout;
  const rows = table.trimEnd().split('\n').slice(1);
  assert.equal(rows.length, 1, `only the token's dispatch (no automatic one):\n${table}`);
  assert.match(rows[0] ?? '', /^AD_\w+\s+cli-agent-token\s+caller-agent\s+call 42\s+\S+\s+AJ_\w+ running AW_\w+$/);
});

test('dispatch errors: a missing room is a usage error (2); an unknown dispatch or room is the Twirp not_found (1)', { timeout: 60_000 }, async () => {
  const noRoom = await cli(['dispatch', 'create', ...conn(), '--agent-name', 'greeter']);
  assert.equal(noRoom.code, 2);
  assert.match(noRoom.stderr, /^atrium dispatch create: missing required flag --room \(or --new-room for a generated room name\)\n/);

  ok(await cli(['room', 'create', ...conn(), '--name', 'cli-dispatch-errors']), 'room create');
  const unknownId = await cli(['dispatch', 'delete', ...conn(), 'cli-dispatch-errors', 'AD_nosuch']);
  assert.equal(unknownId.code, 1, unknownId.stderr);
  assert.equal(unknownId.stdout, '');
  assert.match(unknownId.stderr, /^atrium dispatch delete: not_found \(HTTP 404\): dispatch ID not found\n$/);

  const unknownGet = await cli(['dispatch', 'get', ...conn(), 'cli-dispatch-errors', 'AD_nosuch']);
  assert.equal(unknownGet.code, 1);
  assert.equal(unknownGet.stderr, "atrium dispatch get: no dispatch 'AD_nosuch' in room 'cli-dispatch-errors'\n");

  const unknownRoom = await cli(['dispatch', 'list', ...conn(), 'cli-no-such-room']);
  assert.equal(unknownRoom.code, 1);
  assert.match(unknownRoom.stderr, /^atrium dispatch list: not_found \(HTTP 404\): /);

  const wrongSecret = await cli(['dispatch', 'list', '--url', server?.url ?? '', '--api-key', DEV_API_KEY, '--api-secret', 'wrong', 'cli-dispatch-errors']);
  assert.equal(wrongSecret.code, 1);
  assert.match(wrongSecret.stderr, /^atrium dispatch list: the server rejected the API key\/secret \(401/);
});
