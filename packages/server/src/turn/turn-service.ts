// The embedded TURN server as a service of Atrium (docs/turn.md): listens on `turn.udp_port` (UDP) and `turn.tls_port`
// (TLS on TCP), relays from ports of `turn.relay_range_start..end` on the node address, and hands each participant a
// credential of its own that expires (TURN REST style, keyed by a secret made at start). The relay only reaches this
// server's own media addresses: it is a way in to Atrium, not an open relay into the network it runs in.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Clock, Logger } from '@atrium/webrtc';
import {
  TurnRestCredentials, TurnServer, TurnStreamListener, TurnUdpListener, UdpRelaySocketFactory,
} from '@atrium/webrtc/turn/index.js';
import type { ICEServer } from '@livekit/protocol';
import type { ServerConfig } from '../config/server-config.js';
import { embeddedTurnUrls, iceServersFor } from './ice-servers.js';

/** The realm LiveKit's embedded TURN uses. */
export const TURN_REALM = 'livekit';
/**
 * How long a participant's credential may open new allocations. An allocation made in time keeps working for the
 * rest of the session (Chromium refreshes it with the same username); a resume brings a fresh credential.
 */
export const TURN_CREDENTIAL_TTL_SEC = 3600;

export interface TurnService {
  readonly udpPort: number | undefined;
  readonly tlsPort: number | undefined;
  readonly server: TurnServer | undefined;
  /** The TLS listener's counters (connections, failed handshakes), undefined without TLS. */
  readonly tlsStats: TurnStreamListener['stats'] | undefined;
  /** Embedded-server credentials handed out so far (one per JoinResponse and ReconnectResponse). */
  readonly credentialsIssued: number;
  /** The JoinResponse/ReconnectResponse ice_servers for one participant. */
  iceServers(participant: { sid: string; identity: string }): ICEServer[];
  close(): Promise<void>;
}

export async function startTurnService(config: ServerConfig, opts: { clock: Clock; logger: Logger; bindAddress: string }): Promise<TurnService> {
  const external = config.rtc.turnServers;
  const turn = config.turn;
  if (!turn.enabled) {
    return {
      udpPort: undefined, tlsPort: undefined, server: undefined, tlsStats: undefined, credentialsIssued: 0,
      iceServers: () => iceServersFor({ embedded: undefined, external }),
      close: async () => {},
    };
  }
  const nodeIp = config.rtc.nodeIp || opts.bindAddress;
  // The relay may reach this node's own addresses only (where the media ports are).
  const ownAddresses = new Set([nodeIp, opts.bindAddress, ...config.bindAddresses]);
  const server = new TurnServer({
    realm: TURN_REALM,
    clock: opts.clock,
    logger: opts.logger,
    relays: new UdpRelaySocketFactory({ bindAddress: opts.bindAddress, relayAddress: nodeIp, portMin: turn.relayRangeStart, portMax: turn.relayRangeEnd }),
    isPeerAllowed: (address) => ownAddresses.has(address),
    passwordOf: (username, { forNewAllocation }) => {
      const now = opts.clock.wallMs() / 1000;
      const c = credentials.check(username, forNewAllocation ? now : 0);
      return c.ok ? c.password : undefined;
    },
    software: 'atrium',
  });
  const credentials = new TurnRestCredentials(randomBytes(32));
  let udp: TurnUdpListener | undefined;
  let tls: TurnStreamListener | undefined;
  try {
    if (turn.udpPort !== 0) udp = await TurnUdpListener.listen(server, { address: opts.bindAddress, port: turn.udpPort });
    if (turn.tlsPort !== 0) {
      tls = await TurnStreamListener.listen(server, {
        address: opts.bindAddress, port: turn.tlsPort,
        tls: { cert: readFileSync(turn.certFile), key: readFileSync(turn.keyFile) },
      });
    }
  } catch (err) {
    server.close();
    await udp?.close();
    throw new Error(`TURN: ${(err as Error).message}`, { cause: err });
  }
  const urls = embeddedTurnUrls({ nodeIp, udpPort: udp?.port, domain: turn.domain, tlsPort: tls?.port });
  opts.logger.info({ udpPort: udp?.port, tlsPort: tls?.port, relayRange: `${turn.relayRangeStart}-${turn.relayRangeEnd}`, urls }, 'TURN server listening');
  let issued = 0;
  return {
    get credentialsIssued() {
      return issued;
    },
    udpPort: udp?.port,
    tlsPort: tls?.port,
    server,
    tlsStats: tls?.stats,
    iceServers(participant) {
      const c = credentials.issue(participant.sid, opts.clock.wallMs() / 1000, TURN_CREDENTIAL_TTL_SEC);
      issued++;
      return iceServersFor({ embedded: { urls, username: c.username, credential: c.password }, external });
    },
    async close() {
      server.close();
      await Promise.all([udp?.close(), tls?.close()]);
    },
  };
}
