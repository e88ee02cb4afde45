// The candidate protocol a participant asked for with SimulateScenario switchCandidateProtocol (livekit-client's
// simulateScenario('force-tcp')), remembered per room and identity so that the client's next session (it reconnects
// right after asking) offers only candidates of that protocol, as LiveKit keeps an ICE config per participant.
import type { Clock } from '@atrium/webrtc';

export type CandidateProtocolPreference = 'tcp';

/** How long a preference applies to new sessions of the same identity. */
export const ICE_PREFERENCE_TTL_MS = 5 * 60_000;
/** Entries kept at most (the oldest go first): a client cannot grow it without bound. */
const MAX_ENTRIES = 10_000;

export class IcePreferenceCache {
  private readonly entries = new Map<string, { protocol: CandidateProtocolPreference; untilMs: number }>();
  private readonly clock: Clock;
  private readonly ttlMs: number;

  constructor(opts: { clock: Clock; ttlMs?: number }) {
    this.clock = opts.clock;
    this.ttlMs = opts.ttlMs ?? ICE_PREFERENCE_TTL_MS;
  }

  set(room: string, identity: string, protocol: CandidateProtocolPreference): void {
    const key = keyOf(room, identity);
    this.entries.delete(key);
    this.entries.set(key, { protocol, untilMs: this.clock.nowMs() + this.ttlMs });
    while (this.entries.size > MAX_ENTRIES) {
      const oldest = this.entries.keys().next().value as string;
      this.entries.delete(oldest);
    }
  }

  /** Back to the default (UDP and TCP candidates) for the identity's next sessions. */
  clear(room: string, identity: string): void {
    this.entries.delete(keyOf(room, identity));
  }

  get(room: string, identity: string): CandidateProtocolPreference | undefined {
    const key = keyOf(room, identity);
    const e = this.entries.get(key);
    if (e === undefined) return undefined;
    if (this.clock.nowMs() >= e.untilMs) {
      this.entries.delete(key);
      return undefined;
    }
    return e.protocol;
  }

  get size(): number {
    return this.entries.size;
  }
}

function keyOf(room: string, identity: string): string {
  return `${room.length}:${room}${identity}`;
}
