// Console output of the server's logs: pino JSON lines as they are (logging.json: true), or one readable line
// per entry (LiveKit's default json: false): `HH:MM:SS.mmm LEVEL message room=.. participant=.. key=value`.
// Writes never throw and a closed stdout (EPIPE) never crashes the process: output just stops.

/** A pino destination: it is handed one serialized JSON line (with its newline) per entry. */
export interface LogDestination {
  write(line: string): void;
}

/** Context keys printed first, in this order; pino's own bookkeeping keys are not printed. */
const CONTEXT_KEYS = ['room', 'roomID', 'participant', 'pID', 'track'] as const;
const SKIPPED_KEYS = new Set(['level', 'time', 'msg', 'pid', 'hostname', 'name', 'v', ...CONTEXT_KEYS]);

const LEVEL_NAMES: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' };
/** ANSI colours per level, used only when the output is a terminal. */
const LEVEL_COLOURS: Record<number, string> = { 10: '\x1b[90m', 20: '\x1b[36m', 30: '\x1b[32m', 40: '\x1b[33m', 50: '\x1b[31m', 60: '\x1b[35m' };
const RESET = '\x1b[0m';

export interface ConsoleFormatOptions {
  /** Clock time in UTC instead of the process's time zone (tests). */
  utc?: boolean;
  /** Colour the level (a terminal). */
  colour?: boolean;
}

function pad(n: number, width: number): string {
  return String(n).padStart(width, '0');
}

function clockTime(ms: number, utc: boolean): string {
  const d = new Date(ms);
  const [h, m, s] = utc ? [d.getUTCHours(), d.getUTCMinutes(), d.getUTCSeconds()] : [d.getHours(), d.getMinutes(), d.getSeconds()];
  return `${pad(h, 2)}:${pad(m, 2)}:${pad(s, 2)}.${pad(d.getUTCMilliseconds(), 3)}`;
}

/** A value as it reads after `key=`: bare when unambiguous, else JSON (quoted strings, objects). */
function formatValue(v: unknown): string {
  if (typeof v === 'string') return v !== '' && /^[^\s"=\\]+$/.test(v) ? v : JSON.stringify(v);
  if (v === null || typeof v === 'number' || typeof v === 'boolean') return String(v);
  return JSON.stringify(v) ?? String(v);
}

/** pino's serialized error ({type, message, stack}): `Type: message` inline, the stack's frames on the lines below. */
function formatError(v: unknown): { inline: string; stack: string } {
  if (typeof v !== 'object' || v === null) return { inline: formatValue(v), stack: '' };
  const e = v as { type?: unknown; message?: unknown; stack?: unknown; code?: unknown };
  const head = `${typeof e.type === 'string' ? e.type : 'Error'}: ${typeof e.message === 'string' ? e.message : ''}`;
  const code = typeof e.code === 'string' || typeof e.code === 'number' ? ` (${e.code})` : '';
  const frames = typeof e.stack === 'string' ? e.stack.split('\n').filter((l) => /^\s+at /.test(l)) : [];
  return { inline: JSON.stringify(head + code), stack: frames.map((l) => `\n    ${l.trim()}`).join('') };
}

/** One pino JSON line (with or without its newline) as a console line ending in a newline; other text passes through. */
export function formatLogLine(jsonLine: string, opts: ConsoleFormatOptions = {}): string {
  let entry: Record<string, unknown>;
  try {
    const parsed: unknown = JSON.parse(jsonLine);
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return jsonLine.endsWith('\n') ? jsonLine : `${jsonLine}\n`;
    entry = parsed as Record<string, unknown>;
  } catch {
    return jsonLine.endsWith('\n') ? jsonLine : `${jsonLine}\n`;
  }
  const level = typeof entry['level'] === 'number' ? entry['level'] : 30;
  const levelName = (LEVEL_NAMES[level] ?? `L${level}`).padEnd(5);
  const time = typeof entry['time'] === 'number' ? clockTime(entry['time'], opts.utc === true) : '--:--:--.---';
  let out = `${time} ${opts.colour ? `${LEVEL_COLOURS[level] ?? ''}${levelName}${RESET}` : levelName}`;
  if (typeof entry['msg'] === 'string' && entry['msg'] !== '') out += ` ${entry['msg']}`;
  for (const k of CONTEXT_KEYS) if (entry[k] !== undefined) out += ` ${k}=${formatValue(entry[k])}`;
  let stack = '';
  for (const [k, v] of Object.entries(entry)) {
    if (SKIPPED_KEYS.has(k) || v === undefined) continue;
    if (k === 'err' || k === 'error') {
      const e = formatError(v);
      out += ` ${k}=${e.inline}`;
      stack += e.stack;
    } else {
      out += ` ${k}=${formatValue(v)}`;
    }
  }
  return `${out}${stack}\n`;
}

/** The part of a stream the output needs (process.stdout in production). */
export interface OutputStream {
  write(chunk: string): unknown;
  on(event: 'error', listener: (err: Error) => void): unknown;
  isTTY?: boolean;
}

const guarded = new WeakSet<object>();
const brokenStreams = new WeakSet<object>();

/**
 * Makes write errors of `stream` (EPIPE when the reader went away, EBADF, ...) harmless: an error listener that
 * marks it broken, so later log writes are skipped. Idempotent; also covers console.log on the same stream.
 */
export function guardOutput(stream: OutputStream): void {
  if (guarded.has(stream)) return;
  guarded.add(stream);
  stream.on('error', () => void brokenStreams.add(stream));
}

/** Whether a write to `stream` has failed (its output is dropped from then on). */
export function isOutputBroken(stream: OutputStream): boolean {
  return brokenStreams.has(stream);
}

/** The server's log destination on `stream` (default process.stdout): JSON lines as is, or console lines. */
export function createLogDestination(opts: { json: boolean; stream?: OutputStream; format?: ConsoleFormatOptions }): LogDestination {
  const stream = opts.stream ?? process.stdout;
  guardOutput(stream);
  const format: ConsoleFormatOptions = opts.format ?? { colour: stream.isTTY === true && process.env['NO_COLOR'] === undefined };
  return {
    write(line: string): void {
      if (brokenStreams.has(stream)) return;
      try {
        stream.write(opts.json ? line : formatLogLine(line, format));
      } catch {
        brokenStreams.add(stream); // a synchronous failure: stop writing rather than throw into the caller
      }
    },
  };
}
