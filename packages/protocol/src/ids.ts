// LiveKit-style resource ids: a type prefix (RM_, PA_, TR_, EV_ ...) plus random base62
// (livekit/protocol utils/guid/id.go). Clients check the prefixes, so use these generators everywhere.
import { randomBytes } from 'node:crypto';

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
/** Length of the random part, as LiveKit's guid package uses. */
export const ID_RANDOM_LENGTH = 12;

export const IdPrefix = {
  room: 'RM_',
  participant: 'PA_',
  track: 'TR_',
  dataTrack: 'DTR_',
  agentWorker: 'AW_',
  agentJob: 'AJ_',
  agentDispatch: 'AD_',
  egress: 'EG_',
  ingress: 'IN_',
  webhookEvent: 'EV_',
} as const;

/** Random base62 string; rejection sampling keeps every character equally likely. */
export function randomBase62(length: number = ID_RANDOM_LENGTH): string {
  let out = '';
  while (out.length < length) {
    const bytes = randomBytes(length * 2);
    for (const b of bytes) {
      if (b >= 248) continue; // 248 = 62 * 4: keeps the distribution uniform
      out += BASE62[b % 62];
      if (out.length === length) break;
    }
  }
  return out;
}

export function newId(prefix: string): string {
  return prefix + randomBase62();
}

export const newRoomSid = (): string => newId(IdPrefix.room);
export const newParticipantSid = (): string => newId(IdPrefix.participant);
export const newWebhookEventId = (): string => newId(IdPrefix.webhookEvent);
export const newEgressId = (): string => newId(IdPrefix.egress);
export const newIngressId = (): string => newId(IdPrefix.ingress);
export const newAgentWorkerId = (): string => newId(IdPrefix.agentWorker);
export const newAgentJobId = (): string => newId(IdPrefix.agentJob);
export const newAgentDispatchId = (): string => newId(IdPrefix.agentDispatch);

/** LiveKit TrackType / TrackSource numbers (livekit_models.proto). */
export const TrackTypeNumber = { AUDIO: 0, VIDEO: 1, DATA: 2 } as const;
export const TrackSourceNumber = {
  UNKNOWN: 0,
  CAMERA: 1,
  MICROPHONE: 2,
  SCREEN_SHARE: 3,
  SCREEN_SHARE_AUDIO: 4,
} as const;

/**
 * Track sid as LiveKit builds it: `TR_` + `V`/`A` (video/audio) + `C`/`M`/`S`/`s`
 * (camera/microphone/screen share/screen share audio) + random. Unknown parts are left out.
 */
export function newTrackSid(opts: { type?: number; source?: number } = {}): string {
  let tag = '';
  if (opts.type === TrackTypeNumber.VIDEO) tag += 'V';
  else if (opts.type === TrackTypeNumber.AUDIO) tag += 'A';
  switch (opts.source) {
    case TrackSourceNumber.CAMERA:
      tag += 'C';
      break;
    case TrackSourceNumber.MICROPHONE:
      tag += 'M';
      break;
    case TrackSourceNumber.SCREEN_SHARE:
      tag += 'S';
      break;
    case TrackSourceNumber.SCREEN_SHARE_AUDIO:
      tag += 's';
      break;
  }
  return IdPrefix.track + tag + randomBase62();
}
