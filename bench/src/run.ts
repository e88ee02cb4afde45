// Runs every micro-benchmark in turn (`npm run bench`). Benchmarks print tables; they are never tests.
// Extra arguments are passed to each benchmark, e.g. `npm run bench -- --runs 3`; `npm run bench -- load` runs one.
// churn.bench.ts runs its signalling part here (about 1.5 min); its real-media parts run with `--parts media,per`.
// `npm run bench -- compare` (or `npm run bench:compare`) runs Atrium and Janus side by side (compare.bench.ts, root,
// about 12 min; `--quick` under a minute); it is not in the default list either. track-egress.bench.ts (about 40 s, `npm run bench -- track-egress`):
// CPU of a track egress copied and of a transcoded 720p track composite.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

// rtmp-ingress.bench.ts: CPU per second of one RTMP ingress transcoded to three layers (needs Debian's ffmpeg; ~30 s).
// whip-ingress.bench.ts: CPU per second of one WHIP ingress passed through and one transcoded to three layers (~60 s).
const benches = [
  'srtp.bench.ts', 'stages.bench.ts', 'pacer.bench.ts', 'bwe.bench.ts', 'forward.bench.ts', 'path.bench.ts', 'join.bench.ts', 'churn.bench.ts',
  'rtmp-ingress.bench.ts',
  'whip-ingress.bench.ts',
  'track-egress.bench.ts',
];
// A first argument naming a benchmark runs that one alone, e.g. `npm run bench -- load` (load.bench.ts, not in the
// default list: it drives a spawned server with the load tester for a minute or two), `npm run bench -- composite`
// (composite.bench.ts: the CPU of a 4-person room composite egress at 720p, four Chromium pages, about a minute).
const named = process.argv[2] !== undefined && !process.argv[2].startsWith('-') ? `${process.argv[2]}.bench.ts` : undefined;
const extra = process.argv.slice(named !== undefined ? 3 : 2);
for (const file of named !== undefined ? [named] : benches) {
  const path = fileURLToPath(new URL(`./${file}`, import.meta.url));
  console.log(`\n== ${file}`);
  const r = spawnSync(process.execPath, ['--import', 'tsx', path, ...extra], { stdio: 'inherit' });
  if (r.status !== 0) process.exitCode = 1;
}
