// Query parameters of a v0 `/rtc` connection (docs/livekit-protocol.md 1.3; livekit-client
// SignalClient.createConnectionParams, LiveKit rtcservice.go / utils.go ParseClientInfo).

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
  };
}
