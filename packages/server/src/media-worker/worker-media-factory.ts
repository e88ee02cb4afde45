// The main thread's MediaFactory when media runs in worker threads: starts the workers (one UDP port each), places each
// participant on one, and gives the room logic ParticipantMedia and MediaTrackSource proxies that send commands to
// the worker and re-emit its events. What the control plane polls (speaking levels, quality, congestion, counters)
// is pushed by the workers and read here from the last value. A room stays on one worker until it has
// `roomParticipantsPerWorker` participants there or the worker is half busy (placement.ts); then it spans workers, and
// tracks reach the other workers through pipes (pipe.ts). docs/multicore.md.
import { Worker, MessageChannel } from 'node:worker_threads';
import { TypedEmitter, type Logger } from '@atrium/webrtc';
import type {
  MediaFactory, MediaResources, MediaTrackSource, ParticipantMedia, ParticipantMediaEvents, SessionDescriptionMessage,
  SignalTargetValue, DataKind, SubscriberCongestionState, MediaKind,
} from '../rtc/participant-media.js';
import { SignalTarget } from '../rtc/participant-media.js';
import type { StreamQualitySample } from '../rtc/connection-quality.js';
import type { TrackSettings } from '../sfu/subscriber-session.js';
import type { LayerSpec } from '../sfu/video-layers.js';
import type { AllocationCounters, KindCounters, LatencyObserver } from '../sfu/sfu-stats.js';
import { zeroCounters } from '../sfu/sfu-stats.js';
import type { MirrorSpec, SourceDescriptor, SourceState } from './pipe.js';
import type { FromWorker, MediaCall, MediaWorkerConfig, PublishedMessage, ToWorker, WorkerStatsMessage } from './protocol.js';
import { leastLoadedWorker, roomWorker, smoothedUtilization } from './placement.js';

/** How long a worker may take to start (load its modules, bind its socket, make its certificate). */
const WORKER_START_TIMEOUT_MS = 30_000;
const WORKER_STOP_TIMEOUT_MS = 5_000;
/** A dead worker's replacement starts at once (its socket closed with it), so rejoining participants find it. */
const WORKER_RESTART_DELAY_MS = 0;

export interface WorkerMediaFactoryOptions {
  workers: number;
  /** A room's participants placed on one worker before the room spills onto the least-loaded other one. */
  roomParticipantsPerWorker: number;
  /** Worker i binds `udpPort + i` (0: an ephemeral port each). */
  udpPort: number;
  /** Passive ICE-TCP: worker i listens on `tcpPort + i` (0: an ephemeral port each); undefined: off. */
  tcpPort?: number | undefined;
  logger: Logger;
  /** The forwarding-latency histogram (metrics on): the workers' samples are observed into it. */
  forwardLatency?: LatencyObserver;
  /** Everything else a worker's WebRtcMediaFactory takes. */
  worker: Omit<MediaWorkerConfig, 'index' | 'udpPort' | 'tcpPort' | 'collectLatency'>;
}

/** Node-wide media counters summed over the workers' last reports (what metrics read). */
export interface MediaStatsView {
  snapshot(): Record<MediaKind, KindCounters>;
  readonly allocation: AllocationCounters;
}

interface WorkerSlot {
  index: number;
  worker: Worker;
  /** The port its socket is bound to; 0 until it says `ready` (the slot's "is it ready" everywhere below). */
  udpPort: number;
  /** Its ICE-TCP port, when ICE-TCP is on. */
  tcpPort: number | undefined;
  /** Participants placed here and not closed. */
  participants: number;
  /** Participants placed here since its last stats report (placement counts them until it reports their load). */
  placedSinceReport: number;
  last: WorkerStatsMessage | undefined;
  /** Its loop utilization smoothed over reports (smoothedUtilization): what keeps a room on it, not a join burst. */
  steadyUtilization: number;
  isAlive: boolean;
  /** The OS thread id (Linux), for CPU per thread from /proc. */
  threadId: number | undefined;
}

/** A port between two workers, for the pipes of the rooms that span them: one end to each. */
function connectPair(a: WorkerSlot, b: WorkerSlot): void {
  const { port1, port2 } = new MessageChannel();
  a.worker.postMessage({ t: 'peer', worker: b.index, port: port1 } satisfies ToWorker, [port1]);
  b.worker.postMessage({ t: 'peer', worker: a.index, port: port2 } satisfies ToWorker, [port2]);
}

export class WorkerMediaFactory implements MediaFactory {
  readonly workers: WorkerSlot[] = [];
  private readonly opts: WorkerMediaFactoryOptions;
  private readonly logger: Logger;
  private nextMediaId = 1;
  private readonly media = new Map<number, WorkerParticipantMedia>();
  /** `${worker}:${sourceId}` -> source proxy. */
  private readonly sources = new Map<string, WorkerTrackSource>();
  /** Room name -> participants per worker. */
  private readonly rooms = new Map<string, Map<number, number>>();
  private nextReq = 1;
  private readonly pending = new Map<number, { resolve(a: SessionDescriptionMessage): void; reject(e: Error): void }>();
  private isClosed = false;
  readonly stats: MediaStatsView;

  private constructor(opts: WorkerMediaFactoryOptions) {
    this.opts = opts;
    this.logger = opts.logger;
    const self = this;
    this.stats = {
      snapshot() {
        const out: Record<MediaKind, KindCounters> = { audio: zeroCounters(), video: zeroCounters() };
        for (const w of self.workers) {
          if (!w.last) continue;
          for (const kind of ['audio', 'video'] as const) {
            const c = out[kind];
            const add = w.last.counters[kind];
            for (const k of Object.keys(c) as (keyof KindCounters)[]) c[k] += add[k];
          }
        }
        return out;
      },
      get allocation() {
        const a: AllocationCounters = { upgrades: 0, downgrades: 0, pauses: 0, probes: 0 };
        for (const w of self.workers) {
          if (!w.last) continue;
          for (const k of Object.keys(a) as (keyof AllocationCounters)[]) a[k] += w.last.allocation[k];
        }
        return a;
      },
    };
  }

  static async start(opts: WorkerMediaFactoryOptions): Promise<WorkerMediaFactory> {
    const f = new WorkerMediaFactory(opts);
    try {
      await Promise.all(Array.from({ length: Math.max(1, opts.workers) }, (_, i) => f.startWorker(i)));
      // A port per pair of workers, for the pipes of rooms that span them.
      for (const a of f.workers) {
        for (const b of f.workers) if (b.index > a.index) connectPair(a, b);
      }
      f.isStarted = true;
    } catch (err) {
      await f.close();
      throw err;
    }
    return f;
  }

  /** Ports between `index` and every other live worker (start-up, and a replacement worker). */
  private connectPeers(index: number): void {
    const a = this.workers[index];
    if (!a?.isAlive) return;
    for (const b of this.workers) {
      if (b !== undefined && b.index !== index && b.isAlive && b.udpPort !== 0) connectPair(a, b);
    }
  }

  /** A worker that died is replaced on the same index and UDP port; its participants were told their media failed. */
  private replaceWorker(index: number): void {
    if (this.isClosed) return;
    this.restarts++;
    setTimeout(() => {
      if (this.isClosed) return;
      const started = this.startWorker(index);
      // The pipes are connected now, not once it is ready: participants are placed on it at once (rejoins come within
      // a second), and their commands, subscriptions to tracks on other workers among them, wait in its port's queue
      // behind these `peer` messages. Connected after `ready`, those subscriptions found no pipe and were dropped.
      this.connectPeers(index);
      started.then(
        () => {
          if (this.isClosed) return;
          this.logger.info({ worker: index, udpPort: this.workers[index]?.udpPort }, 'media worker replaced');
        },
        (err: unknown) => this.logger.error({ err, worker: index }, 'media worker could not be replaced'),
      );
    }, WORKER_RESTART_DELAY_MS).unref?.();
  }

  private startWorker(index: number): Promise<void> {
    const config: MediaWorkerConfig = {
      ...this.opts.worker,
      index,
      udpPort: this.opts.udpPort === 0 ? 0 : this.opts.udpPort + index,
      tcpPort: this.opts.tcpPort === undefined || this.opts.tcpPort === 0 ? this.opts.tcpPort : this.opts.tcpPort + index,
      collectLatency: this.opts.forwardLatency !== undefined,
    };
    const worker = new Worker(new URL('./worker-boot.mjs', import.meta.url), {
      workerData: { entry: new URL('./worker-entry.ts', import.meta.url).href, config },
      name: `atrium-media-${index}`,
    });
    const slot: WorkerSlot = { index, worker, udpPort: 0, tcpPort: undefined, participants: 0, placedSinceReport: 0, last: undefined, steadyUtilization: 0, isAlive: true, threadId: undefined };
    this.workers[index] = slot;
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`media worker ${index} did not start within ${WORKER_START_TIMEOUT_MS} ms`)), WORKER_START_TIMEOUT_MS);
      worker.on('message', (m: FromWorker) => {
        if (m.t === 'ready') {
          clearTimeout(timer);
          slot.udpPort = m.udpPort;
          slot.tcpPort = m.tcpPort;
          slot.threadId = m.threadId;
          this.logger.info({ worker: index, udpPort: m.udpPort, ...(m.tcpPort !== undefined ? { tcpPort: m.tcpPort } : {}), tid: m.threadId }, 'media worker started');
          resolve();
          return;
        }
        this.onMessage(slot, m);
      });
      worker.on('error', (err) => {
        clearTimeout(timer);
        this.logger.error({ err, worker: index }, 'media worker failed');
        reject(err);
      });
      worker.on('exit', (code) => {
        clearTimeout(timer);
        slot.isAlive = false;
        if (!this.isClosed) {
          this.logger.error({ worker: index, code }, 'media worker exited; its participants lose their media');
          this.failWorker(slot);
          if (this.isStarted && slot.udpPort !== 0) this.replaceWorker(index);
        }
        reject(new Error(`media worker ${index} exited with code ${code}`));
      });
    });
  }

  /**
   * A worker died: its participants' transports are gone (their media reports failed, and the room logic ends them with
   * MEDIA_FAILURE so their clients rejoin, placed on a live worker); its tracks end for subscribers elsewhere (their
   * mirrors close with the pipe).
   */
  private failWorker(slot: WorkerSlot): void {
    slot.participants = 0;
    slot.last = undefined;
    slot.steadyUtilization = 0;
    for (const [name, room] of this.rooms) {
      room.delete(slot.index);
      if (room.size === 0) this.rooms.delete(name);
    }
    for (const m of [...this.media.values()]) {
      if (m.worker !== slot.index) continue;
      m.workerFailed();
    }
  }

  /** Workers replaced after dying (tests, /debug). */
  restarts = 0;
  private isStarted = false;

  get udpPort(): number {
    return this.workers[0]?.udpPort ?? 0;
  }
  get udpPorts(): number[] {
    return this.workers.map((w) => w.udpPort);
  }
  /** The workers' ICE-TCP ports (empty when ICE-TCP is off). */
  get tcpPorts(): number[] {
    return this.workers.flatMap((w) => (w.tcpPort === undefined ? [] : [w.tcpPort]));
  }

  private onMessage(slot: WorkerSlot, m: FromWorker): void {
    switch (m.t) {
      case 'event':
        this.media.get(m.mediaId)?.onWorkerEvent(m.name, m.payload);
        return;
      case 'published':
        this.onPublished(slot, m);
        return;
      case 'reply': {
        const p = this.pending.get(m.req);
        if (!p) return;
        this.pending.delete(m.req);
        if (m.answer) p.resolve(m.answer);
        else p.reject(Object.assign(new Error(m.error?.message ?? 'failed'), m.error?.code ? { code: m.error.code } : {}));
        return;
      }
      case 'levels':
        for (let i = 0; i + 1 < m.levels.length; i += 2) {
          const s = this.sources.get(`${slot.index}:${m.levels[i]}`);
          if (s) s.level = m.levels[i + 1]!;
        }
        return;
      case 'quality':
        for (const [id, sample] of m.sources) {
          const s = this.sources.get(`${slot.index}:${id}`);
          if (s) s.quality = sample;
        }
        for (const [id, samples, congestion] of m.media) {
          const media = this.media.get(id);
          if (media) {
            media.quality = samples;
            media.congestion = congestion;
          }
        }
        return;
      case 'stats':
        slot.last = m;
        slot.steadyUtilization = smoothedUtilization(slot.steadyUtilization, m.loopUtilization);
        slot.placedSinceReport = 0;
        if (this.opts.forwardLatency) for (const ns of m.latencyNs) this.opts.forwardLatency.observe(ns);
        return;
      case 'log': {
        const logger = Object.keys(m.bindings).length > 0 ? this.logger.child(m.bindings) : this.logger;
        if (m.msg === undefined) logger[m.level](m.obj);
        else logger[m.level](m.obj, m.msg);
        return;
      }
      case 'ready':
      case 'closed':
        return;
    }
  }

  private onPublished(slot: WorkerSlot, m: PublishedMessage): void {
    const media = this.media.get(m.mediaId);
    if (!media) return;
    const source = new WorkerTrackSource(this, slot.index, m.sourceId, m.descriptor);
    this.sources.set(`${slot.index}:${m.sourceId}`, source);
    media.onPublished(m, source);
  }

  forgetSource(source: WorkerTrackSource): void {
    const key = `${source.worker}:${source.sourceId}`;
    if (this.sources.get(key) === source) this.sources.delete(key);
  }

  send(worker: number, m: ToWorker): void {
    const slot = this.workers[worker];
    if (!slot?.isAlive) return;
    slot.worker.postMessage(m);
  }

  /** Sends to every worker: the track's own applies it, the others to their mirror of it. */
  broadcast(m: ToWorker): void {
    for (const w of this.workers) if (w.isAlive) w.worker.postMessage(m);
  }

  request(worker: number, build: (req: number) => ToWorker): Promise<SessionDescriptionMessage> {
    const req = this.nextReq++;
    return new Promise((resolve, reject) => {
      this.pending.set(req, { resolve, reject });
      const slot = this.workers[worker];
      if (!slot?.isAlive) {
        this.pending.delete(req);
        reject(Object.assign(new Error('media worker is gone'), { code: 'media_worker_gone' }));
        return;
      }
      slot.worker.postMessage(build(req));
    });
  }

  /** The worker for a new participant of `roomName`: its room's, while that has room for it (roomWorker); else the least loaded. */
  private place(roomName: string | undefined): number {
    const running = this.workers.filter((w) => w.isAlive);
    if (running.length === 0) throw new Error('no media worker is running');
    // A replacement that is still starting takes participants only when no worker is ready: one placed there waits for
    // the start (its offer is answered late), where a ready worker answers at once. Rejoins after a worker died
    // therefore go to the live workers.
    const ready = running.filter((w) => w.udpPort !== 0);
    const alive = ready.length > 0 ? ready : running;
    // A room's worker keeps it by its steady utilization, so that the handshakes of a meeting joining at once (a
    // 25-person room at 20 joins/s: its worker reported 77% busy) do not split a room that runs at 40%.
    const candidates = alive.map((w) => ({
      index: w.index, participants: w.participants, placedSinceReport: w.placedSinceReport, report: w.last, steadyUtilization: w.steadyUtilization,
    }));
    const room = roomName === undefined ? undefined : this.rooms.get(roomName);
    if (room) {
      const index = roomWorker(room, candidates, this.opts.roomParticipantsPerWorker);
      if (index >= 0) return index;
    }
    // The least loaded by its own measure (placement.ts); between equals, the fewest participants.
    return leastLoadedWorker(candidates);
  }

  createParticipantMedia(opts: Parameters<MediaFactory['createParticipantMedia']>[0]): ParticipantMedia {
    if (this.isClosed) throw new Error('media factory closed');
    const worker = this.place(opts.roomName);
    const slot = this.workers[worker]!;
    slot.participants++;
    slot.placedSinceReport++;
    if (opts.roomName !== undefined) {
      let room = this.rooms.get(opts.roomName);
      if (!room) {
        room = new Map();
        this.rooms.set(opts.roomName, room);
      }
      room.set(worker, (room.get(worker) ?? 0) + 1);
    }
    const mediaId = this.nextMediaId++;
    const media = new WorkerParticipantMedia(this, worker, mediaId, opts.roomName, opts.logger);
    this.media.set(mediaId, media);
    this.send(worker, {
      t: 'create', mediaId, participantSid: opts.participantSid, identity: opts.identity,
      isAdaptiveStream: opts.isAdaptiveStream ?? false,
      ...(opts.candidateProtocol !== undefined ? { candidateProtocol: opts.candidateProtocol } : {}),
      ...(opts.isSinglePeerConnection === true ? { isSinglePeerConnection: true } : {}),
      ...(opts.subscriberAllowPause !== undefined ? { subscriberAllowPause: opts.subscriberAllowPause } : {}),
      logBindings: opts.logBindings ?? { participant: opts.identity, pID: opts.participantSid },
    });
    return media;
  }

  /** A participant's media closed: its place is free. */
  released(media: WorkerParticipantMedia): void {
    if (!this.media.delete(media.mediaId) || media.isOrphaned) return;
    const slot = this.workers[media.worker];
    if (slot) slot.participants = Math.max(0, slot.participants - 1);
    if (media.roomName !== undefined) {
      const room = this.rooms.get(media.roomName);
      if (room) {
        const n = (room.get(media.worker) ?? 1) - 1;
        if (n > 0) room.set(media.worker, n);
        else room.delete(media.worker);
        if (room.size === 0) this.rooms.delete(media.roomName);
      }
    }
  }

  /** Which worker each participant of a room is on (tests, /debug). */
  placementOf(roomName: string): Map<number, number> {
    return new Map(this.rooms.get(roomName) ?? []);
  }

  resources(): MediaResources {
    // Sessions closed here are gone at once; a worker's own count (its last report) may lag by a report interval.
    let udpRegistrations = 0;
    let sessions = 0;
    for (const w of this.workers) {
      udpRegistrations += w.last?.udpRegistrations ?? 0;
      sessions += w.last?.sessions ?? 0;
    }
    return { sessions: Math.max(sessions, this.media.size), udpRegistrations };
  }

  async close(): Promise<void> {
    if (this.isClosed) return;
    this.isClosed = true;
    for (const m of [...this.media.values()]) m.close();
    for (const p of this.pending.values()) p.reject(Object.assign(new Error('media factory closed'), { code: 'closed' }));
    this.pending.clear();
    await Promise.all(
      this.workers.filter((w) => w !== undefined && w.isAlive).map(
        (w) =>
          new Promise<void>((resolve) => {
            const timer = setTimeout(() => void w.worker.terminate().then(() => resolve()), WORKER_STOP_TIMEOUT_MS);
            w.worker.on('message', (m: FromWorker) => {
              if (m.t !== 'closed') return;
              clearTimeout(timer);
              void w.worker.terminate().then(() => resolve());
            });
            w.worker.once('exit', () => {
              clearTimeout(timer);
              resolve();
            });
            w.worker.postMessage({ t: 'shutdown' } satisfies ToWorker);
          }),
      ),
    );
  }
}

/** A published track on a media worker, as the room logic sees it. */
export class WorkerTrackSource implements MediaTrackSource {
  readonly kind: MediaKind;
  readonly mimeType: string;
  /** Last pushed speaking level (audio) and receive counters. */
  level = 0;
  quality: StreamQualitySample | undefined;
  private readonly state: SourceState = {
    muted: false, videoLayers: [], width: 0, height: 0,
    audioFeatures: { isStereo: false, isRedDisabled: false, isEncrypted: false }, backupCodecs: [],
  };
  private readonly backups: WorkerTrackSource[] = [];

  constructor(
    private readonly factory: WorkerMediaFactory,
    readonly worker: number,
    readonly sourceId: number,
    readonly descriptor: SourceDescriptor,
  ) {
    this.kind = descriptor.kind;
    this.mimeType = descriptor.codec.mimeType;
  }

  private get ref(): { worker: number; sourceId: number } {
    return { worker: this.worker, sourceId: this.sourceId };
  }

  /** What a worker needs to subscribe to this track (or mirror it first). */
  spec(): MirrorSpec {
    return { ...this.ref, descriptor: this.descriptor, state: this.state, backups: this.backups.map((b) => b.spec()) };
  }

  setMuted(muted: boolean): void {
    this.state.muted = muted;
    this.factory.broadcast({ t: 'source', ref: this.ref, op: 'setMuted', args: [muted] });
  }

  speakingLevel(): number {
    return this.state.muted ? 0 : this.level;
  }

  receiveQuality(): StreamQualitySample | undefined {
    return this.quality;
  }

  setVideoLayers(layers: readonly LayerSpec[], width: number, height: number): void {
    this.state.videoLayers = [...layers];
    this.state.width = width;
    this.state.height = height;
    this.factory.broadcast({ t: 'source', ref: this.ref, op: 'setVideoLayers', args: [[...layers], width, height] });
  }

  setBackupCodecs(codecs: readonly { mimeType: string; layers: readonly LayerSpec[] }[]): void {
    this.state.backupCodecs = codecs.map((c) => ({ mimeType: c.mimeType, layers: [...c.layers] }));
    this.factory.broadcast({ t: 'source', ref: this.ref, op: 'setBackupCodecs', args: [this.state.backupCodecs] });
  }

  addBackupCodec(source: MediaTrackSource): void {
    if (!(source instanceof WorkerTrackSource) || source === this || source.worker !== this.worker) return;
    this.backups.push(source);
    this.factory.broadcast({ t: 'addBackup', ref: this.ref, backup: source.spec() });
  }

  setAudioFeatures(features: { isStereo: boolean; isRedDisabled: boolean; isEncrypted: boolean }): void {
    this.state.audioFeatures = { ...features };
    this.factory.broadcast({ t: 'source', ref: this.ref, op: 'setAudioFeatures', args: [{ ...features }] });
  }

  ended(): void {
    this.factory.forgetSource(this);
  }
}

/** One participant's media on a worker, as the room logic sees it. */
export class WorkerParticipantMedia extends TypedEmitter<ParticipantMediaEvents> implements ParticipantMedia {
  quality: StreamQualitySample[] = [];
  congestion: SubscriberCongestionState | undefined;
  private readonly published = new Map<string, WorkerTrackSource>();
  private isClosed = false;

  constructor(
    private readonly factory: WorkerMediaFactory,
    readonly worker: number,
    readonly mediaId: number,
    readonly roomName: string | undefined,
    private readonly logger: Logger,
  ) {
    super();
    this.onListenerError = (err, event) => this.logger.error({ err, event }, 'media event listener threw');
  }

  private call(c: MediaCall): void {
    if (this.isClosed || this.isOrphaned) return;
    this.factory.send(this.worker, { t: 'call', mediaId: this.mediaId, ...c } as ToWorker);
  }

  onWorkerEvent(name: string, payload: unknown): void {
    if (this.isClosed) return;
    if (name === 'trackEnded') {
      const e = payload as { mid: string };
      this.published.get(e.mid)?.ended();
      this.published.delete(e.mid);
    }
    (this.emit as (n: string, p: unknown) => void)(name, payload);
  }

  onPublished(m: PublishedMessage, source: WorkerTrackSource): void {
    if (this.isClosed) return;
    this.published.set(m.mid, source);
    this.emit('trackPublished', {
      msidTrackId: m.msidTrackId, msidStreamId: m.msidStreamId, mid: m.mid, kind: m.kind, mimeType: m.mimeType, rids: m.rids, source,
    });
  }

  /** The worker died: the transports are gone. */
  workerFailed(): void {
    if (this.isClosed) return;
    this.isOrphaned = true;
    this.emit('connectionState', { target: SignalTarget.PUBLISHER, state: 'failed' });
    this.emit('connectionState', { target: SignalTarget.SUBSCRIBER, state: 'failed' });
    this.emit('mediaLost', { reason: `media worker ${this.worker} exited` });
  }

  /** Its worker died: its place was already given up (failWorker), and nothing is sent to the replacement. */
  isOrphaned = false;

  handlePublisherOffer(
    sdp: string,
    id: number,
    opts: { codecByTrackId?: ReadonlyMap<string, string>; opusParamsByTrackId?: ReadonlyMap<string, string> } = {},
  ): Promise<SessionDescriptionMessage> {
    if (this.isClosed || this.isOrphaned) return Promise.reject(Object.assign(new Error('participant media closed'), { code: 'closed' }));
    return this.factory.request(this.worker, (req) => ({
      t: 'offer', mediaId: this.mediaId, req, sdp, id,
      codecByTrackId: [...(opts.codecByTrackId ?? [])], opusParamsByTrackId: [...(opts.opusParamsByTrackId ?? [])],
    }));
  }

  handleSubscriberAnswer(sdp: string, id: number): void {
    this.call({ op: 'handleSubscriberAnswer', args: [sdp, id] });
  }

  addRemoteCandidate(candidateInit: string, target: SignalTargetValue): void {
    this.call({ op: 'addRemoteCandidate', args: [candidateInit, target] });
  }

  startSubscriber(): void {
    this.call({ op: 'startSubscriber', args: [] });
  }

  restartIce(): void {
    this.call({ op: 'restartIce', args: [] });
  }

  setSubscriberCapacityOverride(bps: number): void {
    this.call({ op: 'setSubscriberCapacityOverride', args: [bps] });
  }

  subscribe(source: MediaTrackSource, opts: { publisherSid: string; trackSid: string }): void {
    if (this.isClosed || this.isOrphaned) return;
    if (!(source instanceof WorkerTrackSource)) throw new Error('subscribe: unknown media source');
    this.factory.send(this.worker, { t: 'subscribe', mediaId: this.mediaId, source: source.spec(), ...opts });
  }

  unsubscribe(trackSid: string): void {
    this.call({ op: 'unsubscribe', args: [trackSid] });
  }

  updateTrackSettings(trackSid: string, settings: TrackSettings): void {
    this.call({ op: 'updateTrackSettings', args: [trackSid, { ...settings }] });
  }

  sendData(payload: Uint8Array, kind: DataKind): void {
    this.call({ op: 'sendData', args: [payload, kind] });
  }

  subscriptionQuality(): StreamQualitySample[] {
    return this.quality;
  }

  congestionState(): SubscriberCongestionState | undefined {
    return this.congestion;
  }

  close(): void {
    if (this.isClosed) return;
    this.call({ op: 'close', args: [] });
    this.isClosed = true;
    for (const s of this.published.values()) s.ended();
    this.published.clear();
    this.factory.released(this);
    this.emit('connectionState', { target: SignalTarget.PUBLISHER, state: 'closed' });
    this.removeAllListeners();
  }
}
