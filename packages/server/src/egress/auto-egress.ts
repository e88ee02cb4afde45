// Auto egress: a room's RoomEgress (CreateRoom's `egress`, or the token's roomConfig.egress for the join that creates the
// room), as LiveKit applies it: `tracks` records every track published in the room on its own (a track egress per
// track, the filepath template per track), `participant` records each participant (a participant egress), `room` a room
// composite for the room's life. Every egress started here is a normal one: listed, stopped and reported as usual.
// Failures to start (an unsupported codec, too many egresses) are logged, never thrown into the room.
import { DirectFileOutput, ParticipantEgressRequest, ParticipantInfo_Kind, RoomCompositeEgressRequest, TrackEgressRequest, TrackSource } from '@livekit/protocol';
import type { EgressInfo, ParticipantInfo, RoomEgress, Room as RoomInfo, TrackInfo } from '@livekit/protocol';
import type { Clock, Logger, TimerHandle } from '@atrium/webrtc';
import type { RoomEvents } from '../rtc/room-events.js';

/** The egress calls auto egress makes (EgressManager's). */
export interface AutoEgressTarget {
  startTrackEgress(req: TrackEgressRequest): EgressInfo;
  startParticipantEgress(req: ParticipantEgressRequest): EgressInfo;
  startRoomCompositeEgress?(req: RoomCompositeEgressRequest): EgressInfo;
}

export interface AutoEgressOptions {
  target: AutoEgressTarget;
  clock: Clock;
  logger: Logger;
  /**
   * A participant's egress starts this long after its first camera or microphone track, so a camera and microphone
   * published together are recorded together (ours records the tracks published when it starts). Default 1,000 ms.
   */
  participantSettleMs?: number;
}

interface RoomState {
  egress: RoomEgress;
  /** Participants (by sid) whose egress has started or is scheduled. */
  participants: Map<string, TimerHandle | undefined>;
}

const RECORDED_SOURCES = new Set([TrackSource.CAMERA, TrackSource.MICROPHONE]);

export class AutoEgress {
  private readonly opts: AutoEgressOptions;
  private readonly rooms = new Map<string, RoomState>();

  constructor(opts: AutoEgressOptions) {
    this.opts = opts;
  }

  /** Rooms with an auto egress configuration (tests). */
  get roomCount(): number {
    return this.rooms.size;
  }

  roomEvents(): RoomEvents {
    return {
      roomStarted: (room, config) => {
        const egress = config.egress;
        if (!egress || (!egress.room && !egress.participant && !egress.tracks)) return;
        this.rooms.set(room.name, { egress, participants: new Map() });
        if (egress.room) this.startRoomComposite(room, egress.room);
      },
      roomFinished: (room) => {
        const state = this.rooms.get(room.name);
        if (!state) return;
        for (const timer of state.participants.values()) if (timer) this.opts.clock.clearTimeout(timer);
        this.rooms.delete(room.name);
      },
      trackPublished: (room, participant, track) => {
        const state = this.rooms.get(room.name);
        if (!state || participant.kind === ParticipantInfo_Kind.EGRESS) return;
        if (state.egress.tracks) this.startTrack(room, track, state);
        if (state.egress.participant && RECORDED_SOURCES.has(track.source) && !state.participants.has(participant.sid)) {
          const timer = this.opts.clock.setTimeout(() => {
            state.participants.set(participant.sid, undefined);
            this.startParticipant(room, participant, state);
          }, this.opts.participantSettleMs ?? 1_000);
          timer.unref?.();
          state.participants.set(participant.sid, timer);
        }
      },
      participantLeft: (room, participant) => {
        const state = this.rooms.get(room.name);
        const timer = state?.participants.get(participant.sid);
        if (timer) this.opts.clock.clearTimeout(timer);
        state?.participants.delete(participant.sid);
      },
    };
  }

  private startRoomComposite(room: RoomInfo, template: RoomCompositeEgressRequest): void {
    const start = this.opts.target.startRoomCompositeEgress;
    if (!start) {
      this.opts.logger.warn({ room: room.name }, 'auto egress: room composite egress is not available; the room is not recorded');
      return;
    }
    const req = template.clone();
    req.roomName = room.name;
    this.attempt(room, 'room composite', () => start.call(this.opts.target, req));
  }

  private startTrack(room: RoomInfo, track: TrackInfo, state: RoomState): void {
    const auto = state.egress.tracks!;
    const file = new DirectFileOutput({ filepath: auto.filepath, disableManifest: auto.disableManifest });
    // the upload destination, when one is given, is the same oneof in both messages
    if (auto.output.case !== undefined) file.output = auto.output as DirectFileOutput['output'];
    const req = new TrackEgressRequest({ roomName: room.name, trackId: track.sid, output: { case: 'file', value: file } });
    this.attempt(room, `track ${track.sid}`, () => this.opts.target.startTrackEgress(req));
  }

  private startParticipant(room: RoomInfo, participant: ParticipantInfo, state: RoomState): void {
    const auto = state.egress.participant!;
    const req = new ParticipantEgressRequest({
      roomName: room.name,
      identity: participant.identity,
      fileOutputs: auto.fileOutputs.map((f) => f.clone()),
      segmentOutputs: auto.segmentOutputs.map((s) => s.clone()),
    });
    if (auto.options.case !== undefined) req.options = auto.options as ParticipantEgressRequest['options'];
    this.attempt(room, `participant ${participant.identity}`, () => this.opts.target.startParticipantEgress(req));
  }

  private attempt(room: RoomInfo, what: string, start: () => EgressInfo): void {
    try {
      const info = start();
      this.opts.logger.info({ room: room.name, egressId: info.egressId }, `auto egress of ${what} started`);
    } catch (err) {
      this.opts.logger.warn({ room: room.name, err: (err as Error).message }, `auto egress of ${what} could not start`);
    }
  }
}
