// UdpMux over real loopback sockets: RFC 7983 classification, ufrag and remote routing, drop counters.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import type { Socket } from 'node:dgram';
import { UdpMux } from './udp-mux.js';
import type { MuxConnection } from './udp-mux.js';
import { StunAttr, StunClass, StunMethod } from './stun/stun-constants.js';
import { encodeStunMessage, shortTermKey } from './stun/stun-message.js';
import { waitFor } from './testing/wait-for.js';

type Kind = 'stun' | 'dtls' | 'rtp';
class RecordingConn implements MuxConnection {
  got: { kind: Kind; first: number; address: string; port: number }[] = [];
  handleStun(buf: Buffer, address: string, port: number): void {
    this.got.push({ kind: 'stun', first: buf[0]!, address, port });
  }
  handleDtls(buf: Buffer, address: string, port: number): void {
    this.got.push({ kind: 'dtls', first: buf[0]!, address, port });
  }
  handleRtp(buf: Buffer, address: string, port: number): void {
    this.got.push({ kind: 'rtp', first: buf[0]!, address, port });
  }
}

/** Real-time waits in this file (loopback UDP): 2 s at most, polled every tick. */
const polling = { timeoutMs: 2000, intervalMs: 0 } as const;

function bindingRequest(username: string): Buffer {
  return encodeStunMessage(
    {
      method: StunMethod.binding,
      cls: StunClass.request,
      transactionId: Buffer.alloc(12, 1),
      attributes: [{ type: StunAttr.username, value: Buffer.from(username) }],
    },
    { integrityKey: shortTermKey('x'.repeat(22)), fingerprint: true },
  );
}

async function clientSocket(): Promise<Socket> {
  const s = createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
  return s;
}

test('UdpMux routes by first byte, ufrag and bound remote; counts drops', async () => {
  const mux = await UdpMux.bind({ port: 0, address: '127.0.0.1' });
  const client = await clientSocket();
  const clientPort = client.address().port;
  const conn = new RecordingConn();
  const send = (b: Uint8Array): void => client.send(b, mux.port, '127.0.0.1');
  try {
    assert.ok(mux.port > 0);
    assert.ok(mux.recvBufferBytes > 0);
    mux.registerUfrag('abcd', conn);

    // From an unknown remote: DTLS, RTP, junk and a STUN request for an unknown ufrag are dropped.
    send(Buffer.from([22, 254, 253, 0]));
    send(Buffer.from([0x80, 0x60, 0, 1]));
    send(Buffer.from([100, 1, 2, 3]));
    send(bindingRequest('zzzz:efgh'));
    await waitFor(() => mux.stats.packetsIn === 4, { ...polling, label: '4 packets in' });
    assert.equal(mux.stats.dropped, 4);
    assert.equal(conn.got.length, 0);

    // A Binding request for a registered ufrag reaches its connection.
    send(bindingRequest('abcd:efgh'));
    await waitFor(() => conn.got.length === 1, { ...polling, label: 'the STUN request routed to its connection' });
    assert.deepEqual(conn.got[0], { kind: 'stun', first: 0, address: '127.0.0.1', port: clientPort });

    // After bindRemote, everything from that remote reaches the connection; junk is still dropped.
    mux.bindRemote('127.0.0.1', clientPort, conn);
    send(Buffer.from([22, 254, 253, 0]));
    send(Buffer.from([0x81, 200, 0, 1])); // RTCP-looking
    send(Buffer.from([0x90, 0x60, 0, 1]));
    send(Buffer.from([1, 1, 0, 0])); // STUN-looking response without ufrag
    send(Buffer.from([64, 0]));
    await waitFor(() => mux.stats.packetsIn === 10, { ...polling, label: '10 packets in' });
    assert.deepEqual(
      conn.got.slice(1).map((g) => [g.kind, g.first]),
      [['dtls', 22], ['rtp', 0x81], ['rtp', 0x90], ['stun', 1]],
    );
    assert.equal(mux.stats.dropped, 5);
    assert.equal(mux.registrationCount, 2);

    // Sending reaches the client.
    const received: Buffer[] = [];
    client.on('message', (m) => received.push(m));
    mux.send(Buffer.from([0x80, 1, 2, 3]), clientPort, '127.0.0.1');
    await waitFor(() => received.length === 1, { ...polling, label: 'the reply at the client socket' });
    assert.deepEqual([...received[0]!], [0x80, 1, 2, 3]);
    assert.equal(mux.stats.packetsOut, 1);

    // A Binding request for another registered ufrag goes there even from a remote bound to `conn`.
    const other = new RecordingConn();
    mux.registerUfrag('wxyz', other);
    send(bindingRequest('wxyz:efgh'));
    send(bindingRequest('nope:efgh')); // unknown ufrag from a bound remote: its connection decides
    await waitFor(() => mux.stats.packetsIn === 12, { ...polling, label: '12 packets in' });
    assert.deepEqual(other.got.map((g) => g.kind), ['stun']);
    assert.equal(conn.got.length, 6);
    mux.unregisterUfrag('wxyz');
    assert.equal(mux.registrationCount, 2);

    mux.unbindRemote('127.0.0.1', clientPort);
    assert.equal(mux.registrationCount, 1);
    mux.bindRemote('127.0.0.1', clientPort, conn);
    mux.unbindAll(conn);
    assert.equal(mux.registrationCount, 0);
    send(Buffer.from([22, 254, 253, 0]));
    await waitFor(() => mux.stats.packetsIn === 13, { ...polling, label: '13 packets in' });
    assert.equal(mux.stats.dropped, 6);
  } finally {
    client.close();
    await mux.close();
  }
  // Closed: send is counted as an error, close is idempotent.
  mux.send(Buffer.from([1]), 9, '127.0.0.1');
  assert.equal(mux.stats.sendErrors, 1);
  await mux.close();
});

test('a throwing connection does not break the mux', async () => {
  const mux = await UdpMux.bind({ port: 0, address: '127.0.0.1', recvBufferBytes: 1 << 20 });
  const client = await clientSocket();
  const bad: MuxConnection = {
    handleStun: () => {
      throw new Error('boom');
    },
    handleDtls: () => {},
    handleRtp: () => {},
  };
  try {
    mux.registerUfrag('abcd', bad);
    client.send(bindingRequest('abcd:x'), mux.port, '127.0.0.1');
    client.send(bindingRequest('abcd:x'), mux.port, '127.0.0.1');
    await waitFor(() => mux.stats.packetsIn === 2, { ...polling, label: 'both packets in' });
    assert.equal(mux.stats.dropped, 2);
  } finally {
    client.close();
    await mux.close();
  }
});

test('bind fails cleanly on a taken port', async () => {
  const a = await UdpMux.bind({ port: 0, address: '127.0.0.1' });
  try {
    await assert.rejects(UdpMux.bind({ port: a.port, address: '127.0.0.1' }));
  } finally {
    await a.close();
  }
});
