// `npm run bench -- workers`: how forwarding scales with media worker threads (rtc.media_workers). The same load, R
// rooms of 1 simulcast video publisher -> S subscribers (the load tester, in this process), against a server child
// process with 0 (media in the main thread), 1 and 2 media workers. Reports, over the media window: forwarded
// packets/s, loss, server CPU per forwarded packet, the server's CPU by thread (main thread vs media workers), and the
// tester's own CPU, and the in-server forwarding latency (the server's livekit_forward_latency_ns histogram: arrival at
// the Receiver to the last subscriber's send, sampled 1 in 64). `--span` makes every room span the workers (rtc.room_participants_per_worker = room size /
// workers), so packets cross pipes; without it each room stays on one worker.
// Flags: --workers 0,1,2  --rooms 2  --subscribers 40  --duration 20  --span  --audio (audio speakers instead).
import { createServer as createNetServer, type AddressInfo } from 'node:net';
import { cpus, loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { runLoadTest } from '@atrium/cli/load-test/runner.js';
import type { LoadTestOptions } from '@atrium/cli/load-test/options.js';
import type { LoadTestReport } from '@atrium/cli/load-test/report.js';
import { formatTable } from '@atrium/cli/format.js';
import { processCpuSec, startServerProcess, threadCpuSec, type ServerProcess } from './server-process.js';

const { values } = parseArgs({
  options: {
    workers: { type: 'string' }, rooms: { type: 'string' }, subscribers: { type: 'string' }, duration: { type: 'string' },
    span: { type: 'boolean' }, audio: { type: 'boolean' }, 'num-per-second': { type: 'string' },
  },
  allowPositionals: true,
});
const workerCounts = (values.workers ?? '0,1,2').split(',').map(Number);
const roomCount = Number(values.rooms ?? 2);
const subscribers = Number(values.subscribers ?? 40);
const durationSec = Number(values.duration ?? 20);
const numPerSecond = Number(values['num-per-second'] ?? 20);
const isAudio = values.audio === true;
const publishers = isAudio ? 10 : 1;

type ThreadClass = 'main' | 'media workers' | 'other';

/** CPU by thread over the window: the main thread (tid = pid), the media workers, the rest (libuv pool, V8 helpers). */
function byClass(server: ServerProcess, before: Map<number, number>, after: Map<number, number>): Record<ThreadClass, number> {
  const out: Record<ThreadClass, number> = { main: 0, 'media workers': 0, other: 0 };
  for (const [tid, sec] of after) {
    const cls: ThreadClass = tid === server.pid ? 'main' : server.workerThreadIds.includes(tid) ? 'media workers' : 'other';
    out[cls] += sec - (before.get(tid) ?? 0);
  }
  return out;
}

console.log(
  `workers: ${cpus().length} cores (${cpus()[0]?.model ?? '?'}), load average ${loadavg().map((x) => x.toFixed(2)).join(' ')}; ` +
    `${roomCount} rooms x (${publishers} ${isAudio ? 'audio speakers' : 'simulcast video publisher'} -> ${subscribers} subscribers), ` +
    `${durationSec} s of media${values.span ? ', rooms spanning workers' : ''}`,
);
/** A free TCP port (for the server's metrics listener). */
async function freePort(): Promise<number> {
  const srv = createNetServer();
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const port = (srv.address() as AddressInfo).port;
  await new Promise<void>((resolve) => srv.close(() => resolve()));
  return port;
}

/** The forwarding-latency histogram (cumulative buckets, ns) from a Prometheus text scrape. */
function latencyBuckets(text: string): Map<number, number> {
  const out = new Map<number, number>();
  for (const m of text.matchAll(/^livekit_forward_latency_ns_bucket\{[^}]*le="([^"]+)"[^}]*\} (\d+)/gm)) {
    out.set(m[1] === '+Inf' ? Infinity : Number(m[1]), Number(m[2]));
  }
  return out;
}

/** The bucket bound under which fraction `q` of the samples between two scrapes fall (an upper bound, in ms). */
function quantileMs(before: Map<number, number>, after: Map<number, number>, q: number): string {
  const bounds = [...after.keys()].sort((a, b) => a - b);
  const total = (after.get(Infinity) ?? 0) - (before.get(Infinity) ?? 0);
  if (total <= 0) return '-';
  for (const le of bounds) {
    if ((after.get(le) ?? 0) - (before.get(le) ?? 0) >= q * total) return le === Infinity ? '>20' : `<=${(le / 1e6).toFixed(3)}`;
  }
  return '-';
}

const rows: string[][] = [];
for (const workers of workerCounts) {
  const perWorker = values.span && workers > 1 ? Math.ceil((publishers + subscribers) / workers) : 100_000;
  const metricsPort = await freePort();
  const server = await startServerProcess({
    yaml: `rtc:\n  media_workers: ${workers}\n  room_participants_per_worker: ${perWorker}\nprometheus:\n  port: ${metricsPort}\n`,
  });
  const scrapes: Promise<Map<number, number>>[] = [];
  const marks: { cpu: number; threads: Map<number, number>; tester: NodeJS.CpuUsage; received: number; sent: number; at: number }[] = [];
  const counts = Array.from({ length: roomCount }, () => ({ media: { sent: 0, received: 0 }, end: { sent: 0, received: 0 } }));
  let started = 0;
  let ended = 0;
  const mark = (): void => {
    scrapes.push(fetch(`http://127.0.0.1:${metricsPort}/metrics`).then(async (r) => latencyBuckets(await r.text())));
    marks.push({
      cpu: processCpuSec(server.pid), threads: threadCpuSec(server.pid), tester: process.cpuUsage(), at: performance.now(),
      received: 0, sent: 0,
    });
  };
  const reports: LoadTestReport[] = await Promise.all(
    Array.from({ length: roomCount }, (_, r) => {
      const opts: LoadTestOptions = {
        room: `bench-workers-${workers}-${r}`, durationSec, videoPublishers: isAudio ? 0 : publishers, audioPublishers: isAudio ? publishers : 0,
        subscribers, identityPrefix: `r${r}`, videoResolution: 'high', simulcast: true, numPerSecond, maxLossPct: 0.5, isJson: true,
      };
      return runLoadTest(opts, { url: server.url, apiKey: 'devkey', apiSecret: 'secret', localAddress: '127.0.0.1' }, {
        progress: () => {},
        onPhase: (phase, c) => {
          counts[r]![phase] = { sent: c.packetsSent, received: c.packetsReceived };
          // The window runs from the last room's media start to the first room's end: every room is at full load.
          if (phase === 'media' && ++started === roomCount) mark();
          if (phase === 'end' && ++ended === 1) mark();
        },
      });
    }),
  );
  const [l0, l1] = await Promise.all(scrapes);
  await server.stop();
  const [a, b] = marks;
  if (a === undefined || b === undefined || b.at <= a.at) {
    rows.push([String(workers), 'no common media window (rooms did not overlap)', '', '', '', '', '', '', '', '']);
    continue;
  }
  const seconds = (b.at - a.at) / 1000;
  // Packets in the window, per room: linear between its own phase marks (each room's counts are sampled at its phases).
  let forwarded = 0;
  let handled = 0;
  for (const c of counts) {
    forwarded += c.end.received - c.media.received;
    handled += c.end.received - c.media.received + c.end.sent - c.media.sent;
  }
  const roomSeconds = durationSec;
  const fwdPerSec = forwarded / roomSeconds;
  const serverCpu = b.cpu - a.cpu;
  const threads = byClass(server, a.threads, b.threads);
  const t = process.cpuUsage(a.tester);
  const testerCpu = (t.user + t.system) / 1e6;
  const loss = reports.reduce((s, r) => s + r.summary.lossPct, 0) / reports.length;
  const pct = (sec: number): string => `${((100 * sec) / seconds).toFixed(0)}%`;
  rows.push([
    workers === 0 ? '0 (main thread)' : String(workers),
    reports.map((r) => `${r.participants.joined}/${r.participants.expected}`).join(' '),
    fwdPerSec.toFixed(0),
    `${loss.toFixed(2)}%`,
    `${pct(serverCpu)}`,
    ((serverCpu * 1e6 * roomSeconds) / seconds / Math.max(1, forwarded)).toFixed(1),
    `${pct(threads.main)} / ${pct(threads['media workers'])} / ${pct(threads.other)}`,
    `${pct(testerCpu)}`,
    ((testerCpu * 1e6 * roomSeconds) / seconds / Math.max(1, handled)).toFixed(1),
    l0 && l1 ? `${quantileMs(l0, l1, 0.5)} / ${quantileMs(l0, l1, 0.99)}` : '-',
  ]);
}
console.log(formatTable(
  ['MEDIA WORKERS', 'JOINED', 'FWD/S', 'LOSS', 'SERVER CPU', 'SERVER µs/FWD', 'MAIN / WORKERS / OTHER', 'TESTER CPU', 'TESTER µs/PKT', 'IN-SERVER LATENCY p50 / p99 ms'],
  rows,
));
console.log(`load average ${loadavg().map((x) => x.toFixed(2)).join(' ')} at the end`);
