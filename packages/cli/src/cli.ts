// The `atrium` dispatcher: picks the command from the first words, handles --help, parses flags strictly and maps
// errors to exit codes (0 ok, 1 failure, 2 usage). Writes only through `io`, so tests can run it in-process.
import { CliError, EXIT_FAILURE, EXIT_OK, EXIT_USAGE, UsageError } from './command.js';
import type { CliIo, Command } from './command.js';
import { parseCommandArgs } from './args.js';
import { TOKEN_COMMANDS } from './commands/token.js';
import { ROOM_COMMANDS } from './commands/room.js';
import { PARTICIPANT_COMMANDS } from './commands/participant.js';
import { DATA_COMMANDS } from './commands/data.js';
import { DISPATCH_COMMANDS } from './commands/dispatch.js';
import { EGRESS_COMMANDS } from './commands/egress.js';
import { INGRESS_COMMANDS } from './commands/ingress.js';
import { publish } from './commands/publish.js';
import { server } from './commands/server.js';
import { loadTest, perfLoadTest } from './commands/load-test.js';

export const PROGRAM = 'atrium';

export const COMMANDS: readonly Command[] = [server, ...TOKEN_COMMANDS, ...ROOM_COMMANDS, ...PARTICIPANT_COMMANDS, ...DATA_COMMANDS, ...DISPATCH_COMMANDS, ...EGRESS_COMMANDS, ...INGRESS_COMMANDS, publish, loadTest, perfLoadTest];

const GROUPS: Readonly<Record<string, string>> = {
  server: 'run the Atrium server',
  token: 'create access tokens',
  room: 'list, create, update and delete rooms',
  participant: 'list, inspect, remove and mute participants',
  data: 'send data messages to participants',
  dispatch: 'dispatch agents to rooms, list and delete dispatches',
  egress: 'record or stream rooms, participants and tracks (start, list, stop, update-layout, update-stream)',
  ingress: 'bring RTMP, WHIP and media URLs into rooms (create, list, update, delete)',
  perf: 'performance tests (load-test, as lk perf)',
};

function commandName(cmd: Command): string {
  return `${PROGRAM} ${cmd.path.join(' ')}`;
}

export function topUsage(): string {
  const width = Math.max(...COMMANDS.map((c) => c.path.join(' ').length));
  return [
    `usage: ${PROGRAM} <command> [flags]`,
    '',
    'commands:',
    ...COMMANDS.map((c) => `  ${c.path.join(' ').padEnd(width)}  ${c.summary}`),
    '',
    'Server API commands read LIVEKIT_URL, LIVEKIT_API_KEY and LIVEKIT_API_SECRET; --url, --api-key and --api-secret',
    "override them, and --dev means the development server (http://127.0.0.1:7880, 'devkey' / 'secret').",
    `Run '${PROGRAM} <command> --help' for a command's flags.`,
    '',
  ].join('\n');
}

function groupUsage(group: string): string {
  const members = COMMANDS.filter((c) => c.path[0] === group);
  const width = Math.max(...members.map((c) => c.path.join(' ').length));
  return [
    `usage: ${PROGRAM} ${group} <${members.map((c) => c.path[1] ?? '').join('|')}> [flags]`,
    `${GROUPS[group] ?? ''}`,
    '',
    ...members.map((c) => `  ${c.path.join(' ').padEnd(width)}  ${c.summary}`),
    '',
    `Run '${PROGRAM} ${group} <command> --help' for a command's flags.`,
    '',
  ].join('\n');
}

export function commandUsage(cmd: Command): string {
  const width = Math.max(0, ...cmd.flagHelp.map(([flag]) => flag.length));
  return [
    `usage: ${commandName(cmd)} ${cmd.synopsis}`,
    cmd.summary,
    '',
    'flags:',
    ...cmd.flagHelp.map(([flag, text]) => `  ${flag.padEnd(width)}  ${text}`),
    `  ${'-h, --help'.padEnd(width)}  this help`,
    '',
  ].join('\n');
}

/** The command named by the leading words of `argv`, and the arguments after them. */
export function findCommand(argv: readonly string[]): { cmd: Command; rest: string[] } | { group?: string; unknown?: string } {
  const [first, second] = argv;
  if (first === undefined) return {};
  const single = COMMANDS.find((c) => c.path.length === 1 && c.path[0] === first);
  if (single) return { cmd: single, rest: argv.slice(1) };
  if (!Object.hasOwn(GROUPS, first)) return { unknown: first };
  if (second === undefined || second.startsWith('-')) return { group: first };
  const cmd = COMMANDS.find((c) => c.path[0] === first && c.path[1] === second);
  return cmd ? { cmd, rest: argv.slice(2) } : { group: first, unknown: `${first} ${second}` };
}

function wantsHelp(args: readonly string[]): boolean {
  for (const a of args) {
    if (a === '--') return false;
    if (a === '--help' || a === '-h') return true;
  }
  return false;
}

/** Runs one `atrium` command line; resolves with the exit code. */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  const [first] = argv;
  if (first === undefined) {
    io.stderr(topUsage());
    return EXIT_USAGE;
  }
  if (first === '--help' || first === '-h') {
    io.stdout(topUsage());
    return EXIT_OK;
  }
  if (first === 'help') return runCli([...argv.slice(1), '--help'], io);

  const found = findCommand(argv);
  if (!('cmd' in found)) {
    if (found.group !== undefined && found.unknown === undefined && wantsHelp(argv)) {
      io.stdout(groupUsage(found.group));
      return EXIT_OK;
    }
    const problem = found.unknown !== undefined ? `unknown command '${found.unknown}'` : `'${found.group ?? ''}' needs a command`;
    io.stderr(`${PROGRAM}: ${problem}\n\n${found.group !== undefined ? groupUsage(found.group) : topUsage()}`);
    return EXIT_USAGE;
  }

  const { cmd, rest } = found;
  if (wantsHelp(rest) && !cmd.passThrough) {
    io.stdout(commandUsage(cmd));
    return EXIT_OK;
  }
  try {
    const parsed = cmd.passThrough ? { values: {}, positionals: rest } : parseCommandArgs(rest, cmd.options, cmd.maxPositionals ?? 0);
    await cmd.run(parsed, io, rest);
    return EXIT_OK;
  } catch (err) {
    if (err instanceof UsageError) {
      io.stderr(`${commandName(cmd)}: ${err.message}\nusage: ${commandName(cmd)} ${cmd.synopsis}\nRun '${commandName(cmd)} --help' for all flags.\n`);
      return EXIT_USAGE;
    }
    if (err instanceof CliError) {
      io.stderr(`${commandName(cmd)}: ${err.message}\n`);
      return EXIT_FAILURE;
    }
    io.stderr(`${commandName(cmd)}: unexpected error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    return EXIT_FAILURE;
  }
}
