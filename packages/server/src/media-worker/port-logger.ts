// A Logger for a media worker thread: each line goes to the main thread as a message and is written there by the
// server's logger (one output, one format, the same test log recorders), with the child bindings it was made with.
// Lines under the configured level are dropped in the worker, so debug logging costs nothing when it is off.
import type { Logger } from '@atrium/webrtc';
import type { FromWorker } from './protocol.js';

const LEVELS: Record<string, number> = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60, silent: Infinity };

type Level = 'debug' | 'info' | 'warn' | 'error';

/** Makes errors structured-clone safe and keeps what pino's err serializer would show. */
function plain(obj: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(obj)) {
    if (v instanceof Error) {
      const code = (v as { code?: unknown }).code;
      out[k] = { type: v.name, message: v.message, stack: v.stack, ...(code !== undefined ? { code: String(code) } : {}) };
    } else if (typeof v === 'function' || typeof v === 'symbol') {
      out[k] = String(v);
    } else if (typeof v === 'bigint') {
      out[k] = v.toString();
    } else {
      out[k] = v;
    }
  }
  return out;
}

export function createPortLogger(post: (m: FromWorker) => void, level: string, bindings: Record<string, unknown> = {}): Logger {
  const threshold = LEVELS[level] ?? LEVELS['info']!;
  const write = (lvl: Level) => (obj: object | string, msg?: string): void => {
    if (LEVELS[lvl]! < threshold) return;
    const fields = typeof obj === 'string' ? {} : plain(obj as Record<string, unknown>);
    const text = typeof obj === 'string' ? obj : msg;
    try {
      post({ t: 'log', level: lvl, bindings, obj: fields, msg: text });
    } catch {
      post({ t: 'log', level: lvl, bindings, obj: {}, msg: text });
    }
  };
  return {
    debug: write('debug'),
    info: write('info'),
    warn: write('warn'),
    error: write('error'),
    child: (more) => createPortLogger(post, level, { ...bindings, ...more }),
  };
}
