// Periodic ConnectionQualityUpdate of a room, as LiveKit sends it: every 5 s each ACTIVE participant is scored
// (the worst of its published and subscribed streams); when anyone is new or changed quality, every ACTIVE
// participant gets its own quality plus that of the participants it subscribes to.
import { ConnectionQuality, ConnectionQualityInfo, ConnectionQualityUpdate, ParticipantInfo_State, SignalResponse } from '@livekit/protocol';
import type { Clock, Logger, TimerHandle } from '@atrium/webrtc';
import { StreamQualityScorer, worstQuality } from './connection-quality.js';
import type { StreamQualitySample } from './connection-quality.js';
import { isSubscribedTo } from './speaker-detector.js';
import type { ObservedParticipant } from './speaker-detector.js';

/** LiveKit's connection quality update interval. */
export const QUALITY_UPDATE_INTERVAL_MS = 5000;
/** Clients below this protocol do not know LOST; they get POOR instead. */
const PROTOCOL_WITH_LOST = 10;

/** Every stream of a participant: its published tracks (what we receive) and its subscriptions (what we send). */
export function participantQualitySamples(p: ObservedParticipant): StreamQualitySample[] {
  const out: StreamQualitySample[] = [];
  for (const t of p.tracks) {
    const s = t.source.receiveQuality?.();
    if (s === undefined) continue;
    out.push({ ...s, key: `pub:${t.info.sid}`, isMuted: s.isMuted || t.info.muted });
  }
  for (const s of p.media.subscriptionQuality?.() ?? []) out.push(s);
  return out;
}

export class ConnectionQualityMonitor {
  private readonly clock: Clock;
  private readonly participants: () => Iterable<ObservedParticipant>;
  private readonly logger: Logger | undefined;
  private readonly intervalMs: number;
  private timer: TimerHandle | undefined;
  private readonly scorers = new Map<string, Map<string, StreamQualityScorer>>();
  private lastQuality = new Map<string, ConnectionQuality>();

  constructor(opts: { clock: Clock; participants: () => Iterable<ObservedParticipant>; updateIntervalMs?: number; logger?: Logger }) {
    this.clock = opts.clock;
    this.participants = opts.participants;
    this.logger = opts.logger;
    this.intervalMs = opts.updateIntervalMs ?? QUALITY_UPDATE_INTERVAL_MS;
  }

  start(): void {
    if (this.timer !== undefined) return;
    this.timer = this.clock.setInterval(() => {
      try {
        this.tick();
      } catch (err) {
        this.logger?.error({ err }, 'connection quality update failed');
      }
    }, this.intervalMs);
    this.timer.unref?.();
  }

  close(): void {
    if (this.timer !== undefined) this.clock.clearInterval(this.timer);
    this.timer = undefined;
    this.scorers.clear();
    this.lastQuality.clear();
  }

  /** One update: scores every ACTIVE participant and sends the update when something changed (public for tests). */
  tick(): void {
    const nowMs = this.clock.nowMs();
    const active = [...this.participants()].filter((p) => p.state === ParticipantInfo_State.ACTIVE);
    const infos = new Map<string, ConnectionQualityInfo>();
    for (const p of active) {
      let byKey = this.scorers.get(p.sid);
      if (byKey === undefined) this.scorers.set(p.sid, (byKey = new Map()));
      const seen = new Set<string>();
      for (const s of participantQualitySamples(p)) {
        seen.add(s.key);
        let scorer = byKey.get(s.key);
        if (scorer === undefined) byKey.set(s.key, (scorer = new StreamQualityScorer()));
        scorer.update(s, nowMs);
      }
      for (const key of [...byKey.keys()]) if (!seen.has(key)) byKey.delete(key);
      const { quality, mos } = worstQuality(byKey.values());
      infos.set(p.sid, new ConnectionQualityInfo({ participantSid: p.sid, quality, score: mos }));
    }
    for (const sid of [...this.scorers.keys()]) if (!infos.has(sid)) this.scorers.delete(sid);
    let isChanged = false;
    for (const [sid, info] of infos) if (this.lastQuality.get(sid) !== info.quality) isChanged = true;
    this.lastQuality = new Map([...infos].map(([sid, info]) => [sid, info.quality]));
    if (!isChanged) return;
    for (const p of active) {
      const updates: ConnectionQualityInfo[] = [];
      for (const q of active) {
        const info = infos.get(q.sid);
        if (info === undefined || (q !== p && !isSubscribedTo(p, q))) continue;
        const copy = info.clone();
        if (copy.quality === ConnectionQuality.LOST && p.protocol < PROTOCOL_WITH_LOST) copy.quality = ConnectionQuality.POOR;
        updates.push(copy);
      }
      if (updates.length === 0) continue;
      p.send(new SignalResponse({ message: { case: 'connectionQuality', value: new ConnectionQualityUpdate({ updates }) } }));
    }
  }
}
