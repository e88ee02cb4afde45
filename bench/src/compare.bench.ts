// `npm run bench -- compare`: Atrium and Janus 1.1.2's VideoRoom side by side, in the same run, with the same load
// shapes, the same client role (our PeerConnection, the load tester's synthetic VP8 simulcast / Opus sources and
// counters) and the same measuring window. For each shape and server: forwarded packets/s (what subscribers
// received), loss (sequence gaps), server CPU-seconds per forwarded packet (/proc/<pid>/stat), client-side one-way
// delay p50/p99 (payload trailer -> receipt, same clock), and the load generator's own CPU and event-loop delay and
// the machine's busy share, so server limits and client limits can be told apart.
//
// Installs Janus first (scripts/install-bench-deps.sh), then re-runs itself in a network namespace of its own
// (compare/netns.ts; needs root). Each shape gets a fresh server of each kind, Atrium first.
// Flags: --quick (a tiny run, < 60 s), --shapes 1v:10,10a:100,25m (default: the table of issue 10),
// --duration SEC (window, default 20), --warmup SEC (after the last join, default 3), --num-per-second N (joins,
// default 20), --targets atrium,janus, --janus-event-loops N (default 0: Janus's default of a thread per handle),
// --json FILE (results as JSON), --markdown FILE (the table as Markdown).
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { formatTable } from '@atrium/cli/format.js';
import { FULL_SHAPES, QUICK_SHAPES, parseShapes } from './compare/shapes.js';
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
    json: { type: 'string' }, markdown: { type: 'string' },
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
const durationSec = Number(values.duration ?? (isQuick ? 5 : 20));
const warmupSec = Number(values.warmup ?? 3);
const numPerSecond = Number(values['num-per-second'] ?? 20);
const eventLoops = Number(values['janus-event-loops'] ?? 0);
const targetNames = (values.targets ?? 'atrium,janus').split(',').map((t) => t.trim());
const factories: Record<string, TargetFactory> = { atrium: atriumTarget, janus: janusTarget({ iceAddress: BENCH_ADDRESS, eventLoops }) };
for (const t of targetNames) if (factories[t] === undefined) throw new Error(`--targets: '${t}' is not atrium or janus`);

const machine = `${cpus().length} cores (${cpus()[0]?.model.trim() ?? '?'}), ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}`;
console.log(`compare: ${machine}; load average ${loadavg().map((x) => x.toFixed(2)).join(' ')} at start`);
console.log(`compare: ${durationSec} s window after a ${warmupSec} s warm-up, joins at ${numPerSecond}/s; shapes ${shapes.map((s) => s.key).join(', ')}`);

const results: ShapeResult[] = [];
for (const shape of shapes) {
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
    } catch (err) {
      console.log(`${name} ${shape.key}: failed: ${err instanceof Error ? err.stack : String(err)}`);
      process.exitCode = 1;
    }
  }
}

const f = (x: number, d = 0): string => (Number.isFinite(x) ? x.toFixed(d) : '-');
const header = ['SHAPE', 'SERVER', 'JOINED', 'RECEIVING', 'SENT/S', 'FWD/S', 'LOSS', 'SERVER CPU', 'SERVER µs/FWD', 'GEN CPU', 'GEN µs/PKT', 'GEN LOOP p99', 'MACHINE', 'DELAY p50/p99'];
const rows = results.map((r) => [
  r.shape, r.target, `${r.joined}/${r.expectedPeers}`, `${r.receiving}/${r.expectedSubscriptions}`, f(r.sentPerSec), f(r.forwardedPerSec),
  `${f(r.lossPct, 2)}%`, `${f(r.serverCpuPct)}%`, f(r.serverUsPerForwarded, 2), `${f(r.generatorCpuPct)}%`, f(r.generatorUsPerPacket, 2),
  `${f(r.generatorLoopDelayP99Ms, 1)} ms`, `${f(r.machineBusyPct)}%`, `${f(r.latencyP50Ms, 2)} / ${f(r.latencyP99Ms, 2)} ms`,
]);
console.log(`load average ${loadavg().map((x) => x.toFixed(2)).join(' ')} at the end; versions: ${[...new Set(results.map((r) => r.version))].join(', ')}`);
console.log(formatTable(header, rows));
// Atrium / Janus CPU per forwarded packet, per shape where both ran
for (const shape of shapes) {
  const a = results.find((r) => r.shape === shape.key && r.target === 'atrium');
  const j = results.find((r) => r.shape === shape.key && r.target === 'janus');
  if (a && j) console.log(`${shape.key}: Atrium uses ${(a.serverUsPerForwarded / j.serverUsPerForwarded).toFixed(2)}x Janus's CPU per forwarded packet (${f(a.serverUsPerForwarded, 2)} vs ${f(j.serverUsPerForwarded, 2)} µs)`);
}
if (values.json !== undefined) writeFileSync(values.json, JSON.stringify({ machine, durationSec, warmupSec, numPerSecond, eventLoops, results }, null, 2));
if (values.markdown !== undefined) {
  const md = [`| ${header.join(' | ')} |`, `|${header.map(() => '---').join('|')}|`, ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');
  writeFileSync(values.markdown, `${md}\n`);
}
