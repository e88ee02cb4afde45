// Memory under churn (docs/performance.md: no growth over 10,000 join/leave cycles; < 2 MB per participant).
// (a) signalling churn against a whole Atrium with a media double; heap after forced GC every N cycles.
// (b) real-media churn: join/publish/subscribe/leave with our WebRTC client role; SFU heap and RSS.
// (c) memory per participant publishing audio+video and subscribed to 10 tracks.
// Run: npx tsx bench/src/churn.bench.ts [--parts signal,media,per] [--cycles 10000] [--lanes 8] [--every 1000]
//      [--media-cycles 300] [--media-lanes 3] [--media-every 50] [--media-solo] [--participants 30] [--flow-ms 3000]
//      [--snapshots] (heap snapshot files in the temp directory, after the first sample and at the end)
import { formatTable, stringArgument } from './bench-util.js';
import { mib } from './churn-util.js';
import { runSignalChurn } from './churn-signal.js';
import { runMediaChurn, runPerParticipant } from './churn-rtc.js';

const parts = stringArgument('parts', 'signal').split(',');
const log = (line: string): void => console.log(`  ${line}`);

if (parts.includes('signal')) {
  const cycles = Number(stringArgument('cycles', '10000'));
  const r = await runSignalChurn({ cycles, lanes: Number(stringArgument('lanes', '8')), sampleEvery: Number(stringArgument('every', '1000')), log, snapshots: process.argv.includes('--snapshots') });
  console.log(`\n(a) signalling churn: ${r.cycles} join/leave cycles in ${r.seconds.toFixed(0)} s, ${r.failures} failed, ${r.webhooks} webhooks received\n`);
  const rows = [['after cycles', 'heap used MiB', 'rss MiB', 'sessions', 'rooms', 'timers']];
  for (const s of r.samples) rows.push([String(s.cycle), mib(s.heapUsedBytes), mib(s.rssBytes), String(s.resources.sessions), String(s.resources.rooms), String(s.handles.Timeout ?? 0)]);
  console.log(formatTable(rows));
  console.log(`\nheap slope: ${r.slopeBytesPerCycle.toFixed(1)} bytes per cycle (least squares, samples after the first)`);
}

if (parts.includes('media')) {
  const cycles = Number(stringArgument('media-cycles', '300'));
  const r = await runMediaChurn({ cycles, lanes: Number(stringArgument('media-lanes', '3')), sampleEvery: Number(stringArgument('media-every', '50')), log, snapshots: process.argv.includes('--snapshots'), soloOnly: process.argv.includes('--media-solo') });
  console.log(`\n(b) media churn: ${r.cycles} join/publish/subscribe/leave cycles with real media in ${r.seconds.toFixed(0)} s, ${r.failures} failed\n`);
  const rows = [['after cycles', 'SFU heap used MiB', 'SFU rss MiB', 'sessions', 'udp registrations', 'timers']];
  for (const s of r.samples) rows.push([String(s.cycle), mib(s.heapUsedBytes), mib(s.rssBytes), String(s.resources.sessions), String(s.resources.udpRegistrations), String(s.handles.Timeout ?? 0)]);
  console.log(formatTable(rows));
  console.log(`\nSFU heap slope: ${r.heapSlopeBytesPerCycle.toFixed(0)} bytes per cycle; rss slope: ${r.rssSlopeBytesPerCycle.toFixed(0)} bytes per cycle (samples after the first)`);
}

if (parts.includes('per')) {
  const participants = Number(stringArgument('participants', '30'));
  const r = await runPerParticipant({ participants, roomSize: 6, flowMs: Number(stringArgument('flow-ms', '3000')), log });
  console.log(`\n(c) memory per participant: ${participants} participants in rooms of 6, each publishing audio+video (50+50 pkt/s) and subscribed to 10 tracks (${r.tracksReceiving} subscriptions receiving)\n`);
  const rows = [['', 'SFU heap used MiB', 'SFU rss MiB', 'sessions']];
  for (const [name, s] of [['before (warmed up, empty)', r.before], ['all connected, media flowing', r.during], ['after everyone left', r.after]] as const) {
    rows.push([name, mib(s.heapUsedBytes), mib(s.rssBytes), String(s.resources.sessions)]);
  }
  rows.push(['per participant (during - before) / N, KiB', ((r.during.heapUsedBytes - r.before.heapUsedBytes) / participants / 1024).toFixed(0), ((r.during.rssBytes - r.before.rssBytes) / participants / 1024).toFixed(0), '']);
  console.log(formatTable(rows));
}
