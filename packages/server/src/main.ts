#!/usr/bin/env -S npx tsx
// Command-line entry: `tsx packages/server/src/main.ts --dev [--port N] [--udp-port N] [--bind ADDR]`.
import { parseArgs } from 'node:util';
import { createAccessToken } from '@atrium/protocol';
import { createServer } from './create-server.js';
import { devConfig } from './config/server-config.js';

const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'silent'] as const;
function isLogLevel(x: string): x is (typeof LOG_LEVELS)[number] {
  return (LOG_LEVELS as readonly string[]).includes(x);
}

function usage(): never {
  console.error(
    'usage: atrium-server --dev [--port 7880] [--udp-port 7882] [--bind 127.0.0.1 ...] [--node-ip ADDRESS]\n' +
      '                     [--log-level trace|debug|info|warn|error|silent]',
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

async function main(): Promise<void> {
  let values;
  try {
    ({ values } = parseArgs({
      options: {
        dev: { type: 'boolean' },
        port: { type: 'string' },
        'udp-port': { type: 'string' },
        bind: { type: 'string', multiple: true },
        'node-ip': { type: 'string' },
        'log-level': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (err) {
    console.error(String((err as Error).message));
    usage();
  }
  if (values.help) usage();
  if (!values.dev) {
    console.error('only --dev mode exists for now (config files come later)');
    usage();
  }
  const level = values['log-level'];
  if (level !== undefined && !isLogLevel(level)) {
    console.error(`--log-level: '${level}' is not one of ${LOG_LEVELS.join(', ')}`);
    usage();
  }
  const nodeIp = values['node-ip'];
  const wildcard = (values.bind ?? []).find((a) => a === '0.0.0.0' || a === '::');
  if (wildcard !== undefined && nodeIp === undefined) {
    console.error(`--bind ${wildcard} needs --node-ip: the address clients reach this server at (put in ICE candidates)`);
    usage();
  }
  const config = devConfig({
    port: portArg(values.port, 'port'),
    rtc: { udpPort: portArg(values['udp-port'], 'udp-port'), ...(nodeIp !== undefined ? { nodeIp } : {}) },
    bindAddresses: values.bind,
    logging: level !== undefined ? { level } : undefined,
  });
  const server = await createServer(config);
  const [apiKey, apiSecret] = Object.entries(config.keys)[0] ?? ['devkey', 'secret'];
  const token = await createAccessToken({
    apiKey,
    apiSecret,
    identity: 'user1',
    video: { roomJoin: true, room: 'test' },
    ttlSec: 24 * 3600,
  });
  console.log(`\nAtrium is listening at ${server.url} (UDP ${server.udpPort}); API key '${apiKey}', secret '${apiSecret}'`);
  console.log(`A dev token for identity 'user1' in room 'test', valid 24 h:\n  ${token}`);
  console.log(
    `More tokens: npx tsx -e "import('@atrium/protocol').then(async p => console.log(await p.createAccessToken({apiKey:'${apiKey}',apiSecret:'${apiSecret}',identity:'me',video:{roomJoin:true,room:'test'}})))"\n`,
  );
  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) process.exit(1);
    stopping = true;
    console.log(`${signal}: shutting down`);
    server.close().then(
      () => process.exit(0),
      (err: unknown) => {
        console.error(err);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
