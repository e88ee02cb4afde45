// Runs main.ts as a process: configuration errors stop start-up with the key named; a good file starts it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const MAIN = fileURLToPath(new URL('../main.ts', import.meta.url));
const DEADLINE_MS = 30_000;

interface Run {
  stdout: string;
  stderr: string;
  code: number | null;
}

function start(args: string[], env: Record<string, string> = {}) {
  const base = { ...process.env };
  delete base['LIVEKIT_CONFIG'];
  delete base['LIVEKIT_KEYS'];
  const child = spawn(process.execPath, ['--import', 'tsx', MAIN, ...args], { env: { ...base, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const run: Run = { stdout: '', stderr: '', code: null };
  child.stdout.on('data', (d: Buffer) => (run.stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (run.stderr += d.toString()));
  const exited = new Promise<Run>((resolve) => child.on('close', (code) => resolve(Object.assign(run, { code }))));
  const timer = setTimeout(() => child.kill('SIGKILL'), DEADLINE_MS);
  void exited.then(() => clearTimeout(timer));
  return { child, run, exited };
}

const dir = mkdtempSync(join(tmpdir(), 'atrium-config-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

test('a bad --config file stops start-up with exit code 1 and the key named', async () => {
  const file = join(dir, 'bad.yaml');
  writeFileSync(file, 'keys:\n  k: s\nrtc:\n  udp_prot: 7882\n');
  const r = await start(['--config', file]).exited;
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /^config: rtc\.udp_prot: unknown key$/m);
  assert.ok(r.stderr.includes(`(configuration from ${file})`), r.stderr);
  assert.equal(r.stdout, '');
});

test('LIVEKIT_CONFIG is read; no keys and no --dev is an error', async () => {
  const r = await start([], { LIVEKIT_CONFIG: 'port: 7880\nrtc:\n  tcp_port: 7881\n' }).exited;
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /^config: rtc\.tcp_port: is not supported yet: /m);
  assert.match(r.stderr, /^config: keys: no API keys/m);
  assert.match(r.stderr, /\(configuration from LIVEKIT_CONFIG\)/);
});

test('a good --config with LIVEKIT_KEYS listens on port 0 and stops on SIGTERM', async () => {
  const file = join(dir, 'good.yaml');
  writeFileSync(file, 'port: 0\nbind_addresses: [127.0.0.1]\nrtc:\n  udp_port: 0\nlogging:\n  level: silent\n');
  const { child, run, exited } = start(['--config', file], { LIVEKIT_KEYS: 'APIkey: a-long-enough-secret' });
  const deadline = Date.now() + DEADLINE_MS;
  let url: string | undefined;
  while (url === undefined && run.code === null && Date.now() < deadline) {
    url = /listening at (ws:\/\/127\.0\.0\.1:\d+)/.exec(run.stdout)?.[1];
    if (url === undefined) await new Promise((r) => setTimeout(r, 50));
  }
  assert.ok(url !== undefined, `not listening: ${run.stdout}${run.stderr}`);
  assert.ok(!run.stdout.includes('a-long-enough-secret'), 'the secret is not printed outside --dev');
  const res = await fetch(url.replace('ws:', 'http:') + '/');
  assert.ok(res.status > 0);
  await res.arrayBuffer();
  child.kill('SIGTERM');
  const r = await exited;
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /SIGTERM: shutting down/);
});
