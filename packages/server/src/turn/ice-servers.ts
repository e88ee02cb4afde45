// The ICE servers a participant is given in its JoinResponse and ReconnectResponse (LiveKit's ICEServer list): the
// embedded TURN server's URLs with a credential of its own (docs/turn.md), then every `rtc.turn_servers` entry.
// URL forms as LiveKit writes them: turn:HOST:PORT?transport=udp|tcp and turns:DOMAIN:PORT?transport=tcp.
import { ICEServer } from '@livekit/protocol';
import type { ExternalTurnServer } from '../config/read-turn-sections.js';

/** `host` as it goes into a URL: IPv6 literals in brackets. */
function urlHost(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}

/** The ICE server entry for an outside TURN server. */
export function externalIceServer(s: ExternalTurnServer): ICEServer {
  const url = s.protocol === 'tls'
    ? `turns:${urlHost(s.host)}:${s.port}?transport=tcp`
    : `turn:${urlHost(s.host)}:${s.port}?transport=${s.protocol}`;
  return new ICEServer({ urls: [url], username: s.username, credential: s.credential });
}

/** The embedded server's URLs: UDP on the node address, TLS on the configured domain (which the certificate names). */
export function embeddedTurnUrls(opts: { nodeIp: string; udpPort: number | undefined; domain: string; tlsPort: number | undefined }): string[] {
  const urls: string[] = [];
  if (opts.udpPort !== undefined) urls.push(`turn:${urlHost(opts.nodeIp)}:${opts.udpPort}?transport=udp`);
  if (opts.tlsPort !== undefined) urls.push(`turns:${urlHost(opts.domain)}:${opts.tlsPort}?transport=tcp`);
  return urls;
}

/** Builds a participant's list; `embedded` is undefined when the embedded server is off. */
export function iceServersFor(opts: {
  embedded: { urls: string[]; username: string; credential: string } | undefined;
  external: readonly ExternalTurnServer[];
}): ICEServer[] {
  const out: ICEServer[] = [];
  if (opts.embedded !== undefined && opts.embedded.urls.length > 0) {
    out.push(new ICEServer({ urls: opts.embedded.urls, username: opts.embedded.username, credential: opts.embedded.credential }));
  }
  for (const s of opts.external) out.push(externalIceServer(s));
  return out;
}
