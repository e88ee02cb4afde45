// Garbage in, nothing broken: random bytes, mutated TURN requests (bit flips, truncations, length and attribute
// changes, from both unauthenticated and authenticated requests), random ChannelData and indications, first against
// the core on a manual clock, then over real UDP and TLS sockets. Every answer must be a well-formed STUN response,
// the server must keep answering a valid client, and the allocations stay within their bounds.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { connect as tlsConnect } from 'node:tls';
import { ManualClock, systemClock } from '../clock.js';
import { StunClass } from '../stun/stun-constants.js';
import { parseStunMessage } from '../stun/stun-message.js';
import { seededRandom } from '../testing/seeded-random.js';
import { createSelfSignedCertificate } from '../testing/test-certificate.js';
import { TurnTestClient, readTurnAnswer } from '../testing/turn-test-client.js';
import { waitFor } from '../testing/wait-for.js';
import { encodeChannelData } from './channel-data.js';
import type { TurnClientPath } from './turn-allocation.js';
import { UdpRelaySocketFactory } from './relay-socket.js';
import type { RelayReceive, RelaySocket, RelaySocketFactory } from './relay-socket.js';
import { TurnRestCredentials } from './turn-rest-credentials.js';
import { TurnServer } from './turn-server.js';
import { TurnStreamListener } from './turn-stream-listener.js';
import { TurnUdpListener } from './turn-udp-listener.js';

const creds = new TurnRestCredentials(Buffer.alloc(32, 9));
const MAX_PER_USER = 4;
const MAX_TOTAL = 12;

/** Mutations of a valid message: what a broken or hostile client sends. */
function mutate(msg: Buffer, rand: () => number): Buffer {
  const b = Buffer.from(msg);
  switch (Math.floor(rand() * 7)) {
    case 0: { // flip a few bits
      for (let i = 0; i < 1 + rand() * 4; i++) b[Math.floor(rand() * b.length)]! ^= 1 << Math.floor(rand() * 8);
      return b;
    }
    case 1: return b.subarray(0, Math.floor(rand() * b.length)); // truncate
    case 2: { // lie in the message length
      b.writeUInt16BE(Math.floor(rand() * 0x10000) & 0xfffc, 2);
      return b;
    }
    case 3: { // lie in an attribute length
      if (b.length > 24) b.writeUInt16BE(Math.floor(rand() * 0x10000), 22);
      return b;
    }
    case 4: return Buffer.concat([b, Buffer.from(Array.from({ length: Math.floor(rand() * 40) }, () => Math.floor(rand() * 256)))]);
    case 5: { // change the method/class bits
      b.writeUInt16BE(Math.floor(rand() * 0x4000), 0);
      return b;
    }
    default: { // overwrite a run of bytes after the header
      const at = 20 + Math.floor(rand() * Math.max(1, b.length - 20));
      for (let i = at; i < Math.min(b.length, at + 8); i++) b[i] = Math.floor(rand() * 256);
      return b;
    }
  }
}

function randomBytes(rand: () => number, max: number): Buffer {
  return Buffer.from(Array.from({ length: Math.floor(rand() * max) }, () => Math.floor(rand() * 256)));
}

/** A corpus generator: valid-looking requests of every kind, mutated or not, and pure noise. */
function fuzzMessage(rand: () => number, client: TurnTestClient): Buffer {
  const peer = { address: rand() < 0.5 ? '127.0.0.1' : `10.0.0.${Math.floor(rand() * 255)}`, port: Math.floor(rand() * 65536) };
  const channel = 0x3ff0 + Math.floor(rand() * 0x1020);
  const valid = [
    () => client.allocate([], { authenticated: rand() < 0.7 }),
    () => client.refresh(rand() < 0.2 ? 0 : Math.floor(rand() * 5000)),
    () => client.createPermission(peer),
    () => client.channelBind(Math.min(Math.max(channel, 0x4000), 0x4fff), peer),
    () => client.sendIndication(peer, randomBytes(rand, 200)),
    () => encodeChannelData(Math.min(Math.max(channel, 0x4000), 0x4fff), randomBytes(rand, 200), { padded: rand() < 0.5 }),
  ];
  const r = rand();
  if (r < 0.15) return randomBytes(rand, 300);
  const base = valid[Math.floor(rand() * valid.length)]!();
  return r < 0.4 ? base : mutate(base, rand);
}

/** Every answer must parse as a STUN success/error response or be ChannelData/Data for a relay. */
function checkAnswer(m: Buffer): void {
  if ((m[0]! & 0xf0) === 0x40) return; // ChannelData towards the client
  const p = parseStunMessage(m);
  assert.ok(p.ok, `the server sent a malformed message: ${m.toString('hex').slice(0, 80)}`);
  assert.ok(p.message.cls === StunClass.success || p.message.cls === StunClass.error || p.message.cls === StunClass.indication);
}

class FakeRelays implements RelaySocketFactory {
  openCount = 0;
  async open(_onReceive: RelayReceive): Promise<RelaySocket | undefined> {
    this.openCount++;
    let closed = false;
    return {
      address: '127.0.0.1', port: 40000, send: () => {},
      close: () => {
        if (!closed) this.openCount--;
        closed = true;
      },
    };
  }
}

test('core: 30000 random and mutated messages from 40 clients; answers well formed, quotas hold, a valid client still served', async () => {
  const clock = new ManualClock();
  const relays = new FakeRelays();
  const server = new TurnServer({
    realm: 'atrium', clock, relays, maxAllocationsPerUser: MAX_PER_USER, maxAllocations: MAX_TOTAL,
    passwordOf: (u) => {
      const c = creds.check(u, clock.wallMs() / 1000);
      return c.ok ? c.password : undefined;
    },
  });
  const rand = seededRandom(20261205);
  const clients = Array.from({ length: 40 }, (_, i) => {
    const c = creds.issue(`PA_${i % 5}`, clock.wallMs() / 1000, 7200);
    const tc = new TurnTestClient(c.username, rand() < 0.8 ? c.password : 'wrong');
    const out: Buffer[] = [];
    const path: TurnClientPath = {
      key: `k${i}`, transport: i % 2 ? 'udp' : 'tls', remoteAddress: `192.0.2.${i % 3}`, remotePort: 1000 + i, isStream: i % 2 === 0,
      send: (m) => out.push(Buffer.from(m)),
    };
    return { tc, path, out };
  });
  const codes = new Map<number, number>();
  for (let i = 0; i < 30_000; i++) {
    const c = clients[Math.floor(rand() * clients.length)]!;
    const msg = fuzzMessage(rand, c.tc);
    assert.doesNotThrow(() => server.handleClientMessage(msg, c.path));
    if (i % 50 === 0) await new Promise((r) => setImmediate(r));
    for (const m of c.out.splice(0)) {
      checkAnswer(m);
      const a = parseStunMessage(m);
      if (a.ok && a.message.cls === StunClass.error) c.tc.learn(readTurnAnswer(m)); // keep nonces fresh, as a client would
      if (a.ok) codes.set(readTurnAnswer(m).errorCode ?? 0, (codes.get(readTurnAnswer(m).errorCode ?? 0) ?? 0) + 1);
    }
    if (i % 1000 === 0) clock.advance(30_000);
    assert.ok(server.stats.allocations <= MAX_TOTAL, 'total bound');
  }
  await new Promise((r) => setImmediate(r));
  console.log(`core fuzz: ${JSON.stringify(server.stats)}; answers by code (0 = success): ${JSON.stringify([...codes].sort((a, b) => a[0] - b[0]))}`);
  assert.ok(server.stats.allocations <= MAX_TOTAL);
  assert.equal(relays.openCount, server.stats.allocations, 'every relay socket belongs to a live allocation');
  assert.ok(server.stats.errorResponses > 1000, `errors answered: ${JSON.stringify(server.stats)}`);
  // Some fuzzed clients got allocations (the corpus reaches past authentication).
  assert.ok(server.stats.allocations > 0, JSON.stringify([server.stats, [...codes]]));
  server.close();
  assert.equal(relays.openCount, 0);
});

test('over UDP and TLS: garbage, mutated requests and stream noise leave the server answering and bounded', { timeout: 60_000 }, async () => {
  const cert = await createSelfSignedCertificate();
  const relays = new UdpRelaySocketFactory({ bindAddress: '127.0.0.1', portMin: 0, portMax: 0 });
  const server = new TurnServer({
    realm: 'atrium', clock: systemClock, relays, maxAllocationsPerUser: MAX_PER_USER, maxAllocations: MAX_TOTAL,
    passwordOf: (u) => {
      const c = creds.check(u, Date.now() / 1000);
      return c.ok ? c.password : undefined;
    },
  });
  const udp = await TurnUdpListener.listen(server, { address: '127.0.0.1', port: 0 });
  const tls = await TurnStreamListener.listen(server, { address: '127.0.0.1', port: 0, tls: { cert: cert.cert, key: cert.key }, idleTimeoutMs: 1000 });
  const rand = seededRandom(7);
  const sockets = Array.from({ length: 8 }, () => createSocket('udp4'));
  try {
    await Promise.all(sockets.map((s) => new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()))));
    const answers: Buffer[] = [];
    for (const s of sockets) s.on('message', (m) => answers.push(m));
    const c = creds.issue('PA_fuzz', Date.now() / 1000, 600);
    const tc = new TurnTestClient(c.username, c.password);
    for (let i = 0; i < 4000; i++) {
      const s = sockets[i % sockets.length]!;
      s.send(fuzzMessage(rand, tc), udp.port, '127.0.0.1');
      if (i % 200 === 0) {
        await new Promise((r) => setTimeout(r, 5));
        for (const m of answers.splice(0)) {
          checkAnswer(m);
          const a = parseStunMessage(m);
          if (a.ok && a.message.cls === StunClass.error) tc.learn(readTurnAnswer(m));
        }
      }
    }
    // TLS: connections that send noise, half messages, or mutated requests, then close or stay silent.
    for (let i = 0; i < 30; i++) {
      await new Promise<void>((resolve) => {
        const sock = tlsConnect({ port: tls.port, host: '127.0.0.1', servername: 'localhost', ca: cert.cert }, () => {
          for (let j = 0; j < 10; j++) sock.write(rand() < 0.5 ? fuzzMessage(rand, tc) : randomBytes(rand, 100));
          setTimeout(() => {
            if (i % 3 === 0) sock.destroy(); // others are left for the server to close (framing error or idle)
            resolve();
          }, 10);
        });
        sock.on('error', () => resolve());
        sock.on('data', (d: Buffer) => void d);
      });
    }
    // Plain TCP garbage to the TLS port: the handshake fails, nothing else happens.
    const { connect } = await import('node:net');
    await new Promise<void>((resolve) => {
      const raw = connect(tls.port, '127.0.0.1', () => raw.end(randomBytes(rand, 500)));
      raw.on('close', () => resolve());
      raw.on('error', () => resolve());
    });
    await waitFor(() => tls.connections === 0, { label: 'fuzzing TLS connections closed by the server', timeoutMs: 5000 });
    assert.ok(tls.stats.handshakeFailures >= 1);
    assert.ok(server.stats.allocations <= MAX_TOTAL, JSON.stringify(server.stats));
    assert.ok(relays.openSockets <= MAX_TOTAL);

    // Still serving: a fresh, valid client allocates over UDP.
    const good = createSocket('udp4');
    await new Promise<void>((r) => good.bind(0, '127.0.0.1', () => r()));
    const g = creds.issue('PA_good', Date.now() / 1000, 60);
    const gc = new TurnTestClient(g.username, g.password);
    const ask = (m: Buffer): Promise<Buffer> => new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error('no answer')), 2000);
      good.once('message', (x) => {
        clearTimeout(t);
        resolve(x);
      });
      good.send(m, udp.port, '127.0.0.1');
    });
    gc.learn(readTurnAnswer(await ask(gc.allocate([], { authenticated: false }))));
    const ok = readTurnAnswer(await ask(gc.allocate()));
    good.close();
    assert.ok(ok.errorCode === undefined || ok.errorCode === 508, `answered (508 only if the fuzz filled the total): ${ok.errorCode}`);
  } finally {
    for (const s of sockets) s.close();
    server.close();
    await udp.close();
    await tls.close();
    cert.remove();
  }
  assert.equal(relays.openSockets, 0, 'every relay socket closed');
});
