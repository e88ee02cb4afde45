// Receive-quality sampling for the congestion-control scenario (congestion-scenario.ts): every ~500 ms each watched
// livekit-client page reports its inbound-rtp stats and decoded frames (participant-page.js receiveSample), and
// `phaseStats` turns a time window of those samples into what a viewer and listener got: fps, frame widths, freezes
// (gaps between decoded frames, since Chromium's freezeCount only counts a freeze once it has ended), loss, NACKs,
// retransmissions, jitter buffer delay and audio concealment, plus the StreamState and connection quality events.
// `ServerCongestionSampler` samples the server's own view of each subscriber (estimate, allocation, paused tracks).
import type { BrowserParticipant, PageEvent } from './browser-participant.js';

/** A gap between two decoded frames longer than this counts as a freeze (Chromium: max(3 frames, avg + 150 ms)). */
export const FREEZE_GAP_MS = 500;

interface TrackSample {
  participant: string;
  trackSid: string;
  source: string;
  kind: string;
  inbound: Record<string, number>;
  /** Decoded frames since the previous sample: [page time ms, width]. */
  frames?: [number, number][];
}

interface Sample {
  /** Wall clock (Date.now()) when the page answered. */
  atMs: number;
  /** The subscriber transport's current round-trip time (ICE checks), when Chromium has one. */
  rttMs: number | undefined;
  tracks: TrackSample[];
}

/** What one subscriber got during one phase (see phaseStats). */
export interface ReceiveStats {
  durationMs: number;
  video: {
    fps: number;
    framesDecoded: number;
    /** Width of the last frame decoded in the window (0: none). */
    lastWidth: number;
    /** Decoded frames per width in the window. */
    widths: Record<string, number>;
    /** Sum of the gaps between decoded frames longer than FREEZE_GAP_MS (window edges count as frames). */
    freezeMs: number;
    longestGapMs: number;
    /** Chromium's own counters (freezes that ended in the window). */
    freezeCount: number;
    totalFreezesDurationMs: number;
    packetsReceived: number;
    packetsLost: number;
    nackCount: number;
    pliCount: number;
    retransmittedPacketsReceived: number | null;
    keyFramesDecoded: number;
    kbps: number;
    /** Mean jitter buffer delay of the frames emitted in the window. */
    jitterBufferMs: number | null;
  };
  audio: {
    concealedPercent: number | null;
    packetsLost: number;
    kbps: number;
    jitterBufferMs: number | null;
  };
  /** Video StreamState changes in the window (livekit-client TrackStreamStateChanged), and the state at its end. */
  streamStates: string[];
  streamStateAtEnd: string | undefined;
  /** ConnectionQualityChanged events for this subscriber itself in the window. */
  quality: string[];
  /** Median and maximum round trip of the subscriber transport (Chromium's ICE checks, which queue behind media). */
  rttMs: { median: number; max: number } | null;
}

export interface WatchedPage {
  label: string;
  page: BrowserParticipant;
  /** The publisher's identity whose camera and microphone are measured. */
  publisher: string;
}

/** Samples every watched page every `intervalMs` until stopped; keeps every sample and every decoded frame. */
export class ReceiveSampler {
  private readonly samples = new Map<string, Sample[]>();
  /** Per page: decoded frames of the publisher's camera as [wall clock ms, width]. */
  private readonly frames = new Map<string, [number, number][]>();
  private readonly lastFrameAt = new Map<string, number>();
  /** Per page: wall clock minus page clock, from the latest sample. */
  private readonly offsets = new Map<string, number>();
  private readonly pages: WatchedPage[] = [];
  private running = false;
  private loop: Promise<void> | undefined;

  constructor(private readonly intervalMs = 500) {}

  watch(p: WatchedPage): void {
    this.pages.push(p);
    this.samples.set(p.label, []);
    this.frames.set(p.label, []);
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = (async () => {
      while (this.running) {
        const due = Date.now() + this.intervalMs;
        await Promise.all(this.pages.map((p) => this.sampleOne(p).catch((err: unknown) => process.stderr.write(`[sampler ${p.label}] ${String(err)}\n`))));
        const wait = due - Date.now();
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      }
    })();
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.loop;
  }

  /** Takes one sample of every page now (so a window can end on a fresh one). */
  async sampleNow(): Promise<void> {
    await Promise.all(this.pages.map((p) => this.sampleOne(p)));
  }

  private async sampleOne(p: WatchedPage): Promise<void> {
    const since = this.lastFrameAt.get(p.label) ?? 0;
    const r = await p.page.callWithin<{ nowMs: number; rttMs?: number; tracks: TrackSample[] }>(5_000, 'receiveSample', since);
    const atMs = Date.now();
    const offset = atMs - r.nowMs;
    this.offsets.set(p.label, offset);
    this.samples.get(p.label)!.push({ atMs, rttMs: r.rttMs, tracks: r.tracks.map((t) => ({ ...t, frames: undefined })) });
    const cam = r.tracks.find((t) => t.participant === p.publisher && t.source === 'camera');
    const list = this.frames.get(p.label)!;
    for (const [at, width] of cam?.frames ?? []) {
      if (at <= since) continue;
      list.push([at + offset, width]);
      this.lastFrameAt.set(p.label, at);
    }
  }

  /** The page's clock converted to wall clock (for page events). */
  toWall(label: string, pageMs: number): number {
    return pageMs + (this.offsets.get(label) ?? 0);
  }

  /** Wall-clock time of the first decoded frame at or after `fromMs` satisfying `ok` (its width), if any. */
  firstFrame(label: string, fromMs: number, ok: (width: number) => boolean): number | undefined {
    return this.frames.get(label)?.find(([at, w]) => at >= fromMs && ok(w))?.[0];
  }

  /**
   * Wall-clock time of the first decoded frame at or after `fromMs` that starts a run of `count` consecutive frames
   * whose widths satisfy `ok` (a layer reached and kept, not one stray frame), if any.
   */
  firstRun(label: string, fromMs: number, ok: (width: number) => boolean, count: number): number | undefined {
    const list = (this.frames.get(label) ?? []).filter(([at]) => at >= fromMs);
    let runStart = -1;
    for (let i = 0; i < list.length; i++) {
      if (!ok(list[i]![1])) {
        runStart = -1;
        continue;
      }
      if (runStart < 0) runStart = i;
      if (i - runStart + 1 >= count) return list[runStart]![0];
    }
    return undefined;
  }

  /** The last decoded frame at or before `atMs` (wall clock): its width and time. */
  lastFrameBefore(label: string, atMs: number): { atMs: number; width: number } | undefined {
    const list = this.frames.get(label) ?? [];
    for (let i = list.length - 1; i >= 0; i--) if (list[i]![0] <= atMs) return { atMs: list[i]![0], width: list[i]![1] };
    return undefined;
  }

  /** What `label` received between `fromMs` and `toMs` (wall clock). */
  async phaseStats(label: string, fromMs: number, toMs: number): Promise<ReceiveStats> {
    const w = this.pages.find((p) => p.label === label);
    if (!w) throw new Error(`not watching ${label}`);
    const all = this.samples.get(label)!;
    const inWindow = all.filter((s) => s.atMs >= fromMs && s.atMs <= toMs);
    const first = inWindow[0];
    const last = inWindow[inWindow.length - 1];
    const pick = (s: Sample | undefined, source: string) => s?.tracks.find((t) => t.participant === w.publisher && t.source === source)?.inbound ?? {};
    const delta = (source: string, key: string): number => (pick(last, source)[key] ?? 0) - (pick(first, source)[key] ?? 0);
    const has = (source: string, key: string): boolean => pick(last, source)[key] !== undefined;
    const spanS = first && last && last.atMs > first.atMs ? (last.atMs - first.atMs) / 1000 : NaN;

    const frames = (this.frames.get(label) ?? []).filter(([at]) => at >= fromMs && at <= toMs);
    const widths: Record<string, number> = {};
    for (const [, width] of frames) widths[String(width)] = (widths[String(width)] ?? 0) + 1;
    const times = [fromMs, ...frames.map(([at]) => at), toMs];
    let freezeMs = 0;
    let longestGapMs = 0;
    for (let i = 1; i < times.length; i++) {
      const gap = times[i]! - times[i - 1]!;
      longestGapMs = Math.max(longestGapMs, gap);
      if (gap > FREEZE_GAP_MS) freezeMs += gap;
    }
    const jb = (source: string): number | null => {
      const n = delta(source, 'jitterBufferEmittedCount');
      return n > 0 ? round((delta(source, 'jitterBufferDelay') / n) * 1000) : null;
    };
    const samplesReceived = delta('microphone', 'totalSamplesReceived');

    const events = await w.page.events();
    const within = (e: PageEvent) => {
      const t = this.toWall(label, e.atMs);
      return t >= fromMs && t <= toMs;
    };
    const isCamState = (e: PageEvent) => e.type === 'trackStreamStateChanged' && e.participant === w.publisher && e.source === 'camera';
    const streamStates = events.filter((e) => isCamState(e) && within(e)).map((e) => String(e.state));
    const stateAtEnd = events.filter((e) => isCamState(e) && this.toWall(label, e.atMs) <= toMs).pop()?.state;
    const ownIdentity = label;
    const quality = events
      .filter((e) => e.type === 'connectionQualityChanged' && within(e))
      .map((e) => `${e.participant === ownIdentity ? 'self' : String(e.participant)}:${String(e.quality)}`);

    const rtts = inWindow.flatMap((x) => (x.rttMs === undefined ? [] : [x.rttMs])).sort((a, b) => a - b);
    return {
      durationMs: Math.round(toMs - fromMs),
      rttMs: rtts.length ? { median: rtts[Math.floor(rtts.length / 2)]!, max: rtts[rtts.length - 1]! } : null,
      video: {
        fps: round(delta('camera', 'framesDecoded') / spanS),
        framesDecoded: delta('camera', 'framesDecoded'),
        lastWidth: frames.length > 0 ? frames[frames.length - 1]![1] : 0,
        widths,
        freezeMs: Math.round(freezeMs),
        longestGapMs: Math.round(longestGapMs),
        freezeCount: delta('camera', 'freezeCount'),
        totalFreezesDurationMs: Math.round(delta('camera', 'totalFreezesDuration') * 1000),
        packetsReceived: delta('camera', 'packetsReceived'),
        packetsLost: delta('camera', 'packetsLost'),
        nackCount: delta('camera', 'nackCount'),
        pliCount: delta('camera', 'pliCount'),
        retransmittedPacketsReceived: has('camera', 'retransmittedPacketsReceived') ? delta('camera', 'retransmittedPacketsReceived') : null,
        keyFramesDecoded: delta('camera', 'keyFramesDecoded'),
        kbps: round((delta('camera', 'bytesReceived') * 8) / 1000 / spanS),
        jitterBufferMs: jb('camera'),
      },
      audio: {
        concealedPercent: samplesReceived > 0 ? round((100 * delta('microphone', 'concealedSamples')) / samplesReceived) : null,
        packetsLost: delta('microphone', 'packetsLost'),
        kbps: round((delta('microphone', 'bytesReceived') * 8) / 1000 / spanS),
        jitterBufferMs: jb('microphone'),
      },
      streamStates,
      streamStateAtEnd: stateAtEnd === undefined ? undefined : String(stateAtEnd),
      quality,
    };
  }
}

const round = (x: number): number => (Number.isFinite(x) ? Math.round(x * 10) / 10 : 0);

/** The server's congestion state of one subscriber (the fields of SubscriberCongestionState this file reads). */
export interface CongestionStateLike {
  estimateBps: number;
  allocatedBps: number;
  audioBps: number;
  pausedTracks: number;
  deficientTracks: number;
}

/** The server's own view of one subscriber over a phase (sampled every 500 ms), kbit/s. */
export interface ServerView {
  estimateKbps: { min: number; median: number; max: number } | null;
  allocatedKbpsMedian: number | null;
  audioKbpsMedian: number | null;
  /** Share of samples with a paused / deficient video track, %. */
  pausedPercent: number;
  deficientPercent: number;
}

/** Samples `read()` (every participant's congestion state, in-process) every `intervalMs`. */
export class ServerCongestionSampler {
  private readonly samples: ({ atMs: number; identity: string } & CongestionStateLike)[] = [];
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly read: () => { identity: string; state: CongestionStateLike | undefined }[],
    private readonly intervalMs = 500,
  ) {}

  start(): void {
    this.timer ??= setInterval(() => {
      const atMs = Date.now();
      for (const { identity, state } of this.read()) if (state) this.samples.push({ atMs, identity, ...state });
    }, this.intervalMs);
  }

  stop(): void {
    clearInterval(this.timer);
  }

  view(identity: string, fromMs: number, toMs: number): ServerView {
    const xs = this.samples.filter((x) => x.identity === identity && x.atMs >= fromMs && x.atMs <= toMs);
    const kbps = (pick: (x: CongestionStateLike) => number): number[] =>
      xs.map(pick).filter(Number.isFinite).map((v) => Math.round(v / 1000)).sort((a, b) => a - b);
    const med = (v: number[]): number | null => (v.length ? v[Math.floor(v.length / 2)]! : null);
    const share = (pick: (x: CongestionStateLike) => boolean): number => (xs.length ? Math.round((100 * xs.filter(pick).length) / xs.length) : 0);
    const est = kbps((x) => x.estimateBps);
    return {
      estimateKbps: est.length ? { min: est[0]!, median: med(est)!, max: est[est.length - 1]! } : null,
      allocatedKbpsMedian: med(kbps((x) => x.allocatedBps)),
      audioKbpsMedian: med(kbps((x) => x.audioBps)),
      pausedPercent: share((x) => x.pausedTracks > 0),
      deficientPercent: share((x) => x.deficientTracks > 0),
    };
  }

  /** Per second from `fromMs`: 'estimate/allocated kbit/s' and the width decoded in that second (0: none). */
  timeline(identity: string, fromMs: number, toMs: number, frames: ReceiveSampler): string[] {
    const out: string[] = [];
    const kbps = (v: number | undefined): string => (v === undefined || !Number.isFinite(v) ? '-' : String(Math.round(v / 1000)));
    for (let t = fromMs + 1_000; t <= toMs; t += 1_000) {
      const x = this.samples.filter((y) => y.identity === identity && y.atMs <= t && y.atMs > t - 1_000).pop();
      const f = frames.lastFrameBefore(identity, t);
      out.push(`+${Math.round((t - fromMs) / 1000)}s ${kbps(x?.estimateBps)}/${kbps(x?.allocatedBps)} ${f && f.atMs > t - 1_000 ? f.width : 0}`);
    }
    return out;
  }
}
