// Pure argument helpers: strict flag parsing with readable errors, typed flag access, durations and counts.
import { parseArgs } from 'node:util';
import { UsageError } from './command.js';
import type { FlagValues, OptionsConfig, ParsedArgs } from './command.js';

/** Parses `args` strictly against `options`; unknown flags, missing values and extra positionals are UsageErrors. */
export function parseCommandArgs(args: string[], options: OptionsConfig, maxPositionals = 0): ParsedArgs {
  let parsed;
  try {
    parsed = parseArgs({ args, options, strict: true, allowPositionals: true });
  } catch (err) {
    throw new UsageError(describeParseError(err));
  }
  if (parsed.positionals.length > maxPositionals) {
    const extra = parsed.positionals.slice(maxPositionals);
    throw new UsageError(`unexpected argument${extra.length > 1 ? 's' : ''}: ${extra.map((a) => `'${a}'`).join(' ')}`);
  }
  return { values: parsed.values as FlagValues, positionals: parsed.positionals };
}

function describeParseError(err: unknown): string {
  const e = err as { code?: string; message?: string };
  const message = e.message ?? String(err);
  if (e.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
    const flag = /'([^']+)'/.exec(message)?.[1];
    return flag !== undefined ? `unknown flag '${flag}'` : message;
  }
  if (e.code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
    const flag = /Option '([^']+)'/.exec(message)?.[1];
    if (flag !== undefined && message.includes('argument missing')) return `flag '${flagName(flag)}' needs a value`;
    if (flag !== undefined && message.includes('does not take an argument')) return `flag '${flagName(flag)}' takes no value`;
  }
  return message;
}

/** parseArgs quotes options as '-r, --room <value>' or '--room'; keep the long name. */
function flagName(quoted: string): string {
  return /--[\w-]+/.exec(quoted)?.[0] ?? quoted;
}

export function stringFlag(values: FlagValues, name: string): string | undefined {
  const v = values[name];
  return typeof v === 'string' ? v : undefined;
}

export function boolFlag(values: FlagValues, name: string): boolean {
  return values[name] === true;
}

export function listFlag(values: FlagValues, name: string): string[] {
  const v = values[name];
  if (Array.isArray(v)) return v.filter((x): x is string => typeof x === 'string');
  return typeof v === 'string' ? [v] : [];
}

/** The value of `--name`, or a UsageError naming the flag. */
export function requireFlag(values: FlagValues, name: string, what?: string): string {
  const v = stringFlag(values, name);
  if (v === undefined || v === '') throw new UsageError(`missing required flag --${name}${what !== undefined ? ` (${what})` : ''}`);
  return v;
}

/** `--flag VALUE` or the one positional argument (like `lk room delete NAME`); one of them is required. */
export function flagOrPositional(args: ParsedArgs, name: string, what: string): string {
  const flag = stringFlag(args.values, name);
  const positional = args.positionals[0];
  if (flag !== undefined && positional !== undefined && flag !== positional) {
    throw new UsageError(`--${name} '${flag}' and argument '${positional}' disagree; give one`);
  }
  const v = flag ?? positional;
  if (v === undefined || v === '') throw new UsageError(`missing required flag --${name} (${what})`);
  return v;
}

const DURATION_UNIT_SEC: Readonly<Record<string, number>> = { s: 1, m: 60, h: 3600, d: 86400 };

/**
 * Seconds in a duration: a plain number of seconds ('90') or units combined ('1h', '30m', '2h30m', '45s', '1d').
 * Throws a UsageError naming `flag` for anything else, for zero, and for negative values.
 */
export function parseDurationSec(text: string, flag: string): number {
  const trimmed = text.trim();
  let seconds: number | undefined;
  if (/^\d+$/.test(trimmed)) {
    seconds = Number(trimmed);
  } else if (/^(\d+(\.\d+)?[smhd])+$/.test(trimmed)) {
    seconds = 0;
    for (const m of trimmed.matchAll(/(\d+(?:\.\d+)?)([smhd])/g)) {
      seconds += Number(m[1]) * (DURATION_UNIT_SEC[m[2] ?? 's'] ?? 1);
    }
    seconds = Math.round(seconds);
  }
  if (seconds === undefined || !Number.isSafeInteger(seconds) || seconds <= 0) {
    throw new UsageError(`--${flag}: '${text}' is not a duration (examples: 90, 90s, 30m, 1h, 2h30m, 1d)`);
  }
  return seconds;
}

/** A whole number >= `min` from `--flag`, or undefined when the flag is absent. */
export function optionalInteger(values: FlagValues, flag: string, min = 0): number | undefined {
  const v = stringFlag(values, flag);
  if (v === undefined) return undefined;
  const n = Number(v);
  if (v.trim() === '' || !Number.isSafeInteger(n) || n < min) {
    throw new UsageError(`--${flag}: '${v}' is not a whole number${min > 0 ? ` >= ${min}` : ''}`);
  }
  return n;
}

/** Seconds from `--flag` given as seconds or a duration ('5m'); undefined when absent. */
export function optionalDurationSec(values: FlagValues, flag: string): number | undefined {
  const v = stringFlag(values, flag);
  if (v === undefined) return undefined;
  if (v.trim() === '0') return 0;
  return parseDurationSec(v, flag);
}

/** `key=value` pairs from a repeated flag, e.g. --attribute role=host. */
export function parseKeyValues(pairs: string[], flag: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new UsageError(`--${flag}: '${pair}' is not key=value`);
    out[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return out;
}
