// Suite fixtures for e2e files: start Atrium and headless Chromium before the file's tests and close both
// after them, each step bounded so a hung close never keeps the run alive.
import { after, before } from 'node:test';
import { withTimeout } from '@atrium/webrtc/testing/wait-for.js';
import { launchBrowser, type BrowserHarness, type LaunchBrowserOptions } from './browser.js';
import { startAtrium, type AtriumUnderTest, type StartAtriumOptions } from './server.js';

export const ATRIUM_START_TIMEOUT_MS = 15_000;
export const CHROMIUM_LAUNCH_TIMEOUT_MS = 30_000;

/** Runs `work` within `timeoutMs`; a failure or timeout is written to stderr, not thrown (teardown goes on). */
export async function boundedClose(what: string, work: () => Promise<void>, timeoutMs: number): Promise<void> {
  await withTimeout(work(), timeoutMs, what).catch((err: unknown) => process.stderr.write(`${what}: ${String(err)}\n`));
}

export interface AtriumAndBrowser {
  /** Both started (throws inside a test if `before` failed). */
  started(): { server: AtriumUnderTest; browser: BrowserHarness };
}

/** Registers before/after hooks: one Atrium (with `atrium` options) and one Chromium for the whole file. */
export function useAtriumAndBrowser(opts: { atrium?: StartAtriumOptions; browser?: LaunchBrowserOptions } = {}): AtriumAndBrowser {
  let server: AtriumUnderTest | undefined;
  let browser: BrowserHarness | undefined;
  before(async () => {
    server = await withTimeout(startAtrium(opts.atrium), ATRIUM_START_TIMEOUT_MS, 'Atrium to start');
    browser = await withTimeout(launchBrowser(opts.browser), CHROMIUM_LAUNCH_TIMEOUT_MS, 'Chromium to launch');
  });
  after(async () => {
    await boundedClose('closing Chromium', () => browser?.close() ?? Promise.resolve(), 15_000);
    await boundedClose('closing Atrium', () => server?.close() ?? Promise.resolve(), 10_000);
  });
  return {
    started() {
      if (!server || !browser) throw new Error('Atrium and Chromium did not start (see the before hook)');
      return { server, browser };
    },
  };
}
