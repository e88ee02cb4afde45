// Named steps for the e2e scenarios: each step's failure says which step failed and how long the run took,
// and on the first failure the collected client logs are written to stderr, so a red test explains itself.

export interface StepRunner {
  /** Runs one named step; a failure is rethrown as `step N "<label>" failed after X s: <reason>`. */
  step<T>(label: string, run: () => Promise<T>): Promise<T>;
  /** Adds a line of detail (e.g. the stats a step saw) to the history. */
  note(text: string): void;
  /** The steps run so far with their durations and notes, one per line. */
  history(): string;
}

export function createStepRunner(options: { scenario: string; logs: () => string[]; maxLogLines?: number }): StepRunner {
  const startedAtMs = Date.now();
  const done: string[] = [];
  let failed = false;
  let index = 0;
  let pendingNotes: string[] | undefined;
  return {
    async step<T>(label: string, run: () => Promise<T>): Promise<T> {
      index++;
      const stepStartMs = Date.now();
      const notes: string[] = [];
      pendingNotes = notes;
      try {
        const result = await run();
        done.push(`  ok ${index} ${label} (${Date.now() - stepStartMs} ms)`, ...notes);
        pendingNotes = undefined;
        return result;
      } catch (err) {
        const reason = err instanceof Error ? err.message : String(err);
        const elapsedS = ((Date.now() - startedAtMs) / 1000).toFixed(1);
        done.push(`  FAILED ${index} ${label} (${Date.now() - stepStartMs} ms)`, ...notes);
        if (!failed) {
          failed = true;
          const lines = options.logs();
          const max = options.maxLogLines ?? 400;
          const shown = lines.length > max ? lines.slice(-max) : lines;
          process.stderr.write(
            `\n--- ${options.scenario}: step ${index} "${label}" failed; steps:\n${done.join('\n')}\n` +
              `--- client logs (${shown.length} of ${lines.length} lines) ---\n${shown.join('\n')}\n--- end of client logs ---\n`,
          );
        }
        pendingNotes = undefined;
        throw new Error(`step ${index} "${label}" failed after ${elapsedS} s: ${reason}`, { cause: err });
      }
    },
    note: (text) => {
      // A note made during a step is listed under that step's line.
      (pendingNotes ?? done).push(`     ${text}`);
    },
    history: () => done.join('\n'),
  };
}
