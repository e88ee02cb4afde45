// Helpers shared by the churn benchmarks: the server child process over IPC, a counting webhook receiver,
// and the least-squares slope of memory samples.
import { fork } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import type { ChurnSample } from './churn-server.js';
import { request, type Reply } from './bench-util.js';

export type { ChurnSample } from './churn-server.js';


export interface ChurnServerProcess {
  child: ChildProcess;
  url: string;
  metricsPort: number;
  request(msg: object, want: string): Promise<Reply>;
  sample(): Promise<ChurnSample>;
  snapshot(): Promise<string>;
  exit(): Promise<void>;
}

/** Forks bench/src/churn-server.ts (`fake` or `webrtc` media) with --expose-gc and waits until it listens. */
export async function startChurnServer(mode: 'fake' | 'webrtc', webhookUrl: string): Promise<ChurnServerProcess> {
  const child = fork(fileURLToPath(new URL('./churn-server.ts', import.meta.url)), [mode, webhookUrl], {
    // CHURN_SERVER_FLAGS adds V8/Node flags to the server, e.g. `--jitless` to tell compiled code from data.
    execArgv: ['--expose-gc', ...(process.env.CHURN_SERVER_FLAGS ?? '').split(' ').filter(Boolean), '--import', 'tsx'],
  });
  const ready = await new Promise<Reply>((resolve, reject) => {
    child.once('message', (m: Reply) => resolve(m));
    child.once('exit', (code) => reject(new Error(`churn server exited (${code})`)));
  });
  const ask = (msg: object, want: string): Promise<Reply> => request(child, msg, want);
  return {
    child,
    url: ready.url as string,
    metricsPort: ready.metricsPort as number,
    request: ask,
    sample: async () => (await ask({ op: 'sample' }, 'sample')) as unknown as ChurnSample,
    snapshot: async () => (await ask({ op: 'snapshot' }, 'snapshot')).path as string,
    exit: async () => {
      const exited = new Promise((r) => child.once('exit', r));
      child.send({ op: 'exit' });
      await exited;
    },
  };
}

/** A webhook endpoint that answers 200 and only counts (verification is the webhook tests' job). */
export async function startCountingReceiver(): Promise<{ url: string; readonly count: number; close(): Promise<void> }> {
  let count = 0;
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      count++;
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/webhook`,
    get count() {
      return count;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** Least-squares slope of y over x (bytes per cycle when x is cycles and y bytes). */
export function slope(points: ReadonlyArray<{ x: number; y: number }>): number {
  const n = points.length;
  if (n < 2) return 0;
  const mx = points.reduce((s, p) => s + p.x, 0) / n;
  const my = points.reduce((s, p) => s + p.y, 0) / n;
  let num = 0;
  let den = 0;
  for (const p of points) {
    num += (p.x - mx) * (p.y - my);
    den += (p.x - mx) ** 2;
  }
  return den === 0 ? 0 : num / den;
}

export const mib = (bytes: number): string => (bytes / (1 << 20)).toFixed(2);
