// Room rules applied to a join (docs/livekit-protocol.md 2.1): room.auto_create, max_participants (agents,
// egress and recorders do not count) and the token's roomConfig, which applies when the join creates the room.
import { RoomConfiguration, ParticipantInfo_Kind } from '@livekit/protocol';
import type { RoomAgentDispatch, RoomEgress } from '@livekit/protocol';
import type { ClaimGrants } from '@atrium/protocol';

/** LiveKit's text for a join to a missing room with auto-create off (HTTP 404; livekit-client keys on it). */
export const ROOM_NOT_FOUND_MESSAGE = 'requested room does not exist';
/** LiveKit's text for a join past max_participants (the client gets LeaveRequest JOIN_FAILURE). */
export const ROOM_FULL_MESSAGE = 'room has exceeded its max participants';

/** A draining node creates no rooms (HTTP 503 for joins, Twirp `unavailable` for CreateRoom). */
export const DRAINING_MESSAGE = 'server is draining: it takes no new rooms; try another node';

export type JoinRefusalCode = 'room_not_found' | 'room_full' | 'draining';

const MESSAGES: Record<JoinRefusalCode, string> = {
  room_not_found: ROOM_NOT_FOUND_MESSAGE,
  room_full: ROOM_FULL_MESSAGE,
  draining: DRAINING_MESSAGE,
};

/**
 * A join the room rules refuse. `room_not_found` becomes HTTP 404, `draining` HTTP 503, `room_full` a
 * LeaveRequest JOIN_FAILURE.
 */
export class JoinRefusedError extends Error {
  readonly code: JoinRefusalCode;
  constructor(code: JoinRefusalCode) {
    super(MESSAGES[code]);
    this.name = 'JoinRefusedError';
    this.code = code;
  }
}

/** Per-room settings (CreateRoom, the token's roomConfig); absent fields take the node's defaults. */
export interface RoomSettings {
  emptyTimeoutSec?: number;
  departureTimeoutSec?: number;
  /** 0 = no limit. */
  maxParticipants?: number;
  metadata?: string;
  /** Agents dispatched when the room starts (instead of the automatic dispatch). */
  agents?: RoomAgentDispatch[];
  /** Auto egress (egress/auto-egress.ts): the room, each participant and/or each track recorded from the start. */
  egress?: RoomEgress;
}

/**
 * LiveKit's IsDependent: agent and egress participants, and holders of the `agent` or `recorder` grant. They do
 * not count against max_participants nor in Room.num_participants.
 */
export function isDependentParticipant(who: { kind: ParticipantInfo_Kind | string | undefined; agent: boolean; recorder: boolean }): boolean {
  if (who.agent || who.recorder) return true;
  const kind = typeof who.kind === 'string' ? who.kind.toLowerCase() : who.kind;
  return kind === ParticipantInfo_Kind.AGENT || kind === ParticipantInfo_Kind.EGRESS || kind === 'agent' || kind === 'egress';
}

/** Whether a room holding `others` (excluding anyone with the joiner's identity, who is replaced) admits one more. */
export function hasRoomFor(
  maxParticipants: number,
  joiner: { identity: string; isDependent: boolean },
  others: Iterable<{ identity: string; isDependent: boolean }>,
): boolean {
  if (maxParticipants <= 0 || joiner.isDependent) return true;
  let counted = 0;
  for (const o of others) if (!o.isDependent && o.identity !== joiner.identity) counted++;
  return counted < maxParticipants;
}

/** The token's `roomConfig` (protobuf JSON) as room settings; unreadable configs are ignored (empty settings). */
export function roomSettingsFromToken(claims: ClaimGrants): RoomSettings {
  if (claims.roomConfig === undefined || claims.roomConfig === null) return {};
  let cfg: RoomConfiguration;
  try {
    cfg = RoomConfiguration.fromJson(claims.roomConfig as never, { ignoreUnknownFields: true });
  } catch {
    return {};
  }
  const out: RoomSettings = {};
  if (cfg.emptyTimeout > 0) out.emptyTimeoutSec = cfg.emptyTimeout;
  if (cfg.departureTimeout > 0) out.departureTimeoutSec = cfg.departureTimeout;
  if (cfg.maxParticipants > 0) out.maxParticipants = cfg.maxParticipants;
  if (cfg.metadata !== '') out.metadata = cfg.metadata;
  if (cfg.agents.length > 0) out.agents = cfg.agents;
  if (cfg.egress) out.egress = cfg.egress;
  return out;
}
