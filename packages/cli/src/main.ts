// Process entry of the `atrium` command (bin/atrium.js loads it): runs the command line and sets the exit code.
import { runCli } from './cli.js';
import type { CliIo } from './command.js';

const io: CliIo = {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  env: process.env,
};

process.exitCode = await runCli(process.argv.slice(2), io);
