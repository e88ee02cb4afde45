// Runs main.ts as a process: configuration errors stop start-up with the key named; a good file starts it;
// SIGTERM drains (not ready, no new rooms, exit 0 when the last participant leaves) and a second signal exits at once.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createServer as createNetServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { TestSignalClient } from '../signal/test-signal-client.js';

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

test('a bad ATRIUM_SRTP stops start-up naming the variable; ATRIUM_SRTP=js starts on the TypeScript path', async () => {
  const bad = await start(['--dev', '--port', '0', '--udp-port', '0'], { ATRIUM_SRTP: 'fast' }).exited;
  assert.notEqual(bad.code, 0, bad.stdout);
  assert.match(bad.stderr, /ATRIUM_SRTP: expected auto, js or native, got "fast"/);
  const js = start(['--dev', '--port', '0', '--udp-port', '0'], { ATRIUM_SRTP: 'js' });
  await waitForOutput(js.run, /listening at (ws:\/\/127\.0\.0\.1:\d+)/);
  // the meeting app's address, printed by --dev (docs/web-app.md)
  await waitForOutput(js.run, /^Open http:\/\/127\.0\.0\.1:\d+\/ in a browser to join a room/m);
  assert.match(js.run.stdout, /^\d\d:\d\d:\d\d\.\d{3} INFO  TypeScript SRTP \(forced: js\) srtp=js$/m);
  js.child.kill('SIGTERM');
  assert.equal((await js.exited).code, 0, js.run.stderr);
});

test('LIVEKIT_CONFIG is read; no keys and no --dev is an error', async () => {
  const r = await start([], { LIVEKIT_CONFIG: 'port: 7880\nrtc:\n  port_range_start: 50000\n' }).exited;
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /^config: rtc\.port_range_start: is not supported yet: /m);
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
  await waitForOutput(run, /^Meeting app at http:\/\/127\.0\.0\.1:\d+\/app\/ \(links need \?token=\.\.\.; docs\/web-app\.md\)$/m);
  const res = await fetch(url.replace('ws:', 'http:') + '/');
  assert.ok(res.status > 0);
  await res.arrayBuffer();
  child.kill('SIGTERM');
  const r = await exited;
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /SIGTERM: draining/);
  assert.match(r.stdout, /drained: exiting/);
});

async function freePort(): Promise<number> {
  const s = createNetServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const { port } = s.address() as AddressInfo;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

async function waitForOutput(run: Run, re: RegExp): Promise<RegExpExecArray> {
  const deadline = Date.now() + DEADLINE_MS;
  for (;;) {
    const m = re.exec(run.stdout);
    if (m) return m;
    if (run.code !== null || Date.now() > deadline) assert.fail(`no ${re} in: ${run.stdout}${run.stderr}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

test('SIGTERM drains: not ready, new rooms refused, exit 0 when the last participant leaves; prometheus_port serves /metrics', async () => {
  const metricsPort = await freePort();
  const file = join(dir, 'drain.yaml');
  writeFileSync(file, `port: 0\nbind_addresses: [127.0.0.1]\nrtc:\n  udp_port: 0\nlogging:\n  level: silent\nprometheus_port: ${metricsPort}\n`);
  const { child, run, exited } = start(['--config', file, '--drain-timeout', '60'], { LIVEKIT_KEYS: 'devkey: secret' });
  const url = (await waitForOutput(run, /listening at (ws:\/\/127\.0\.0\.1:\d+)/))[1]!;
  const http = url.replace('ws:', 'http:');
  await waitForOutput(run, /Prometheus metrics at http:\/\/127\.0\.0\.1:\d+\/metrics/);
  const metrics = await fetch(`http://127.0.0.1:${metricsPort}/metrics`);
  assert.equal(metrics.status, 200);
  assert.match(await metrics.text(), /^livekit_room_total\{node_id="ND_\w+",node_type="SERVER"\} 0$/m);
  const alice = await TestSignalClient.join(url, 'alice', '', { roomJoin: true, room: 'r1' });
  try {
    child.kill('SIGTERM');
    await waitForOutput(run, /SIGTERM: draining/);
    const health = await fetch(http + '/');
    assert.equal(health.status, 406);
    assert.match(await health.text(), /^Not Ready/);
    await assert.rejects(TestSignalClient.join(url, 'bob', '', { roomJoin: true, room: 'r2' }), /upgrade rejected: 503/);
    assert.equal(run.code, null, 'still running while alice is in her room');
  } finally {
    alice.close();
  }
  const r = await exited;
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /drained: exiting/);
});

test('a second SIGINT exits at once with code 1', async () => {
  const file = join(dir, 'twice.yaml');
  writeFileSync(file, 'port: 0\nbind_addresses: [127.0.0.1]\nrtc:\n  udp_port: 0\nlogging:\n  level: silent\n');
  const { child, run, exited } = start(['--config', file], { LIVEKIT_KEYS: 'devkey: secret' });
  const url = (await waitForOutput(run, /listening at (ws:\/\/127\.0\.0\.1:\d+)/))[1]!;
  const alice = await TestSignalClient.join(url, 'alice', '', { roomJoin: true, room: 'r1' });
  try {
    child.kill('SIGINT');
    await waitForOutput(run, /SIGINT: draining/);
    child.kill('SIGINT');
    const r = await exited;
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stdout, /SIGINT again: exiting now/);
  } finally {
    alice.close();
  }
});

test('--drain-timeout must be a number of seconds', async () => {
  const r = await start(['--dev', '--drain-timeout', 'soon']).exited;
  assert.equal(r.code, 2);
  assert.match(r.stderr, /--drain-timeout must be a number of seconds/);
});

test('logging.json false (the default) prints console lines, true JSON lines; prometheus credentials protect /metrics', async () => {
  const metricsPort = await freePort();
  const file = join(dir, 'console.yaml');
  writeFileSync(file, `port: 0\nbind_addresses: [127.0.0.1]\nrtc:\n  udp_port: 0\nlogging:\n  level: info\nprometheus:\n  port: ${metricsPort}\n  username: scraper\n  password: "pa ss"\n`);
  const { child, run, exited } = start(['--config', file], { LIVEKIT_KEYS: 'devkey: secret' });
  await waitForOutput(run, /listening at (ws:\/\/127\.0\.0\.1:\d+)/);
  assert.match(run.stdout, /^\d\d:\d\d:\d\d\.\d{3} INFO  atrium server listening url=ws:\/\/127\.0\.0\.1:\d+ udpPort=\d+ nodeId=ND_\w+ prometheusPort=\d+$/m);
  assert.ok(!/^\{/m.test(run.stdout), `no JSON lines: ${run.stdout}`);
  // The SRTP path (native module or TypeScript) is said once, before the listening line.
  assert.match(run.stdout, /^\d\d:\d\d:\d\d\.\d{3} INFO  (native SRTP module \(|TypeScript SRTP).* srtp=(native|js)$/m);
  const denied = await fetch(`http://127.0.0.1:${metricsPort}/metrics`);
  assert.equal(denied.status, 401);
  assert.match(denied.headers.get('www-authenticate') ?? '', /^Basic realm="/);
  await denied.arrayBuffer();
  const allowed = await fetch(`http://127.0.0.1:${metricsPort}/metrics`, { headers: { Authorization: `Basic ${Buffer.from('scraper:pa ss').toString('base64')}` } });
  assert.equal(allowed.status, 200);
  assert.match(await allowed.text(), /^livekit_room_total\{/m);
  child.kill('SIGTERM');
  assert.equal((await exited).code, 0, run.stderr);

  const jsonFile = join(dir, 'json.yaml');
  writeFileSync(jsonFile, 'port: 0\nbind_addresses: [127.0.0.1]\nrtc:\n  udp_port: 0\nlogging:\n  level: info\n  json: true\n');
  const second = start(['--config', jsonFile], { LIVEKIT_KEYS: 'devkey: secret' });
  await waitForOutput(second.run, /listening at (ws:\/\/127\.0\.0\.1:\d+)/);
  const entries = second.run.stdout.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);
  const entry = entries.find((e) => e['msg'] === 'atrium server listening');
  assert.ok(entry, second.run.stdout);
  assert.equal(entry['level'], 30);
  assert.equal(entries.filter((e) => e['srtp'] === 'native' || e['srtp'] === 'js').length, 1, second.run.stdout);
  second.child.kill('SIGTERM');
  assert.equal((await second.exited).code, 0, second.run.stderr);
});

test('a closed stdout (EPIPE) does not stop the server: it serves, logs on, and drains on SIGTERM', async () => {
  const file = join(dir, 'epipe.yaml');
  writeFileSync(file, 'port: 0\nbind_addresses: [127.0.0.1]\nrtc:\n  udp_port: 0\nlogging:\n  level: debug\n');
  const { child, run, exited } = start(['--config', file], { LIVEKIT_KEYS: 'devkey: secret' });
  const url = (await waitForOutput(run, /listening at (ws:\/\/127\.0\.0\.1:\d+)/))[1]!;
  child.stdout.destroy(); // the reader goes away: every later write to stdout fails with EPIPE
  for (let i = 0; i < 3; i++) {
    const c = await TestSignalClient.join(url, `p${i}`, '', { roomJoin: true, room: 'epipe' }); // logs at info and debug
    c.close();
  }
  const health = await fetch(url.replace('ws:', 'http:') + '/');
  assert.equal(health.status, 200);
  await health.arrayBuffer();
  assert.equal(run.code, null, `still running; stderr: ${run.stderr}`);
  child.kill('SIGTERM'); // prints to the closed stdout while draining
  const r = await exited;
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stderr, '');
});
