// Which media worker takes a participant whose room has no room left on its workers (or a new room): the least
// loaded one. Load is what each worker measures of itself and reports every second: the share of wall time its event
// loop was busy (performance.eventLoopUtilization in the worker thread: forwarding, SRTP, DTLS handshakes, timers).
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
}

/** Loads closer than this (a share of one core) are equal. */
export const LOAD_TIE = 0.1;
/** The least a participant is assumed to add to a worker's load until the worker reports. */
export const MIN_PARTICIPANT_LOAD = 0.005;

/** A worker's load as placement sees it: reported utilization plus the participants placed since. */
export function estimatedLoad(c: PlacementCandidate): number {
  const utilization = c.report?.loopUtilization ?? 0;
  const sessions = c.report?.sessions ?? 0;
  const perParticipant = Math.max(MIN_PARTICIPANT_LOAD, sessions > 0 ? utilization / sessions : 0);
  return utilization + c.placedSinceReport * perParticipant;
}

/** The index of the candidate to place on (the first of `candidates` when they are all equal). Needs one at least. */
export function leastLoadedWorker(candidates: readonly PlacementCandidate[]): number {
  if (candidates.length === 0) throw new Error('no media worker to place on');
  const loads = candidates.map(estimatedLoad);
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
