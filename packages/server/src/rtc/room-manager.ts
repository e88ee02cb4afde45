// The rooms of this node, by name: created on the first join (or by CreateRoom when room.auto_create is off),
// removed when they close. Applies the join rules of join-admission.ts.
import { newRoomSid } from '@atrium/protocol';
import { DisconnectReason } from '@livekit/protocol';
import type { LeaveRequest_Action } from '@livekit/protocol';
import type { Logger, Clock } from '@atrium/webrtc';
import { Room } from './room.js';
import type { IceServersFor } from './room.js';
import { callRoomEvent } from './room-events.js';
import type { RoomEvents } from './room-events.js';
import { JoinRefusedError, hasRoomFor } from './join-admission.js';
import type { RoomSettings } from './join-admission.js';
import type { PublishCodecs } from './publish-codecs.js';

export type { RoomSettings } from './join-admission.js';

export interface RoomManagerOptions {
  nodeId: string;
  emptyTimeoutSec: number;
  departureTimeoutSec: number;
  /** room.auto_create: false = only existing rooms can be joined (unless the token grants roomCreate). Default true. */
  autoCreate?: boolean;
  /** room.max_participants: the default limit of new rooms; 0 = none. */
  maxParticipants?: number;
  /** audio.update_interval: how often each room sends SpeakersChanged, ms (default 400). */
  speakerUpdateIntervalMs?: number;
  clock: Clock;
  logger: Logger;
  /** Room, participant and track lifecycle listener (webhooks). */
  events?: RoomEvents;
  /** The codecs publishers may use (room.enabled_codecs). */
  publishCodecs?: PublishCodecs;
  /** TURN servers per participant (docs/turn.md). */
  iceServers?: IceServersFor;
}

/** Who is joining, for the join rules. */
export interface JoinRequest {
  identity: string;
  /** Agents, egress and recorders (isDependentParticipant). */
  isDependent: boolean;
  /** The token grants roomCreate: may create the room even when auto-create is off (as LiveKit). */
  canCreateRoom: boolean;
  /** The token's roomConfig, applied when this join creates the room. */
  settings?: RoomSettings;
}

export class RoomManager {
  private readonly rooms = new Map<string, Room>();
  private readonly opts: RoomManagerOptions;
  private closed = false;
  /** False once the node drains: existing rooms go on, no new ones. */
  private creatingRooms = true;

  constructor(opts: RoomManagerOptions) {
    this.opts = opts;
  }

  get roomCount(): number {
    return this.rooms.size;
  }

  getRoom(name: string): Room | undefined {
    return this.rooms.get(name);
  }

  listRooms(): Room[] {
    return [...this.rooms.values()];
  }

  /** Draining: from now on only existing rooms can be joined; creating one throws JoinRefusedError `draining`. */
  stopCreatingRooms(): void {
    this.creatingRooms = false;
  }

  /**
   * Applies the join rules without changing anything: throws JoinRefusedError `room_not_found` (auto-create off,
   * the room missing, no roomCreate grant), `draining` (the room missing on a draining node) or `room_full`
   * (max_participants reached).
   */
  checkJoin(roomName: string, req: JoinRequest): void {
    const room = this.rooms.get(roomName);
    if (!room || room.isClosed) {
      if (!this.mayCreate(req)) throw new JoinRefusedError('room_not_found');
      if (!this.creatingRooms) throw new JoinRefusedError('draining');
      return;
    }
    const others = room.listParticipants().map((p) => ({ identity: p.identity, isDependent: p.isDependent }));
    if (!hasRoomFor(room.maxParticipants, req, others)) throw new JoinRefusedError('room_full');
  }

  /** The room this join enters, created when the rules allow; throws JoinRefusedError like checkJoin. */
  roomForJoin(roomName: string, req: JoinRequest): Room {
    this.checkJoin(roomName, req);
    return this.getOrCreateRoom(roomName, req.settings ?? {});
  }

  private mayCreate(req: JoinRequest): boolean {
    return this.opts.autoCreate !== false || req.canCreateRoom;
  }

  /** Per-room settings from CreateRoom; absent fields take the node's defaults. Throws `draining` for a new room. */
  getOrCreateRoom(name: string, settings: RoomSettings = {}): Room {
    if (this.closed) throw new Error('room manager is closed');
    const existing = this.rooms.get(name);
    if (existing && !existing.isClosed) return existing;
    if (!this.creatingRooms) throw new JoinRefusedError('draining');
    const sid = newRoomSid();
    const room = new Room({
      sid,
      name,
      nodeId: this.opts.nodeId,
      emptyTimeoutSec: settings.emptyTimeoutSec ?? this.opts.emptyTimeoutSec,
      departureTimeoutSec: settings.departureTimeoutSec ?? this.opts.departureTimeoutSec,
      maxParticipants: settings.maxParticipants ?? this.opts.maxParticipants ?? 0,
      ...(settings.metadata !== undefined ? { metadata: settings.metadata } : {}),
      ...(this.opts.speakerUpdateIntervalMs !== undefined ? { speakerUpdateIntervalMs: this.opts.speakerUpdateIntervalMs } : {}),
      clock: this.opts.clock,
      logger: this.opts.logger.child({ room: name, roomID: sid }),
      ...(this.opts.events ? { events: this.opts.events } : {}),
      ...(this.opts.publishCodecs ? { publishCodecs: this.opts.publishCodecs } : {}),
      ...(this.opts.iceServers ? { iceServers: this.opts.iceServers } : {}),
      onClosed: (r) => {
        if (this.rooms.get(r.name) === r) this.rooms.delete(r.name);
        const events = this.opts.events;
        if (events?.roomFinished) callRoomEvent(r.logger, () => events.roomFinished?.(r.info()));
      },
    });
    this.rooms.set(name, room);
    room.logger.info('room created');
    const events = this.opts.events;
    if (events?.roomStarted) callRoomEvent(room.logger, () => events.roomStarted?.(room.info(), { ...(settings.agents ? { agents: settings.agents } : {}), ...(settings.egress ? { egress: settings.egress } : {}) }));
    return room;
  }

  /**
   * Closes every room; participants get a LeaveRequest with `reason` and `action` (DISCONNECT unless given; a drain
   * passes RECONNECT so that clients rejoin, on another node or on this one once it is back). Idempotent.
   */
  close(reason: DisconnectReason = DisconnectReason.SERVER_SHUTDOWN, opts: { action?: LeaveRequest_Action } = {}): void {
    if (this.closed) return;
    this.closed = true;
    for (const room of [...this.rooms.values()]) room.close(reason, opts);
    this.rooms.clear();
  }
}
