// UdpMux over real loopback sockets: RFC 7983 classification, ufrag and remote routing, drop counters; the send
// paths (dgram.send per packet, the per-turn queue with dgram.send, native sendmmsg batching with its fallbacks).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import type { Socket } from 'node:dgram';
import { UdpMux } from './udp-mux.js';
import type { MuxConnection } from './udp-mux.js';
import { loadNativeUdpBatch } from './udp-batch.js';
import type { NativeUdpBatch } from './udp-batch.js';
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

// ---- send paths ----------------------------------------------------------------------------------------------

/** False when the native sendmmsg batching is usable, else why (a failure with NATIVE_SRTP_REQUIRED=1, like SRTP). */
function nativeBatchUnavailable(): string | false {
  const { native, reason } = loadNativeUdpBatch();
  if (native !== null) return false;
  if (process.env['NATIVE_SRTP_REQUIRED'] === '1') throw new Error(`NATIVE_SRTP_REQUIRED=1 but ${reason}`);
  return reason;
}

class Receiver {
  readonly got: Buffer[] = [];
  private constructor(readonly socket: Socket, readonly port: number) {
    socket.on('message', (m) => this.got.push(m));
  }
  static async open(address = '127.0.0.1'): Promise<Receiver> {
    const s = createSocket(address.includes(':') ? 'udp6' : 'udp4');
    await new Promise<void>((r) => s.bind(0, address, () => r()));
    return new Receiver(s, s.address().port);
  }
  close(): void {
    this.socket.close();
  }
}

/** Packet j for receiver r: [r, j >> 8, j & 255] plus a length that varies. */
const packet = (r: number, j: number): Buffer => Buffer.concat([Buffer.from([r, j >> 8, j & 255]), Buffer.alloc(j % 300)]);
const seqs = (bufs: Buffer[]): number[] => bufs.map((b) => (b[1]! << 8) | b[2]!);
const upTo = (n: number): number[] => Array.from({ length: n }, (_, j) => j);

async function sendInterleaved(mux: UdpMux, rx: Receiver[], perReceiver: number, address = '127.0.0.1'): Promise<void> {
  for (let j = 0; j < perReceiver; j++) for (const [r, x] of rx.entries()) mux.send(packet(r, j), x.port, address);
  await waitFor(() => rx.every((x) => x.got.length >= perReceiver), { ...polling, label: `${perReceiver} packets at each receiver` });
  for (const [r, x] of rx.entries()) {
    assert.deepEqual(seqs(x.got), upTo(perReceiver), `receiver ${r} got its packets in order`);
    assert.ok(x.got.every((b, j) => b.equals(packet(r, j))), `receiver ${r} got the bytes sent`);
  }
}

for (const mode of ['off', 'js', 'native'] as const) {
  test(`send path ${mode}: every destination gets its packets complete and in order`, { skip: mode === 'native' && nativeBatchUnavailable() }, async () => {
    const mux = await UdpMux.bind({ port: 0, address: '127.0.0.1', batch: mode });
    const rx = await Promise.all([Receiver.open(), Receiver.open(), Receiver.open()]);
    try {
      assert.equal(mux.batchMode, mode);
      mux.send(packet(0, 0), rx[0]!.port, '127.0.0.1');
      assert.equal(mux.stats.packetsOut, 1, 'counted when accepted, queued or not');
      assert.equal(mux.queuedCount, mode === 'off' ? 0 : 1, 'batching modes queue until the end of the turn');
      await new Promise((r) => setImmediate(r));
      assert.equal(mux.queuedCount, 0);
      await waitFor(() => rx[0]!.got.length === 1, { ...polling, label: 'the first packet' });
      rx[0]!.got.length = 0;
      await sendInterleaved(mux, rx, 150);
      assert.equal(mux.stats.packetsOut, 1 + 450);
      assert.equal(mux.stats.sendErrors, 0);
      if (mode === 'native') {
        assert.equal(mux.stats.batchedOut, 451);
        assert.ok(mux.stats.flushes <= 3, `one flush per turn (${mux.stats.flushes})`);
      }
    } finally {
      for (const x of rx) x.close();
      await mux.close();
    }
  });
}

test('native batching sends to IPv6 destinations', { skip: nativeBatchUnavailable() }, async (t) => {
  let mux: UdpMux;
  try {
    mux = await UdpMux.bind({ port: 0, address: '::1', batch: 'native' });
  } catch (err) {
    t.skip(`no IPv6 loopback (${(err as Error).message})`);
    return;
  }
  const rx = await Promise.all([Receiver.open('::1'), Receiver.open('::1')]);
  try {
    assert.equal(mux.batchMode, 'native');
    await sendInterleaved(mux, rx, 100, '::1');
    assert.equal(mux.stats.batchedOut, 200);
  } finally {
    for (const x of rx) x.close();
    await mux.close();
  }
});

test('native batching: a bad destination is dropped and counted, the others go out in order', { skip: nativeBatchUnavailable() }, async () => {
  const mux = await UdpMux.bind({ port: 0, address: '127.0.0.1', batch: 'native' });
  const rx = await Receiver.open();
  try {
    for (let j = 0; j < 10; j++) {
      mux.send(packet(0, j), rx.port, '127.0.0.1');
      if (j === 4) mux.send(Buffer.from([1]), 9, 'not-an-address');
      if (j === 6) mux.send(Buffer.from([1]), 9, '::1'); // IPv6 on an IPv4 socket
    }
    await waitFor(() => rx.got.length === 10, { ...polling, label: '10 packets' });
    assert.deepEqual(seqs(rx.got), upTo(10));
    assert.equal(mux.stats.packetsOut, 12, 'all 12 were accepted');
    assert.equal(mux.stats.sendErrors, 2, 'the 2 undeliverable ones counted as errors');
    assert.equal(mux.stats.batchedOut, 10);
  } finally {
    rx.close();
    await mux.close();
  }
});

/**
 * A stand-in for the addon: reports the mux socket's own family and port for the fd check, and "sends" through a
 * helper socket of its own, so the tests control what sendmmsg returns (EAGAIN after k datagrams, EBADF) without
 * filling a real socket buffer. Datagrams it sends arrive from another port; the receivers only look at payloads.
 */
class StandInNative implements NativeUdpBatch {
  readonly udpSupported = true;
  calls: { start: number; count: number }[] = [];
  /** Per call: how many datagrams to take before stopping with stopErrno (undefined: all). */
  takeNext: number[] = [];
  stopErrno = 11; // EAGAIN
  constructor(private readonly helper: Socket, private readonly port: number) {}
  udpSocketInfo(): [4 | 6, number] {
    return [4, this.port];
  }
  udpSendBatch(_fd: number, _family: 4 | 6, bufs: readonly Uint8Array[], ports: Uint16Array, addrs: readonly string[], start: number, count: number, result: Int32Array): number {
    this.calls.push({ start, count });
    const take = Math.min(count, this.takeNext.shift() ?? count);
    // A copy, as sendmmsg's: the kernel has the bytes when the call returns (the mux reuses its send arena after).
    for (let i = start; i < start + take; i++) this.helper.send(Buffer.from(bufs[i]!), ports[i]!, addrs[i]!);
    result[0] = take;
    result[1] = 0;
    result[2] = take < count ? this.stopErrno : 0;
    return take;
  }
  udpTestSocket(): [number, number] {
    throw new Error('not in the stand-in');
  }
  udpTestRecv(): number {
    throw new Error('not in the stand-in');
  }
  udpTestClose(): void {}
}

async function withStandIn(fn: (mux: UdpMux, native: StandInNative, rx: Receiver) => Promise<void>): Promise<void> {
  const helper = createSocket('udp4');
  await new Promise<void>((r) => helper.bind(0, '127.0.0.1', () => r()));
  // The stand-in must answer the fd check with the mux's port: take a free port, then bind the mux to it.
  const probe = createSocket('udp4');
  const port = await new Promise<number>((r) => probe.bind(0, '127.0.0.1', () => r(probe.address().port)));
  await new Promise<void>((r) => probe.close(() => r()));
  const native = new StandInNative(helper, port);
  const mux = await UdpMux.bind({ port, address: '127.0.0.1', batch: 'native', batchNative: native });
  const rx = await Receiver.open();
  try {
    assert.equal(mux.batchMode, 'native');
    await fn(mux, native, rx);
  } finally {
    rx.close();
    helper.close();
    await mux.close();
  }
}

test('native batching: on EAGAIN the rest of the batch goes by dgram.send in order, and so does the next batch until those are out', async () => {
  await withStandIn(async (mux, native, rx) => {
    native.takeNext = [3];
    for (let j = 0; j < 10; j++) mux.send(packet(0, j), rx.port, '127.0.0.1');
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(native.calls, [{ start: 0, count: 10 }]);
    assert.equal(mux.stats.batchedOut, 3);
    assert.equal(mux.stats.fallbackOut, 7);
    // Sent in the same turn as the fallback's dgram.send calls complete: still pending, so no direct send.
    for (let j = 10; j < 15; j++) mux.send(packet(0, j), rx.port, '127.0.0.1');
    await new Promise((r) => process.nextTick(r));
    assert.equal(native.calls.length, 1, 'no sendmmsg while dgram.send calls are pending');
    await waitFor(() => rx.got.length === 15, { ...polling, label: '15 packets' });
    assert.deepEqual(seqs(rx.got), upTo(15));
    assert.equal(mux.stats.packetsOut, 15);
    // Once node:dgram has nothing pending, batches go native again.
    await new Promise((r) => setTimeout(r, 10));
    const before = native.calls.length;
    for (let j = 15; j < 20; j++) mux.send(packet(0, j), rx.port, '127.0.0.1');
    await waitFor(() => rx.got.length === 20, { ...polling, label: '20 packets' });
    assert.equal(native.calls.length, before + 1);
    assert.deepEqual(seqs(rx.got), upTo(20));
    assert.equal(mux.stats.sendErrors, 0);
  });
});

test('native batching: a socket-level error (EBADF) switches the mux to dgram.send for good, nothing lost', async () => {
  await withStandIn(async (mux, native, rx) => {
    native.takeNext = [2];
    native.stopErrno = 9; // EBADF
    for (let j = 0; j < 6; j++) mux.send(packet(0, j), rx.port, '127.0.0.1');
    await waitFor(() => rx.got.length === 6, { ...polling, label: '6 packets' });
    assert.equal(mux.batchMode, 'js');
    for (let j = 6; j < 9; j++) mux.send(packet(0, j), rx.port, '127.0.0.1');
    await waitFor(() => rx.got.length === 9, { ...polling, label: '9 packets' });
    assert.deepEqual(seqs(rx.got), upTo(9));
    assert.equal(native.calls.length, 1);
  });
});

test('native batching: an addon that throws never reaches the event loop; the batch goes by dgram.send', async () => {
  await withStandIn(async (mux, native, rx) => {
    native.udpSendBatch = () => {
      throw new TypeError('unexpected');
    };
    for (let j = 0; j < 3; j++) mux.send(packet(0, j), rx.port, '127.0.0.1');
    mux.send(packet(0, 9), 70_000, '127.0.0.1'); // not a port: counted, never queued
    await waitFor(() => rx.got.length === 3, { ...polling, label: '3 packets' });
    assert.deepEqual(seqs(rx.got), upTo(3));
    assert.equal(mux.batchMode, 'js');
    assert.equal(mux.stats.sendErrors, 1);
  });
});

test('native batching: more than the queue bound in one turn flushes early, in order', async () => {
  await withStandIn(async (mux, native, rx) => {
    const n = 1024 + 100;
    for (let j = 0; j < n; j++) mux.send(packet(0, j % 200), rx.port, '127.0.0.1');
    assert.deepEqual(native.calls, [{ start: 0, count: 1024 }], 'a full queue is flushed at once');
    assert.equal(mux.queuedCount, 100);
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(native.calls, [{ start: 0, count: 1024 }, { start: 0, count: 100 }]);
    assert.equal(mux.stats.batchedOut, n);
  });
});

for (const mode of ['off', 'js', 'native'] as const) {
  test(`send path ${mode}: close with a batch queued sends it first, then nothing touches the socket`, { skip: mode === 'native' && nativeBatchUnavailable() }, async () => {
    const mux = await UdpMux.bind({ port: 0, address: '127.0.0.1', batch: mode });
    const rx = await Receiver.open();
    try {
      for (let j = 0; j < 5; j++) mux.send(packet(0, j), rx.port, '127.0.0.1');
      assert.equal(mux.queuedCount, mode === 'off' ? 0 : 5);
      const closing = mux.close();
      assert.equal(mux.queuedCount, 0);
      mux.send(packet(0, 99), rx.port, '127.0.0.1'); // after close: counted, not queued
      assert.equal(mux.queuedCount, 0);
      await closing;
      await new Promise((r) => setImmediate(r)); // the flush scheduled before close runs and finds nothing
      await waitFor(() => rx.got.length === 5, { ...polling, label: 'the 5 queued packets' });
      assert.deepEqual(seqs(rx.got), upTo(5));
      assert.equal(mux.stats.sendErrors, 1);
    } finally {
      rx.close();
      await mux.close();
    }
  });
}

/** Sends packet(r, j) to `port` through room reserved in the mux's send arena; returns the view written. */
function sendReserved(mux: UdpMux, r: number, j: number, port: number, size?: number): Buffer {
  const p = size === undefined ? packet(r, j) : Buffer.concat([packet(r, j).subarray(0, 3), Buffer.alloc(size - 3, j & 0xff)]);
  const room = mux.reserve(p.length);
  assert.ok(room !== undefined, 'native batching has an arena');
  assert.equal(room.length, p.length);
  p.copy(room);
  mux.send(room, port, '127.0.0.1');
  return room;
}

test('send arena: reserve() only with native batching, and not for a datagram over 16 KiB', async () => {
  for (const mode of ['off', 'js'] as const) {
    const mux = await UdpMux.bind({ port: 0, address: '127.0.0.1', batch: mode });
    try {
      assert.equal(mux.reserve(100), undefined, `batch ${mode}: no arena`);
    } finally {
      await mux.close();
    }
  }
  await withStandIn(async (mux) => {
    assert.equal(mux.reserve(16 * 1024 + 1), undefined);
    assert.equal(mux.reserve(0), undefined);
    assert.equal(mux.reserve(16 * 1024)!.length, 16 * 1024);
  });
});

test('send arena: a turn of more than the arena holds (360 KB) arrives intact and in order; the arena is reused after the flush', { skip: nativeBatchUnavailable() }, async () => {
  const mux = await UdpMux.bind({ port: 0, address: '127.0.0.1', batch: 'native' });
  const rx = await Promise.all([Receiver.open(), Receiver.open(), Receiver.open()]);
  try {
    const first = sendReserved(mux, 0, 0, rx[0]!.port, 1200);
    for (let j = 1; j < 100; j++) for (const [r, x] of rx.entries()) if (r !== 0 || j > 0) sendReserved(mux, r, j, x.port, 1200);
    for (const x of rx.slice(1)) sendReserved(mux, rx.indexOf(x), 0, x.port, 1200);
    assert.ok(mux.stats.flushes >= 1, 'the full arena flushed the queue early');
    await waitFor(() => rx.every((x) => x.got.length === 100), { ...polling, label: '100 datagrams at each receiver' });
    for (const [r, x] of rx.entries()) {
      const expected = r === 0 ? upTo(100) : [...upTo(100).slice(1), 0];
      assert.deepEqual(seqs(x.got), expected, `receiver ${r}: in the order sent`);
      for (const b of x.got) {
        assert.equal(b.length, 1200);
        assert.equal(b[0], r);
        assert.ok(b.subarray(3).every((v) => v === (((b[1]! << 8) | b[2]!) & 0xff)), `receiver ${r}: the bytes written`);
      }
    }
    assert.equal(mux.stats.fallbackOut, 0);
    assert.equal(mux.stats.batchedOut, 300);
    // Everything went out natively: the next turn writes into the same arena again.
    assert.equal(mux.reserve(64)!.buffer, first.buffer);
  } finally {
    for (const x of rx) x.close();
    await mux.close();
  }
});

test('send arena: room reserved and never sent (a seal that threw) is given back; a full arena with nothing queued still hands out whole slots', async () => {
  await withStandIn(async (mux, native, rx) => {
    // Sixteen 16 KiB slots fill the 256 KiB arena; none is sent.
    for (let i = 0; i < 16; i++) assert.equal(mux.reserve(16 * 1024)!.length, 16 * 1024);
    const next = mux.reserve(16 * 1024);
    assert.equal(next!.length, 16 * 1024, 'the arena started over');
    assert.equal(native.calls.length, 0, 'nothing was queued, so nothing was sent');
    sendReserved(mux, 0, 0, rx.port);
    await waitFor(() => rx.got.length === 1, { ...polling, label: 'the packet' });
    assert.ok(rx.got[0]!.equals(packet(0, 0)));
  });
});

test('send arena: datagrams that fell back to dgram.send (EAGAIN) keep their bytes; the arena is not reused under them', async () => {
  await withStandIn(async (mux, native, rx) => {
    native.takeNext = [2];
    const views: Buffer[] = [];
    for (let j = 0; j < 8; j++) views.push(sendReserved(mux, 0, j, rx.port));
    await new Promise((r) => setImmediate(r));
    assert.equal(mux.stats.fallbackOut, 6);
    // The next turn's datagrams go into another arena: the six node:dgram still holds are not overwritten.
    const next = sendReserved(mux, 0, 8, rx.port);
    assert.notEqual(next.buffer, views[0]!.buffer);
    await waitFor(() => rx.got.length === 9, { ...polling, label: '9 packets' });
    assert.deepEqual(seqs(rx.got), upTo(9));
    assert.ok(rx.got.every((b, j) => b.equals(packet(0, j))), 'every datagram arrived as written');
  });
});

test('stand-in native: close with a batch queued flushes it through sendmmsg before the socket closes, never after', async () => {
  await withStandIn(async (mux, native, rx) => {
    for (let j = 0; j < 4; j++) mux.send(packet(0, j), rx.port, '127.0.0.1');
    await mux.close();
    assert.deepEqual(native.calls, [{ start: 0, count: 4 }]);
    mux.send(packet(0, 4), rx.port, '127.0.0.1');
    await new Promise((r) => setImmediate(r));
    assert.equal(native.calls.length, 1);
    await waitFor(() => rx.got.length === 4, { ...polling, label: '4 packets' });
  });
});

test('batchFlush tick: the queue goes out at the end of the current callback', { skip: nativeBatchUnavailable() }, async () => {
  const mux = await UdpMux.bind({ port: 0, address: '127.0.0.1', batch: 'native', batchFlush: 'tick' });
  const rx = await Receiver.open();
  try {
    mux.send(packet(0, 0), rx.port, '127.0.0.1');
    mux.send(packet(0, 1), rx.port, '127.0.0.1');
    assert.equal(mux.queuedCount, 2);
    await new Promise((r) => process.nextTick(r));
    assert.equal(mux.queuedCount, 0);
    assert.equal(mux.stats.batchedOut, 2);
    await waitFor(() => rx.got.length === 2, { ...polling, label: '2 packets' });
  } finally {
    rx.close();
    await mux.close();
  }
});

test('ATRIUM_UDP_BATCH chooses the send path', async () => {
  const saved = process.env['ATRIUM_UDP_BATCH'];
  try {
    process.env['ATRIUM_UDP_BATCH'] = 'off';
    const off = await UdpMux.bind({ port: 0, address: '127.0.0.1' });
    assert.equal(off.batchMode, 'off');
    await off.close();
    for (const value of ['auto', undefined]) {
      // auto, which is also the default: native when the addon loads and passes its self-test.
      if (value === undefined) delete process.env['ATRIUM_UDP_BATCH'];
      else process.env['ATRIUM_UDP_BATCH'] = value;
      const auto = await UdpMux.bind({ port: 0, address: '127.0.0.1' });
      assert.equal(auto.batchMode, loadNativeUdpBatch().native !== null ? 'native' : 'off', `ATRIUM_UDP_BATCH=${value ?? '(unset)'}`);
      await auto.close();
    }
    process.env['ATRIUM_UDP_BATCH'] = 'js';
    process.env['ATRIUM_UDP_BATCH_FLUSH'] = 'tick';
    const tick = await UdpMux.bind({ port: 0, address: '127.0.0.1' });
    tick.send(Buffer.from([1]), 9, '127.0.0.1');
    assert.equal(tick.queuedCount, 1);
    await new Promise((r) => process.nextTick(r));
    assert.equal(tick.queuedCount, 0, 'ATRIUM_UDP_BATCH_FLUSH=tick flushes on process.nextTick');
    await tick.close();
    process.env['ATRIUM_UDP_BATCH_FLUSH'] = 'later';
    await assert.rejects(UdpMux.bind({ port: 0, address: '127.0.0.1' }), /ATRIUM_UDP_BATCH_FLUSH/);
    delete process.env['ATRIUM_UDP_BATCH_FLUSH'];
    process.env['ATRIUM_UDP_BATCH'] = 'sometimes';
    await assert.rejects(UdpMux.bind({ port: 0, address: '127.0.0.1' }), /ATRIUM_UDP_BATCH/);
  } finally {
    if (saved === undefined) delete process.env['ATRIUM_UDP_BATCH'];
    else process.env['ATRIUM_UDP_BATCH'] = saved;
    delete process.env['ATRIUM_UDP_BATCH_FLUSH'];
  }
});
