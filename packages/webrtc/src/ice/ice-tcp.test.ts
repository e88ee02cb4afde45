// ICE-TCP (RFC 6544) on the lite agent: the passive candidate, and a hand-made TCP peer whose Binding requests are
// answered on its connection, whose nomination selects the TCP pair, and over which DTLS/SRTP then flow.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import type { Socket } from 'node:net';
import { createSocket } from 'node:dgram';
import { ManualClock } from '../clock.js';
import { UdpMux } from '../udp-mux.js';
import { TcpMux, isTcpMuxConnection } from '../tcp/tcp-mux.js';
import { Rfc4571Deframer, frameRfc4571 } from '../tcp/rfc4571-framer.js';
import { IceTransport } from './ice-transport.js';
import type { IceState } from './ice-transport.js';
import { buildBindingRequest } from './ice-binding.js';
import { parseIceCandidate } from './ice-candidate.js';
import { StunAttr, StunClass } from '../stun/stun-constants.js';
import { getStunAttribute, parseStunMessage, shortTermKey, verifyMessageIntegrity } from '../stun/stun-message.js';
import { decodeErrorCode, decodeXorMappedAddress } from '../stun/stun-attributes.js';
import { waitFor } from '../testing/wait-for.js';

const polling = { timeoutMs: 3000, intervalMs: 2 } as const;

function request(username: string, pwd: string, txByte: number, useCandidate: boolean): Buffer {
  return buildBindingRequest({
    transactionId: Buffer.alloc(12, txByte), username, key: shortTermKey(pwd), priority: 1862270975,
    tieBreaker: Buffer.alloc(8, 9), isControlling: true, useCandidate,
  });
}

async function dial(port: number): Promise<{ socket: Socket; inbox: Buffer[]; isClosed: () => boolean }> {
  const socket = connect({ port, host: '127.0.0.1' });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  const inbox: Buffer[] = [];
  const d = new Rfc4571Deframer();
  let closed = false;
  socket.on('data', (c: Buffer) => d.push(c, (f) => inbox.push(Buffer.from(f))));
  socket.on('error', () => {});
  socket.on('close', () => (closed = true));
  return { socket, inbox, isClosed: () => closed };
}

async function setup(): Promise<{ udp: UdpMux; tcp: TcpMux; lite: IceTransport; states: IceState[]; done: () => Promise<void> }> {
  const udp = await UdpMux.bind({ port: 0, address: '127.0.0.1' });
  // As in the server: new TCP connections are routed through the UdpMux's ufrag registry.
  const resolveUfrag = (ufrag: string) => {
    const c = udp.connectionForUfrag(ufrag);
    return isTcpMuxConnection(c) ? c : undefined;
  };
  const tcp = await TcpMux.listen({ port: 0, address: '127.0.0.1', resolveUfrag });
  const lite = new IceTransport({ mux: udp, tcpMux: tcp, role: 'controlled-lite', advertisedAddress: '127.0.0.1', clock: new ManualClock() });
  const states: IceState[] = [];
  lite.on('stateChange', (s) => states.push(s));
  lite.start();
  return { udp, tcp, lite, states, done: async () => {
    lite.close();
    await Promise.all([udp.close(), tcp.close()]);
  } };
}

test('local candidates: UDP host, then a passive TCP host candidate on the listener with a lower priority', async () => {
  const { udp, tcp, lite, done } = await setup();
  try {
    const [u, t, ...rest] = lite.localCandidates();
    assert.equal(rest.length, 0);
    assert.match(t!, new RegExp(`^candidate:2 1 tcp \\d+ 127\\.0\\.0\\.1 ${tcp.port} typ host tcptype passive$`));
    const uc = parseIceCandidate(u!)!;
    const tc = parseIceCandidate(t!)!;
    assert.equal(uc.port, udp.port);
    assert.equal(tc.tcpType, 'passive');
    assert.equal(tc.transport, 'tcp');
    assert.ok(tc.priority < uc.priority, `${tc.priority} < ${uc.priority}`);
    // RFC 6544 4.2: host type preference 126, local preference 4 * 2^13 + 8191, component 1.
    assert.equal(tc.priority, 126 * 2 ** 24 + (4 * 8192 + 8191) * 256 + 255);
    // A controlling agent (our client side) offers no TCP candidate.
    const ctl = new IceTransport({ mux: udp, tcpMux: tcp, role: 'controlling', advertisedAddress: '127.0.0.1' });
    assert.equal(ctl.localCandidates().length, 1);
    ctl.close();
  } finally {
    await done();
  }
});

test('candidateTransport tcp (force-tcp): only the passive TCP candidate; without a TCP listener, UDP stays', async () => {
  const udp = await UdpMux.bind({ port: 0, address: '127.0.0.1' });
  const tcp = await TcpMux.listen({ port: 0, address: '127.0.0.1' });
  try {
    const onlyTcp = new IceTransport({ mux: udp, tcpMux: tcp, candidateTransport: 'tcp', role: 'controlled-lite', advertisedAddress: '127.0.0.1' });
    assert.deepEqual(onlyTcp.localCandidates().map((c) => parseIceCandidate(c)?.transport), ['tcp']);
    const noListener = new IceTransport({ mux: udp, candidateTransport: 'tcp', role: 'controlled-lite', advertisedAddress: '127.0.0.1' });
    assert.deepEqual(noListener.localCandidates().map((c) => parseIceCandidate(c)?.transport), ['udp']);
    onlyTcp.close();
    noListener.close();
  } finally {
    await Promise.all([udp.close(), tcp.close()]);
  }
});

test('a Binding request over TCP is answered on the connection; nomination selects the TCP pair; DTLS and SRTP flow', async () => {
  const { tcp, lite, states, done } = await setup();
  const dtls: Buffer[] = [];
  const rtp: Buffer[] = [];
  lite.onDtls = (b) => dtls.push(b);
  lite.onRtp = (b) => rtp.push(b);
  const peer = await dial(tcp.port);
  try {
    // Wrong password: a 401 on the connection, and the connection stays unvalidated (media from it is dropped).
    peer.socket.write(frameRfc4571(request(`${lite.localUfrag}:peer`, 'wrong-password-wrong-pw', 1, true)));
    await waitFor(() => peer.inbox.length === 1, { ...polling, label: '401 over TCP' });
    const e = parseStunMessage(peer.inbox[0]!);
    assert.ok(e.ok && e.message.cls === StunClass.error);
    assert.equal(decodeErrorCode(getStunAttribute(e.message, StunAttr.errorCode)!)?.code, 401);
    assert.equal(lite.selected, undefined);

    // A valid check without USE-CANDIDATE: success with the connection's address, nothing selected yet.
    peer.socket.write(frameRfc4571(request(`${lite.localUfrag}:peer`, lite.localPwd, 2, false)));
    await waitFor(() => peer.inbox.length === 2, { ...polling, label: 'success over TCP' });
    const r = parseStunMessage(peer.inbox[1]!);
    assert.ok(r.ok && r.message.cls === StunClass.success);
    assert.equal(verifyMessageIntegrity(r.message, shortTermKey(lite.localPwd)), true);
    assert.deepEqual(decodeXorMappedAddress(getStunAttribute(r.message, StunAttr.xorMappedAddress)!, r.message.transactionId), {
      family: 4, address: '127.0.0.1', port: peer.socket.localPort,
    });
    assert.equal(lite.state, 'checking');
    assert.equal(lite.selectedTransport, undefined);

    // Nomination selects the TCP pair.
    peer.socket.write(frameRfc4571(request(`${lite.localUfrag}:peer`, lite.localPwd, 3, true)));
    await waitFor(() => lite.state === 'connected', { ...polling, label: 'connected over TCP' });
    assert.equal(lite.selectedTransport, 'tcp');
    assert.deepEqual(lite.selected, { address: '127.0.0.1', port: peer.socket.localPort });

    // DTLS and SRTP both ways over the connection, split across writes.
    const inbound = Buffer.concat([frameRfc4571(Buffer.from([22, 0xfe, 0xfd, 1])), frameRfc4571(Buffer.from([0x80, 0x60, 0, 1, 0xaa]))]);
    peer.socket.write(inbound.subarray(0, 5));
    await new Promise((res) => setTimeout(res, 10));
    peer.socket.write(inbound.subarray(5));
    await waitFor(() => dtls.length === 1 && rtp.length === 1, { ...polling, label: 'DTLS and RTP in over TCP' });
    assert.deepEqual(rtp[0], Buffer.from([0x80, 0x60, 0, 1, 0xaa]));
    lite.send(Buffer.from([22, 0xfe, 0xfd, 2]));
    lite.send(Buffer.from([0x80, 0x61]));
    await waitFor(() => peer.inbox.length === 5, { ...polling, label: 'DTLS and RTP out over TCP' });
    assert.deepEqual(peer.inbox.slice(3), [Buffer.from([22, 0xfe, 0xfd, 2]), Buffer.from([0x80, 0x61])]);

    // The peer's connection closes: the pair is gone, the agent is disconnected until the peer nominates another.
    peer.socket.destroy();
    await waitFor(() => lite.state === 'disconnected', { ...polling, label: 'disconnected when the connection closes' });
    assert.equal(lite.selected, undefined);
    assert.deepEqual(states, ['checking', 'connected', 'disconnected']);
  } finally {
    peer.socket.destroy();
    await done();
  }
});

test('UDP and TCP pairs: nominating one then the other switches the send path; UDP from the TCP address is not mistaken', async () => {
  const { udp, tcp, lite, done } = await setup();
  const dtls: Buffer[] = [];
  lite.onDtls = (b) => dtls.push(b);
  const udpPeer = createSocket('udp4');
  await new Promise<void>((r) => udpPeer.bind(0, '127.0.0.1', () => r()));
  const udpInbox: Buffer[] = [];
  udpPeer.on('message', (m) => udpInbox.push(m));
  const tcpPeer = await dial(tcp.port);
  try {
    udpPeer.send(request(`${lite.localUfrag}:peer`, lite.localPwd, 1, true), udp.port, '127.0.0.1');
    await waitFor(() => lite.selectedTransport === 'udp', { ...polling, label: 'UDP selected' });
    tcpPeer.socket.write(frameRfc4571(request(`${lite.localUfrag}:peer`, lite.localPwd, 2, true)));
    await waitFor(() => lite.selectedTransport === 'tcp', { ...polling, label: 'TCP nominated later wins' });
    lite.send(Buffer.from([23, 1]));
    await waitFor(() => tcpPeer.inbox.length === 2, { ...polling, label: 'sent over TCP' });
    assert.equal(udpInbox.length, 1, 'only the binding response went over UDP');
    // UDP DTLS from the still-validated UDP peer reaches DTLS, but does not move the selected pair off TCP.
    udpPeer.send(Buffer.from([22, 9]), udp.port, '127.0.0.1');
    await waitFor(() => dtls.length === 1, { ...polling, label: 'UDP DTLS from a validated peer' });
    assert.equal(lite.selectedTransport, 'tcp');
    // Back to UDP by nomination.
    udpPeer.send(request(`${lite.localUfrag}:peer`, lite.localPwd, 3, true), udp.port, '127.0.0.1');
    await waitFor(() => lite.selectedTransport === 'udp', { ...polling, label: 'UDP nominated again' });
    lite.send(Buffer.from([23, 2]));
    await waitFor(() => udpInbox.length === 3, { ...polling, label: 'sent over UDP' });
    // Closing the transport closes its TCP connections and leaves no registration behind.
    lite.close();
    await waitFor(() => tcpPeer.isClosed(), { ...polling, label: 'TCP closed with the transport' });
    assert.equal(tcp.registrationCount, 0);
    assert.equal(udp.registrationCount, 0);
    // The ufrag is gone from the registry: a new connection naming it is refused.
    const late = await dial(tcp.port);
    late.socket.write(frameRfc4571(request(`${lite.localUfrag}:peer`, lite.localPwd, 4, true)));
    await waitFor(() => late.isClosed(), { ...polling, label: 'a connection for a closed transport is refused' });
  } finally {
    udpPeer.close();
    tcpPeer.socket.destroy();
    await done();
  }
});
