// Headless Chromium for tests: where the binary is, the flags WebRTC on loopback needs (each one explained) and
// a launcher giving a playwright-core persistent context on a fresh temporary profile.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';

export const CHROMIUM_PATH = '/usr/bin/chromium';

/** Tests that need Chromium skip themselves when this is false. */
export const hasChromium = (): boolean => existsSync(CHROMIUM_PATH);

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
 * - The rest are the usual ones for a headless test run in a container (no sandbox, GPU, QUIC, first-run, sync,
 *   component updates or background networking); not measured one by one.
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

export interface LaunchChromiumOptions {
  /** Extra Chromium flags appended to CHROMIUM_ARGS. */
  extraArgs?: string[];
  /** Flags of CHROMIUM_ARGS to leave out (for finding out which ones matter). */
  omitArgs?: string[];
  /** Environment of the browser process (default: this process's), e.g. a HOME whose NSS database trusts a test CA. */
  env?: Record<string, string | undefined>;
  /** Another executable taking Chromium's arguments (a wrapper that starts it in another network namespace). */
  executablePath?: string;
}

export interface ChromiumContext {
  context: BrowserContext;
  /**
   * Closes the browser and removes the profile directory. Idempotent. Rejects when closing the browser failed
   * (the directory is removed all the same).
   */
  close(): Promise<void>;
}

/** Launches headless Chromium on a new temporary profile directory (removed again by `close()`). */
export async function launchChromiumContext(opts: LaunchChromiumOptions = {}): Promise<ChromiumContext> {
  const profileDir = mkdtempSync(join(tmpdir(), 'atrium-chromium-'));
  const removeProfile = (): void => rmSync(profileDir, { recursive: true, force: true });
  let context: BrowserContext;
  try {
    context = await chromium.launchPersistentContext(profileDir, {
      headless: true,
      executablePath: opts.executablePath ?? CHROMIUM_PATH,
      args: [...CHROMIUM_ARGS.filter((a) => !opts.omitArgs?.includes(a)), ...(opts.extraArgs ?? [])],
      timeout: 30_000,
      ...(opts.env !== undefined ? { env: opts.env } : {}),
    });
  } catch (err) {
    removeProfile();
    throw err;
  }
  let closing: Promise<void> | undefined;
  return {
    context,
    close() {
      closing ??= (async () => {
        try {
          await context.close();
        } finally {
          removeProfile();
        }
      })();
      return closing;
    },
  };
}
