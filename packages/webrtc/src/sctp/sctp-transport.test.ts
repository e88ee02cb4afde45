// Two SctpTransports wired back to back in memory (and once through two DtlsTransports): DCEP, PPIDs,
// fragmentation, stream id parity, partial reliability, closing.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { SctpTransport } from './sctp-transport.js';
import type { DataChannel } from './data-channel.js';
import { encodeOpen } from './dcep.js';
import { generateCertificate } from '../dtls/certificate.js';
import { DtlsTransport } from '../dtls/dtls-transport.js';
import { waitFor } from '../testing/wait-for.js';

/** Real-time waits in this file (in-process associations): 10 s at most, polled every millisecond. */
const polling = { timeoutMs: 10_000, intervalMs: 1 } as const;

/** `drop(buf, fromClient)` returning true loses the packet. */
function makePair(drop?: (buf: Buffer, fromClient: boolean) => boolean): { client: SctpTransport; server: SctpTransport } {
  const client: SctpTransport = new SctpTransport({
    isDtlsClient: true,
    send: (buf) => {
      if (drop?.(buf, true)) return;
      const copy = Buffer.from(buf);
      setImmediate(() => server.handle(copy));
    },
  });
  const server: SctpTransport = new SctpTransport({
    isDtlsClient: false,
    send: (buf) => {
      if (drop?.(buf, false)) return;
      const copy = Buffer.from(buf);
      setImmediate(() => client.handle(copy));
    },
  });
  return { client, server };
}

function collect(channel: DataChannel): Array<Buffer | string> {
  const got: Array<Buffer | string> = [];
  channel.on('message', (m) => got.push(m));
  return got;
}

function timeoutCount(): number {
  return process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
}

describe('SctpTransport', () => {
  it('opens channels both ways with DCEP, with even/odd ids and the same options on both sides', async () => {
    const baseline = timeoutCount();
    const { client, server } = makePair();
    const atServer: DataChannel[] = [];
    const atClient: DataChannel[] = [];
    server.on('dataChannel', (c) => atServer.push(c));
    client.on('dataChannel', (c) => atClient.push(c));
    // Created before the association exists: it opens when ready.
    const chat = client.createDataChannel('chat', { protocol: 'json' });
    assert.equal(chat.id, 0);
    assert.equal(chat.readyState, 'connecting');
    assert.throws(() => chat.send('too early'), /not open/);
    const states: string[] = [];
    client.on('stateChange', (s) => states.push(s));
    server.start();
    client.start();
    await waitFor(() => chat.readyState === 'open' && atServer.length === 1, { ...polling, label: 'chat open at both ends' });
    assert.deepEqual(states, ['connecting', 'connected']);
    const remoteChat = atServer[0]!;
    assert.equal(remoteChat.label, 'chat');
    assert.equal(remoteChat.protocol, 'json');
    assert.equal(remoteChat.id, 0);
    assert.equal(remoteChat.ordered, true);
    assert.equal(remoteChat.maxRetransmits, undefined);
    assert.equal(remoteChat.readyState, 'open');

    const second = client.createDataChannel('second');
    const lossy = server.createDataChannel('_lossy', { ordered: false, maxRetransmits: 0 });
    const timed = server.createDataChannel('timed', { maxPacketLifeTime: 500 });
    assert.equal(second.id, 2);
    assert.equal(lossy.id, 1);
    assert.equal(timed.id, 3);
    await waitFor(() => atClient.length === 2 && atServer.length === 2 && lossy.readyState === 'open', { ...polling, label: 'second, _lossy and timed open' });
    assert.equal(atServer[1]!.id, 2);
    const remoteLossy = atClient.find((c) => c.label === '_lossy')!;
    assert.equal(remoteLossy.id, 1);
    assert.equal(remoteLossy.ordered, false);
    assert.equal(remoteLossy.maxRetransmits, 0);
    const remoteTimed = atClient.find((c) => c.label === 'timed')!;
    assert.equal(remoteTimed.maxPacketLifeTime, 500);
    assert.equal(remoteTimed.ordered, true);

    // Unordered maxRetransmits:0 carries messages (no loss here).
    const lossyGot = collect(remoteLossy);
    for (let i = 0; i < 5; i++) lossy.send(`tick ${i}`);
    await waitFor(() => lossyGot.length === 5, { ...polling, label: '5 unordered messages' });
    assert.deepEqual([...lossyGot].sort(), ['tick 0', 'tick 1', 'tick 2', 'tick 3', 'tick 4']);

    // Closing a channel resets the stream; both ends see 'close'.
    let closes = 0;
    second.on('close', () => closes++);
    atServer[1]!.on('close', () => closes++);
    second.close();
    second.close();
    assert.equal(second.readyState, 'closing');
    await waitFor(() => closes === 2, { ...polling, label: 'both ends closed the second channel' });
    assert.equal(atServer[1]!.readyState, 'closed');
    assert.equal(client.dataChannels.has(2), false);
    assert.equal(client.createDataChannel('reuse').id, 2, 'a freed id is reused');

    const chatClosed = new Promise<void>((r) => remoteChat.once('close', () => r()));
    client.close();
    client.close();
    assert.equal(client.state, 'closed');
    assert.equal(chat.readyState, 'closed');
    await chatClosed; // the ABORT reached the server
    assert.equal(server.state, 'closed');
    assert.ok(timeoutCount() <= baseline, `timers left: ${timeoutCount()} > ${baseline}`);
    assert.throws(() => client.createDataChannel('late'), /closed/);
  });

  it('delivers reliable ordered messages of 1, 1200 and 64000 bytes intact and in order, text and binary', async () => {
    const { client, server } = makePair();
    let remote: DataChannel | undefined;
    server.on('dataChannel', (c) => (remote = c));
    const ch = client.createDataChannel('bulk');
    client.start();
    server.start();
    await waitFor(() => ch.readyState === 'open' && remote !== undefined, { ...polling, label: 'channel open' });
    const got = collect(remote!);
    const big = Buffer.alloc(64_000);
    for (let i = 0; i < big.length; i++) big[i] = (i * 7 + (i >> 8)) & 0xff;
    const sent: Array<Buffer | string> = [
      Buffer.from([0x42]),
      Buffer.alloc(1200, 0xab),
      big,
      'héllo ☃',
      '',
      Buffer.alloc(0),
      'x'.repeat(5000),
      big.subarray(0, 1201),
    ];
    for (const m of sent) ch.send(m);
    await waitFor(() => got.length === sent.length, { ...polling, label: 'every message delivered' });
    assert.deepEqual(got, sent.map((m) => (typeof m === 'string' ? m : Buffer.from(m))));
    assert.equal(typeof got[3], 'string');
    assert.ok(Buffer.isBuffer(got[5]));
    // And back the other way.
    const back = collect(ch);
    remote!.send(big);
    await waitFor(() => back.length === 1, { ...polling, label: 'the 64000-byte message back' });
    assert.deepEqual(back[0], big);
    assert.throws(() => ch.send(Buffer.alloc(65_537)), /maxMessageSize/);
    client.close();
    server.close();
  });

  it('abandons a lost message on a maxRetransmits:0 channel and keeps going (PR-SCTP)', async () => {
    let dropNext = false;
    const { client, server } = makePair((buf, fromClient) => {
      // Lose the first DATA chunk (type 0) marked for dropping, once.
      if (fromClient && dropNext && buf[12] === 0) {
        dropNext = false;
        return true;
      }
      return false;
    });
    let remote: DataChannel | undefined;
    server.on('dataChannel', (c) => (remote = c));
    const ch = client.createDataChannel('lossy', { ordered: false, maxRetransmits: 0 });
    client.start();
    server.start();
    await waitFor(() => ch.readyState === 'open' && remote !== undefined, { ...polling, label: 'lossy channel open' });
    const got = collect(remote!);
    dropNext = true;
    ch.send('lost');
    ch.send('after 1');
    ch.send('after 2');
    await waitFor(() => got.length === 2, { ...polling, label: 'the 2 messages after the lost one' });
    // The lost one is abandoned (FORWARD-TSN), never retransmitted; later traffic still flows.
    await waitFor(() => (client as unknown as { internals: { sentQueue: unknown[] } }).internals.sentQueue.length === 0, { ...polling, label: 'the lost message abandoned' });
    ch.send('after 3');
    await waitFor(() => got.length === 3, { ...polling, label: 'traffic after the abandoned message' });
    assert.deepEqual(got, ['after 1', 'after 2', 'after 3']);
    client.close();
    server.close();
  });

  it('never throws on garbage input and rejects bad DCEP', async () => {
    const { client, server } = makePair();
    const garbage = [Buffer.alloc(0), Buffer.alloc(5), Buffer.alloc(12), Buffer.alloc(64, 0xff), Buffer.from('not sctp at all')];
    for (const g of garbage) {
      assert.doesNotThrow(() => client.handle(g));
      assert.doesNotThrow(() => server.handle(g));
    }
    await waitFor(() => client.droppedPackets >= garbage.length, { ...polling, label: 'garbage dropped' });
    // Still associates afterwards.
    client.start();
    server.start();
    await waitFor(() => client.state === 'connected' && server.state === 'connected', { ...polling, label: 'association after garbage' });
    // Bad DCEP from the server (DTLS server): a truncated OPEN, an OPEN on an even (client) id,
    // an unknown DCEP type, and user data on a stream with no channel. All dropped, none opens a channel.
    const opened: DataChannel[] = [];
    client.on('dataChannel', (c) => opened.push(c));
    const raw = (server as unknown as { sctp: { send(id: number, ppid: number, b: Buffer, o: object): Promise<void> } }).sctp;
    const before = client.droppedPackets;
    const goodOpen = encodeOpen({ label: 'x', protocol: '', ordered: true, priority: 0 });
    await raw.send(3, 50, goodOpen.subarray(0, 12), { ordered: true });
    await raw.send(4, 50, goodOpen, { ordered: true });
    await raw.send(5, 50, Buffer.from([0x09]), { ordered: true });
    await raw.send(7, 51, Buffer.from('orphan'), { ordered: true });
    await raw.send(9, 50, goodOpen, { ordered: true }); // a valid one last, to know the others were processed
    await waitFor(() => opened.length === 1, { ...polling, label: 'the valid OPEN after the bad DCEP' });
    assert.equal(opened[0]!.id, 9);
    assert.equal(client.droppedPackets - before, 4);
    client.close();
    server.close();
  });

  it('runs over two DtlsTransports (RFC 8261)', async () => {
    const [cc, sc] = [await generateCertificate(), await generateCertificate()];
    const profiles = [0x0007, 0x0001];
    const dtlsClient: DtlsTransport = new DtlsTransport({
      role: 'client',
      certificate: cc,
      remoteFingerprint: sc.fingerprint,
      srtpProfiles: profiles,
      send: (b) => setImmediate(() => dtlsServer.handle(Buffer.from(b))),
    });
    const dtlsServer: DtlsTransport = new DtlsTransport({
      role: 'server',
      certificate: sc,
      remoteFingerprint: cc.fingerprint,
      srtpProfiles: profiles,
      send: (b) => setImmediate(() => dtlsClient.handle(Buffer.from(b))),
    });
    const client = new SctpTransport({ isDtlsClient: true, send: (b) => dtlsClient.sendData(b) });
    const server = new SctpTransport({ isDtlsClient: false, send: (b) => dtlsServer.sendData(b) });
    dtlsClient.on('data', (b) => client.handle(b));
    dtlsServer.on('data', (b) => server.handle(b));
    dtlsClient.on('stateChange', (s) => s === 'connected' && client.start());
    dtlsServer.on('stateChange', (s) => s === 'connected' && server.start());
    let remote: DataChannel | undefined;
    client.on('dataChannel', (c) => (remote = c));
    const ch = server.createDataChannel('over-dtls'); // opened by the DTLS server: odd id
    assert.equal(ch.id, 1);
    dtlsServer.start();
    dtlsClient.start();
    await waitFor(() => ch.readyState === 'open' && remote !== undefined, { ...polling, label: 'channel open over DTLS' });
    const got = collect(remote!);
    const big = Buffer.alloc(64_000, 9);
    ch.send(big);
    ch.send('done');
    await waitFor(() => got.length === 2, { ...polling, label: 'messages over DTLS' });
    assert.deepEqual(got, [big, 'done']);
    client.close();
    server.close();
    dtlsClient.close();
    dtlsServer.close();
  });
});
