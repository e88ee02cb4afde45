// Where the server is and which API key signs requests: flags, then --dev, then LIVEKIT_URL / LIVEKIT_API_KEY /
// LIVEKIT_API_SECRET (as LiveKit's `lk` and server SDKs read them). Pure, so the precedence is unit-tested.
import { UsageError } from './command.js';
import type { FlagValues, OptionsConfig } from './command.js';
import { boolFlag, stringFlag } from './args.js';

export const DEV_URL = 'http://127.0.0.1:7880';
export const DEV_API_KEY = 'devkey';
export const DEV_API_SECRET = 'secret';

/** Flags every command that talks to a server (or signs with its keys) accepts. */
export const CONNECTION_OPTIONS = {
  url: { type: 'string' },
  'api-key': { type: 'string' },
  'api-secret': { type: 'string' },
  dev: { type: 'boolean' },
} as const satisfies OptionsConfig;

export const CONNECTION_HELP: readonly (readonly [string, string])[] = [
  ['--url URL', 'server URL, http(s):// or ws(s):// (env LIVEKIT_URL)'],
  ['--api-key KEY', 'API key (env LIVEKIT_API_KEY)'],
  ['--api-secret SECRET', 'API secret (env LIVEKIT_API_SECRET)'],
  ['--dev', `the development server: ${DEV_URL}, key '${DEV_API_KEY}', secret '${DEV_API_SECRET}'`],
];

export interface Credentials {
  apiKey: string;
  apiSecret: string;
}

export interface Connection extends Credentials {
  /** http(s)://host:port, the base of the Twirp API. */
  url: string;
}

function pick(values: FlagValues, env: Readonly<Record<string, string | undefined>>, flag: string, envName: string, dev: string): string | undefined {
  const fromFlag = stringFlag(values, flag);
  if (fromFlag !== undefined) return fromFlag;
  if (boolFlag(values, 'dev')) return dev;
  const fromEnv = env[envName];
  return fromEnv !== undefined && fromEnv !== '' ? fromEnv : undefined;
}

/** The API key and secret; a UsageError says which is missing and how to give it. */
export function resolveCredentials(values: FlagValues, env: Readonly<Record<string, string | undefined>>): Credentials {
  const apiKey = pick(values, env, 'api-key', 'LIVEKIT_API_KEY', DEV_API_KEY);
  const apiSecret = pick(values, env, 'api-secret', 'LIVEKIT_API_SECRET', DEV_API_SECRET);
  const missing: string[] = [];
  if (apiKey === undefined) missing.push('API key (--api-key or LIVEKIT_API_KEY)');
  if (apiSecret === undefined) missing.push('API secret (--api-secret or LIVEKIT_API_SECRET)');
  if (apiKey === undefined || apiSecret === undefined) {
    throw new UsageError(`missing ${missing.join(' and ')}; or use --dev for the development keys`);
  }
  return { apiKey, apiSecret };
}

/** The server URL if one is given (flag, --dev or LIVEKIT_URL), as http(s). */
export function resolveUrl(values: FlagValues, env: Readonly<Record<string, string | undefined>>): string | undefined {
  const url = pick(values, env, 'url', 'LIVEKIT_URL', DEV_URL);
  return url === undefined ? undefined : toHttpUrl(url);
}

/** URL and credentials for an API call; a UsageError when any is missing. */
export function resolveConnection(values: FlagValues, env: Readonly<Record<string, string | undefined>>): Connection {
  const url = resolveUrl(values, env);
  if (url === undefined) throw new UsageError('missing server URL: give --url or set LIVEKIT_URL (or use --dev)');
  return { url, ...resolveCredentials(values, env) };
}

/** ws:// -> http://, wss:// -> https://, a bare host:port gets http://; no trailing slash. Throws on a non-URL. */
export function toHttpUrl(raw: string): string {
  let text = raw.trim();
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(text)) text = `http://${text}`;
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new UsageError(`--url: '${raw}' is not a URL`);
  }
  const scheme = { 'ws:': 'http:', 'wss:': 'https:', 'http:': 'http:', 'https:': 'https:' }[url.protocol];
  if (scheme === undefined) throw new UsageError(`--url: '${raw}' must be http(s):// or ws(s)://`);
  const path = url.pathname === '/' ? '' : url.pathname.replace(/\/$/, '');
  return `${scheme}//${url.host}${path}`;
}
