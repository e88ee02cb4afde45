// `npm run bench -- load`: the load tester (atrium load-test's runner, in this process) against a real Atrium in a
// child process, in bigger shapes than the e2e: 1 simulcast 720p publisher -> 100 subscribers, 10 audio speakers ->
// 50 listeners (by default). Over the media window (everyone joined) it reports the server's CPU from
// /proc/<pid>/stat per forwarded packet (packets subscribers received) and the tester's own CPU, so server limits
// and client limits can be told apart. Flags: --shapes 1v:100,10a:50 (v video / a audio publishers : subscribers),
// --duration SEC (default 20), --num-per-second N (default 10), --layout speaker|3x3|4x4|5x5 (lk's: what each
// subscriber watches, see atrium load-test --help), --udp-recv auto|dgram|native (how the tester's sockets read),
// --profile DIR (the server writes V8 CPU profiles there, one per thread, when it exits), --talkers N (atrium load-test's:
// N audio publishers talk at a time, the others send Opus DTX).
import { loadavg, cpus } from 'node:os';
import { parseArgs } from 'node:util';
import { runLoadTest } from '@atrium/cli/load-test/runner.js';
import { DEFAULT_DECRYPT_EVERY, type LoadTestOptions } from '@atrium/cli/load-test/options.js';
import { isLayout } from '@atrium/cli/load-test/layout.js';
import { formatTable } from '@atrium/cli/format.js';
import { processCpuSec, startServerProcess } from './server-process.js';

const { values } = parseArgs({ options: { shapes: { type: 'string' }, duration: { type: 'string' }, 'num-per-second': { type: 'string' }, layout: { type: 'string' }, 'udp-recv': { type: 'string' }, profile: { type: 'string' }, talkers: { type: 'string' } }, allowPositionals: true });
const udpRecv = values['udp-recv'];
if (udpRecv !== undefined && udpRecv !== 'auto' && udpRecv !== 'dgram' && udpRecv !== 'native') throw new Error(`--udp-recv: '${udpRecv}' is not auto, dgram or native`);
const layout = values.layout;
if (layout !== undefined && !isLayout(layout)) throw new Error(`--layout: '${layout}' is not one of speaker, 3x3, 4x4, 5x5`);
const shapes = (values.shapes ?? '1v:100,10a:50').split(',').map((text) => {
  const m = /^(\d+)([va]):(\d+)$/.exec(text.trim());
  if (!m) throw new Error(`--shapes: '${text}' is not like 1v:100 or 10a:50`);
  return { text, publishers: Number(m[1]), kind: m[2] === 'v' ? 'video' : 'audio', subscribers: Number(m[3]) };
});
const talkers = values.talkers === undefined ? undefined : Number(values.talkers);
if (talkers !== undefined && !(Number.isInteger(talkers) && talkers >= 0)) throw new Error(`--talkers: '${values.talkers}' is not a whole number`);
const durationSec = Number(values.duration ?? 20);
const numPerSecond = Number(values['num-per-second'] ?? 10);

const rows: string[][] = [];
console.log(`load${layout !== undefined ? ` (--layout ${layout})` : ''}${talkers !== undefined ? ` (--talkers ${talkers})` : ''}${udpRecv !== undefined ? ` (tester --udp-recv ${udpRecv})` : ''}: ${cpus().length} cores (${cpus()[0]?.model ?? '?'}), load average ${loadavg().map((x) => x.toFixed(2)).join(' ')} at start; ${durationSec} s of media per shape`);
for (const shape of shapes) {
  const server = await startServerProcess(values.profile !== undefined ? { profileDir: values.profile } : {});
  const opts: LoadTestOptions = {
    room: `bench-load-${shape.text}`, durationSec, videoPublishers: shape.kind === 'video' ? shape.publishers : 0,
    audioPublishers: shape.kind === 'audio' ? shape.publishers : 0, subscribers: shape.subscribers, identityPrefix: 'bench',
    videoResolution: 'high', simulcast: true, numPerSecond, maxLossPct: 1, isJson: true, decryptEvery: DEFAULT_DECRYPT_EVERY,
    ...(layout !== undefined ? { layout } : {}),
    ...(udpRecv !== undefined ? { udpRecv } : {}),
    ...(talkers !== undefined && shape.kind === 'audio' ? { talkers: Math.min(talkers, shape.publishers) } : {}),
  };
  let lines = 0;
  const window: { server: number[]; tester: NodeJS.CpuUsage[]; received: number[]; sent: number[]; at: number[] } = { server: [], tester: [], received: [], sent: [], at: [] };
  const report = await runLoadTest(opts, { url: server.url, apiKey: 'devkey', apiSecret: 'secret', localAddress: '127.0.0.1' }, {
    progress: (line) => {
      if (process.stderr.isTTY) process.stderr.write(`\r\x1b[2K${shape.text} ${line}`);
      else if (++lines % 5 === 0) process.stderr.write(`${shape.text} ${line}\n`);
    },
    onPhase: (_phase, counts) => {
      window.server.push(processCpuSec(server.pid));
      window.tester.push(process.cpuUsage());
      window.received.push(counts.packetsReceived);
      window.sent.push(counts.packetsSent);
      window.at.push(performance.now());
    },
  });
  if (process.stderr.isTTY) process.stderr.write('\n');
  await server.stop();
  const seconds = (window.at[1]! - window.at[0]!) / 1000;
  const forwarded = window.received[1]! - window.received[0]!;
  const sent = window.sent[1]! - window.sent[0]!;
  const serverCpu = window.server[1]! - window.server[0]!;
  const t = process.cpuUsage(window.tester[0]!);
  const testerCpu = (t.user + t.system) / 1e6;
  rows.push([
    `${shape.publishers} ${shape.kind} -> ${shape.subscribers}`, `${report.participants.joined}/${report.participants.expected}`,
    `${report.summary.subscriptions.receiving}/${report.summary.subscriptions.expected}`, String(forwarded), (forwarded / seconds).toFixed(0),
    `${report.summary.lossPct.toFixed(2)}%`, `${serverCpu.toFixed(2)} s (${((100 * serverCpu) / seconds).toFixed(0)}%)`, ((serverCpu * 1e6) / Math.max(1, forwarded)).toFixed(1),
    `${testerCpu.toFixed(2)} s (${((100 * testerCpu) / seconds).toFixed(0)}%)`, ((testerCpu * 1e6) / Math.max(1, forwarded + sent)).toFixed(1),
    `${report.summary.latencyMs.p50} / ${report.summary.latencyMs.p99} ms`, `${report.participants.joinMs.p50} / ${report.participants.joinMs.p95} ms`,
  ]);
  if (!report.isPassed) console.log(`${shape.text}: ${report.failures.join('; ')}`);
}
console.log(`load average ${loadavg().map((x) => x.toFixed(2)).join(' ')} at the end`);
console.log(formatTable(['SHAPE', 'JOINED', 'SUBSCRIPTIONS', 'FORWARDED', 'FWD/S', 'LOSS', 'SERVER CPU', 'SERVER µs/FWD', 'TESTER CPU', 'TESTER µs/PKT', 'LATENCY p50/p99', 'JOIN p50/p95'], rows));
