// The TURN server on real loopback sockets: UDP and TLS listeners, real relay sockets in a port range, and a real UDP
// peer. Allocate, permission, Send/Data indications and ChannelData both ways (padded and split on the TLS stream),
// and a closed TLS connection releasing its allocation and relay port.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import type { Socket } from 'node:dgram';
import { connect as tlsConnect } from 'node:tls';
import type { TLSSocket } from 'node:tls';
import { systemClock } from '../clock.js';
import { waitFor } from '../testing/wait-for.js';
import { createSelfSignedCertificate } from '../testing/test-certificate.js';
import { TurnTestClient, readDataIndication, readTurnAnswer } from '../testing/turn-test-client.js';
import type { TurnAnswer } from '../testing/turn-test-client.js';
import { encodeChannelData, parseChannelData } from './channel-data.js';
import { UdpRelaySocketFactory } from './relay-socket.js';
import { TurnRestCredentials } from './turn-rest-credentials.js';
import { TurnServer } from './turn-server.js';
import { TurnStreamFramer } from './turn-stream-framer.js';
import { TurnStreamListener } from './turn-stream-listener.js';
import { TurnUdpListener } from './turn-udp-listener.js';

const creds = new TurnRestCredentials(Buffer.alloc(32, 5));

function makeServer(relays: UdpRelaySocketFactory): TurnServer {
  return new TurnServer({
    realm: 'atrium', clock: systemClock, relays,
    passwordOf: (u) => {
      const c = creds.check(u, Date.now() / 1000);
      return c.ok ? c.password : undefined;
    },
  });
}

async function udpSocket(): Promise<Socket> {
  const s = createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
  return s;
}

/** Sends `msg` and resolves with the next datagram `accept` takes. */
function exchange(s: Socket, port: number, msg: Buffer | undefined, accept: (m: Buffer) => boolean = () => true): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no answer within 2 s')), 2000);
    const on = (m: Buffer): void => {
      if (!accept(m)) return;
      clearTimeout(timer);
      s.off('message', on);
      resolve(m);
    };
    s.on('message', on);
    if (msg) s.send(msg, port, '127.0.0.1');
  });
}

test('UDP: allocate in the relay range, permission, Send/Data indications and ChannelData with a real peer', async () => {
  const relays = new UdpRelaySocketFactory({ bindAddress: '127.0.0.1', portMin: 0, portMax: 0 });
  const server = makeServer(relays);
  const listener = await TurnUdpListener.listen(server, { address: '127.0.0.1', port: 0 });
  const client = await udpSocket();
  const peer = await udpSocket();
  const peerAddr = { address: '127.0.0.1', port: peer.address().port };
  try {
    const c = creds.issue('PA_udp', Date.now() / 1000, 60);
    const tc = new TurnTestClient(c.username, c.password);
    const ask = async (m: Buffer): Promise<TurnAnswer> => readTurnAnswer(await exchange(client, listener.port, m));
    tc.learn(await ask(tc.allocate([], { authenticated: false })));
    const ok = await ask(tc.allocate());
    assert.equal(ok.errorCode, undefined);
    assert.deepEqual(ok.mapped, { family: 4, address: '127.0.0.1', port: client.address().port });
    const relayPort = ok.relayed!.port;
    assert.equal(relays.openSockets, 1);
    const seen: string[] = [];
    client.on('message', (m: Buffer) => {
      const d = readDataIndication(m);
      if (d) seen.push(d.data.toString());
    });

    // No permission yet: the peer's datagram to the relay goes nowhere.
    peer.send(Buffer.from('early'), relayPort, '127.0.0.1');
    assert.equal((await ask(tc.createPermission(peerAddr))).errorCode, undefined);
    const atPeer = exchange(peer, 0, undefined);
    client.send(tc.sendIndication(peerAddr, Buffer.from('to peer')), listener.port, '127.0.0.1');
    const got = await atPeer;
    assert.equal(got.toString(), 'to peer');
    const fromPeer = exchange(client, 0, undefined, (m) => readDataIndication(m)?.data.toString() === 'to client');
    peer.send(Buffer.from('to client'), relayPort, '127.0.0.1');
    assert.deepEqual(readDataIndication(await fromPeer)?.peer, { family: 4, address: '127.0.0.1', port: peerAddr.port });
    assert.deepEqual(seen, ['to client'], 'what the peer sent before the permission was not relayed');

    assert.equal((await ask(tc.channelBind(0x4010, peerAddr))).errorCode, undefined);
    const atPeer2 = exchange(peer, 0, undefined);
    client.send(encodeChannelData(0x4010, Buffer.from('cd out'), { padded: false }), listener.port, '127.0.0.1');
    assert.equal((await atPeer2).toString(), 'cd out');
    const back = exchange(client, 0, undefined, (m) => parseChannelData(m) !== undefined);
    peer.send(Buffer.from('cd in'), relayPort, '127.0.0.1');
    const cd = parseChannelData(await back);
    assert.deepEqual(cd && [cd.channel, cd.data.toString()], [0x4010, 'cd in']);

    assert.equal((await ask(tc.refresh(0))).lifetimeSec, 0);
    assert.equal(relays.openSockets, 0, 'the relay port is released');
  } finally {
    client.close();
    peer.close();
    server.close();
    await listener.close();
  }
});

/** Wraps a TLS connection: framed messages in, raw writes out. */
function tlsClient(port: number, ca: Buffer): Promise<{ socket: TLSSocket; next: (accept?: (m: Buffer) => boolean) => Promise<Buffer> }> {
  return new Promise((resolve, reject) => {
    const socket = tlsConnect({ port, host: '127.0.0.1', servername: 'localhost', ca }, () => {
      const framer = new TurnStreamFramer();
      const queue: Buffer[] = [];
      const waiters: { accept: (m: Buffer) => boolean; resolve: (m: Buffer) => void }[] = [];
      socket.on('data', (chunk: Buffer) => {
        const r = framer.push(chunk);
        if (!r.ok) throw new Error(r.error);
        for (const m of r.messages) {
          const i = waiters.findIndex((w) => w.accept(m));
          if (i >= 0) waiters.splice(i, 1)[0]!.resolve(m);
          else queue.push(m);
        }
      });
      resolve({
        socket,
        next: (accept = () => true) => {
          const i = queue.findIndex(accept);
          if (i >= 0) return Promise.resolve(queue.splice(i, 1)[0]!);
          return new Promise((res, rej) => {
            const t = setTimeout(() => rej(new Error('no message within 2 s')), 2000);
            waiters.push({ accept, resolve: (m) => { clearTimeout(t); res(m); } });
          });
        },
      });
    });
    socket.once('error', reject);
  });
}

test('TLS: allocate over the stream, ChannelData padded both ways (written a few bytes at a time), close frees the relay', async () => {
  const cert = await createSelfSignedCertificate();
  const relays = new UdpRelaySocketFactory({ bindAddress: '127.0.0.1', portMin: 0, portMax: 0 });
  const server = makeServer(relays);
  const listener = await TurnStreamListener.listen(server, { address: '127.0.0.1', port: 0, tls: { cert: cert.cert, key: cert.key } });
  const peer = await udpSocket();
  const peerAddr = { address: '127.0.0.1', port: peer.address().port };
  try {
    const { socket, next } = await tlsClient(listener.port, cert.cert);
    const c = creds.issue('PA_tls', Date.now() / 1000, 60);
    const tc = new TurnTestClient(c.username, c.password);
    const ask = async (m: Buffer): Promise<TurnAnswer> => {
      // Split every request into 3-byte writes: the server must reassemble.
      for (let i = 0; i < m.length; i += 3) socket.write(m.subarray(i, i + 3));
      return readTurnAnswer(await next());
    };
    tc.learn(await ask(tc.allocate([], { authenticated: false })));
    const ok = await ask(tc.allocate());
    assert.equal(ok.errorCode, undefined);
    assert.equal((await ask(tc.channelBind(0x4020, peerAddr))).errorCode, undefined);

    const atPeer = exchange(peer, 0, undefined);
    // Two ChannelData messages in one write, each padded (5 data bytes -> 12 bytes on the wire).
    socket.write(Buffer.concat([encodeChannelData(0x4020, Buffer.from('one!!'), { padded: true }), encodeChannelData(0x4020, Buffer.from('two'), { padded: true })]));
    assert.equal((await atPeer).toString(), 'one!!');
    const fromPeer = next((m) => parseChannelData(m) !== undefined);
    peer.send(Buffer.from('abcde'), ok.relayed!.port, '127.0.0.1');
    const raw = await fromPeer;
    assert.equal(raw.length, 12, 'padded to a multiple of 4 on the stream');
    assert.equal(parseChannelData(raw)?.data.toString(), 'abcde');

    assert.equal(listener.stats.accepted, 1);
    socket.destroy();
    await waitFor(() => server.stats.allocations === 0 && relays.openSockets === 0, { label: 'allocation deleted with its connection', timeoutMs: 2000 });
  } finally {
    peer.close();
    server.close();
    await listener.close();
    cert.remove();
  }
});

test('relay ports come from the configured range; a full range gives no socket (the client then gets 508)', async () => {
  // A range of three ports around a port the system just handed out (a taken port in it is skipped, not an error).
  const probe = await udpSocket();
  const base = probe.address().port;
  probe.close();
  const relays = new UdpRelaySocketFactory({ bindAddress: '127.0.0.1', portMin: base, portMax: base + 2 });
  const opened: { port: number; close(): void }[] = [];
  for (;;) {
    const s = await relays.open(() => {});
    if (s === undefined) break;
    opened.push(s);
  }
  assert.ok(opened.length >= 1 && opened.length <= 3, `${opened.length} sockets`);
  for (const s of opened) assert.ok(s.port >= base && s.port <= base + 2, `port ${s.port} in ${base}-${base + 2}`);
  assert.equal(new Set(opened.map((s) => s.port)).size, opened.length, 'no port twice');
  opened[0]!.close();
  const again = await relays.open(() => {});
  assert.equal(again?.port, opened[0]!.port, 'a released port is used again');
  again?.close();
  for (const s of opened.slice(1)) s.close();
  assert.equal(relays.openSockets, 0);
  assert.throws(() => new UdpRelaySocketFactory({ bindAddress: '127.0.0.1', portMin: 10, portMax: 9 }));
});

test('plain TCP (no tls option): the same stream handling; garbage closes the connection', async () => {
  const { connect } = await import('node:net');
  const relays = new UdpRelaySocketFactory({ bindAddress: '127.0.0.1', portMin: 0, portMax: 0 });
  const server = makeServer(relays);
  const listener = await TurnStreamListener.listen(server, { address: '127.0.0.1', port: 0 });
  try {
    const socket = connect(listener.port, '127.0.0.1');
    await new Promise<void>((r) => socket.once('connect', () => r()));
    const framer = new TurnStreamFramer();
    const next = (): Promise<Buffer> => new Promise((resolve) => {
      const on = (chunk: Buffer): void => {
        const r = framer.push(chunk);
        if (r.ok && r.messages[0]) {
          socket.off('data', on);
          resolve(r.messages[0]);
        }
      };
      socket.on('data', on);
    });
    const c = creds.issue('PA_tcp', Date.now() / 1000, 60);
    const tc = new TurnTestClient(c.username, c.password);
    socket.write(tc.allocate([], { authenticated: false }));
    tc.learn(readTurnAnswer(await next()));
    socket.write(tc.allocate());
    assert.equal(readTurnAnswer(await next()).errorCode, undefined);
    assert.equal(server.stats.allocations, 1);
    const closed = new Promise<void>((r) => socket.once('close', () => r()));
    socket.write(Buffer.from('POST / HTTP/1.1\r\n\r\n'));
    await closed;
    await waitFor(() => server.stats.allocations === 0 && relays.openSockets === 0, { label: 'allocation gone with the connection', timeoutMs: 2000 });
  } finally {
    server.close();
    await listener.close();
  }
});
