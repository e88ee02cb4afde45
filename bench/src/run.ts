// Runs every micro-benchmark in turn (`npm run bench`). Benchmarks print tables; they are never tests.
// Extra arguments are passed to each benchmark, e.g. `npm run bench -- --runs 3`.
// churn.bench.ts runs its signalling part here (about 1.5 min); its real-media parts run with `--parts media,per`.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const benches = [
  'srtp.bench.ts', 'stages.bench.ts', 'pacer.bench.ts', 'bwe.bench.ts', 'forward.bench.ts', 'path.bench.ts', 'join.bench.ts', 'churn.bench.ts',
];
const extra = process.argv.slice(2);
for (const file of benches) {
  const path = fileURLToPath(new URL(`./${file}`, import.meta.url));
  console.log(`\n== ${file}`);
  const r = spawnSync(process.execPath, ['--import', 'tsx', path, ...extra], { stdio: 'inherit' });
  if (r.status !== 0) process.exitCode = 1;
}
