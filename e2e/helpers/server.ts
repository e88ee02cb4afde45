// Starts and stops an in-process Atrium server for one e2e test file, and mints access tokens for it
// with livekit-server-sdk's AccessToken (the outside oracle, not our own token code).
import { AccessToken, type VideoGrant } from 'livekit-server-sdk';
import { createServer, type AtriumServer } from '@atrium/server/create-server.js';
import { devConfig, type ServerConfig, type ServerConfigOverrides } from '@atrium/server/config/server-config.js';

/** The keys `devConfig` accepts (LiveKit's `--dev` pair). */
export const DEV_API_KEY = 'devkey';
export const DEV_API_SECRET = 'secret';

export interface TokenOptions {
  identity: string;
  room: string;
  name?: string;
  metadata?: string;
  /** Grants merged over the defaults: roomJoin, canPublish, canSubscribe, canPublishData all true. */
  grants?: Partial<VideoGrant>;
  /** Token lifetime, e.g. '10m' or seconds; defaults to '10m'. */
  ttl?: string | number;
  apiKey?: string;
  apiSecret?: string;
}

/** An access token signed by livekit-server-sdk. */
export async function createAccessToken(options: TokenOptions): Promise<string> {
  const token = new AccessToken(options.apiKey ?? DEV_API_KEY, options.apiSecret ?? DEV_API_SECRET, {
    identity: options.identity,
    ttl: options.ttl ?? '10m',
    ...(options.name !== undefined ? { name: options.name } : {}),
    ...(options.metadata !== undefined ? { metadata: options.metadata } : {}),
  });
  token.addGrant({
    roomJoin: true,
    room: options.room,
    canPublish: true,
    canSubscribe: true,
    canPublishData: true,
    ...options.grants,
  });
  return token.toJwt();
}

export interface AtriumUnderTest {
  /** ws://127.0.0.1:<httpPort>, what clients are given as the server URL. */
  url: string;
  /** http://127.0.0.1:<httpPort>, for the Twirp API and plain HTTP checks. */
  httpUrl: string;
  httpPort: number;
  udpPort: number;
  /** A token for this server (dev keys). */
  token(options: TokenOptions): Promise<string>;
  /** The server itself, for checks on its state (rooms, resources). */
  server: AtriumServer;
  /** Stops the server; safe to call more than once. */
  close(): Promise<void>;
}

export interface StartAtriumOptions {
  /** Server log level; defaults to E2E_SERVER_LOG or 'warn' (set E2E_SERVER_LOG=debug to see signalling). */
  logLevel?: ServerConfig['logging']['level'];
  /** Passed through to `createServer` as its second argument (test seams). */
  overrides?: Parameters<typeof createServer>[1];
  /** Configuration on top of the development defaults (ports are ephemeral unless `port` is given). */
  config?: ServerConfigOverrides;
  /** The HTTP/WebSocket port: a server that takes over from a stopped one at the same URL (drain e2e). Default 0. */
  port?: number;
}

/** Starts Atrium in this process on free loopback ports (HTTP/WS port 0, UDP port 0) with the dev config. */
export async function startAtrium(options: StartAtriumOptions = {}): Promise<AtriumUnderTest> {
  const envLevel = process.env['E2E_SERVER_LOG'] as ServerConfig['logging']['level'] | undefined;
  // E2E_MEDIA_WORKERS=N runs the suite with N media workers (0: media in the main thread) where a test does not choose.
  const envWorkers = process.env['E2E_MEDIA_WORKERS'];
  const mediaWorkers = options.config?.rtc?.mediaWorkers ?? (envWorkers !== undefined && envWorkers !== '' ? Number(envWorkers) : undefined);
  // E2E_SIGNAL_V1=1|0 serves /rtc/v1 (or not) where a test does not choose: the suite's clients then join over v1.
  const envV1 = process.env['E2E_SIGNAL_V1'];
  const signalV1 = options.config?.rtc?.signalV1 ?? (envV1 === '1' ? true : envV1 === '0' ? false : undefined);
  const config = devConfig({
    ...options.config,
    port: options.port ?? 0,
    rtc: { ...options.config?.rtc, udpPort: 0, ...(mediaWorkers !== undefined ? { mediaWorkers } : {}), ...(signalV1 !== undefined ? { signalV1 } : {}) },
    logging: { level: options.logLevel ?? envLevel ?? 'warn' },
  });
  const server = await createServer(config, options.overrides);
  let closing: Promise<void> | undefined;
  return {
    url: server.url,
    httpUrl: `http://127.0.0.1:${server.httpPort}`,
    httpPort: server.httpPort,
    udpPort: server.udpPort,
    token: (tokenOptions) => createAccessToken(tokenOptions),
    server,
    close: () => {
      closing ??= Promise.resolve(server.close()).then(() => undefined);
      return closing;
    },
  };
}
