// The floor of a Node UDP receiver (the load tester's subscribers and any Node client): CPU per datagram that
// node:dgram costs with a 'message' handler that does nothing, so the load tester's own cost per packet can be read
// against it. A child process sends 1,100-byte datagrams round-robin to S loopback sockets of this process at R
// packets/s; this process's CPU over the window (user + sys, process.cpuUsage) is divided by what it received.
// `--path both` (default) alternates runs of node:dgram's 'message' and of the native recvmmsg reader (udp-recv.ts,
// one JavaScript call per batch), so the two are measured under the same machine load.
// Run: npm run bench -- recv-floor [--sockets 100] [--rate 20000] [--seconds 5] [--runs 3] [--path dgram|native|both]
import dgram from 'node:dgram';
import { NativeDatagramReader, loadNativeUdpRecv } from '@atrium/webrtc/udp-recv.js';
import type { NativeUdpRecv } from '@atrium/webrtc/udp-recv.js';
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { formatTable, median, numberArgument } from './bench-util.js';

if (process.argv[2] === '--sender') {
  // Child: send to the ports given, in 5 ms ticks, until killed.
  const ports = JSON.parse(process.argv[3]!) as number[];
  const rate = Number(process.argv[4]);
  const socket = dgram.createSocket('udp4');
  const payload = Buffer.alloc(1100, 0x5a);
  let i = 0;
  let due = 0;
  const start = performance.now();
  setInterval(() => {
    const target = Math.floor(((performance.now() - start) / 1000) * rate);
    for (; due < target; due++) socket.send(payload, ports[i++ % ports.length]!, '127.0.0.1');
  }, 5);
} else {
  const sockets = numberArgument('sockets', 100);
  const rate = numberArgument('rate', 20_000);
  const seconds = numberArgument('seconds', 5);
  const runs = numberArgument('runs', 3);
  const pathArg = process.argv.find((a, i) => process.argv[i - 1] === '--path') ?? 'both';
  if (pathArg !== 'dgram' && pathArg !== 'native' && pathArg !== 'both') throw new Error('--path: dgram, native or both');
  const native = loadNativeUdpRecv().native;
  if (pathArg !== 'dgram' && native === null) throw new Error(`native receive unavailable: ${loadNativeUdpRecv().reason}`);
  const paths = pathArg === 'both' ? ['dgram', 'native'] as const : [pathArg] as const;
  const rows = new Map<string, number[][]>(paths.map((p) => [p, []]));
  for (let run = 0; run < runs; run++) {
    for (const path of paths) rows.get(path)!.push(await measure(sockets, rate, seconds, path === 'native' ? native : null));
  }
  console.log(`\nUDP receive floor: ${sockets} sockets, ${rate} pkt/s offered, 1,100-byte datagrams, median of ${runs} runs of ${seconds} s\n`);
  const table = [['path', 'received pkt/s', 'CPU µs / datagram', 'user', 'sys']];
  for (const [path, r] of rows) {
    const col = (i: number): string => median(r.map((x) => x[i]!)).toFixed(2);
    table.push([path === 'dgram' ? "node:dgram 'message'" : 'recvmmsg (native)', col(0), col(1), col(2), col(3)]);
  }
  console.log(formatTable(table));
}

/** `native`: read with the recvmmsg reader (each datagram still copied into a Buffer of its own, as UdpMux gets it). */
async function measure(count: number, rate: number, seconds: number, native: NativeUdpRecv | null): Promise<number[]> {
  const socks: dgram.Socket[] = [];
  const readers: NativeDatagramReader[] = [];
  let received = 0;
  for (let i = 0; i < count; i++) {
    const s = dgram.createSocket('udp4');
    s.on('message', () => { received++; });
    await new Promise<void>((resolve) => s.bind(0, '127.0.0.1', resolve));
    if (native !== null) {
      const reader = NativeDatagramReader.start(s, native, () => { received++; }, () => {});
      if (typeof reader === 'string') throw new Error(reader);
      readers.push(reader);
    }
    socks.push(s);
  }
  const ports = socks.map((s) => s.address().port);
  const child = fork(fileURLToPath(import.meta.url), ['--sender', JSON.stringify(ports), String(rate)], { execArgv: ['--import', 'tsx'] });
  await new Promise((resolve) => setTimeout(resolve, 1000));
  const cpu0 = process.cpuUsage();
  const got0 = received;
  const t0 = performance.now();
  await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
  const cpu = process.cpuUsage(cpu0);
  const got = received - got0;
  const wallSec = (performance.now() - t0) / 1000;
  child.kill();
  for (const r of readers) r.stop();
  for (const s of socks) s.close();
  return [got / wallSec, (cpu.user + cpu.system) / got, cpu.user / got, cpu.system / got];
}
