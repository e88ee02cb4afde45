// Active speakers of a room, as LiveKit reports them: every update interval, each participant's loudest
// speaking microphone level (quantized to eighths); only changes go out as SignalResponse.speakersChanged,
// speakers who stopped with active=false, each participant told about itself and whom it subscribes to.
import { SignalResponse, SpeakersChanged, SpeakerInfo, TrackType, TrackSource, ParticipantInfo_State } from '@livekit/protocol';
import type { Clock, Logger, TimerHandle } from '@atrium/webrtc';
import type { PublishedTrack } from './participant-host.js';
import type { StreamQualitySample } from './connection-quality.js';

/** The part of a Participant that the room's observers (speakers, connection quality) read. */
export interface ObservedParticipant {
  readonly sid: string;
  readonly state: ParticipantInfo_State;
  readonly isHidden: boolean;
  readonly protocol: number;
  readonly tracks: readonly PublishedTrack[];
  /** Track sids this participant subscribes to. */
  readonly subscriptions: ReadonlySet<string>;
  readonly media: { subscriptionQuality?(): StreamQualitySample[] };
  send(msg: SignalResponse): void;
}

/** LiveKit's default audio update_interval. */
export const SPEAKER_UPDATE_INTERVAL_MS = 400;
const LEVEL_QUANTIZATION = 8;

/** Whether `p` subscribes to any track of `publisher`. */
export function isSubscribedTo(p: ObservedParticipant, publisher: ObservedParticipant): boolean {
  for (const t of publisher.tracks) if (p.subscriptions.has(t.info.sid)) return true;
  return false;
}

/** Loudest speaking level (0..1, 0 = not speaking) over a participant's unmuted microphone tracks. */
export function participantSpeakingLevel(p: ObservedParticipant, nowMs: number): number {
  let level = 0;
  for (const t of p.tracks) {
    if (t.info.type !== TrackType.AUDIO || t.info.source !== TrackSource.MICROPHONE || t.info.muted) continue;
    const l = t.source.speakingLevel?.(nowMs) ?? 0;
    if (l > level) level = l;
  }
  return level;
}

export class SpeakerDetector {
  private readonly clock: Clock;
  private readonly participants: () => Iterable<ObservedParticipant>;
  private readonly logger: Logger | undefined;
  private readonly intervalMs: number;
  private timer: TimerHandle | undefined;
  /** Quantized level of each participant reported as speaking. */
  private last = new Map<string, number>();

  constructor(opts: { clock: Clock; participants: () => Iterable<ObservedParticipant>; updateIntervalMs?: number; logger?: Logger }) {
    this.clock = opts.clock;
    this.participants = opts.participants;
    this.logger = opts.logger;
    this.intervalMs = opts.updateIntervalMs ?? SPEAKER_UPDATE_INTERVAL_MS;
  }

  start(): void {
    if (this.timer !== undefined) return;
    this.timer = this.clock.setInterval(() => this.tickSafely(), this.intervalMs);
    this.timer.unref?.();
  }

  close(): void {
    if (this.timer !== undefined) this.clock.clearInterval(this.timer);
    this.timer = undefined;
    this.last.clear();
  }

  private tickSafely(): void {
    try {
      this.tick();
    } catch (err) {
      this.logger?.error({ err }, 'speaker update failed');
    }
  }

  /** One update: computes the speakers and sends the changes (public for tests). */
  tick(): void {
    const nowMs = this.clock.nowMs();
    const all = [...this.participants()];
    const current = new Map<string, number>();
    for (const p of all) {
      if (p.isHidden || p.state === ParticipantInfo_State.DISCONNECTED) continue;
      const level = participantSpeakingLevel(p, nowMs);
      if (level > 0) current.set(p.sid, Math.ceil(level * LEVEL_QUANTIZATION) / LEVEL_QUANTIZATION);
    }
    const changed: SpeakerInfo[] = [];
    for (const [sid, level] of current) {
      if (this.last.get(sid) !== level) changed.push(new SpeakerInfo({ sid, level, active: true }));
    }
    for (const sid of this.last.keys()) {
      if (!current.has(sid)) changed.push(new SpeakerInfo({ sid, level: 0, active: false }));
    }
    this.last = current;
    if (changed.length === 0) return;
    changed.sort((a, b) => b.level - a.level);
    const bySid = new Map(all.map((p) => [p.sid, p]));
    for (const p of all) {
      if (p.state === ParticipantInfo_State.DISCONNECTED) continue;
      const scoped = changed.filter((s) => {
        if (s.sid === p.sid) return true;
        const speaker = bySid.get(s.sid);
        return speaker === undefined || isSubscribedTo(p, speaker); // a speaker who left: tell everyone it stopped
      });
      if (scoped.length === 0) continue;
      p.send(new SignalResponse({ message: { case: 'speakersChanged', value: new SpeakersChanged({ speakers: scoped }) } }));
    }
  }
}
