// livekit.Egress (livekit_egress.proto) over Twirp, at the paths livekit-server-sdk's EgressClient calls, with LiveKit's
// roomRecord grant check. Track, track composite, participant and room composite egress to a file and UpdateLayout are
// built (egress/egress-manager.ts); every other method is routed and answers `unimplemented` naming what is missing, so
// a client learns it from the error, not from a 404.
import {
  ListEgressRequest,
  ListEgressResponse,
  ParticipantEgressRequest,
  RoomCompositeEgressRequest,
  StartEgressRequest,
  StopEgressRequest,
  TrackCompositeEgressRequest,
  TrackEgressRequest,
  UpdateLayoutRequest,
  UpdateStreamRequest,
  WebEgressRequest,
} from '@livekit/protocol';
import type { ClaimGrants } from '@atrium/protocol';
import type { EgressManager } from '../egress/egress-manager.js';
import { EgressError } from '../egress/egress-error.js';
import { TwirpError, method, permissionsDenied } from './twirp.js';
import type { ApiMessage, ApiMessageType, TwirpMethod, TwirpService } from './twirp.js';
import { checkRoomName } from './request-limits.js';

export const EGRESS_SERVICE_NAME = 'livekit.Egress';

/** LiveKit's EnsureRecordPermission. */
function requireRecord(claims: ClaimGrants | undefined): void {
  if (!claims?.video?.roomRecord) throw permissionsDenied();
}

/** Manager errors become Twirp errors of the same code. */
function asTwirp<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof EgressError) throw new TwirpError(err.code, err.message);
    throw err;
  }
}

function notYet<I extends ApiMessage>(input: ApiMessageType<I>, what: string): TwirpMethod {
  return method(input, (_req, claims) => {
    requireRecord(claims);
    throw new TwirpError('unimplemented', `${what} is not supported yet (Atrium records to files with StartTrackEgress, StartTrackCompositeEgress, StartParticipantEgress and StartRoomCompositeEgress)`);
  });
}

export function createEgressService(opts: { egress: EgressManager }): TwirpService {
  const { egress } = opts;
  return {
    StartTrackEgress: method(TrackEgressRequest, (req, claims) => {
      requireRecord(claims);
      if (req.roomName !== '') checkRoomName(req.roomName);
      if (req.trackId.length > 256) throw new TwirpError('invalid_argument', 'track_id is too long');
      return asTwirp(() => egress.startTrackEgress(req));
    }),
    ListEgress: method(ListEgressRequest, (req, claims) => {
      requireRecord(claims);
      const items = egress.listEgress({ roomName: req.roomName, egressId: req.egressId, activeOnly: req.active });
      return new ListEgressResponse({ items });
    }),
    StopEgress: method(StopEgressRequest, (req, claims) => {
      requireRecord(claims);
      return asTwirp(() => egress.stopEgress(req.egressId));
    }),
    StartRoomCompositeEgress: method(RoomCompositeEgressRequest, (req, claims) => {
      requireRecord(claims);
      if (req.roomName !== '') checkRoomName(req.roomName);
      if (req.layout.length > 64) throw new TwirpError('invalid_argument', 'layout is too long');
      return asTwirp(() => egress.startRoomCompositeEgress(req));
    }),
    StartWebEgress: notYet(WebEgressRequest, 'web egress'),
    StartParticipantEgress: method(ParticipantEgressRequest, (req, claims) => {
      requireRecord(claims);
      if (req.roomName !== '') checkRoomName(req.roomName);
      if (req.identity.length > 256) throw new TwirpError('invalid_argument', 'identity is too long');
      return asTwirp(() => egress.startParticipantEgress(req));
    }),
    StartTrackCompositeEgress: method(TrackCompositeEgressRequest, (req, claims) => {
      requireRecord(claims);
      if (req.roomName !== '') checkRoomName(req.roomName);
      if (req.audioTrackId.length > 256 || req.videoTrackId.length > 256) throw new TwirpError('invalid_argument', 'track id is too long');
      return asTwirp(() => egress.startTrackCompositeEgress(req));
    }),
    StartEgress: notYet(StartEgressRequest, 'StartEgress (the v2 request)'),
    UpdateLayout: method(UpdateLayoutRequest, (req, claims) => {
      requireRecord(claims);
      if (req.layout.length > 64) throw new TwirpError('invalid_argument', 'layout is too long');
      return asTwirp(() => egress.updateLayout(req.egressId, req.layout));
    }),
    UpdateStream: method(UpdateStreamRequest, (req, claims) => {
      requireRecord(claims);
      if (req.addOutputUrls.length + req.removeOutputUrls.length > 16) throw new TwirpError('invalid_argument', 'too many urls');
      return asTwirp(() => egress.updateStream(req.egressId, req.addOutputUrls, req.removeOutputUrls));
    }),
  };
}
