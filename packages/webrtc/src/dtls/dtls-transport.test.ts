// DtlsTransport client <-> server over an in-memory datagram pair (werift-dtls underneath, our seam on top).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { generateCertificate, type DtlsCertificate } from './certificate.js';
import { DtlsTransport, SrtpProtectionProfile, type DtlsState } from './dtls-transport.js';
import { ManualClock } from '../clock.js';
import { waitFor } from '../testing/wait-for.js';

const GCM = SrtpProtectionProfile.AEAD_AES_128_GCM;
const CM = SrtpProtectionProfile.AES128_CM_HMAC_SHA1_80;

/** Real-time waits in this file (in-process handshakes): 8 s at most, polled every tick. */
const polling = { timeoutMs: 8000, intervalMs: 0 } as const;

interface Pair {
  client: DtlsTransport;
  server: DtlsTransport;
  states: { client: DtlsState[]; server: DtlsState[] };
}

function makePair(
  certs: { client: DtlsCertificate; server: DtlsCertificate },
  opts: { clientProfiles?: number[]; serverProfiles?: number[]; clientSees?: string; serverSees?: string; toClient?: (buf: Buffer) => Buffer[] } = {},
): Pair {
  // Deliver asynchronously like a network would, so neither side re-enters the other.
  const client: DtlsTransport = new DtlsTransport({
    role: 'client',
    certificate: certs.client,
    remoteFingerprint: { algorithm: 'sha-256', value: opts.clientSees ?? certs.server.fingerprint.value },
    srtpProfiles: opts.clientProfiles ?? [GCM, CM],
    send: (buf) => setImmediate(() => server.handle(Buffer.from(buf))),
  });
  const server: DtlsTransport = new DtlsTransport({
    role: 'server',
    certificate: certs.server,
    remoteFingerprint: { algorithm: 'sha-256', value: opts.serverSees ?? certs.client.fingerprint.value },
    srtpProfiles: opts.serverProfiles ?? [GCM, CM],
    send: (buf) => setImmediate(() => {
      for (const b of opts.toClient?.(Buffer.from(buf)) ?? [Buffer.from(buf)]) client.handle(b);
    }),
  });
  const states = { client: [] as DtlsState[], server: [] as DtlsState[] };
  client.on('stateChange', (s) => states.client.push(s));
  server.on('stateChange', (s) => states.server.push(s));
  client.on('error', () => {});
  server.on('error', () => {});
  return { client, server, states };
}

describe('DtlsTransport', () => {
  let certs: { client: DtlsCertificate; server: DtlsCertificate };
  const open: DtlsTransport[] = [];
  before(async () => {
    certs = { client: await generateCertificate(), server: await generateCertificate() };
  });
  after(() => {
    for (const t of open) t.close();
  });

  it('completes the handshake, selects GCM, agrees on keying material and carries data both ways', async () => {
    const { client, server, states } = makePair(certs, { clientProfiles: [CM, GCM] });
    open.push(client, server);
    server.start();
    client.start();
    await waitFor(() => client.state === 'connected' && server.state === 'connected', { ...polling, label: 'both sides connected' });
    assert.deepEqual(states.client, ['connecting', 'connected']);
    assert.deepEqual(states.server, ['connecting', 'connected']);
    // The server's preference wins: GCM, even though this client listed CM first.
    assert.equal(server.srtpProfile, GCM);
    assert.equal(client.srtpProfile, GCM);
    const a = client.exportKeyingMaterial('EXTRACTOR-dtls_srtp', 56); // 2 * (16 key + 12 salt)
    const b = server.exportKeyingMaterial('EXTRACTOR-dtls_srtp', 56);
    assert.equal(a.length, 56);
    assert.deepEqual(a, b);
    assert.notDeepEqual(a, Buffer.alloc(56));
    assert.deepEqual(client.remoteCertificate, certs.server.certDer);
    assert.deepEqual(server.remoteCertificate, certs.client.certDer);

    const atServer: Buffer[] = [];
    const atClient: Buffer[] = [];
    server.on('data', (d) => atServer.push(d));
    client.on('data', (d) => atClient.push(d));
    client.sendData(Buffer.from('hello server'));
    server.sendData(Buffer.alloc(1100, 7));
    await waitFor(() => atServer.length === 1 && atClient.length === 1, { ...polling, label: 'data at both sides' });
    assert.equal(atServer[0]!.toString(), 'hello server');
    assert.deepEqual(atClient[0], Buffer.alloc(1100, 7));

    // close_notify reaches the peer, which closes too.
    client.close();
    client.close(); // idempotent
    await waitFor(() => server.state === 'closed', { ...polling, label: 'server closed by close_notify' });
    assert.deepEqual(states.client, ['connecting', 'connected', 'closed']);
  });

  it('negotiates AES128_CM_HMAC_SHA1_80 when that is all the client offers (60 bytes of keys)', async () => {
    const { client, server } = makePair(certs, { clientProfiles: [CM] });
    open.push(client, server);
    client.start();
    server.start();
    await waitFor(() => client.state === 'connected' && server.state === 'connected', { ...polling, label: 'both sides connected with AES128_CM' });
    assert.equal(client.srtpProfile, CM);
    assert.equal(server.srtpProfile, CM);
    const a = client.exportKeyingMaterial('EXTRACTOR-dtls_srtp', 60); // 2 * (16 key + 14 salt)
    assert.deepEqual(a, server.exportKeyingMaterial('EXTRACTOR-dtls_srtp', 60));
  });

  it('a duplicated HelloVerifyRequest (the server answered a retransmitted ClientHello) does not fail the client', async () => {
    // Under load the client resends its ClientHello before the first HelloVerifyRequest arrives and gets two;
    // werift's client throws on the second, which failed the handshake (and the load tester's subscribers).
    let duplicated = 0;
    const isHelloVerify = (b: Buffer): boolean => b[0] === 22 && b.readUInt16BE(3) === 0 && b[13] === 3;
    const { client, server } = makePair(certs, {
      toClient: (b) => {
        if (!isHelloVerify(b)) return [b];
        duplicated++;
        return [b, Buffer.from(b)];
      },
    });
    open.push(client, server);
    server.start();
    client.start();
    await waitFor(() => (client.state === 'connected' && server.state === 'connected') || client.state === 'failed', { ...polling, label: 'the handshake ends' });
    assert.ok(duplicated >= 1, 'the server sent a HelloVerifyRequest');
    assert.equal(client.state, 'connected');
    assert.equal(server.state, 'connected');
    assert.ok(client.droppedDatagrams >= 1, 'the duplicate was dropped');
  });

  it('fails on a fingerprint mismatch (either side)', async () => {
    const wrong = (await generateCertificate()).fingerprint.value;
    const p1 = makePair(certs, { clientSees: wrong });
    const p2 = makePair(certs, { serverSees: wrong });
    open.push(p1.client, p1.server, p2.client, p2.server);
    const errors: Error[] = [];
    p1.client.on('error', (e) => errors.push(e));
    for (const p of [p1, p2]) {
      p.server.start();
      p.client.start();
    }
    await waitFor(() => p1.client.state === 'failed' && p2.server.state === 'failed', { ...polling, label: 'both mismatched sides failed' });
    assert.equal((errors[0] as Error & { code?: string }).code, 'DTLS_FINGERPRINT_MISMATCH');
    assert.throws(() => p1.client.sendData(Buffer.from('x')), /state failed/);
  });

  it('waits for a late remote fingerprint, then connects and delivers buffered data', async () => {
    const { client, server } = makePair(certs);
    open.push(client, server);
    const late = new DtlsTransport({
      role: 'server',
      certificate: certs.server,
      srtpProfiles: [GCM, CM],
      send: (buf) => setImmediate(() => client.handle(Buffer.from(buf))),
    });
    open.push(late);
    // Rewire: the client now talks to `late` instead of `server`.
    (client as unknown as { sendDatagram: (b: Buffer) => void }).sendDatagram = (buf) =>
      setImmediate(() => late.handle(Buffer.from(buf)));
    client.start();
    await waitFor(() => client.state === 'connected', { ...polling, label: 'client connected to the late server' });
    const got: Buffer[] = [];
    late.on('data', (d) => got.push(d));
    client.sendData(Buffer.from('early'));
    // The handshake is done and the data is held back until we know the fingerprint.
    await waitFor(() => (late as unknown as { pendingData: Buffer[] }).pendingData.length === 1, { ...polling, label: 'early data held back' });
    assert.equal(late.state, 'connecting');
    assert.equal(got.length, 0);
    late.setRemoteFingerprint({ algorithm: 'SHA-256', value: certs.client.fingerprint.value.toLowerCase() });
    assert.equal(late.state, 'connected');
    assert.deepEqual(got.map((b) => b.toString()), ['early']);
  });

  it('recovers when the server final flight is lost (resends it on the client retransmission)', async () => {
    const { client, server } = makePair(certs);
    open.push(client, server);
    let dropped = 0;
    (server as unknown as { sendDatagram: (b: Buffer) => void }).sendDatagram = (buf) => {
      // Lose the first ChangeCipherSpec (20) and the first epoch-1 handshake record (Finished).
      const isFinalFlight = buf[0] === 20 || (buf[0] === 22 && buf.readUInt16BE(3) === 1);
      if (isFinalFlight && dropped < 2) {
        dropped++;
        return;
      }
      const copy = Buffer.from(buf);
      setImmediate(() => client.handle(copy));
    };
    // Like Chromium, the client packs each flight into one datagram (so werift alone would not see
    // the retransmitted Finished: it stops at the Certificate it already has).
    let packed: Buffer[] = [];
    (client as unknown as { sendDatagram: (b: Buffer) => void }).sendDatagram = (buf) => {
      packed.push(Buffer.from(buf));
      if (packed.length > 1) return;
      setImmediate(() => {
        const datagram = Buffer.concat(packed);
        packed = [];
        server.handle(datagram);
      });
    };
    server.start();
    client.start();
    await waitFor(() => server.state === 'connected', { ...polling, label: 'server connected' });
    assert.equal(dropped, 2);
    assert.equal(client.state, 'connecting');
    // werift's client retransmits its flight 5 after 500 ms; our server answers with its last flight.
    await waitFor(() => client.state === 'connected', { ...polling, timeoutMs: 5000, label: 'client connected after the retransmitted flight' });
    // A stray ClientHello after the handshake must not reset the session.
    const hello = Buffer.alloc(60);
    hello[0] = 22;
    hello.writeUInt16BE(0xfefd, 1);
    hello.writeUInt16BE(47, 11);
    hello[13] = 1;
    server.handle(hello);
    const got: Buffer[] = [];
    server.on('data', (d) => got.push(d));
    client.sendData(Buffer.from('still here'));
    await waitFor(() => got.length === 1, { ...polling, label: 'data after the retransmission' });
    assert.equal(server.state, 'connected');
  });

  it('server fails when the client CertificateVerify does not verify (our check, not werift)', async () => {
    const { client, server } = makePair(certs);
    open.push(client, server);
    (client as unknown as { sendDatagram: (b: Buffer) => void }).sendDatagram = (buf) => {
      const copy = Buffer.from(buf);
      // epoch-0 handshake record holding certificate_verify (15): corrupt the signature's last byte
      if (copy[0] === 22 && copy.readUInt16BE(3) === 0 && copy[13] === 15) copy[copy.length - 1]! ^= 0x01;
      setImmediate(() => server.handle(copy));
    };
    const errors: Array<Error & { code?: string }> = [];
    server.on('error', (e) => errors.push(e));
    server.start();
    client.start();
    await waitFor(() => server.state === 'failed', { ...polling, label: 'server failed on the bad CertificateVerify' });
    assert.equal(errors[0]?.code, 'DTLS_BAD_SIGNATURE');
    assert.match(errors[0]!.message, /CertificateVerify/);
  });

  it('never throws on garbage and times out on the injected clock', () => {
    const clock = new ManualClock();
    const t = new DtlsTransport({
      role: 'server',
      certificate: certs.server,
      srtpProfiles: [GCM],
      send: () => {},
      clock,
      handshakeTimeoutMs: 5000,
    });
    t.on('error', () => {});
    t.start();
    const garbage = [
      Buffer.alloc(0),
      Buffer.from([22]),
      Buffer.from([22, 0xfe, 0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff]), // length beyond the datagram
      Buffer.from([22, 0xfe, 0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 4, 1, 2, 3, 4]), // truncated handshake
      Buffer.from([23, 0xfe, 0xfd, 0, 1, 0, 0, 0, 0, 0, 1, 0, 8, 1, 2, 3, 4, 5, 6, 7, 8]), // app data, no keys
      Buffer.alloc(300, 0xff),
    ];
    for (let i = 0; i < 200; i++) garbage.push(Buffer.from(Array.from({ length: 13 + (i % 60) }, (_, j) => (i * 31 + j * 7) & 0xff)));
    for (const g of garbage) assert.doesNotThrow(() => t.handle(g));
    assert.ok(t.droppedDatagrams >= 2);
    assert.equal(t.state, 'connecting');
    clock.advance(5000);
    assert.equal(t.state, 'failed');
    assert.equal(clock.pendingTimers, 0);
    assert.doesNotThrow(() => t.handle(Buffer.alloc(20, 22)));
    t.close();
    assert.equal(t.state, 'closed');
  });

  it('fails at once on a plaintext fatal alert during the handshake', () => {
    const clock = new ManualClock();
    const t = new DtlsTransport({ role: 'server', certificate: certs.server, srtpProfiles: [GCM], send: () => {}, clock });
    const errors: Array<Error & { code?: string }> = [];
    t.on('error', (e) => errors.push(e));
    t.start();
    t.handle(Buffer.from([21, 0xfe, 0xfd, 0, 0, 0, 0, 0, 0, 0, 2, 0, 2, 2, 42])); // fatal bad_certificate
    assert.equal(t.state, 'failed');
    assert.equal(errors[0]?.code, 'DTLS_ALERT');
    assert.equal(clock.pendingTimers, 0);
  });
});
