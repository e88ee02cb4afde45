// The TURN server core on a manual clock with fake relay sockets: the 401/nonce handshake, Allocate/Refresh and
// expiry, permissions and their expiry, channel binding and expiry, Send/Data indications and ChannelData both ways,
// auth failures (wrong password, stale nonce, expired username, another user on the allocation), quotas and errors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../clock.js';
import { StunAttr, StunMethod } from '../stun/stun-constants.js';
import { encodeStunMessage } from '../stun/stun-message.js';
import { TurnTestClient, readDataIndication, readTurnAnswer } from '../testing/turn-test-client.js';
import type { TurnAnswer } from '../testing/turn-test-client.js';
import { encodeChannelData, parseChannelData } from './channel-data.js';
import type { TurnClientPath } from './turn-allocation.js';
import { CHANNEL_LIFETIME_MS, PERMISSION_LIFETIME_MS } from './turn-allocation.js';
import type { RelayReceive, RelaySocket, RelaySocketFactory } from './relay-socket.js';
import { TurnRestCredentials } from './turn-rest-credentials.js';
import { TurnServer } from './turn-server.js';
import type { TurnServerOptions } from './turn-server.js';

const REALM = 'atrium';
const PEER = { address: '10.0.0.9', port: 5000 };

class FakeRelay implements RelaySocket {
  readonly sent: { data: Buffer; port: number; address: string }[] = [];
  closed = false;
  constructor(readonly address: string, readonly port: number, readonly receive: RelayReceive) {}
  send(data: Uint8Array, port: number, address: string): void {
    this.sent.push({ data: Buffer.from(data), port, address });
  }
  close(): void {
    this.closed = true;
  }
}

class FakeRelays implements RelaySocketFactory {
  readonly sockets: FakeRelay[] = [];
  free = 100;
  async open(onReceive: RelayReceive): Promise<RelaySocket | undefined> {
    if (this.free === 0) return undefined;
    this.free--;
    const s = new FakeRelay('10.0.0.1', 40000 + this.sockets.length, onReceive);
    this.sockets.push(s);
    return s;
  }
}

class FakePath implements TurnClientPath {
  readonly out: Buffer[] = [];
  readonly transport = 'udp' as const;
  constructor(readonly key: string, readonly remoteAddress = '192.0.2.7', readonly remotePort = 1234, readonly isStream = false) {}
  send(m: Buffer): void {
    this.out.push(Buffer.from(m));
  }
  last(): Buffer {
    const m = this.out.at(-1);
    assert.ok(m, 'the server answered');
    return m;
  }
}

const flush = (): Promise<void> => new Promise((r) => setImmediate(r));

function setup(overrides: Partial<TurnServerOptions> = {}) {
  const clock = new ManualClock();
  const creds = new TurnRestCredentials(Buffer.alloc(32, 7));
  const relays = new FakeRelays();
  const server = new TurnServer({
    realm: REALM, clock, relays,
    passwordOf: (username, { forNewAllocation }) => {
      const c = creds.check(username, clock.wallMs() / 1000);
      if (c.ok) return c.password;
      // An expired username still serves the allocation it made (turn-server.ts authenticate()).
      if (c.reason === 'expired' && !forNewAllocation) return creds.check(username, 0).ok ? (creds.check(username, 0) as { password: string }).password : undefined;
      return undefined;
    },
    ...overrides,
  });
  const credential = creds.issue('PA_alice', clock.wallMs() / 1000, 3600);
  return { clock, creds, relays, server, credential };
}

/** Runs the 401 handshake and an authenticated Allocate; returns the client and the success. */
async function allocate(server: TurnServer, path: FakePath, client: TurnTestClient): Promise<TurnAnswer> {
  server.handleClientMessage(client.allocate([], { authenticated: false }), path);
  await flush();
  const challenge = readTurnAnswer(path.last());
  assert.equal(challenge.errorCode, 401);
  client.learn(challenge);
  server.handleClientMessage(client.allocate(), path);
  await flush();
  return readTurnAnswer(path.last());
}

async function send(server: TurnServer, path: FakePath, msg: Buffer): Promise<TurnAnswer> {
  const before = path.out.length;
  server.handleClientMessage(msg, path);
  await flush();
  assert.equal(path.out.length, before + 1, 'one answer');
  return readTurnAnswer(path.last());
}

test('401 with REALM and NONCE, then Allocate succeeds with relayed/mapped addresses, LIFETIME and MESSAGE-INTEGRITY', async () => {
  const { server, credential, relays } = setup();
  const path = new FakePath('p1');
  const client = new TurnTestClient(credential.username, credential.password);
  const ok = await allocate(server, path, client);
  assert.equal(client.realm, REALM);
  assert.ok(client.nonce.length > 0);
  assert.equal(ok.errorCode, undefined);
  assert.deepEqual(ok.relayed, { family: 4, address: '10.0.0.1', port: 40000 });
  assert.deepEqual(ok.mapped, { family: 4, address: '192.0.2.7', port: 1234 });
  assert.equal(ok.lifetimeSec, 600);
  assert.ok(client.verifies(ok), 'the success carries MESSAGE-INTEGRITY with the long-term key');
  assert.equal(server.stats.allocations, 1);
  assert.equal(relays.sockets.length, 1);
});

test('a retransmitted Allocate gets the same success; a new one on the same 5-tuple gets 437', async () => {
  const { server, credential, relays } = setup();
  const path = new FakePath('p1');
  const client = new TurnTestClient(credential.username, credential.password);
  await allocate(server, path, client);
  const first = path.last();
  const txId = Buffer.from(readTurnAnswer(first).message.transactionId);
  server.handleClientMessage(client.allocate([], { transactionId: txId }), path);
  await flush();
  assert.deepEqual(path.last(), first);
  assert.equal((await send(server, path, client.allocate())).errorCode, 437);
  assert.equal(relays.sockets.length, 1, 'no second relay socket');
});

test('auth failures: wrong password 401, stale nonce 438 (then retry works), expired username 401, malformed 400', async () => {
  const { server, credential, clock, creds } = setup();
  const path = new FakePath('p1');
  const wrong = new TurnTestClient(credential.username, 'not-the-password');
  const challenge = await send(server, path, wrong.allocate([], { authenticated: false }));
  wrong.learn(challenge);
  const refused = await send(server, path, wrong.allocate());
  assert.equal(refused.errorCode, 401);
  assert.equal(server.stats.allocations, 0);

  const client = new TurnTestClient(credential.username, credential.password);
  client.learn(challenge);
  clock.advance(601_000); // the nonce is older than its 600 s lifetime
  const stale = await send(server, path, client.allocate());
  assert.equal(stale.errorCode, 438);
  assert.ok(stale.nonce !== undefined && stale.nonce !== client.nonce, '438 carries a new nonce');
  client.learn(stale);
  assert.equal((await send(server, path, client.allocate())).errorCode, undefined, 'the retry with the new nonce succeeds');

  // A nonce issued to another client address is not valid here.
  const other = new FakePath('p2', '192.0.2.8');
  const stolen = new TurnTestClient(credential.username, credential.password);
  stolen.learn(stale);
  assert.equal((await send(server, other, stolen.allocate())).errorCode, 438);

  // An expired username cannot make a new allocation.
  const old = creds.issue('PA_bob', clock.wallMs() / 1000, 10);
  clock.advance(11_000);
  const late = new TurnTestClient(old.username, old.password);
  const path3 = new FakePath('p3');
  late.learn(await send(server, path3, late.allocate([], { authenticated: false })));
  assert.equal((await send(server, path3, late.allocate())).errorCode, 401);

  // MESSAGE-INTEGRITY without USERNAME: 400.
  const bare = encodeStunMessage({ method: StunMethod.allocate, cls: 0, transactionId: Buffer.alloc(12, 1), attributes: [] }, { integrityKey: Buffer.alloc(16) });
  assert.equal((await send(server, path3, bare)).errorCode, 400);
});

test('Refresh extends the lifetime, lifetime 0 deletes, and an unrefreshed allocation expires on the clock', async () => {
  const { server, credential, clock, relays } = setup();
  const path = new FakePath('p1');
  const client = new TurnTestClient(credential.username, credential.password);
  await allocate(server, path, client);
  clock.advance(500_000);
  const r = await send(server, path, client.refresh(900));
  assert.equal(r.errorCode, undefined);
  assert.equal(r.lifetimeSec, 900);
  assert.ok(client.verifies(r));
  clock.advance(899_000);
  assert.equal(server.stats.allocations, 1, 'still there just before the refreshed lifetime');
  clock.advance(2_000);
  assert.equal(server.stats.allocations, 0, 'expired');
  assert.equal(relays.sockets[0]!.closed, true, 'its relay socket closed');
  client.learn(await send(server, path, client.refresh())); // the nonce went stale meanwhile: 438 and a new one
  assert.equal((await send(server, path, client.refresh())).errorCode, 437, 'Refresh without an allocation');

  const path2 = new FakePath('p2');
  await allocate(server, path2, client);
  const del = await send(server, path2, client.refresh(0));
  assert.equal(del.lifetimeSec, 0);
  assert.equal(server.stats.allocations, 0);
  assert.equal(relays.sockets[1]!.closed, true);
  // A lifetime above the maximum is capped at an hour.
  const path3 = new FakePath('p3');
  await allocate(server, path3, client);
  assert.equal((await send(server, path3, client.refresh(100_000))).lifetimeSec, 3600);
});

test('permissions: no relaying without one, both ways; CreatePermission lets traffic through until it expires', async () => {
  const { server, credential, clock, relays } = setup();
  const path = new FakePath('p1');
  const client = new TurnTestClient(credential.username, credential.password);
  await allocate(server, path, client);
  const relay = relays.sockets[0]!;
  server.handleClientMessage(client.sendIndication(PEER, Buffer.from('hello')), path);
  assert.equal(relay.sent.length, 0, 'Send without a permission is dropped');
  const before = path.out.length;
  relay.receive(Buffer.from('from peer'), PEER.address, PEER.port);
  assert.equal(path.out.length, before, 'peer data without a permission is dropped');

  assert.equal((await send(server, path, client.createPermission(PEER))).errorCode, undefined);
  server.handleClientMessage(client.sendIndication(PEER, Buffer.from('hello')), path);
  assert.deepEqual(relay.sent.map((s) => [s.data.toString(), s.address, s.port]), [['hello', PEER.address, PEER.port]]);
  relay.receive(Buffer.from('from peer'), PEER.address, 6000); // any port of a permitted IP
  const ind = readDataIndication(path.last());
  assert.deepEqual(ind && [ind.data.toString(), ind.peer.address, ind.peer.port], ['from peer', PEER.address, 6000]);
  relay.receive(Buffer.from('x'), '10.0.0.77', PEER.port);
  assert.equal(readDataIndication(path.last())?.data.toString(), 'from peer', 'another IP is still refused');

  clock.advance(PERMISSION_LIFETIME_MS + 1);
  server.handleClientMessage(client.sendIndication(PEER, Buffer.from('late')), path);
  assert.equal(relay.sent.length, 1, 'the permission expired after 300 s');
  assert.equal(server.allocationOf('p1')?.permissionCount, 0, 'swept');
});

test('CreatePermission errors: no allocation 437, no peer 400, peer policy 403, IPv6 peer on an IPv4 relay 443', async () => {
  const { server, credential } = setup({ isPeerAllowed: (a) => a !== '10.6.6.6' });
  const path = new FakePath('p1');
  const client = new TurnTestClient(credential.username, credential.password);
  client.learn(await send(server, path, client.allocate([], { authenticated: false })));
  assert.equal((await send(server, path, client.createPermission(PEER))).errorCode, 437);
  assert.equal((await send(server, path, client.allocate())).errorCode, undefined);
  assert.equal((await send(server, path, client.createPermission())).errorCode, 400);
  assert.equal((await send(server, path, client.createPermission({ address: '10.6.6.6', port: 1 }))).errorCode, 403);
  assert.equal((await send(server, path, client.createPermission({ address: '2001:db8::1', port: 1 }))).errorCode, 443);
});

test('ChannelBind: ChannelData both ways (padded on streams), rebinding rules, and expiry after 10 minutes', async () => {
  const { server, credential, clock, relays } = setup();
  for (const isStream of [false, true]) {
    const path = new FakePath(`p-${isStream}`, '192.0.2.7', 1234, isStream);
    const client = new TurnTestClient(credential.username, credential.password);
    await allocate(server, path, client);
    const relay = relays.sockets.at(-1)!;
    assert.equal((await send(server, path, client.channelBind(0x4001, PEER))).errorCode, undefined);
    server.handleClientMessage(encodeChannelData(0x4001, Buffer.from('abc'), { padded: isStream }), path);
    assert.deepEqual(relay.sent.map((s) => [s.data.toString(), s.port]), [['abc', PEER.port]]);
    relay.receive(Buffer.from('xyz'), PEER.address, PEER.port);
    const out = path.last();
    assert.equal(out.length, isStream ? 8 : 7, 'ChannelData is padded to 4 bytes only on streams');
    assert.deepEqual(parseChannelData(out) && [parseChannelData(out)!.channel, parseChannelData(out)!.data.toString()], [0x4001, 'xyz']);
    // Another peer port still arrives as a Data indication (the binding is per address and port).
    relay.receive(Buffer.from('other'), PEER.address, PEER.port + 1);
    assert.equal(readDataIndication(path.last())?.data.toString(), 'other');
    // The same channel to another peer, or the same peer on another channel: 400. Out of range: 400.
    assert.equal((await send(server, path, client.channelBind(0x4001, { address: PEER.address, port: 9 }))).errorCode, 400);
    assert.equal((await send(server, path, client.channelBind(0x4002, PEER))).errorCode, 400);
    assert.equal((await send(server, path, client.channelBind(0x3fff, PEER))).errorCode, 400);
    assert.equal((await send(server, path, client.channelBind(0x5000, PEER))).errorCode, 400);
    // An unbound channel number is dropped.
    server.handleClientMessage(encodeChannelData(0x4fff, Buffer.from('no'), { padded: isStream }), path);
    assert.equal(relay.sent.length, 1);
  }
  // Keep the allocation and the permission alive with Refresh and CreatePermission, but never refresh the channel.
  const path = new FakePath('p-false', '192.0.2.7', 1234, false);
  const client = new TurnTestClient(credential.username, credential.password);
  client.learn(await send(server, path, client.refresh())); // 438 or success: either way a usable nonce afterwards
  const relay = relays.sockets[0]!;
  for (const atMs of [250_000, 500_000, CHANNEL_LIFETIME_MS - 1000]) {
    clock.advance(atMs - clock.nowMs());
    client.learn(await send(server, path, client.refresh(600)));
    assert.equal((await send(server, path, client.refresh(600))).errorCode, undefined);
    assert.equal((await send(server, path, client.createPermission(PEER))).errorCode, undefined);
  }
  server.handleClientMessage(encodeChannelData(0x4001, Buffer.from('still'), { padded: false }), path);
  assert.equal(relay.sent.length, 2, 'still bound just before 10 minutes');
  clock.advance(2000);
  server.handleClientMessage(encodeChannelData(0x4001, Buffer.from('gone'), { padded: false }), path);
  assert.equal(relay.sent.length, 2, 'the binding expired after 10 minutes though the permission is current');
  server.handleClientMessage(client.sendIndication(PEER, Buffer.from('indication')), path);
  assert.equal(relay.sent.length, 3, 'Send indications still pass on the permission');
});

test('quotas: 486 beyond the per-user limit, 508 beyond the total or with no relay port free', async () => {
  const { server, credential, relays, creds, clock } = setup({ maxAllocationsPerUser: 2, maxAllocations: 3 });
  const client = new TurnTestClient(credential.username, credential.password);
  assert.equal((await allocate(server, new FakePath('a1'), client)).errorCode, undefined);
  assert.equal((await send(server, new FakePath('a2'), client.allocate())).errorCode, undefined);
  const quota = await send(server, new FakePath('a3'), client.allocate());
  assert.equal(quota.errorCode, 486);
  assert.ok(client.verifies(quota), 'errors to authenticated requests carry MESSAGE-INTEGRITY');
  const bob = creds.issue('PA_bob', clock.wallMs() / 1000, 3600);
  const b = new TurnTestClient(bob.username, bob.password);
  assert.equal((await allocate(server, new FakePath('b1'), b)).errorCode, undefined);
  assert.equal((await send(server, new FakePath('b2'), b.allocate())).errorCode, 508, 'the server total');
  assert.equal(server.stats.allocations, 3);
  server.handleClientMessage(b.refresh(0), new FakePath('b1'));
  relays.free = 0;
  assert.equal((await send(server, new FakePath('b3'), b.allocate())).errorCode, 508, 'no relay port');
});

test('other requests: wrong username on an allocation 441, unsupported transport 442, IPv6 family 440, unknown attribute 420, Binding answered', async () => {
  const { server, credential, creds, clock } = setup();
  const path = new FakePath('p1');
  const alice = new TurnTestClient(credential.username, credential.password);
  await allocate(server, path, alice);
  const bob = creds.issue('PA_bob', clock.wallMs() / 1000, 3600);
  const b = new TurnTestClient(bob.username, bob.password);
  b.learn({ realm: alice.realm, nonce: alice.nonce } as TurnAnswer);
  assert.equal((await send(server, path, b.refresh())).errorCode, 441);
  const p2 = new FakePath('p2');
  alice.learn(await send(server, p2, alice.allocate([], { authenticated: false })));
  const tcp = alice.request(StunMethod.allocate, [{ type: StunAttr.requestedTransport, value: Uint8Array.of(6, 0, 0, 0) }]);
  assert.equal((await send(server, p2, tcp)).errorCode, 442);
  assert.equal((await send(server, p2, alice.request(StunMethod.allocate, []))).errorCode, 400, 'REQUESTED-TRANSPORT missing');
  assert.equal((await send(server, p2, alice.allocate([{ type: StunAttr.requestedAddressFamily, value: Uint8Array.of(2, 0, 0, 0) }]))).errorCode, 440);
  const unknown = await send(server, p2, alice.allocate([{ type: 0x0031, value: Uint8Array.of(1, 2, 3, 4) }]));
  assert.equal(unknown.errorCode, 420);
  assert.deepEqual([...(unknown.message.attributes.find((a) => a.type === StunAttr.unknownAttributes)?.value ?? [])], [0x00, 0x31]);
  const binding = encodeStunMessage({ method: StunMethod.binding, cls: 0, transactionId: Buffer.alloc(12, 3), attributes: [] });
  assert.deepEqual((await send(server, p2, binding)).mapped, { family: 4, address: '192.0.2.7', port: 1234 });
  assert.equal(server.stats.allocations, 1);
});

test('an expired username keeps refreshing the allocation it made, but cannot make another', async () => {
  const { server, creds, clock } = setup();
  const c = creds.issue('PA_carol', clock.wallMs() / 1000, 60);
  const client = new TurnTestClient(c.username, c.password);
  const path = new FakePath('p1');
  await allocate(server, path, client);
  clock.advance(120_000);
  assert.equal((await send(server, path, client.refresh(600))).errorCode, undefined);
  assert.equal((await send(server, path, client.createPermission(PEER))).errorCode, undefined);
  assert.equal((await send(server, new FakePath('p2'), client.allocate())).errorCode, 401);
});

test('a stream that closes while its Allocate binds a relay socket leaves no allocation behind', async () => {
  const { server, credential, relays } = setup();
  const client = new TurnTestClient(credential.username, credential.password);
  let closed = false;
  const path = Object.assign(new FakePath('s1', '192.0.2.7', 1234, true), { isClosed: () => closed });
  client.learn(await send(server, path, client.allocate([], { authenticated: false })));
  server.handleClientMessage(client.allocate(), path); // the relay socket is opened asynchronously
  closed = true;
  server.clientClosed('s1');
  await flush();
  assert.equal(server.stats.allocations, 0);
  assert.equal(relays.sockets.length, 1);
  assert.equal(relays.sockets[0]!.closed, true, 'the relay socket opened meanwhile was closed');
});

test('a closed stream deletes its allocation; close() deletes all and stops the sweep', async () => {
  const { server, credential, relays, clock } = setup();
  const client = new TurnTestClient(credential.username, credential.password);
  await allocate(server, new FakePath('s1'), client);
  await send(server, new FakePath('s2'), client.allocate());
  server.clientClosed('s1');
  assert.equal(server.stats.allocations, 1);
  assert.equal(relays.sockets[0]!.closed, true);
  server.close();
  assert.equal(server.stats.allocations, 0);
  assert.equal(relays.sockets[1]!.closed, true);
  assert.equal(clock.pendingTimers, 0);
});
