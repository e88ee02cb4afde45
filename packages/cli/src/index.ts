// @atrium/cli: the `atrium` command. runCli runs one command line against an injected CliIo (used by tests).
export { runCli, COMMANDS, topUsage, commandUsage } from './cli.js';
export type { CliIo, Command } from './command.js';
export { CliError, UsageError, EXIT_OK, EXIT_FAILURE, EXIT_USAGE } from './command.js';
