// Join latency: a fresh livekit-client viewer (headless Chromium) joins a room where a browser publisher already
// sends camera + microphone; times room.connect() -> connected -> TrackSubscribed -> first decoded video frame in the
// page, the publisher's own join, @livekit/rtc-node's connect(), and where the time goes on the server (join-trace.ts).
// Run: npx tsx bench/src/join.bench.ts [--runs 20] [--timeline]   (--timeline: every step of the median and slowest runs)
import type { Room as RtcNodeRoom } from '@livekit/rtc-node';
import { waitFor } from '@atrium/webrtc/testing/wait-for.js';
import { hasChromium } from '@atrium/webrtc/testing/chromium.js';
import { startAtrium } from '../../e2e/helpers/server.js';
import { launchBrowser } from '../../e2e/helpers/browser.js';
import type { BrowserParticipant } from '../../e2e/helpers/browser-participant.js';
import { formatTable, median, percentile, stringArgument } from './bench-util.js';
import { epochMs, installJoinTrace, type JoinTrace } from './join-trace.js';
import { LEAVE_BODY, PAGE_TRACE_INIT_SCRIPT, publisherBody, viewerBody, type PageJoinTimes } from './join-page.js';

const runs = Number(stringArgument('runs', '20'));
const showTimeline = process.argv.includes('--timeline');
/** How long the publisher's video flows before the viewer joins ("already publishing", past its first PLI). */
const PUBLISHING_BEFORE_JOIN_MS = 1500;
const FRAME_TIMEOUT_MS = 10_000;
const FIRST_FRAME = 'viewer: connect() -> first frame decoded';

/** One run's figures: phase name -> ms. */
type Row = Map<string, number>;

interface PageTraceEvent {
  atMs: number;
  what: string;
}

if (!hasChromium()) {
  console.log('join.bench: skipped, no Chromium at /usr/bin/chromium');
  process.exit(0);
}
// rtc-node logs at debug level unless NODE_ENV is production (read when it is first imported).
process.env['NODE_ENV'] ??= 'production';
const { dispose } = await import('@livekit/rtc-node');
const { connectRtcNode } = await import('../../e2e/helpers/rtc-node.js');

const trace = installJoinTrace();
const server = await startAtrium({ logLevel: 'warn' });
const browser = await launchBrowser({ livekitLogLevel: 'warn' });
await browser.context.addInitScript(PAGE_TRACE_INIT_SCRIPT);

const phases: Row[] = [];
const steps: Row[] = [];
const pubSteps: Row[] = [];
const rtcNodeRooms: RtcNodeRoom[] = [];
try {
  // Run 0 warms up the JIT, the page and Chromium's codecs; it is not counted.
  for (let i = 0; i <= runs; i++) {
    const result = await runOnce(i);
    if (i > 0) {
      phases.push(result.phases);
      steps.push(result.steps);
      pubSteps.push(result.pubSteps);
    }
    process.stderr.write(`run ${i}${i === 0 ? ' (warm-up)' : ''}: first frame ${fmt(result.phases.get(FIRST_FRAME))} ms\n`);
  }
} finally {
  await Promise.all(rtcNodeRooms.map((r) => r.disconnect().catch(() => undefined)));
  await browser.close();
  await server.close();
  await dispose();
}

console.log(`\nJoin latency over ${runs} runs (ms; loopback, headless Chromium, livekit-client; server in this process)\n`);
console.log(table(phases, 'phase'));
console.log(`\nWhere the viewer's time goes: each step's time since its room.connect() call (s = server, p = page)${showTimeline ? '' : '; first occurrences, DTLS datagrams left out (--timeline shows all)'}\n`);
console.log(table(showTimeline ? steps : steps.map(mainSteps), 'step', true));
if (showTimeline) {
  console.log(`\nWhere the publisher's time goes: each step's time since its enableCameraAndMicrophone() call, up to its first video RTP at the server\n`);
  console.log(table(pubSteps, 'step', true));
  const sorted = [...phases.keys()].sort((a, b) => (phases[a]?.get(FIRST_FRAME) ?? 0) - (phases[b]?.get(FIRST_FRAME) ?? 0));
  for (const [name, at] of [['Median', sorted[sorted.length >> 1] ?? 0], ['Slowest', sorted[sorted.length - 1] ?? 0]] as const) {
    console.log(`\n${name} run (${fmt(phases[at]?.get(FIRST_FRAME))} ms to first frame), every step:\n`);
    for (const [what, ms] of [...(steps[at] ?? new Map<string, number>())].sort((a, b) => a[1] - b[1])) console.log(`${fmt(ms).padStart(8)}  ${what}`);
  }
}


async function runOnce(i: number): Promise<{ phases: Row; steps: Row; pubSteps: Row }> {
  const room = `join-${i}`;
  const pubId = `pub-${i}`;
  const viewId = `view-${i}`;
  const row: Row = new Map();
  const pages: BrowserParticipant[] = [];
  try {
    const pub = await browser.openParticipant(pubId);
    pages.push(pub);
    const p = await pub.callWithin<PageJoinTimes>(30_000, 'run', publisherBody(server.url, await server.token({ identity: pubId, room })));
    const firstVideoIn = await waitFor(() => serverFirst(trace, `${pubId} video`, 'first rtp in'), { label: 'publisher video at the server', timeoutMs: 10_000, intervalMs: 10 });
    row.set('publisher: connect() -> connected', p.connected - p.connectStart);
    row.set('publisher: enableCameraAndMicrophone() -> video published', (p.localVideoPublished ?? NaN) - (p.publishStart ?? NaN));
    row.set('publisher: enableCameraAndMicrophone() -> first video RTP at server', firstVideoIn - (p.connectStartEpochMs + (p.publishStart ?? NaN) - p.connectStart));
    row.set('publisher: connect() -> first video RTP at server', firstVideoIn - p.connectStartEpochMs);
    await waitFor(() => epochMs() - firstVideoIn >= PUBLISHING_BEFORE_JOIN_MS || undefined, { label: 'publisher warm', timeoutMs: 10_000, intervalMs: 20 });

    const viewer = await browser.openParticipant(viewId);
    pages.push(viewer);
    const v = await viewer.callWithin<PageJoinTimes>(30_000, 'run', viewerBody(server.url, await server.token({ identity: viewId, room }), FRAME_TIMEOUT_MS));
    if (v.error !== undefined) throw new Error(`[${viewId}] ${v.error}`);
    row.set('viewer: connect() -> connected', v.connected - v.connectStart);
    row.set('viewer: connect() -> TrackSubscribed (video)', (v.subscribedVideo ?? NaN) - v.connectStart);
    row.set(FIRST_FRAME, (v.firstFrameDecoded ?? NaN) - v.connectStart);
    row.set('viewer: connect() -> first frame rendered (rVFC)', (v.firstFrameRendered ?? NaN) - v.connectStart);

    const rtcStart = performance.now();
    const rtcRoom = await connectRtcNode(server.url, await server.token({ identity: `node-${i}`, room }), { label: `node-${i}`, autoSubscribe: false });
    row.set('rtc-node viewer: connect() resolved', performance.now() - rtcStart);
    rtcNodeRooms.push(rtcRoom);

    const pageTrace = await viewer.page.evaluate('window.__joinTrace') as PageTraceEvent[];
    const stepRow = stepsSince(v.connectStartEpochMs, { [viewId]: 'viewer', [`${pubId}`]: 'publisher' }, pageTrace);
    const pubTrace = await pub.page.evaluate('window.__joinTrace') as PageTraceEvent[];
    const publishEpochMs = p.connectStartEpochMs + (p.publishStart ?? NaN) - p.connectStart;
    const pubRow = stepsSince(publishEpochMs, { [pubId]: 'publisher' }, pubTrace.filter((e) => e.atMs <= firstVideoIn + 50));
    for (const [k, ms] of [...pubRow]) if (ms > firstVideoIn - publishEpochMs + 50) pubRow.delete(k);
    await rtcRoom.disconnect();
    rtcNodeRooms.pop();
    for (const page of pages) await page.callWithin(5_000, 'run', LEAVE_BODY).catch(() => undefined);
    return { phases: row, steps: stepRow, pubSteps: pubRow };
  } finally {
    for (const page of pages) await page.close();
    trace.clear();
  }
}

function serverFirst(t: JoinTrace, who: string, what: string): number | undefined {
  return t.events.find((e) => e.who === who && e.what === what)?.atMs;
}

/**
 * Steps (server and page) since `startEpochMs`: the server events of each identity in `labels` (identity -> label,
 * transports and media included) and the page's own trace.
 */
function stepsSince(startEpochMs: number, labels: Record<string, string>, pageTrace: PageTraceEvent[]): Row {
  const row: Row = new Map();
  const put = (label: string, atMs: number): void => {
    if (atMs < startEpochMs - 1) return;
    let key = label;
    for (let n = 2; row.has(key); n++) key = `${label} #${n}`;
    row.set(key, atMs - startEpochMs);
  };
  for (const e of trace.events) {
    const id = /^[^ /]+/.exec(e.who)?.[0] ?? '';
    const label = labels[id];
    if (label !== undefined) put(`s ${label}${e.who.slice(id.length)}: ${e.what}`, e.atMs);
  }
  for (const e of pageTrace) put(`p ${e.what}`, e.atMs);
  return row;
}

/** A step row without repeats (`#2`..., but the second WebSocket is the real join) and per-datagram DTLS lines. */
function mainSteps(row: Row): Row {
  return new Map([...row].filter(([k]) => (!/ #\d+$/.test(k) || /\bws /.test(k)) && !/: dtls (in|out|datagram) /.test(k)));
}

function fmt(ms: number | undefined): string {
  return ms === undefined || Number.isNaN(ms) ? '-' : ms.toFixed(0);
}

/** p50/p90/max per key over rows (a key missing in some runs shows how many runs had it). */
function table(rows: Row[], title: string, sortByMedian = false): string {
  const keys: string[] = [];
  for (const r of rows) for (const k of r.keys()) if (!keys.includes(k)) keys.push(k);
  const lines = keys.map((k) => {
    const values = rows.map((r) => r.get(k)).filter((x): x is number => x !== undefined && !Number.isNaN(x));
    return { k, values, p50: values.length > 0 ? median(values) : NaN };
  });
  if (sortByMedian) lines.sort((a, b) => a.p50 - b.p50);
  return formatTable([
    [title, 'p50', 'p90', 'max', 'runs'],
    ...lines.map(({ k, values, p50 }) => [
      k, fmt(p50), fmt(values.length > 0 ? percentile(values, 90) : NaN), fmt(values.length > 0 ? Math.max(...values) : NaN), String(values.length),
    ]),
  ]);
}
