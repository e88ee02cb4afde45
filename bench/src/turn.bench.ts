// The embedded TURN server's relay cost (docs/turn.md): the server in a child process, a client and a peer in this
// one, on loopback; one allocation with a channel bound; 1200-byte datagrams at fixed rates through the relay, each
// way. Prints delivered packets and the server process's CPU per relayed packet. Not in the default list:
// `npm run bench -- turn` (about 15 s).
import { fork } from 'node:child_process';
import { createSocket } from 'node:dgram';
import type { Socket } from 'node:dgram';
import { fileURLToPath } from 'node:url';
import { systemClock } from '@atrium/webrtc';
import {
  TurnRestCredentials, TurnServer, TurnUdpListener, UdpRelaySocketFactory, encodeChannelData, parseChannelData,
} from '@atrium/webrtc/turn/index.js';
import { TurnTestClient, readTurnAnswer } from '@atrium/webrtc/testing/turn-test-client.js';
import { request } from './bench-util.js';

const SECRET = Buffer.alloc(32, 1);
const RATES_PPS = [2_000, 5_000, 10_000, 20_000];
const SECONDS = 2;
const PAYLOAD = Buffer.alloc(1200, 0xab);

async function serve(): Promise<void> {
  const creds = new TurnRestCredentials(SECRET);
  const server = new TurnServer({
    realm: 'bench', clock: systemClock, relays: new UdpRelaySocketFactory({ bindAddress: '127.0.0.1', portMin: 0, portMax: 0 }),
    passwordOf: (u) => {
      const c = creds.check(u, Date.now() / 1000);
      return c.ok ? c.password : undefined;
    },
  });
  const listener = await TurnUdpListener.listen(server, { address: '127.0.0.1', port: 0 });
  process.on('message', (m: { op: string }) => {
    if (m.op === 'cpu') process.send!({ op: 'cpu', usage: process.cpuUsage() });
    if (m.op === 'stop') {
      server.close();
      void listener.close().then(() => process.exit(0));
    }
  });
  process.send!({ op: 'ready', port: listener.port });
}

async function bound(): Promise<Socket> {
  const s = createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
  s.setRecvBufferSize(4 * 1024 * 1024);
  return s;
}

async function main(): Promise<void> {
  const child = fork(fileURLToPath(import.meta.url), ['server'], { execArgv: ['--import', 'tsx'] });
  const ready = await new Promise<{ port: number }>((r) => child.once('message', (m) => r(m as { port: number })));
  const cpu = async (): Promise<number> => {
    const u = (await request(child, { op: 'cpu' }, 'cpu'))['usage'] as NodeJS.CpuUsage;
    return u.user + u.system;
  };
  const client = await bound();
  const peer = await bound();
  const c = new TurnRestCredentials(SECRET).issue('bench', Date.now() / 1000, 600);
  const tc = new TurnTestClient(c.username, c.password);
  const ask = (m: Buffer) => new Promise<ReturnType<typeof readTurnAnswer>>((resolve) => {
    client.once('message', (x) => resolve(readTurnAnswer(x)));
    client.send(m, ready.port, '127.0.0.1');
  });
  tc.learn(await ask(tc.allocate([], { authenticated: false })));
  const relayPort = (await ask(tc.allocate())).relayed!.port;
  await ask(tc.channelBind(0x4000, { address: '127.0.0.1', port: peer.address().port }));

  console.log('direction                     rate pkt/s  delivered   server CPU us/pkt  server CPU %');
  const run = async (label: string, from: Socket, to: Socket, message: Buffer, port: number, ratePps: number): Promise<void> => {
    let received = 0;
    const onMessage = (m: Buffer): void => {
      if (to !== client || parseChannelData(m) !== undefined) received++;
    };
    to.on('message', onMessage);
    const total = ratePps * SECONDS;
    const cpu0 = await cpu();
    const t0 = performance.now();
    let sent = 0;
    while (sent < total) {
      // Send what the rate allows by now, then yield a millisecond.
      const due = Math.min(total, Math.floor(((performance.now() - t0) / 1000) * ratePps));
      for (; sent < due; sent++) from.send(message, port, '127.0.0.1');
      await new Promise((r) => setTimeout(r, 1));
    }
    const deadline = Date.now() + 1000;
    while (received < total && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    const seconds = (performance.now() - t0) / 1000;
    const cpuUs = (await cpu()) - cpu0;
    to.off('message', onMessage);
    console.log(`${label.padEnd(30)}${String(ratePps).padStart(10)}  ${((received / total) * 100).toFixed(1).padStart(8)}%  ` +
      `${(cpuUs / Math.max(1, received)).toFixed(1).padStart(17)}  ${((cpuUs / 1e6 / seconds) * 100).toFixed(0).padStart(11)}%`);
  };
  for (const rate of RATES_PPS) {
    await run('client -> peer (ChannelData)', client, peer, encodeChannelData(0x4000, PAYLOAD, { padded: false }), ready.port, rate);
    await run('peer -> client (ChannelData)', peer, client, PAYLOAD, relayPort, rate);
  }
  client.close();
  peer.close();
  await new Promise<void>((r) => {
    child.once('exit', () => r());
    child.send({ op: 'stop' });
  });
}

await (process.argv[2] === 'server' ? serve() : main());
