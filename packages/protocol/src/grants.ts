// Access-token claims as LiveKit writes them (livekit/protocol auth/grants.go; docs/livekit-protocol.md 6),
// and the effective video grant with LiveKit's defaults applied.
import { ParticipantPermission } from '@livekit/protocol';
import { TrackSourceNumber } from './ids.js';

/** The `video` claim, as JSON in the token. Absent fields take the defaults of `resolveVideoGrant`. */
export interface VideoGrant {
  roomCreate?: boolean;
  roomList?: boolean;
  roomRecord?: boolean;
  roomAdmin?: boolean;
  roomJoin?: boolean;
  room?: string;
  canPublish?: boolean;
  canSubscribe?: boolean;
  canPublishData?: boolean;
  /** Lowercase source names ('camera', 'microphone', 'screen_share', 'screen_share_audio'); empty = all. */
  canPublishSources?: string[];
  canUpdateOwnMetadata?: boolean;
  ingressAdmin?: boolean;
  hidden?: boolean;
  recorder?: boolean;
  agent?: boolean;
  canSubscribeMetrics?: boolean;
  canManageAgentSession?: boolean;
  destinationRoom?: string;
}

/** Claims of a verified token. `identity` is `sub` (or `jti` when `sub` is empty), `apiKey` is `iss`. */
export interface ClaimGrants {
  identity: string;
  apiKey: string;
  name?: string;
  metadata?: string;
  attributes?: Record<string, string>;
  /** Lowercase ParticipantInfo.Kind name: 'standard', 'agent', 'egress', ... */
  kind?: string;
  kindDetails?: string[];
  video?: VideoGrant;
  sip?: { admin?: boolean; call?: boolean };
  agent?: { admin?: boolean };
  sha256?: string;
  roomPreset?: string;
  /** RoomConfiguration in protobuf JSON; parse with RoomConfiguration.fromJson when needed. */
  roomConfig?: unknown;
  /** Expiry, seconds since the epoch. */
  exp?: number;
  nbf?: number;
}

/** A video grant with every default resolved (section 6.3). */
export interface ResolvedVideoGrant {
  roomCreate: boolean;
  roomList: boolean;
  roomRecord: boolean;
  roomAdmin: boolean;
  roomJoin: boolean;
  room: string;
  canPublish: boolean;
  canSubscribe: boolean;
  canPublishData: boolean;
  /** TrackSource numbers; empty = every source. */
  canPublishSources: number[];
  canUpdateOwnMetadata: boolean;
  ingressAdmin: boolean;
  hidden: boolean;
  recorder: boolean;
  agent: boolean;
  canSubscribeMetrics: boolean;
  canManageAgentSession: boolean;
  destinationRoom: string;
}

const SOURCE_BY_NAME: Record<string, number> = {
  unknown: TrackSourceNumber.UNKNOWN,
  camera: TrackSourceNumber.CAMERA,
  microphone: TrackSourceNumber.MICROPHONE,
  screen_share: TrackSourceNumber.SCREEN_SHARE,
  screen_share_audio: TrackSourceNumber.SCREEN_SHARE_AUDIO,
};

/** Parses a source name ('camera', 'SCREEN_SHARE') or number; undefined when unknown. */
export function trackSourceFromName(name: unknown): number | undefined {
  if (typeof name === 'number' && Number.isInteger(name) && name >= 0 && name <= 4) return name;
  if (typeof name !== 'string') return undefined;
  const key = name.toLowerCase();
  // Own keys only: 'constructor' or '__proto__' in a token must not find Object.prototype's members.
  return Object.hasOwn(SOURCE_BY_NAME, key) ? SOURCE_BY_NAME[key] : undefined;
}

export function resolveVideoGrant(grant: VideoGrant | undefined): ResolvedVideoGrant {
  const g = grant ?? {};
  const canPublish = g.canPublish ?? true;
  const sources: number[] = [];
  for (const s of g.canPublishSources ?? []) {
    const n = trackSourceFromName(s);
    if (n !== undefined && !sources.includes(n)) sources.push(n);
  }
  return {
    roomCreate: g.roomCreate ?? false,
    roomList: g.roomList ?? false,
    roomRecord: g.roomRecord ?? false,
    roomAdmin: g.roomAdmin ?? false,
    roomJoin: g.roomJoin ?? false,
    room: g.room ?? '',
    canPublish,
    canSubscribe: g.canSubscribe ?? true,
    canPublishData: g.canPublishData ?? canPublish,
    canPublishSources: sources,
    canUpdateOwnMetadata: g.canUpdateOwnMetadata ?? false,
    ingressAdmin: g.ingressAdmin ?? false,
    hidden: g.hidden ?? false,
    recorder: g.recorder ?? false,
    agent: g.agent ?? false,
    canSubscribeMetrics: g.canSubscribeMetrics ?? false,
    canManageAgentSession: g.canManageAgentSession ?? false,
    destinationRoom: g.destinationRoom ?? '',
  };
}

/** Whether the grant lets its holder publish a track of `source` (TrackSource number). */
export function canPublishSource(grant: ResolvedVideoGrant, source: number): boolean {
  if (!grant.canPublish) return false;
  return grant.canPublishSources.length === 0 || grant.canPublishSources.includes(source);
}

/** ParticipantInfo.permission built from a resolved grant. */
export function toParticipantPermission(grant: ResolvedVideoGrant): ParticipantPermission {
  return new ParticipantPermission({
    canSubscribe: grant.canSubscribe,
    canPublish: grant.canPublish,
    canPublishData: grant.canPublishData,
    canPublishSources: [...grant.canPublishSources],
    hidden: grant.hidden,
    recorder: grant.recorder,
    canUpdateMetadata: grant.canUpdateOwnMetadata,
    agent: grant.agent,
    canSubscribeMetrics: grant.canSubscribeMetrics,
    canManageAgentSession: grant.canManageAgentSession,
  });
}
