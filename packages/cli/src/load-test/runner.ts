// Runs one load test: starts the simulated participants at --num-per-second (video publishers, audio publishers,
// then subscribers), drives every source from one timer, reports progress each second, lets media flow for
// --duration once everyone joined (or until aborted), then drains, leaves and builds the report.
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { AccessToken } from 'livekit-server-sdk';
import { generateCertificate } from '@atrium/webrtc/dtls/certificate.js';
import { LoadParticipant } from './load-participant.js';
import type { PublishedTrack } from './load-participant.js';
import { videoLayers } from './media-plan.js';
import { AudioSource } from './media-source.js';
import { SubscriptionStats, LatencyHistogram } from './stats.js';
import { buildReport, formatBitrate, subscriptionKey } from './report.js';
import { LayoutAssigner } from './layout.js';
import type { JoinRecord, LoadTestReport, SubscriptionRecord } from './report.js';
import { DEFAULT_DECRYPT_EVERY } from './options.js';
import type { LoadTestOptions } from './options.js';

const TICK_MS = 5;
const JOIN_TIMEOUT_MS = 15_000;
/** After the sources stop, packets still in flight get this long to arrive before counting stops. */
const DRAIN_MS = 500;

export interface RunTarget {
  url: string;
  apiKey: string;
  apiSecret: string;
  /** Address our sockets bind and advertise: loopback for a server on this machine, else any. */
  localAddress: string;
}

export interface RunHooks {
  /** A progress line every second (the caller decides how to show it). */
  progress(line: string): void;
  /** Ends the media phase early (Ctrl-C); the report covers what ran. */
  signal?: AbortSignal;
  /**
   * At the start of the media window (everyone joined) and at its end (sources stopped), with the packets sent and
   * received so far: a benchmark measures the server over exactly that window.
   */
  onPhase?: (phase: 'media' | 'end', counts: { packetsSent: number; packetsReceived: number }) => void;
}

type Role = JoinRecord['role'];

async function tokenFor(target: RunTarget, identity: string, room: string, role: Role): Promise<string> {
  const t = new AccessToken(target.apiKey, target.apiSecret, { identity, ttl: '6h' });
  const isPublisher = role !== 'subscriber';
  t.addGrant({ roomJoin: true, room, canPublish: isPublisher, canSubscribe: !isPublisher, canPublishData: false });
  return t.toJwt();
}

const sleep = (ms: number, signal?: AbortSignal): Promise<void> =>
  new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });

export async function runLoadTest(opts: LoadTestOptions, target: RunTarget, hooks: RunHooks): Promise<LoadTestReport> {
  const cpu0 = process.cpuUsage();
  const wall0 = performance.now();
  const certificate = await generateCertificate();
  const roles: { identity: string; role: Role }[] = [
    ...Array.from({ length: opts.videoPublishers }, (_, i) => ({ identity: `${opts.identityPrefix}_video_${i}`, role: 'video-publisher' as const })),
    ...Array.from({ length: opts.audioPublishers }, (_, i) => ({ identity: `${opts.identityPrefix}_audio_${i}`, role: 'audio-publisher' as const })),
    ...Array.from({ length: opts.subscribers }, (_, i) => ({ identity: `${opts.identityPrefix}_sub_${i}`, role: 'subscriber' as const })),
  ];
  const joins: JoinRecord[] = roles.map((r) => ({ identity: r.identity, role: r.role, isJoined: false }));
  const participants: LoadParticipant[] = [];
  const tracks: PublishedTrack[] = [];
  const joinStart = new Map<string, number>();
  const subscriptions: SubscriptionStats[] = [];
  const problems: string[] = [];
  const layers = videoLayers(opts.videoResolution, opts.simulcast);
  const decryptEvery = Math.max(1, Math.floor(opts.decryptEvery ?? DEFAULT_DECRYPT_EVERY));

  const ticker = setInterval(() => {
    const now = performance.now();
    for (const t of tracks) t.source.tick(now);
  }, TICK_MS);

  let lastProgress = { at: performance.now(), bytes: 0 };
  const progress = (phase: string): void => {
    const now = performance.now();
    const received = subscriptions.reduce((n, s) => n + s.packets, 0);
    const bytes = subscriptions.reduce((n, s) => n + s.bytes, 0);
    const expected = subscriptions.reduce((n, s) => n + s.expected, 0);
    const lost = subscriptions.reduce((n, s) => n + s.lost, 0);
    const sent = tracks.reduce((n, t) => n + t.source.packetsSent, 0);
    const rate = ((bytes - lastProgress.bytes) * 8 * 1000) / Math.max(1, now - lastProgress.at);
    lastProgress = { at: now, bytes };
    const c = process.cpuUsage(cpu0);
    const cpuPct = (100 * (c.user + c.system)) / 1000 / Math.max(1, now - wall0);
    hooks.progress(
      `${((now - wall0) / 1000).toFixed(0).padStart(4)} s  ${phase}  joined ${joins.filter((j) => j.isJoined).length}/${joins.length}` +
        `  tracks ${tracks.length}  sent ${sent}  received ${received}  loss ${(expected > 0 ? (100 * lost) / expected : 0).toFixed(2)}%` +
        `  in ${formatBitrate(rate)}  tester CPU ${cpuPct.toFixed(0)}%`,
    );
  };
  let phase = 'joining';
  const progressTimer = setInterval(() => progress(phase), 1000);

  const talkers = opts.talkers !== undefined ? new Talkers(opts.talkers) : undefined;
  const byIdentity = new Map<string, LoadParticipant>();
  /** --layout: each subscriber's tiles, and the (subscriber, track) pairs it disabled. */
  const screens = new Map<string, LayoutAssigner>();
  const disabled = new Set<string>();
  const startOne = async (index: number): Promise<void> => {
    const j = joins[index]!;
    const t0 = performance.now();
    joinStart.set(j.identity, t0);
    try {
      const p = await LoadParticipant.join({
        url: target.url, token: await tokenFor(target, j.identity, opts.room, j.role), identity: j.identity, certificate,
        localAddress: target.localAddress, subscribe: j.role === 'subscriber', timeoutMs: JOIN_TIMEOUT_MS, decryptEvery,
        ...(opts.udpRecv !== undefined ? { udpRecv: opts.udpRecv } : {}),
        onSubscribed: (sub, trackSid) => {
          const published = tracks.find((t) => t.sid === trackSid);
          if (opts.layout !== undefined && published !== undefined) {
            // --layout: the tile this subscriber gives the track (its size), or none (disabled: not expected to arrive).
            let screen = screens.get(sub.identity);
            if (screen === undefined) screens.set(sub.identity, (screen = new LayoutAssigner(opts.layout)));
            const settings = screen.settingsFor(published.publisher, published.kind);
            if (settings === 'disabled') {
              sub.setTrackSettings(trackSid, settings);
              disabled.add(subscriptionKey(sub.identity, trackSid));
              return undefined;
            }
            if (settings !== 'heard') sub.setTrackSettings(trackSid, settings);
          }
          const since = Math.max(joinStart.get(sub.identity) ?? 0, published?.publishedAtMs ?? 0);
          const s = new SubscriptionStats(sub.identity, trackSid, since);
          subscriptions.push(s);
          return s;
        },
        onProblem: (who, what) => problems.push(`${who.identity}: ${what}`),
      });
      participants.push(p);
      byIdentity.set(j.identity, p);
      if (j.role === 'video-publisher') await p.publish({ video: layers });
      if (j.role === 'audio-publisher') await p.publish({ audio: true });
      tracks.push(...p.tracks);
      for (const t of p.tracks) if (t.source instanceof AudioSource) talkers?.add(t.source);
      j.joinMs = performance.now() - t0;
      j.isJoined = true;
    } catch (err) {
      j.error = err instanceof Error ? err.message : String(err);
    }
  };

  const started: Promise<void>[] = [];
  const gapMs = 1000 / opts.numPerSecond;
  for (let i = 0; i < joins.length && !hooks.signal?.aborted; i++) {
    started.push(startOne(i));
    if (i < joins.length - 1) await sleep(gapMs, hooks.signal);
  }
  await Promise.all(started);

  const counts = (): { packetsSent: number; packetsReceived: number } => ({
    packetsSent: tracks.reduce((n, t) => n + t.source.packetsSent, 0),
    packetsReceived: subscriptions.reduce((n, s) => n + s.packets, 0),
  });
  phase = 'media';
  const mediaCounts = counts();
  hooks.onPhase?.('media', mediaCounts);
  const mediaCpu0 = process.cpuUsage();
  const loopDelay = monitorEventLoopDelay({ resolution: 10 });
  loopDelay.enable();
  const mediaStart = performance.now();
  progress(phase);
  const speakers = opts.simulateSpeakers === true ? simulateSpeakers(participants.filter((p) => p.tracks.length > 0)) : undefined;
  if (opts.durationSec > 0) await sleep(opts.durationSec * 1000, hooks.signal);
  else if (hooks.signal) await new Promise<void>((resolve) => (hooks.signal!.aborted ? resolve() : hooks.signal!.addEventListener('abort', () => resolve(), { once: true })));
  const mediaMs = performance.now() - mediaStart;
  clearInterval(ticker);
  speakers?.stop();
  talkers?.stop();
  for (const t of tracks) t.source.stop();
  const mediaCpu = process.cpuUsage(mediaCpu0);
  loopDelay.disable();
  const endCounts = counts();
  hooks.onPhase?.('end', endCounts);
  phase = 'draining';
  await sleep(DRAIN_MS);
  clearInterval(progressTimer);

  // Snapshot before leaving (closing stops counting anyway).
  const records = mergeSubscriptions(subscriptions);
  const trackRecords = tracks.map((t) => ({
    sid: t.sid, publisher: t.publisher, kind: t.kind, layers: t.layers,
    packetsSent: t.source.packetsSent, bytesSent: t.source.bytesSent, framesSent: t.source.framesSent,
  }));
  const receive = { decryptEvery, packetsNotDecrypted: 0, authFailures: 0, replayed: 0 };
  for (const p of participants) {
    const c = p.receiveCounters;
    receive.packetsNotDecrypted += c.notDecrypted;
    receive.authFailures += c.authFailures;
    receive.replayed += c.replayed;
  }
  for (const j of joins) {
    const diagnostics = byIdentity.get(j.identity)?.diagnostics();
    if (diagnostics !== undefined) j.diagnostics = diagnostics;
  }
  await Promise.all(participants.map((p) => p.leave().catch(() => undefined)));
  const cpu = process.cpuUsage(cpu0);
  const report = buildReport({
    room: opts.room, url: target.url,
    shape: {
      videoPublishers: opts.videoPublishers, audioPublishers: opts.audioPublishers, subscribers: opts.subscribers,
      videoResolution: opts.videoResolution, simulcast: opts.simulcast, durationSec: opts.durationSec, numPerSecond: opts.numPerSecond,
      ...(opts.layout !== undefined ? { layout: opts.layout } : {}),
      ...(opts.talkers !== undefined ? { talkers: opts.talkers } : {}),
    },
    mediaMs, joins, tracks: trackRecords, subscriptions: records, disabledSubscriptions: disabled,
    tester: {
      cpuUserMs: cpu.user / 1000, cpuSystemMs: cpu.system / 1000, wallMs: performance.now() - wall0,
      media: {
        cpuMs: (mediaCpu.user + mediaCpu.system) / 1000, wallMs: mediaMs,
        packetsSent: endCounts.packetsSent - mediaCounts.packetsSent, packetsReceived: endCounts.packetsReceived - mediaCounts.packetsReceived,
        ...(loopDelay.count > 0 ? { loopDelayMs: { p99: loopDelay.percentile(99) / 1e6, max: loopDelay.max / 1e6 } } : {}),
      },
    },
    receive,
    ...(speakers !== undefined ? {
      speakers: {
        requests: speakers.requests,
        updatesReceived: participants.filter((p) => !p.tracks.length).map((p) => p.speakerUpdatesReceived),
      },
    } : {}),
    maxLossPct: opts.maxLossPct,
  });
  if (problems.length > 0) report.failures.push(...problems.slice(0, 5).map((p) => `problem: ${p}`));
  report.isPassed = report.failures.length === 0;
  return report;
}

/** How often --talkers picks who talks. */
const TALKERS_ROTATE_MS = 6000;

/**
 * --talkers N: N of the audio sources talk at a time, the others are silent (Opus DTX); every TALKERS_ROTATE_MS a new
 * N are picked at random. A source that starts while fewer than N talk talks; the rest start silent, so the join
 * phase never has more talkers than the media phase.
 */
class Talkers {
  private readonly count: number;
  private readonly sources: AudioSource[] = [];
  private timer: NodeJS.Timeout | undefined;

  constructor(count: number) {
    this.count = count;
  }

  add(source: AudioSource): void {
    source.setTalking(this.sources.filter((s) => s.isTalking).length < this.count);
    this.sources.push(source);
    if (this.timer === undefined) {
      this.timer = setInterval(() => this.rotate(), TALKERS_ROTATE_MS);
      this.timer.unref?.();
    }
  }

  private rotate(): void {
    const order = this.sources.map((s) => ({ s, key: Math.random() })).sort((a, b) => a.key - b.key);
    order.forEach(({ s }, i) => s.setTalking(i < this.count));
  }

  stop(): void {
    clearInterval(this.timer);
  }
}

/** lk's speaker simulator: 1 s pause, then a random publisher asks to be the speaker for 5 s, and again after both. */
const SPEAKER_PAUSE_MS = 1000;
const SPEAKER_UPDATE_SEC = 5;
function simulateSpeakers(publishers: readonly LoadParticipant[]): { requests: number; stop(): void } {
  let timer: NodeJS.Timeout | undefined;
  const sim = {
    requests: 0,
    stop: () => clearTimeout(timer),
  };
  const next = (delayMs: number): void => {
    timer = setTimeout(() => {
      const p = publishers[Math.floor(Math.random() * publishers.length)];
      if (p === undefined) return;
      p.simulateSpeakerUpdate(SPEAKER_UPDATE_SEC);
      sim.requests++;
      next(SPEAKER_PAUSE_MS + SPEAKER_UPDATE_SEC * 1000);
    }, delayMs);
  };
  next(SPEAKER_PAUSE_MS);
  return sim;
}

/** One record per (subscriber, track): a re-subscription (new stream, new sequence space) adds to the first. */
export function mergeSubscriptions(list: readonly SubscriptionStats[]): SubscriptionRecord[] {
  const out = new Map<string, SubscriptionRecord>();
  for (const s of list) {
    const key = `${s.subscriber}\u0000${s.trackSid}`;
    const first = Number.isFinite(s.firstAtMs) ? s.firstAtMs - s.sinceMs : NaN;
    const prev = out.get(key);
    if (prev === undefined) {
      const latency = new LatencyHistogram();
      latency.merge(s.latency);
      out.set(key, { subscriber: s.subscriber, trackSid: s.trackSid, packets: s.packets, packetsDecrypted: s.packetsDecrypted, bytes: s.bytes, frames: s.frames, expected: s.expected, lost: s.lost, spanMs: s.spanMs, firstMediaMs: first, latency });
      continue;
    }
    prev.packets += s.packets;
    prev.packetsDecrypted = (prev.packetsDecrypted ?? 0) + s.packetsDecrypted;
    prev.bytes += s.bytes;
    prev.frames += s.frames;
    prev.expected += s.expected;
    prev.lost += s.lost;
    prev.spanMs += s.spanMs;
    if (!Number.isFinite(prev.firstMediaMs) || first < prev.firstMediaMs) prev.firstMediaMs = first;
    prev.latency.merge(s.latency);
  }
  return [...out.values()];
}
