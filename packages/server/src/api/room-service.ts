// livekit.RoomService (livekit_room.proto) over Twirp: room and participant control with LiveKit's
// grant checks (docs/livekit-protocol.md 7.2). Every effect reaches connected clients through the room.
import {
  CreateRoomRequest,
  ListRoomsRequest,
  ListRoomsResponse,
  DeleteRoomRequest,
  DeleteRoomResponse,
  ListParticipantsRequest,
  ListParticipantsResponse,
  RoomParticipantIdentity,
  RemoveParticipantResponse,
  MuteRoomTrackRequest,
  MuteRoomTrackResponse,
  UpdateParticipantRequest,
  UpdateRoomMetadataRequest,
  UpdateSubscriptionsRequest,
  UpdateSubscriptionsResponse,
  SendDataRequest,
  SendDataResponse,
  DataPacket,
  DataPacket_Kind,
  UserPacket,
  DisconnectReason,
} from '@livekit/protocol';
import type { ClaimGrants } from '@atrium/protocol';
import type { RoomManager } from '../rtc/room-manager.js';
import type { Room } from '../rtc/room.js';
import type { Participant } from '../rtc/participant.js';
import { TwirpError, method, permissionsDenied } from './twirp.js';
import type { TwirpService } from './twirp.js';
import { checkRoomName, checkMetadata, checkParticipantUpdate, checkNonce } from './request-limits.js';

export const ROOM_SERVICE_NAME = 'livekit.RoomService';

export interface RoomServiceOptions {
  rooms: RoomManager;
  /** LiveKit refuses remote unmute unless configured (`room.enable_remote_unmute`). */
  enableRemoteUnmute?: boolean;
}

function requireGrant(claims: ClaimGrants | undefined, grant: 'roomCreate' | 'roomList'): void {
  if (!claims?.video?.[grant]) throw permissionsDenied();
}

/** roomAdmin on exactly this room (LiveKit's EnsureAdminPermission). */
export function requireAdmin(claims: ClaimGrants | undefined, room: string): void {
  if (room === '') throw new TwirpError('invalid_argument', 'room name is required');
  if (!claims?.video?.roomAdmin || claims.video.room !== room) throw permissionsDenied();
}

export function createRoomService(opts: RoomServiceOptions): TwirpService {
  const { rooms } = opts;

  const roomOrThrow = (name: string): Room => {
    const room = rooms.getRoom(name);
    if (!room || room.isClosed) throw new TwirpError('not_found', 'requested room does not exist');
    return room;
  };
  const participantOrThrow = (roomName: string, identity: string): Participant => {
    if (identity === '') throw new TwirpError('invalid_argument', 'participant identity is required');
    const p = roomOrThrow(roomName).getParticipantByIdentity(identity);
    if (!p || p.isClosed) throw new TwirpError('not_found', 'participant does not exist');
    return p;
  };

  return {
    CreateRoom: method(CreateRoomRequest, (req, claims) => {
      requireGrant(claims, 'roomCreate');
      if (req.name === '') throw new TwirpError('invalid_argument', 'room name is required');
      checkRoomName(req.name);
      checkMetadata(req.metadata);
      const existing = rooms.getRoom(req.name);
      if (existing && !existing.isClosed) return existing.info();
      try {
        return rooms
          .getOrCreateRoom(req.name, {
            ...(req.emptyTimeout > 0 ? { emptyTimeoutSec: req.emptyTimeout } : {}),
            ...(req.departureTimeout > 0 ? { departureTimeoutSec: req.departureTimeout } : {}),
            ...(req.maxParticipants > 0 ? { maxParticipants: req.maxParticipants } : {}),
            metadata: req.metadata,
            ...(req.agents.length > 0 ? { agents: req.agents } : {}),
            ...(req.egress ? { egress: req.egress } : {}),
          })
          .info();
      } catch (err) {
        // A draining (or closing) node creates no rooms.
        throw new TwirpError('unavailable', (err as Error).message);
      }
    }),

    ListRooms: method(ListRoomsRequest, (req, claims) => {
      requireGrant(claims, 'roomList');
      const names = req.names.length > 0 ? new Set(req.names) : undefined;
      const list = rooms.listRooms().filter((r) => !r.isClosed && (!names || names.has(r.name)));
      return new ListRoomsResponse({ rooms: list.map((r) => r.info()) });
    }),

    DeleteRoom: method(DeleteRoomRequest, (req, claims) => {
      requireGrant(claims, 'roomCreate');
      if (req.room === '') throw new TwirpError('invalid_argument', 'room name is required');
      roomOrThrow(req.room).close(DisconnectReason.ROOM_DELETED);
      return new DeleteRoomResponse();
    }),

    ListParticipants: method(ListParticipantsRequest, (req, claims) => {
      requireAdmin(claims, req.room);
      const list = roomOrThrow(req.room).listParticipants().filter((p) => !p.isClosed);
      return new ListParticipantsResponse({ participants: list.map((p) => p.snapshot()) });
    }),

    GetParticipant: method(RoomParticipantIdentity, (req, claims) => {
      requireAdmin(claims, req.room);
      return participantOrThrow(req.room, req.identity).snapshot();
    }),

    RemoveParticipant: method(RoomParticipantIdentity, (req, claims) => {
      requireAdmin(claims, req.room);
      participantOrThrow(req.room, req.identity).close(DisconnectReason.PARTICIPANT_REMOVED, { sendLeave: true });
      return new RemoveParticipantResponse();
    }),

    MutePublishedTrack: method(MuteRoomTrackRequest, (req, claims) => {
      requireAdmin(claims, req.room);
      if (req.trackSid === '') throw new TwirpError('invalid_argument', 'track sid is required');
      if (!req.muted && !opts.enableRemoteUnmute) throw new TwirpError('failed_precondition', 'remote unmute not enabled');
      const p = participantOrThrow(req.room, req.identity);
      const track = p.muteFromServer(req.trackSid, req.muted);
      if (!track) throw new TwirpError('not_found', 'track is not found');
      return new MuteRoomTrackResponse({ track });
    }),

    UpdateParticipant: method(UpdateParticipantRequest, (req, claims) => {
      checkParticipantUpdate(req);
      requireAdmin(claims, req.room);
      const p = participantOrThrow(req.room, req.identity);
      if (req.permission) roomOrThrow(req.room).setParticipantPermission(p, req.permission);
      p.updateFromServer({
        ...(req.name !== '' ? { name: req.name } : {}),
        ...(req.metadata !== '' ? { metadata: req.metadata } : {}),
        attributes: req.attributes,
      });
      return p.snapshot();
    }),

    UpdateSubscriptions: method(UpdateSubscriptionsRequest, (req, claims) => {
      requireAdmin(claims, req.room);
      const p = participantOrThrow(req.room, req.identity);
      const sids = [...req.trackSids];
      for (const pt of req.participantTracks) sids.push(...pt.trackSids);
      roomOrThrow(req.room).updateSubscriptions(p, sids, req.subscribe);
      return new UpdateSubscriptionsResponse();
    }),

    UpdateRoomMetadata: method(UpdateRoomMetadataRequest, (req, claims) => {
      checkMetadata(req.metadata);
      requireAdmin(claims, req.room);
      const room = roomOrThrow(req.room);
      room.setMetadata(req.metadata);
      return room.info();
    }),

    SendData: method(SendDataRequest, (req, claims) => {
      requireAdmin(claims, req.room);
      checkNonce(req.nonce);
      const room = roomOrThrow(req.room);
      const identities = [...req.destinationIdentities];
      for (const sid of req.destinationSids) {
        const p = room.getParticipant(sid);
        if (p && !identities.includes(p.identity)) identities.push(p.identity);
      }
      // Destinations were named but none is here: nobody to deliver to.
      if (identities.length === 0 && req.destinationSids.length > 0) return new SendDataResponse();
      const user = new UserPacket({
        payload: req.data,
        destinationIdentities: identities,
        ...(req.topic !== undefined ? { topic: req.topic } : {}),
        nonce: req.nonce,
      });
      const kind = req.kind === DataPacket_Kind.LOSSY ? 'lossy' : 'reliable';
      room.sendServerData(new DataPacket({ value: { case: 'user', value: user } }), kind, identities);
      return new SendDataResponse();
    }),
  };
}
