// Test support: a Logger that keeps every error-level line (message and error text), so bad-input tests can
// assert that nothing failed inside the server while it answered hostile input.
import type { Logger } from '@atrium/webrtc';

export function errorLogger(): Logger & { errors: string[] } {
  const errors: string[] = [];
  const text = (obj: object | string, msg?: string): string => {
    if (typeof obj === 'string') return obj;
    const err = (obj as { err?: unknown }).err;
    const detail = err instanceof Error ? `: ${err.name}: ${err.message}` : err !== undefined ? `: ${String(err)}` : '';
    return `${msg ?? ''}${detail}`;
  };
  const l: Logger & { errors: string[] } = {
    errors,
    debug: () => {},
    info: () => {},
    warn: () => {},
    error: (obj, msg) => void errors.push(text(obj, msg)),
    child: () => l,
  };
  return l;
}
