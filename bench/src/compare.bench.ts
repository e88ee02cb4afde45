// `npm run bench -- compare`: Atrium and Janus 1.1.2's VideoRoom side by side, in the same run, with the same load
// shapes, the same client role (our PeerConnection, the load tester's synthetic VP8 simulcast / Opus sources and
// counters) and the same measuring window. For each shape and server: forwarded packets/s (what subscribers
// received), loss (sequence gaps), server CPU-seconds per forwarded packet (/proc/<pid>/stat), client-side one-way
// delay p50/p99 (payload trailer -> receipt, same clock), and the load generator's own CPU and event-loop delay and
// the machine's busy share, so server limits and client limits can be told apart. For Atrium also what its metrics
// say over the window: packets sent to subscribers and the in-server forwarding latency (receive -> sent to every
// subscriber, sampled; bucket upper bounds). Janus's admin API is not enabled, so it has neither.
//
// Installs Janus first (scripts/install-bench-deps.sh), then re-runs itself in a network namespace of its own
// (compare/netns.ts; needs root). Each shape gets a fresh server of each kind, Atrium first.
// Flags: --quick (a tiny run, < 60 s), --shapes 1v:10,10a:100,25m (default: the table of issue 10),
// --duration SEC (window, default 20), --warmup SEC (after the last join, default 25: a fresh Atrium spends its first
// ~25 s in JIT compilation and V8's start-up GCs, a transient that is not a per-packet cost), --num-per-second N (joins,
// default 20), --targets atrium,atrium-nocc,janus,janus-threads (the default; --quick: atrium,janus): `atrium-nocc`
// is Atrium with rtc.congestion_control.enabled false, `janus` runs with event_loops = the number of cores,
// `janus-threads` with Janus's own default of one thread per handle; --janus-event-loops N,
// --max-forward-rate N (default 60000: larger shapes are listed as not run, with the cores they would need),
// --json FILE (results as JSON), --markdown FILE (the table as Markdown), --atrium-profile DIR (the Atrium server
// writes a V8 CPU profile per shape there; summarise with compare/profile-summary.ts), --atrium-yaml TEXT
// (livekit.yaml settings for the Atrium server on top of --dev, passed as LIVEKIT_CONFIG).
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { formatTable } from '@atrium/cli/format.js';
import { FULL_SHAPES, QUICK_SHAPES, nominalForwardRate, parseShapes } from './compare/shapes.js';
import type { Shape } from './compare/shapes.js';
import { BENCH_ADDRESS, isInsideBenchNamespace, reexecInNamespace } from './compare/netns.js';
import { runShape } from './compare/run-shape.js';
import type { ShapeResult } from './compare/run-shape.js';
import { atriumTarget, janusTarget } from './compare/targets.js';
import type { TargetFactory } from './compare/targets.js';

const script = fileURLToPath(import.meta.url);
const { values } = parseArgs({
  options: {
    quick: { type: 'boolean' }, shapes: { type: 'string' }, duration: { type: 'string' }, warmup: { type: 'string' },
    'num-per-second': { type: 'string' }, targets: { type: 'string' }, 'janus-event-loops': { type: 'string' },
    json: { type: 'string' }, markdown: { type: 'string' }, 'max-forward-rate': { type: 'string' }, 'atrium-profile': { type: 'string' }, 'atrium-yaml': { type: 'string' },
  },
  allowPositionals: true,
});

if (!isInsideBenchNamespace()) {
  const install = fileURLToPath(new URL('../../scripts/install-bench-deps.sh', import.meta.url));
  const r = spawnSync('bash', [install], { stdio: 'inherit' });
  if (r.status !== 0) throw new Error('compare: scripts/install-bench-deps.sh failed (Janus is needed)');
  reexecInNamespace(script, process.argv.slice(2));
}

const isQuick = values.quick === true;
const shapes = parseShapes(values.shapes ?? (isQuick ? QUICK_SHAPES : FULL_SHAPES));
const durationSec = Number(values.duration ?? (isQuick ? 4 : 20));
const warmupSec = Number(values.warmup ?? (isQuick ? 2 : 25));
const numPerSecond = Number(values['num-per-second'] ?? 20);
const eventLoops = Number(values['janus-event-loops'] ?? cpus().length);
const targetNames = (values.targets ?? (isQuick ? 'atrium,janus' : 'atrium,atrium-nocc,janus,janus-threads')).split(',').map((t) => t.trim());
const profileDir = values['atrium-profile'];
const atriumOpts = { ...(profileDir !== undefined ? { profileDir } : {}), ...(values['atrium-yaml'] !== undefined ? { yaml: values['atrium-yaml'] } : {}) };
const factories: Record<string, TargetFactory> = {
  atrium: atriumTarget(atriumOpts),
  // Atrium without its per-subscriber congestion control (no estimator, pacer or allocator): closer to what Janus's
  // VideoRoom does per subscriber (it forwards the chosen substream, no send-side estimate)
  'atrium-nocc': atriumTarget({ ...atriumOpts, name: 'atrium-nocc', yaml: 'rtc:\n  congestion_control:\n    enabled: false\n' }),
  janus: janusTarget({ iceAddress: BENCH_ADDRESS, eventLoops }),
  // Janus as installed: no event_loops, so one thread (and GLib loop) per handle
  'janus-threads': janusTarget({ iceAddress: BENCH_ADDRESS, eventLoops: 0 }),
};
for (const t of targetNames) if (factories[t] === undefined) throw new Error(`--targets: '${t}' is not atrium, atrium-nocc, janus or janus-threads`);

const machine = `${cpus().length} cores (${cpus()[0]?.model.trim() ?? '?'}), ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}`;
console.log(`compare: ${machine}; load average ${loadavg().map((x) => x.toFixed(2)).join(' ')} at start`);
console.log(`compare: ${durationSec} s window after a ${warmupSec} s warm-up, joins at ${numPerSecond}/s; shapes ${shapes.map((s) => s.key).join(', ')}`);

// A shape whose subscribers must take in more than this many packets/s is not run: the generator receives (and
// decrypts) every forwarded packet on the same 2 cores as the server; the table says why with this run's measured
// per-packet costs.
const maxForwardRate = Number(values['max-forward-rate'] ?? 60_000);
const results: ShapeResult[] = [];
const skipped: { shape: Shape; rate: number }[] = [];
for (const shape of shapes) {
  const rate = nominalForwardRate(shape);
  if (rate > maxForwardRate) {
    console.log(`${shape.key}: not run: needs ${rate.toFixed(0)} forwarded pkt/s, above --max-forward-rate ${maxForwardRate}`);
    skipped.push({ shape, rate });
    continue;
  }
  for (const name of targetNames) {
    const progress = (line: string): void => {
      if (process.stderr.isTTY) process.stderr.write(`\r\x1b[2K${line}`);
      else process.stderr.write(`${line}\n`);
    };
    try {
      const r = await runShape(shape, factories[name]!, { durationSec, warmupSec, numPerSecond, progress });
      if (process.stderr.isTTY) process.stderr.write('\n');
      results.push(r);
      console.log(`${name} ${shape.key}: ${r.forwardedPerSec.toFixed(0)} fwd/s, server ${r.serverUsPerForwarded.toFixed(2)} µs/fwd (${r.serverCpuPct.toFixed(0)}%), generator ${r.generatorCpuPct.toFixed(0)}%, loss ${r.lossPct.toFixed(2)}%${r.problems.length > 0 ? `; ${r.problems.length} problems, first: ${r.problems[0]}` : ''}${r.warnings ? `; ${r.warnings}` : ''}`);
      console.log(`  end of window: ${r.endStates.slice(0, 4).join('; ')}`);
    } catch (err) {
      console.log(`${name} ${shape.key}: failed: ${err instanceof Error ? err.stack : String(err)}`);
      process.exitCode = 1;
    }
  }
}

const f = (x: number, d = 0): string => (Number.isFinite(x) ? x.toFixed(d) : '-');
const header = ['SHAPE', 'SERVER', 'JOINED', 'RECEIVING', 'SENT/S', 'FWD/S', 'kbps/SUB', 'LOSS', 'SERVER CPU', 'SERVER µs/FWD', 'GEN CPU', 'GEN µs/FWD', 'GEN LOOP p99', 'MACHINE', 'DELAY p50/p99', 'SERVER SENT/S', 'IN-SERVER p50/p99'];
const rows = results.map((r) => [
  r.shape, r.target, `${r.joined}/${r.expectedPeers}`, `${r.receiving}/${r.expectedSubscriptions}`, f(r.sentPerSec), f(r.forwardedPerSec), f(r.kbpsPerSubscription),
  `${f(r.lossPct, 2)}%`, `${f(r.serverCpuPct)}%`, f(r.serverUsPerForwarded, 2), `${f(r.generatorCpuPct)}%`, f(r.generatorUsPerForwarded, 2),
  `${f(r.generatorLoopDelayP99Ms, 1)} ms`, `${f(r.machineBusyPct)}%`, `${f(r.latencyP50Ms, 2)} / ${f(r.latencyP99Ms, 2)} ms`,
  f(r.serverSentPerSec), Number.isFinite(r.serverLatencyP50Ms) || r.serverLatencyP50Ms === Infinity ? `<= ${f(r.serverLatencyP50Ms, 3)} / ${r.serverLatencyP99Ms === Infinity ? '> max' : f(r.serverLatencyP99Ms, 3)} ms` : '-',
]);
// Not-run shapes: the cores they would need at this run's cheapest measured costs per forwarded packet, taken from
// the shapes that ran with the same kind of media (video costs for video shapes, audio for audio)
const isVideo = (s: Shape): boolean => s.videoPublishers > 0 || s.meeting > 0;
const cheapest = (xs: number[]): number => (xs.length > 0 ? Math.min(...xs) : NaN);
const notRun: { shape: string; forwardRate: number; generatorUsPerForwarded: number; serverUsPerForwarded: number; cores: number }[] = [];
for (const { shape, rate } of skipped) {
  const alike = results.filter((r) => r.forwarded > 0 && isVideo(shapes.find((s) => s.key === r.shape)!) === isVideo(shape));
  const genUs = cheapest(alike.map((r) => r.generatorUsPerForwarded));
  const serverUs = cheapest(alike.map((r) => r.serverUsPerForwarded));
  const cores = (rate * (genUs + serverUs)) / 1e6;
  notRun.push({ shape: shape.key, forwardRate: rate, generatorUsPerForwarded: genUs, serverUsPerForwarded: serverUs, cores });
  const reason = `not run: ${f(rate)} fwd pkt/s needed; at this run's lowest measured ${isVideo(shape) ? 'video' : 'audio'} costs (generator ${f(genUs, 1)} + server ${f(serverUs, 1)} µs per forwarded packet) >= ${f(cores, 1)} cores of ${cpus().length}`;
  rows.push([shape.key, 'all', ...header.slice(2).map(() => '-'), reason]);
}
console.log(`load average ${loadavg().map((x) => x.toFixed(2)).join(' ')} at the end; versions: ${[...new Set(results.map((r) => r.version))].join(', ')}`);
console.log(formatTable([...header, 'NOTE'], rows.map((r) => (r.length < header.length + 1 ? [...r, ''] : r))));
// Atrium / Janus CPU per forwarded packet, per shape where both ran
for (const shape of shapes) {
  const a = results.find((r) => r.shape === shape.key && r.target === 'atrium');
  for (const j of results.filter((r) => r.shape === shape.key && r.target !== 'atrium')) {
    if (a) console.log(`${shape.key}: Atrium uses ${(a.serverUsPerForwarded / j.serverUsPerForwarded).toFixed(2)}x ${j.target}'s CPU per forwarded packet (${f(a.serverUsPerForwarded, 2)} vs ${f(j.serverUsPerForwarded, 2)} µs)`);
  }
}
if (values.json !== undefined) writeFileSync(values.json, JSON.stringify({ machine, durationSec, warmupSec, numPerSecond, eventLoops, results, notRun }, null, 2));
if (values.markdown !== undefined) {
  const md = [`| ${header.join(' | ')} |`, `|${header.map(() => '---').join('|')}|`, ...rows.map((r) => (r.length > header.length ? `| ${r[0]} | ${r[r.length - 1]} |${' |'.repeat(header.length - 2)}` : `| ${r.join(' | ')} |`))].join('\n');
  writeFileSync(values.markdown, `${md}\n`);
}
