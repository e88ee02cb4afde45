// A Logger for the in-process Atrium (startAtrium({ overrides: { logger } })) that keeps its info, warn and error
// entries, so a test can wait for what the server says it did (e.g. "agent worker connection refused") and a failing
// step can print them.
import type { Logger } from '@atrium/webrtc';
import { waitFor } from '@atrium/webrtc/testing/wait-for.js';

export interface LogEntry {
  atMs: number;
  level: 'info' | 'warn' | 'error';
  msg: string;
  /** The entry's object merged over its logger's child bindings. */
  fields: Record<string, unknown>;
}

export interface RecordingLogger extends Logger {
  readonly entries: LogEntry[];
  /** One line per entry, for failure dumps. */
  lines(): string[];
  /** The first entry with message `msg` (and `match`), waiting for it. */
  waitFor(msg: string, match: (fields: Record<string, unknown>) => boolean, options: { label: string; timeoutMs: number }): Promise<LogEntry>;
}

export function recordingLogger(): RecordingLogger {
  const entries: LogEntry[] = [];
  const make = (bindings: Record<string, unknown>): Logger => {
    const record = (level: LogEntry['level']) => (obj: object | string, msg?: string): void => {
      const fields = typeof obj === 'string' ? { ...bindings } : { ...bindings, ...(obj as Record<string, unknown>) };
      entries.push({ atMs: Date.now(), level, msg: typeof obj === 'string' ? obj : (msg ?? ''), fields });
    };
    return {
      debug: () => undefined,
      info: record('info'),
      warn: record('warn'),
      error: record('error'),
      child: (more) => make({ ...bindings, ...more }),
    };
  };
  const root = make({});
  return {
    ...root,
    entries,
    lines: () =>
      entries.map((e) => `${new Date(e.atMs).toISOString().slice(11, 23)} atrium ${e.level} ${e.msg} ${JSON.stringify(e.fields, (_k, v: unknown) => (typeof v === 'bigint' ? String(v) : v))}`),
    waitFor: (msg, match, options) =>
      waitFor(() => entries.find((e) => e.msg === msg && match(e.fields)), {
        label: `Atrium to log "${msg}" (${options.label})`,
        timeoutMs: options.timeoutMs,
        describe: () => `last entries: ${entries.slice(-6).map((e) => e.msg).join(' | ')}`,
      }),
  };
}
