// livekit.AgentDispatchService (livekit_agent_dispatch.proto) over Twirp, as LiveKit's pkg/service/agent_dispatch_service.go:
// explicit dispatches of named agents to a room, roomAdmin for that room. CreateDispatch creates the room when rooms
// are auto-created (LiveKit does the same); the jobs themselves are the Dispatcher's.
import {
  CreateAgentDispatchRequest,
  DeleteAgentDispatchRequest,
  ListAgentDispatchRequest,
  ListAgentDispatchResponse,
} from '@livekit/protocol';
import type { Dispatcher } from '../agent/dispatcher.js';
import type { RoomManager } from '../rtc/room-manager.js';
import type { Room } from '../rtc/room.js';
import { TwirpError, method } from './twirp.js';
import type { TwirpService } from './twirp.js';
import { requireAdmin } from './room-service.js';
import { checkMetadata, checkRoomName } from './request-limits.js';

export const AGENT_DISPATCH_SERVICE_NAME = 'livekit.AgentDispatchService';

export interface AgentDispatchServiceOptions {
  rooms: RoomManager;
  dispatcher: Dispatcher;
  /** `room.auto_create`: CreateDispatch creates a missing room (default true, as LiveKit). */
  autoCreate?: boolean;
}

export function createAgentDispatchService(opts: AgentDispatchServiceOptions): TwirpService {
  const { rooms, dispatcher } = opts;

  const existingRoom = (name: string): Room | undefined => {
    const room = rooms.getRoom(name);
    return room && !room.isClosed ? room : undefined;
  };
  const roomOrThrow = (name: string): Room => {
    const room = existingRoom(name);
    if (!room) throw new TwirpError('not_found', 'requested room does not exist');
    return room;
  };

  return {
    CreateDispatch: method(CreateAgentDispatchRequest, (req, claims) => {
      requireAdmin(claims, req.room);
      checkRoomName(req.room);
      checkMetadata(req.metadata);
      let room = existingRoom(req.room);
      if (!room) {
        if (opts.autoCreate === false) throw new TwirpError('not_found', 'requested room does not exist (room auto-create is off)');
        try {
          room = rooms.getOrCreateRoom(req.room);
        } catch (err) {
          // A draining (or closing) node creates no rooms.
          throw new TwirpError('unavailable', (err as Error).message);
        }
      }
      return dispatcher.createDispatch(room.info(), {
        agentName: req.agentName,
        metadata: req.metadata,
        restartPolicy: req.restartPolicy,
        deployment: req.deployment,
        attributes: req.attributes,
      });
    }),

    DeleteDispatch: method(DeleteAgentDispatchRequest, (req, claims) => {
      requireAdmin(claims, req.room);
      if (req.dispatchId === '') throw new TwirpError('invalid_argument', 'dispatch ID is required');
      roomOrThrow(req.room);
      const deleted = dispatcher.deleteDispatch(req.room, req.dispatchId);
      if (!deleted) throw new TwirpError('not_found', 'dispatch ID not found');
      return deleted;
    }),

    ListDispatch: method(ListAgentDispatchRequest, (req, claims) => {
      requireAdmin(claims, req.room);
      roomOrThrow(req.room);
      return new ListAgentDispatchResponse({ agentDispatches: dispatcher.listDispatches(req.room, req.dispatchId) });
    }),
  };
}
