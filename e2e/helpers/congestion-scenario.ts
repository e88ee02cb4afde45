// Scenario for e2e/congestion.test.ts, run inside a network namespace by runInNetworkNamespace: Atrium in-process,
// livekit-client in headless Chromium (a 1280x720 simulcast camera at 30 fps and a steady tone from one page, one or
// two subscriber pages), and phases that impair only what Atrium sends to one subscriber's PeerConnection (sport =
// Atrium's UDP port, dport = that page's subscriber transport port). Prints one JSON line: per phase what each
// subscriber received (congestion-sampler.ts), plus the tc and NFQUEUE counters.
// Usage: congestion-scenario.ts [--allow-pause] [--long] <phase>...   phases: clean loss cap600 lift pause two
import { waitFor } from '@atrium/webrtc/testing/wait-for.js';
import { launchBrowser, type BrowserHarness } from './browser.js';
import type { BrowserParticipant } from './browser-participant.js';
import { ReceiveSampler, ServerCongestionSampler, type ReceiveStats, type ServerView } from './congestion-sampler.js';
import { emitScenarioResult } from './netns.js';
import { impair } from './netns-impair.js';
import { capBandwidth, type BandwidthCap } from './netns-shaping.js';
import { startAtrium, type AtriumUnderTest } from './server.js';

const PHASES = ['clean', 'loss', 'cap600', 'lift', 'pause', 'two'] as const;
type Phase = (typeof PHASES)[number];

const args = process.argv.slice(2);
const allowPause = args.includes('--allow-pause');
const isLong = args.includes('--long') || process.env['ATRIUM_CC_LONG'] === '1';
const phases = args.filter((a) => !a.startsWith('--')) as Phase[];
// `impair:<loss %>:<delay ms>` is an extra loss/delay phase for diagnosis (the test runs `loss`, i.e. impair:5:40).
for (const p of phases) if (!PHASES.includes(p) && !/^impair:\d+(\.\d+)?:\d+$/.test(p)) throw new Error(`unknown phase ${p} (phases: ${PHASES.join(' ')})`);

/** Time given to the server to react to a new impairment before the window that is measured. */
const SETTLE_MS = 5_000;
const CAP_WINDOW_MS = isLong ? 30_000 : 20_000;
/** The rate that lifts a cap (tbf stays in place, far above anything sent). */
const LIFTED_KBIT = 1_000_000;
/** tbf queue at the cap rate: a bottleneck with 150 ms of buffer, packets beyond it dropped. */
const CAP_QUEUE_MS = 150;
const PUBLISHER = 'pub';
/** A layer counts as reached when this many consecutive decoded frames have its width (half a second at 30 fps). */
const RUN_FRAMES = 15;

const log = (line: string): void => {
  process.stderr.write(`[congestion ${new Date().toISOString().slice(11, 23)}] ${line}\n`);
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface PhaseResult {
  phase: string;
  /** What was done to the link, for the table. */
  link: string;
  subscribers: Record<string, ReceiveStats>;
  server: Record<string, ServerView>;
  /** Phase-specific timings (ms from the change of the link), e.g. first frame below 1280 wide. */
  timings: Record<string, number | null>;
  /** The publisher's encodings at the end of the phase (rid, width, fps sent, qualityLimitationReason). */
  publisher: string[];
  tc?: unknown;
  impair?: unknown;
  /** Lift and pause phases: per second from the change, 'estimate/allocated kbit/s width' of subscriber 'sub'. */
  timeline?: string[];
}

async function main(): Promise<void> {
  const startedMs = Date.now();
  let server: AtriumUnderTest | undefined;
  let browser: BrowserHarness | undefined;
  const sampler = new ReceiveSampler(500);
  let stopServerSampling = (): void => undefined;
  const results: PhaseResult[] = [];
  try {
    server = await startAtrium({ config: { rtc: { congestionControl: { allowPause } } } });
    const srv = server;
    log(`Atrium on udp ${srv.udpPort}, allowPause=${allowPause}, phases ${phases.join(' ')}`);
    browser = await launchBrowser({
      omitArgs: ['--use-fake-device-for-media-stream'],
      extraArgs: [
        '--use-fake-device-for-media-stream=fps=30',
        '--disable-background-timer-throttling',
        '--disable-renderer-backgrounding',
        '--disable-backgrounding-occluded-windows',
      ],
    });
    const b = browser;
    const room = `cc-${Date.now()}`;
    const [pub, sub] = await b.openParticipants(['PUB', 'sub']);
    if (!pub || !sub) throw new Error('pages did not open');
    await pub.connect(srv.url, await srv.token({ identity: PUBLISHER, room }));
    await pub.call('publishTone', { leftHz: 440, name: 'tone' });
    await pub.setCameraEnabled(true);
    await waitFor(async () => {
      const rows = (await pub.localVideoSenderStats()).filter((r) => r.source === 'camera');
      return rows.length === 3 && rows.every((r) => r.frameWidth > 0 && r.bytesSent > 0) ? rows : undefined;
    }, { label: 'publisher sends three layers', timeoutMs: 25_000 });
    const subPort = await joinSubscriber(srv, sub, room, sampler);
    log(`subscriber 'sub' receives on udp ${subPort} (setup ${Date.now() - startedMs} ms)`);
    sampler.start();
    const serverSampler = new ServerCongestionSampler(() =>
      srv.server.rooms.listRooms().flatMap((r) => r.listParticipants().map((p) => ({ identity: p.identity, state: p.media.congestionState?.() }))),
    );
    serverSampler.start();
    stopServerSampling = () => serverSampler.stop();
    const timeline = (identity: string, fromMs: number, toMs: number) => serverSampler.timeline(identity, fromMs, toMs, sampler);

    const publisherInfo = async (): Promise<string[]> =>
      (await pub.localVideoSenderStats())
        .filter((r) => r.source === 'camera')
        .map((r) => `${r.rid}:${r.frameWidth}${r.active ? '' : '(off)'}:${r.qualityLimitationReason ?? '?'}`);
    const measure = async (phase: string, link: string, labels: string[], fromMs: number, toMs: number, extra: Partial<PhaseResult> = {}) => {
      await sampler.sampleNow();
      const subscribers: Record<string, ReceiveStats> = {};
      const server: Record<string, ServerView> = {};
      for (const l of labels) {
        subscribers[l] = await sampler.phaseStats(l, fromMs, toMs);
        server[l] = serverSampler.view(l, fromMs, toMs);
      }
      const r: PhaseResult = { phase, link, subscribers, server, timings: {}, publisher: await publisherInfo(), ...extra };
      results.push(r);
      log(`${phase}: ${JSON.stringify(r)}`);
      return r;
    };
    const untilMs = async (t: number) => {
      const wait = t - Date.now();
      if (wait > 0) await sleep(wait);
    };

    let cap: BandwidthCap | undefined;
    for (const phase of phases) {
      const t0 = Date.now();
      log(`phase ${phase}`);
      if (phase === 'clean') {
        await untilMs(t0 + 10_000);
        await measure('clean', 'none', ['sub'], t0, Date.now());
      } else if (phase === 'loss' || phase.startsWith('impair:')) {
        const [lossPercent, delayMs] = phase === 'loss' ? [5, 40] : phase.split(':').slice(1).map(Number) as [number, number];
        const imp = await impair({ sport: srv.udpPort, dport: subPort, lossPercent, delayMs, seed: 8 });
        await untilMs(t0 + SETTLE_MS + 10_000);
        const stats = await imp.stats();
        const end = Date.now();
        await imp.stop();
        await measure(phase, `${lossPercent}% loss + ${delayMs} ms delay`, ['sub'], t0 + SETTLE_MS, end, { impair: stats });
      } else if (phase === 'cap600' || phase === 'pause') {
        const rateKbit = phase === 'cap600' ? 600 : 150;
        if (cap) await cap.update(rateKbit, { latencyMs: CAP_QUEUE_MS });
        else cap = await capBandwidth({ sport: srv.udpPort, dport: subPort, rateKbit, latencyMs: CAP_QUEUE_MS });
        const timings: Record<string, number | null> = {};
        if (phase === 'cap600') {
          await untilMs(t0 + SETTLE_MS + CAP_WINDOW_MS);
          const down = sampler.firstRun('sub', t0, (w) => w > 0 && w < 1280, RUN_FRAMES);
          timings['below1280Ms'] = down === undefined ? null : down - t0;
          await measure('cap600', `${rateKbit} kbit/s cap`, ['sub'], t0 + SETTLE_MS, Date.now(), { timings, tc: await cap.counters(), timeline: timeline('sub', t0, Date.now()) });
        } else {
          // Wait (bounded) for the video to be paused, then measure the audio for 10 s while it is.
          const paused = await waitFor(async () => {
            const e = (await sub.events()).find((x) => x.type === 'trackStreamStateChanged' && x.source === 'camera' && x.state === 'paused' && sampler.toWall('sub', x.atMs) >= t0);
            return e;
          }, { label: 'video paused', timeoutMs: 20_000 }).catch(() => undefined);
          const pausedAt = paused ? sampler.toWall('sub', paused.atMs) : undefined;
          timings['pausedAfterMs'] = pausedAt === undefined ? null : Math.round(pausedAt - t0);
          const from = Math.max(pausedAt ?? Date.now(), t0 + SETTLE_MS);
          await untilMs(from + 10_000);
          await measure('pause', `${rateKbit} kbit/s cap${allowPause ? ', allow_pause' : ''}`, ['sub'], from, Date.now(), { timings, tc: await cap.counters(), timeline: timeline('sub', t0, Date.now()) });
        }
      } else if (phase === 'lift') {
        if (cap) await cap.update(LIFTED_KBIT);
        const timings: Record<string, number | null> = {};
        const at1280 = () => sampler.firstRun('sub', t0, (w) => w === 1280, RUN_FRAMES);
        await waitFor(async () => at1280(), { label: 'back at 1280', timeoutMs: 20_000 }).catch(() => undefined);
        const up = at1280();
        const any = sampler.firstFrame('sub', t0, (w) => w > 0);
        timings['firstFrameMs'] = any === undefined ? null : any - t0;
        timings['back1280Ms'] = up === undefined ? null : up - t0;
        await untilMs(Math.max((up ?? t0) + 2_000, t0 + 5_000));
        await measure('lift', 'cap lifted', ['sub'], t0, Date.now(), { timings, timeline: timeline('sub', t0, Date.now()) });
      } else if (phase === 'two') {
        if (cap) {
          await cap.remove();
          cap = undefined;
        }
        const clean = await b.openParticipant('clean');
        const cleanPort = await joinSubscriber(srv, clean, room, sampler);
        // The first subscriber back at the top before its cap.
        const t2 = Date.now();
        await waitFor(async () => sampler.firstRun('sub', t2 - 1_000, (w) => w === 1280, RUN_FRAMES), { label: 'sub at 1280 before two', timeoutMs: 20_000 }).catch(() => undefined);
        log(`clean subscriber on udp ${cleanPort}`);
        const t1 = Date.now();
        cap = await capBandwidth({ sport: srv.udpPort, dport: subPort, rateKbit: 600, latencyMs: CAP_QUEUE_MS });
        await untilMs(t1 + SETTLE_MS + 15_000);
        const down = sampler.firstRun('sub', t1, (w) => w > 0 && w < 1280, RUN_FRAMES);
        await measure('two', '600 kbit/s cap on sub only', ['sub', 'clean'], t1 + SETTLE_MS, Date.now(), {
          timings: { below1280Ms: down === undefined ? null : down - t1 },
          tc: await cap.counters(),
        });
      }
    }
    await sampler.stop();
    stopServerSampling();
    emitScenarioResult({ ok: true, allowPause, long: isLong, udpPort: srv.udpPort, subPort, totalMs: Date.now() - startedMs, phases: results });
  } catch (err) {
    await sampler.stop().catch(() => undefined);
    log(`failed: ${(err as Error).stack ?? String(err)}`);
    if (browser) log(`client logs (last 80):\n${browser.logs().slice(-80).join('\n')}`);
    emitScenarioResult({ ok: false, error: String(err), phases: results });
    process.exitCode = 1;
  } finally {
    stopServerSampling();
    await browser?.close().catch(() => undefined);
    await server?.close().catch(() => undefined);
  }
}

/** Connects a subscriber page (identity = its label), waits for the camera at 1280 wide, returns its subscriber port. */
async function joinSubscriber(srv: AtriumUnderTest, page: BrowserParticipant, room: string, sampler: ReceiveSampler): Promise<number> {
  await page.connect(srv.url, await srv.token({ identity: page.label, room }));
  await page.waitForDecoding(
    (rows) => rows.find((r) => r.participant === PUBLISHER && r.source === 'camera'),
    (r) => r.frameWidth === 1280,
    { label: 'camera at 1280', timeoutMs: 25_000 },
  );
  const t = await waitFor(async () => (await page.call<{ localPort?: number; protocol?: string } | undefined>('subscriberTransport')) ?? undefined, {
    label: `${page.label} subscriber transport`,
    timeoutMs: 10_000,
  });
  if (t.protocol !== 'udp' || typeof t.localPort !== 'number') throw new Error(`${page.label}: subscriber transport ${JSON.stringify(t)}`);
  sampler.watch({ label: page.label, page, publisher: PUBLISHER });
  return t.localPort;
}

await main();
