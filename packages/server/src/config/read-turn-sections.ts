// Readers for livekit.yaml's `turn:` section (LiveKit's pkg/config TURNConfig: the embedded TURN server) and
// `rtc.turn_servers` (outside TURN servers handed to clients as they are, e.g. coturn). docs/turn.md.
import { isIP } from 'node:net';
import { createSecureContext } from 'node:tls';
import type { YamlMap, YamlReader } from './yaml-reader.js';

export const TURN_KEYS = [
  'enabled', 'domain', 'cert_file', 'key_file', 'tls_port', 'udp_port', 'relay_range_start', 'relay_range_end', 'external_tls',
] as const;
const TURN_SERVER_KEYS = ['host', 'port', 'protocol', 'username', 'credential'] as const;
export const TURN_PROTOCOLS = ['udp', 'tcp', 'tls'] as const;
export type TurnProtocol = (typeof TURN_PROTOCOLS)[number];

/** LiveKit's defaults (pkg/config/config.go): UDP 3478, relay ports 30000-40000. TLS is off until a port is set. */
export const LIVEKIT_DEFAULT_TURN_UDP_PORT = 3478;
export const LIVEKIT_DEFAULT_TURN_RELAY_RANGE_START = 30000;
export const LIVEKIT_DEFAULT_TURN_RELAY_RANGE_END = 40000;

/** The embedded TURN server (`turn:`). */
export interface TurnConfig {
  enabled: boolean;
  /** TURN over UDP port; 0 = none. */
  udpPort: number;
  /** TURN over TLS (on TCP) port; 0 = none. Needs certFile, keyFile and domain. */
  tlsPort: number;
  /** The host name in `turns:` URLs, which the certificate must name. */
  domain: string;
  certFile: string;
  keyFile: string;
  /** Inclusive range of relay ports (the allocations' relayed addresses). */
  relayRangeStart: number;
  relayRangeEnd: number;
}

/** An outside TURN server given to clients (`rtc.turn_servers`). */
export interface ExternalTurnServer {
  host: string;
  port: number;
  protocol: TurnProtocol;
  username: string;
  credential: string;
}

export function defaultTurnConfig(): TurnConfig {
  return {
    enabled: false, udpPort: LIVEKIT_DEFAULT_TURN_UDP_PORT, tlsPort: 0, domain: '', certFile: '', keyFile: '',
    relayRangeStart: LIVEKIT_DEFAULT_TURN_RELAY_RANGE_START, relayRangeEnd: LIVEKIT_DEFAULT_TURN_RELAY_RANGE_END,
  };
}

const HOST_NAME = /^(?=.{1,253}$)([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;

/** `turn:`: only the fields the file sets; checked as a whole when enabled. */
export function readTurn(r: YamlReader, top: YamlMap): TurnConfig {
  const m = r.map(top['turn'], 'turn', TURN_KEYS);
  const base = defaultTurnConfig();
  const turn: TurnConfig = {
    enabled: r.bool(m, 'turn', 'enabled') ?? base.enabled,
    udpPort: r.port(m, 'turn', 'udp_port') ?? base.udpPort,
    tlsPort: r.port(m, 'turn', 'tls_port') ?? base.tlsPort,
    domain: r.str(m, 'turn', 'domain') ?? base.domain,
    certFile: r.str(m, 'turn', 'cert_file') ?? base.certFile,
    keyFile: r.str(m, 'turn', 'key_file') ?? base.keyFile,
    relayRangeStart: r.int(m, 'turn', 'relay_range_start', 1024, 65535) ?? base.relayRangeStart,
    relayRangeEnd: r.int(m, 'turn', 'relay_range_end', 1024, 65535) ?? base.relayRangeEnd,
  };
  if (r.bool(m, 'turn', 'external_tls') === true) {
    r.fail('turn.external_tls', 'is not supported yet: Atrium terminates TURN/TLS itself (set cert_file and key_file)');
  }
  if (!turn.enabled) return turn;
  if (turn.udpPort === 0 && turn.tlsPort === 0) r.fail('turn', 'enabled with neither udp_port nor tls_port');
  if (turn.relayRangeStart > turn.relayRangeEnd) {
    r.fail('turn.relay_range_end', `${turn.relayRangeEnd} is below relay_range_start ${turn.relayRangeStart}`);
  }
  if (turn.tlsPort !== 0) {
    if (turn.domain === '') r.fail('turn.domain', 'is required with tls_port (the name in turns: URLs, which the certificate must cover)');
    else if (!HOST_NAME.test(turn.domain) && isIP(turn.domain) === 0) r.fail('turn.domain', `'${turn.domain}' is not a host name`);
    if (turn.certFile === '') r.fail('turn.cert_file', 'is required with tls_port');
    if (turn.keyFile === '') r.fail('turn.key_file', 'is required with tls_port');
  }
  return turn;
}

/**
 * With TURN/TLS on, the certificate and key must be readable and make a usable pair: checked at load, so a wrong path
 * or a key that does not match stops start-up with the key named rather than with a stack trace.
 */
export function checkTurnTlsFiles(r: YamlReader, turn: TurnConfig, readFile: (path: string) => string): void {
  if (!turn.enabled || turn.tlsPort === 0 || turn.certFile === '' || turn.keyFile === '') return;
  const read = (key: 'cert_file' | 'key_file', path: string): string | undefined => {
    try {
      return readFile(path);
    } catch (err) {
      return r.fail(`turn.${key}`, `cannot read '${path}': ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
  };
  const cert = read('cert_file', turn.certFile);
  const key = read('key_file', turn.keyFile);
  if (cert === undefined || key === undefined) return;
  try {
    createSecureContext({ cert, key });
  } catch (err) {
    r.fail('turn.cert_file', `'${turn.certFile}' and key_file '${turn.keyFile}' are not a usable PEM certificate and key (${(err as Error).message})`);
  }
}

/** `rtc.turn_servers`: each {host, port, protocol, username, credential}. */
export function readTurnServers(r: YamlReader, rtc: YamlMap | undefined): ExternalTurnServer[] | undefined {
  const v = rtc?.['turn_servers'];
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v)) return r.fail('rtc.turn_servers', 'must be a list of {host, port, protocol, username, credential}');
  const out: ExternalTurnServer[] = [];
  v.forEach((item: unknown, i) => {
    const path = `rtc.turn_servers[${i}]`;
    const m = r.map(item, path, TURN_SERVER_KEYS);
    if (m === undefined) return void (item === null && r.fail(path, 'must be a map {host, port, protocol, username, credential}'));
    const host = r.str(m, path, 'host');
    const port = r.int(m, path, 'port', 1, 65535);
    const protocol = r.str(m, path, 'protocol');
    if (host === undefined || host === '') return void (m['host'] === undefined && r.fail(`${path}.host`, 'missing'));
    if (!HOST_NAME.test(host) && isIP(host) === 0) return void r.fail(`${path}.host`, `'${host}' is not a host name or IP address`);
    if (port === undefined) return void (m['port'] === undefined && r.fail(`${path}.port`, 'missing'));
    if (protocol === undefined) return void (m['protocol'] === undefined && r.fail(`${path}.protocol`, 'missing (udp, tcp or tls)'));
    if (!(TURN_PROTOCOLS as readonly string[]).includes(protocol)) return void r.fail(`${path}.protocol`, `'${protocol}' is not one of udp, tcp, tls`);
    out.push({
      host, port, protocol: protocol as TurnProtocol,
      username: r.str(m, path, 'username') ?? '',
      credential: r.str(m, path, 'credential') ?? '',
    });
  });
  return out;
}
