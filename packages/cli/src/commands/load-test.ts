// `atrium load-test`: simulated publishers and subscribers on our own WebRTC client role against any LiveKit-protocol
// server (lk's `perf load-test` flags where it has them); a live progress line, a table per track and a summary, or
// one JSON document; exit 1 when loss is above --max-loss, a join failed or a subscriber got nothing of a track.
import { CliError } from '../command.js';
import type { CliIo, Command } from '../command.js';
import { CONNECTION_HELP, CONNECTION_OPTIONS, resolveConnection } from '../connection.js';
import { LOAD_TEST_HELP, LOAD_TEST_OPTIONS, parseLoadTestOptions } from '../load-test/options.js';
import { runLoadTest } from '../load-test/runner.js';
import { formatReport, reportJson } from '../load-test/report.js';

/** Loopback servers get loopback candidates from us; anything else gets our sockets on every interface. */
export function localAddressFor(url: string): string {
  const host = new URL(url).hostname.replace(/^\[|\]$/g, '');
  return host === 'localhost' || host.startsWith('127.') || host === '::1' ? '127.0.0.1' : '0.0.0.0';
}

/** On a terminal the progress line rewrites itself; otherwise every fifth one is printed as a plain line. */
function progressWriter(io: CliIo, isTty: boolean): { write(line: string): void; end(): void } {
  let n = 0;
  let isDirty = false;
  return {
    write(line) {
      if (isTty) {
        io.stderr(`\r\x1b[2K${line}`);
        isDirty = true;
      } else if (n++ % 5 === 0) {
        io.stderr(`${line}\n`);
      }
    },
    end() {
      if (isDirty) io.stderr('\n');
    },
  };
}

export const loadTest: Command = {
  path: ['load-test'],
  summary: 'simulate publishers and subscribers in a room and report loss, bitrate, join time and latency',
  synopsis: '[--room NAME] [--video-publishers N] [--audio-publishers N] [--subscribers N] [--duration TIME] [--json]',
  flagHelp: [...LOAD_TEST_HELP, ...CONNECTION_HELP],
  options: { ...LOAD_TEST_OPTIONS, ...CONNECTION_OPTIONS },
  async run({ values }, io) {
    const opts = parseLoadTestOptions(values);
    const conn = resolveConnection(values, io.env);
    const abort = new AbortController();
    const onSigint = (): void => abort.abort();
    process.once('SIGINT', onSigint);
    const progress = progressWriter(io, process.stderr.isTTY === true);
    let report;
    try {
      report = await runLoadTest(opts, { ...conn, localAddress: localAddressFor(conn.url) }, { progress: (l) => progress.write(l), signal: abort.signal });
    } finally {
      process.off('SIGINT', onSigint);
      progress.end();
    }
    io.stdout(opts.isJson ? reportJson(report) : formatReport(report));
    if (!report.isPassed) throw new CliError(report.failures.join('; '));
  },
};

/** `atrium perf load-test`: the same command under lk's current name (`lk perf load-test`). */
export const perfLoadTest: Command = { ...loadTest, path: ['perf', 'load-test'], summary: `${loadTest.summary} (as atrium load-test)` };
