// The server side of bench/src/churn.bench.ts: a whole Atrium (createServer) in its own process, so its heap and
// RSS are measured alone. Media is the churn double (`fake`) or the real WebRTC stack (`webrtc`). Webhooks go to
// the URL given; metrics are on. Run with --expose-gc; driven over IPC: `sample` (forced GC, then heap and
// resources), `snapshot` (a heap snapshot file), `exit`.
import { writeHeapSnapshot } from 'node:v8';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '@atrium/webrtc';
import { createServer } from '@atrium/server/create-server.js';
import { devConfig } from '@atrium/server/config/server-config.js';
import { ChurnMediaFactory } from './churn-media.js';

export type ChurnServerRequest = { op: 'sample' } | { op: 'snapshot' } | { op: 'exit' };

export interface ChurnSample {
  op: 'sample';
  heapUsedBytes: number;
  rssBytes: number;
  externalBytes: number;
  resources: Record<string, number>;
  /** process.getActiveResourcesInfo() by kind (timers, sockets...). */
  handles: Record<string, number>;
}

const [mode = 'fake', webhookUrl = ''] = process.argv.slice(2);
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with --expose-gc');

const server = await createServer(
  devConfig({
    port: 0,
    rtc: { udpPort: 0 },
    logging: { level: 'warn' },
    room: { emptyTimeoutSec: 1, departureTimeoutSec: 0 },
    webhook: webhookUrl ? { apiKey: 'devkey', urls: [webhookUrl] } : {},
  }),
  { logger: silentLogger, prometheusPort: 0, ...(mode === 'fake' ? { mediaFactory: new ChurnMediaFactory() } : {}) },
);

async function settledHeap(): Promise<number> {
  // Let pending immediates and microtasks finish, then collect twice (weak maps, finalizers).
  for (let i = 0; i < 3; i++) {
    await new Promise((r) => setImmediate(r));
    gc!();
  }
  return process.memoryUsage().heapUsed;
}

process.on('message', (msg: ChurnServerRequest) => {
  void (async () => {
    switch (msg.op) {
      case 'sample': {
        const heapUsedBytes = await settledHeap();
        const mem = process.memoryUsage();
        const handles: Record<string, number> = {};
        for (const kind of process.getActiveResourcesInfo()) handles[kind] = (handles[kind] ?? 0) + 1;
        const sample: ChurnSample = { op: 'sample', heapUsedBytes, rssBytes: mem.rss, externalBytes: mem.external, resources: { ...server.resources() }, handles };
        process.send!(sample);
        break;
      }
      case 'snapshot': {
        await settledHeap();
        process.send!({ op: 'snapshot', path: writeHeapSnapshot(join(tmpdir(), `churn-${process.pid}-${Date.now()}.heapsnapshot`)) });
        break;
      }
      case 'exit':
        await server.close();
        process.exit(0);
    }
  })();
});
process.send!({ op: 'ready', url: server.url, metricsPort: server.metricsPort, udpPort: server.udpPort });
