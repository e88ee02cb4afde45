// The /agent worker protocol over a real WebSocket against createServer (fake media, ManualClock), driven by a fake
// worker speaking @livekit/protocol WorkerMessage/ServerMessage: register, ping, automatic room dispatch, termination.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { WebSocket } from 'ws';
import {
  AvailabilityResponse, DisconnectReason, LeaveRequest, ParticipantInfo_State, LeaveRequest_Action, RoomAgentDispatch, RoomConfiguration, SimulateJobRequest, JobStatus, JobType, RegisterWorkerRequest, ServerMessage, UpdateJobStatus, UpdateWorkerStatus,
  WorkerMessage, WorkerPing, WorkerStatus,
} from '@livekit/protocol';
import { ManualClock, silentLogger } from '@atrium/webrtc';
import { createAccessToken, verifyAccessToken } from '@atrium/protocol';
import type { VideoGrant } from '@atrium/protocol';
import type { Job } from '@livekit/protocol';
import { waitFor } from '@atrium/webrtc/testing/wait-for.js';
import { createServer } from '../create-server.js';
import type { AtriumServer } from '../create-server.js';
import { devConfig } from '../config/server-config.js';
import { FakeMediaFactory } from '../rtc/fake-media.js';
import { TestSignalClient } from '../signal/test-signal-client.js';
import { AVAILABILITY_TIMEOUT_MS } from './dispatcher.js';

const KEYS = { devkey: 'secret' };
const polling = { timeoutMs: 3000, intervalMs: 5, label: 'agent test condition' };
type SMsg = ServerMessage['message'];
type ValueOf<C> = Extract<SMsg, { case: C }> extends { value: infer V } ? V : never;

const workerToken = (video: VideoGrant = { agent: true }): Promise<string> =>
  createAccessToken({ apiKey: 'devkey', apiSecret: 'secret', identity: 'worker', video });

class FakeWorker {
  readonly messages: SMsg[] = [];
  closeCode: number | undefined;
  closeReason = '';
  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data: Buffer) => this.messages.push(ServerMessage.fromBinary(new Uint8Array(data)).message));
    ws.on('close', (code, reason) => {
      this.closeCode = code;
      this.closeReason = reason.toString();
    });
    ws.on('error', () => {});
  }

  /** Connects as @livekit/agents does: `<url>/agent` with `Authorization: Bearer`. */
  static connect(server: AtriumServer, token: string): Promise<FakeWorker> {
    const ws = new WebSocket(`${server.url}/agent`, { headers: { Authorization: `Bearer ${token}` } });
    return new Promise((resolve, reject) => {
      ws.once('open', () => resolve(new FakeWorker(ws)));
      ws.once('unexpected-response', (_req, res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString()));
        res.on('end', () => reject(new Error(`upgrade rejected: ${res.statusCode} ${body}`)));
      });
      ws.once('error', reject);
    });
  }

  send(message: WorkerMessage['message']): void {
    this.ws.send(new WorkerMessage({ message }).toBinary());
  }

  async next<C extends NonNullable<SMsg['case']>>(kind: C, from = 0): Promise<ValueOf<C>> {
    let found: SMsg | undefined;
    await waitFor(() => (found = this.messages.slice(from).find((m) => m.case === kind)) !== undefined, { ...polling, label: `a ${kind} message` });
    return (found as { value: unknown }).value as ValueOf<C>;
  }

  async register(type: JobType = JobType.JT_ROOM, agentName = ''): Promise<string> {
    this.send({ case: 'register', value: new RegisterWorkerRequest({ type, agentName, version: '1.9.0', namespace: '' }) });
    return (await this.next('register')).workerId;
  }
}

/** Which of `among` got an availability request (workers are drawn at random), and the offered job. */
async function offered(among: FakeWorker[]): Promise<[FakeWorker, Job]> {
  let hit: FakeWorker | undefined;
  await waitFor(() => (hit = among.find((w) => w.messages.some((m) => m.case === 'availability'))) !== undefined, { ...polling, label: 'an availability request' });
  return [hit!, (await hit!.next('availability')).job!];
}

async function withServer(run: (server: AtriumServer, clock: ManualClock, fake: FakeMediaFactory) => Promise<void>): Promise<void> {
  const clock = new ManualClock();
  const fake = new FakeMediaFactory();
  const server = await createServer(devConfig({ port: 0, rtc: { udpPort: 0 } }), { mediaFactory: fake, logger: silentLogger, clock });
  try {
    await run(server, clock, fake);
  } finally {
    await server.close();
  }
}

test('agent: register -> RegisterWorkerResponse with worker id and server info; ping -> pong', async () => {
  await withServer(async (server, clock) => {
    const w = await FakeWorker.connect(server, await workerToken());
    w.send({ case: 'register', value: new RegisterWorkerRequest({ type: JobType.JT_ROOM, version: '1.9.0' }) });
    const reg = await w.next('register');
    assert.match(reg.workerId, /^AW_/);
    assert.equal(reg.serverInfo?.nodeId, server.nodeId);
    assert.ok(reg.serverInfo?.version);
    w.send({ case: 'ping', value: new WorkerPing({ timestamp: 12345n }) });
    const pong = await w.next('pong');
    assert.equal(pong.lastTimestamp, 12345n);
    assert.equal(pong.timestamp, BigInt(Math.round(clock.wallMs())));
    w.ws.close();
  });
});

test('agent: a new room -> availability request -> accept -> assignment with a token for the room; room closed -> termination', async () => {
  await withServer(async (server) => {
    const w = await FakeWorker.connect(server, await workerToken());
    const workerId = await w.register();
    const alice = await TestSignalClient.join(server.url, 'alice');
    const req = await w.next('availability');
    const job = req.job!;
    assert.match(job.id, /^AJ_/);
    assert.equal(job.type, JobType.JT_ROOM);
    assert.equal(job.room?.name, 'test');
    assert.equal(job.agentName, '');
    assert.ok(job.dispatchId);
    w.send({
      case: 'availability',
      value: new AvailabilityResponse({ jobId: job.id, available: true, participantIdentity: 'echo-bot', participantName: 'Echo', participantAttributes: { a: 'b' } }),
    });
    const assignment = await w.next('assignment');
    assert.equal(assignment.job?.id, job.id);
    assert.equal(assignment.job?.state?.status, JobStatus.JS_RUNNING);
    assert.equal(assignment.job?.state?.workerId, workerId);
    const claims = await verifyAccessToken(assignment.token, KEYS);
    assert.equal(claims.identity, 'echo-bot');
    assert.equal(claims.name, 'Echo');
    assert.equal(claims.kind, 'agent');
    assert.deepEqual(claims.attributes, { a: 'b', 'lk.agent.name': '' });
    assert.equal(claims.video?.room, 'test');
    assert.equal(claims.video?.roomJoin, true);
    assert.equal(claims.video?.agent, true);
    assert.equal(claims.video?.canPublish, true);
    assert.equal(claims.video?.canSubscribe, true);
    assert.equal(claims.video?.canPublishData, true);
    w.send({ case: 'updateJob', value: new UpdateJobStatus({ jobId: job.id, status: JobStatus.JS_RUNNING }) });
    w.send({ case: 'updateWorker', value: new UpdateWorkerStatus({ status: WorkerStatus.WS_AVAILABLE, load: 0.3 }) });
    server.rooms.getRoom('test')?.close();
    const term = await w.next('termination');
    assert.equal(term.jobId, job.id);
    alice.ws.close();
    w.ws.close();
  });
});

test('agent: a decline or an availability timeout moves the job to the next worker', async () => {
  await withServer(async (server, clock) => {
    const a = await FakeWorker.connect(server, await workerToken());
    await a.register();
    const b = await FakeWorker.connect(server, await workerToken());
    await b.register();
    const c = await FakeWorker.connect(server, await workerToken());
    await c.register();
    const alice = await TestSignalClient.join(server.url, 'alice');
    // The worker is drawn at random (weighted by load): find who got each offer.
    const [first, { id: jobId }] = await offered([a, b, c]);
    first.send({ case: 'availability', value: new AvailabilityResponse({ jobId, available: false }) });
    const [second, { id: id2 }] = await offered([a, b, c].filter((w) => w !== first));
    assert.equal(id2, jobId);
    clock.advance(AVAILABILITY_TIMEOUT_MS);
    const [third, { id: id3 }] = await offered([a, b, c].filter((w) => w !== first && w !== second));
    assert.equal(id3, jobId);
    third.send({ case: 'availability', value: new AvailabilityResponse({ jobId, available: true }) });
    const assignment = await third.next('assignment');
    assert.equal((await verifyAccessToken(assignment.token, KEYS)).identity, `agent-${jobId}`);
    alice.ws.close();
    for (const w of [a, b, c]) w.ws.close();
  });
});

test('agent: tokens without the agent grant, or none, are refused with 401 and a clear message', async () => {
  await withServer(async (server) => {
    await assert.rejects(FakeWorker.connect(server, await workerToken({ roomJoin: true, room: 'x' })), /upgrade rejected: 401 .*agent grant/);
    const ws = new WebSocket(`${server.url}/agent`);
    const status = await new Promise<number | undefined>((resolve) => {
      ws.once('unexpected-response', (_req, res) => resolve(res.statusCode));
      ws.once('error', () => resolve(undefined));
    });
    assert.equal(status, 401);
    await assert.rejects(FakeWorker.connect(server, 'not-a-jwt'), /upgrade rejected: 401 invalid authorization token/);
  });
});

test('agent: a garbage frame closes only that worker with a reason; the server and other workers go on', async () => {
  await withServer(async (server) => {
    const bad = await FakeWorker.connect(server, await workerToken());
    const good = await FakeWorker.connect(server, await workerToken());
    await good.register();
    bad.ws.send(Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f]));
    await waitFor(() => bad.closeCode !== undefined, polling);
    assert.equal(bad.closeCode, 1007);
    assert.equal(bad.closeReason, 'malformed WorkerMessage');
    good.send({ case: 'ping', value: new WorkerPing({ timestamp: 1n }) });
    await good.next('pong');
    const again = await FakeWorker.connect(server, await workerToken());
    await again.register();
    again.ws.close();
    good.ws.close();
  });
});

test('agent: simulate_job offers a job to the asking worker only', async () => {
  await withServer(async (server) => {
    const w = await FakeWorker.connect(server, await workerToken());
    await w.register(JobType.JT_ROOM, 'named');
    w.send({ case: 'simulateJob', value: new SimulateJobRequest() });
    const req = await w.next('availability');
    assert.equal(req.job?.agentName, 'named');
    assert.match(req.job?.room?.name ?? '', /^simulated-/);
    w.send({ case: 'availability', value: new AvailabilityResponse({ jobId: req.job!.id, available: true }) });
    const assignment = await w.next('assignment');
    assert.equal((await verifyAccessToken(assignment.token, KEYS)).attributes?.['lk.agent.name'], 'named');
    w.ws.close();
  });
});

/** Joins with a token for room `test` carrying `roomConfig` (protobuf JSON, as livekit-server-sdk writes it). */
async function joinWithRoomConfig(server: AtriumServer, identity: string, roomConfig: RoomConfiguration): Promise<TestSignalClient> {
  const token = await createAccessToken({
    apiKey: 'devkey', apiSecret: 'secret', identity, video: { roomJoin: true, room: 'test' }, roomConfig: roomConfig.toJson(),
  });
  const c = await TestSignalClient.connect(server.url, token);
  await c.waitFor((m) => m.case === 'join');
  return c;
}

/** The participant's primary PC connects: it becomes ACTIVE (participant_joined). */
function connect(fake: FakeMediaFactory, identity: string): void {
  fake.mediaOf(identity).emit('connectionState', { target: 1, state: 'connected' });
}

test("agent: a token's roomConfig.agents dispatches those agents when the join creates the room, instead of the automatic one", async () => {
  await withServer(async (server) => {
    const plain = await FakeWorker.connect(server, await workerToken());
    await plain.register();
    const greeter = await FakeWorker.connect(server, await workerToken());
    await greeter.register(JobType.JT_ROOM, 'greeter');
    const alice = await joinWithRoomConfig(server, 'alice', new RoomConfiguration({ agents: [new RoomAgentDispatch({ agentName: 'greeter', metadata: '{"lang":"fr"}' })] }));
    const job = (await greeter.next('availability')).job!;
    assert.equal(job.agentName, 'greeter');
    assert.equal(job.metadata, '{"lang":"fr"}');
    assert.equal(job.room?.name, 'test');
    await new Promise((r) => setTimeout(r, 100));
    assert.ok(!plain.messages.some((m) => m.case === 'availability'), 'no automatic dispatch');
    alice.close();
    plain.ws.close();
    greeter.ws.close();
  });
});

test('agent: JT_PARTICIPANT job per participant; the agent leaving on purpose ends its job with a termination', async () => {
  await withServer(async (server, _clock, fake) => {
    const w = await FakeWorker.connect(server, await workerToken());
    await w.register(JobType.JT_PARTICIPANT);
    const alice = await TestSignalClient.join(server.url, 'alice');
    await new Promise((r) => setTimeout(r, 50));
    assert.ok(!w.messages.some((m) => m.case === 'availability'), 'not before alice is active');
    connect(fake, 'alice');
    const job = (await w.next('availability')).job!;
    assert.equal(job.type, JobType.JT_PARTICIPANT);
    assert.equal(job.participant?.identity, 'alice');
    w.send({ case: 'availability', value: new AvailabilityResponse({ jobId: job.id, available: true }) });
    const assignment = await w.next('assignment');
    const agent = await TestSignalClient.connect(server.url, assignment.token);
    await agent.waitFor((m) => m.case === 'join');
    connect(fake, `agent-${job.id}`);
    await waitFor(() => server.rooms.getRoom('test')?.listParticipants().some((p) => p.identity === `agent-${job.id}` && p.snapshot().state === ParticipantInfo_State.ACTIVE) === true, polling);
    assert.equal(w.messages.filter((m) => m.case === 'availability').length, 1, 'the agent itself launches no participant job');
    agent.send({ case: 'leave', value: new LeaveRequest({ reason: DisconnectReason.CLIENT_INITIATED, action: LeaveRequest_Action.DISCONNECT }) });
    const term = await w.next('termination');
    assert.equal(term.jobId, job.id);
    alice.close();
    w.ws.close();
  });
});

test('agent: a worker dropping mid-job -> the job is restarted on another worker once its agent is gone', async () => {
  await withServer(async (server, _clock, fake) => {
    const a = await FakeWorker.connect(server, await workerToken());
    await a.register();
    const b = await FakeWorker.connect(server, await workerToken());
    await b.register();
    const alice = await TestSignalClient.join(server.url, 'alice');
    const [first, job] = await offered([a, b]);
    const other = first === a ? b : a;
    first.send({ case: 'availability', value: new AvailabilityResponse({ jobId: job.id, available: true }) });
    const agent = await TestSignalClient.connect(server.url, (await first.next('assignment')).token);
    await agent.waitFor((m) => m.case === 'join');
    connect(fake, `agent-${job.id}`);
    await waitFor(() => server.rooms.getRoom('test')?.listParticipants().some((p) => p.identity === `agent-${job.id}` && p.snapshot().state === ParticipantInfo_State.ACTIVE) === true, polling);
    first.ws.terminate();
    await new Promise((r) => setTimeout(r, 100));
    assert.ok(!other.messages.some((m) => m.case === 'availability'), 'not while its agent is still in the room');
    agent.ws.terminate(); // the job process died too: its signal connection drops
    // ... and its PCs fail (a participant whose signal drops is otherwise kept for a resume, docs/resume.md).
    const agentIdentity = `agent-${job.id}`;
    await waitFor(() => server.rooms.getRoom('test')?.listParticipants().find((p) => p.identity === agentIdentity)?.isAwaitingResume === true, polling);
    fake.mediaOf(`agent-${job.id}`).emit('connectionState', { target: 1, state: 'failed' });
    const again = (await other.next('availability')).job!;
    assert.notEqual(again.id, job.id);
    assert.equal(again.dispatchId, job.dispatchId);
    alice.close();
    other.ws.close();
  });
});
