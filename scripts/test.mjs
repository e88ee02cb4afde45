#!/usr/bin/env node
// Runs every test: unit tests next to the code (packages/*/src/**/*.test.ts, apps/*/src/**/*.test.ts) and the
// compatibility tests in e2e/, with node:test through tsx. Installs the system packages the e2e tests need first.
// Typechecks the tree first. Flags: --unit (unit tests only), --e2e (compatibility tests only), or file
// paths to run just those (no typecheck then).
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';

const root = join(fileURLToPath(import.meta.url), '..', '..');
const args = process.argv.slice(2);
const onlyUnit = args.includes('--unit');
const onlyE2e = args.includes('--e2e');
const explicit = args.filter((a) => !a.startsWith('--'));

function findTests(dir, out = []) {
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules' || name.startsWith('.')) continue;
    const path = join(dir, name);
    if (statSync(path).isDirectory()) findTests(path, out);
    else if (name.endsWith('.test.ts')) out.push(path);
  }
  return out;
}

let unit = [];
let e2e = [];
if (explicit.length > 0) {
  for (const f of explicit) (f.startsWith('e2e') ? e2e : unit).push(join(root, f));
} else {
  const pkgs = join(root, 'packages');
  for (const p of readdirSync(pkgs)) unit.push(...findTests(join(pkgs, p)));
  // apps (the web app): only their sources; dist/ holds no tests
  const apps = join(root, 'apps');
  if (existsSync(apps)) for (const a of readdirSync(apps)) if (existsSync(join(apps, a, 'src'))) unit.push(...findTests(join(apps, a, 'src')));
  e2e = findTests(join(root, 'e2e'));
  if (onlyUnit) e2e = [];
  if (onlyE2e) unit = [];
}
unit.sort();
e2e.sort();

// The whole tree must typecheck (strict settings in tsconfig.base.json) before any test runs: the Node code, and the
// browser app with its own tsconfig (DOM types).
if (explicit.length === 0) {
  for (const project of ['tsconfig.json', 'apps/web/tsconfig.json']) {
    const tsc = spawnSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', join(root, project), '--noEmit'], { stdio: 'inherit' });
    if (tsc.status !== 0) {
      console.error(`test: typecheck failed (npx tsc -p ${project} --noEmit)`);
      process.exit(tsc.status ?? 1);
    }
  }
}

if (e2e.length > 0) {
  const r = spawnSync('bash', [join(root, 'scripts/install-system-deps.sh')], { stdio: 'inherit' });
  if (r.status !== 0) {
    console.error('test: installing system packages failed');
    process.exit(r.status ?? 1);
  }
}

// The optional native SRTP module: built here if `npm install` could not (gcc arrives with the system packages)
// or the source changed. Once it exists its tests must run, not skip: NATIVE_SRTP_REQUIRED=1.
const nativeBuild = spawnSync(process.execPath, [join(root, 'packages/webrtc/scripts/build-native.mjs')], { stdio: 'inherit' });
const nativeBuilt = nativeBuild.status === 0 && existsSync(join(root, 'packages/webrtc/native/build/atrium_srtp.node'));

const files = [...unit, ...e2e].map((f) => relative(root, f));
if (files.length === 0) {
  console.error('test: no test files found');
  process.exit(1);
}
// Unit tests run two files at a time (ATRIUM_UNIT_CONCURRENCY, at most the cores): most of a unit file's time is
// starting its process and loading TypeScript, which overlaps well. The e2e tests run one file at a time after them:
// they start servers and browsers and must not compete for the two cores with each other.
const env = { ...process.env, NODE_ENV: 'test', ...(nativeBuilt ? { NATIVE_SRTP_REQUIRED: '1' } : {}) };
const unitConcurrency = Math.max(1, Math.min(availableParallelism(), Number(process.env.ATRIUM_UNIT_CONCURRENCY ?? 2) || 1));
function runFiles(list, concurrency) {
  if (list.length === 0) return 0;
  const r = spawnSync(
    process.execPath,
    ['--import', 'tsx', '--test', '--test-reporter=spec', `--test-concurrency=${concurrency}`, '--test-timeout=300000', ...list],
    { stdio: 'inherit', cwd: root, env },
  );
  return r.status ?? 1;
}
const rel = (list) => list.map((f) => relative(root, f));
const unitStatus = runFiles(rel(unit), unitConcurrency);
const e2eStatus = runFiles(rel(e2e), 1);
if (unit.length > 0 && e2e.length > 0) {
  console.log(`test: unit tests ${unitStatus === 0 ? 'passed' : 'FAILED'} (${unit.length} files), e2e tests ${e2eStatus === 0 ? 'passed' : 'FAILED'} (${e2e.length} files)`);
}
process.exit(unitStatus !== 0 ? unitStatus : e2eStatus);
