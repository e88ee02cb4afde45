// One subscriber's stream allocation over time (LiveKit's streamallocator is the model for the behaviour): each tick
// the pure layer allocator says what fits the bandwidth estimate now, and this turns it into moves that a viewer
// tolerates and a congestion controller can confirm:
// - down at once: a layer that no longer fits is dropped in the same tick (congestion must clear quickly);
// - up one step at a time: one track, one layer per tick, at most every `upgradeIntervalMs`, highest priority first;
// - probe before an upgrade the estimate does not cover yet: when a wanted layer does not fit, ask the transport to
//   probe (padding) for the rate the next step needs, at most every `probeIntervalMs`, backing off (to at most
//   `maxProbeIntervalMs`) after probes that did not raise the estimate; the step is taken when the estimate has grown;
// - a track not even its lowest layer fits is paused (allow_pause) and resumed at its lowest layer when it fits again;
// - an upgrade undone within `failedUpgradeWindowMs` (the estimate only just covered it) doubles the wait before the
//   next one, up to `maxUpgradeHoldMs`, so an estimate hovering at a layer's rate does not flip the picture between two
//   sizes every second; the wait is back to one interval once `stableResetMs` passed without a downgrade.
import { allocateLayers, allocationOrder, bestLayer, costBps, isActive, temporalAt } from './layer-allocator.js';
import type { AllocationTrack, LayerTarget } from './layer-allocator.js';
import { NO_LAYER } from './video-layers.js';

export interface StreamAllocatorOptions {
  allowPause: boolean;
  /** Least time between two upgrades (default 1000 ms): each step's effect shows in the estimate before the next. */
  upgradeIntervalMs?: number;
  /** Least time between two probes (default 3000 ms), doubled after each probe that did not help, up to `maxProbeIntervalMs`. */
  probeIntervalMs?: number;
  /**
   * Longest wait between probes after failures (default 6000 ms): also how late a recovered link is noticed, since an
   * SFU's estimate cannot grow past what it sends (application-limited) without a probe.
   */
  maxProbeIntervalMs?: number;
  /** How long a probe's effect is waited for before it counts as failed (default 2500 ms). */
  probeTimeoutMs?: number;
  /** A probe aims this much above the rate the next step needs (default 1.15). */
  probeOvershoot?: number;
  /** A downgrade this soon after an upgrade (default 2000 ms) means the upgrade did not hold. */
  failedUpgradeWindowMs?: number;
  /** Longest wait before upgrading again after upgrades that did not hold (default 8000 ms). */
  maxUpgradeHoldMs?: number;
  /** Time without a downgrade after which the wait is back to `upgradeIntervalMs` (default 10000 ms). */
  stableResetMs?: number;
}

/** One video track as the allocator sees it this tick. */
export interface StreamTrack extends AllocationTrack {
  /** Spatial layer targeted now (NO_LAYER: paused, stopped, or not allocated yet). */
  current: number;
  /** Never allocated before: takes what fits at once (a new subscription starts where it fits). */
  isNew: boolean;
}

export interface StreamDecision {
  targets: LayerTarget[];
  /** What the targets cost at their measured bitrates (video only). */
  allocatedBps: number;
  /** Some wanted layer is held back by the bandwidth. */
  isDeficient: boolean;
  /** A probe to ask for now: the total rate (media + padding) to try; 0 for none. */
  probeBps: number;
}

export class StreamAllocator {
  private readonly allowPause: boolean;
  private readonly upgradeIntervalMs: number;
  private readonly probeIntervalMs: number;
  private readonly maxProbeIntervalMs: number;
  private readonly probeTimeoutMs: number;
  private readonly probeOvershoot: number;
  private readonly failedUpgradeWindowMs: number;
  private readonly maxUpgradeHoldMs: number;
  private readonly stableResetMs: number;
  private lastUpgradeMs = -Infinity;
  private lastDowngradeMs = -Infinity;
  /** Least time between a downgrade and the next upgrade: upgradeIntervalMs, doubled after each upgrade undone. */
  private upgradeHoldMs: number;
  private nextProbeMs = -Infinity;
  private probeBackoff = 1;
  /** The probe in flight: the estimate it should reach and when it is given up. */
  private probeGoalBps = 0;
  private probeDeadlineMs = 0;
  probesRequested = 0;
  probesSucceeded = 0;
  probesFailed = 0;
  upgrades = 0;
  downgrades = 0;
  pauses = 0;

  constructor(opts: StreamAllocatorOptions) {
    this.allowPause = opts.allowPause;
    this.upgradeIntervalMs = opts.upgradeIntervalMs ?? 1000;
    this.probeIntervalMs = opts.probeIntervalMs ?? 3000;
    this.maxProbeIntervalMs = opts.maxProbeIntervalMs ?? 6000;
    this.probeTimeoutMs = opts.probeTimeoutMs ?? 2500;
    this.probeOvershoot = opts.probeOvershoot ?? 1.15;
    this.failedUpgradeWindowMs = opts.failedUpgradeWindowMs ?? 2000;
    this.maxUpgradeHoldMs = opts.maxUpgradeHoldMs ?? 8000;
    this.stableResetMs = opts.stableResetMs ?? 10_000;
    this.upgradeHoldMs = this.upgradeIntervalMs;
  }

  /** Congestion: a probe in flight is abandoned (the transport stops it) and the next one waits. */
  onCongestion(nowMs: number): void {
    if (this.probeGoalBps > 0) this.probeFailed(nowMs);
  }

  /**
   * Targets for this tick. `estimateBps` is the transport's estimate (Infinity: no limit), `audioBps` what the
   * subscriber's audio takes of it now.
   */
  decide(tracks: readonly StreamTrack[], estimateBps: number, audioBps: number, nowMs: number): StreamDecision {
    const best = tracks.map(bestLayer);
    if (estimateBps === Infinity) {
      return { targets: best, allocatedBps: sumCost(tracks, best), isDeficient: false, probeBps: 0 };
    }
    const budget = Math.max(0, estimateBps - audioBps);
    const fit: LayerTarget[] = [];
    allocateLayers(tracks, budget, fit, { allowPause: this.allowPause });
    if (this.probeGoalBps > 0) {
      if (estimateBps >= this.probeGoalBps) this.probeSucceeded(nowMs);
      else if (nowMs >= this.probeDeadlineMs) this.probeFailed(nowMs);
    }
    let isDowngrade = false;
    const targets: LayerTarget[] = tracks.map((t, i) => {
      const f = fit[i]!;
      if (t.isNew || f.spatial === t.current) return f;
      // The layer held no longer flows (the publisher stopped it): move now, there is nothing to hold.
      if (t.current !== NO_LAYER && !isActive(t.layers, t.current)) return f;
      if (f.spatial < t.current) {
        // Down (or paused) at once.
        this.downgrades++;
        if (f.spatial === NO_LAYER) this.pauses++;
        isDowngrade = true;
        return f;
      }
      return { spatial: t.current, temporal: temporalAt(t, t.current) };
    });
    if (isDowngrade) {
      // The last upgrade did not hold: wait longer before the next one.
      if (nowMs - this.lastUpgradeMs < this.failedUpgradeWindowMs) this.upgradeHoldMs = Math.min(this.upgradeHoldMs * 2, this.maxUpgradeHoldMs);
      this.lastDowngradeMs = nowMs;
    } else if (nowMs - this.lastDowngradeMs >= this.stableResetMs) {
      this.upgradeHoldMs = this.upgradeIntervalMs;
    }
    // Up: one step of one track, by priority, when the estimate covers it, the last step has settled, and the hold
    // after a downgrade is over.
    if (nowMs - this.lastUpgradeMs >= this.upgradeIntervalMs && nowMs - this.lastDowngradeMs >= this.upgradeHoldMs) {
      for (const i of allocationOrder(tracks)) {
        const t = tracks[i]!;
        const want = fit[i]!.spatial;
        const cur = targets[i]!.spatial;
        if (want === NO_LAYER || want <= cur) continue;
        // From a pause: resume at the lowest layer that fits; else the next flowing layer up.
        let next = cur === NO_LAYER ? lowestFlowing(t) : cur + 1;
        while (next < want && !isActive(t.layers, next)) next++;
        if (next === NO_LAYER || next > want) continue;
        targets[i] = { spatial: next, temporal: temporalAt(t, next) };
        this.lastUpgradeMs = nowMs;
        this.upgrades++;
        break;
      }
    }
    const allocatedBps = sumCost(tracks, targets);
    let isDeficient = false;
    let probeBps = 0;
    for (const i of allocationOrder(tracks)) {
      const t = tracks[i]!;
      const cur = targets[i]!.spatial;
      if (best[i]!.spatial === NO_LAYER || cur >= best[i]!.spatial) continue;
      isDeficient = true;
      // Only what the estimate does not already cover needs a probe (a step waiting for its interval does not).
      if (fit[i]!.spatial > cur || probeBps > 0 || this.probeGoalBps > 0 || nowMs < this.nextProbeMs) continue;
      let next = cur === NO_LAYER ? lowestFlowing(t) : cur + 1;
      while (next < best[i]!.spatial && !isActive(t.layers, next)) next++;
      const extra = costBps(t, next) - (cur === NO_LAYER ? 0 : costBps(t, cur));
      if (extra <= 0) continue;
      probeBps = Math.round((allocatedBps + audioBps + extra) * this.probeOvershoot);
    }
    if (probeBps > 0) {
      this.probesRequested++;
      this.probeGoalBps = probeBps / this.probeOvershoot;
      this.probeDeadlineMs = nowMs + this.probeTimeoutMs;
    }
    return { targets, allocatedBps, isDeficient, probeBps };
  }

  private probeSucceeded(nowMs: number): void {
    this.probesSucceeded++;
    this.probeGoalBps = 0;
    this.probeBackoff = 1;
    // The link took it: the next step may probe as soon as this one is taken (a climb is one probe per layer).
    this.nextProbeMs = nowMs + this.upgradeIntervalMs;
  }

  private probeFailed(nowMs: number): void {
    this.probesFailed++;
    this.probeGoalBps = 0;
    this.probeBackoff = Math.min(this.probeBackoff * 2, 10);
    this.nextProbeMs = nowMs + Math.min(this.probeIntervalMs * this.probeBackoff, this.maxProbeIntervalMs);
  }
}

function lowestFlowing(t: AllocationTrack): number {
  for (let s = 0; s < t.layers.bitrateBps.length; s++) if (isActive(t.layers, s)) return s;
  return NO_LAYER;
}

function sumCost(tracks: readonly AllocationTrack[], targets: readonly LayerTarget[]): number {
  let sum = 0;
  for (let i = 0; i < tracks.length; i++) sum += costBps(tracks[i]!, targets[i]!.spatial);
  return sum;
}
