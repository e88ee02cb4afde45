// Which media worker takes a participant. Its room's worker while that one holds fewer than the configured number of
// the room's participants and is less than ROOM_KEEP_LOAD busy by its steady (smoothed) utilization (roomWorker): a
// room on one worker crosses no thread, and a 25-person meeting costs 13% less CPU per packet whole than split 16 + 9.
// Otherwise (and for a new room) the least loaded one. Load is what each worker measures of itself and reports every
// second: the share of wall time its event loop was busy (performance.eventLoopUtilization in the worker thread: forwarding, SRTP, DTLS handshakes, timers).
// Participants placed since that report count too, at the worker's own cost per participant (its utilization over the
// sessions it reported, at least MIN_PARTICIPANT_LOAD), so that a burst of joins inside one report interval spreads
// instead of all going to the worker that was idlest a second ago. Loads within LOAD_TIE of the lowest are equal:
// then the fewest participants, then the fewest forwarded packets/s (idle workers stay balanced by count).

import type { WorkerStatsMessage } from './protocol.js';

/** What placement knows of one worker. */
export interface PlacementCandidate {
  index: number;
  /** Participants placed on it and not closed. */
  participants: number;
  /** Participants placed on it since its last report. */
  placedSinceReport: number;
  /** From its last report (absent before the first one). */
  report?: Pick<WorkerStatsMessage, 'loopUtilization' | 'sessions' | 'packetsPerSecond'> | undefined;
  /** Its utilization smoothed over its reports (smoothedUtilization), which roomWorker weighs instead of the last one. */
  steadyUtilization?: number;
}

/** Loads closer than this (a share of one core) are equal. */
export const LOAD_TIE = 0.1;
/** The least a participant is assumed to add to a worker's load until the worker reports. */
export const MIN_PARTICIPANT_LOAD = 0.005;
/**
 * A worker holding a room takes more of that room's participants while its estimated load is under this (a share of
 * one core): past it the room spans workers, leaving the worker headroom for the room's growth (in a meeting every
 * joiner adds a stream to everyone already there).
 */
export const ROOM_KEEP_LOAD = 0.5;

/** A worker's load as placement sees it: `utilization` (the reported one by default) plus the participants placed since. */
export function estimatedLoad(c: PlacementCandidate, utilization = c.report?.loopUtilization ?? 0): number {
  const sessions = c.report?.sessions ?? 0;
  const perParticipant = Math.max(MIN_PARTICIPANT_LOAD, sessions > 0 ? utilization / sessions : 0);
  return utilization + c.placedSinceReport * perParticipant;
}

/** The index of the candidate to place on (the first of `candidates` when they are all equal). Needs one at least. */
export function leastLoadedWorker(candidates: readonly PlacementCandidate[]): number {
  if (candidates.length === 0) throw new Error('no media worker to place on');
  const loads = candidates.map((c) => estimatedLoad(c));
  const lowest = Math.min(...loads);
  let best: PlacementCandidate | undefined;
  for (let i = 0; i < candidates.length; i++) {
    if (loads[i]! > lowest + LOAD_TIE) continue;
    const c = candidates[i]!;
    if (best === undefined || c.participants < best.participants
      || (c.participants === best.participants && (c.report?.packetsPerSecond ?? 0) < (best.report?.packetsPerSecond ?? 0))) {
      best = c;
    }
  }
  return best!.index;
}

/**
 * The worker that takes the next participant of a room already on `roomWorkers` (worker index -> the room's
 * participants there, in the order the room reached them): the first with fewer than `perWorker` of them whose
 * estimated load is under ROOM_KEEP_LOAD; -1 when none (then leastLoadedWorker decides, and the room spans).
 * `candidates` are the workers that may take participants now.
 */
export function roomWorker(roomWorkers: Iterable<readonly [number, number]>, candidates: readonly PlacementCandidate[], perWorker: number): number {
  for (const [index, count] of roomWorkers) {
    if (count >= perWorker) continue;
    const c = candidates.find((w) => w.index === index);
    if (c !== undefined && estimatedLoad(c, c.steadyUtilization ?? c.report?.loopUtilization ?? 0) < ROOM_KEEP_LOAD) return index;
  }
  return -1;
}

/** Weight of a new report in a worker's steady utilization (a time constant of about 3.5 reports, i.e. seconds). */
export const STEADY_WEIGHT = 0.25;

/**
 * A worker's utilization smoothed over its reports, from 0 at its start: a burst (a room's members joining at once:
 * ICE, DTLS handshakes, first compilations) moves it by a quarter of its height; a load that lasts reaches it within
 * a few seconds. roomWorker weighs this, so a burst does not split a room.
 */
export function smoothedUtilization(previous: number, reported: number): number {
  return previous + STEADY_WEIGHT * (reported - previous);
}
