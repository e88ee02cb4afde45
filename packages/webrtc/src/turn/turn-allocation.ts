// One TURN allocation (RFC 8656 section 2.2): the client's 5-tuple, its relayed transport address (a UDP socket),
// its lifetime, and the permissions (per peer IP, section 9) and channel bindings (per peer address, section 12)
// installed on it. Expiry is by time comparison against the injected clock, so a lookup never returns something
// that has expired even between sweeps.
import type { RelaySocket } from './relay-socket.js';

/** RFC 8656 section 9: a permission lasts 300 s unless refreshed. */
export const PERMISSION_LIFETIME_MS = 300_000;
/** RFC 8656 section 12: a channel binding lasts 10 minutes unless refreshed. */
export const CHANNEL_LIFETIME_MS = 600_000;

export interface TurnClientPath {
  /** Identifies the 5-tuple: transport, client address and port, server port (or the TCP/TLS connection). */
  readonly key: string;
  readonly transport: 'udp' | 'tcp' | 'tls';
  readonly remoteAddress: string;
  readonly remotePort: number;
  /** Stream transports carry ChannelData padded to 4 bytes (RFC 8656 12.5). */
  readonly isStream: boolean;
  send(message: Buffer): void;
  /** Stream transports: true once the connection is gone (an Allocate finishing after that must not leave a relay). */
  isClosed?(): boolean;
}

interface ChannelBinding {
  channel: number;
  peerAddress: string;
  peerPort: number;
  expiresAtMs: number;
}

export const peerKey = (address: string, port: number): string => `${address}|${port}`;

export class TurnAllocation {
  readonly client: TurnClientPath;
  readonly username: string;
  /** The long-term key of the username (MD5(username:realm:password)), for responses to its requests. */
  readonly integrityKey: Buffer;
  readonly relay: RelaySocket;
  /** The transaction that created it, to answer a retransmitted Allocate with the same success (RFC 8656 7.2). */
  readonly createdBy: string;
  createdResponse: Buffer | undefined;
  expiresAtMs: number;
  private readonly permissions = new Map<string, number>();
  private readonly channels = new Map<number, ChannelBinding>();
  private readonly channelByPeer = new Map<string, ChannelBinding>();
  /** Relayed datagrams, each way, and drops for want of a permission. */
  readonly stats = { toPeerPackets: 0, toClientPackets: 0, droppedNoPermission: 0 };

  constructor(opts: {
    client: TurnClientPath; username: string; integrityKey: Buffer; relay: RelaySocket; createdBy: string; expiresAtMs: number;
  }) {
    this.client = opts.client;
    this.username = opts.username;
    this.integrityKey = opts.integrityKey;
    this.relay = opts.relay;
    this.createdBy = opts.createdBy;
    this.expiresAtMs = opts.expiresAtMs;
  }

  isExpired(nowMs: number): boolean {
    return nowMs >= this.expiresAtMs;
  }

  get permissionCount(): number {
    return this.permissions.size;
  }
  get channelCount(): number {
    return this.channels.size;
  }

  /** Installs or refreshes the permission for `peerAddress` (an IP; ports do not matter, RFC 8656 9). */
  permit(peerAddress: string, nowMs: number): void {
    this.permissions.set(peerAddress, nowMs + PERMISSION_LIFETIME_MS);
  }

  hasPermission(peerAddress: string, nowMs: number): boolean {
    const until = this.permissions.get(peerAddress);
    return until !== undefined && nowMs < until;
  }

  /** The peer bound to `channel`, if the binding is current. */
  channelPeer(channel: number, nowMs: number): ChannelBinding | undefined {
    const b = this.channels.get(channel);
    return b !== undefined && nowMs < b.expiresAtMs ? b : undefined;
  }

  /** The channel bound to a peer address, if current. */
  channelFor(peerAddress: string, peerPort: number, nowMs: number): number | undefined {
    const b = this.channelByPeer.get(peerKey(peerAddress, peerPort));
    return b !== undefined && nowMs < b.expiresAtMs ? b.channel : undefined;
  }

  /**
   * Binds or refreshes `channel` to the peer (RFC 8656 11.2). Refused when the channel is bound to another peer or the
   * peer to another channel, expired bindings included: RFC 8656 section 12 keeps them reserved until swept.
   */
  bindChannel(channel: number, peerAddress: string, peerPort: number, nowMs: number): boolean {
    const existing = this.channels.get(channel);
    const other = this.channelByPeer.get(peerKey(peerAddress, peerPort));
    if (existing !== undefined && (existing.peerAddress !== peerAddress || existing.peerPort !== peerPort)) return false;
    if (other !== undefined && other.channel !== channel) return false;
    const binding = existing ?? { channel, peerAddress, peerPort, expiresAtMs: 0 };
    binding.expiresAtMs = nowMs + CHANNEL_LIFETIME_MS;
    this.channels.set(channel, binding);
    this.channelByPeer.set(peerKey(peerAddress, peerPort), binding);
    // A channel binding also installs or refreshes the permission for the peer's IP.
    this.permit(peerAddress, nowMs);
    return true;
  }

  /**
   * Drops expired permissions, and channel bindings 5 minutes after they expired (RFC 8656 section 12: a channel
   * is not reused for another peer until then).
   */
  sweep(nowMs: number): void {
    for (const [ip, until] of this.permissions) if (nowMs >= until) this.permissions.delete(ip);
    for (const [n, b] of this.channels) {
      if (nowMs >= b.expiresAtMs + PERMISSION_LIFETIME_MS) {
        this.channels.delete(n);
        this.channelByPeer.delete(peerKey(b.peerAddress, b.peerPort));
      }
    }
  }
}
