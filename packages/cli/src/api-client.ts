// The server API as the CLI uses it: livekit-server-sdk's RoomServiceClient and AgentDispatchClient (Twirp), with
// every failure turned into one clear CliError (server unreachable, credentials rejected, Twirp error code and message).
import { AgentDispatchClient, RoomServiceClient, TwirpError } from 'livekit-server-sdk';
import { CliError } from './command.js';
import type { Connection } from './connection.js';

export const REQUEST_TIMEOUT_SEC = 10;

export function roomServiceClient(conn: Connection): RoomServiceClient {
  return new RoomServiceClient(conn.url, conn.apiKey, conn.apiSecret, { requestTimeout: REQUEST_TIMEOUT_SEC, failover: false });
}

export function agentDispatchClient(conn: Connection): AgentDispatchClient {
  return new AgentDispatchClient(conn.url, conn.apiKey, conn.apiSecret, { requestTimeout: REQUEST_TIMEOUT_SEC, failover: false });
}

/** Runs `work` with the client `makeClient` builds for `conn`, translating its errors. */
export async function callService<C, T>(conn: Connection, makeClient: (conn: Connection) => C, work: (client: C) => Promise<T>): Promise<T> {
  try {
    return await work(makeClient(conn));
  } catch (err) {
    throw describeApiError(err, conn.url);
  }
}

/** Runs one RoomService call against `conn`, translating its errors. */
export function callApi<T>(conn: Connection, work: (client: RoomServiceClient) => Promise<T>): Promise<T> {
  return callService(conn, roomServiceClient, work);
}

/** Runs one AgentDispatchService call against `conn`, translating its errors. */
export function callDispatchApi<T>(conn: Connection, work: (client: AgentDispatchClient) => Promise<T>): Promise<T> {
  return callService(conn, agentDispatchClient, work);
}

/** Network error codes worth naming as they are (from undici's `cause`). */
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EPIPE',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
  'CERT_HAS_EXPIRED',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'EPROTO',
]);

const MAX_MESSAGE_CHARS = 300;

/** One line for an API failure; pure apart from reading the error's fields. */
export function describeApiError(err: unknown, url: string): CliError {
  if (err instanceof CliError) return err;
  if (err instanceof TwirpError) {
    const message = shorten(err.message);
    if (err.status === 401) {
      return new CliError(`the server rejected the API key/secret (401${err.code !== undefined ? ` ${err.code}` : ''}: ${message})`);
    }
    if (err.code === undefined) return new CliError(`${url} answered HTTP ${err.status} (not an Atrium API answer?): ${message}`);
    return new CliError(`${err.code} (HTTP ${err.status}): ${message}`);
  }
  const e = err as { name?: string; message?: string; cause?: unknown };
  if (e.name === 'TimeoutError' || e.name === 'AbortError') {
    return new CliError(`cannot reach Atrium at ${url}: no answer within ${REQUEST_TIMEOUT_SEC} s`);
  }
  const code = networkCode(err);
  if (code !== undefined) return new CliError(`cannot reach Atrium at ${url}: ${code}`);
  if (e.name === 'TypeError' && e.message === 'fetch failed') {
    return new CliError(`cannot reach Atrium at ${url}: ${shorten(String((e.cause as Error | undefined)?.message ?? e.message))}`);
  }
  return new CliError(`request to ${url} failed: ${shorten(e.message ?? String(err))}`);
}

/** The first known network code on the error or its `cause` chain (AggregateErrors included). */
function networkCode(err: unknown, depth = 0): string | undefined {
  if (err === null || typeof err !== 'object' || depth > 4) return undefined;
  const e = err as { code?: unknown; cause?: unknown; errors?: unknown };
  if (typeof e.code === 'string' && NETWORK_CODES.has(e.code)) return e.code;
  if (Array.isArray(e.errors)) {
    for (const inner of e.errors) {
      const c = networkCode(inner, depth + 1);
      if (c !== undefined) return c;
    }
  }
  return networkCode(e.cause, depth + 1);
}

function shorten(text: string): string {
  const oneLine = text.replace(/\s+/g, ' ').trim();
  return oneLine.length > MAX_MESSAGE_CHARS ? `${oneLine.slice(0, MAX_MESSAGE_CHARS)}...` : oneLine;
}
