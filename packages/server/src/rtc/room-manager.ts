// The rooms of this node, by name: created on the first join, removed when they close.
import { newRoomSid } from '@atrium/protocol';
import { DisconnectReason } from '@livekit/protocol';
import type { Logger, Clock } from '@atrium/webrtc';
import { Room } from './room.js';
import { callRoomEvent } from './room-events.js';
import type { RoomEvents } from './room-events.js';

export interface RoomManagerOptions {
  nodeId: string;
  emptyTimeoutSec: number;
  departureTimeoutSec: number;
  clock: Clock;
  logger: Logger;
  /** Room, participant and track lifecycle listener (webhooks). */
  events?: RoomEvents;
}

export interface RoomSettings {
  emptyTimeoutSec?: number;
  departureTimeoutSec?: number;
  metadata?: string;
}

export class RoomManager {
  private readonly rooms = new Map<string, Room>();
  private readonly opts: RoomManagerOptions;
  private closed = false;

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

  /** Per-room settings from CreateRoom; absent fields take the node's defaults. */
  getOrCreateRoom(name: string, settings: RoomSettings = {}): Room {
    if (this.closed) throw new Error('room manager is closed');
    const existing = this.rooms.get(name);
    if (existing && !existing.isClosed) return existing;
    const sid = newRoomSid();
    const room = new Room({
      sid,
      name,
      nodeId: this.opts.nodeId,
      emptyTimeoutSec: settings.emptyTimeoutSec ?? this.opts.emptyTimeoutSec,
      departureTimeoutSec: settings.departureTimeoutSec ?? this.opts.departureTimeoutSec,
      ...(settings.metadata !== undefined ? { metadata: settings.metadata } : {}),
      clock: this.opts.clock,
      logger: this.opts.logger.child({ room: name, roomID: sid }),
      ...(this.opts.events ? { events: this.opts.events } : {}),
      onClosed: (r) => {
        if (this.rooms.get(r.name) === r) this.rooms.delete(r.name);
        const events = this.opts.events;
        if (events?.roomFinished) callRoomEvent(r.logger, () => events.roomFinished?.(r.info()));
      },
    });
    this.rooms.set(name, room);
    room.logger.info('room created');
    const events = this.opts.events;
    if (events?.roomStarted) callRoomEvent(room.logger, () => events.roomStarted?.(room.info()));
    return room;
  }

  /** Closes every room; participants get a LeaveRequest with `reason`. Idempotent. */
  close(reason: DisconnectReason = DisconnectReason.SERVER_SHUTDOWN): void {
    if (this.closed) return;
    this.closed = true;
    for (const room of [...this.rooms.values()]) room.close(reason);
    this.rooms.clear();
  }
}
