// Server configuration (a subset of livekit.yaml for now) and the development defaults.
// Full livekit.yaml parsing comes later; keys keep LiveKit's meaning.

export interface ServerConfig {
  /** API key -> secret, for token verification. */
  keys: Record<string, string>;
  /** HTTP/WebSocket port; 0 = ephemeral. */
  port: number;
  bindAddresses: string[];
  rtc: {
    /** The single UDP port for ICE/DTLS/SRTP; 0 = ephemeral. */
    udpPort: number;
    /** Address advertised in ICE candidates; defaults to the first bind address. */
    nodeIp: string;
  };
  logging: { level: 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'silent' };
  development: boolean;
  room: {
    /** Seconds an empty room (nobody ever joined) stays open. */
    emptyTimeoutSec: number;
    /** Seconds a room stays open after its last participant left. */
    departureTimeoutSec: number;
  };
}

export interface ServerConfigOverrides {
  keys?: Record<string, string>;
  port?: number;
  bindAddresses?: string[];
  rtc?: Partial<ServerConfig['rtc']>;
  logging?: Partial<ServerConfig['logging']>;
  development?: boolean;
  room?: Partial<ServerConfig['room']>;
}

/** LiveKit's `--dev` defaults: key `devkey` / secret `secret`, port 7880, UDP 7882, loopback only. */
export function devConfig(overrides: ServerConfigOverrides = {}): ServerConfig {
  const bindAddresses = overrides.bindAddresses ?? ['127.0.0.1'];
  return {
    keys: overrides.keys ?? { devkey: 'secret' },
    port: overrides.port ?? 7880,
    bindAddresses,
    rtc: {
      udpPort: overrides.rtc?.udpPort ?? 7882,
      nodeIp: overrides.rtc?.nodeIp ?? bindAddresses[0] ?? '127.0.0.1',
    },
    logging: { level: overrides.logging?.level ?? 'info' },
    development: overrides.development ?? true,
    room: {
      emptyTimeoutSec: overrides.room?.emptyTimeoutSec ?? 300,
      departureTimeoutSec: overrides.room?.departureTimeoutSec ?? 20,
    },
  };
}
