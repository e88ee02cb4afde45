// Drain with a running server (fake media, real HTTP/WebSocket): the health check turns not-ready, joins that
// would create a room are refused with 503 on /rtc/validate and the WebSocket, existing rooms keep taking joins,
// and drain() resolves (and the server closes) when the last participant leaves or the deadline passes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LeaveRequest_Action, DisconnectReason } from '@livekit/protocol';
import { silentLogger } from '@atrium/webrtc';
import { waitFor } from '@atrium/webrtc/testing/wait-for.js';
import { createServer } from '../create-server.js';
import { devConfig } from '../config/server-config.js';
import { FakeMediaFactory } from '../rtc/fake-media.js';
import { TestSignalClient, devToken } from '../signal/test-signal-client.js';
import { DRAINING_REFUSAL, NOT_READY_BODY } from './node-state.js';

async function start() {
  const server = await createServer(devConfig({ port: 0, rtc: { udpPort: 0 } }), { mediaFactory: new FakeMediaFactory(), logger: silentLogger });
  const http = server.url.replace('ws:', 'http:');
  const get = async (path: string, method = 'GET') => {
    const res = await fetch(http + path, { method });
    return { status: res.status, body: await res.text() };
  };
  const validate = async (identity: string, room: string) =>
    get(`/rtc/validate?access_token=${encodeURIComponent(await devToken(identity, { roomJoin: true, room }))}`);
  return { server, get, validate };
}

test('drain refuses new rooms, keeps existing ones, reports not ready, and ends when the room empties', async () => {
  const { server, get, validate } = await start();
  try {
    assert.deepEqual(await get('/'), { status: 200, body: 'OK' });
    const alice = await TestSignalClient.join(server.url, 'alice', '', { roomJoin: true, room: 'kept' });
    let drained = false;
    const drainDone = server.drain({ timeoutMs: 60_000 }).then(() => (drained = true));
    assert.equal(server.isDraining, true);
    assert.deepEqual(await get('/'), { status: 406, body: NOT_READY_BODY });
    assert.equal((await get('/', 'HEAD')).status, 406);
    assert.deepEqual(await validate('carol', 'new-room'), { status: 503, body: DRAINING_REFUSAL });
    await assert.rejects(TestSignalClient.join(server.url, 'carol', '', { roomJoin: true, room: 'new-room' }), /upgrade rejected: 503/);
    assert.equal(server.rooms.getRoom('new-room'), undefined, 'no room was created');
    // The server API creates no room either; an existing one is returned as it is.
    const api = async (name: string) => {
      const token = await devToken('', { roomCreate: true });
      const res = await fetch(server.url.replace('ws:', 'http:') + '/twirp/livekit.RoomService/CreateRoom', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${token}` },
        body: JSON.stringify({ name }),
      });
      return { status: res.status, json: (await res.json()) as Record<string, unknown> };
    };
    assert.deepEqual(await api('api-room'), { status: 503, json: { code: 'unavailable', msg: DRAINING_REFUSAL } });
    assert.equal(server.rooms.getRoom('api-room'), undefined);
    const kept = await api('kept');
    assert.equal(kept.status, 200);
    assert.equal(kept.json['name'], 'kept');
    assert.deepEqual(await validate('bob', 'kept'), { status: 200, body: 'success' });
    const bob = await TestSignalClient.join(server.url, 'bob', '', { roomJoin: true, room: 'kept' });
    assert.equal(server.rooms.getRoom('kept')?.participantCount, 2);
    assert.equal(drained, false);
    alice.close();
    bob.close();
    await waitFor(() => drained, { timeoutMs: 5000, intervalMs: 10, label: 'drain to finish after everyone left' });
    await drainDone;
    assert.equal(server.resources().rooms, 0);
    await assert.rejects(get('/'), 'the HTTP listener is closed');
  } finally {
    await server.close();
  }
});

test('the drain deadline closes the server with participants still in; drain is idempotent', async () => {
  const { server } = await start();
  try {
    const alice = await TestSignalClient.join(server.url, 'alice', '', { roomJoin: true, room: 'stuck' });
    const t0 = Date.now();
    const first = server.drain({ timeoutMs: 300 });
    assert.equal(server.drain(), first);
    await first;
    assert.ok(Date.now() - t0 >= 250, 'waited for the deadline');
    const leave = await alice.waitFor((m) => m.case === 'leave');
    assert.ok(leave.case === 'leave');
    // Not just dropped: the client is asked to rejoin (on a node that serves, or this one once it is back).
    assert.equal(leave.value.action, LeaveRequest_Action.RECONNECT);
    assert.equal(leave.value.reason, DisconnectReason.SERVER_SHUTDOWN);
    assert.equal(leave.value.canReconnect, true);
    await alice.waitClosed();
    assert.equal(server.resources().rooms, 0);
  } finally {
    await server.close();
  }
});

test('drain with nobody connected closes at once', async () => {
  const { server } = await start();
  await server.drain({ timeoutMs: 60_000 });
  assert.equal(server.isDraining, true);
});
