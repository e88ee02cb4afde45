// Turns what a subscriber asked for and what the publisher sends into the layer each of its video DownTracks should
// forward. Pure (tables in layer-allocator.test.ts). Without a bandwidth limit every track gets the highest flowing
// layer within its request; with one, the budget is spent in two phases as mediasoup does: every wanted track starts at
// its lowest flowing layer, then tracks are raised one layer at a time, by priority, while the budget lasts.
import type { SourceLayers } from './down-track-source.js';
import { MAX_SPATIAL, NO_LAYER } from './video-layers.js';

/** One subscribed video track's request and its source's layers. */
export interface AllocationTrack {
  /** The subscriber does not want it now (disabled, hidden). */
  isDisabled: boolean;
  /** Highest spatial layer wanted (from the requested quality or size); NO_LAYER = none. */
  maxSpatial: number;
  /** Highest temporal layer wanted (from the requested frame rate; MAX when unrestricted). */
  maxTemporal: number;
  /** Higher goes first when bandwidth is short (UpdateTrackSettings.priority; 0 default). */
  priority: number;
  /** A screen share goes before cameras of the same priority (its text is unreadable when small). */
  isScreenShare?: boolean;
  /** Rendered size the subscriber asked for (width x height; 0 unknown): larger tiles go before smaller ones. */
  requestedPixels?: number;
  layers: SourceLayers;
}

/**
 * Who gets bandwidth first: the subscriber's priority, then screen shares, then larger tiles, then the order given
 * (subscription order), as LiveKit's allocator sorts its tracks.
 */
export function allocationOrder(tracks: readonly AllocationTrack[]): number[] {
  return tracks
    .map((_, i) => i)
    .sort(
      (a, b) =>
        tracks[b]!.priority - tracks[a]!.priority ||
        Number(tracks[b]!.isScreenShare ?? false) - Number(tracks[a]!.isScreenShare ?? false) ||
        (tracks[b]!.requestedPixels ?? 0) - (tracks[a]!.requestedPixels ?? 0) ||
        a - b,
    );
}

export interface LayerTarget {
  spatial: number;
  temporal: number;
}

export function isActive(layers: SourceLayers, spatial: number): boolean {
  return (layers.activeSpatialMask & (1 << spatial)) !== 0;
}

/** Temporal layer to forward at `spatial`: the wanted one, capped by what the publisher sends there. */
export function temporalAt(track: AllocationTrack, spatial: number): number {
  const seen = track.layers.maxTemporal[spatial] ?? -1;
  return Math.max(0, Math.min(track.maxTemporal, seen < 0 ? track.maxTemporal : seen));
}

/**
 * The best layer for one track with no bandwidth limit: the highest flowing spatial layer at or below the wanted one;
 * when nothing at or below flows, the lowest flowing layer above it (better a larger picture than none: a publisher
 * whose low layers are paused). NO_LAYER when disabled, nothing is wanted, or nothing flows.
 */
export function bestLayer(track: AllocationTrack): LayerTarget {
  if (track.isDisabled || track.maxSpatial === NO_LAYER) return { spatial: NO_LAYER, temporal: NO_LAYER };
  const want = Math.min(track.maxSpatial, MAX_SPATIAL);
  for (let s = want; s >= 0; s--) {
    if (isActive(track.layers, s)) return { spatial: s, temporal: temporalAt(track, s) };
  }
  for (let s = want + 1; s <= MAX_SPATIAL; s++) {
    if (isActive(track.layers, s)) return { spatial: s, temporal: temporalAt(track, s) };
  }
  return { spatial: NO_LAYER, temporal: NO_LAYER };
}

/** The lowest flowing layer a wanted track can be given (the overshoot rule of bestLayer when nothing lower flows). */
export function lowestLayer(track: AllocationTrack, best: LayerTarget): number {
  if (best.spatial === NO_LAYER) return NO_LAYER;
  for (let s = 0; s <= best.spatial; s++) if (isActive(track.layers, s)) return s;
  return best.spatial;
}

/** Bitrate of a layer as measured (an SVC layer includes the ones below it). */
export function costBps(track: AllocationTrack, spatial: number): number {
  if (spatial === NO_LAYER) return 0;
  const rates = track.layers.bitrateBps;
  if (!track.layers.isSvc) return rates[spatial] ?? 0;
  let sum = 0;
  for (let s = 0; s <= spatial; s++) sum += rates[s] ?? 0;
  return sum;
}

/**
 * Targets for every track within `budgetBps` (Infinity: no limit). Writes `out[i]` for `tracks[i]`. A track that does not
 * fit even at its lowest layer is paused (NO_LAYER), lowest priority first, when `allowPause`; otherwise (LiveKit's
 * default, `rtc.congestion_control.allow_pause: false`) it keeps its lowest layer over the budget.
 */
export function allocateLayers(
  tracks: readonly AllocationTrack[],
  budgetBps: number,
  out: LayerTarget[],
  opts: { allowPause?: boolean } = {},
): void {
  const allowPause = opts.allowPause ?? true;
  const best = tracks.map(bestLayer);
  if (budgetBps === Infinity) {
    for (let i = 0; i < tracks.length; i++) out[i] = best[i]!;
    return;
  }
  // Phase 1: every wanted track at its lowest flowing layer, in priority order, while the budget allows.
  const order = allocationOrder(tracks);
  const chosen: number[] = tracks.map(() => NO_LAYER);
  let spent = 0;
  for (const i of order) {
    const low = lowestLayer(tracks[i]!, best[i]!);
    if (low === NO_LAYER) continue;
    const cost = costBps(tracks[i]!, low);
    if (spent + cost > budgetBps && allowPause) continue;
    chosen[i] = low;
    spent += cost;
  }
  // Phase 2: raise one flowing layer at a time, round-robin by priority, until nothing more fits.
  let isRaised = true;
  while (isRaised) {
    isRaised = false;
    for (const i of order) {
      const t = tracks[i]!;
      const cur = chosen[i]!;
      if (cur === NO_LAYER || cur >= best[i]!.spatial) continue;
      let next = cur + 1;
      while (next < best[i]!.spatial && !isActive(t.layers, next)) next++;
      const extra = costBps(t, next) - costBps(t, cur);
      if (spent + extra > budgetBps) continue;
      chosen[i] = next;
      spent += extra;
      isRaised = true;
    }
  }
  for (let i = 0; i < tracks.length; i++) {
    const s = chosen[i]!;
    out[i] = s === NO_LAYER ? { spatial: NO_LAYER, temporal: NO_LAYER } : { spatial: s, temporal: temporalAt(tracks[i]!, s) };
  }
}
