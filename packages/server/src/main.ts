#!/usr/bin/env -S npx tsx
// Command-line entry: `tsx packages/server/src/main.ts [--dev] [--config livekit.yaml] [--keys 'k: s'] [--port N] ...`;
// LIVEKIT_CONFIG and LIVEKIT_KEYS as in LiveKit; flags override the file (config/load-config.ts).
// SIGTERM/SIGINT drain the node (no new rooms; exit 0 once everyone left or --drain-timeout passed); a second exits at once.
// `runServer(args)` is the same entry for other front ends (`atrium server` in packages/cli).
import { parseArgs } from 'node:util';
import { realpathSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { createAccessToken } from '@atrium/protocol';
import { readFileSync } from 'node:fs';
import { createServer } from './create-server.js';
import { LOG_LEVELS } from './config/server-config.js';
import type { LogLevel, ServerConfig } from './config/server-config.js';
import { loadConfig } from './config/load-config.js';
import { ConfigError } from './config/config-error.js';
import { DEFAULT_DRAIN_TIMEOUT_MS } from './health/drain.js';
import { guardOutput } from './log-format.js';

function usage(): never {
  console.error(
    'usage: atrium-server [--dev] [--config livekit.yaml] [--keys "key: secret"] [--port 7880] [--udp-port 7882]\n' +
      '                     [--bind 127.0.0.1 ...] [--node-ip ADDRESS] [--log-level trace|debug|info|warn|error|silent]\n' +
      `                     [--drain-timeout SECONDS (default ${DEFAULT_DRAIN_TIMEOUT_MS / 1000}: how long SIGTERM waits for rooms)]\n` +
      'environment: LIVEKIT_CONFIG (the body of a livekit.yaml), LIVEKIT_KEYS ("key: secret" lines); flags win',
  );
  process.exit(2);
}

function portArg(v: string | undefined, name: string): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 65535) {
    console.error(`--${name} must be a port number (0-65535), got '${v}'`);
    process.exit(2);
  }
  return n;
}

function configFromArgs(args: string[]): { config: ServerConfig; drainTimeoutMs: number } {
  let values;
  try {
    ({ values } = parseArgs({
      args,
      options: {
        dev: { type: 'boolean' },
        config: { type: 'string' },
        keys: { type: 'string' },
        port: { type: 'string' },
        'udp-port': { type: 'string' },
        bind: { type: 'string', multiple: true },
        'node-ip': { type: 'string' },
        'log-level': { type: 'string' },
        'drain-timeout': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (err) {
    console.error(String((err as Error).message));
    usage();
  }
  if (values.help) usage();
  const level = values['log-level'];
  if (level !== undefined && !(LOG_LEVELS as readonly string[]).includes(level)) {
    console.error(`--log-level: '${level}' is not one of ${LOG_LEVELS.join(', ')}`);
    usage();
  }
  let drainTimeoutMs = DEFAULT_DRAIN_TIMEOUT_MS;
  const drainArg = values['drain-timeout'];
  if (drainArg !== undefined) {
    const sec = Number(drainArg);
    if (drainArg.trim() === '' || !Number.isFinite(sec) || sec < 0) {
      console.error(`--drain-timeout must be a number of seconds (0 or more), got '${drainArg}'`);
      usage();
    }
    drainTimeoutMs = sec * 1000;
  }
  const configFile = values.config;
  let yaml: string | undefined = process.env['LIVEKIT_CONFIG'];
  let origin = 'LIVEKIT_CONFIG';
  if (configFile !== undefined) {
    origin = configFile;
    try {
      yaml = readFileSync(configFile, 'utf8');
    } catch (err) {
      console.error(`config: cannot read '${configFile}': ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
      process.exit(1);
    }
  }
  const envKeys = process.env['LIVEKIT_KEYS'];
  const keys = values.keys ?? (envKeys !== undefined && envKeys !== '' ? envKeys : undefined);
  const nodeIp = values['node-ip'];
  const udpPort = portArg(values['udp-port'], 'udp-port');
  try {
    const config = loadConfig({
      yaml: yaml === '' ? undefined : yaml,
      dev: values.dev === true,
      keys,
      keysSource: values.keys !== undefined ? '--keys' : 'LIVEKIT_KEYS',
      flags: {
        port: portArg(values.port, 'port'),
        bindAddresses: values.bind,
        rtc: { ...(udpPort !== undefined ? { udpPort } : {}), ...(nodeIp !== undefined ? { nodeIp } : {}) },
        logging: level !== undefined ? { level: level as LogLevel } : undefined,
      },
    });
    return { config, drainTimeoutMs };
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    console.error(err.message);
    if (yaml !== undefined && yaml !== '') console.error(`(configuration from ${origin})`);
    process.exit(1);
  }
}

async function printDevHelp(config: ServerConfig, url: string, udpPort: string): Promise<void> {
  const [apiKey, apiSecret] = Object.entries(config.keys)[0] ?? ['devkey', 'secret'];
  const token = await createAccessToken({
    apiKey,
    apiSecret,
    identity: 'user1',
    video: { roomJoin: true, room: 'test' },
    ttlSec: 24 * 3600,
  });
  console.log(`\nAtrium is listening at ${url} (UDP ${udpPort}); API key '${apiKey}', secret '${apiSecret}'`);
  console.log(`A dev token for identity 'user1' in room 'test', valid 24 h:\n  ${token}`);
  console.log(`More tokens: npx atrium token create --api-key ${apiKey} --api-secret ${apiSecret} --room test --identity me\n`);
}

/** What to open in a browser (the meeting app, docs/web-app.md), when it is served. */
export function appLine(config: ServerConfig, wsUrl: string): string | undefined {
  if (!config.web.enabled) return undefined;
  const http = wsUrl.replace(/^ws/, 'http');
  if (config.web.devTokens) return `Open ${http}/ in a browser to join a room (the meeting app: docs/web-app.md; operator view at ${http}/app/admin)`;
  const how = config.web.tokenEndpoint !== '' ? `tokens from ${config.web.tokenEndpoint}` : 'links need ?token=...';
  return `Meeting app at ${http}/app/ (${how}; docs/web-app.md)`;
}

/** Parses server flags from `args`, starts Atrium and drains it on SIGINT/SIGTERM; bad flags or config exit the process. */
export async function runServer(args: string[] = process.argv.slice(2)): Promise<void> {
  // A reader that went away (a closed pipe: EPIPE) must not crash the server through console.log or the logs.
  guardOutput(process.stdout);
  guardOutput(process.stderr);
  const { config, drainTimeoutMs } = configFromArgs(args);
  const server = await createServer(config);
  // One UDP port per media worker (rtc.udp_port + i), and one ICE-TCP port each (rtc.tcp_port + i) unless it is 0.
  const turnPorts = [server.turn.udpPort !== undefined ? `UDP ${server.turn.udpPort}` : '', server.turn.tlsPort !== undefined ? `TLS ${server.turn.tlsPort}` : ''].filter((x) => x !== '');
  const udpPorts = server.udpPorts.join(', ') + (server.tcpPorts.length > 0 ? `; ICE-TCP ${server.tcpPorts.join(', ')}` : '') +
    (turnPorts.length > 0 ? `; TURN ${turnPorts.join(', ')}` : '');
  if (!config.development) {
    console.log(`\nAtrium is listening at ${server.url} (UDP ${udpPorts}, ICE address ${config.rtc.nodeIp})`);
  } else {
    await printDevHelp(config, server.url, udpPorts);
  }
  const app = appLine(config, server.url);
  if (app !== undefined) console.log(app);
  if (server.metricsPort !== undefined) console.log(`Prometheus metrics at http://${new URL(server.url).hostname}:${server.metricsPort}/metrics`);
  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) {
      console.log(`${signal} again: exiting now`);
      process.exit(1);
    }
    stopping = true;
    console.log(`${signal}: draining (no new rooms; up to ${drainTimeoutMs / 1000} s for participants to leave); send it again to exit now`);
    server.drain({ timeoutMs: drainTimeoutMs }).then(
      () => {
        console.log('drained: exiting');
        process.exit(0);
      },
      (err: unknown) => {
        console.error(err);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}

function isEntryPoint(): boolean {
  const script = process.argv[1];
  if (script === undefined) return false;
  try {
    return pathToFileURL(realpathSync(script)).href === import.meta.url;
  } catch {
    return false;
  }
}

if (isEntryPoint()) {
  runServer().catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
}
