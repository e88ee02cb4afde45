// Headless Chromium for the e2e tests: launches it (flags and profile: @atrium/webrtc/testing/chromium.ts), serves
// the participant page (livekit-client's UMD bundle as published) and opens pages.
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BrowserContext } from 'playwright-core';
import { launchChromiumContext, type ChromiumContext, type LaunchChromiumOptions } from '@atrium/webrtc/testing/chromium.js';
import { BrowserParticipant } from './browser-participant.js';

const fixturesDir = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures');
const livekitClientUmdPath = join(
  dirname(createRequire(import.meta.url).resolve('livekit-client')),
  'livekit-client.umd.js',
);

/** `extraArgs` and `omitArgs` adjust the Chromium flags (CHROMIUM_ARGS in @atrium/webrtc/testing/chromium.ts). */
export interface LaunchBrowserOptions extends LaunchChromiumOptions {
  /** livekit-client log level set in every page before connecting ('info' unless E2E_LK_LOG is set). */
  livekitLogLevel?: 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'silent';
  /**
   * Serve the participant page through Playwright's routing instead of the network: for a Chromium in another network
   * namespace, which cannot reach the page server on this one's 127.0.0.1.
   */
  routePages?: boolean;
}

export interface BrowserHarness {
  context: BrowserContext;
  /** http://127.0.0.1:<port>/ serving the participant page. */
  pageUrl: string;
  /** Opens a new page (tab) with livekit-client loaded; `label` prefixes its log lines. */
  openParticipant(label: string): Promise<BrowserParticipant>;
  /** Opens one page per label, in parallel. */
  openParticipants(labels: string[]): Promise<BrowserParticipant[]>;
  /** Every console message and page error of every page so far, one line each, oldest first. */
  logs(): string[];
  /** Closes every page, the browser, the page server, and removes the profile directory. Idempotent. */
  close(): Promise<void>;
}

export async function launchBrowser(options: LaunchBrowserOptions = {}): Promise<BrowserHarness> {
  const logLines: string[] = [];
  const startedAtMs = Date.now();
  const log = (line: string): void => {
    logLines.push(`+${((Date.now() - startedAtMs) / 1000).toFixed(3)}s ${line}`);
  };
  const pageServer = await startPageServer();
  let chromium: ChromiumContext;
  try {
    chromium = await launchChromiumContext(options);
  } catch (err) {
    await closeServer(pageServer.server);
    throw err;
  }
  const { context } = chromium;
  if (options.routePages) {
    await context.route(`${pageServer.url}**`, (route) => {
      const file = pageServer.files.get(new URL(route.request().url()).pathname);
      if (!file) return route.fulfill({ status: 404, contentType: 'text/plain', body: 'not found' });
      return route.fulfill({ status: 200, contentType: file.type, body: readFileSync(file.path), headers: { 'cache-control': 'no-store' } });
    });
  }
  const level = options.livekitLogLevel ?? (process.env['E2E_LK_LOG'] as LaunchBrowserOptions['livekitLogLevel']) ?? 'info';
  let closing: Promise<void> | undefined;

  const harness: BrowserHarness = {
    context,
    pageUrl: pageServer.url,
    openParticipants: (labels) => Promise.all(labels.map((label) => harness.openParticipant(label))),
    async openParticipant(label) {
      const page = await context.newPage();
      page.on('console', (msg) => log(`[${label}] console.${msg.type()}: ${msg.text()}`));
      page.on('pageerror', (err) => log(`[${label}] pageerror: ${err.stack ?? err.message}`));
      page.on('crash', () => log(`[${label}] page crashed`));
      page.on('requestfailed', (req) => log(`[${label}] request failed: ${req.url()} ${req.failure()?.errorText ?? ''}`));
      await page.goto(pageServer.url, { waitUntil: 'load', timeout: 15_000 });
      const participant = new BrowserParticipant(label, page);
      const version = await participant.call<string>('version');
      if (typeof version !== 'string') throw new Error(`[${label}] livekit-client did not load (LivekitClient.version missing)`);
      await participant.call('setLogLevel', level);
      return participant;
    },
    logs: () => logLines.slice(),
    close() {
      closing ??= (async () => {
        try {
          await chromium.close();
        } catch (err) {
          log(`closing the browser failed: ${String(err)}`);
        }
        await closeServer(pageServer.server);
      })();
      return closing;
    },
  };
  return harness;
}

/** Serves the fixture page, the page helper and livekit-client's UMD bundle on 127.0.0.1 (free port). */
async function startPageServer(): Promise<{ server: Server; url: string; files: ReadonlyMap<string, { path: string; type: string }> }> {
  const files = new Map<string, { path: string; type: string }>([
    ['/', { path: join(fixturesDir, 'participant-page.html'), type: 'text/html; charset=utf-8' }],
    ['/participant-page.js', { path: join(fixturesDir, 'participant-page.js'), type: 'text/javascript; charset=utf-8' }],
    ['/livekit-client.umd.js', { path: livekitClientUmdPath, type: 'text/javascript; charset=utf-8' }],
  ]);
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    if (path === '/favicon.ico') {
      res.writeHead(204).end();
      return;
    }
    const file = files.get(path);
    if (!file) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
      return;
    }
    res.writeHead(200, { 'content-type': file.type, 'cache-control': 'no-store' }).end(readFileSync(file.path));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return { server, url: `http://127.0.0.1:${port}/`, files };
}

function closeServer(server: Server): Promise<void> {
  server.closeAllConnections();
  return new Promise((resolve) => server.close(() => resolve()));
}
