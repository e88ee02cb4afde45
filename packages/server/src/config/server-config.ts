// The server's configuration (LiveKit's livekit.yaml, mapped by load-config.ts) and the development defaults.
import { availableParallelism } from 'node:os';
import { LIVEKIT_DEFAULT_CONGESTION_CONTROL, LIVEKIT_DEFAULT_DYNACAST_PAUSE_DELAY_MS } from './read-media-sections.js';
import type { CongestionControlSettings } from './read-media-sections.js';
import { defaultTurnConfig } from './read-turn-sections.js';
import type { ExternalTurnServer, TurnConfig } from './read-turn-sections.js';
// Keys keep LiveKit's meaning; fields the server does not honour yet are refused at load (unsupported-settings.ts).

export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export interface CodecSpec {
  /** 'audio/opus', 'video/VP8', ... */
  mime: string;
  /** Optional fmtp line to match (LiveKit's `fmtp_line`); '' = any. */
  fmtpLine: string;
}

export interface RedisConfig {
  address: string;
  username: string;
  password: string;
  db: number;
  useTls: boolean;
}

/**
 * LiveKit's `audio:` section: how the speaking level of a microphone is measured and how often speakers are sent,
 * and whether plain Opus tracks are RED-encoded for subscribers.
 */
export interface AudioConfig {
  /** RFC 6464 level (0 loudest .. 127 silent, -dBov) at or above which a packet counts as speech (`active_level`). */
  activeLevel: number;
  /** Percent of an interval that must be speech for it to count (`min_percentile`). */
  minPercentile: number;
  /** Measurement window and SpeakersChanged interval, ms (`update_interval`). */
  updateIntervalMs: number;
  /** Intervals the level is averaged over; 0 or 1 = no smoothing (`smooth_intervals`). */
  smoothIntervals: number;
  /**
   * `active_red_encoding`: a track published as plain Opus goes RED-encoded (two earlier frames repeated) to
   * subscribers that accept RED, unless its publisher set disable_red. RED tracks are forwarded as RED either way.
   */
  activeRedEncoding: boolean;
}

/** LiveKit's audio defaults (pkg/sfu/audio DefaultAudioLevelConfig). */
export const LIVEKIT_DEFAULT_AUDIO: Readonly<AudioConfig> = {
  activeLevel: 35, minPercentile: 40, updateIntervalMs: 400, smoothIntervals: 2, activeRedEncoding: false,
};

/** HTTP Basic credentials that /metrics requires (LiveKit's `prometheus.username` / `prometheus.password`). */
export interface MetricsAuth {
  username: string;
  password: string;
}

export interface ServerConfig {
  /** API key -> secret, for token verification. */
  keys: Record<string, string>;
  /** HTTP/WebSocket port; 0 = ephemeral. */
  port: number;
  bindAddresses: string[];
  rtc: {
    /** The single UDP port for ICE/DTLS/SRTP; 0 = ephemeral. */
    udpPort: number;
    /**
     * `rtc.tcp_port`: passive ICE-TCP (RFC 6544) on this port, `tcp_port + i` for media worker i (docs/ice-tcp.md).
     * 0 = off, as in LiveKit; 'ephemeral' (not a livekit.yaml value) = an ephemeral port each, for test servers.
     */
    tcpPort: number | 'ephemeral';
    /** Address advertised in ICE candidates; defaults to the first bind address. */
    nodeIp: string;
    /** `rtc.congestion_control`: layer allocation by bandwidth, and whether it may pause video. */
    congestionControl: CongestionControlSettings;
    /**
     * `rtc.media_workers` (Atrium): media worker threads, each with its own UDP port (`udp_port + i`); 0 runs media in
     * the main thread. Default: one per core.
     */
    mediaWorkers: number;
    /** `rtc.room_participants_per_worker` (Atrium): a room's participants on one worker before it spans workers. */
    roomParticipantsPerWorker: number;
    /** `rtc.turn_servers`: outside TURN servers (coturn ...) given to every client as they are (docs/turn.md). */
    turnServers: ExternalTurnServer[];
    /**
     * `rtc.resume_timeout` (Atrium, seconds; default 20): how long a participant whose signal connection dropped
     * without a Leave is kept for a resume (docs/resume.md). 0: it leaves at once. LiveKit has no such setting.
     */
    resumeTimeoutSec: number;
    /**
     * `rtc.signal_v1` (Atrium): serve `/rtc/v1` (single PeerConnection, docs/signal-v1.md); false answers it 404 and
     * clients fall back to `/rtc`.
     */
    signalV1: boolean;
  };
  /** LiveKit's `turn:` section: the embedded TURN server (docs/turn.md); off by default. */
  turn: TurnConfig;
  /** LiveKit's `video:` section: dynacast downgrades wait this long (`dynacast_pause_delay`). */
  video: { dynacastPauseDelayMs: number };
  /** json: pino JSON lines; false (LiveKit's default): one readable console line per entry (log-format.ts). */
  logging: { level: LogLevel; json: boolean };
  audio: AudioConfig;
  development: boolean;
  room: {
    /** false: joins to rooms that do not exist are refused. */
    autoCreate: boolean;
    /** Seconds an empty room (nobody ever joined) stays open. */
    emptyTimeoutSec: number;
    /** Seconds a room stays open after its last participant left. */
    departureTimeoutSec: number;
    /** 0 = unlimited. */
    maxParticipants: number;
    /** Codecs clients may publish (intersected with what the media side forwards). */
    enabledCodecs: CodecSpec[];
  };
  /** Webhooks are signed with `apiKey` (one of `keys`) and POSTed to every URL; no URLs = off. */
  webhook: { apiKey: string; urls: string[] };
  /** Port of the Prometheus /metrics endpoint (`prometheus.port`, or the older `prometheus_port`); 0 = off. */
  prometheusPort: number;
  /** null = /metrics is open; else it requires these Basic credentials. */
  prometheusAuth: MetricsAuth | null;
  /** null = single node, no Redis. */
  redis: RedisConfig | null;
  /** LiveKit's `limit:` section, the keys Atrium has. */
  limit: {
    /** Largest WebSocket message an agent worker may send on /agent, bytes; 0 = no limit (`agent_signal_message_size_limit`). */
    agentSignalMessageSizeLimit: number;
  };
  /** LiveKit's `ingress:` section (docs/ingress.md). */
  ingress: {
    /** IngressInfo.url of WHIP ingresses; empty = the server's own http URL + /w. */
    whipBaseUrl: string;
    /** Live ingress streams at once; 0 = no limit (`ingress.max_active_streams`, Atrium's). */
    maxActiveStreams: number;
    /**
     * Where RTMP publishers connect (`ingress.rtmp_port`); 0 = RTMP off. Default: 1935 in development (skipped with a
     * warning when taken), else off unless rtmp_port or rtmp_base_url is set.
     */
    rtmpPort: number;
    /** IngressInfo.url of RTMP ingresses (`ingress.rtmp_base_url`); empty = rtmp://<this host>:<rtmp_port>/x. */
    rtmpBaseUrl: string;
  };
  /** LiveKit's `agents:` section, the keys Atrium honours. */
  agents: {
    /** Copied onto every job as `enable_recording` (`agents.enable_user_data_recording`). */
    enableUserDataRecording: boolean;
    /** Copied onto every job as `enable_redaction` (`agents.enable_user_data_redaction`). */
    enableUserDataRedaction: boolean;
  };
  /** Atrium's `web:` section: the meeting app served at /app/ (docs/web-app.md). */
  web: {
    /** Serve the app (/app/, /rooms/<name>, browsers' GET / redirected there); default true. */
    enabled: boolean;
    /**
     * The development token endpoints /app/token and /app/admin-token (anyone who can reach the server gets a
     * token): default on only in development (--dev); 404 when off.
     */
    devTokens: boolean;
    /** Where the app asks for a token when it has none (GET ?room=&identity=&name=); '' = nowhere. */
    tokenEndpoint: string;
    /** The built app's directory; '' = apps/web/dist of this checkout. */
    dir: string;
  };
  /** Atrium's `egress:` section (docs/egress.md). */
  egress: {
    /** Where file outputs are written: a request's `filepath` is relative to it (`egress.file_base_dir`). */
    fileBaseDir: string;
    /** The ffmpeg binary that muxes recordings (`egress.ffmpeg_path`). */
    ffmpegPath: string;
    /** `egress.s3`: outputs that name no upload go there (LiveKit egress's storage default). */
    s3?: EgressS3Config;
  };
}

import { DEFAULT_MAX_ACTIVE_INGRESS_STREAMS } from './read-ingress-section.js';
import type { EgressS3Config } from './read-egress-section.js';

export interface ServerConfigOverrides {
  keys?: Record<string, string>;
  port?: number;
  bindAddresses?: string[];
  rtc?: Partial<Omit<ServerConfig['rtc'], 'congestionControl'>> & { congestionControl?: Partial<CongestionControlSettings> };
  turn?: Partial<TurnConfig>;
  video?: Partial<ServerConfig['video']>;
  logging?: Partial<ServerConfig['logging']>;
  audio?: Partial<AudioConfig>;
  development?: boolean;
  room?: Partial<ServerConfig['room']>;
  webhook?: Partial<ServerConfig['webhook']>;
  prometheusPort?: number;
  prometheusAuth?: MetricsAuth | null;
  redis?: RedisConfig | null;
  limit?: Partial<ServerConfig['limit']>;
  agents?: Partial<ServerConfig['agents']>;
  egress?: Partial<ServerConfig['egress']>;
  ingress?: Partial<ServerConfig['ingress']>;
  web?: Partial<ServerConfig['web']>;
}

/** Where recordings go when `egress.file_base_dir` is not set: relative to the working directory. */
export const DEFAULT_EGRESS_FILE_BASE_DIR = 'egress';

/** LiveKit's default `limit.agent_signal_message_size_limit` (pkg/config/config.go): 2 MiB. */
export const LIVEKIT_DEFAULT_AGENT_SIGNAL_MESSAGE_SIZE_LIMIT = 2 * 1024 * 1024;

/** LiveKit's default `room.enabled_codecs` (pkg/config/config.go). */
export const LIVEKIT_DEFAULT_CODECS: readonly string[] = [
  'audio/PCMU',
  'audio/PCMA',
  'audio/opus',
  'audio/red',
  'video/VP8',
  'video/H264',
  'video/VP9',
  'video/AV1',
  'video/H265',
  'video/rtx',
];

/**
 * A room stays on one media worker up to this many participants there (its packets then cross no thread), and while
 * that worker is less than half busy (placement.ts ROOM_KEEP_LOAD, which usually decides first); a larger room spans
 * workers, so one big room uses every core.
 */
export const DEFAULT_ROOM_PARTICIPANTS_PER_WORKER = 64;
/** rtc.resume_timeout default, seconds (the resume window of docs/resume.md). */
export const DEFAULT_RESUME_TIMEOUT_SEC = 20;
/** rtc.resume_timeout at most, seconds: a dead client's participant (and its media) is not kept longer. */
export const MAX_RESUME_TIMEOUT_SEC = 600;
/** Whether `/rtc/v1` is served unless `rtc.signal_v1` says otherwise. */
export const DEFAULT_SIGNAL_V1 = true;

/** One media worker per core (os.availableParallelism), at most 16. */
export function defaultMediaWorkers(): number {
  return Math.max(1, Math.min(16, availableParallelism()));
}

/** LiveKit's default `rtc.tcp_port` (pkg/config/config.go). */
export const LIVEKIT_DEFAULT_TCP_PORT = 7881;

/**
 * LiveKit's `--dev` defaults: key `devkey` / secret `secret`, port 7880, ICE-TCP 7881, UDP 7882, loopback only.
 * A configuration with an ephemeral UDP port (tests, benches: many servers on one machine) gets ephemeral ICE-TCP
 * ports too unless it names one, so that it never clashes on 7881.
 */
export function devConfig(overrides: ServerConfigOverrides = {}): ServerConfig {
  const bindAddresses = overrides.bindAddresses ?? ['127.0.0.1'];
  const udpPort = overrides.rtc?.udpPort ?? 7882;
  return {
    keys: overrides.keys ?? { devkey: 'secret' },
    port: overrides.port ?? 7880,
    bindAddresses,
    rtc: {
      udpPort,
      tcpPort: overrides.rtc?.tcpPort ?? (udpPort === 0 ? 'ephemeral' : LIVEKIT_DEFAULT_TCP_PORT),
      nodeIp: overrides.rtc?.nodeIp ?? bindAddresses[0] ?? '127.0.0.1',
      congestionControl: { ...LIVEKIT_DEFAULT_CONGESTION_CONTROL, ...overrides.rtc?.congestionControl },
      mediaWorkers: overrides.rtc?.mediaWorkers ?? defaultMediaWorkers(),
      roomParticipantsPerWorker: overrides.rtc?.roomParticipantsPerWorker ?? DEFAULT_ROOM_PARTICIPANTS_PER_WORKER,
      turnServers: overrides.rtc?.turnServers ?? [],
      resumeTimeoutSec: overrides.rtc?.resumeTimeoutSec ?? DEFAULT_RESUME_TIMEOUT_SEC,
      signalV1: overrides.rtc?.signalV1 ?? DEFAULT_SIGNAL_V1,
    },
    turn: { ...defaultTurnConfig(), ...overrides.turn },
    video: { dynacastPauseDelayMs: overrides.video?.dynacastPauseDelayMs ?? LIVEKIT_DEFAULT_DYNACAST_PAUSE_DELAY_MS },
    logging: { level: overrides.logging?.level ?? 'info', json: overrides.logging?.json ?? false },
    audio: { ...LIVEKIT_DEFAULT_AUDIO, ...overrides.audio },
    development: overrides.development ?? true,
    room: {
      autoCreate: overrides.room?.autoCreate ?? true,
      emptyTimeoutSec: overrides.room?.emptyTimeoutSec ?? 300,
      departureTimeoutSec: overrides.room?.departureTimeoutSec ?? 20,
      maxParticipants: overrides.room?.maxParticipants ?? 0,
      enabledCodecs: overrides.room?.enabledCodecs ?? LIVEKIT_DEFAULT_CODECS.map((mime) => ({ mime, fmtpLine: '' })),
    },
    webhook: { apiKey: overrides.webhook?.apiKey ?? '', urls: overrides.webhook?.urls ?? [] },
    prometheusPort: overrides.prometheusPort ?? 0,
    prometheusAuth: overrides.prometheusAuth ?? null,
    redis: overrides.redis ?? null,
    limit: { agentSignalMessageSizeLimit: overrides.limit?.agentSignalMessageSizeLimit ?? LIVEKIT_DEFAULT_AGENT_SIGNAL_MESSAGE_SIZE_LIMIT },
    agents: {
      enableUserDataRecording: overrides.agents?.enableUserDataRecording ?? false,
      enableUserDataRedaction: overrides.agents?.enableUserDataRedaction ?? false,
    },
    egress: {
      fileBaseDir: overrides.egress?.fileBaseDir ?? DEFAULT_EGRESS_FILE_BASE_DIR,
      ffmpegPath: overrides.egress?.ffmpegPath ?? 'ffmpeg',
      ...(overrides.egress?.s3 ? { s3: overrides.egress.s3 } : {}),
    },
    web: {
      enabled: overrides.web?.enabled ?? true,
      devTokens: overrides.web?.devTokens ?? overrides.development ?? true,
      tokenEndpoint: overrides.web?.tokenEndpoint ?? '',
      dir: overrides.web?.dir ?? '',
    },
    ingress: {
      whipBaseUrl: overrides.ingress?.whipBaseUrl ?? '',
      maxActiveStreams: overrides.ingress?.maxActiveStreams ?? DEFAULT_MAX_ACTIVE_INGRESS_STREAMS,
      rtmpPort: overrides.ingress?.rtmpPort ?? 0,
      rtmpBaseUrl: overrides.ingress?.rtmpBaseUrl ?? '',
    },
  };
}
