// Waiting out a drain: resolves when no participant is left on the node, or when the deadline passes.
// Polled on the injected clock (control plane, a few times a second).
import type { Clock, Logger } from '@atrium/webrtc';
import type { RoomManager } from '../rtc/room-manager.js';

/** LiveKit waits for participants without a limit (its deployments rely on the orchestrator's grace period). */
export const DEFAULT_DRAIN_TIMEOUT_MS = 30 * 60 * 1000;
const POLL_MS = 250;

export function participantCount(rooms: RoomManager): number {
  let n = 0;
  for (const room of rooms.listRooms()) if (!room.isClosed) n += room.participantCount;
  return n;
}

export type DrainOutcome = 'empty' | 'deadline';

export function waitUntilEmpty(opts: { rooms: RoomManager; clock: Clock; timeoutMs: number; logger: Logger; pollMs?: number }): Promise<DrainOutcome> {
  const { rooms, clock, logger } = opts;
  const startMs = clock.nowMs();
  const first = participantCount(rooms);
  if (first === 0) return Promise.resolve('empty');
  logger.info({ participants: first, rooms: rooms.roomCount, timeoutMs: opts.timeoutMs }, 'draining: waiting for participants to leave');
  return new Promise((resolve) => {
    const timer = clock.setInterval(() => {
      const left = participantCount(rooms);
      const elapsedMs = clock.nowMs() - startMs;
      if (left === 0 || elapsedMs >= opts.timeoutMs) {
        clock.clearInterval(timer);
        if (left > 0) logger.info({ participants: left, elapsedMs: Math.round(elapsedMs) }, 'draining: deadline passed');
        resolve(left === 0 ? 'empty' : 'deadline');
      }
    }, opts.pollMs ?? POLL_MS);
  });
}
