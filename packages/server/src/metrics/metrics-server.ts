// The Prometheus endpoint: its own HTTP listener on `prometheus_port` (as LiveKit), serving GET /metrics
// (and `/`, since LiveKit's handler answers any path) in the text format 0.0.4; behind HTTP Basic auth when
// `prometheus.username` / `password` are set (basic-auth.ts).
import { createServer as createHttpServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from '@atrium/webrtc';
import type { MetricsRegistry } from './registry.js';
import { CONTENT_TYPE } from './registry.js';
import type { MetricsAuth } from '../config/server-config.js';
import { METRICS_AUTH_CHALLENGE, isAuthorized } from './basic-auth.js';

export interface MetricsServer {
  readonly port: number;
  close(): Promise<void>;
}

/** Listens on every bind address (one port; 0 = ephemeral, the first address picks it). `auth`: required credentials. */
export async function startMetricsServer(opts: {
  registry: MetricsRegistry;
  port: number;
  bindAddresses: readonly string[];
  logger: Logger;
  auth?: MetricsAuth | null;
}): Promise<MetricsServer> {
  const auth = opts.auth ?? null;
  const servers: Server[] = [];
  let port = opts.port;
  const handler = (req: IncomingMessage, res: ServerResponse): void => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { Allow: 'GET, HEAD', 'Content-Type': 'text/plain; charset=utf-8' }).end('method not allowed');
      return;
    }
    if (auth !== null && !isAuthorized(req.headers.authorization, auth)) {
      res.writeHead(401, { 'WWW-Authenticate': METRICS_AUTH_CHALLENGE, 'Content-Type': 'text/plain; charset=utf-8' }).end('unauthorized');
      return;
    }
    if (path !== '/metrics' && path !== '/') {
      res.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8' }).end('not found; metrics are at /metrics');
      return;
    }
    let body: string;
    try {
      body = opts.registry.render();
    } catch (err) {
      opts.logger.error({ err }, 'metrics scrape failed');
      res.writeHead(500, { 'Content-Type': 'text/plain; charset=utf-8' }).end('metrics scrape failed');
      return;
    }
    res.writeHead(200, { 'Content-Type': CONTENT_TYPE, 'Content-Length': Buffer.byteLength(body) });
    res.end(req.method === 'HEAD' ? undefined : body);
  };
  const closeAll = (): Promise<void> =>
    Promise.all(
      servers.map(
        (s) =>
          new Promise<void>((resolve) => {
            s.close(() => resolve());
            s.closeAllConnections();
          }),
      ),
    ).then(() => undefined);
  try {
    for (const address of opts.bindAddresses) {
      const server = createHttpServer(handler);
      port = await new Promise<number>((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, address, () => {
          server.off('error', reject);
          resolve((server.address() as AddressInfo).port);
        });
      });
      servers.push(server);
    }
  } catch (err) {
    await closeAll();
    throw err;
  }
  return { port, close: closeAll };
}
