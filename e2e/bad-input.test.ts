// Bad input never takes the server down: garbage signalling frames end only that participant (with a
// LeaveRequest), garbage handshakes get 4xx, and garbage UDP datagrams are dropped. Runs against the default
// (real WebRTC) media factory.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { connect } from 'node:net';
import { randomBytes } from 'node:crypto';
import { WebSocket } from 'ws';
import { SignalRequest, SignalResponse, JoinResponse, LeaveRequest, LeaveRequest_Action, ParticipantInfo_State } from '@livekit/protocol';
import { startAtrium } from './helpers/server.js';
import type { AtriumUnderTest } from './helpers/server.js';
import { TestSignalClient } from '../packages/server/src/signal/test-signal-client.js';
import type { Msg } from '../packages/server/src/signal/test-signal-client.js';

let server: AtriumUnderTest;
let survivor: TestSignalClient;

before(async () => {
  server = await startAtrium();
  survivor = await TestSignalClient.connect(server.url, await server.token({ identity: 'survivor', room: 'bad' }));
  await survivor.waitFor((m) => m.case === 'join');
});
after(async () => {
  survivor?.close();
  await server?.close();
});

async function survivorStillServed(): Promise<void> {
  const from = survivor.messages.length;
  survivor.send({ case: 'ping', value: BigInt(Date.now()) });
  await survivor.waitFor((m) => m.case === 'pong', { from });
  assert.equal(survivor.closed, false);
}

/** Random bytes that are certainly not a SignalRequest. */
function undecodableBytes(): Uint8Array {
  for (;;) {
    const b = randomBytes(1 + Math.floor(Math.random() * 200));
    try {
      SignalRequest.fromBinary(b);
    } catch {
      return b;
    }
  }
}

const disconnected = (identity: string) => (m: Msg): boolean =>
  m.case === 'update' && m.value.participants.some((p) => p.identity === identity && p.state === ParticipantInfo_State.DISCONNECTED);

test('garbage signalling frames: that participant gets a LeaveRequest and is closed; others keep going', async () => {
  const frames: [string, (ws: WebSocket) => void][] = [
    ['random bytes', (ws) => ws.send(undecodableBytes())],
    ['a text frame', (ws) => ws.send('{"ping": 1}')],
    ['a SignalResponse instead of a request', (ws) => ws.send(new SignalResponse({ message: { case: 'join', value: new JoinResponse({ serverVersion: 'x' }) } }).toBinary())],
  ];
  for (const [i, [what, sendBad]] of frames.entries()) {
    const identity = `victim-${i}`;
    const victim = await TestSignalClient.connect(server.url, await server.token({ identity, room: 'bad' }));
    await victim.waitFor((m) => m.case === 'join');
    await survivor.waitFor((m) => m.case === 'update' && m.value.participants.some((p) => p.identity === identity));
    sendBad(victim.ws);
    const leave = (await victim.waitFor((m) => m.case === 'leave')).value as LeaveRequest;
    assert.equal(leave.action, LeaveRequest_Action.DISCONNECT, what);
    await victim.waitClosed();
    await survivor.waitFor(disconnected(identity));
    await survivorStillServed();
  }
});

test('garbage handshakes get 4xx and the server keeps serving', async () => {
  const token = await server.token({ identity: 'hs', room: 'bad' });
  const paths = [
    `/rtc?access_token=${token}&protocol=abc`,
    `/rtc?access_token=%zz%%&auto_subscribe=%ff`,
    `/rtc?%00%01=%02&&&==&protocol=`,
    `/rtc/nothing?access_token=${token}`,
    `/${'x'.repeat(5000)}`,
  ];
  for (const path of paths) {
    const ws = new WebSocket(`${server.url}${path}`);
    const status = await new Promise<number>((resolve) => {
      ws.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
      ws.once('open', () => resolve(101));
      ws.once('error', () => resolve(-1));
    });
    assert.ok(status >= 400 && status < 500, `${path.slice(0, 60)} -> ${status}`);
  }
  // Raw garbage on the HTTP port.
  await new Promise<void>((resolve) => {
    const sock = connect(server.httpPort, '127.0.0.1', () => sock.write(randomBytes(512)));
    sock.on('data', () => {});
    sock.on('error', () => resolve());
    sock.on('close', () => resolve());
  });
  await survivorStillServed();
});

// Needs the real media factory (UDP mux): garbage datagrams of every first-byte class are dropped.
test('garbage UDP datagrams are dropped; the server keeps serving old and new participants', async () => {
  const udp = createSocket('udp4');
  await new Promise<void>((resolve) => udp.bind(0, '127.0.0.1', () => resolve()));
  const send = (b: Uint8Array): Promise<void> =>
    new Promise((resolve) => udp.send(b, server.udpPort, '127.0.0.1', () => resolve()));
  try {
    // RFC 7983 classes: STUN (0-3), DTLS (20-63), RTP/RTCP (128-191), plus others and tiny/empty packets.
    const firstBytes = [0, 1, 2, 3, 4, 19, 20, 22, 63, 64, 127, 128, 144, 200, 255];
    for (const first of firstBytes) {
      for (const size of [1, 2, 12, 20, 100, 1200]) {
        const b = randomBytes(size);
        b[0] = first;
        await send(b);
      }
    }
    // A STUN binding request header with a bogus length and magic cookie.
    await send(Buffer.from('000100ff2112a442000000000000000000000000', 'hex'));
    await send(new Uint8Array(0));
    await survivorStillServed();
    const late = await TestSignalClient.connect(server.url, await server.token({ identity: 'late', room: 'bad' }));
    await late.waitFor((m) => m.case === 'join');
    await late.waitFor((m) => m.case === 'offer');
    late.close();
  } finally {
    udp.close();
  }
});

// ICE-TCP (docs/ice-tcp.md): whatever a TCP client sends, only its own connection is closed.
test('garbage on the ICE-TCP ports closes those connections only; the server keeps serving', async () => {
  const tcpPorts = server.server.tcpPorts;
  assert.ok(tcpPorts.length > 0, 'ICE-TCP listeners (ephemeral with an ephemeral UDP port)');
  const frame = (b: Uint8Array): Buffer => Buffer.concat([Buffer.from([b.length >> 8, b.length & 0xff]), b]);
  /** Sends `bytes` and resolves with whether the server closed the connection within 2 s. */
  const sendAndSeeClosed = (port: number, bytes: Uint8Array): Promise<boolean> =>
    new Promise((resolve) => {
      const sock = connect(port, '127.0.0.1', () => sock.write(bytes));
      const timer = setTimeout(() => {
        sock.destroy();
        resolve(false);
      }, 2000);
      sock.on('data', () => {});
      sock.on('error', () => {});
      sock.on('close', () => {
        clearTimeout(timer);
        resolve(true);
      });
    });
  const stunUnknownUfrag = Buffer.from('000100002112a442' + '00'.repeat(12), 'hex');
  for (const port of tcpPorts) {
    const bad: [string, Uint8Array][] = [
      // (Unframed random bytes would be flaky: a random length prefix that fits under the frame cap is a half frame,
      // held until the 10 s check time-out like the one below, not closed at once.)
      ['a framed random payload', frame(randomBytes(698))],
      ['an HTTP request', Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n')],
      ['an oversize length prefix', Buffer.from([0xff, 0xff, 1, 2, 3])],
      ['a framed RTP packet first', frame(Buffer.from([0x80, 0x60, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1]))],
      ['a framed DTLS record first', frame(Buffer.from([22, 0xfe, 0xfd, 0, 0]))],
      ['a Binding request without USERNAME', frame(stunUnknownUfrag)],
    ];
    for (const [what, bytes] of bad) assert.equal(await sendAndSeeClosed(port, bytes), true, `${what} on ${port}: closed`);
    // Half a frame and silence: held (bounded) until the 10 s check time-out; the server meanwhile serves others.
    const half = connect(port, '127.0.0.1', () => half.write(Buffer.from([0x00, 0x40, 0x00])));
    half.on('error', () => {});
    await survivorStillServed();
    half.destroy();
  }
  const late = await TestSignalClient.connect(server.url, await server.token({ identity: 'late-tcp', room: 'bad' }));
  await late.waitFor((m) => m.case === 'join');
  const offer = await late.waitFor((m) => m.case === 'offer');
  assert.ok(offer.case === 'offer' && / tcp \d+ 127\.0\.0\.1 \d+ typ host tcptype passive/.test(offer.value.sdp), 'new sessions still offer the TCP candidate');
  late.close();
});
