// coturn (Debian's `turnserver`) as an outside TURN server for e2e tests: started with its own temporary config on
// loopback ports, long-term credentials for one user, loopback peers allowed (Atrium is on 127.0.0.1 in the test),
// and stopped by its pid.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createSocket } from 'node:dgram';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';

export interface Coturn {
  port: number;
  username: string;
  password: string;
  realm: string;
  pid: number;
  /** What coturn logged (stdout and stderr). */
  log(): string;
  stop(): Promise<void>;
}

/** Answers once coturn replies to a STUN Binding request on `port` (it is listening), or throws after `timeoutMs`. */
async function waitForStun(port: number, timeoutMs: number): Promise<void> {
  const socket = createSocket('udp4');
  const request = Buffer.alloc(20);
  request.writeUInt16BE(0x0001, 0);
  request.writeUInt32BE(0x2112a442, 4);
  randomBytes(12).copy(request, 8);
  try {
    await new Promise<void>((resolve, reject) => {
      const deadline = Date.now() + timeoutMs;
      const timer = setInterval(() => {
        if (Date.now() > deadline) {
          clearInterval(timer);
          reject(new Error(`coturn did not answer on UDP ${port} within ${timeoutMs} ms`));
        } else socket.send(request, port, '127.0.0.1');
      }, 100);
      socket.on('message', () => {
        clearInterval(timer);
        resolve();
      });
    });
  } finally {
    socket.close();
  }
}

export async function startCoturn(opts: { port: number; relayMin: number; relayMax: number }): Promise<Coturn> {
  const dir = mkdtempSync(join(tmpdir(), 'atrium-coturn-'));
  const username = 'atrium-e2e';
  const password = randomBytes(9).toString('base64url');
  const realm = 'atrium-e2e';
  const conf = join(dir, 'turnserver.conf');
  writeFileSync(conf, [
    'listening-ip=127.0.0.1',
    'relay-ip=127.0.0.1',
    `listening-port=${opts.port}`,
    `min-port=${opts.relayMin}`,
    `max-port=${opts.relayMax}`,
    'lt-cred-mech',
    `user=${username}:${password}`,
    `realm=${realm}`,
    'allow-loopback-peers',
    'no-tls',
    'no-dtls',
    'no-cli',
    'no-tcp-relay',
    'no-multicast-peers',
    `pidfile=${join(dir, 'turnserver.pid')}`,
    'log-file=stdout',
    'simple-log',
    'verbose',
  ].join('\n') + '\n');
  const child: ChildProcess = spawn('turnserver', ['-c', conf], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout?.setEncoding('utf8').on('data', (c: string) => (out += c));
  child.stderr?.setEncoding('utf8').on('data', (c: string) => (out += c));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) {
      process.kill(child.pid, 'SIGTERM');
      const killTimer = setTimeout(() => child.pid !== undefined && child.exitCode === null && process.kill(child.pid, 'SIGKILL'), 3000);
      await exited;
      clearTimeout(killTimer);
    }
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    if (child.pid === undefined) throw new Error('turnserver did not start');
    await waitForStun(opts.port, 10_000);
  } catch (err) {
    await stop();
    throw new Error(`${(err as Error).message}; coturn said:\n${out.slice(-2000)}`);
  }
  return { port: opts.port, username, password, realm, pid: child.pid, log: () => out, stop };
}
