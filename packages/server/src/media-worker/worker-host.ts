// The media worker's side of the split: holds this worker's ParticipantMedia sessions and published tracks, runs
// the commands the main thread sends, sends their events back, pushes what the control plane polls, and serves the
// pipes to and from the other workers (pipe.ts). Runs in a worker thread (worker-entry.ts), or in the main thread
// against a MessageChannel in tests.
import { performance, type EventLoopUtilization } from 'node:perf_hooks';
import type { MessagePort } from 'node:worker_threads';
import type { Clock, Logger } from '@atrium/webrtc';
import type { MediaFactory, ParticipantMedia } from '../rtc/participant-media.js';
import { PublishedTrackSource } from '../rtc/webrtc-track-source.js';
import type { SfuStats } from '../sfu/sfu-stats.js';
import type { AudioLevelParams } from '../sfu/audio-level.js';
import { PipePeer, type MirrorSpec, describeSource } from './pipe.js';
import type { FromWorker, ToWorker, WorkerStatsMessage } from './protocol.js';

/** Speaking levels are pushed this often (the speaker detector reads them every audio.update_interval, 200 ms+). */
export const LEVELS_INTERVAL_MS = 100;
/** Connection quality inputs and congestion state (read every 2 s and at scrape). */
export const QUALITY_INTERVAL_MS = 1000;
/** Counters and resources (metrics, resources(), placement load). */
export const STATS_INTERVAL_MS = 1000;
const MAX_LATENCY_SAMPLES = 8192;

/** The port to the main thread: a worker's parentPort, or one end of a MessageChannel. */
export interface HostPort {
  postMessage(m: FromWorker): void;
  on(event: 'message', listener: (m: ToWorker) => void): unknown;
}

interface Session {
  media: ParticipantMedia;
  /** trackSid -> the mirror it holds (subscriptions to tracks of other workers). */
  mirrored: Map<string, { peer: number; sourceId: number }>;
}

export class MediaWorkerHost {
  private readonly index: number;
  private readonly port: HostPort;
  private readonly factory: MediaFactory;
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly stats: SfuStats;
  private readonly latencySamples: number[] | null;
  private readonly sessions = new Map<number, Session>();
  private readonly sources = new Map<number, PublishedTrackSource>();
  private nextSourceId = 1;
  private readonly peers = new Map<number, PipePeer>();
  /** Per (peer, sourceId) mirror: how many subscriptions on this worker use it. */
  private readonly mirrorRefs = new Map<string, number>();
  private readonly timers: ReturnType<typeof setInterval>[] = [];
  /** Sources whose level was above zero at the last push (a drop to zero is pushed once). */
  private readonly speaking = new Set<number>();
  /**
   * Pushes speaking levels every LEVELS_INTERVAL_MS while this worker has an audio source, and only then: each tick
   * wakes the worker's thread, and ten wake-ups a second cost an idle worker about 1.3 ms of CPU a second (`perf
   * stat --per-thread`: 46 ms in 30 s with the timer, 5-8 without), which a room with no audio here (video only, or
   * all on the other worker) would pay for nothing.
   */
  private levelsTimer: ReturnType<typeof setInterval> | null = null;
  private lastPacketsOut = 0;
  private lastElu: EventLoopUtilization = performance.eventLoopUtilization();
  private lastStatsMs: number;
  private readonly audioLevel: Partial<AudioLevelParams> | undefined;
  private isClosed = false;

  constructor(opts: {
    index: number; port: HostPort; factory: MediaFactory; clock: Clock; logger: Logger; stats: SfuStats;
    /** Samples taken by `stats.forwardLatency` (pushed to the main thread), or null when metrics are off. */
    latencySamples: number[] | null;
    audioLevel?: Partial<AudioLevelParams>;
  }) {
    this.index = opts.index;
    this.port = opts.port;
    this.factory = opts.factory;
    this.clock = opts.clock;
    this.logger = opts.logger;
    this.stats = opts.stats;
    this.latencySamples = opts.latencySamples;
    this.audioLevel = opts.audioLevel;
    this.lastStatsMs = opts.clock.nowMs();
    this.port.on('message', (m) => this.onMessage(m));
    this.timers.push(setInterval(() => this.pushQuality(), QUALITY_INTERVAL_MS));
    this.timers.push(setInterval(() => this.pushStats(), STATS_INTERVAL_MS));
    for (const t of this.timers) t.unref?.();
  }

  private onMessage(m: ToWorker): void {
    try {
      this.handle(m);
    } catch (err) {
      this.logger.error({ err, type: m.t }, 'media worker command failed');
    }
  }

  private handle(m: ToWorker): void {
    switch (m.t) {
      case 'create':
        this.create(m);
        return;
      case 'offer': {
        const s = this.sessions.get(m.mediaId);
        if (s === undefined) {
          this.port.postMessage({ t: 'reply', req: m.req, error: { message: 'participant media closed', code: 'closed' } });
          return;
        }
        s.media
          .handlePublisherOffer(m.sdp, m.id, { codecByTrackId: new Map(m.codecByTrackId), opusParamsByTrackId: new Map(m.opusParamsByTrackId) })
          .then(
            (answer) => this.port.postMessage({ t: 'reply', req: m.req, answer }),
            (err: unknown) => {
              const e = err as { message?: unknown; code?: unknown };
              const error = { message: String(e?.message ?? err), ...(typeof e?.code === 'string' ? { code: e.code } : {}) };
              this.port.postMessage({ t: 'reply', req: m.req, error });
            },
          );
        return;
      }
      case 'call':
        this.call(m);
        return;
      case 'subscribe':
        this.subscribe(m.mediaId, m.source, m.publisherSid, m.trackSid);
        return;
      case 'source': {
        const target = m.ref.worker === this.index ? this.sources.get(m.ref.sourceId) : this.peers.get(m.ref.worker)?.mirrorOf(m.ref.sourceId);
        if (target === undefined) return;
        if (m.op === 'setMuted') target.setMuted(...m.args);
        else if (m.op === 'setVideoLayers') target.setVideoLayers(...m.args);
        else if (m.op === 'setAudioFeatures') target.setAudioFeatures(...m.args);
        else target.setBackupCodecs(...m.args);
        return;
      }
      case 'addBackup': {
        if (m.ref.worker === this.index) {
          const primary = this.sources.get(m.ref.sourceId);
          const backup = this.sources.get(m.backup.sourceId);
          if (primary && backup) primary.addBackupCodec(backup);
          return;
        }
        const peer = this.peers.get(m.ref.worker);
        const primary = peer?.mirrorOf(m.ref.sourceId);
        if (peer && primary) primary.addBackupCodec(peer.mirror(m.backup));
        return;
      }
      case 'peer':
        // A replacement for a worker that died: the old port's pipes and mirrors end first, and what referred to them
        // is forgotten (the replacement numbers its tracks from 1 again).
        if (this.peers.has(m.worker)) this.forgetPeer(m.worker);
        this.peers.set(m.worker, new PipePeer({
          peer: m.worker,
          port: m.port as MessagePort,
          host: {
            clock: this.clock,
            logger: this.logger.child({ pipeTo: m.worker }),
            localSource: (id) => this.sources.get(id),
            ...(this.audioLevel ? { audioLevel: this.audioLevel } : {}),
          },
        }));
        return;
      case 'shutdown':
        void this.close().then(() => this.port.postMessage({ t: 'closed' }));
        return;
    }
  }

  private create(m: Extract<ToWorker, { t: 'create' }>): void {
    const mediaId = m.mediaId;
    const media = this.factory.createParticipantMedia({
      participantSid: m.participantSid, identity: m.identity, logger: this.logger.child(m.logBindings),
      isAdaptiveStream: m.isAdaptiveStream,
      ...(m.subscriberAllowPause !== undefined ? { subscriberAllowPause: m.subscriberAllowPause } : {}),
      ...(m.candidateProtocol !== undefined ? { candidateProtocol: m.candidateProtocol } : {}),
      ...(m.isSinglePeerConnection === true ? { isSinglePeerConnection: true } : {}),
    });
    const session: Session = { media, mirrored: new Map() };
    this.sessions.set(mediaId, session);
    const forward = (name: string) => (payload: unknown) => this.port.postMessage({ t: 'event', mediaId, name, payload });
    for (const name of ['subscriberOffer', 'mediaSectionsRequirement', 'iceCandidate', 'data', 'connectionState', 'subscriptionBound', 'streamStates', 'subscribedQuality'] as const) {
      media.on(name, forward(name) as never);
    }
    media.on('trackPublished', (t) => {
      if (!(t.source instanceof PublishedTrackSource)) return;
      const sourceId = this.nextSourceId++;
      this.sources.set(sourceId, t.source);
      if (t.source.kind === 'audio') this.updateLevelsTimer();
      this.port.postMessage({
        t: 'published', mediaId, sourceId, descriptor: describeSource(t.source), msidTrackId: t.msidTrackId,
        msidStreamId: t.msidStreamId, mid: t.mid, kind: t.kind, mimeType: t.mimeType, rids: [...t.rids],
      });
    });
    media.on('trackEnded', (e) => {
      this.forgetClosedSources();
      this.port.postMessage({ t: 'event', mediaId, name: 'trackEnded', payload: e });
    });
  }

  private call(m: Extract<ToWorker, { t: 'call' }>): void {
    const s = this.sessions.get(m.mediaId);
    if (s === undefined) return;
    const media = s.media;
    switch (m.op) {
      case 'handleSubscriberAnswer':
        media.handleSubscriberAnswer(...m.args);
        return;
      case 'addRemoteCandidate':
        media.addRemoteCandidate(...m.args);
        return;
      case 'startSubscriber':
        media.startSubscriber();
        return;
      case 'restartIce':
        media.restartIce?.();
        return;
      case 'setSubscriberCapacityOverride':
        media.setSubscriberCapacityOverride?.(...m.args);
        return;
      case 'unsubscribe':
        media.unsubscribe(...m.args);
        this.releaseMirrorOf(s, m.args[0]);
        return;
      case 'updateTrackSettings':
        media.updateTrackSettings(...m.args);
        return;
      case 'sendData':
        media.sendData(...m.args);
        return;
      case 'close':
        this.sessions.delete(m.mediaId);
        // Close emits the last events (trackEnded per published track, which forgets it here; connectionState closed)
        // synchronously; the main thread ignores them.
        media.close();
        for (const trackSid of [...s.mirrored.keys()]) this.releaseMirrorOf(s, trackSid);
        setImmediate(() => this.pushStats());
        return;
    }
  }

  private subscribe(mediaId: number, spec: MirrorSpec, publisherSid: string, trackSid: string): void {
    const s = this.sessions.get(mediaId);
    if (s === undefined || s.mirrored.has(trackSid)) return;
    if (spec.worker === this.index) {
      const source = this.sources.get(spec.sourceId);
      if (source === undefined) {
        this.logger.debug({ trackSid }, 'subscribe: the track already ended');
        return;
      }
      s.media.subscribe(source, { publisherSid, trackSid });
      return;
    }
    const peer = this.peers.get(spec.worker);
    if (peer === undefined) {
      this.logger.error({ worker: spec.worker, trackSid }, 'subscribe: no pipe to the track\'s worker');
      return;
    }
    const mirror = peer.mirror(spec);
    const key = `${spec.worker}:${spec.sourceId}`;
    this.mirrorRefs.set(key, (this.mirrorRefs.get(key) ?? 0) + 1);
    s.mirrored.set(trackSid, { peer: spec.worker, sourceId: spec.sourceId });
    s.media.subscribe(mirror, { publisherSid, trackSid });
  }

  private releaseMirrorOf(s: Session, trackSid: string): void {
    const ref = s.mirrored.get(trackSid);
    if (ref === undefined) return;
    s.mirrored.delete(trackSid);
    const key = `${ref.peer}:${ref.sourceId}`;
    const n = (this.mirrorRefs.get(key) ?? 1) - 1;
    if (n > 0) {
      this.mirrorRefs.set(key, n);
      return;
    }
    this.mirrorRefs.delete(key);
    this.peers.get(ref.peer)?.releaseMirror(ref.sourceId);
  }

  private forgetPeer(worker: number): void {
    this.peers.get(worker)?.close();
    this.peers.delete(worker);
    for (const key of [...this.mirrorRefs.keys()]) if (key.startsWith(`${worker}:`)) this.mirrorRefs.delete(key);
    for (const s of this.sessions.values()) {
      for (const [trackSid, ref] of s.mirrored) if (ref.peer === worker) s.mirrored.delete(trackSid);
    }
  }

  private forgetClosedSources(): void {
    for (const [id, source] of this.sources) {
      if (source.receiver.isClosed) {
        this.sources.delete(id);
        this.speaking.delete(id);
      }
    }
    this.updateLevelsTimer();
  }

  /** Starts the levels timer when this worker has an audio source, stops it when it has none (`levelsTimer`). */
  private updateLevelsTimer(): void {
    let hasAudio = false;
    for (const source of this.sources.values()) {
      if (source.kind === 'audio' && !source.receiver.isClosed) {
        hasAudio = true;
        break;
      }
    }
    if (hasAudio && this.levelsTimer === null && !this.isClosed) {
      this.levelsTimer = setInterval(() => this.pushLevels(), LEVELS_INTERVAL_MS);
      this.levelsTimer.unref?.();
    } else if (!hasAudio && this.levelsTimer !== null) {
      clearInterval(this.levelsTimer);
      this.levelsTimer = null;
    }
  }

  // ---- what the control plane polls, pushed ----

  private pushLevels(): void {
    const now = this.clock.nowMs();
    const levels: number[] = [];
    for (const [id, source] of this.sources) {
      if (source.kind !== 'audio') continue;
      const level = source.speakingLevel(now);
      if (level > 0) {
        levels.push(id, level);
        this.speaking.add(id);
      } else if (this.speaking.delete(id)) {
        levels.push(id, 0);
      }
    }
    if (levels.length > 0) this.port.postMessage({ t: 'levels', levels });
  }

  private pushQuality(): void {
    if (this.sessions.size === 0) return;
    const sources: [number, ReturnType<PublishedTrackSource['receiveQuality']>][] = [];
    for (const [id, source] of this.sources) if (!source.receiver.isClosed) sources.push([id, source.receiveQuality()]);
    const media: Extract<FromWorker, { t: 'quality' }>['media'] = [];
    for (const [id, s] of this.sessions) media.push([id, s.media.subscriptionQuality?.() ?? [], s.media.congestionState?.()]);
    this.port.postMessage({ t: 'quality', sources, media });
  }

  private pushStats(): void {
    if (this.isClosed) return;
    const now = this.clock.nowMs();
    const counters = this.stats.snapshot();
    const packetsOut = counters.audio.packetsOut + counters.video.packetsOut;
    const elapsedS = Math.max(0.001, (now - this.lastStatsMs) / 1000);
    const packetsPerSecond = Math.max(0, (packetsOut - this.lastPacketsOut) / elapsedS);
    this.lastPacketsOut = packetsOut;
    this.lastStatsMs = now;
    const resources = this.factory.resources();
    let pipePacketsOut = 0;
    let pipePacketsIn = 0;
    for (const p of this.peers.values()) {
      pipePacketsOut += p.packetsOut;
      pipePacketsIn += p.packetsIn;
    }
    const latencyNs = this.latencySamples ? this.latencySamples.splice(0) : [];
    // This thread's loop (in a worker, performance is the worker's own): busy share since the last report.
    const elu = performance.eventLoopUtilization();
    const loopUtilization = performance.eventLoopUtilization(elu, this.lastElu).utilization;
    this.lastElu = elu;
    const msg: WorkerStatsMessage = {
      t: 'stats', counters, allocation: { ...this.stats.allocation }, sessions: resources.sessions,
      udpRegistrations: resources.udpRegistrations, latencyNs, packetsPerSecond, pipePacketsOut, pipePacketsIn,
      loopUtilization: Number.isFinite(loopUtilization) ? loopUtilization : 0,
    };
    this.port.postMessage(msg);
  }

  async close(): Promise<void> {
    if (this.isClosed) return;
    for (const t of this.timers) clearInterval(t);
    if (this.levelsTimer !== null) clearInterval(this.levelsTimer);
    this.levelsTimer = null;
    for (const s of this.sessions.values()) s.media.close();
    this.sessions.clear();
    for (const p of this.peers.values()) p.close();
    this.peers.clear();
    this.pushStats();
    this.isClosed = true;
    await this.factory.close();
  }
}

/** A LatencyObserver for a worker's SfuStats: keeps samples (bounded) until the next stats push. */
export function latencyCollector(samples: number[]): { observe(valueNs: number): void } {
  return {
    observe(valueNs: number): void {
      if (samples.length < MAX_LATENCY_SAMPLES) samples.push(valueNs);
    },
  };
}
