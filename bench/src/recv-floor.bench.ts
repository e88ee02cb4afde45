// The floor of a Node UDP receiver (the load tester's subscribers and any Node client): CPU per datagram that
// node:dgram costs with a 'message' handler that does nothing, so the load tester's own cost per packet can be read
// against it. A child process sends 1,100-byte datagrams round-robin to S loopback sockets of this process at R
// packets/s; this process's CPU over the window (user + sys, process.cpuUsage) is divided by what it received.
// Run: npm run bench -- recv-floor [--sockets 100] [--rate 20000] [--seconds 5] [--runs 3]
import dgram from 'node:dgram';
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
  const rows: number[][] = [];
  for (let run = 0; run < runs; run++) rows.push(await measure(sockets, rate, seconds));
  const col = (i: number): string => median(rows.map((r) => r[i]!)).toFixed(2);
  console.log(`\nnode:dgram receive floor: ${sockets} sockets, ${rate} pkt/s offered, 1,100-byte datagrams, median of ${runs} runs of ${seconds} s\n`);
  console.log(formatTable([
    ['received pkt/s', 'CPU µs / datagram', 'user', 'sys'],
    [col(0), col(1), col(2), col(3)],
  ]));
}

async function measure(count: number, rate: number, seconds: number): Promise<number[]> {
  const socks: dgram.Socket[] = [];
  let received = 0;
  for (let i = 0; i < count; i++) {
    const s = dgram.createSocket('udp4');
    s.on('message', () => { received++; });
    await new Promise<void>((resolve) => s.bind(0, '127.0.0.1', resolve));
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
  for (const s of socks) s.close();
  return [got / wallSec, (cpu.user + cpu.system) / got, cpu.user / got, cpu.system / got];
}
