// Dynacast for one published video track: the highest quality any subscriber needs, per codec, committed to the
// publisher (SubscribedQualityUpdate) so it stops encoding layers nobody watches. As LiveKit's dynacast managers:
// upgrades are committed at once, downgrades after a pause delay (5 s; a subscriber that scrolls back finds its layer
// still there), and a track nobody subscribed to within the initial wait (10 s) is turned off entirely.
import type { Clock, TimerHandle } from '@atrium/webrtc/clock.js';
import type { LayerSpec, QualityValue } from './video-layers.js';
import { NO_LAYER, Quality, qualityForSpatial } from './video-layers.js';

export interface DynacastOptions {
  clock: Clock;
  /** Downgrades wait this long (LiveKit `video.dynacast_pause_delay`, default 5000 ms); 0 commits them at once. */
  pauseDelayMs?: number;
  /** Without any subscriber report by then, every layer is turned off (default 10000 ms). */
  initialWaitMs?: number;
  /** The publisher's announced layers of a codec (to name a spatial index as a quality). */
  layersFor(mimeType: string): readonly LayerSpec[];
  /** A committed change: the max quality per codec (lower-case mime type), OFF = nothing needed. */
  onUpdate(maxQualityByMime: ReadonlyMap<string, QualityValue>): void;
}

/**
 * What a subscriber's DownTrack and SubscriberSession tell a published track's dynacast: the controller itself, or a
 * relay to it on another media worker (media-worker/pipe.ts).
 */
export interface DynacastSink {
  addCodec(mimeType: string): void;
  setSubscriberMaxSpatial(mimeType: string, subscriberId: string, spatial: number): void;
  removeSubscriber(subscriberId: string): void;
  close(): void;
}

export class DynacastController implements DynacastSink {
  private readonly opts: DynacastOptions;
  private readonly pauseDelayMs: number;
  /** Per codec: subscriber id -> the quality it needs (absent = none). */
  private readonly wanted = new Map<string, Map<string, QualityValue>>();
  private committed = new Map<string, QualityValue>();
  private debounceTimer: TimerHandle | null = null;
  private initialTimer: TimerHandle | null;
  private isClosed = false;
  /** Updates sent (for tests and metrics). */
  updatesSent = 0;

  constructor(opts: DynacastOptions) {
    this.opts = opts;
    this.pauseDelayMs = opts.pauseDelayMs ?? 5000;
    this.initialTimer = opts.clock.setTimeout(() => {
      this.initialTimer = null;
      this.update(true);
    }, opts.initialWaitMs ?? 10_000);
    this.initialTimer.unref?.();
  }

  /** A codec the track is published in (primary or backup); it starts wanted by nobody. */
  addCodec(mimeType: string): void {
    const mime = mimeType.toLowerCase();
    if (!this.wanted.has(mime)) this.wanted.set(mime, new Map());
  }

  /** The highest spatial layer `subscriberId` needs of the `mimeType` stream (NO_LAYER: none). */
  setSubscriberMaxSpatial(mimeType: string, subscriberId: string, spatial: number): void {
    if (this.isClosed) return;
    const mime = mimeType.toLowerCase();
    let subs = this.wanted.get(mime);
    if (subs === undefined) {
      subs = new Map();
      this.wanted.set(mime, subs);
    }
    const quality = spatial === NO_LAYER ? Quality.OFF : qualityForSpatial(spatial, this.opts.layersFor(mime));
    const before = subs.get(subscriberId);
    if (quality === Quality.OFF) subs.delete(subscriberId);
    else subs.set(subscriberId, quality);
    if (before !== subs.get(subscriberId) || this.initialTimer !== null) this.onWantedChanged();
  }

  /** The subscriber left every codec of this track. */
  removeSubscriber(subscriberId: string): void {
    let isChanged = false;
    for (const subs of this.wanted.values()) isChanged = subs.delete(subscriberId) || isChanged;
    if (isChanged) this.onWantedChanged();
  }

  /** The max quality per codec as currently wanted (not yet committed). */
  maxWanted(): Map<string, QualityValue> {
    const out = new Map<string, QualityValue>();
    for (const [mime, subs] of this.wanted) {
      let max: QualityValue = Quality.OFF;
      for (const q of subs.values()) if (max === Quality.OFF || q > max) max = q;
      out.set(mime, max);
    }
    return out;
  }

  /** Sends the wanted qualities again at once (the publisher renegotiated or unmuted). */
  forceUpdate(): void {
    this.update(true);
  }

  private onWantedChanged(): void {
    if (this.initialTimer !== null) {
      this.opts.clock.clearTimeout(this.initialTimer);
      this.initialTimer = null;
    }
    this.update(false);
  }

  private update(force: boolean): void {
    if (this.isClosed) return;
    const wanted = this.maxWanted();
    let isChanged = wanted.size !== this.committed.size;
    let isDowngradeOnly = !isChanged;
    for (const [mime, q] of wanted) {
      const c = this.committed.get(mime);
      if (c === undefined) {
        isChanged = true;
        isDowngradeOnly = false;
        continue;
      }
      if (c !== q) isChanged = true;
      const isUp = (c === Quality.OFF && q !== Quality.OFF) || (c !== Quality.OFF && q !== Quality.OFF && q > c);
      if (isUp) isDowngradeOnly = false;
    }
    if (!force) {
      if (!isChanged) {
        this.clearDebounce();
        return;
      }
      if (isDowngradeOnly && this.pauseDelayMs > 0) {
        if (this.debounceTimer === null) {
          this.debounceTimer = this.opts.clock.setTimeout(() => {
            this.debounceTimer = null;
            this.update(true);
          }, this.pauseDelayMs);
          this.debounceTimer.unref?.();
        }
        return;
      }
    }
    this.clearDebounce();
    this.committed = wanted;
    this.updatesSent++;
    this.opts.onUpdate(new Map(wanted));
  }

  private clearDebounce(): void {
    if (this.debounceTimer !== null) this.opts.clock.clearTimeout(this.debounceTimer);
    this.debounceTimer = null;
  }

  close(): void {
    this.isClosed = true;
    this.clearDebounce();
    if (this.initialTimer !== null) this.opts.clock.clearTimeout(this.initialTimer);
    this.initialTimer = null;
  }
}
