// Bounded polling for tests and benchmarks: wait until a condition holds or fail with a labelled error.
// Every real-time wait in the tests goes through here, so a test never hangs and a failure names the step that failed.

export interface WaitForOptions {
  /** What is being waited for; it appears in the error ("timed out after 10000 ms waiting for <label>"). */
  label: string;
  timeoutMs: number;
  /** Delay between two polls; defaults to 100 ms. */
  intervalMs?: number;
  /** Called when the wait times out; its text is appended to the error (e.g. the last stats seen). */
  describe?: () => string | Promise<string>;
}

export class WaitTimeoutError extends Error {
  readonly code = 'wait_timeout';
  readonly label: string;
  constructor(label: string, message: string) {
    super(message);
    this.name = 'WaitTimeoutError';
    this.label = label;
  }
}

/**
 * Polls `predicate` until it returns a value other than `false`, `undefined` or `null`, and returns that value.
 * A predicate that throws is treated as "not yet"; its last error is included in the timeout message.
 */
export async function waitFor<T>(
  predicate: () => T | false | undefined | null | Promise<T | false | undefined | null>,
  options: WaitForOptions,
): Promise<T> {
  const intervalMs = options.intervalMs ?? 100;
  const deadline = Date.now() + options.timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await predicate();
      if (value !== false && value !== undefined && value !== null) return value;
      lastError = undefined;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() >= deadline) break;
    await delay(Math.min(intervalMs, Math.max(0, deadline - Date.now())));
  }
  let message = `timed out after ${options.timeoutMs} ms waiting for ${options.label}`;
  if (lastError !== undefined) message += `; last error: ${errorText(lastError)}`;
  if (options.describe) {
    try {
      message += `; ${await options.describe()}`;
    } catch (err) {
      message += `; (describe failed: ${errorText(err)})`;
    }
  }
  throw new WaitTimeoutError(options.label, message);
}

/** Rejects with a labelled error when `promise` does not settle within `timeoutMs`. */
export async function withTimeout<T>(promise: Promise<T>, timeoutMs: number, label: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new WaitTimeoutError(label, `timed out after ${timeoutMs} ms waiting for ${label}`)),
      timeoutMs,
    );
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

export function errorText(err: unknown): string {
  if (err instanceof Error) return `${err.name}: ${err.message}`;
  return String(err);
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
