// The JoinResponse a participant gets first (docs/livekit-protocol.md 2.2): the room, itself, the visible
// others, server info, ping settings, which PC is primary and the codecs it may publish.
import {
  SignalResponse,
  JoinResponse,
  ServerInfo,
  ServerInfo_Edition,
  ClientConfiguration,
  ClientConfigSetting,
  ReconnectResponse,
} from '@livekit/protocol';
import type { ICEServer, ParticipantInfo, Room as RoomInfo } from '@livekit/protocol';
import type { PublishCodecs } from './publish-codecs.js';

/**
 * What we report as the server version (docs/livekit-protocol.md 2.2): a semver >= 1.8.0, and the lowest one whose
 * clients publish VP9/AV1 as rid simulcast when asked (livekit-client: > 1.13.6), which Atrium forwards.
 */
export const SERVER_VERSION = '1.13.7';
export const PROTOCOL_VERSION = 17;
export const PING_INTERVAL_SEC = 5;
export const PING_TIMEOUT_SEC = 15;

export function joinResponse(opts: {
  room: RoomInfo;
  participant: ParticipantInfo;
  others: ParticipantInfo[];
  nodeId: string;
  subscriberPrimary: boolean;
  publishCodecs: PublishCodecs;
  /** TURN servers for this participant (docs/turn.md): the embedded one with its own credential, and rtc.turn_servers. */
  iceServers?: ICEServer[];
}): SignalResponse {
  return new SignalResponse({
    message: {
      case: 'join',
      value: new JoinResponse({
        room: opts.room,
        participant: opts.participant,
        otherParticipants: opts.others,
        serverVersion: SERVER_VERSION,
        serverInfo: new ServerInfo({
          edition: ServerInfo_Edition.Standard,
          version: SERVER_VERSION,
          protocol: PROTOCOL_VERSION,
          nodeId: opts.nodeId,
        }),
        subscriberPrimary: opts.subscriberPrimary,
        iceServers: opts.iceServers ?? [],
        pingInterval: PING_INTERVAL_SEC,
        pingTimeout: PING_TIMEOUT_SEC,
        // Resume is served (docs/resume.md): clients try it before a full reconnect.
        clientConfiguration: clientConfiguration(),
        enabledPublishCodecs: opts.publishCodecs.toProto(),
      }),
    },
  });
}

/** What clients are told to do (JoinResponse and ReconnectResponse): resume enabled. */
export function clientConfiguration(): ClientConfiguration {
  return new ClientConfiguration({ resumeConnection: ClientConfigSetting.ENABLED });
}

/** The first message of a resumed signal connection (docs/livekit-protocol.md 5.2). */
export function reconnectResponse(opts: { nodeId: string; iceServers?: ICEServer[] }): SignalResponse {
  return new SignalResponse({
    message: {
      case: 'reconnect',
      value: new ReconnectResponse({
        // A fresh TURN credential: livekit-client applies these to its PeerConnections before the ICE restart.
        iceServers: opts.iceServers ?? [],
        clientConfiguration: clientConfiguration(),
        serverInfo: new ServerInfo({
          edition: ServerInfo_Edition.Standard, version: SERVER_VERSION, protocol: PROTOCOL_VERSION, nodeId: opts.nodeId,
        }),
      }),
    },
  });
}
