// What a CLI command is (name, flags, usage, run) and the two error kinds that end one: a usage error
// (exit code 2, usage shown) and a failure (exit code 1, message only).
import type { ParseArgsConfig } from 'node:util';

/** Where a command writes and what environment it reads; the process in main.ts, buffers in tests. */
export interface CliIo {
  stdout(text: string): void;
  stderr(text: string): void;
  readonly env: Readonly<Record<string, string | undefined>>;
}

export type OptionsConfig = NonNullable<ParseArgsConfig['options']>;

/** Parsed flag values: strings, booleans or lists of strings (`multiple`). */
export type FlagValues = Readonly<Record<string, string | boolean | (string | boolean)[] | undefined>>;

export interface ParsedArgs {
  values: FlagValues;
  positionals: string[];
}

export interface Command {
  /** The words that select it, e.g. ['room', 'list']. */
  readonly path: readonly string[];
  readonly summary: string;
  /** Synopsis after the command words, e.g. '--room NAME [--json]'. */
  readonly synopsis: string;
  /** One line per flag for --help: ['--room NAME', 'the room']. */
  readonly flagHelp: readonly (readonly [string, string])[];
  readonly options: OptionsConfig;
  /** How many positional arguments the command accepts (default 0). */
  readonly maxPositionals?: number;
  /** Takes the raw arguments itself (no flag parsing), e.g. `server`, which hands them to the server. */
  readonly passThrough?: boolean;
  run(args: ParsedArgs, io: CliIo, raw: string[]): Promise<void>;
}

/** Bad command line: printed with the command's usage, exit code 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** The command could not do its work (server unreachable, credentials rejected, API error): exit code 1. */
export class CliError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CliError';
  }
}

export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;
