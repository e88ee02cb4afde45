// Test helpers for webhooks: a local receiver on 127.0.0.1 that verifies every request with livekit-server-sdk's
// WebhookReceiver (as an application backend would), and a logger that records warnings.
import { createServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { WebhookEvent } from '@livekit/protocol';
import { WebhookReceiver } from 'livekit-server-sdk';
import type { Logger } from '@atrium/webrtc';

export interface ReceivedWebhook {
  body: string;
  auth: string;
  contentType: string;
  userAgent: string;
  event: WebhookEvent;
}

/**
 * A local webhook receiver. Requests that fail verification get 401 and land in `rejected`; verified ones get
 * the status `respond` picks (called with the event and the 1-based request number) and, when 2xx, land in `received`.
 */
export async function startWebhookReceiver(
  apiKey: string,
  apiSecret: string,
  respond: (event: WebhookEvent, requestNo: number) => number | Promise<number> = () => 200,
) {
  const received: ReceivedWebhook[] = [];
  const rejected: string[] = [];
  let requests = 0;
  const verifier = new WebhookReceiver(apiKey, apiSecret);
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const auth = req.headers.authorization ?? '';
      const n = ++requests;
      verifier.receive(body, auth).then(
        async (event) => {
          const status = await respond(event, n);
          if (status >= 200 && status < 300) {
            received.push({
              body,
              auth,
              contentType: req.headers['content-type'] ?? '',
              userAgent: req.headers['user-agent'] ?? '',
              event,
            });
          }
          res.writeHead(status).end();
        },
        (err: unknown) => {
          rejected.push(String(err));
          res.writeHead(401).end();
        },
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/webhook`;
  return {
    url,
    received,
    rejected,
    get requests() {
      return requests;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

export function recordingLogger(): Logger & { warnings: string[] } {
  const warnings: string[] = [];
  const l: Logger & { warnings: string[] } = {
    warnings,
    debug: () => {},
    info: () => {},
    warn: (obj, msg) => void warnings.push(msg ?? String(obj)),
    error: (obj, msg) => void warnings.push(`error: ${msg ?? String(obj)}`),
    child: () => l,
  };
  return l;
}
