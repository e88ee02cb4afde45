// AgentDispatchService over Twirp with livekit-server-sdk's AgentDispatchClient against createServer, and a fake agent
// worker (registered as 'greeter') over a real WebSocket: create -> availability -> assignment; list; delete -> termination.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { WebSocket } from 'ws';
import { AgentDispatchClient, RoomServiceClient } from 'livekit-server-sdk';
import {
  AvailabilityResponse, JobRestartPolicy, JobStatus, RoomAgentDispatch, JobType, ListAgentDispatchRequest, ListAgentDispatchResponse, RegisterWorkerRequest, ServerMessage,
  WorkerMessage,
} from '@livekit/protocol';
import { silentLogger } from '@atrium/webrtc';
import { createAccessToken } from '@atrium/protocol';
import type { VideoGrant } from '@atrium/protocol';
import { waitFor } from '@atrium/webrtc/testing/wait-for.js';
import { createServer } from '../create-server.js';
import type { AtriumServer } from '../create-server.js';
import { devConfig } from '../config/server-config.js';
import { FakeMediaFactory } from '../rtc/fake-media.js';

type SMsg = ServerMessage['message'];
type ValueOf<C> = Extract<SMsg, { case: C }> extends { value: infer V } ? V : never;

class Worker {
  readonly messages: SMsg[] = [];
  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data: Buffer) => this.messages.push(ServerMessage.fromBinary(new Uint8Array(data)).message));
    ws.on('error', () => {});
  }
  static async connect(server: AtriumServer, agentName: string): Promise<Worker> {
    const token = await createAccessToken({ apiKey: 'devkey', apiSecret: 'secret', identity: 'worker', video: { agent: true } });
    const ws = new WebSocket(`${server.url}/agent`, { headers: { Authorization: `Bearer ${token}` } });
    await new Promise((resolve, reject) => {
      ws.once('open', resolve);
      ws.once('error', reject);
    });
    const w = new Worker(ws);
    w.send({ case: 'register', value: new RegisterWorkerRequest({ type: JobType.JT_ROOM, agentName, version: '1.9.0' }) });
    await w.next('register');
    return w;
  }
  send(message: WorkerMessage['message']): void {
    this.ws.send(new WorkerMessage({ message }).toBinary());
  }
  async next<C extends NonNullable<SMsg['case']>>(kind: C, from = 0): Promise<ValueOf<C>> {
    let found: SMsg | undefined;
    await waitFor(() => (found = this.messages.slice(from).find((m) => m.case === kind)) !== undefined, { timeoutMs: 3000, intervalMs: 5, label: `a ${kind} message` });
    return (found as { value: unknown }).value as ValueOf<C>;
  }
  count(kind: NonNullable<SMsg['case']>): number {
    return this.messages.filter((m) => m.case === kind).length;
  }
}

async function withServer(run: (server: AtriumServer, client: AgentDispatchClient) => Promise<void>): Promise<void> {
  const server = await createServer(devConfig({ port: 0, rtc: { udpPort: 0 } }), { mediaFactory: new FakeMediaFactory(), logger: silentLogger });
  try {
    await run(server, new AgentDispatchClient(`http://127.0.0.1:${server.httpPort}`, 'devkey', 'secret'));
  } finally {
    await server.close();
  }
}

async function raw(server: AtriumServer, methodName: string, body: unknown, video: VideoGrant | undefined): Promise<{ status: number; json: { code?: string; msg?: string } }> {
  const headers: Record<string, string> = { 'Content-Type': 'application/json' };
  if (video) headers['Authorization'] = `Bearer ${await createAccessToken({ apiKey: 'devkey', apiSecret: 'secret', identity: 'api', video })}`;
  const res = await fetch(`http://127.0.0.1:${server.httpPort}/twirp/livekit.AgentDispatchService/${methodName}`, { method: 'POST', headers, body: JSON.stringify(body) });
  return { status: res.status, json: (await res.json()) as { code?: string; msg?: string } };
}

test('agent dispatch: CreateDispatch -> the named worker gets the job -> accept -> assignment; ListDispatch; DeleteDispatch -> termination', async () => {
  await withServer(async (server, client) => {
    const plain = await Worker.connect(server, '');
    const greeter = await Worker.connect(server, 'greeter');

    const dispatch = await client.createDispatch('lobby', 'greeter', { metadata: '{"topic":"hi"}' });
    assert.match(dispatch.id, /^AD_/);
    assert.equal(dispatch.agentName, 'greeter');
    assert.equal(dispatch.room, 'lobby');
    assert.equal(dispatch.metadata, '{"topic":"hi"}');
    assert.ok((dispatch.state?.createdAt ?? 0n) > 0n);
    assert.ok(server.rooms.getRoom('lobby'), 'CreateDispatch creates the room (auto-create on, as LiveKit)');

    const job = (await greeter.next('availability')).job!;
    assert.equal(job.agentName, 'greeter');
    assert.equal(job.dispatchId, dispatch.id);
    assert.equal(job.metadata, '{"topic":"hi"}');
    assert.equal(job.type, JobType.JT_ROOM);
    assert.equal(job.room?.name, 'lobby');
    // The unnamed worker gets the room's automatic job, never the named one.
    const auto = (await plain.next('availability')).job!;
    assert.equal(auto.agentName, '');
    assert.notEqual(auto.dispatchId, dispatch.id);

    greeter.send({ case: 'availability', value: new AvailabilityResponse({ jobId: job.id, available: true, participantIdentity: 'greeter-bot' }) });
    const assignment = await greeter.next('assignment');
    assert.equal(assignment.job?.id, job.id);
    assert.equal(assignment.job?.state?.status, JobStatus.JS_RUNNING);
    assert.ok(assignment.token);

    const all = await client.listDispatch('lobby');
    assert.deepEqual(all.map((d) => d.agentName).sort(), ['', 'greeter']);
    const got = await client.getDispatch(dispatch.id, 'lobby');
    assert.equal(got?.id, dispatch.id);
    assert.equal(got?.state?.jobs[0]?.id, job.id);
    assert.equal(got?.state?.jobs[0]?.state?.participantIdentity, 'greeter-bot');

    // Protobuf encoding as well.
    const token = await createAccessToken({ apiKey: 'devkey', apiSecret: 'secret', identity: '', video: { roomAdmin: true, room: 'lobby' } });
    const pb = await fetch(`http://127.0.0.1:${server.httpPort}/twirp/livekit.AgentDispatchService/ListDispatch`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/protobuf', Authorization: `Bearer ${token}` },
      body: Buffer.from(new ListAgentDispatchRequest({ room: 'lobby', dispatchId: dispatch.id }).toBinary()),
    });
    assert.equal(pb.status, 200);
    assert.deepEqual(ListAgentDispatchResponse.fromBinary(new Uint8Array(await pb.arrayBuffer())).agentDispatches.map((d) => d.id), [dispatch.id]);

    await client.deleteDispatch(dispatch.id, 'lobby');
    const term = await greeter.next('termination');
    assert.equal(term.jobId, job.id);
    assert.equal(plain.count('termination'), 0, 'the automatic job keeps running');
    assert.equal(await client.getDispatch(dispatch.id, 'lobby'), undefined);
    plain.ws.close();
    greeter.ws.close();
  });
});

test('agent dispatch: a named dispatch with no such worker stays pending until one registers', async () => {
  await withServer(async (server, client) => {
    const dispatch = await client.createDispatch('later', 'greeter');
    const greeter = await Worker.connect(server, 'greeter');
    const job = (await greeter.next('availability')).job!;
    assert.equal(job.dispatchId, dispatch.id);
    greeter.ws.close();
  });
});

test('agent dispatch: bad calls get clear Twirp errors', async () => {
  await withServer(async (server, client) => {
    await assert.rejects(client.createDispatch('', 'greeter'), (err: Error & { status?: number; code?: string }) => {
      assert.equal(err.status, 400);
      assert.equal(err.code, 'invalid_argument');
      assert.match(err.message, /room name is required/);
      return true;
    });
    const cases: { name: string; method: string; body: unknown; video: VideoGrant | undefined; status: number; code: string; msg: RegExp }[] = [
      { name: 'no token', method: 'CreateDispatch', body: { room: 'r', agent_name: 'g' }, video: undefined, status: 401, code: 'unauthenticated', msg: /permissions denied/ },
      { name: 'no roomAdmin', method: 'CreateDispatch', body: { room: 'r', agent_name: 'g' }, video: { roomList: true, roomCreate: true }, status: 401, code: 'unauthenticated', msg: /permissions denied/ },
      { name: 'admin of another room', method: 'ListDispatch', body: { room: 'r' }, video: { roomAdmin: true, room: 'other' }, status: 401, code: 'unauthenticated', msg: /permissions denied/ },
      { name: 'list: unknown room', method: 'ListDispatch', body: { room: 'nope' }, video: { roomAdmin: true, room: 'nope' }, status: 404, code: 'not_found', msg: /room does not exist/ },
      { name: 'delete: no id', method: 'DeleteDispatch', body: { room: 'nope' }, video: { roomAdmin: true, room: 'nope' }, status: 400, code: 'invalid_argument', msg: /dispatch ID is required/ },
      { name: 'delete: unknown room', method: 'DeleteDispatch', body: { room: 'nope', dispatch_id: 'AD_x' }, video: { roomAdmin: true, room: 'nope' }, status: 404, code: 'not_found', msg: /room does not exist/ },
    ];
    for (const c of cases) {
      const res = await raw(server, c.method, c.body, c.video);
      assert.equal(res.status, c.status, c.name);
      assert.equal(res.json.code, c.code, c.name);
      assert.match(res.json.msg ?? '', c.msg, c.name);
    }
    await client.createDispatch('here', 'greeter');
    const missing = await raw(server, 'DeleteDispatch', { room: 'here', dispatch_id: 'AD_unknown' }, { roomAdmin: true, room: 'here' });
    assert.equal(missing.status, 404);
    assert.equal(missing.json.code, 'not_found');
    assert.match(missing.json.msg ?? '', /dispatch ID not found/);
  });
});

test('agent dispatch: with room auto-create off, CreateDispatch for a missing room is not_found', async () => {
  const server = await createServer(devConfig({ port: 0, rtc: { udpPort: 0 }, room: { autoCreate: false } }), { mediaFactory: new FakeMediaFactory(), logger: silentLogger });
  try {
    const client = new AgentDispatchClient(`http://127.0.0.1:${server.httpPort}`, 'devkey', 'secret');
    await assert.rejects(client.createDispatch('ghost', 'greeter'), (err: Error & { code?: string }) => {
      assert.equal(err.code, 'not_found');
      assert.match(err.message, /requested room does not exist/);
      return true;
    });
  } finally {
    await server.close();
  }
});

test('agent dispatch: CreateRoom `agents` dispatches those agents (not the automatic one), listed with their restart policy', async () => {
  await withServer(async (server, client) => {
    const plain = await Worker.connect(server, '');
    const greeter = await Worker.connect(server, 'greeter');
    const rooms = new RoomServiceClient(`http://127.0.0.1:${server.httpPort}`, 'devkey', 'secret');
    await rooms.createRoom({
      name: 'hall',
      agents: [new RoomAgentDispatch({ agentName: 'greeter', metadata: 'welcome', restartPolicy: JobRestartPolicy.JRP_NEVER, attributes: { floor: '2' } })],
    });
    const job = (await greeter.next('availability')).job!;
    assert.equal(job.metadata, 'welcome');
    assert.deepEqual(job.attributes, { floor: '2' });
    const listed = await client.listDispatch('hall');
    assert.equal(listed.length, 1, 'only the configured dispatch');
    assert.equal(listed[0]?.agentName, 'greeter');
    assert.equal(listed[0]?.restartPolicy, JobRestartPolicy.JRP_NEVER);
    assert.equal(listed[0]?.state?.jobs[0]?.id, job.id);
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(plain.count('availability'), 0);
    plain.ws.close();
    greeter.ws.close();
  });
});
