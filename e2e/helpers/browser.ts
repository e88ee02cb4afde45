// Headless Chromium for the e2e tests: launches /usr/bin/chromium through playwright-core with the flags
// WebRTC on loopback needs, serves the participant page (livekit-client's UMD bundle as published) and opens pages.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type BrowserContext } from 'playwright-core';
import { BrowserParticipant } from './browser-participant.js';

export const CHROMIUM_PATH = '/usr/bin/chromium';

/**
 * Flags for headless Chromium (measured on Chromium 156 against Atrium, 2026-11-21):
 * - --use-fake-device-for-media-stream: a 640x480 fake camera and a beeping fake microphone; also the source
 *   getDisplayMedia captures (a 1280x720 "screen:-3:0" monitor surface). Without it: NotFoundError.
 * - --use-fake-ui-for-media-stream: grants getUserMedia and getDisplayMedia without a prompt. Without it
 *   getUserMedia is NotAllowedError and getDisplayMedia never settles. No screen-capture flag is needed on top
 *   (--enable-usermedia-screen-capturing and --auto-select-desktop-capture-source change nothing).
 * - --allow-loopback-in-peer-connection: needed when loopback is the only interface (`unshare -n`): without it
 *   room.connect() fails with "could not establish pc connection". With eth0 up it happens to work without it.
 * - --autoplay-policy=no-user-gesture-required and --disable-features=WebRtcHideLocalIpsWithMdns: kept from
 *   docs/environment.md; leaving either out changed nothing in these tests (the server is ICE-lite).
 * Use `omitArgs` to re-check one.
 */
export const CHROMIUM_ARGS: readonly string[] = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--use-fake-device-for-media-stream',
  '--use-fake-ui-for-media-stream',
  '--allow-loopback-in-peer-connection',
  '--disable-features=WebRtcHideLocalIpsWithMdns',
  '--autoplay-policy=no-user-gesture-required',
];

const fixturesDir = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures');
const livekitClientUmdPath = join(
  dirname(createRequire(import.meta.url).resolve('livekit-client')),
  'livekit-client.umd.js',
);

export interface LaunchBrowserOptions {
  /** Extra Chromium flags appended to CHROMIUM_ARGS. */
  extraArgs?: string[];
  /** Flags of CHROMIUM_ARGS to leave out (for finding out which ones matter). */
  omitArgs?: string[];
  /** livekit-client log level set in every page before connecting ('info' unless E2E_LK_LOG is set). */
  livekitLogLevel?: 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'silent';
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
  const profileDir = mkdtempSync(join(tmpdir(), 'atrium-e2e-chromium-'));
  let context: BrowserContext;
  try {
    context = await chromium.launchPersistentContext(profileDir, {
      headless: true,
      executablePath: CHROMIUM_PATH,
      args: [...CHROMIUM_ARGS.filter((a) => !options.omitArgs?.includes(a)), ...(options.extraArgs ?? [])],
      timeout: 30_000,
    });
  } catch (err) {
    await closeServer(pageServer.server);
    rmSync(profileDir, { recursive: true, force: true });
    throw err;
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
          await context.close();
        } catch (err) {
          log(`closing the browser failed: ${String(err)}`);
        }
        await closeServer(pageServer.server);
        rmSync(profileDir, { recursive: true, force: true });
      })();
      return closing;
    },
  };
  return harness;
}

/** Serves the fixture page, the page helper and livekit-client's UMD bundle on 127.0.0.1 (free port). */
async function startPageServer(): Promise<{ server: Server; url: string }> {
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
  return { server, url: `http://127.0.0.1:${port}/` };
}

function closeServer(server: Server): Promise<void> {
  server.closeAllConnections();
  return new Promise((resolve) => server.close(() => resolve()));
}
