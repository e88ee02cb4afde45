// The load test's results: one JSON-able report built from the raw counts (per track, per subscription, per join,
// the tester's own CPU), the pass/fail verdict (--max-loss, failed joins, subscriptions that got nothing), and its
// text form (a table per track and a summary). Pure.
import { formatTable } from '../format.js';
import { LatencyHistogram, percentile } from './stats.js';

export interface JoinRecord {
  identity: string;
  role: 'video-publisher' | 'audio-publisher' | 'subscriber';
  isJoined: boolean;
  /** WebSocket open -> JoinResponse -> (publishers) publisher PC connected. */
  joinMs?: number;
  error?: string;
  /** The participant's state at the end, quoted when it got nothing (e.g. its subscriber PC state). */
  diagnostics?: string;
}

export interface TrackRecord {
  sid: string;
  publisher: string;
  kind: 'audio' | 'video';
  layers: readonly string[];
  packetsSent: number;
  bytesSent: number;
  framesSent: number;
}

export interface SubscriptionRecord {
  subscriber: string;
  trackSid: string;
  packets: number;
  /** Of `packets`, those authenticated and decrypted (absent: all). */
  packetsDecrypted?: number;
  bytes: number;
  frames: number;
  expected: number;
  lost: number;
  spanMs: number;
  /** First packet relative to the later of join start and publication; NaN when nothing came. */
  firstMediaMs: number;
  latency: LatencyHistogram;
}

export interface ReportInput {
  room: string;
  url: string;
  shape: { videoPublishers: number; audioPublishers: number; subscribers: number; videoResolution: string; simulcast: boolean; durationSec: number; numPerSecond: number; layout?: string; talkers?: number };
  /** How long media flowed with everyone joined (the measuring window). */
  mediaMs: number;
  joins: readonly JoinRecord[];
  tracks: readonly TrackRecord[];
  subscriptions: readonly SubscriptionRecord[];
  /** (subscriber, track) pairs the subscriber disabled (--layout: no tile for its publisher), as subscriptionKey()s. */
  disabledSubscriptions?: ReadonlySet<string>;
  tester: {
    cpuUserMs: number; cpuSystemMs: number; wallMs: number;
    /** The tester's CPU over the media window alone (everyone joined, sources running) and the packets it handled then. */
    media?: {
      cpuMs: number; wallMs: number; packetsSent: number; packetsReceived: number;
      /** How late the tester's event loop ran timers over the window (its arrival times are that late at worst). */
      loopDelayMs?: { p99: number; max: number };
    };
  };
  /** What the subscribers' SRTP did: 1 packet in `decryptEvery` authenticated and decrypted, and what failed. */
  receive?: { decryptEvery: number; packetsNotDecrypted: number; authFailures: number; replayed: number };
  /** --simulate-speakers: speaker requests sent, and the SpeakersChanged messages each subscriber received. */
  speakers?: { requests: number; updatesReceived: number[] };
  maxLossPct: number;
}

export interface TrackReport {
  track: string;
  publisher: string;
  kind: 'audio' | 'video';
  layers: string;
  packetsSent: number;
  sendBitrateBps: number;
  subscribers: number;
  receiving: number;
  packetsReceived: number;
  packetsLost: number;
  lossPct: number;
  /** Mean over the subscriptions that received something. */
  bitrateBps: number;
  /** Frames (marker bits) per second, mean over receiving subscriptions; audio: packets per second. */
  fps: number;
  firstMediaMs: { p50: number; p95: number };
  latencyMs: { p50: number; p99: number; samples: number };
  perSubscriber: { subscriber: string; packets: number; lost: number; lossPct: number; bitrateBps: number; fps: number }[];
}

export interface LoadTestReport {
  room: string;
  url: string;
  shape: ReportInput['shape'];
  mediaSec: number;
  participants: { expected: number; joined: number; failed: number; joinMs: { p50: number; p95: number; max: number } };
  tracks: TrackReport[];
  summary: {
    tracks: number;
    subscriptions: { expected: number; receiving: number };
    packetsSent: number;
    packetsReceived: number;
    packetsLost: number;
    lossPct: number;
    bitrateBps: number;
    firstMediaMs: { p50: number; p95: number };
    latencyMs: { p50: number; p99: number; samples: number };
  };
  /**
   * The tester's own cost over the whole run (joins and DTLS included), and over the media window alone: CPU µs per
   * packet it sent or received there is the figure to compare with a server's CPU per forwarded packet.
   */
  tester: {
    cpuSec: number; wallSec: number; cpuPctOfOneCore: number; cpuUsPerPacket: number;
    media?: {
      cpuSec: number; wallSec: number; cpuPctOfOneCore: number; packets: number; cpuUsPerPacket: number;
      loopDelayMs?: { p99: number; max: number };
      /** The tester was near its limit (most of its one core, or its event loop late): loss and latency may be its own. */
      isBusy: boolean;
    };
  };
  /**
   * Subscribers' SRTP: packets authenticated and decrypted (1 in `decryptEvery` of each stream; the rest are counted
   * from their clear header), and packets dropped for failed authentication or as replays.
   */
  receive?: { decryptEvery: number; packetsDecrypted: number; packetsNotDecrypted: number; authFailures: number; replayed: number };
  /** --simulate-speakers: requests sent, subscribers that saw at least one speaker update, updates received in all. */
  speakers?: { requests: number; subscribersUpdated: number; subscribers: number; updatesReceived: number };
  maxLossPct: number;
  failures: string[];
  isPassed: boolean;
}

/** The tester's event loop is one thread: above this share of a core, or this late, it may be what limits a run. */
const BUSY_CPU_PCT = 80;
const BUSY_LOOP_DELAY_MS = 20;

const lossPct = (lost: number, expected: number): number => (expected > 0 ? (100 * lost) / expected : 0);
const perSec = (n: number, ms: number): number => (ms > 0 ? (n * 1000) / ms : 0);
const mean = (xs: readonly number[]): number => (xs.length === 0 ? 0 : xs.reduce((a, b) => a + b, 0) / xs.length);
const round = (x: number, digits = 2): number => (Number.isFinite(x) ? Number(x.toFixed(digits)) : x);

/** The key of a (subscriber, track) pair in ReportInput.disabledSubscriptions. */
export function subscriptionKey(subscriber: string, trackSid: string): string {
  return `${subscriber}\u0000${trackSid}`;
}

export function buildReport(input: ReportInput): LoadTestReport {
  const disabled = input.disabledSubscriptions ?? new Set<string>();
  const subscribers = input.joins.filter((j) => j.role === 'subscriber' && j.isJoined).map((j) => j.identity);
  const failures: string[] = [];
  const failed = input.joins.filter((j) => !j.isJoined);
  if (failed.length > 0) failures.push(`${failed.length} of ${input.joins.length} participants failed to join (${failed[0]!.identity}: ${failed[0]!.error ?? 'unknown error'})`);

  const allLatency = new LatencyHistogram();
  const allFirst: number[] = [];
  const tracks: TrackReport[] = input.tracks.map((t) => {
    const subs = input.subscriptions.filter((s) => s.trackSid === t.sid && subscribers.includes(s.subscriber));
    const receiving = subs.filter((s) => s.packets > 0);
    const latency = new LatencyHistogram();
    for (const s of receiving) latency.merge(s.latency);
    allLatency.merge(latency);
    const first = receiving.map((s) => s.firstMediaMs).filter((x) => Number.isFinite(x));
    allFirst.push(...first);
    const expected = receiving.reduce((n, s) => n + s.expected, 0);
    const lost = receiving.reduce((n, s) => n + s.lost, 0);
    const shown = subscribers.filter((id) => !disabled.has(subscriptionKey(id, t.sid)));
    const missing = shown.filter((id) => !receiving.some((s) => s.subscriber === id));
    if (missing.length > 0) {
      const why = input.joins.find((j) => j.identity === missing[0])?.diagnostics;
      failures.push(`${missing.length} of ${shown.length} subscribers received nothing of ${t.kind} track ${t.sid} from ${t.publisher} (${missing.slice(0, 3).join(', ')}${missing.length > 3 ? ', ...' : ''}${why !== undefined ? `; ${missing[0]}: ${why}` : ''})`);
    }
    const perSubscriber = receiving.map((s) => ({
      subscriber: s.subscriber, packets: s.packets, lost: s.lost, lossPct: round(lossPct(s.lost, s.expected), 3),
      bitrateBps: Math.round(perSec(s.bytes * 8, s.spanMs)), fps: round(perSec(t.kind === 'video' ? s.frames : s.packets, s.spanMs), 1),
    }));
    return {
      track: t.sid, publisher: t.publisher, kind: t.kind, layers: t.layers.filter((l) => l !== '').join(',') || 'single',
      packetsSent: t.packetsSent, sendBitrateBps: Math.round(perSec(t.bytesSent * 8, input.mediaMs)),
      subscribers: shown.length, receiving: receiving.length,
      packetsReceived: receiving.reduce((n, s) => n + s.packets, 0), packetsLost: lost, lossPct: round(lossPct(lost, expected), 3),
      bitrateBps: Math.round(mean(perSubscriber.map((s) => s.bitrateBps))), fps: round(mean(perSubscriber.map((s) => s.fps)), 1),
      firstMediaMs: { p50: round(percentile(first, 50), 1), p95: round(percentile(first, 95), 1) },
      latencyMs: { p50: round(latency.percentile(50)), p99: round(latency.percentile(99)), samples: latency.count },
      perSubscriber,
    };
  });

  const expected = input.subscriptions.filter((s) => subscribers.includes(s.subscriber)).reduce((n, s) => n + s.expected, 0);
  const packetsLost = tracks.reduce((n, t) => n + t.packetsLost, 0);
  const totalLoss = lossPct(packetsLost, expected);
  if (totalLoss > input.maxLossPct) failures.push(`packet loss ${totalLoss.toFixed(2)}% is above --max-loss ${input.maxLossPct}%`);
  const joinTimes = input.joins.filter((j) => j.isJoined && j.joinMs !== undefined).map((j) => j.joinMs!);
  const packetsSent = tracks.reduce((n, t) => n + t.packetsSent, 0);
  const packetsReceived = tracks.reduce((n, t) => n + t.packetsReceived, 0);
  const cpuMs = input.tester.cpuUserMs + input.tester.cpuSystemMs;
  const m = input.tester.media;
  const mediaPct = m === undefined || m.wallMs <= 0 ? 0 : (100 * m.cpuMs) / m.wallMs;
  const media = m === undefined ? undefined : {
    cpuSec: round(m.cpuMs / 1000), wallSec: round(m.wallMs / 1000), cpuPctOfOneCore: round(mediaPct, 1),
    packets: m.packetsSent + m.packetsReceived, cpuUsPerPacket: round(m.packetsSent + m.packetsReceived > 0 ? (m.cpuMs * 1000) / (m.packetsSent + m.packetsReceived) : 0),
    ...(m.loopDelayMs !== undefined ? { loopDelayMs: { p99: round(m.loopDelayMs.p99, 1), max: round(m.loopDelayMs.max, 1) } } : {}),
    isBusy: mediaPct >= BUSY_CPU_PCT || (m.loopDelayMs?.p99 ?? 0) >= BUSY_LOOP_DELAY_MS,
  };
  const rx = input.receive;
  if (rx !== undefined && rx.authFailures > 0) failures.push(`${rx.authFailures} received packets failed SRTP authentication`);
  const sp = input.speakers;
  const speakers = sp === undefined ? undefined : {
    requests: sp.requests, subscribers: sp.updatesReceived.length,
    subscribersUpdated: sp.updatesReceived.filter((n) => n > 0).length, updatesReceived: sp.updatesReceived.reduce((a, b) => a + b, 0),
  };
  if (speakers !== undefined && speakers.requests > 0 && speakers.subscribersUpdated < speakers.subscribers) {
    failures.push(`--simulate-speakers: ${speakers.subscribers - speakers.subscribersUpdated} of ${speakers.subscribers} subscribers saw no speaker update after ${speakers.requests} requests`);
  }
  return {
    room: input.room,
    url: input.url,
    shape: input.shape,
    mediaSec: round(input.mediaMs / 1000, 1),
    participants: {
      expected: input.joins.length, joined: input.joins.length - failed.length, failed: failed.length,
      joinMs: { p50: round(percentile(joinTimes, 50), 1), p95: round(percentile(joinTimes, 95), 1), max: round(joinTimes.length > 0 ? Math.max(...joinTimes) : NaN, 1) },
    },
    tracks,
    summary: {
      tracks: tracks.length,
      subscriptions: { expected: tracks.reduce((n, t) => n + t.subscribers, 0), receiving: tracks.reduce((n, t) => n + t.receiving, 0) },
      packetsSent, packetsReceived, packetsLost, lossPct: round(totalLoss, 3),
      bitrateBps: Math.round(tracks.reduce((n, t) => n + t.bitrateBps * t.receiving, 0)),
      firstMediaMs: { p50: round(percentile(allFirst, 50), 1), p95: round(percentile(allFirst, 95), 1) },
      latencyMs: { p50: round(allLatency.percentile(50)), p99: round(allLatency.percentile(99)), samples: allLatency.count },
    },
    tester: {
      cpuSec: round(cpuMs / 1000), wallSec: round(input.tester.wallMs / 1000), cpuPctOfOneCore: round(input.tester.wallMs > 0 ? (100 * cpuMs) / input.tester.wallMs : 0, 1),
      cpuUsPerPacket: round(packetsSent + packetsReceived > 0 ? (cpuMs * 1000) / (packetsSent + packetsReceived) : 0),
      ...(media !== undefined ? { media } : {}),
    },
    ...(rx !== undefined ? {
      receive: {
        decryptEvery: rx.decryptEvery, packetsDecrypted: input.subscriptions.filter((s) => subscribers.includes(s.subscriber)).reduce((n, s) => n + (s.packetsDecrypted ?? s.packets), 0),
        packetsNotDecrypted: rx.packetsNotDecrypted,
        authFailures: rx.authFailures, replayed: rx.replayed,
      },
    } : {}),
    ...(speakers !== undefined ? { speakers } : {}),
    maxLossPct: input.maxLossPct,
    failures,
    isPassed: failures.length === 0,
  };
}

/** 1234567 -> '1.23 Mbps' */
export function formatBitrate(bps: number): string {
  if (!Number.isFinite(bps)) return '-';
  if (bps >= 1e6) return `${(bps / 1e6).toFixed(2)} Mbps`;
  if (bps >= 1e3) return `${(bps / 1e3).toFixed(1)} kbps`;
  return `${Math.round(bps)} bps`;
}

const ms = (x: number): string => (Number.isFinite(x) ? `${x < 10 ? x.toFixed(1) : Math.round(x)} ms` : '-');
const count = (n: number): string => n.toLocaleString('en-US');

/** The per-track table and the summary, as printed at the end of a run. */
export function formatReport(r: LoadTestReport): string {
  const rows = r.tracks.map((t) => [
    t.track, t.publisher, t.kind, t.layers, count(t.packetsSent), `${t.receiving}/${t.subscribers}`, count(t.packetsReceived),
    `${t.lossPct.toFixed(2)}%`, formatBitrate(t.bitrateBps), t.fps.toFixed(1), ms(t.firstMediaMs.p50), `${ms(t.latencyMs.p50)} / ${ms(t.latencyMs.p99)}`,
  ]);
  const table = formatTable(['TRACK', 'PUBLISHER', 'KIND', 'LAYERS', 'SENT', 'SUBS', 'RECEIVED', 'LOSS', 'BITRATE/SUB', 'FPS', 'FIRST MEDIA', 'LATENCY p50 / p99'], rows);
  const s = r.summary;
  const kinds = (k: string): number => r.tracks.filter((t) => t.kind === k).length;
  const lines = [
    ['room', `${r.room} (${r.url}), media for ${r.mediaSec} s`],
    ['participants', `${r.participants.joined}/${r.participants.expected} joined; join time p50 ${ms(r.participants.joinMs.p50)}, p95 ${ms(r.participants.joinMs.p95)}`],
    ['tracks', `${s.tracks} (${kinds('video')} video, ${kinds('audio')} audio); ${s.subscriptions.receiving}/${s.subscriptions.expected} subscriptions receiving`],
    ['packets', `sent ${count(s.packetsSent)}, received ${count(s.packetsReceived)}, lost ${count(s.packetsLost)} (${s.lossPct.toFixed(2)}%)`],
    ['bitrate', `${formatBitrate(s.bitrateBps)} received in total`],
    ['first media', `p50 ${ms(s.firstMediaMs.p50)}, p95 ${ms(s.firstMediaMs.p95)} (join or publication -> first packet)`],
    ['latency', `p50 ${ms(s.latencyMs.p50)}, p99 ${ms(s.latencyMs.p99)} (one-way, publisher send -> subscriber receive, ${count(s.latencyMs.samples)} packets)`],
    ['tester CPU', `${r.tester.cpuSec} s in ${r.tester.wallSec} s (${r.tester.cpuPctOfOneCore}% of one core), ${r.tester.cpuUsPerPacket} µs per packet sent or received`],
  ];
  const tm = r.tester.media;
  if (tm !== undefined) {
    const delay = tm.loopDelayMs !== undefined ? `; event-loop delay p99 ${ms(tm.loopDelayMs.p99)}, max ${ms(tm.loopDelayMs.max)}` : '';
    const busy = tm.isBusy ? ' -- the tester was busy: loss and latency may be its own, not the server\'s' : '';
    lines.push(['tester media', `${tm.cpuUsPerPacket} µs per packet sent or received while media flowed (${tm.cpuSec} s CPU in ${tm.wallSec} s, ${tm.cpuPctOfOneCore}% of one core, ${count(tm.packets)} packets${delay})${busy}`]);
  }
  const rx = r.receive;
  if (rx !== undefined) {
    lines.push(['decryption', `${rx.decryptEvery === 1 ? 'every packet' : `1 in ${rx.decryptEvery} packets per stream`} authenticated and decrypted (${count(rx.packetsDecrypted)}, the rest counted from the clear header); ${count(rx.authFailures)} failed authentication, ${count(rx.replayed)} replays dropped`]);
  }
  if (r.shape.talkers !== undefined) {
    lines.push(['talkers', `${r.shape.talkers} of ${r.shape.audioPublishers} audio publishers talk at a time (new ones every 6 s); the others send Opus DTX, a frame every 400 ms`]);
  }
  if (r.speakers !== undefined) {
    const sp = r.speakers;
    lines.push(['speakers', `${count(sp.requests)} simulated speaker requests; ${count(sp.updatesReceived)} speaker updates received, by ${sp.subscribersUpdated} of ${sp.subscribers} subscribers`]);
  }
  const width = Math.max(...lines.map(([k]) => k!.length));
  const summary = lines.map(([k, v]) => `${k!.padEnd(width)}  ${v}`).join('\n');
  const verdict = r.isPassed
    ? `PASS: loss ${s.lossPct.toFixed(2)}% <= ${r.maxLossPct}%, every subscriber received every track${r.shape.layout !== undefined ? ` its ${r.shape.layout} layout shows` : ''}`
    : `FAIL: ${r.failures.join('; ')}`;
  return `${table}\n${summary}\n\n${verdict}\n`;
}

/** Serializable form for --json: NaN (nothing measured) becomes null. */
export function reportJson(r: LoadTestReport): string {
  return `${JSON.stringify(r, (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? null : v), 2)}\n`;
}
