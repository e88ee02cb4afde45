// `npm run bench -- workers`: how forwarding scales with media worker threads (rtc.media_workers). The same load, R
// rooms of 1 simulcast video publisher -> S subscribers (the load tester, in this process), against a server child
// process with 0 (media in the main thread), 1 and 2 media workers. Reports, over the media window: forwarded
// packets/s, loss, server CPU per forwarded packet, the server's CPU by thread (main thread vs media workers), and the
// tester's own CPU, and the in-server forwarding latency (the server's livekit_forward_latency_ns histogram: arrival at
// the Receiver to the last subscriber's send, sampled 1 in 64). `--span` makes every room span the workers (rtc.room_participants_per_worker = room size /
// workers), so packets cross pipes; without it each room stays on one worker.
// Flags: --workers 0,1,2  --rooms 2  --subscribers 40  --duration 20  --span  --audio (audio speakers instead).
import { cpus, loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { runLoadTest } from '@atrium/cli/load-test/runner.js';
import { DEFAULT_DECRYPT_EVERY, type LoadTestOptions } from '@atrium/cli/load-test/options.js';
import type { LoadTestReport } from '@atrium/cli/load-test/report.js';
import { formatTable } from '@atrium/cli/format.js';
import { freePort, processCpuSec, startServerProcess, threadCpuSec, type ServerProcess } from './server-process.js';
import { latencyPercentileNs, scrape, type ServerCounters } from './compare/prometheus.js';

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
/** A latency percentile between two scrapes as the bucket bound it falls under, in ms. */
function latencyMs(a: ServerCounters, b: ServerCounters, p: number): string {
  const ns = latencyPercentileNs(a, b, p);
  if (Number.isNaN(ns)) return '-';
  return ns === Infinity ? '>20' : `<=${(ns / 1e6).toFixed(3)}`;
}

const rows: string[][] = [];
for (const workers of workerCounts) {
  const perWorker = values.span && workers > 1 ? Math.ceil((publishers + subscribers) / workers) : 100_000;
  const metricsPort = await freePort();
  // Info level: the workers' thread ids are in the server's 'media worker started' lines.
  const server = await startServerProcess({
    logLevel: 'info',
    yaml: `rtc:\n  media_workers: ${workers}\n  room_participants_per_worker: ${perWorker}\nprometheus:\n  port: ${metricsPort}\n`,
  });
  const scrapes: Promise<ServerCounters>[] = [];
  const marks: { cpu: number; threads: Map<number, number>; tester: NodeJS.CpuUsage; received: number; sent: number; at: number }[] = [];
  const counts = Array.from({ length: roomCount }, () => ({ media: { sent: 0, received: 0 }, end: { sent: 0, received: 0 } }));
  let started = 0;
  let ended = 0;
  const mark = (): void => {
    scrapes.push(scrape(`http://127.0.0.1:${metricsPort}/metrics`));
    marks.push({
      cpu: processCpuSec(server.pid), threads: threadCpuSec(server.pid), tester: process.cpuUsage(), at: performance.now(),
      received: 0, sent: 0,
    });
  };
  const reports: LoadTestReport[] = await Promise.all(
    Array.from({ length: roomCount }, (_, r) => {
      const opts: LoadTestOptions = {
        room: `bench-workers-${workers}-${r}`, durationSec, videoPublishers: isAudio ? 0 : publishers, audioPublishers: isAudio ? publishers : 0,
        subscribers, identityPrefix: `r${r}`, videoResolution: 'high', simulcast: true, numPerSecond, maxLossPct: 0.5, isJson: true, decryptEvery: DEFAULT_DECRYPT_EVERY,
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
    l0 && l1 ? `${latencyMs(l0, l1, 50)} / ${latencyMs(l0, l1, 99)}` : '-',
  ]);
}
console.log(formatTable(
  ['MEDIA WORKERS', 'JOINED', 'FWD/S', 'LOSS', 'SERVER CPU', 'SERVER µs/FWD', 'MAIN / WORKERS / OTHER', 'TESTER CPU', 'TESTER µs/PKT', 'IN-SERVER LATENCY p50 / p99 ms'],
  rows,
));
console.log(`load average ${loadavg().map((x) => x.toFixed(2)).join(' ')} at the end`);
