// Small helpers for benchmarks: command-line options, timed runs, medians, a plain-text table and IPC with a forked
// server. Benchmarks are not tests.
import type { ChildProcess } from 'node:child_process';

/** The value after `--name` on the command line, or `fallback`. */
export function stringArgument(name: string, fallback: string): string {
  const at = process.argv.indexOf(`--${name}`);
  return at >= 0 ? (process.argv[at + 1] ?? fallback) : fallback;
}

/** A positive number after `--name` on the command line, or `fallback` (absent, not a number, or not positive). */
export function numberArgument(name: string, fallback: number): number {
  const value = Number(stringArgument(name, ''));
  return Number.isFinite(value) && value > 0 ? value : fallback;
}

/** A reply over a benchmark child's IPC channel: `op` names it. */
export type Reply = { op: string; [k: string]: unknown };

/** Sends `msg` to a forked child and resolves with its next reply whose `op` is `want`. */
export function request(child: ChildProcess, msg: object, want: string): Promise<Reply> {
  return new Promise((resolve) => {
    const on = (m: Reply): void => {
      if (m.op !== want) return;
      child.off('message', on);
      resolve(m);
    };
    child.on('message', on);
    child.send(msg);
  });
}

/** Median of a non-empty list of numbers. */
/**
 * Median CPU (user + system) µs per item of `run(items)` over `runs` runs, after one warm-up run of at most 20,000
 * items: for micro-benchmarks that push `items` packets through a chain in one call.
 */
export function medianCpuUsPerItem(run: (items: number) => void, items: number, runs: number): number {
  run(Math.min(20_000, items));
  const samples: number[] = [];
  for (let r = 0; r < runs; r++) {
    const cpu0 = process.cpuUsage();
    run(items);
    const cpu = process.cpuUsage(cpu0);
    samples.push((cpu.user + cpu.system) / items);
  }
  return median(samples);
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? (sorted[mid] ?? 0) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
}

export interface Timing {
  /** Wall-clock microseconds per call. */
  wallUs: number;
  /** Process CPU (user + sys) microseconds per call: steadier than wall time on a shared machine. */
  cpuUs: number;
}

/** Runs `fn(i)` for i in [0, iterations) and returns the mean wall and CPU microseconds per call. */
export function timePerCall(iterations: number, fn: (i: number) => void): Timing {
  const cpuStart = process.cpuUsage();
  const start = process.hrtime.bigint();
  for (let i = 0; i < iterations; i++) fn(i);
  const elapsedNs = Number(process.hrtime.bigint() - start);
  const cpu = process.cpuUsage(cpuStart);
  return { wallUs: elapsedNs / 1000 / iterations, cpuUs: (cpu.user + cpu.system) / iterations };
}

/** Median wall and CPU figures of several timings. */
export function medianTiming(timings: readonly Timing[]): Timing {
  return { wallUs: median(timings.map((t) => t.wallUs)), cpuUs: median(timings.map((t) => t.cpuUs)) };
}

/** Formats rows as an aligned text table; the first row is the header. */
export function formatTable(rows: ReadonlyArray<ReadonlyArray<string>>): string {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, cell.length)));
  const line = (row: ReadonlyArray<string>): string => row.map((cell, i) => (i === 0 ? cell.padEnd(widths[i] ?? 0) : cell.padStart(widths[i] ?? 0))).join('  ');
  const [header, ...body] = rows;
  if (header === undefined) return '';
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...body.map(line)].join('\n');
}

/** The p-th percentile (0-100, nearest rank) of a non-empty list of numbers. */
export function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)));
  return sorted[rank - 1] ?? 0;
}
