// Memory under churn (docs/performance.md: no growth over 10,000 join/leave cycles; < 2 MB per participant).
// (a) signalling churn against a whole Atrium with a media double; heap after forced GC every N cycles.
// Run: npx tsx bench/src/churn.bench.ts [--cycles 10000] [--lanes 8] [--every 1000] [--parts signal,media,per] [--snapshots]
import { formatTable } from './bench-util.js';
import { mib } from './churn-util.js';
import { runSignalChurn } from './churn-signal.js';

function arg(name: string, fallback: string): string {
  const at = process.argv.indexOf(`--${name}`);
  return at >= 0 ? (process.argv[at + 1] ?? fallback) : fallback;
}
const parts = arg('parts', 'signal').split(',');
const log = (line: string): void => console.log(`  ${line}`);

if (parts.includes('signal')) {
  const cycles = Number(arg('cycles', '10000'));
  const r = await runSignalChurn({ cycles, lanes: Number(arg('lanes', '8')), sampleEvery: Number(arg('every', '1000')), log, snapshots: process.argv.includes('--snapshots') });
  console.log(`\n(a) signalling churn: ${r.cycles} join/leave cycles in ${r.seconds.toFixed(0)} s, ${r.failures} failed, ${r.webhooks} webhooks received\n`);
  const rows = [['after cycles', 'heap used MiB', 'rss MiB', 'sessions', 'rooms', 'timers']];
  for (const s of r.samples) rows.push([String(s.cycle), mib(s.heapUsedBytes), mib(s.rssBytes), String(s.resources.sessions), String(s.resources.rooms), String(s.handles.Timeout ?? 0)]);
  console.log(formatTable(rows));
  console.log(`\nheap slope: ${r.slopeBytesPerCycle.toFixed(1)} bytes per cycle (least squares, samples after the first)`);
}
