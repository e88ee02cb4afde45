// Cost of the send-side bandwidth estimator (packages/webrtc/src/cc) per transport-cc feedback report and per packet
// result: a paced 2.5 Mbps stream of 1,200-byte packets reported every 50 ms (about 13 results per report) and
// larger reports of 50 and 200 results, with no loss and with 5% loss. Inputs are prepared before timing.
// Run: npx tsx bench/src/bwe.bench.ts [--runs 7] [--feedbacks 20000]
import type { PacketResult } from '@atrium/webrtc/cc/packet-result.js';
import { SendSideBwe } from '@atrium/webrtc/cc/send-side-bwe.js';
import { formatTable, median, numberArgument } from './bench-util.js';

const runs = numberArgument('runs', 7);
const feedbacksPerRun = numberArgument('feedbacks', 20_000);

/** Reports of `perReport` results each, from a stream paced at `bps` with some arrival jitter and `lossEvery` loss. */
function makeReports(count: number, perReport: number, bps: number, lossEvery: number): PacketResult[][] {
  const gapMs = (1200 * 8000) / bps;
  const reports: PacketResult[][] = [];
  let seq = 0;
  for (let f = 0; f < count; f++) {
    const r: PacketResult[] = [];
    for (let i = 0; i < perReport; i++, seq++) {
      const sendMs = seq * gapMs;
      const lost = lossEvery > 0 && seq % lossEvery === 7;
      r.push({ seq, sendMs, sizeBytes: 1200, arrivalMs: lost ? -1 : 50_000 + sendMs + 20 + ((seq * 7919) % 13) / 4, probeClusterId: -1 });
    }
    reports.push(r);
  }
  return reports;
}

/** Median CPU µs per report over `runs` runs (a fresh estimator per run, after a warm-up). */
function measure(perReport: number, lossEvery: number): number {
  const bps = (perReport * 1200 * 8000) / 50; // one report per 50 ms of sending
  const reports = makeReports(feedbacksPerRun, perReport, bps, lossEvery);
  const drive = (n: number): SendSideBwe => {
    const bwe = new SendSideBwe({ startBps: bps, maxBps: 100_000_000 });
    for (let f = 0; f < n; f++) {
      bwe.onFeedback(reports[f]!, f * 50 + 70);
      if (f % 20 === 0) bwe.onRtt(40, f * 50 + 70);
    }
    return bwe;
  };
  drive(Math.min(2000, feedbacksPerRun));
  const samples: number[] = [];
  for (let r = 0; r < runs; r++) {
    const cpu0 = process.cpuUsage();
    const bwe = drive(feedbacksPerRun);
    const cpu = process.cpuUsage(cpu0);
    if (bwe.feedbacks !== feedbacksPerRun || bwe.estimateBps() <= 0) throw new Error('estimator did not run');
    samples.push((cpu.user + cpu.system) / feedbacksPerRun);
  }
  return median(samples);
}

const rows: string[][] = [['results/report', 'stream', 'loss', 'CPU µs/report', 'CPU ns/result']];
let usAt50 = 0;
for (const perReport of [13, 50, 200]) {
  for (const lossEvery of [0, 20]) {
    const us = measure(perReport, lossEvery);
    if (perReport === 50 && lossEvery === 0) usAt50 = us;
    const mbps = ((perReport * 1200 * 8) / 50 / 1000).toFixed(1);
    rows.push([String(perReport), `${mbps} Mbps`, lossEvery === 0 ? '0' : '5%', us.toFixed(2), ((us * 1000) / perReport).toFixed(0)]);
  }
}
console.log(`Send-side BWE (GCC), Node ${process.version}, median of ${runs} runs x ${feedbacksPerRun} reports (one per 50 ms)\n`);
console.log(formatTable(rows));
const msPerS = (1000 * 20 * usAt50) / 1000;
console.log(`\nOne report per subscriber every 50 ms: 1,000 subscribers with 50-result reports cost about ${msPerS.toFixed(0)} ms of CPU per second.`);
