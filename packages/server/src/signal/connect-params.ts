// Query parameters of a v0 `/rtc` connection (docs/livekit-protocol.md 1.3; livekit-client
// SignalClient.createConnectionParams, LiveKit rtcservice.go / utils.go ParseClientInfo), and the same settings
// read from a v1 `/rtc/v1` JoinRequest (docs/signal-v1.md).
import { ClientInfo_Capability, ClientInfo_SDK } from '@livekit/protocol';
import type { JoinRequest } from '@livekit/protocol';

export interface ConnectParams {
  autoSubscribe: boolean;
  sdk: string;
  sdkVersion: string;
  /** Signal protocol version (17 for current clients). */
  protocol: number;
  /** Client-to-client API level, copied to ParticipantInfo.client_protocol. */
  clientProtocol: number;
  adaptiveStream: boolean;
  isReconnect: boolean;
  /** Participant sid being resumed (with reconnect=1). */
  sid: string;
  reconnectReason: number;
  subscriberAllowPause: boolean | undefined;
  disableIceLite: boolean;
  os: string;
  osVersion: string;
  deviceModel: string;
  browser: string;
  browserVersion: string;
  network: string;
  /** ClientInfo.Capability enum names, e.g. CAP_PACKET_TRAILER. */
  capabilities: string[];
  /** Signalling v1: the client's one PeerConnection carries everything (docs/signal-v1.md). */
  isSinglePeerConnection: boolean;
  /** v1: the client's first offer, bundled with the join (answered right after the JoinResponse). */
  publisherOffer?: { sdp: string; id: number };
  /** v1: metadata and attributes the client asks for over the token's (needs canUpdateOwnMetadata). */
  metadata?: string;
  attributes?: Record<string, string>;
}

export class ConnectParamsError extends Error {
  readonly code = 'invalid_connect_params';
}

function flag(v: string | null): boolean {
  return v === '1' || v === 'true';
}

function int(params: URLSearchParams, name: string, fallback: number): number {
  const v = params.get(name);
  if (v === null || v === '') return fallback;
  if (!/^-?\d{1,9}$/.test(v)) throw new ConnectParamsError(`query parameter ${name} must be an integer, got '${v.slice(0, 32)}'`);
  return Number(v);
}

const str = (params: URLSearchParams, name: string): string => (params.get(name) ?? '').slice(0, 256);

/** Parses the query; throws ConnectParamsError (a 400) for values that cannot be understood. */
export function parseConnectParams(params: URLSearchParams): ConnectParams {
  const autoSubscribeRaw = params.get('auto_subscribe');
  const allowPause = params.get('subscriber_allow_pause');
  return {
    autoSubscribe: autoSubscribeRaw === null || autoSubscribeRaw === '' ? true : flag(autoSubscribeRaw),
    sdk: str(params, 'sdk'),
    sdkVersion: str(params, 'version'),
    protocol: int(params, 'protocol', 0),
    clientProtocol: int(params, 'client_protocol', 0),
    adaptiveStream: flag(params.get('adaptive_stream')),
    isReconnect: flag(params.get('reconnect')),
    sid: str(params, 'sid'),
    reconnectReason: int(params, 'reconnect_reason', 0),
    subscriberAllowPause: allowPause === null ? undefined : flag(allowPause),
    disableIceLite: flag(params.get('disable_ice_lite')),
    os: str(params, 'os'),
    osVersion: str(params, 'os_version'),
    deviceModel: str(params, 'device_model'),
    browser: str(params, 'browser'),
    browserVersion: str(params, 'browser_version'),
    network: str(params, 'network'),
    capabilities: str(params, 'capabilities').split(',').map((s) => s.trim()).filter((s) => s !== ''),
    isSinglePeerConnection: false,
  };
}

const cap = (s: string): string => s.slice(0, 256);

/**
 * The settings of a v1 JoinRequest (docs/livekit-protocol.md 1.4). A bundled publisher offer must be an offer; a
 * reconnect names the participant it resumes as v0's `sid` does.
 */
export function connectParamsFromJoinRequest(jr: JoinRequest): ConnectParams {
  const info = jr.clientInfo;
  const settings = jr.connectionSettings;
  const offer = jr.publisherOffer;
  if (offer !== undefined && offer.type !== 'offer') {
    throw new ConnectParamsError(`join_request publisher_offer must be of type offer, got '${offer.type.slice(0, 32)}'`);
  }
  const attributes = Object.entries(jr.participantAttributes);
  return {
    // JoinRequest has no "absent": livekit-client always sets it, from RoomConnectOptions.autoSubscribe (default true).
    autoSubscribe: settings?.autoSubscribe ?? true,
    sdk: info !== undefined ? (ClientInfo_SDK[info.sdk] ?? String(info.sdk)).toLowerCase() : '',
    sdkVersion: cap(info?.version ?? ''),
    protocol: info?.protocol ?? 0,
    clientProtocol: info?.clientProtocol ?? 0,
    adaptiveStream: settings?.adaptiveStream ?? false,
    isReconnect: jr.reconnect,
    sid: cap(jr.participantSid),
    reconnectReason: jr.reconnectReason,
    subscriberAllowPause: settings?.subscriberAllowPause,
    disableIceLite: settings?.disableIceLite ?? false,
    os: cap(info?.os ?? ''),
    osVersion: cap(info?.osVersion ?? ''),
    deviceModel: cap(info?.deviceModel ?? ''),
    browser: cap(info?.browser ?? ''),
    browserVersion: cap(info?.browserVersion ?? ''),
    network: cap(info?.network ?? ''),
    capabilities: (info?.capabilities ?? []).map((c) => ClientInfo_Capability[c]).filter((n): n is string => n !== undefined),
    isSinglePeerConnection: true,
    ...(offer !== undefined ? { publisherOffer: { sdp: offer.sdp, id: offer.id } } : {}),
    ...(jr.metadata !== '' ? { metadata: jr.metadata } : {}),
    ...(attributes.length > 0 ? { attributes: Object.fromEntries(attributes) } : {}),
  };
}
