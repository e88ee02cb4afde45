// `atrium server`: runs the Atrium server in this process with the server's own flags (packages/server main.ts).
import type { Command } from '../command.js';

export const server: Command = {
  path: ['server'],
  summary: 'run the Atrium server (flags as atrium-server: --dev, --config FILE, --keys, --port, ...)',
  synopsis: '[--dev] [--config livekit.yaml] [--keys "key: secret"] [--port 7880] [--udp-port 7882] [--bind ADDR ...] [--node-ip ADDR] [--log-level LEVEL]',
  flagHelp: [
    ['--dev', "development mode: keys 'devkey'/'secret', prints a join token"],
    ['--config FILE', 'a livekit.yaml (env LIVEKIT_CONFIG: its body)'],
    ['--keys "KEY: SECRET"', 'API keys (env LIVEKIT_KEYS)'],
    ['--port N', 'HTTP/WebSocket port (default 7880)'],
    ['--udp-port N', 'media UDP port (default 7882)'],
    ['--bind ADDR', 'listen address (repeatable)'],
    ['--node-ip ADDR', 'the address announced in ICE candidates'],
    ['--log-level LEVEL', 'trace|debug|info|warn|error|silent'],
  ],
  options: {},
  passThrough: true,
  async run(_args, _io, raw) {
    // Loaded on demand: the other commands should not pay for loading the whole server.
    const { runServer } = await import('@atrium/server/main.js');
    await runServer(raw);
  },
};
