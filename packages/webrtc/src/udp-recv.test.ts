// UdpMux receiving with recvmmsg batches (udp-recv.ts, native/atrium_udp_recv.c) over real loopback sockets: every
// datagram intact, in order, with its sender; buffers that stay the caller's; oversized datagrams dropped and counted;
// close; a worker thread torn down while its reader is polling; the choice from ATRIUM_UDP_RECV.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import type { Socket } from 'node:dgram';
import { Worker } from 'node:worker_threads';
import { UdpMux } from './udp-mux.js';
import type { MuxConnection } from './udp-mux.js';
import { loadNativeUdpRecv, resolveUdpRecvMode, udpRecvPreferenceFromEnv, RECV_SLOT_BYTES } from './udp-recv.js';
import { waitFor } from './testing/wait-for.js';

const polling = { timeoutMs: 3000, intervalMs: 0 } as const;
const unavailable = loadNativeUdpRecv().native === null;

class Collecting implements MuxConnection {
  readonly got: { buf: Buffer; address: string; port: number }[] = [];
  handleStun(buf: Buffer, address: string, port: number): void {
    this.got.push({ buf, address, port });
  }
  handleDtls(buf: Buffer, address: string, port: number): void {
    this.got.push({ buf, address, port });
  }
  handleRtp(buf: Buffer, address: string, port: number): void {
    this.got.push({ buf, address, port });
  }
}

async function socketOn(address: string): Promise<Socket> {
  const s = createSocket(address.includes(':') ? 'udp6' : 'udp4');
  await new Promise<void>((r) => s.bind(0, address, () => r()));
  return s;
}

/** An RTP-looking datagram (first byte 0x80) of `size` bytes whose bytes 2..5 carry `n` and the rest a pattern of n. */
function datagram(n: number, size: number): Buffer {
  const b = Buffer.alloc(size, n & 0xff);
  b[0] = 0x80;
  b[1] = 96;
  if (size >= 6) b.writeUInt32BE(n, 2);
  return b;
}

const ipv6 = await socketOn('::1').then((s) => {
  s.close();
  return true;
}, () => false);

for (const host of ['127.0.0.1', '::1']) {
  test(`native receive (${host}): 600 datagrams from two senders arrive intact, in order, with their senders`, { skip: unavailable || (host === '::1' && !ipv6) }, async () => {
    const mux = await UdpMux.bind({ port: 0, address: host, recv: 'native' });
    const a = await socketOn(host);
    const b = await socketOn(host);
    try {
      assert.equal(mux.recvMode, 'native');
      const conn = new Collecting();
      mux.bindRemote(host, a.address().port, conn);
      mux.bindRemote(host, b.address().port, conn);
      const sent = new Map<number, Buffer[]>([[a.address().port, []], [b.address().port, []]]);
      // Bursts well over one 64-datagram batch, sizes from 1 byte-ish to a full slot.
      for (let i = 0; i < 600; i++) {
        const from = i % 3 === 0 ? b : a;
        const size = i === 7 ? RECV_SLOT_BYTES : 6 + ((i * 131) % 1400);
        const d = datagram(i, size);
        sent.get(from.address().port)!.push(d);
        from.send(d, mux.port, host);
        if (i % 100 === 99) await new Promise((r) => setImmediate(r));
      }
      await waitFor(() => conn.got.length === 600, { ...polling, label: '600 datagrams' });
      assert.equal(mux.stats.packetsIn, 600);
      assert.equal(mux.stats.dropped, 0);
      for (const [port, bufs] of sent) {
        const got = conn.got.filter((g) => g.port === port);
        assert.equal(got.length, bufs.length);
        got.forEach((g, i) => {
          assert.equal(g.address, host);
          assert.ok(g.buf.equals(bufs[i]!), `datagram ${i} from port ${port} arrived as sent`);
        });
      }
      // Each datagram got a Buffer of its own: the first ones are unchanged after hundreds more went through the slab.
      assert.equal(conn.got[0]!.buf.readUInt32BE(2), 0);
      assert.equal(conn.got.filter((g) => g.buf.readUInt32BE(2) === 7)[0]!.buf.length, RECV_SLOT_BYTES);
    } finally {
      a.close();
      b.close();
      await mux.close();
    }
  });
}

test('native receive: a datagram larger than a slot is dropped and counted; the next one arrives', { skip: unavailable }, async () => {
  const mux = await UdpMux.bind({ port: 0, address: '127.0.0.1', recv: 'native' });
  const a = await socketOn('127.0.0.1');
  try {
    const conn = new Collecting();
    mux.bindRemote('127.0.0.1', a.address().port, conn);
    a.send(datagram(1, RECV_SLOT_BYTES + 1), mux.port, '127.0.0.1');
    a.send(datagram(2, 100), mux.port, '127.0.0.1');
    await waitFor(() => conn.got.length === 1, { ...polling, label: 'the small datagram' });
    assert.equal(conn.got[0]!.buf.readUInt32BE(2), 2);
    assert.equal(mux.stats.packetsIn, 2);
    assert.equal(mux.stats.dropped, 1);
  } finally {
    a.close();
    await mux.close();
  }
});

test('native receive, recvBorrowMedia: RTP/RTCP arrive as views of the slab (valid during the call), STUN and DTLS as copies', { skip: unavailable }, async () => {
  const mux = await UdpMux.bind({ port: 0, address: '127.0.0.1', recv: 'native', recvBorrowMedia: true });
  const a = await socketOn('127.0.0.1');
  try {
    // What a handler sees during the call, and whether the buffer it got is still the datagram after more arrived.
    const seen: { kind: string; n: number; buf: Buffer }[] = [];
    const conn: MuxConnection = {
      handleStun: (buf) => seen.push({ kind: 'stun', n: buf.readUInt32BE(2), buf }),
      handleDtls: (buf) => seen.push({ kind: 'dtls', n: buf.readUInt32BE(2), buf }),
      handleRtp: (buf) => seen.push({ kind: 'rtp', n: buf.readUInt32BE(2), buf }),
    };
    mux.bindRemote('127.0.0.1', a.address().port, conn);
    const stun = Buffer.alloc(40, 0);
    stun[1] = 0x11; // not a Binding request: goes to the remote's connection
    stun.writeUInt32BE(1000, 2);
    const dtls = Buffer.alloc(40, 0);
    dtls[0] = 22;
    dtls.writeUInt32BE(1001, 2);
    a.send(stun, mux.port, '127.0.0.1');
    a.send(dtls, mux.port, '127.0.0.1');
    for (let i = 0; i < 200; i++) {
      a.send(datagram(i, 200 + (i % 7) * 100), mux.port, '127.0.0.1');
      if (i % 50 === 49) await new Promise((r) => setImmediate(r));
    }
    await waitFor(() => seen.length === 202, { ...polling, label: '202 datagrams' });
    // Every RTP datagram was intact when handled, in order.
    assert.deepEqual(seen.filter((s) => s.kind === 'rtp').map((s) => s.n), Array.from({ length: 200 }, (_, i) => i));
    const rtp = seen.filter((s) => s.kind === 'rtp');
    // Borrowed: the views share one backing store (the slab), so later batches overwrote some of the early ones.
    assert.equal(new Set(rtp.map((s) => s.buf.buffer)).size, 1);
    assert.ok(rtp.some((s, i) => s.buf.readUInt32BE(2) !== i), 'the slab was reused for later batches');
    // Copies: STUN and DTLS keep their bytes and have a backing store other than the slab's.
    for (const s of seen.filter((x) => x.kind !== 'rtp')) {
      assert.notEqual(s.buf.buffer, rtp[0]!.buf.buffer);
      assert.equal(s.buf.readUInt32BE(2), s.kind === 'stun' ? 1000 : 1001);
    }
    assert.equal(mux.stats.dropped, 0);
  } finally {
    a.close();
    await mux.close();
  }
});

test('native receive: replies go out, close stops reading, and the port can be bound again', { skip: unavailable }, async () => {
  const mux = await UdpMux.bind({ port: 0, address: '127.0.0.1', recv: 'native' });
  const a = await socketOn('127.0.0.1');
  const port = mux.port;
  const conn = new Collecting();
  mux.bindRemote('127.0.0.1', a.address().port, conn);
  const replies: Buffer[] = [];
  a.on('message', (m) => replies.push(m));
  a.send(datagram(1, 50), port, '127.0.0.1');
  await waitFor(() => conn.got.length === 1, { ...polling, label: 'one datagram' });
  mux.send(datagram(9, 60), a.address().port, '127.0.0.1');
  await waitFor(() => replies.length === 1, { ...polling, label: 'the reply' });
  await mux.close();
  a.send(datagram(2, 50), port, '127.0.0.1');
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(conn.got.length, 1);
  const again = await UdpMux.bind({ port, address: '127.0.0.1', recv: 'native' });
  await again.close();
  a.close();
});

test('native receive: a worker thread ended while its reader polls does not take the process down', { skip: unavailable }, async () => {
  const url = new URL('./udp-mux.ts', import.meta.url).href;
  const worker = new Worker(
    // A worker does not inherit tsx's loader hooks: register them before importing the TypeScript source.
    `import('tsx/esm/api').then(({ register }) => { register(); return import(${JSON.stringify(url)}); }).then(async ({ UdpMux }) => {
       const mux = await UdpMux.bind({ port: 0, address: '127.0.0.1', recv: 'native' });
       (await import('node:worker_threads')).parentPort.postMessage({ port: mux.port, mode: mux.recvMode });
     });`,
    { eval: true, type: 'module' } as ConstructorParameters<typeof Worker>[1],
  );
  const ready = await new Promise<{ port: number; mode: string }>((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
  });
  assert.equal(ready.mode, 'native');
  const a = await socketOn('127.0.0.1');
  for (let i = 0; i < 50; i++) a.send(datagram(i, 200), ready.port, '127.0.0.1');
  await new Promise((r) => setTimeout(r, 20));
  const code = await worker.terminate();
  assert.equal(code, 1); // terminated, not crashed: the process is still here to read it
  a.close();
});

test('ATRIUM_UDP_RECV: dgram unless set; auto/native need the addon; anything else is an error', () => {
  const saved = process.env['ATRIUM_UDP_RECV'];
  try {
    delete process.env['ATRIUM_UDP_RECV'];
    assert.equal(udpRecvPreferenceFromEnv(), 'dgram');
    process.env['ATRIUM_UDP_RECV'] = ' Native ';
    assert.equal(udpRecvPreferenceFromEnv(), 'native');
    process.env['ATRIUM_UDP_RECV'] = 'fast';
    assert.throws(() => udpRecvPreferenceFromEnv(), /ATRIUM_UDP_RECV: expected auto, dgram or native/);
    assert.equal(resolveUdpRecvMode('dgram').mode, 'dgram');
    assert.equal(resolveUdpRecvMode('auto').mode, unavailable ? 'dgram' : 'native');
    if (unavailable) assert.throws(() => resolveUdpRecvMode('native'), /ATRIUM_UDP_RECV=native/);
  } finally {
    if (saved === undefined) delete process.env['ATRIUM_UDP_RECV'];
    else process.env['ATRIUM_UDP_RECV'] = saved;
  }
});

test('dgram receive stays the default path: a mux bound without options reads with node:dgram', async () => {
  const saved = process.env['ATRIUM_UDP_RECV'];
  delete process.env['ATRIUM_UDP_RECV'];
  const mux = await UdpMux.bind({ port: 0, address: '127.0.0.1' });
  try {
    assert.equal(mux.recvMode, 'dgram');
  } finally {
    if (saved !== undefined) process.env['ATRIUM_UDP_RECV'] = saved;
    await mux.close();
  }
});
