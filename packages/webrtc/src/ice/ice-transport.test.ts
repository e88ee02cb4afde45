// IceTransport: controlling <-> controlled-lite over two real UdpMux sockets on 127.0.0.1, with
// ManualClocks for timers; a hand-made peer against the lite agent; consent timeouts; cleanup.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import type { Socket } from 'node:dgram';
import { ManualClock } from '../clock.js';
import { UdpMux } from '../udp-mux.js';
import { IceTransport, ICE_DEFAULTS } from './ice-transport.js';
import type { IceState, IceTransportOptions } from './ice-transport.js';
import { buildBindingRequest } from './ice-binding.js';
import { StunAttr, StunClass } from '../stun/stun-constants.js';
import { getStunAttribute, parseStunMessage, shortTermKey, verifyFingerprint, verifyMessageIntegrity } from '../stun/stun-message.js';
import { decodeErrorCode, decodeXorMappedAddress } from '../stun/stun-attributes.js';
import { waitFor } from '../testing/wait-for.js';

/** Real-time waits in this file (loopback UDP): 3 s at most, polled every tick. */
const polling = { timeoutMs: 3000, intervalMs: 0 } as const;

interface Pair {
  liteMux: UdpMux;
  ctlMux: UdpMux;
  liteClock: ManualClock;
  ctlClock: ManualClock;
  lite: IceTransport;
  ctl: IceTransport;
  liteStates: IceState[];
  ctlStates: IceState[];
  /** Waits until every datagram sent by either mux has arrived at the other. */
  settle(): Promise<void>;
  cleanup(): Promise<void>;
}

async function makePair(extra: Partial<IceTransportOptions> = {}): Promise<Pair> {
  const liteMux = await UdpMux.bind({ port: 0, address: '127.0.0.1' });
  const ctlMux = await UdpMux.bind({ port: 0, address: '127.0.0.1' });
  const liteClock = new ManualClock();
  const ctlClock = new ManualClock();
  const lite = new IceTransport({ ...extra, mux: liteMux, role: 'controlled-lite', advertisedAddress: '127.0.0.1', clock: liteClock });
  const ctl = new IceTransport({ ...extra, mux: ctlMux, role: 'controlling', advertisedAddress: '127.0.0.1', clock: ctlClock });
  const liteStates: IceState[] = [];
  const ctlStates: IceState[] = [];
  lite.on('stateChange', (s) => liteStates.push(s));
  ctl.on('stateChange', (s) => ctlStates.push(s));
  return {
    liteMux, ctlMux, liteClock, ctlClock, lite, ctl, liteStates, ctlStates,
    settle: async () => {
      await waitFor(
        () => liteMux.stats.packetsIn === ctlMux.stats.packetsOut && ctlMux.stats.packetsIn === liteMux.stats.packetsOut,
        { ...polling, label: 'datagrams in flight' },
      );
    },
    cleanup: async () => {
      lite.close();
      ctl.close();
      await liteMux.close();
      await ctlMux.close();
    },
  };
}

async function connect(p: Pair, opts: { giveLiteCredentials: boolean }): Promise<void> {
  p.lite.start();
  if (opts.giveLiteCredentials) p.lite.setRemoteCredentials(p.ctl.localUfrag, p.ctl.localPwd);
  p.ctl.setRemoteCredentials(p.lite.localUfrag, p.lite.localPwd);
  for (const c of p.lite.localCandidates()) p.ctl.addRemoteCandidate(c);
  p.ctl.start();
  await waitFor(() => p.lite.state === 'connected' && p.ctl.state === 'connected', { ...polling, label: 'both connected' });
  await p.settle();
}

test('controlling <-> controlled-lite connect over loopback and exchange DTLS and RTP', async () => {
  const p = await makePair();
  try {
    assert.equal(p.lite.localCandidates()[0], `candidate:1 1 udp 2130706431 127.0.0.1 ${p.liteMux.port} typ host`);
    const liteSelected: unknown[] = [];
    p.lite.on('selectedPair', (s) => liteSelected.push(s));
    // The lite side never learns the remote credentials: requests are accepted before the answer is applied.
    await connect(p, { giveLiteCredentials: false });
    assert.deepEqual(p.liteStates, ['connected']);
    assert.deepEqual(p.ctlStates, ['checking', 'connected']);
    assert.deepEqual(liteSelected, [{ address: '127.0.0.1', port: p.ctlMux.port }]);
    assert.deepEqual(p.ctl.selected, { address: '127.0.0.1', port: p.liteMux.port });

    const got = { liteDtls: [] as Buffer[], liteRtp: [] as Buffer[], ctlDtls: [] as Buffer[], ctlRtp: [] as Buffer[] };
    p.lite.onDtls = (b) => got.liteDtls.push(b);
    p.lite.onRtp = (b) => got.liteRtp.push(b);
    p.ctl.onDtls = (b) => got.ctlDtls.push(b);
    p.ctl.onRtp = (b) => got.ctlRtp.push(b);
    const dtls = Buffer.from([22, 0xfe, 0xfd, 0, 0, 1, 2, 3]);
    const rtp = Buffer.from([0x80, 0x60, 0x12, 0x34, 0, 0, 0, 1, 0xde, 0xad, 0xbe, 0xef]);
    const rtcp = Buffer.from([0x81, 200, 0, 1, 0xde, 0xad, 0xbe, 0xef]);
    p.ctl.send(dtls);
    p.ctl.send(rtp);
    p.lite.send(dtls);
    p.lite.send(rtcp);
    await waitFor(() => got.liteRtp.length === 1 && got.ctlRtp.length === 1 && got.liteDtls.length === 1 && got.ctlDtls.length === 1, { ...polling, label: 'RTP and DTLS at both ends' });
    assert.deepEqual(got.liteDtls[0], dtls);
    assert.deepEqual(got.liteRtp[0], rtp);
    assert.deepEqual(got.ctlDtls[0], dtls);
    assert.deepEqual(got.ctlRtp[0], rtcp);
  } finally {
    await p.cleanup();
  }
});

test('consent checks keep both sides connected for a minute; silence -> disconnected -> failed', async () => {
  const p = await makePair();
  try {
    await connect(p, { giveLiteCredentials: true });
    let lastCheckAtMs = 0;
    for (let t = 0; t < 60_000; t += 500) {
      p.ctlClock.advance(500);
      p.liteClock.advance(500);
      const before = p.liteMux.stats.packetsIn;
      await p.settle();
      if (p.liteMux.stats.packetsIn !== before) lastCheckAtMs = p.liteClock.nowMs();
      assert.equal(p.ctl.state, 'connected', `controlling at ${t} ms`);
      assert.equal(p.lite.state, 'connected', `lite at ${t} ms`);
    }
    const checks = p.ctl.stats.checksSent;
    assert.ok(checks >= 11 && checks <= 17, `about one consent check per 5 s, got ${checks}`);

    // Controlling side goes quiet (its clock stops): lite disconnects after 7.5 s and recovers on the next check.
    p.liteClock.advance(lastCheckAtMs + 7000 - p.liteClock.nowMs());
    assert.equal(p.lite.state, 'connected');
    p.liteClock.advance(1500);
    assert.equal(p.lite.state, 'disconnected');
    for (let i = 0; i < 12 && p.lite.state !== 'connected'; i++) {
      p.ctlClock.advance(500);
      await p.settle();
    }
    assert.equal(p.lite.state, 'connected', 'lite reconnects on the next consent check');

    // Lite goes away: the controlling agent retries, disconnects, then fails at 30 s.
    p.lite.close();
    assert.equal(p.liteMux.registrationCount, 0);
    p.ctlClock.advance(7000);
    await p.settle();
    p.ctlClock.advance(1000);
    assert.equal(p.ctl.state, 'disconnected');
    p.ctlClock.advance(21_000);
    await p.settle();
    assert.equal(p.ctl.state, 'disconnected');
    p.ctlClock.advance(1_000 + 200); // + one check interval of timer granularity
    assert.equal(p.ctl.state, 'failed');
    assert.deepEqual(p.ctlStates, ['checking', 'connected', 'disconnected', 'failed']);
    assert.equal(p.ctlMux.registrationCount, 0, 'failed tears down mux registrations');
    assert.equal(p.ctlClock.pendingTimers, 0, 'failed clears timers');
    const sent = p.ctlMux.stats.packetsOut;
    p.ctl.send(Buffer.from([0x80, 0]));
    assert.equal(p.ctlMux.stats.packetsOut, sent, 'nothing sent after failure');
  } finally {
    await p.cleanup();
  }
});

test('lite agent fails at consentTimeoutMs without checks', async () => {
  const p = await makePair({ consentTimeoutMs: 10_000 });
  try {
    await connect(p, { giveLiteCredentials: true });
    p.liteClock.advance(9_000);
    assert.equal(p.lite.state, 'disconnected');
    p.liteClock.advance(1_000);
    assert.equal(p.lite.state, 'failed');
    assert.deepEqual(p.liteStates, ['connected', 'disconnected', 'failed']);
  } finally {
    await p.cleanup();
  }
});

test('wrong password: 401s, never connected, controlling fails at the timeout', async () => {
  const p = await makePair({ checkIntervalMs: 500 });
  try {
    p.lite.start();
    p.ctl.setRemoteCredentials(p.lite.localUfrag, 'not-the-password-at-all-x');
    p.ctl.addRemoteCandidate(p.lite.localCandidates()[0]!);
    p.ctl.start();
    for (let i = 0; i < 4; i++) {
      await p.settle();
      p.ctlClock.advance(500);
    }
    await p.settle();
    assert.equal(p.lite.stats.stunRejected, 5);
    assert.equal(p.liteMux.stats.packetsOut, 5, 'one 401 per check');
    assert.equal(p.lite.state, 'new');
    assert.equal(p.ctl.state, 'checking');
    assert.equal(p.ctl.selected, undefined);
    p.ctlClock.advance(30_000);
    assert.equal(p.ctl.state, 'failed');
    assert.deepEqual(p.ctlStates, ['checking', 'failed']);
  } finally {
    await p.cleanup();
  }
});

test('close() is idempotent and leaves no timers or mux registrations', async () => {
  const p = await makePair();
  try {
    await connect(p, { giveLiteCredentials: true });
    assert.ok(p.liteMux.registrationCount > 0 && p.ctlMux.registrationCount > 0);
    p.lite.close();
    p.lite.close();
    p.ctl.close();
    assert.equal(p.liteMux.registrationCount, 0);
    assert.equal(p.ctlMux.registrationCount, 0);
    assert.equal(p.liteClock.pendingTimers, 0);
    assert.equal(p.ctlClock.pendingTimers, 0);
    assert.deepEqual(p.liteStates, ['connected', 'closed']);
    assert.equal(p.lite.selected, undefined);
    p.lite.start(); // no effect once closed
    assert.equal(p.liteMux.registrationCount, 0);
  } finally {
    await p.cleanup();
  }
});

test('lite agent against a hand-made peer: response contents, 401s, DTLS before nomination selects', async () => {
  const mux = await UdpMux.bind({ port: 0, address: '127.0.0.1' });
  const clock = new ManualClock();
  const lite = new IceTransport({ mux, role: 'controlled-lite', advertisedAddress: '127.0.0.1', clock });
  const peer: Socket = createSocket('udp4');
  await new Promise<void>((r) => peer.bind(0, '127.0.0.1', () => r()));
  const peerPort = peer.address().port;
  const inbox: Buffer[] = [];
  peer.on('message', (m) => inbox.push(m));
  const request = (username: string, pwd: string, txByte: number, useCandidate = false): Buffer =>
    buildBindingRequest({
      transactionId: Buffer.alloc(12, txByte),
      username,
      key: shortTermKey(pwd),
      priority: 1862270975,
      tieBreaker: Buffer.alloc(8, 9),
      isControlling: true,
      useCandidate,
    });
  try {
    lite.start();
    const dtlsSeen: Buffer[] = [];
    lite.onDtls = (b) => dtlsSeen.push(b);

    // Unknown ufrag: the mux drops it.
    peer.send(request('nope:peer', lite.localPwd, 1), mux.port, '127.0.0.1');
    await waitFor(() => mux.stats.dropped === 1, { ...polling, label: 'the unknown-ufrag request dropped' });

    // Valid request without USE-CANDIDATE: success response, state 'checking', nothing selected.
    peer.send(request(`${lite.localUfrag}:peer`, lite.localPwd, 2), mux.port, '127.0.0.1');
    await waitFor(() => inbox.length === 1, { ...polling, label: 'success response' });
    const r = parseStunMessage(inbox[0]!);
    assert.ok(r.ok);
    assert.equal(r.message.cls, StunClass.success);
    assert.deepEqual(r.message.transactionId, Buffer.alloc(12, 2));
    assert.equal(verifyFingerprint(r.message), true);
    assert.equal(verifyMessageIntegrity(r.message, shortTermKey(lite.localPwd)), true);
    assert.deepEqual(decodeXorMappedAddress(getStunAttribute(r.message, StunAttr.xorMappedAddress)!, r.message.transactionId), {
      family: 4,
      address: '127.0.0.1',
      port: peerPort,
    });
    assert.equal(lite.state, 'checking');
    assert.equal(lite.selected, undefined);

    // Wrong password: 401 without integrity.
    peer.send(request(`${lite.localUfrag}:peer`, 'wrong-password-wrong-pw', 3), mux.port, '127.0.0.1');
    await waitFor(() => inbox.length === 2, { ...polling, label: '401 for the wrong password' });
    const e = parseStunMessage(inbox[1]!);
    assert.ok(e.ok);
    assert.equal(e.message.cls, StunClass.error);
    assert.equal(decodeErrorCode(getStunAttribute(e.message, StunAttr.errorCode)!)?.code, 401);

    // Once remote credentials are known, a mismatching remote ufrag is refused too.
    lite.setRemoteCredentials('other', 'x'.repeat(22));
    peer.send(request(`${lite.localUfrag}:peer`, lite.localPwd, 4), mux.port, '127.0.0.1');
    await waitFor(() => inbox.length === 3, { ...polling, label: '401 for the mismatching remote ufrag' });
    assert.equal(parseStunMessage(inbox[2]!).ok && parseStunMessage(inbox[2]!).ok, true);
    assert.equal(lite.stats.stunRejected, 2);

    // Garbage STUN from the validated peer is counted, not thrown.
    peer.send(Buffer.from([0, 1, 0, 4, 1, 2, 3, 4]), mux.port, '127.0.0.1');
    await waitFor(() => lite.stats.stunRejected === 3, { ...polling, label: 'garbage rejected' });

    // DTLS from the validated (not nominated) peer selects it; lite.send reaches the peer.
    peer.send(Buffer.from([22, 0xfe, 0xfd, 7]), mux.port, '127.0.0.1');
    await waitFor(() => dtlsSeen.length === 1, { ...polling, label: 'DTLS from the validated peer' });
    assert.equal(lite.state, 'connected');
    assert.deepEqual(lite.selected, { address: '127.0.0.1', port: peerPort });
    lite.send(Buffer.from([22, 0xfe, 0xfd, 8]));
    await waitFor(() => inbox.length === 4, { ...polling, label: 'DTLS sent to the peer' });
    assert.deepEqual([...inbox[3]!], [22, 0xfe, 0xfd, 8]);
  } finally {
    lite.close();
    peer.close();
    await mux.close();
  }
});

test('connects over IPv6 loopback (skipped when ::1 is unavailable)', async (t) => {
  let liteMux: UdpMux;
  try {
    liteMux = await UdpMux.bind({ port: 0, address: '::1' });
  } catch {
    t.skip('no ::1');
    return;
  }
  const ctlMux = await UdpMux.bind({ port: 0, address: '::1' });
  const lite = new IceTransport({ mux: liteMux, role: 'controlled-lite', advertisedAddress: '::1', clock: new ManualClock() });
  const ctl = new IceTransport({ mux: ctlMux, role: 'controlling', advertisedAddress: '::1', clock: new ManualClock() });
  try {
    lite.start();
    ctl.setRemoteCredentials(lite.localUfrag, lite.localPwd);
    ctl.addRemoteCandidate('candidate:1 1 udp 2130706431 127.0.0.1 9 typ host'); // wrong family: ignored
    for (const c of lite.localCandidates()) ctl.addRemoteCandidate(c);
    ctl.start();
    await waitFor(() => lite.state === 'connected' && ctl.state === 'connected', { ...polling, label: 'both connected over ::1' });
    assert.deepEqual(lite.selected, { address: '::1', port: ctlMux.port });
    assert.equal(ctl.stats.checksSent, 1);
  } finally {
    lite.close();
    ctl.close();
    await liteMux.close();
    await ctlMux.close();
  }
});

test('ICE restart: new credentials on both sides, checks against the new remote ones, the old accepted until nominated', async () => {
  const p = await makePair();
  try {
    await connect(p, { giveLiteCredentials: true });
    const old = { lite: { ufrag: p.lite.localUfrag, pwd: p.lite.localPwd }, ctl: { ufrag: p.ctl.localUfrag, pwd: p.ctl.localPwd } };
    const restarted = { lite: [] as unknown[], ctl: [] as unknown[] };
    p.lite.on('restarted', (s) => restarted.lite.push(s));
    p.ctl.on('restarted', (s) => restarted.ctl.push(s));
    const rtpAtLite: Buffer[] = [];
    p.lite.onRtp = (b) => rtpAtLite.push(b);

    // The controlling side restarts (its offer has new credentials): until the answer comes, consent on the old pair
    // keeps going with the old ones, and media keeps flowing.
    p.ctl.restart();
    assert.notEqual(p.ctl.localUfrag, old.ctl.ufrag);
    assert.notEqual(p.ctl.localPwd, old.ctl.pwd);
    assert.equal(p.ctl.isRestarting, true);
    const rejectedBefore = p.lite.stats.stunRejected;
    p.ctlClock.advance(6_000);
    await p.settle();
    assert.equal(p.lite.stats.stunRejected, rejectedBefore, 'consent with the old credentials is accepted');
    assert.equal(p.ctl.state, 'connected');
    p.ctl.send(Buffer.from([0x80, 0x60, 0, 1, 0, 0, 0, 1, 1, 2, 3, 4]));
    await waitFor(() => rtpAtLite.length === 1, { ...polling, label: 'media on the old pair during the restart' });

    // The lite side answers with new credentials of its own and learns the controlling side's new ones.
    p.lite.restart();
    assert.notEqual(p.lite.localUfrag, old.lite.ufrag);
    p.lite.setRemoteCredentials(p.ctl.localUfrag, p.ctl.localPwd);
    const checksBefore = p.ctl.stats.checksSent;
    p.ctl.setRemoteCredentials(p.lite.localUfrag, p.lite.localPwd);
    await waitFor(() => restarted.ctl.length === 1 && restarted.lite.length === 1, { ...polling, label: 'restart completed on both sides' });
    assert.ok(p.ctl.stats.checksSent > checksBefore, 'checks were sent with the new credentials');
    assert.deepEqual(restarted.lite, [{ address: '127.0.0.1', port: p.ctlMux.port }]);
    assert.deepEqual(restarted.ctl, [{ address: '127.0.0.1', port: p.liteMux.port }]);
    assert.equal(p.lite.isRestarting, false);
    assert.equal(p.ctl.isRestarting, false);
    assert.equal(p.lite.state, 'connected');
    assert.equal(p.ctl.state, 'connected');
    assert.equal(p.lite.restarts, 1);
    assert.equal(p.ctl.restarts, 1);
    // Only the new ufrag is registered now: the old one is dropped by the mux.
    assert.equal(p.liteMux.registrationCount, 2, 'one ufrag and one bound remote');

    // Consent goes on with the new credentials for a minute.
    for (let i = 0; i < 12; i++) {
      p.ctlClock.advance(5_000);
      p.liteClock.advance(5_000);
      await p.settle();
    }
    assert.equal(p.lite.state, 'connected');
    assert.equal(p.ctl.state, 'connected');
    p.ctl.send(Buffer.from([0x80, 0x60, 0, 2, 0, 0, 0, 1, 1, 2, 3, 4]));
    await waitFor(() => rtpAtLite.length === 2, { ...polling, label: 'media after the restart' });
  } finally {
    await p.cleanup();
  }
});

test('ICE restart on the lite agent: a check with the old credentials is refused once the new pair is nominated', async () => {
  const mux = await UdpMux.bind({ port: 0, address: '127.0.0.1' });
  const clock = new ManualClock();
  const lite = new IceTransport({ mux, role: 'controlled-lite', advertisedAddress: '127.0.0.1', clock });
  const peer: Socket = createSocket('udp4');
  await new Promise<void>((r) => peer.bind(0, '127.0.0.1', () => r()));
  const inbox: Buffer[] = [];
  peer.on('message', (m) => inbox.push(m));
  const request = (username: string, pwd: string, txByte: number, useCandidate: boolean): Buffer =>
    buildBindingRequest({
      transactionId: Buffer.alloc(12, txByte), username, key: shortTermKey(pwd), priority: 1862270975,
      tieBreaker: Buffer.alloc(8, 9), isControlling: true, useCandidate,
    });
  const classOf = (i: number): number | undefined => {
    const r = parseStunMessage(inbox[i]!);
    return r.ok ? r.message.cls : undefined;
  };
  try {
    lite.start();
    lite.setRemoteCredentials('peer1', 'p'.repeat(22));
    const oldUfrag = lite.localUfrag;
    const oldPwd = lite.localPwd;
    peer.send(request(`${oldUfrag}:peer1`, oldPwd, 1, true), mux.port, '127.0.0.1');
    await waitFor(() => inbox.length === 1 && lite.state === 'connected', { ...polling, label: 'nominated' });

    // The remote restarts: new remote credentials, and we answer with new local ones.
    lite.restart();
    lite.setRemoteCredentials('peer2', 'q'.repeat(22));
    assert.notEqual(lite.localUfrag, oldUfrag);
    // The old username is still accepted (consent on the old pair) ...
    peer.send(request(`${oldUfrag}:peer1`, oldPwd, 2, false), mux.port, '127.0.0.1');
    await waitFor(() => inbox.length === 2, { ...polling, label: 'old credentials during the restart' });
    assert.equal(classOf(1), StunClass.success);
    const oldOk = parseStunMessage(inbox[1]!);
    assert.ok(oldOk.ok);
    assert.equal(verifyMessageIntegrity(oldOk.message, shortTermKey(oldPwd)), true, 'answered with the old password');
    // ... the new username with the old remote ufrag is not.
    peer.send(request(`${lite.localUfrag}:peer1`, lite.localPwd, 3, false), mux.port, '127.0.0.1');
    await waitFor(() => inbox.length === 3, { ...polling, label: 'mixed credentials refused' });
    assert.equal(classOf(2), StunClass.error);
    // The new pair is nominated with the new credentials: the restart completes.
    const restarted: unknown[] = [];
    lite.on('restarted', (s) => restarted.push(s));
    peer.send(request(`${lite.localUfrag}:peer2`, lite.localPwd, 4, true), mux.port, '127.0.0.1');
    await waitFor(() => inbox.length === 4 && restarted.length === 1, { ...polling, label: 'restart nominated' });
    assert.equal(classOf(3), StunClass.success);
    assert.equal(lite.isRestarting, false);
    // From now on the old credentials get nowhere: the mux no longer knows the old ufrag, and the transport refuses
    // the old username even from the bound remote.
    const rejected = lite.stats.stunRejected;
    peer.send(request(`${oldUfrag}:peer1`, oldPwd, 5, false), mux.port, '127.0.0.1');
    await waitFor(() => inbox.length === 5, { ...polling, label: 'old credentials refused' });
    assert.equal(classOf(4), StunClass.error);
    assert.equal(lite.stats.stunRejected, rejected + 1);
  } finally {
    lite.close();
    peer.close();
    await mux.close();
  }
});

test('ICE restart revives a lite agent whose consent expired', async () => {
  const p = await makePair();
  try {
    await connect(p, { giveLiteCredentials: true });
    p.liteClock.advance(31_000);
    assert.equal(p.lite.state, 'failed');
    p.lite.restart();
    p.ctl.restart();
    p.lite.setRemoteCredentials(p.ctl.localUfrag, p.ctl.localPwd);
    p.ctl.setRemoteCredentials(p.lite.localUfrag, p.lite.localPwd);
    await waitFor(() => p.lite.state === 'connected' && p.ctl.state === 'connected', { ...polling, label: 'connected again' });
    assert.deepEqual(p.lite.selected, { address: '127.0.0.1', port: p.ctlMux.port });
  } finally {
    await p.cleanup();
  }
});

test('ICE restart before any remote credentials: only new local credentials, the old ufrag unregistered', async () => {
  const mux = await UdpMux.bind({ port: 0, address: '127.0.0.1' });
  const lite = new IceTransport({ mux, role: 'controlled-lite', advertisedAddress: '127.0.0.1', clock: new ManualClock() });
  try {
    lite.start();
    const old = lite.localUfrag;
    lite.restart();
    assert.notEqual(lite.localUfrag, old);
    assert.equal(lite.isRestarting, false, 'nothing to carry over');
    assert.equal(mux.registrationCount, 1, 'only the new ufrag');
  } finally {
    lite.close();
    await mux.close();
  }
});

test('address change on the lite agent: checks from a new address do not prove consent for the old pair; its nomination moves the pair', async () => {
  const mux = await UdpMux.bind({ port: 0, address: '127.0.0.1' });
  const clock = new ManualClock();
  const lite = new IceTransport({ mux, role: 'controlled-lite', advertisedAddress: '127.0.0.1', clock });
  const states: IceState[] = [];
  lite.on('stateChange', (s) => states.push(s));
  // The client's sockets before and after the change (another port on loopback stands for another address).
  const before: Socket = createSocket('udp4');
  const after: Socket = createSocket('udp4');
  await Promise.all([before, after].map((s) => new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()))));
  const inbox = { before: [] as Buffer[], after: [] as Buffer[] };
  before.on('message', (m) => inbox.before.push(m));
  after.on('message', (m) => inbox.after.push(m));
  let tx = 0;
  const check = (from: Socket, useCandidate: boolean): void => {
    const req = buildBindingRequest({
      transactionId: Buffer.alloc(12, ++tx), username: `${lite.localUfrag}:client`, key: shortTermKey(lite.localPwd),
      priority: 1862270975, tieBreaker: Buffer.alloc(8, 9), isControlling: true, useCandidate,
    });
    from.send(req, mux.port, '127.0.0.1');
  };
  const answered = (box: Buffer[], n: number, label: string) => waitFor(() => box.length >= n, { ...polling, label });
  try {
    lite.start();
    lite.setRemoteCredentials('client', 'c'.repeat(22));
    check(before, true);
    await answered(inbox.before, 1, 'nomination answered');
    assert.deepEqual(lite.selected, { address: '127.0.0.1', port: before.address().port });
    assert.equal(lite.state, 'connected');

    // The old address is gone: the client checks only from the new one, without nominating yet.
    for (let i = 0; i < 8; i++) {
      check(after, false);
      await answered(inbox.after, i + 1, `check ${i + 1} from the new address answered`);
      clock.advance(1_000);
    }
    assert.equal(lite.state, 'disconnected', 'the selected pair lost consent although the new address checks');
    assert.deepEqual(lite.selected, { address: '127.0.0.1', port: before.address().port }, 'no switch without a nomination');

    // The client nominates the new pair: selected, connected, media goes there.
    check(after, true);
    await answered(inbox.after, 9, 'nomination from the new address answered');
    assert.deepEqual(lite.selected, { address: '127.0.0.1', port: after.address().port });
    assert.equal(lite.state, 'connected');
    lite.send(Buffer.from([22, 0xfe, 0xfd, 1]));
    await answered(inbox.after, 10, 'media to the new address');
    assert.deepEqual([...inbox.after[9]!], [22, 0xfe, 0xfd, 1]);
    assert.equal(inbox.before.length, 1, 'nothing more to the old address');

    // Consent on the new pair keeps it up; a non-nominating check from the old address does not take it back.
    for (let i = 0; i < 40; i++) {
      check(after, false);
      await answered(inbox.after, 11 + i, 'consent on the new pair');
      clock.advance(1_000);
    }
    check(before, false);
    await answered(inbox.before, 2, 'old address answered');
    assert.equal(lite.state, 'connected');
    assert.deepEqual(lite.selected, { address: '127.0.0.1', port: after.address().port });
    assert.deepEqual(states, ['connected', 'disconnected', 'connected']);

    // Nobody checks any more: disconnected, then failed at the consent timeout (30 s).
    clock.advance(ICE_DEFAULTS.consentTimeoutMs);
    assert.equal(lite.state, 'failed');
  } finally {
    lite.close();
    before.close();
    after.close();
    await mux.close();
  }
});
