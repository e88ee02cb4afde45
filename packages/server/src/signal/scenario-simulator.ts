// SimulateScenario requests (livekit-client's room.simulateScenario, docs/scenarios.md): what the server does for each,
// as LiveKit's Room.onSimulateScenario does, plus the two resume traps (disconnect the signal on the next resume,
// before or after its messages) that the resume path asks about.
import { SignalResponse, SpeakersChanged, SpeakerInfo, DisconnectReason, LeaveRequest_Action, CandidateProtocol } from '@livekit/protocol';
import type { SimulateScenario } from '@livekit/protocol';
import type { Clock, Logger } from '@atrium/webrtc';
import type { Participant } from '../rtc/participant.js';
import type { IcePreferenceCache } from '../rtc/ice-preference-cache.js';

/** How long a "disconnect on resume" request waits for the resume it applies to (LiveKit: 5 s). */
export const SIMULATE_DISCONNECT_TIMEOUT_MS = 5_000;
/** Resumes refused without a message at most, per request (LiveKit: 3; then the resume goes through). */
export const MAX_SILENT_RESUME_CLOSES = 3;
/** A simulated speaker stays active at most this long, whatever the client asks (speaker_update is in seconds). */
export const MAX_SIMULATED_SPEAKER_SEC = 60;
/** Simulated speaker level (LiveKit's 0.9). */
const SIMULATED_SPEAKER_LEVEL = 0.9;
/** Pending resume traps kept at most (the oldest go first): a client cannot grow them without bound. */
const MAX_TRAPS = 10_000;

/** The room side a scenario needs: who to tell about a simulated speaker. */
export interface ScenarioRoom {
  readonly name: string;
  listParticipants(): Participant[];
}

/** What the resume path does with a trap: close at once (no message), close after the resume's messages, or nothing. */
export type ResumeTrap = 'close_before_messages' | 'close_after_messages' | undefined;

export class ScenarioSimulator {
  private readonly clock: Clock;
  private readonly icePreferences: IcePreferenceCache;
  /** disconnect_signal_on_resume: room+identity -> until when. */
  private readonly closeAfter = new Map<string, number>();
  /** disconnect_signal_on_resume_no_messages: room+identity -> until when, and resumes closed so far. */
  private readonly closeBefore = new Map<string, { untilMs: number; closed: number }>();

  constructor(opts: { clock: Clock; icePreferences: IcePreferenceCache }) {
    this.clock = opts.clock;
    this.icePreferences = opts.icePreferences;
  }

  /** Carries out one request from `p` (already checked to be the room's current participant). Never throws. */
  apply(room: ScenarioRoom, p: Participant, s: SimulateScenario, logger: Logger): void {
    const sc = s.scenario;
    switch (sc.case) {
      case 'speakerUpdate':
        this.simulateSpeaker(room, p, sc.value, logger);
        return;
      case 'nodeFailure':
      case 'migration':
        // The node "dies" under the participant: no Leave, the signal connection just closes. Its resume then finds no
        // participant and gets LeaveRequest{RECONNECT}: a full reconnect (LiveKit: Close(false, ..., true)).
        logger.info({ scenario: sc.case }, 'simulate: dropping the participant without a leave');
        p.close(sc.case === 'migration' ? DisconnectReason.MIGRATION : DisconnectReason.SERVER_SHUTDOWN);
        return;
      case 'serverLeave':
        logger.info('simulate: server leave (LeaveRequest DISCONNECT, SERVER_SHUTDOWN)');
        p.close(DisconnectReason.SERVER_SHUTDOWN, { sendLeave: true, action: LeaveRequest_Action.DISCONNECT });
        return;
      case 'leaveRequestFullReconnect':
        // LiveKit's server does not act on this one (checked 2026-08); the name and the Android SDK's use of it
        // (SERVER_LEAVE_FULL_RECONNECT) say: a server leave that asks for a full reconnect.
        logger.info('simulate: server leave asking for a full reconnect (LeaveRequest RECONNECT)');
        p.close(DisconnectReason.SERVER_SHUTDOWN, { sendLeave: true, action: LeaveRequest_Action.RECONNECT });
        return;
      case 'switchCandidateProtocol':
        if (sc.value === CandidateProtocol.TCP) {
          this.icePreferences.set(room.name, p.identity, 'tcp');
          logger.info('simulate: switch candidate protocol to TCP for the next sessions');
        } else if (sc.value === CandidateProtocol.UDP) {
          this.icePreferences.clear(room.name, p.identity);
          logger.info('simulate: switch candidate protocol back to UDP for the next sessions');
        } else {
          logger.info({ protocol: CandidateProtocol[sc.value] ?? sc.value }, 'simulate: candidate protocol not offered by this server (no TLS/TURN); ignored');
        }
        return;
      case 'subscriberBandwidth': {
        const bps = sc.value > 0n ? Number(sc.value) : 0;
        logger.info({ bps }, bps > 0 ? 'simulate: subscriber bandwidth capped' : 'simulate: subscriber bandwidth cap cleared');
        p.media.setSubscriberCapacityOverride?.(bps);
        return;
      }
      case 'disconnectSignalOnResume':
        logger.info('simulate: the next resume closes the signal connection after its messages');
        this.remember(this.closeAfter, keyOf(room.name, p.identity), this.clock.nowMs() + SIMULATE_DISCONNECT_TIMEOUT_MS);
        return;
      case 'disconnectSignalOnResumeNoMessages':
        logger.info('simulate: the next resumes close the signal connection before any message');
        this.remember(this.closeBefore, keyOf(room.name, p.identity), { untilMs: this.clock.nowMs() + SIMULATE_DISCONNECT_TIMEOUT_MS, closed: 0 });
        return;
      default:
        logger.info({ scenario: sc.case ?? 'none' }, 'simulate scenario not known to this server; ignored');
    }
  }

  /**
   * Asked by the resume path for `identity` in `room` (as LiveKit's ResumeParticipant): `close_before_messages` while a
   * no-messages request is fresh (at most MAX_SILENT_RESUME_CLOSES times), else `close_after_messages` once for a fresh
   * disconnect-on-resume request. Expired requests are dropped.
   */
  resumeTrap(roomName: string, identity: string): ResumeTrap {
    const key = keyOf(roomName, identity);
    const nowMs = this.clock.nowMs();
    const before = this.closeBefore.get(key);
    if (before !== undefined) {
      const isFresh = nowMs < before.untilMs;
      if (isFresh) before.closed++;
      if (!isFresh || before.closed >= MAX_SILENT_RESUME_CLOSES) this.closeBefore.delete(key);
      if (isFresh) return 'close_before_messages';
    }
    const afterUntil = this.closeAfter.get(key);
    if (afterUntil !== undefined) {
      this.closeAfter.delete(key);
      if (nowMs < afterUntil) return 'close_after_messages';
    }
    return undefined;
  }

  /** SpeakersChanged{p active at 0.9} to everyone in the room now, and {p inactive} `seconds` later (LiveKit's). */
  private simulateSpeaker(room: ScenarioRoom, p: Participant, seconds: number, logger: Logger): void {
    const sec = simulatedSpeakerSeconds(seconds);
    logger.info({ seconds: sec }, 'simulate: speaker update');
    const sid = p.sid;
    const tell = (active: boolean): void => {
      const msg = new SignalResponse({
        message: { case: 'speakersChanged', value: new SpeakersChanged({ speakers: [new SpeakerInfo({ sid, active, level: active ? SIMULATED_SPEAKER_LEVEL : 0 })] }) },
      });
      // As the room's speaker updates: only clients that understand SpeakersChanged (protocol 3 and later).
      for (const other of room.listParticipants()) if (other.protocol >= 3) other.send(msg);
    };
    tell(true);
    const timer = this.clock.setTimeout(() => tell(false), sec * 1000);
    timer.unref?.();
  }

  private remember<V>(map: Map<string, V>, key: string, value: V): void {
    map.delete(key);
    map.set(key, value);
    while (map.size > MAX_TRAPS) map.delete(map.keys().next().value as string);
  }
}

/** speaker_update's duration as used: whole seconds, 0 to MAX_SIMULATED_SPEAKER_SEC. */
export function simulatedSpeakerSeconds(value: number): number {
  return Number.isFinite(value) ? Math.min(Math.max(Math.floor(value), 0), MAX_SIMULATED_SPEAKER_SEC) : 0;
}

function keyOf(room: string, identity: string): string {
  return `${room.length}:${room}${identity}`;
}
