// Loads a LiveKit-compatible configuration: livekit.yaml text (--config FILE or LIVEKIT_CONFIG), --dev,
// --keys / LIVEKIT_KEYS, then command-line flags, into a ServerConfig. Problems stop start-up (ConfigError).
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { networkInterfaces as osNetworkInterfaces } from 'node:os';
import type { NetworkInterfaceInfo } from 'node:os';
import { parse as parseYaml } from 'yaml';
import { ConfigError } from './config-error.js';
import { LOG_LEVELS, MAX_RESUME_TIMEOUT_SEC, devConfig } from './server-config.js';
import type { CodecSpec, LogLevel, RedisConfig, ServerConfig, ServerConfigOverrides } from './server-config.js';
import { YamlReader } from './yaml-reader.js';
import type { YamlMap } from './yaml-reader.js';
import { unhonouredSettings } from './unsupported-settings.js';
import { readAudio, readPrometheus } from './read-sections.js';
import { readCongestionControl, readVideo } from './read-media-sections.js';
import { readAgents, readLimit } from './read-agent-sections.js';
import { checkTurnTlsFiles, readTurn, readTurnServers } from './read-turn-sections.js';
import { readEgress } from './read-egress-section.js';
import { DEFAULT_RTMP_PORT, readIngress } from './read-ingress-section.js';
import { readWeb } from './read-web-section.js';
import type { FileOnlySettings } from './unsupported-settings.js';

export interface ConfigSources {
  /** livekit.yaml text (the file named by --config, or LIVEKIT_CONFIG). */
  yaml?: string;
  /** --dev: development keys (devkey/secret) unless keys are given, loopback binding unless addresses are given. */
  dev?: boolean;
  /** --keys or LIVEKIT_KEYS: YAML "key: secret" lines; replace the file's keys. */
  keys?: string;
  /** Which of --keys / LIVEKIT_KEYS `keys` came from, for messages. */
  keysSource?: string;
  /** Command-line flags; override the file. */
  flags?: ServerConfigOverrides;
  /** Reads `key_file` (default: fs, relative to the working directory). */
  readFile?: (path: string) => string;
  /** Picks rtc.node_ip for wildcard binding (default: os.networkInterfaces). */
  networkInterfaces?: () => NodeJS.Dict<NetworkInterfaceInfo[]>;
}

const TOP_KEYS = ['port', 'bind_addresses', 'rtc', 'keys', 'key_file', 'logging', 'room', 'webhook', 'redis', 'prometheus_port', 'prometheus', 'audio', 'video', 'development', 'limit', 'agents', 'turn', 'egress', 'ingress', 'web'] as const;
const RTC_KEYS = [
  'udp_port', 'port_range_start', 'port_range_end', 'tcp_port', 'node_ip', 'use_external_ip', 'congestion_control', 'media_workers',
  'room_participants_per_worker', 'turn_servers', 'resume_timeout', 'signal_v1',
] as const;
const LOGGING_KEYS = ['level', 'json'] as const;
const ROOM_KEYS = ['auto_create', 'empty_timeout', 'departure_timeout', 'max_participants', 'enabled_codecs'] as const;
const WEBHOOK_KEYS = ['api_key', 'urls'] as const;
const REDIS_KEYS = [
  'address',
  'username',
  'password',
  'db',
  'use_tls',
  'sentinel_master_name',
  'sentinel_username',
  'sentinel_password',
  'sentinel_addresses',
  'cluster_addresses',
  'max_redirects',
] as const;
const U32_MAX = 0xffffffff;
const WILDCARDS = ['0.0.0.0', '::'];

function isLogLevel(x: string): x is LogLevel {
  return (LOG_LEVELS as readonly string[]).includes(x);
}

/** Parses "key: secret" lines (--keys, LIVEKIT_KEYS, key_file); every value is read as a string. */
export function parseKeys(text: string, source: string, r: YamlReader): Record<string, string> | undefined {
  let doc: unknown;
  try {
    doc = parseYaml(text, { schema: 'failsafe' });
  } catch (err) {
    return r.fail(source, `not a "key: secret" list (${(err as Error).message.split('\n')[0]})`);
  }
  if (doc === null || doc === undefined || typeof doc === 'string') return r.fail(source, 'not a "key: secret" list');
  if (typeof doc === 'object' && !Array.isArray(doc) && Object.keys(doc).length === 0) return r.fail(source, 'no keys');
  return r.secrets(doc, source);
}

function readCodecs(r: YamlReader, room: YamlMap | undefined): CodecSpec[] | undefined {
  const v = room?.['enabled_codecs'];
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v)) return r.fail('room.enabled_codecs', 'must be a list of {mime, fmtp_line}');
  const out: CodecSpec[] = [];
  v.forEach((item: unknown, i) => {
    const path = `room.enabled_codecs[${i}]`;
    const m = r.map(item, path, ['mime', 'fmtp_line']);
    if (m === undefined) return void (item === null && r.fail(path, 'must be a map {mime, fmtp_line}'));
    const mime = r.str(m, path, 'mime');
    if (mime === undefined) return void (m['mime'] === undefined && r.fail(`${path}.mime`, 'missing'));
    if (!/^(audio|video)\/[A-Za-z0-9.+-]+$/.test(mime)) return void r.fail(`${path}.mime`, `'${mime}' is not audio/NAME or video/NAME`);
    out.push({ mime, fmtpLine: r.str(m, path, 'fmtp_line') ?? '' });
  });
  return out;
}

function readRedis(r: YamlReader, top: YamlMap): RedisConfig | null | undefined {
  const m = r.map(top['redis'], 'redis', REDIS_KEYS);
  if (m === undefined) return undefined;
  const isEmpty = (v: unknown): boolean => v === null || v === '' || v === 0 || v === false || (Array.isArray(v) && v.length === 0);
  if (Object.values(m).every(isEmpty)) return null;
  return {
    address: r.str(m, 'redis', 'address') ?? '',
    username: r.str(m, 'redis', 'username') ?? '',
    password: r.str(m, 'redis', 'password') ?? '',
    db: r.int(m, 'redis', 'db', 0, 1024) ?? 0,
    useTls: r.bool(m, 'redis', 'use_tls') ?? false,
  };
}

function pickNodeIp(ifaces: NodeJS.Dict<NetworkInterfaceInfo[]>): string | undefined {
  for (const list of Object.values(ifaces)) {
    for (const i of list ?? []) if (i.family === 'IPv4' && !i.internal) return i.address;
  }
  return undefined;
}

/** Builds the configuration or throws ConfigError listing every problem, each with its key. */
export function loadConfig(sources: ConfigSources = {}): ServerConfig {
  const r = new YamlReader();
  let doc: unknown;
  if (sources.yaml !== undefined) {
    try {
      doc = parseYaml(sources.yaml, { prettyErrors: true, uniqueKeys: true });
    } catch (err) {
      throw new ConfigError([{ key: '(yaml)', message: (err as Error).message.split('\n')[0] ?? 'parse error' }]);
    }
  }
  const top = r.map(doc ?? {}, '(top level)', TOP_KEYS) ?? {};
  const rtc = r.map(top['rtc'], 'rtc', RTC_KEYS);
  const logging = r.map(top['logging'], 'logging', LOGGING_KEYS);
  const room = r.map(top['room'], 'room', ROOM_KEYS);
  const webhook = r.map(top['webhook'], 'webhook', WEBHOOK_KEYS);
  // Unknown keys at the top level are reported without the '(top level).' prefix.
  for (const i of r.issues) i.key = i.key.replace(/^\(top level\)\./, '');

  const development = sources.dev === true || r.bool(top, '', 'development') === true;
  const base = devConfig({ development, bindAddresses: development ? ['127.0.0.1'] : ['0.0.0.0'], keys: {} });

  // Keys: --keys / LIVEKIT_KEYS replace the file's keys and key_file; --dev supplies devkey only when none are given.
  let keys: Record<string, string> = {};
  if (sources.keys !== undefined) {
    keys = parseKeys(sources.keys, sources.keysSource ?? '--keys', r) ?? {};
  } else {
    Object.assign(keys, r.secrets(top['keys'], 'keys') ?? {});
    const keyFile = r.str(top, '', 'key_file');
    if (keyFile !== undefined) {
      let text: string | undefined;
      try {
        text = (sources.readFile ?? ((p: string) => readFileSync(p, 'utf8')))(keyFile);
      } catch (err) {
        r.fail('key_file', `cannot read '${keyFile}': ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
      }
      const fromFile = text === undefined ? undefined : parseKeys(text, `key_file (${keyFile})`, r);
      for (const [k, s] of Object.entries(fromFile ?? {})) {
        if (keys[k] !== undefined && keys[k] !== s) r.fail(`key_file`, `key '${k}' is also in keys with another secret`);
        keys[k] = s;
      }
    }
  }
  if (Object.keys(keys).length === 0 && development) keys = { devkey: 'secret' };

  const bindRaw = r.strList(top, '', 'bind_addresses');
  const bindAddresses = bindRaw?.map((a) => (a === '' ? '0.0.0.0' : a));
  bindAddresses?.forEach((a, i) => {
    if (isIP(a) === 0) r.fail(`bind_addresses[${i}]`, `'${a}' is not an IP address`);
  });
  if (bindAddresses !== undefined && bindAddresses.length === 0) r.fail('bind_addresses', 'is empty');
  const nodeIp = r.str(rtc, 'rtc', 'node_ip');
  if (nodeIp !== undefined && isIP(nodeIp) === 0) r.fail('rtc.node_ip', `'${nodeIp}' is not an IP address`);

  const levelRaw = r.str(logging, 'logging', 'level');
  let level: LogLevel | undefined;
  if (levelRaw !== undefined) {
    if (isLogLevel(levelRaw)) level = levelRaw;
    else r.fail('logging.level', `'${levelRaw}' is not one of ${LOG_LEVELS.join(', ')}`);
  }

  const udpPortRaw = rtc?.['udp_port'];
  const udpPort = typeof udpPortRaw === 'string' ? r.fail('rtc.udp_port', `port ranges ('${udpPortRaw}') are not supported yet: give one port`) : r.port(rtc, 'rtc', 'udp_port');

  const webhookUrls = r.strList(webhook, 'webhook', 'urls') ?? [];
  webhookUrls.forEach((u, i) => {
    let ok = false;
    try {
      ok = ['http:', 'https:'].includes(new URL(u).protocol);
    } catch {
      ok = false;
    }
    if (!ok) r.fail(`webhook.urls[${i}]`, `'${u}' is not an http(s) URL`);
  });
  const webhookKey = r.str(webhook, 'webhook', 'api_key') ?? '';

  const audioSection = readAudio(r, top);
  const congestionControl = readCongestionControl(r, rtc);
  const video = readVideo(r, top);
  const prometheus = readPrometheus(r, top);
  const limit = readLimit(r, top);
  const agentsSection = readAgents(r, top);
  const turn = readTurn(r, top);
  checkTurnTlsFiles(r, turn, sources.readFile ?? ((p: string) => readFileSync(p, 'utf8')));
  const turnServers = readTurnServers(r, rtc);
  const egressSection = readEgress(r, top);
  const ingressSection = readIngress(r, top);
  const webSection = readWeb(r, top);

  const fileOnly: FileOnlySettings = {
    portRangeStart: r.port(rtc, 'rtc', 'port_range_start') ?? 0,
    portRangeEnd: r.port(rtc, 'rtc', 'port_range_end') ?? 0,
    useExternalIp: r.bool(rtc, 'rtc', 'use_external_ip') ?? false,
    enableLossProxying: audioSection.enableLossProxying,
    agents: agentsSection,
  };

  const file: ServerConfigOverrides = {
    port: r.port(top, '', 'port'),
    bindAddresses,
    rtc: {
      udpPort, nodeIp, congestionControl,
      tcpPort: r.port(rtc, 'rtc', 'tcp_port'),
      mediaWorkers: r.int(rtc, 'rtc', 'media_workers', 0, 64),
      roomParticipantsPerWorker: r.int(rtc, 'rtc', 'room_participants_per_worker', 1, U32_MAX),
      resumeTimeoutSec: r.int(rtc, 'rtc', 'resume_timeout', 0, MAX_RESUME_TIMEOUT_SEC),
      signalV1: r.bool(rtc, 'rtc', 'signal_v1'),
    },
    video,
    logging: { level, json: r.bool(logging, 'logging', 'json') },
    room: {
      autoCreate: r.bool(room, 'room', 'auto_create'),
      emptyTimeoutSec: r.int(room, 'room', 'empty_timeout', 0, U32_MAX),
      departureTimeoutSec: r.int(room, 'room', 'departure_timeout', 0, U32_MAX),
      maxParticipants: r.int(room, 'room', 'max_participants', 0, U32_MAX),
      enabledCodecs: readCodecs(r, room),
    },
    webhook: { apiKey: webhookKey, urls: webhookUrls },
    prometheusPort: prometheus.port,
    redis: readRedis(r, top),
  };

  const flags = sources.flags ?? {};
  const pick = <T>(...xs: (T | undefined)[]): T | undefined => xs.find((x) => x !== undefined);
  const effectiveUdpPort = pick(flags.rtc?.udpPort, file.rtc?.udpPort) ?? base.rtc.udpPort;
  const config: ServerConfig = {
    keys: flags.keys ?? keys,
    port: pick(flags.port, file.port) ?? base.port,
    bindAddresses: pick(flags.bindAddresses, file.bindAddresses) ?? base.bindAddresses,
    rtc: {
      udpPort: effectiveUdpPort,
      // LiveKit's default 7881 when absent; with an ephemeral UDP port (udp_port: 0, an Atrium case) ephemeral too, so
      // servers started that way (tests, benches) never clash on 7881.
      tcpPort: pick(flags.rtc?.tcpPort, file.rtc?.tcpPort) ?? (effectiveUdpPort === 0 ? 'ephemeral' : base.rtc.tcpPort),
      nodeIp: pick(flags.rtc?.nodeIp, file.rtc?.nodeIp) ?? '',
      congestionControl: { ...base.rtc.congestionControl, ...congestionControl, ...flags.rtc?.congestionControl },
      mediaWorkers: pick(flags.rtc?.mediaWorkers, file.rtc?.mediaWorkers) ?? base.rtc.mediaWorkers,
      roomParticipantsPerWorker: pick(flags.rtc?.roomParticipantsPerWorker, file.rtc?.roomParticipantsPerWorker) ?? base.rtc.roomParticipantsPerWorker,
      turnServers: pick(flags.rtc?.turnServers, turnServers) ?? base.rtc.turnServers,
      resumeTimeoutSec: pick(flags.rtc?.resumeTimeoutSec, file.rtc?.resumeTimeoutSec) ?? base.rtc.resumeTimeoutSec,
      signalV1: pick(flags.rtc?.signalV1, file.rtc?.signalV1) ?? base.rtc.signalV1,
    },
    turn: { ...turn, ...Object.fromEntries(Object.entries(flags.turn ?? {}).filter(([, v]) => v !== undefined)) },
    video: { dynacastPauseDelayMs: pick(flags.video?.dynacastPauseDelayMs, video.dynacastPauseDelayMs) ?? base.video.dynacastPauseDelayMs },
    logging: {
      level: pick(flags.logging?.level, file.logging?.level) ?? base.logging.level,
      json: pick(flags.logging?.json, file.logging?.json) ?? base.logging.json,
    },
    audio: { ...base.audio, ...audioSection.audio, ...Object.fromEntries(Object.entries(flags.audio ?? {}).filter(([, v]) => v !== undefined)) },
    development,
    room: {
      autoCreate: pick(flags.room?.autoCreate, file.room?.autoCreate) ?? base.room.autoCreate,
      emptyTimeoutSec: pick(flags.room?.emptyTimeoutSec, file.room?.emptyTimeoutSec) ?? base.room.emptyTimeoutSec,
      departureTimeoutSec: pick(flags.room?.departureTimeoutSec, file.room?.departureTimeoutSec) ?? base.room.departureTimeoutSec,
      maxParticipants: pick(flags.room?.maxParticipants, file.room?.maxParticipants) ?? base.room.maxParticipants,
      enabledCodecs: pick(flags.room?.enabledCodecs, file.room?.enabledCodecs) ?? base.room.enabledCodecs,
    },
    webhook: { apiKey: webhookKey, urls: webhookUrls },
    prometheusPort: pick(flags.prometheusPort, file.prometheusPort) ?? base.prometheusPort,
    prometheusAuth: flags.prometheusAuth !== undefined ? flags.prometheusAuth : prometheus.auth,
    redis: pick(flags.redis, file.redis) ?? null,
    limit: {
      agentSignalMessageSizeLimit:
        pick(flags.limit?.agentSignalMessageSizeLimit, limit.agentSignalMessageSizeLimit) ?? base.limit.agentSignalMessageSizeLimit,
    },
    agents: {
      enableUserDataRecording: pick(flags.agents?.enableUserDataRecording, agentsSection.enableUserDataRecording) ?? base.agents.enableUserDataRecording,
      enableUserDataRedaction: pick(flags.agents?.enableUserDataRedaction, agentsSection.enableUserDataRedaction) ?? base.agents.enableUserDataRedaction,
    },
    egress: {
      fileBaseDir: pick(flags.egress?.fileBaseDir, egressSection.fileBaseDir) ?? base.egress.fileBaseDir,
      ffmpegPath: pick(flags.egress?.ffmpegPath, egressSection.ffmpegPath) ?? base.egress.ffmpegPath,
      ...((flags.egress?.s3 ?? egressSection.s3) ? { s3: flags.egress?.s3 ?? egressSection.s3 } : {}),
    },
    ingress: {
      whipBaseUrl: pick(flags.ingress?.whipBaseUrl, ingressSection.whipBaseUrl) ?? base.ingress.whipBaseUrl,
      maxActiveStreams: pick(flags.ingress?.maxActiveStreams, ingressSection.maxActiveStreams) ?? base.ingress.maxActiveStreams,
      rtmpPort: pick(flags.ingress?.rtmpPort, ingressSection.rtmpPort) ?? (development ? DEFAULT_RTMP_PORT : 0),
      rtmpBaseUrl: pick(flags.ingress?.rtmpBaseUrl, ingressSection.rtmpBaseUrl) ?? base.ingress.rtmpBaseUrl,
    },
    web: {
      enabled: pick(flags.web?.enabled, webSection.enabled) ?? base.web.enabled,
      // the token endpoints hand out tokens to anyone who asks: only when asked for, or in development
      devTokens: pick(flags.web?.devTokens, webSection.devTokens) ?? development,
      tokenEndpoint: pick(flags.web?.tokenEndpoint, webSection.tokenEndpoint) ?? base.web.tokenEndpoint,
      dir: pick(flags.web?.dir, webSection.dir) ?? base.web.dir,
    },
  };

  // rtc.node_ip: given, else the first bind address, else (wildcard binding) the first external IPv4 address.
  const first = config.bindAddresses[0] ?? '127.0.0.1';
  if (config.rtc.nodeIp === '') {
    if (!WILDCARDS.includes(first)) config.rtc.nodeIp = first;
    else {
      const picked = pickNodeIp((sources.networkInterfaces ?? osNetworkInterfaces)());
      if (picked !== undefined) config.rtc.nodeIp = picked;
      else r.fail('rtc.node_ip', `binding ${first} needs rtc.node_ip (--node-ip): the address clients reach this server at`);
    }
  }

  const keysReported = r.issues.some((i) => /^(keys|key_file|--keys|LIVEKIT_KEYS)\b/.test(i.key));
  if (Object.keys(config.keys).length === 0 && !keysReported) {
    r.fail('keys', 'no API keys: set keys or key_file, --keys or LIVEKIT_KEYS (or use --dev)');
  }
  if (config.webhook.urls.length > 0) {
    if (config.webhook.apiKey === '') r.fail('webhook.api_key', 'is required when webhook.urls is set');
    else if (config.keys[config.webhook.apiKey] === undefined) r.fail('webhook.api_key', `'${config.webhook.apiKey}' is not one of the API keys`);
  }
  for (const issue of unhonouredSettings(config, fileOnly)) r.issues.push(issue);

  if (r.issues.length > 0) throw new ConfigError(r.issues);
  return config;
}
