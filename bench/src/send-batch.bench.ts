// UdpMux send paths compared: `off` (dgram.send per packet, the original path), `js` (the per-turn queue flushed with
// dgram.send) and `native` (the queue flushed with sendmmsg through the addon), to loopback receivers in a child
// process (so their reading is not in the measured process; the kernel's loopback delivery is, as in the SFU).
//
// Part 1, send cost: turns of B packets (B = --batch 1,10,50), each turn one setImmediate callback that sends B
// 1,200-byte datagrams round-robin to R receivers (--receivers 10), unpaced; CPU (user+sys) and wall µs per packet.
// Part 2, forwarding shape (--forward 10,50, 0 = skip): the child sends --rate packets/s to the mux; a connection on the
// mux sends each to F receivers (like a publisher's packet to F subscribers); CPU µs per datagram out of the measured
// process, the mean datagrams per flush, and the one-way latency from the child's send to a receiver's read
// (hrtime is CLOCK_MONOTONIC, shared by the two processes). Modes there also include native with the flush on
// process.nextTick (`native-tick`) instead of setImmediate.
// Modes and batch sizes are interleaved within each round; figures are medians over --runs rounds.
// Run: npx tsx bench/src/send-batch.bench.ts [--runs 5] [--packets 60000] [--batch 1,10,50] [--receivers 10]
//        [--modes off,js,native] [--forward 10,50] [--rate 2000] [--seconds 3] [--bytes 1200]
import { fork, type ChildProcess } from 'node:child_process';
import { createSocket, type Socket } from 'node:dgram';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { UdpMux, type MuxConnection } from '@atrium/webrtc';
import { loadNativeUdpBatch } from '@atrium/webrtc/udp-batch.js';
import { formatTable, median, numberArgument, percentile, request, stringArgument, type Reply } from './bench-util.js';

const BYTES = numberArgument('bytes', 1200);
const STAMP_AT = 4; // bytes 4..11 of every datagram: the hrtime (ns, BigInt64) of the send that started it

// ---- child: receivers and the forward driver ----------------------------------------------------------------

async function child(): Promise<void> {
  const sockets: Socket[] = [];
  let received = 0;
  let latencies: number[] = [];
  let driving: NodeJS.Timeout | undefined;
  const onMessage = (m: Buffer): void => {
    received++;
    if (m.length >= STAMP_AT + 8 && latencies.length < 200_000) {
      const sentNs = m.readBigInt64LE(STAMP_AT);
      if (sentNs > 0n) latencies.push(Number(process.hrtime.bigint() - sentNs) / 1000);
    }
  };
  const bind = async (): Promise<Socket> => {
    const s = createSocket('udp4');
    await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
    try {
      s.setRecvBufferSize(8 << 20);
    } catch {
      // the kernel's maximum applies
    }
    return s;
  };
  process.on('message', async (msg: { op: string; count?: number; port?: number; rate?: number }) => {
    if (msg.op === 'receivers') {
      for (const s of sockets) s.close();
      sockets.length = 0;
      for (let i = 0; i < (msg.count ?? 1); i++) {
        const s = await bind();
        s.on('message', onMessage);
        sockets.push(s);
      }
      process.send!({ op: 'receivers', ports: sockets.map((s) => s.address().port) });
    } else if (msg.op === 'reset') {
      received = 0;
      latencies = [];
      process.send!({ op: 'reset' });
    } else if (msg.op === 'count') {
      process.send!({ op: 'count', received, latencies });
    } else if (msg.op === 'drive') {
      // Sends `rate` packets/s to the mux in ticks of 1 ms (a few packets per tick), each stamped with its send time.
      const perMs = (msg.rate ?? 1000) / 1000;
      let due = 0;
      let seq = 0;
      const pkt = Buffer.alloc(BYTES);
      pkt[0] = 0x80;
      pkt[1] = 96;
      driving = setInterval(() => {
        due += perMs;
        const target = Math.floor(due);
        for (; seq < target; seq++) {
          pkt.writeBigInt64LE(process.hrtime.bigint(), STAMP_AT);
          driver.send(pkt, msg.port!, '127.0.0.1');
        }
      }, 1);
      process.send!({ op: 'drive' });
    } else if (msg.op === 'stop') {
      if (driving) clearInterval(driving);
      driving = undefined;
      process.send!({ op: 'stop' });
    } else if (msg.op === 'exit') {
      process.exit(0);
    }
  });
  const driver = await bind();
  process.send!({ op: 'ready', driverPort: driver.address().port });
}

// ---- parent ---------------------------------------------------------------------------------------------------

type Mode = 'off' | 'js' | 'native' | 'native-tick';

async function openMux(mode: Mode): Promise<UdpMux> {
  return UdpMux.bind({
    port: 0, address: '127.0.0.1', sendBufferBytes: 8 << 20,
    batch: mode === 'native-tick' ? 'native' : mode, batchFlush: mode === 'native-tick' ? 'tick' : 'immediate',
  });
}

const turn = (): Promise<void> => new Promise((r) => setImmediate(r));

/** Part 1: `packets` datagrams in turns of `batch`, round-robin over the receivers. */
async function sendCost(mux: UdpMux, ports: number[], batch: number, packets: number): Promise<{ cpuUs: number; sysUs: number; wallUs: number }> {
  const pool = Array.from({ length: 64 }, (_, i) => Buffer.alloc(BYTES, i)); // not modified after send: may be re-sent
  let k = 0;
  const turns = Math.ceil(packets / batch);
  await turn();
  const cpu0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  for (let t = 0; t < turns; t++) {
    for (let b = 0; b < batch; b++, k++) mux.send(pool[k & 63]!, ports[k % ports.length]!, '127.0.0.1');
    await turn();
  }
  await turn(); // the last flush
  const wallNs = Number(process.hrtime.bigint() - t0);
  const cpu = process.cpuUsage(cpu0);
  const n = turns * batch;
  return { cpuUs: (cpu.user + cpu.system) / n, sysUs: cpu.system / n, wallUs: wallNs / 1000 / n };
}

/** Fans every RTP packet from the driver out to the receivers (the driver's send stamp stays in each copy). */
class FanOut implements MuxConnection {
  constructor(private readonly mux: UdpMux, private readonly ports: number[]) {}
  handleStun(): void {}
  handleDtls(): void {}
  handleRtp(buf: Buffer): void {
    // A fresh buffer per destination, as SRTP protect gives one per subscriber.
    for (const port of this.ports) {
      const out = Buffer.allocUnsafe(buf.length);
      buf.copy(out);
      this.mux.send(out, port, '127.0.0.1');
    }
  }
}

async function forward(
  rx: ChildProcess, driverPort: number, mux: UdpMux, ports: number[], rate: number, seconds: number,
): Promise<{ cpuUsPerOut: number; perFlush: number; p50: number; p99: number; loss: number; outPps: number }> {
  mux.bindRemote('127.0.0.1', driverPort, new FanOut(mux, ports));
  await request(rx, { op: 'drive', port: mux.port, rate }, 'drive');
  await new Promise((r) => setTimeout(r, 500)); // warm-up
  await request(rx, { op: 'reset' }, 'reset');
  const out0 = mux.stats.packetsOut;
  const flushes0 = mux.stats.flushes;
  const cpu0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  await new Promise((r) => setTimeout(r, seconds * 1000));
  const cpu = process.cpuUsage(cpu0);
  const wallS = Number(process.hrtime.bigint() - t0) / 1e9;
  const out = mux.stats.packetsOut - out0;
  const flushes = mux.stats.flushes - flushes0;
  await request(rx, { op: 'stop' }, 'stop');
  await new Promise((r) => setTimeout(r, 200));
  const counted = await request(rx, { op: 'count' }, 'count');
  const received = counted['received'] as number;
  const latencies = counted['latencies'] as number[];
  return {
    cpuUsPerOut: (cpu.user + cpu.system) / Math.max(1, out),
    perFlush: flushes > 0 ? out / flushes : 1,
    p50: latencies.length > 0 ? percentile(latencies, 50) : NaN,
    p99: latencies.length > 0 ? percentile(latencies, 99) : NaN,
    loss: out > 0 ? Math.max(0, 1 - received / out) : 0,
    outPps: out / wallS,
  };
}

async function main(): Promise<void> {
  const runs = numberArgument('runs', 5);
  const packets = numberArgument('packets', 60_000);
  const batches = stringArgument('batch', '1,10,50').split(',').map(Number);
  const receivers = numberArgument('receivers', 10);
  const forwards = stringArgument('forward', '10,50').split(',').map(Number).filter((n) => n > 0);
  const rate = numberArgument('rate', 2000);
  const seconds = numberArgument('seconds', 3);
  const native = loadNativeUdpBatch();
  const wanted = stringArgument('modes', native.native !== null ? 'off,js,native' : 'off,js').split(',') as Mode[];
  const modes = wanted.filter((m) => native.native !== null || !m.startsWith('native'));
  console.log(`send-batch: ${native.reason}; modes ${modes.join(', ')}; ${BYTES}-byte datagrams; load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);

  const rx = fork(fileURLToPath(import.meta.url), ['--child'], { execArgv: ['--import', 'tsx'] });
  const driverPort = await new Promise<number>((resolve) => rx.once('message', (m: { driverPort: number }) => resolve(m.driverPort)));
  try {
    const muxes = new Map<Mode, UdpMux>();
    for (const m of new Set<Mode>([...modes, ...(forwards.length > 0 && modes.includes('native') ? ['native-tick' as Mode] : [])])) {
      muxes.set(m, await openMux(m));
    }
    const { ports } = (await request(rx, { op: 'receivers', count: receivers }, 'receivers')) as Reply & { ports: number[] };

    // Part 1.
    const samples = new Map<string, { cpuUs: number[]; sysUs: number[]; wallUs: number[] }>();
    for (const m of modes) await sendCost(muxes.get(m)!, ports, 10, 5000); // warm-up
    for (let run = 0; run < runs; run++) {
      for (const batch of batches) {
        for (const m of run % 2 === 0 ? modes : [...modes].reverse()) {
          const r = await sendCost(muxes.get(m)!, ports, batch, packets);
          const key = `${m}/${batch}`;
          const s = samples.get(key) ?? { cpuUs: [], sysUs: [], wallUs: [] };
          s.cpuUs.push(r.cpuUs);
          s.sysUs.push(r.sysUs);
          s.wallUs.push(r.wallUs);
          samples.set(key, s);
        }
      }
    }
    const rows: string[][] = [['mode', 'batch', 'CPU µs/pkt', 'of which sys', 'wall µs/pkt', 'pkt/s per core', 'CPU range']];
    for (const batch of batches) {
      for (const m of modes) {
        const s = samples.get(`${m}/${batch}`)!;
        const cpu = median(s.cpuUs);
        rows.push([m, String(batch), cpu.toFixed(2), median(s.sysUs).toFixed(2), median(s.wallUs).toFixed(2), `${(1e6 / cpu / 1000).toFixed(0)}k`,
          `${Math.min(...s.cpuUs).toFixed(2)}-${Math.max(...s.cpuUs).toFixed(2)}`]);
      }
    }
    console.log(`\nPart 1: send cost, ${packets} packets per run to ${receivers} receivers, median of ${runs} rounds`);
    console.log(formatTable(rows));
    console.log(`load average after part 1: ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);

    // Part 2.
    if (forwards.length > 0) {
      const fmodes = modes.includes('native') ? ([...modes.filter((m) => m !== 'js'), 'native-tick'] as Mode[]) : modes.filter((m) => m !== 'js');
      const fsamples = new Map<string, Array<Awaited<ReturnType<typeof forward>>>>();
      for (let run = 0; run < Math.max(1, Math.ceil(runs / 2)); run++) {
        for (const fanout of forwards) {
          const { ports: fports } = (await request(rx, { op: 'receivers', count: fanout }, 'receivers')) as Reply & { ports: number[] };
          for (const m of run % 2 === 0 ? fmodes : [...fmodes].reverse()) {
            // A fresh mux per measurement: its remote binding is the driver's.
            const mux = await openMux(m);
            const r = await forward(rx, driverPort, mux, fports, rate, seconds);
            await mux.close();
            const key = `${m}/${fanout}`;
            fsamples.set(key, [...(fsamples.get(key) ?? []), r]);
          }
        }
      }
      const frows: string[][] = [['mode', 'fan-out', 'out pkt/s', 'CPU µs per pkt out', 'pkts per flush', 'latency p50 µs', 'p99 µs', 'loss']];
      for (const fanout of forwards) {
        for (const m of fmodes) {
          const s = fsamples.get(`${m}/${fanout}`)!;
          const med = (f: (x: (typeof s)[number]) => number): number => median(s.map(f));
          frows.push([m, String(fanout), med((x) => x.outPps).toFixed(0), med((x) => x.cpuUsPerOut).toFixed(2), med((x) => x.perFlush).toFixed(1),
            med((x) => x.p50).toFixed(0), med((x) => x.p99).toFixed(0), `${(med((x) => x.loss) * 100).toFixed(2)}%`]);
        }
      }
      console.log(`\nPart 2: forwarding shape, ${rate} packets/s in, fan-out to F receivers, ${seconds} s per run, median of ${Math.max(1, Math.ceil(runs / 2))} rounds`);
      console.log(formatTable(frows));
      console.log(`load average after part 2: ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
    }
    for (const mux of muxes.values()) await mux.close();
  } finally {
    rx.send({ op: 'exit' });
  }
}

if (process.argv.includes('--child')) await child();
else await main();
