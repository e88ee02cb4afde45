// Join latency: a fresh livekit-client viewer (headless Chromium) joins a room where a browser publisher already
// sends camera + microphone; times room.connect() -> connected -> TrackSubscribed -> first decoded video frame in the
// page, the publisher's own join, @livekit/rtc-node's connect(), and where the time goes on the server (join-trace.ts).
// Run: npx tsx bench/src/join.bench.ts [--runs 20] [--timeline] [--room-size N [--speakers K]] [--media-workers N]
//   [--signal v1|v0|fallback]
//   --timeline: every step of the median and slowest runs.
//   --room-size N: every run joins one room that already holds N participants with the publisher and the viewer
//     (N - 2 load-tester participants: K audio speakers (default 2) publishing Opus, the rest subscribing to every
//     track, the browser publisher's included), so the viewer's JoinResponse lists N - 1 others and its first
//     subscriber offer carries their tracks while the server forwards to them all. 0 (default): a fresh room per run.
//   --media-workers N: the server's rtc.media_workers (default: its own, one per core). The server-side steps come
//     from wrappers on this process's prototypes (join-trace.ts), so with workers only the main thread's steps
//     (WebSocket, signal messages) are traced; ICE, DTLS and RTP steps need --media-workers 0.
//   --signal: v1 (default): the server serves /rtc/v1 and the pages keep livekit-client's default single PC;
//     v0: the pages ask for /rtc (RoomOptions.singlePeerConnection false, two PCs); fallback: the server answers
//     /rtc/v1 with 404 (rtc.signal_v1 false) and the pages fall back to /rtc, as before /rtc/v1 was served.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
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
const roomSize = Number(stringArgument('room-size', '0'));
const speakers = Number(stringArgument('speakers', '2'));
const mediaWorkersArg = stringArgument('media-workers', '');
const mediaWorkers = mediaWorkersArg === '' ? undefined : Number(mediaWorkersArg);
const signal = stringArgument('signal', 'v1');
if (signal !== 'v1' && signal !== 'v0' && signal !== 'fallback') throw new Error(`--signal ${signal}: v1, v0 or fallback`);
/** What the pages give livekit-client's Room (the browser publisher and the viewer alike). */
const roomOptions: Record<string, unknown> = signal === 'v0' ? { singlePeerConnection: false } : {};
if (roomSize !== 0 && roomSize < speakers + 3) throw new Error(`--room-size ${roomSize}: needs at least --speakers + 3 (a publisher, a viewer, a subscriber)`);
/** The room every run joins with --room-size. */
const SHARED_ROOM = 'join-shared';
/** After the fill has joined, before the first run. */
const FILL_SETTLE_MS = 5000;
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
const server = await startAtrium({
  logLevel: 'warn',
  config: { rtc: { signalV1: signal !== 'fallback', ...(mediaWorkers !== undefined ? { mediaWorkers } : {}) } },
});
const isMediaTraced = server.server.mediaWorkers === undefined || server.server.mediaWorkers.workers.length === 0;
const browser = await launchBrowser({ livekitLogLevel: 'warn' });
await browser.context.addInitScript(PAGE_TRACE_INIT_SCRIPT);

const phases: Row[] = [];
const steps: Row[] = [];
const pubSteps: Row[] = [];
const rtcNodeRooms: RtcNodeRoom[] = [];
let fillSummary: string | undefined;
// With --room-size the room's publisher joins first and stays: the fill's subscribers take its tracks as they join,
// and every viewer joins a room that has been steady for a while.
const sharedPublisher = roomSize > 0 ? await startPublisher('pub', SHARED_ROOM) : undefined;
const fill = roomSize > 0 ? await fillRoom() : undefined;
try {
  // Run 0 warms up the JIT, the page and Chromium's codecs; it is not counted.
  for (let i = 0; i <= runs; i++) {
    const result = await runOnce(i, sharedPublisher);
    if (i > 0) {
      phases.push(result.phases);
      steps.push(result.steps);
      pubSteps.push(result.pubSteps);
    }
    process.stderr.write(`run ${i}${i === 0 ? ' (warm-up)' : ''}: first frame ${fmt(result.phases.get(FIRST_FRAME))} ms\n`);
  }
} finally {
  if (fill !== undefined) fillSummary = `Room fill (atrium load-test over the whole bench; its last lines):\n${await fill.stop()}`;
  await Promise.all(rtcNodeRooms.map((r) => r.disconnect().catch(() => undefined)));
  await sharedPublisher?.page.close();
  await browser.close();
  await server.close();
  await dispose();
}

const workerCount = server.server.mediaWorkers?.workers.length ?? 0;
const roomText = roomSize > 0 ? `; room of ${roomSize} with the viewer: ${speakers} load-tester speakers and ${roomSize - 2 - speakers} load-tester subscribers` : '; a fresh room per run';
const signalText = signal === 'v1' ? 'signalling v1 (/rtc/v1, one PC)' : signal === 'v0' ? 'signalling v0 (/rtc, two PCs)' : 'v1 refused (404), fallback to /rtc';
console.log(`\nJoin latency over ${runs} runs (ms; loopback, headless Chromium, livekit-client, ${signalText}; server in this process, ${workerCount} media workers${roomText})\n`);
if (fillSummary !== undefined) console.log(`${fillSummary}\n`);
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


interface StartedPublisher {
  id: string;
  page: BrowserParticipant;
  times: PageJoinTimes;
  /** When its first video RTP reached the server (estimated when media is in worker threads), epoch ms. */
  firstVideoInMs: number;
  /** Its join phases (the publisher rows of the table). */
  row: Row;
}

/** A browser publisher joins `room` and publishes camera + microphone. */
async function startPublisher(id: string, room: string): Promise<StartedPublisher> {
  const row: Row = new Map();
  const page = await browser.openParticipant(id);
  try {
    const p = await page.callWithin<PageJoinTimes>(30_000, 'run', publisherBody(server.url, await server.token({ identity: id, room }), roomOptions));
    row.set('publisher: connect() -> connected', p.connected - p.connectStart);
    row.set('publisher: enableCameraAndMicrophone() -> video published', (p.localVideoPublished ?? NaN) - (p.publishStart ?? NaN));
    let firstVideoInMs: number;
    if (isMediaTraced) {
      firstVideoInMs = await waitFor(() => serverFirst(trace, `${id} video`, 'first rtp in'), { label: 'publisher video at the server', timeoutMs: 10_000, intervalMs: 10 });
      row.set('publisher: enableCameraAndMicrophone() -> first video RTP at server', firstVideoInMs - (p.connectStartEpochMs + (p.publishStart ?? NaN) - p.connectStart));
      row.set('publisher: connect() -> first video RTP at server', firstVideoInMs - p.connectStartEpochMs);
    } else {
      // Media is in worker threads, out of the trace's reach: the first RTP reaches the server about 70 ms after the
      // track is published (the table of docs/performance.md), so count from publication with that margin.
      firstVideoInMs = p.connectStartEpochMs + (p.localVideoPublished ?? NaN) - p.connectStart + 200;
    }
    return { id, page, times: p, firstVideoInMs, row };
  } catch (err) {
    await page.close();
    throw err;
  }
}

/**
 * One run: a viewer joins and is timed. In a fresh room (no --room-size) a publisher joins first and leaves after;
 * with --room-size the room's publisher (`shared`) has been publishing since before the fill.
 */
async function runOnce(i: number, shared: StartedPublisher | undefined): Promise<{ phases: Row; steps: Row; pubSteps: Row }> {
  const room = shared !== undefined ? SHARED_ROOM : `join-${i}`;
  const viewId = `view-${i}`;
  const pages: BrowserParticipant[] = [];
  try {
    const pub = shared ?? await startPublisher(`pub-${i}`, room);
    if (shared === undefined) pages.push(pub.page);
    const row: Row = shared === undefined ? new Map(pub.row) : new Map();
    await waitFor(() => epochMs() - pub.firstVideoInMs >= PUBLISHING_BEFORE_JOIN_MS || undefined, { label: 'publisher warm', timeoutMs: 10_000, intervalMs: 20 });

    const viewer = await browser.openParticipant(viewId);
    pages.push(viewer);
    const v = await viewer.callWithin<PageJoinTimes>(30_000, 'run', viewerBody(server.url, await server.token({ identity: viewId, room }), FRAME_TIMEOUT_MS, roomOptions));
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
    const stepRow = stepsSince(v.connectStartEpochMs, { [viewId]: 'viewer', [pub.id]: 'publisher' }, pageTrace);
    let pubRow: Row = new Map();
    if (shared === undefined) {
      const p = pub.times;
      const pubTrace = await pub.page.page.evaluate('window.__joinTrace') as PageTraceEvent[];
      const publishEpochMs = p.connectStartEpochMs + (p.publishStart ?? NaN) - p.connectStart;
      pubRow = stepsSince(publishEpochMs, { [pub.id]: 'publisher' }, pubTrace.filter((e) => e.atMs <= pub.firstVideoInMs + 50));
      for (const [k, ms] of [...pubRow]) if (ms > pub.firstVideoInMs - publishEpochMs + 50) pubRow.delete(k);
    }
    await rtcRoom.disconnect();
    rtcNodeRooms.pop();
    for (const page of pages) await page.callWithin(5_000, 'run', LEAVE_BODY).catch(() => undefined);
    return { phases: row, steps: stepRow, pubSteps: pubRow };
  } finally {
    for (const page of pages) await page.close();
    trace.clear();
  }
}

/**
 * Fills SHARED_ROOM with `atrium load-test` in a child process of its own (so its work does not share this process's
 * event loop with the server's signalling); resolves once the room holds them all and they have settled.
 */
async function fillRoom(): Promise<{ stop: () => Promise<string> }> {
  const subscribers = roomSize - 2 - speakers;
  process.stderr.write(`filling ${SHARED_ROOM}: ${speakers} speakers + ${subscribers} subscribers (atrium load-test)\n`);
  const cli = fileURLToPath(new URL('../../packages/cli/bin/atrium.js', import.meta.url));
  const child = spawn(process.execPath, [
    cli, 'load-test', '--url', server.url, '--api-key', 'devkey', '--api-secret', 'secret', '--room', SHARED_ROOM,
    '--audio-publishers', String(speakers), '--subscribers', String(subscribers), '--num-per-second', '50',
  ], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (d: Buffer) => { output += d.toString(); });
  child.stderr.on('data', (d: Buffer) => { output += d.toString(); });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const target = roomSize - 1; // the fill and the publisher
  await waitFor(() => (server.server.rooms.getRoom(SHARED_ROOM)?.participantCount ?? 0) >= target || undefined, {
    label: `${target} participants in ${SHARED_ROOM}`, timeoutMs: 60_000, intervalMs: 100,
  });
  // Let the subscribers' estimators and layer choices settle (they move up a layer a second at most).
  await new Promise((resolve) => setTimeout(resolve, FILL_SETTLE_MS));
  trace.clear();
  return {
    stop: async () => {
      child.kill('SIGINT');
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(timer);
      // The load tester's own summary: its joins, packets and loss, its own cost, and its verdict.
      return output.split('\n').filter((l) => /^(participants|packets|tester media|decryption|PASS|FAIL)\b/.test(l)).join('\n');
    },
  };
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
