// Room lifecycle with an injected ManualClock: departure and empty timeouts, nothing left behind.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LeaveRequest, LeaveRequest_Action, DisconnectReason } from '@livekit/protocol';
import { ManualClock, silentLogger } from '@atrium/webrtc';
import { createServer } from '../create-server.js';
import { devConfig } from '../config/server-config.js';
import { FakeMediaFactory } from './fake-media.js';
import { RoomManager } from './room-manager.js';
import { JoinRefusedError } from './join-admission.js';
import { TestSignalClient } from '../signal/test-signal-client.js';
import { waitFor } from '@atrium/webrtc/testing/wait-for.js';

/** Real-time waits in this file (signalling over a local WebSocket): 3 s at most, polled every 5 ms. */
const polling = { timeoutMs: 3000, intervalMs: 5 } as const;

test('a room closes departureTimeout after its last participant leaves, and not before', async () => {
  const clock = new ManualClock();
  const fake = new FakeMediaFactory();
  const server = await createServer(devConfig({ port: 0, rtc: { udpPort: 0 }, room: { departureTimeoutSec: 20, emptyTimeoutSec: 300 } }), {
    mediaFactory: fake, logger: silentLogger, clock,
  });
  try {
    const alice = await TestSignalClient.join(server.url, 'alice');
    const room = server.rooms.getRoom('test');
    assert.ok(room);
    // Four timers: the connected session's ping-timeout check and token refresh, and the room's speaker and
    // connection-quality updates (which run while the room is occupied). No room-close timer while occupied.
    assert.equal(clock.pendingTimers, 4, 'liveness check, token refresh and room updates only: no close timer while occupied');
    alice.send({ case: 'leave', value: new LeaveRequest({ reason: DisconnectReason.CLIENT_INITIATED, action: LeaveRequest_Action.DISCONNECT }) });
    await waitFor(() => room.participantCount === 0, { ...polling, label: 'participant removed' });
    assert.equal(fake.mediaOf('alice').closed, true);
    await alice.waitClosed();
    clock.advance(19_000);
    assert.equal(server.rooms.getRoom('test'), room);
    // Someone joining within the timeout keeps the room (same sid) and cancels the timer.
    const bob = await TestSignalClient.join(server.url, 'bob');
    assert.equal(server.rooms.getRoom('test'), room);
    assert.equal(clock.pendingTimers, 4, "bob's liveness check, token refresh and room updates: the departure timer is cancelled");
    bob.close();
    await waitFor(() => room.participantCount === 0, { ...polling, label: 'bob removed' });
    clock.advance(19_999);
    assert.equal(server.rooms.roomCount, 1);
    clock.advance(1);
    assert.equal(room.isClosed, true);
    assert.equal(server.rooms.roomCount, 0);
    assert.equal(clock.pendingTimers, 0, 'no timers left behind');
    // A new join creates a fresh room.
    const carol = await TestSignalClient.join(server.url, 'carol');
    assert.notEqual(server.rooms.getRoom('test'), room);
    carol.close();
  } finally {
    await server.close();
  }
});

test('a room nobody joins closes after emptyTimeout; close() cascades', async () => {
  const clock = new ManualClock();
  const fake = new FakeMediaFactory();
  const server = await createServer(devConfig({ port: 0, rtc: { udpPort: 0 } }), { mediaFactory: fake, logger: silentLogger, clock });
  const room = server.rooms.getOrCreateRoom('idle');
  clock.advance(299_999);
  assert.equal(room.isClosed, false);
  clock.advance(1);
  assert.equal(room.isClosed, true);
  assert.equal(server.rooms.roomCount, 0);
  // Server close: participants get LeaveRequest SERVER_SHUTDOWN, media closed, factory closed.
  const a = await TestSignalClient.join(server.url, 'a', '', { roomJoin: true, room: 'busy' });
  await server.close();
  const leave = await a.waitFor((m) => m.case === 'leave');
  assert.equal((leave.value as LeaveRequest).reason, DisconnectReason.SERVER_SHUTDOWN);
  await a.waitClosed();
  assert.equal(fake.mediaOf('a').closed, true);
  assert.equal(fake.closed, true);
  assert.equal(server.rooms.roomCount, 0);
  assert.equal(clock.pendingTimers, 0);
  await server.close(); // idempotent
});

test('after stopCreatingRooms (drain) no path creates a room; existing rooms are still joined and returned', () => {
  const rooms = new RoomManager({ nodeId: 'ND_test', emptyTimeoutSec: 300, departureTimeoutSec: 20, clock: new ManualClock(), logger: silentLogger });
  try {
    const kept = rooms.getOrCreateRoom('kept');
    rooms.stopCreatingRooms();
    const join = { identity: 'carol', isDependent: false, canCreateRoom: false };
    assert.throws(() => rooms.checkJoin('new', join), (e: unknown) => e instanceof JoinRefusedError && e.code === 'draining');
    // A join that passed its check just before the drain began is refused when it asks for the room.
    assert.throws(() => rooms.getOrCreateRoom('new'), (e: unknown) => e instanceof JoinRefusedError && e.code === 'draining');
    assert.throws(() => rooms.roomForJoin('new', join), /server is draining/);
    assert.equal(rooms.getRoom('new'), undefined);
    assert.equal(rooms.roomForJoin('kept', join), kept);
    assert.equal(rooms.getOrCreateRoom('kept'), kept);
  } finally {
    rooms.close();
  }
});
