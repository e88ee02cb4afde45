// TcpMux on 127.0.0.1 against raw TCP clients: routing by the first Binding request's ufrag, and bad input (garbage,
// unknown ufrags, oversize frames, half frames, silent clients, too many connections) closing only that connection.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import type { Socket } from 'node:net';
import { TcpMux } from './tcp-mux.js';
import type { TcpIcePath, TcpMuxConnection } from './tcp-mux.js';
import { Rfc4571Deframer, frameRfc4571 } from './rfc4571-framer.js';
import { buildBindingRequest } from '../ice/ice-binding.js';
import { shortTermKey } from '../stun/stun-message.js';
import { waitFor } from '../testing/wait-for.js';

const polling = { timeoutMs: 3000, intervalMs: 5 } as const;

class Recorder implements TcpMuxConnection {
  readonly got: { kind: 'stun' | 'dtls' | 'rtp'; buf: Buffer; path: TcpIcePath }[] = [];
  readonly closed: TcpIcePath[] = [];
  /** Validates the path on the first STUN frame (what an IceTransport does on a good request). */
  validateOnStun = true;
  handleTcpStun(buf: Buffer, path: TcpIcePath): void {
    this.got.push({ kind: 'stun', buf, path });
    if (this.validateOnStun) path.markValidated();
  }
  handleTcpDtls(buf: Buffer, path: TcpIcePath): void {
    this.got.push({ kind: 'dtls', buf, path });
  }
  handleTcpRtp(buf: Buffer, path: TcpIcePath): void {
    this.got.push({ kind: 'rtp', buf, path });
  }
  tcpPathClosed(path: TcpIcePath): void {
    this.closed.push(path);
  }
}

function bindingRequest(ufrag: string): Buffer {
  return buildBindingRequest({
    transactionId: Buffer.alloc(12, 1), username: `${ufrag}:peer`, key: shortTermKey('p'.repeat(22)),
    priority: 1, tieBreaker: Buffer.alloc(8, 2), isControlling: true, useCandidate: false,
  });
}

interface Client {
  socket: Socket;
  frames: Buffer[];
  isClosed: () => boolean;
}

async function dial(port: number): Promise<Client> {
  const socket = connect({ port, host: '127.0.0.1' });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  const frames: Buffer[] = [];
  const d = new Rfc4571Deframer();
  let closed = false;
  socket.on('data', (c: Buffer) => d.push(c, (f) => frames.push(Buffer.from(f))));
  socket.on('error', () => {});
  socket.on('close', () => (closed = true));
  return { socket, frames, isClosed: () => closed };
}

async function withMux(opts: Partial<Parameters<typeof TcpMux.listen>[0]>, fn: (mux: TcpMux) => Promise<void>): Promise<void> {
  const mux = await TcpMux.listen({ port: 0, address: '127.0.0.1', ...opts });
  try {
    await fn(mux);
  } finally {
    await mux.close();
  }
}

test('routes by the first Binding request; DTLS/RTP only once validated; frames back are RFC 4571 framed', async () => {
  await withMux({}, async (mux) => {
    const rec = new Recorder();
    rec.validateOnStun = false;
    mux.registerUfrag('abcd', rec);
    const c = await dial(mux.port);
    const req = bindingRequest('abcd');
    // The request, a DTLS record and an RTP packet in one write: before validation only STUN goes through.
    c.socket.write(Buffer.concat([frameRfc4571(req), frameRfc4571(Buffer.from([22, 0xfe, 0xfd])), frameRfc4571(Buffer.from([0x80, 96]))]));
    await waitFor(() => mux.stats.framesIn === 3, { ...polling, label: 'three frames in' });
    assert.deepEqual(rec.got.map((g) => g.kind), ['stun']);
    assert.deepEqual(rec.got[0]!.buf, req);
    assert.equal(mux.stats.dropped, 2);
    const path = rec.got[0]!.path;
    assert.equal(path.address, '127.0.0.1');
    assert.equal(path.port, c.socket.localPort);
    path.markValidated();
    c.socket.write(Buffer.concat([frameRfc4571(Buffer.from([22, 1])), frameRfc4571(Buffer.from([0x80, 97])), frameRfc4571(Buffer.from([0x70]))]));
    await waitFor(() => mux.stats.framesIn === 6, { ...polling, label: 'three more frames' });
    assert.deepEqual(rec.got.map((g) => g.kind), ['stun', 'dtls', 'rtp']);
    assert.equal(mux.stats.dropped, 3, 'a frame of no known kind is dropped');
    path.send(Buffer.from([1, 2, 3]));
    await waitFor(() => c.frames.length === 1, { ...polling, label: 'a frame back' });
    assert.deepEqual(c.frames[0], Buffer.from([1, 2, 3]));
    // Unbinding the transport closes its connections and tells it.
    mux.unbindAll(rec);
    await waitFor(() => c.isClosed(), { ...polling, label: 'client sees the close' });
    assert.deepEqual(rec.closed, [path]);
    assert.equal(path.isClosed, true);
    path.send(Buffer.from([4]));
    assert.equal(mux.stats.sendDropped, 1);
    assert.equal(mux.registrationCount, 0);
  });
});

test('bad input closes that connection only: garbage, unknown ufrag, oversize frame', async () => {
  await withMux({ maxFrameBytes: 1500 }, async (mux) => {
    const rec = new Recorder();
    mux.registerUfrag('good', rec);
    const keep = await dial(mux.port);
    keep.socket.write(frameRfc4571(bindingRequest('good')));
    await waitFor(() => rec.got.length === 1, { ...polling, label: 'the good client is bound' });

    const garbage = await dial(mux.port);
    garbage.socket.write(Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'));
    const unknown = await dial(mux.port);
    unknown.socket.write(frameRfc4571(bindingRequest('nobody')));
    const notStun = await dial(mux.port);
    notStun.socket.write(frameRfc4571(Buffer.from([0x80, 0, 0, 1])));
    await waitFor(() => garbage.isClosed() && unknown.isClosed() && notStun.isClosed(), { ...polling, label: 'three bad clients closed' });

    // A bound, validated connection that announces an oversize frame is closed too.
    keep.socket.write(Buffer.from([0x05, 0xdd, 1, 2, 3]));
    await waitFor(() => keep.isClosed(), { ...polling, label: 'oversize frame closes' });
    assert.equal(rec.closed.length, 1);
    assert.equal(mux.stats.rejected, 4);
    assert.equal(mux.connectionCount, 0);

    // The listener still serves.
    const again = await dial(mux.port);
    again.socket.write(frameRfc4571(bindingRequest('good')));
    await waitFor(() => rec.got.length === 2, { ...polling, label: 'a new client after the bad ones' });
    again.socket.destroy();
  });
});

test('a client that sends half a frame, or nothing, is closed at the time-out; a validated one is kept', async () => {
  await withMux({ unvalidatedTimeoutMs: 150 }, async (mux) => {
    const rec = new Recorder();
    mux.registerUfrag('good', rec);
    const silent = await dial(mux.port);
    const half = await dial(mux.port);
    half.socket.write(frameRfc4571(bindingRequest('good')).subarray(0, 10));
    const good = await dial(mux.port);
    good.socket.write(frameRfc4571(bindingRequest('good')));
    await waitFor(() => silent.isClosed() && half.isClosed(), { ...polling, label: 'silent and half clients closed' });
    assert.equal(mux.stats.timedOut, 2);
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(good.isClosed(), false, 'the validated connection stays');
    assert.equal(mux.connectionCount, 1);
    good.socket.destroy();
    await waitFor(() => mux.connectionCount === 0, { ...polling, label: 'closed by the client' });
  });
});

test('connections not yet validated are capped; validated ones do not count', async () => {
  await withMux({ maxUnvalidated: 2 }, async (mux) => {
    const rec = new Recorder();
    mux.registerUfrag('good', rec);
    const a = await dial(mux.port);
    const b = await dial(mux.port);
    await waitFor(() => mux.connectionCount === 2, { ...polling, label: 'two accepted' });
    const c = await dial(mux.port);
    await waitFor(() => c.isClosed(), { ...polling, label: 'third refused' });
    assert.equal(mux.stats.refused, 1);
    a.socket.write(frameRfc4571(bindingRequest('good'))); // validated by the recorder
    await waitFor(() => rec.got.length === 1, { ...polling, label: 'a validated' });
    const d = await dial(mux.port);
    await waitFor(() => mux.connectionCount === 3, { ...polling, label: 'room again after a validation' });
    assert.equal(d.isClosed(), false);
    for (const x of [a, b, d]) x.socket.destroy();
  });
});

test('close() closes every connection and the listener', async () => {
  const mux = await TcpMux.listen({ port: 0, address: '127.0.0.1' });
  const c = await dial(mux.port);
  await waitFor(() => mux.connectionCount === 1, { ...polling, label: 'accepted' });
  await mux.close();
  await waitFor(() => c.isClosed(), { ...polling, label: 'client closed' });
  await assert.rejects(dial(mux.port));
});

test('resolveUfrag: a ufrag not registered here is looked up (the server passes the UdpMux registry)', async () => {
  const rec = new Recorder();
  const known = new Map<string, TcpMuxConnection>([['viaudp', rec]]);
  await withMux({ resolveUfrag: (u) => known.get(u) }, async (mux) => {
    const c = await dial(mux.port);
    c.socket.write(frameRfc4571(bindingRequest('viaudp')));
    await waitFor(() => rec.got.length === 1, { ...polling, label: 'routed through the resolver' });
    known.delete('viaudp');
    const d = await dial(mux.port);
    d.socket.write(frameRfc4571(bindingRequest('viaudp')));
    await waitFor(() => d.isClosed(), { ...polling, label: 'refused once the resolver forgets it' });
    assert.equal(c.isClosed(), false, 'an already bound connection stays');
    c.socket.destroy();
  });
});
