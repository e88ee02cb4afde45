// Everything the SFU keeps for one subscriber: its DownTracks, the settings each track was asked for
// (UpdateTrackSettings: disabled, quality, size, fps, priority), the bandwidth estimate (an interface; congestion
// control fills it), the allocator that turns all of that into a target layer per DownTrack, the stream states it
// reports (ACTIVE/PAUSED), what it needs of each published track (dynacast), and its sender reports. One deadline-driven
// timer drives it: allocation every 250 ms (layers stop without telling anyone) and at once after a change; SRs every second.
import type { Clock, TimerHandle } from '@atrium/webrtc/clock.js';
import type { Logger } from '@atrium/webrtc/logger.js';
import { silentLogger } from '@atrium/webrtc/logger.js';
import { serializeRtcp } from '@atrium/webrtc/rtp/index.js';
import type { SenderReport } from '@atrium/webrtc/rtp/index.js';
import type { BandwidthEstimator } from './bandwidth-estimator.js';
import { unlimitedBandwidth } from './bandwidth-estimator.js';
import { DownTrack } from './down-track.js';
import type { DownTrackListener, DownTrackOptions } from './down-track.js';
import type { DownTrackSource, TrackSender } from './down-track-source.js';
import type { DynacastSink } from './dynacast.js';
import { bestLayer } from './layer-allocator.js';
import { StreamAllocator } from './stream-allocator.js';
import type { StreamTrack } from './stream-allocator.js';
import type { SfuStats } from './sfu-stats.js';
import type { LayerSpec } from './video-layers.js';
import { MAX_SPATIAL, MAX_TEMPORAL, NO_LAYER, Quality, qualityForSize, spatialForQuality, temporalForFps } from './video-layers.js';

/** What a subscriber asked for one track (LiveKit's UpdateTrackSettings). */
export interface TrackSettings {
  isDisabled: boolean;
  /** VideoQuality (LOW=0, MEDIUM=1, HIGH=2, OFF=3); used when no size is given. */
  quality: number;
  /** Requested render size in pixels (0 = none). */
  width: number;
  height: number;
  /** Requested frame rate (0 = any). */
  fps: number;
  priority: number;
}

export type StreamStateValue = 'active' | 'paused';

export interface StreamStateChange {
  trackId: string;
  publisherId: string;
  state: StreamStateValue;
}

export interface SubscriberSessionListener {
  /** Forwarding of video tracks stopped (disabled by the subscriber, no bandwidth) or resumed: StreamStateUpdate. */
  onStreamStates(changes: StreamStateChange[]): void;
}

export interface SubscriberSessionOptions {
  /** The subscriber (participant sid): its key in each published track's dynacast. */
  subscriberId: string;
  clock: Clock;
  logger?: Logger;
  listener: SubscriberSessionListener;
  /** The subscriber uses adaptive stream: video starts at LOW until its client says what it renders. */
  isAdaptiveStream?: boolean;
  estimator?: BandwidthEstimator;
  stats?: SfuStats;
  allocationIntervalMs?: number;
  /**
   * Sender reports for every forwarding track go out together this often (default 3 s, LiveKit's), in compound RTCP
   * packets of up to SRS_PER_COMPOUND; a track that starts gets its first within FIRST_REPORT_MS.
   */
  reportIntervalMs?: number;
  /** Video settings apply this long after the last change (default 100 ms, LiveKit's), enabling at once. */
  settingsDebounceMs?: number;
  /**
   * The allocator may pause a track when not even its lowest layer fits the bandwidth (rtc.congestion_control.allow_pause,
   * or the client's subscriber_allow_pause); default false, as LiveKit: the lowest layer is kept over the budget.
   */
  allowPause?: boolean;
  /**
   * rtc.congestion_control.enabled (default true): layers also follow the bandwidth estimate. False: the estimate is
   * ignored and each track gets the layer its settings ask for.
   */
  isCongestionControlEnabled?: boolean;
}

/** A subscription the session forwards. */
export interface SessionTrackOptions {
  trackId: string;
  publisherId: string;
  source: DownTrackSource & { addSender(s: TrackSender): void };
  ssrc: number;
  payloadType: number;
  extensionIdMap?: Uint8Array;
  send: DownTrackOptions['send'];
  sendRtx?: DownTrackOptions['sendRtx'];
  /** The subscriber's transport-wide-cc extension id (DownTrackOptions.transportCcId). */
  transportCcId?: number;
  /** Serialized RTCP (our SRs) towards the subscriber for this track. */
  sendRtcp(packet: Buffer): void;
  /** The publisher's announced layers (TrackInfo) and the track's size. */
  layers: readonly LayerSpec[];
  width: number;
  height: number;
  /** The published track's dynacast, and the codec this subscriber receives. */
  dynacast?: DynacastSink;
  /** A screen share: served before cameras when bandwidth is short. */
  isScreenShare?: boolean;
  /** Audio: RED/Opus translation between publisher and subscriber (DownTrackOptions.red). */
  red?: DownTrackOptions['red'];
  logger?: Logger;
}

interface Entry {
  opts: SessionTrackOptions;
  down: DownTrack;
  settings: TrackSettings | undefined;
  /** Settings waiting out the debounce (a client sends a burst while a tile is laid out), and when they apply. */
  pending: TrackSettings | undefined;
  pendingDueMs: number;
  state: StreamStateValue;
  /** What this subscriber last told the track's dynacast. */
  reportedSpatial: number;
  /** Not allocated since it started or was re-enabled: it takes what fits at once. */
  isNew: boolean;
  /** The allocator paused it for lack of bandwidth (not the subscriber's own choice). */
  isPausedByBandwidth: boolean;
  /** Spatial layers the bandwidth holds it below what the subscriber asked for (PAUSED_BY_BANDWIDTH when paused). */
  heldBackLayers: number;
  /** The spatial target last set (logged when it changes). */
  loggedSpatial: number;
}

/** Default of SubscriberSessionOptions.reportIntervalMs. */
export const REPORT_INTERVAL_MS = 3000;
/** A track that starts forwarding gets its first sender report this soon (the receiver's A/V sync waits for it). */
const FIRST_REPORT_MS = 1000;
/** Sender reports in one compound RTCP packet: 28 bytes each, so 32 stay well inside a datagram. */
const SRS_PER_COMPOUND = 32;

/** `heldBackLayers` of a track the allocator paused. */
export const PAUSED_BY_BANDWIDTH = 3;

const DEFAULT_SETTINGS_HIGH: TrackSettings = { isDisabled: false, quality: Quality.HIGH, width: 0, height: 0, fps: 0, priority: 0 };
const DEFAULT_SETTINGS_LOW: TrackSettings = { ...DEFAULT_SETTINGS_HIGH, quality: Quality.LOW };
/** Frame rate of the top temporal layer assumed when a subscriber asks for an fps (camera default). */
const FULL_FPS = 30;

export class SubscriberSession implements DownTrackListener {
  readonly subscriberId: string;
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly listener: SubscriberSessionListener;
  private readonly isAdaptiveStream: boolean;
  private readonly estimator: BandwidthEstimator;
  private readonly stats: SfuStats | undefined;
  private readonly allocationIntervalMs: number;
  private readonly reportIntervalMs: number;
  private readonly settingsDebounceMs: number;
  private readonly allowPause: boolean;
  private readonly entries = new Map<string, Entry>();
  /** Settings that arrived before their track's DownTrack started (the client sends them at subscription). */
  private readonly earlySettings = new Map<string, TrackSettings>();
  private readonly byDownTrack = new Map<DownTrack, Entry>();
  private timer: TimerHandle | null = null;
  private timerAtMs = Infinity;
  private nextAllocationMs = Infinity;
  private nextReportMs = Infinity;
  private pendingStates: StreamStateChange[] = [];
  private isClosed = false;
  private readonly allocator: StreamAllocator;
  private readonly isCongestionControlEnabled: boolean;
  /** Audio bytes sent when the last allocation ran, and when: the audio share of the estimate. */
  private audioBytesAtLastMs = 0;
  private lastAllocationMs = -Infinity;
  /** Allocation passes run (tests and metrics). */
  allocations = 0;
  /** The estimate, what the video targets cost and what audio took at the last allocation (metrics). */
  estimateBps = Infinity;
  /**
   * SimulateScenario subscriber_bandwidth (docs/scenarios.md): when > 0, the allocator uses this instead of the
   * estimate (LiveKit's overridden channel capacity), whether or not congestion control is on. 0 clears it.
   */
  private capacityOverrideBps = 0;
  allocatedBps = 0;
  audioBps = 0;
  /** Video tracks the allocator holds below what the subscriber wants, and those it paused, at the last allocation. */
  deficientTracks = 0;
  pausedTracks = 0;
  probesSent = 0;

  constructor(opts: SubscriberSessionOptions) {
    this.subscriberId = opts.subscriberId;
    this.clock = opts.clock;
    this.logger = opts.logger ?? silentLogger;
    this.listener = opts.listener;
    this.isAdaptiveStream = opts.isAdaptiveStream ?? false;
    this.estimator = opts.isCongestionControlEnabled === false ? unlimitedBandwidth : (opts.estimator ?? unlimitedBandwidth);
    this.stats = opts.stats;
    this.allocationIntervalMs = opts.allocationIntervalMs ?? 250;
    this.reportIntervalMs = opts.reportIntervalMs ?? REPORT_INTERVAL_MS;
    this.settingsDebounceMs = opts.settingsDebounceMs ?? 100;
    this.allowPause = opts.allowPause ?? false;
    this.isCongestionControlEnabled = opts.isCongestionControlEnabled !== false;
    this.allocator = new StreamAllocator({ allowPause: this.allowPause });
  }

  /** Counters of the stream allocator (upgrades, downgrades, pauses, probes). */
  get allocatorStats(): Pick<StreamAllocator, 'upgrades' | 'downgrades' | 'pauses' | 'probesRequested' | 'probesSucceeded' | 'probesFailed'> {
    return this.allocator;
  }

  get trackCount(): number {
    return this.entries.size;
  }
  downTrack(trackId: string): DownTrack | undefined {
    return this.entries.get(trackId)?.down;
  }
  streamState(trackId: string): StreamStateValue | undefined {
    return this.entries.get(trackId)?.state;
  }
  /**
   * How many spatial layers the bandwidth holds a video track below what its subscriber asked for at the last
   * allocation (0: none; PAUSED_BY_BANDWIDTH: paused); connection quality counts it.
   */
  heldBackLayers(trackId: string): number {
    return this.entries.get(trackId)?.heldBackLayers ?? 0;
  }

  /** Starts forwarding a subscribed track: builds its DownTrack, attaches it to the source and allocates at once. */
  addTrack(opts: SessionTrackOptions): DownTrack {
    const early = this.earlySettings.get(opts.trackId);
    this.removeTrack(opts.trackId);
    const down = new DownTrack({
      source: opts.source,
      ssrc: opts.ssrc,
      payloadType: opts.payloadType,
      ...(opts.extensionIdMap ? { extensionIdMap: opts.extensionIdMap } : {}),
      send: opts.send,
      ...(opts.sendRtx ? { sendRtx: opts.sendRtx } : {}),
      ...(opts.transportCcId ? { transportCcId: opts.transportCcId } : {}),
      clock: this.clock,
      logger: opts.logger ?? this.logger,
      listener: this,
      ...(this.stats ? { stats: this.stats } : {}),
      ...(opts.red ? { red: opts.red } : {}),
    });
    const entry: Entry = {
      opts, down, settings: early, pending: undefined, pendingDueMs: 0, state: 'active', reportedSpatial: NO_LAYER, isNew: true,
      isPausedByBandwidth: false, heldBackLayers: 0, loggedSpatial: NO_LAYER,
    };
    if (down.kind === 'audio' && early?.isDisabled) down.setMuted(true);
    this.entries.set(opts.trackId, entry);
    this.byDownTrack.set(down, entry);
    this.updateTransportWideSequencing();
    opts.dynacast?.addCodec(opts.source.mimeType);
    // Targets first, so the first packets already meet the forwarder's decision.
    this.allocate();
    opts.source.addSender(down);
    if (down.kind === 'video' && down.forwarder.needsKeyframe) opts.source.requestKeyframe(opts.source.sourceForSpatial(down.forwarder.targetSpatialLayer));
    this.nextReportMs = Math.min(this.nextReportMs, this.clock.nowMs() + Math.min(FIRST_REPORT_MS, this.reportIntervalMs));
    this.schedule();
    return down;
  }

  removeTrack(trackId: string): void {
    this.earlySettings.delete(trackId);
    const e = this.entries.get(trackId);
    if (e === undefined) return;
    this.entries.delete(trackId);
    this.byDownTrack.delete(e.down);
    e.opts.dynacast?.removeSubscriber(this.subscriberId);
    e.down.close();
    if (e.down.kind === 'video') this.updateTransportWideSequencing();
    this.pendingStates = this.pendingStates.filter((s) => s.trackId !== trackId);
  }

  /**
   * UpdateTrackSettings for one subscribed track. Settings for a track whose DownTrack has not started yet (its
   * subscription is still being negotiated) are kept and applied when it starts; `removeTrack` forgets them.
   */
  updateSettings(trackId: string, settings: TrackSettings): void {
    const e = this.entries.get(trackId);
    if (e === undefined) {
      if (!this.isClosed) this.earlySettings.set(trackId, { ...settings });
      return;
    }
    if (e.down.kind === 'audio') {
      e.settings = { ...settings };
      e.down.setMuted(settings.isDisabled);
      return;
    }
    // As LiveKit (subscribedtrack.go): video settings apply after 100 ms, so the burst a client sends while laying out a
    // tile (quality HIGH before its size is known, then the size) does not flap layers and dynacast; becoming enabled
    // (a tile turning visible) applies at once.
    const current = e.pending ?? this.effectiveSettings(e);
    const isEnabling = current.isDisabled && !settings.isDisabled;
    const nowMs = this.clock.nowMs();
    e.pending = { ...settings };
    e.pendingDueMs = isEnabling ? nowMs : nowMs + this.settingsDebounceMs;
    this.nextAllocationMs = Math.min(this.nextAllocationMs, e.pendingDueMs);
    this.schedule();
  }

  /** Sets (bps > 0) or clears (0) the simulated channel capacity, and re-allocates at once. */
  setCapacityOverride(bps: number): void {
    this.capacityOverrideBps = Number.isFinite(bps) && bps > 0 ? bps : 0;
    this.markDirty();
  }

  get capacityOverride(): number {
    return this.capacityOverrideBps;
  }

  /** Re-allocates at once (the bandwidth estimate changed, a layer started or stopped). */
  markDirty(): void {
    if (this.isClosed) return;
    this.nextAllocationMs = this.clock.nowMs();
    this.schedule();
  }

  // ---- DownTrackListener ----

  onForwardingStarted(down: DownTrack): void {
    const e = this.byDownTrack.get(down);
    if (e === undefined || e.state === 'active' || down.isStoppedBySubscriber) return;
    e.state = 'active';
    this.queueState(e);
  }

  onSourceLayersChanged(): void {
    this.markDirty();
  }

  onClosed(down: DownTrack): void {
    const e = this.byDownTrack.get(down);
    if (e === undefined) return;
    // The source closed it (unpublished): forget it; the room unsubscribes the track too.
    this.entries.delete(e.opts.trackId);
    this.byDownTrack.delete(down);
    e.opts.dynacast?.removeSubscriber(this.subscriberId);
    if (down.kind === 'video') this.updateTransportWideSequencing();
  }

  /**
   * Audio carries transport-wide sequence numbers only while this subscriber receives video (DownTrack
   * setTransportWideSequencing): the estimate serves video, and an audio-only subscriber's feedback would cost a stamp
   * per packet and a feedback packet every 50 ms for nothing. Called when a track starts and when a video track ends.
   */
  private updateTransportWideSequencing(): void {
    let on = false;
    for (const e of this.entries.values()) if (e.down.kind === 'video') on = true;
    for (const e of this.entries.values()) {
      if (e.down.kind === 'audio' && e.down.isTransportWideSequenced !== on) e.down.setTransportWideSequencing(on);
    }
  }

  // ---- allocation ----

  private effectiveSettings(e: Entry): TrackSettings {
    if (e.settings !== undefined) return e.settings;
    return this.isAdaptiveStream ? DEFAULT_SETTINGS_LOW : DEFAULT_SETTINGS_HIGH;
  }

  /** Highest spatial layer the subscriber asked for (by size when given, else quality); NO_LAYER when disabled. */
  private wantedSpatial(e: Entry, s: TrackSettings): number {
    if (s.isDisabled) return NO_LAYER;
    const { layers, width, height } = e.opts;
    const quality = s.width > 0 || s.height > 0 ? qualityForSize(s.width, s.height, layers, { width, height }) : s.quality;
    return spatialForQuality(quality, layers);
  }

  private allocate(): void {
    this.allocations++;
    const nowMs = this.clock.nowMs();
    this.measureAudio(nowMs);
    const video: Entry[] = [];
    const inputs: StreamTrack[] = [];
    const wanted: number[] = [];
    for (const e of this.entries.values()) {
      if (e.down.kind !== 'video') continue;
      if (e.pending !== undefined) {
        if (e.pendingDueMs <= nowMs) {
          if (e.settings?.isDisabled === true && !e.pending.isDisabled) e.isNew = true;
          e.settings = e.pending;
          e.pending = undefined;
        } else {
          this.nextAllocationMs = Math.min(this.nextAllocationMs, e.pendingDueMs);
        }
      }
      const s = this.effectiveSettings(e);
      const maxSpatial = this.wantedSpatial(e, s);
      const layers = e.opts.source.layers();
      const temporalCount = Math.max(1, (layers.maxTemporal.reduce((a, b) => Math.max(a, b), -1) ?? 0) + 1);
      video.push(e);
      wanted.push(maxSpatial);
      inputs.push({
        isDisabled: s.isDisabled,
        maxSpatial,
        maxTemporal: s.fps > 0 ? temporalForFps(s.fps, FULL_FPS, temporalCount) : MAX_TEMPORAL,
        priority: s.priority,
        isScreenShare: e.opts.isScreenShare ?? false,
        requestedPixels: s.width * s.height,
        layers,
        current: e.down.forwarder.targetSpatialLayer,
        isNew: e.isNew,
      });
    }
    if (video.length === 0) return;
    const estimate = this.capacityOverrideBps > 0
      ? this.capacityOverrideBps
      : this.isCongestionControlEnabled ? this.estimator.availableBps() : Infinity;
    this.estimateBps = estimate;
    const a = this.allocator;
    const before = { upgrades: a.upgrades, downgrades: a.downgrades, pauses: a.pauses };
    const decision = a.decide(inputs, estimate, this.audioBps, nowMs);
    this.allocatedBps = decision.allocatedBps;
    const counters = this.stats?.allocation;
    if (decision.probeBps > 0 && this.estimator.probe?.(decision.probeBps) === true) {
      this.probesSent++;
      if (counters) counters.probes++;
    }
    if (counters) {
      counters.upgrades += a.upgrades - before.upgrades;
      counters.downgrades += a.downgrades - before.downgrades;
      counters.pauses += a.pauses - before.pauses;
    }
    let deficient = 0;
    let paused = 0;
    for (let i = 0; i < video.length; i++) {
      const e = video[i]!;
      const input = inputs[i]!;
      let target = decision.targets[i]!;
      e.isNew = false;
      const isFeedDry = input.layers.activeSpatialMask === 0;
      if (target.spatial === NO_LAYER && isFeedDry && !input.isDisabled && input.maxSpatial !== NO_LAYER) {
        // Nothing flows yet (a new or dynacast-paused publisher): wait for the wanted layer's key frame; not a pause.
        target = { spatial: Math.min(input.maxSpatial, MAX_SPATIAL), temporal: input.maxTemporal };
        e.isNew = true;
      }
      e.down.setMuted(input.isDisabled);
      e.down.setTargetLayers(target.spatial, target.temporal);
      const isStopped = input.isDisabled || target.spatial === NO_LAYER;
      e.isPausedByBandwidth = isStopped && !input.isDisabled && input.maxSpatial !== NO_LAYER && !isFeedDry;
      e.heldBackLayers = 0;
      if (e.isPausedByBandwidth) {
        paused++;
        e.heldBackLayers = PAUSED_BY_BANDWIDTH;
      } else if (!isStopped) {
        // Below the best flowing layer within the request: held back by the bandwidth.
        const best = bestLayer(input).spatial;
        if (best > target.spatial) {
          deficient++;
          e.heldBackLayers = best - target.spatial;
        }
      }
      if (target.spatial !== e.loggedSpatial) {
        // Debug only, on change: why a subscriber sees the size it sees (the estimate, what each layer costs).
        this.logger.debug(
          {
            trackID: e.opts.trackId, from: e.loggedSpatial, to: target.spatial, wanted: input.maxSpatial, activeLayers: input.layers.activeSpatialMask,
            layerBps: input.layers.bitrateBps, estimateBps: Number.isFinite(estimate) ? Math.round(estimate) : null, audioBps: Math.round(this.audioBps),
            heldBack: e.heldBackLayers,
          },
          'subscriber layer target changed',
        );
        e.loggedSpatial = target.spatial;
      }
      if (isStopped && e.state === 'active') {
        e.state = 'paused';
        this.queueState(e);
      }
      const report = wanted[i]!;
      if (report !== e.reportedSpatial) {
        e.reportedSpatial = report;
        e.opts.dynacast?.setSubscriberMaxSpatial(e.opts.source.mimeType, this.subscriberId, report);
      }
    }
    this.deficientTracks = deficient;
    this.pausedTracks = paused;
  }

  /** The subscriber's audio send rate since the last allocation (it comes out of the estimate before video). */
  private measureAudio(nowMs: number): void {
    let bytes = 0;
    for (const e of this.entries.values()) if (e.down.kind === 'audio') bytes += e.down.bytesSent;
    const elapsedMs = nowMs - this.lastAllocationMs;
    if (elapsedMs >= 100 && Number.isFinite(elapsedMs)) {
      const rate = (Math.max(0, bytes - this.audioBytesAtLastMs) * 8 * 1000) / elapsedMs;
      // Smoothed: a talk spurt after silence (DTX) should not swing the video budget per tick.
      this.audioBps = this.audioBps === 0 ? rate : this.audioBps * 0.7 + rate * 0.3;
    }
    if (elapsedMs >= 100 || !Number.isFinite(elapsedMs)) {
      this.audioBytesAtLastMs = bytes;
      this.lastAllocationMs = nowMs;
    }
  }

  /** True when the subscriber gets less than it asked for because of its bandwidth (connection quality). */
  get isBandwidthConstrained(): boolean {
    return this.pausedTracks > 0 || this.deficientTracks > 0;
  }

  private queueState(e: Entry): void {
    this.pendingStates = this.pendingStates.filter((s) => s.trackId !== e.opts.trackId);
    this.pendingStates.push({ trackId: e.opts.trackId, publisherId: e.opts.publisherId, state: e.state });
    this.nextAllocationMs = Math.min(this.nextAllocationMs, this.clock.nowMs());
    this.schedule();
  }

  private flushStates(): void {
    if (this.pendingStates.length === 0) return;
    const changes = this.pendingStates;
    this.pendingStates = [];
    try {
      this.listener.onStreamStates(changes);
    } catch (err) {
      this.logger.warn({ err }, 'stream state listener threw');
    }
  }

  /**
   * One sender report per forwarding track, together in compound RTCP packets (as LiveKit's subscriber RTCP worker):
   * one SRTCP seal and one datagram for up to SRS_PER_COMPOUND tracks instead of one each. They go out through the
   * first reporting track's sink: every track of a session shares the subscriber's transport.
   */
  private sendReports(): void {
    const wallMs = this.clock.wallMs();
    let batch: SenderReport[] = [];
    let via: ((packet: Buffer) => void) | undefined;
    for (const e of this.entries.values()) {
      const sr = e.down.senderReport(wallMs);
      if (sr === null) continue;
      via ??= e.opts.sendRtcp;
      batch.push(sr);
      if (batch.length === SRS_PER_COMPOUND) {
        this.sendCompound(via, batch);
        batch = [];
      }
    }
    if (batch.length > 0 && via !== undefined) this.sendCompound(via, batch);
  }

  private sendCompound(send: (packet: Buffer) => void, reports: SenderReport[]): void {
    try {
      send(serializeRtcp(reports));
    } catch (err) {
      this.logger.debug({ err }, 'sender report send failed');
    }
  }

  // ---- one timer ----

  private schedule(): void {
    if (this.isClosed) return;
    const hasVideo = [...this.entries.values()].some((e) => e.down.kind === 'video');
    if (!hasVideo && this.pendingStates.length === 0) this.nextAllocationMs = Infinity;
    if (this.entries.size === 0) this.nextReportMs = Infinity;
    const at = Math.min(this.nextAllocationMs, this.nextReportMs);
    if (at === this.timerAtMs) return;
    if (this.timer !== null) this.clock.clearTimeout(this.timer);
    this.timer = null;
    this.timerAtMs = at;
    if (at === Infinity) return;
    this.timer = this.clock.setTimeout(() => this.run(), Math.max(0, at - this.clock.nowMs()));
    this.timer.unref?.();
  }

  private run(): void {
    this.timer = null;
    this.timerAtMs = Infinity;
    if (this.isClosed) return;
    const nowMs = this.clock.nowMs();
    if (nowMs >= this.nextAllocationMs) {
      this.nextAllocationMs = nowMs + this.allocationIntervalMs;
      try {
        this.allocate();
      } catch (err) {
        this.logger.error({ err }, 'layer allocation failed');
      }
      this.flushStates();
    }
    if (nowMs >= this.nextReportMs) {
      this.nextReportMs = nowMs + this.reportIntervalMs;
      this.sendReports();
    }
    this.schedule();
  }

  /** Idempotent: closes every DownTrack and the timer. */
  close(): void {
    if (this.isClosed) return;
    this.isClosed = true;
    if (this.timer !== null) this.clock.clearTimeout(this.timer);
    this.timer = null;
    for (const id of [...this.entries.keys()]) this.removeTrack(id);
  }
}
