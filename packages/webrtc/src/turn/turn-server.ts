// The TURN server core (RFC 8656, https://www.rfc-editor.org/rfc/rfc8656), independent of sockets: listeners hand it
// each message with the path it came on (turn-udp-listener.ts, turn-stream-listener.ts), relay sockets hand it what
// peers send. Long-term credentials (RFC 8489 9.2) with stateless nonces; UDP relaying only; allocations, permissions
// and channels expire on the injected clock. Bad input never throws: it gets an error response or is dropped.
import { randomBytes } from 'node:crypto';
import type { Clock, TimerHandle } from '../clock.js';
import type { Logger } from '../logger.js';
import { silentLogger } from '../logger.js';
import { StunAttr, StunClass, StunMethod } from '../stun/stun-constants.js';
import {
  encodeErrorCode, encodeUint32, encodeXorMappedAddress, stunAddressOf,
} from '../stun/stun-attributes.js';
import { encodeStunMessage, getStunAttribute, parseStunMessage } from '../stun/stun-message.js';
import type { StunAttribute, StunMessage } from '../stun/stun-message.js';
import { CHANNEL_DATA_HEADER_BYTES, encodeChannelData, isValidChannelNumber, looksLikeChannelData } from './channel-data.js';
import { TurnAllocation } from './turn-allocation.js';
import type { TurnClientPath } from './turn-allocation.js';
import {
  TRANSPORT_UDP, channelNumber, encodeUnknownAttributes, lifetimeSec, requestedAddressFamily, requestedTransport,
  unknownRequiredAttributes, xorPeerAddresses,
} from './turn-attributes.js';
import { TURN_ERROR_REASONS, TurnError } from './turn-errors.js';
import { TurnAuthenticator } from './turn-auth.js';
import type { TurnPasswordLookup } from './turn-auth.js';
import type { RelaySocketFactory } from './relay-socket.js';

/** RFC 8656 section 7.2: 10 minutes unless the client asks for more; at most an hour here (coturn's default cap). */
export const DEFAULT_ALLOCATION_LIFETIME_SEC = 600;
export const MAX_ALLOCATION_LIFETIME_SEC = 3600;

export interface TurnServerOptions {
  realm: string;
  passwordOf: TurnPasswordLookup;
  relays: RelaySocketFactory;
  clock: Clock;
  logger?: Logger;
  /** Whether the relay may send to this peer IP (403 Forbidden otherwise). Default: every peer. */
  isPeerAllowed?: (address: string) => boolean;
  /** Allocations per username at once (486 beyond). */
  maxAllocationsPerUser?: number;
  /** Allocations in total (508 beyond). */
  maxAllocations?: number;
  /** Permissions and channel bindings per allocation (508 beyond). */
  maxPermissionsPerAllocation?: number;
  nonceLifetimeMs?: number;
  software?: string;
}

export const DEFAULT_MAX_ALLOCATIONS_PER_USER = 16;
export const DEFAULT_MAX_ALLOCATIONS = 1000;
export const DEFAULT_MAX_PERMISSIONS_PER_ALLOCATION = 64;
const SWEEP_INTERVAL_MS = 1000;

export interface TurnServerStats {
  allocations: number;
  requests: number;
  errorResponses: number;
  /** Messages dropped: unparseable, indications/ChannelData without an allocation. */
  dropped: number;
  /** Datagrams relayed client -> peer and peer -> client, and refused for want of a permission (both ways). */
  relayedToPeer: number;
  relayedToClient: number;
  droppedNoPermission: number;
}

export class TurnServer {
  private readonly opts: TurnServerOptions;
  private readonly logger: Logger;
  private readonly auth: TurnAuthenticator;
  private readonly allocations = new Map<string, TurnAllocation>();
  /** Allocations being created (relay socket binding), counted against the quotas. */
  private readonly pending = new Map<string, string>();
  private readonly sweepTimer: TimerHandle;
  private closed = false;
  private readonly counters = { requests: 0, errorResponses: 0, dropped: 0, relayedToPeer: 0, relayedToClient: 0, droppedNoPermission: 0 };

  constructor(opts: TurnServerOptions) {
    this.opts = opts;
    this.logger = opts.logger ?? silentLogger;
    this.auth = new TurnAuthenticator({
      realm: opts.realm, passwordOf: opts.passwordOf, ...(opts.nonceLifetimeMs !== undefined ? { nonceLifetimeMs: opts.nonceLifetimeMs } : {}),
    });
    this.sweepTimer = opts.clock.setInterval(() => this.sweep(), SWEEP_INTERVAL_MS);
    this.sweepTimer.unref?.();
  }

  get stats(): TurnServerStats {
    return { allocations: this.allocations.size, ...this.counters };
  }

  /** The allocation of a client path (tests, diagnostics). */
  allocationOf(pathKey: string): TurnAllocation | undefined {
    return this.allocations.get(pathKey);
  }

  /** One message from a client (a UDP datagram, or one framed message of a stream). Never throws. */
  handleClientMessage(buf: Buffer, path: TurnClientPath): void {
    if (this.closed) return;
    try {
      if (looksLikeChannelData(buf)) return this.onChannelData(buf, path);
      const parsed = parseStunMessage(buf);
      if (!parsed.ok) return void this.counters.dropped++;
      this.onStun(parsed.message, path);
    } catch (err) {
      // A bug must not take the process down with it; the message is dropped and logged.
      this.counters.dropped++;
      this.logger.warn({ err: String(err), client: path.key }, 'TURN message handling failed');
    }
  }

  /** The client's stream (TCP/TLS) closed: its allocation goes with it (RFC 8656 section 4). */
  clientClosed(pathKey: string): void {
    this.deleteAllocation(pathKey, 'connection closed');
  }

  /** Deletes every allocation and stops the sweep. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.opts.clock.clearInterval(this.sweepTimer);
    for (const key of [...this.allocations.keys()]) this.deleteAllocation(key, 'server closing');
  }

  private now(): number {
    return this.opts.clock.nowMs();
  }

  private onStun(msg: StunMessage, path: TurnClientPath): void {
    if (msg.cls === StunClass.indication) {
      if (msg.method === StunMethod.send) this.onSend(msg, path);
      else this.counters.dropped++;
      return;
    }
    if (msg.cls !== StunClass.request) return void this.counters.dropped++;
    this.counters.requests++;
    if (msg.method === StunMethod.binding) {
      // A TURN server is a STUN server too (RFC 8656 section 4): no authentication for Binding.
      return void this.respond(path, msg, StunClass.success, [
        { type: StunAttr.xorMappedAddress, value: encodeXorMappedAddress(stunAddressOf(path.remoteAddress, path.remotePort), msg.transactionId) },
      ]);
    }
    const methods: number[] = [StunMethod.allocate, StunMethod.refresh, StunMethod.createPermission, StunMethod.channelBind];
    if (!methods.includes(msg.method)) return this.error(path, msg, TurnError.badRequest, undefined, 'unknown method');
    const unknown = unknownRequiredAttributes(msg);
    if (unknown.length > 0) {
      return this.error(path, msg, TurnError.unknownAttribute, undefined, undefined, [
        { type: StunAttr.unknownAttributes, value: encodeUnknownAttributes(unknown) },
      ]);
    }
    const auth = this.authenticate(msg, path);
    if (auth === undefined) return;
    const allocation = this.allocations.get(path.key);
    if (allocation !== undefined && allocation.isExpired(this.now())) this.deleteAllocation(path.key, 'expired');
    const current = this.allocations.get(path.key);
    if (current !== undefined && current.username !== auth.username) {
      // RFC 8656 section 5: requests on an allocation must use the username that created it.
      return this.error(path, msg, TurnError.wrongCredentials, auth.key);
    }
    switch (msg.method) {
      case StunMethod.allocate:
        return void this.onAllocate(msg, path, auth, current);
      case StunMethod.refresh:
        return this.onRefresh(msg, path, auth.key, current);
      case StunMethod.createPermission:
        return this.onCreatePermission(msg, path, auth.key, current);
      default:
        return this.onChannelBind(msg, path, auth.key, current);
    }
  }

  /** The long-term credential check; undefined when an error response (401/438 with a challenge, or 400) was sent. */
  private authenticate(msg: StunMessage, path: TurnClientPath): { username: string; key: Buffer } | undefined {
    const now = this.now();
    const r = this.auth.check(msg, path.remoteAddress, now, {
      isAllocate: msg.method === StunMethod.allocate, allocationUsername: this.allocations.get(path.key)?.username,
    });
    if (r.ok) return r;
    const extra: StunAttribute[] = r.challenge
      ? [
        { type: StunAttr.realm, value: Buffer.from(this.auth.realm) },
        { type: StunAttr.nonce, value: Buffer.from(this.auth.nonceFor(path.remoteAddress, now)) },
      ]
      : [];
    this.error(path, msg, r.code, undefined, r.why, extra);
    return undefined;
  }

  private async onAllocate(msg: StunMessage, path: TurnClientPath, auth: { username: string; key: Buffer }, current: TurnAllocation | undefined): Promise<void> {
    const txId = msg.transactionId.toString('hex');
    if (current !== undefined) {
      // A retransmission of the request that created it gets the same answer; anything else is a mismatch.
      if (current.createdBy === txId && current.createdResponse !== undefined) return path.send(current.createdResponse);
      return this.error(path, msg, TurnError.allocationMismatch, auth.key);
    }
    if (this.pending.has(path.key)) return; // the first Allocate is still binding its relay socket
    const transport = requestedTransport(msg);
    if (transport === undefined) return this.error(path, msg, TurnError.badRequest, auth.key, 'REQUESTED-TRANSPORT missing');
    if (transport !== TRANSPORT_UDP) return this.error(path, msg, TurnError.unsupportedTransportProtocol, auth.key);
    if (getStunAttribute(msg, StunAttr.reservationToken) !== undefined || getStunAttribute(msg, StunAttr.evenPort) !== undefined) {
      return this.error(path, msg, TurnError.insufficientCapacity, auth.key, 'EVEN-PORT and RESERVATION-TOKEN are not supported');
    }
    const family = requestedAddressFamily(msg);
    if (family === 'bad') return this.error(path, msg, TurnError.badRequest, auth.key, 'bad REQUESTED-ADDRESS-FAMILY');
    if (family === 6) return this.error(path, msg, TurnError.addressFamilyNotSupported, auth.key);
    let userCount = 0;
    for (const a of this.allocations.values()) if (a.username === auth.username) userCount++;
    for (const u of this.pending.values()) if (u === auth.username) userCount++;
    if (userCount >= (this.opts.maxAllocationsPerUser ?? DEFAULT_MAX_ALLOCATIONS_PER_USER)) {
      return this.error(path, msg, TurnError.allocationQuotaReached, auth.key);
    }
    if (this.allocations.size + this.pending.size >= (this.opts.maxAllocations ?? DEFAULT_MAX_ALLOCATIONS)) {
      return this.error(path, msg, TurnError.insufficientCapacity, auth.key, 'server allocation limit');
    }
    this.pending.set(path.key, auth.username);
    let relay;
    try {
      relay = await this.opts.relays.open((data, address, port) => this.onPeerData(path.key, data, address, port));
    } catch {
      relay = undefined;
    } finally {
      this.pending.delete(path.key);
    }
    if (relay === undefined) return this.error(path, msg, TurnError.insufficientCapacity, auth.key, 'no relay port free');
    if (this.closed || path.isClosed?.() === true) return relay.close();
    const lifetime = this.lifetimeFor(msg);
    const allocation = new TurnAllocation({
      client: path, username: auth.username, integrityKey: auth.key, relay, createdBy: txId, expiresAtMs: this.now() + lifetime * 1000,
    });
    this.allocations.set(path.key, allocation);
    allocation.createdResponse = this.respond(path, msg, StunClass.success, [
      { type: StunAttr.xorRelayedAddress, value: encodeXorMappedAddress(stunAddressOf(relay.address, relay.port), msg.transactionId) },
      { type: StunAttr.lifetime, value: encodeUint32(lifetime) },
      { type: StunAttr.xorMappedAddress, value: encodeXorMappedAddress(stunAddressOf(path.remoteAddress, path.remotePort), msg.transactionId) },
    ], auth.key);
    this.logger.debug({ client: path.key, relay: `${relay.address}:${relay.port}`, lifetime }, 'TURN allocation created');
  }

  /** The lifetime granted (RFC 8656 7.2): the default unless more is asked, capped at the maximum. */
  private lifetimeFor(msg: StunMessage): number {
    const asked = lifetimeSec(msg);
    if (asked === undefined) return DEFAULT_ALLOCATION_LIFETIME_SEC;
    return Math.min(Math.max(asked, DEFAULT_ALLOCATION_LIFETIME_SEC), MAX_ALLOCATION_LIFETIME_SEC);
  }

  private onRefresh(msg: StunMessage, path: TurnClientPath, key: Buffer, allocation: TurnAllocation | undefined): void {
    if (allocation === undefined) return this.error(path, msg, TurnError.allocationMismatch, key);
    const asked = lifetimeSec(msg);
    if (asked === 0) {
      this.deleteAllocation(path.key, 'refreshed with lifetime 0');
      return void this.respond(path, msg, StunClass.success, [{ type: StunAttr.lifetime, value: encodeUint32(0) }], key);
    }
    const lifetime = this.lifetimeFor(msg);
    allocation.expiresAtMs = this.now() + lifetime * 1000;
    this.respond(path, msg, StunClass.success, [{ type: StunAttr.lifetime, value: encodeUint32(lifetime) }], key);
  }

  /** Checks XOR-PEER-ADDRESS values: undefined when an error response was sent. */
  private checkPeers(msg: StunMessage, path: TurnClientPath, key: Buffer, allocation: TurnAllocation): { address: string; port: number }[] | undefined {
    const peers = xorPeerAddresses(msg);
    if (peers === undefined || peers.length === 0) {
      this.error(path, msg, TurnError.badRequest, key, 'XOR-PEER-ADDRESS missing or malformed');
      return undefined;
    }
    const relayFamily = allocation.relay.address.includes(':') ? 6 : 4;
    if (peers.some((p) => p.family !== relayFamily)) {
      this.error(path, msg, TurnError.peerAddressFamilyMismatch, key);
      return undefined;
    }
    const allowed = this.opts.isPeerAllowed ?? (() => true);
    if (peers.some((p) => !allowed(p.address))) {
      this.error(path, msg, TurnError.forbidden, key, 'peer address not allowed');
      return undefined;
    }
    return peers;
  }

  private onCreatePermission(msg: StunMessage, path: TurnClientPath, key: Buffer, allocation: TurnAllocation | undefined): void {
    if (allocation === undefined) return this.error(path, msg, TurnError.allocationMismatch, key);
    const peers = this.checkPeers(msg, path, key, allocation);
    if (peers === undefined) return;
    const now = this.now();
    const fresh = new Set(peers.filter((p) => !allocation.hasPermission(p.address, now)).map((p) => p.address));
    if (allocation.permissionCount + fresh.size > (this.opts.maxPermissionsPerAllocation ?? DEFAULT_MAX_PERMISSIONS_PER_ALLOCATION)) {
      allocation.sweep(now);
      if (allocation.permissionCount + fresh.size > (this.opts.maxPermissionsPerAllocation ?? DEFAULT_MAX_PERMISSIONS_PER_ALLOCATION)) {
        return this.error(path, msg, TurnError.insufficientCapacity, key, 'too many permissions');
      }
    }
    for (const p of peers) allocation.permit(p.address, now);
    this.respond(path, msg, StunClass.success, [], key);
  }

  private onChannelBind(msg: StunMessage, path: TurnClientPath, key: Buffer, allocation: TurnAllocation | undefined): void {
    if (allocation === undefined) return this.error(path, msg, TurnError.allocationMismatch, key);
    const channel = channelNumber(msg);
    if (channel === undefined || !isValidChannelNumber(channel)) return this.error(path, msg, TurnError.badRequest, key, 'bad CHANNEL-NUMBER');
    const peers = this.checkPeers(msg, path, key, allocation);
    if (peers === undefined) return;
    const peer = peers[0]!;
    if (peers.length !== 1) return this.error(path, msg, TurnError.badRequest, key, 'one XOR-PEER-ADDRESS per ChannelBind');
    const now = this.now();
    const limit = this.opts.maxPermissionsPerAllocation ?? DEFAULT_MAX_PERMISSIONS_PER_ALLOCATION;
    if (allocation.channelFor(peer.address, peer.port, now) === undefined && allocation.channelCount >= limit) {
      allocation.sweep(now);
      if (allocation.channelCount >= limit) return this.error(path, msg, TurnError.insufficientCapacity, key, 'too many channels');
    }
    if (!allocation.bindChannel(channel, peer.address, peer.port, now)) {
      return this.error(path, msg, TurnError.badRequest, key, 'channel or peer already bound otherwise');
    }
    this.respond(path, msg, StunClass.success, [], key);
  }

  /** Send indication (RFC 8656 10.2): relayed only with a permission; otherwise silently dropped. */
  private onSend(msg: StunMessage, path: TurnClientPath): void {
    const allocation = this.liveAllocation(path.key);
    const peers = xorPeerAddresses(msg);
    const data = getStunAttribute(msg, StunAttr.data);
    if (allocation === undefined || peers === undefined || peers.length !== 1 || data === undefined) return void this.counters.dropped++;
    const peer = peers[0]!;
    if (!allocation.hasPermission(peer.address, this.now())) {
      allocation.stats.droppedNoPermission++;
      this.counters.droppedNoPermission++;
      return;
    }
    allocation.stats.toPeerPackets++;
    this.counters.relayedToPeer++;
    allocation.relay.send(data, peer.port, peer.address);
  }

  /** ChannelData from the client (RFC 8656 12.6): per packet, so read in place with no object made for it. */
  private onChannelData(buf: Buffer, path: TurnClientPath): void {
    const allocation = this.liveAllocation(path.key);
    const channel = buf.readUInt16BE(0);
    const end = CHANNEL_DATA_HEADER_BYTES + buf.readUInt16BE(2);
    // Over UDP up to 3 bytes of padding may follow the data; more, or less data than the length says, is malformed.
    if (allocation === undefined || !isValidChannelNumber(channel) || end > buf.length || buf.length - end > 3) {
      return void this.counters.dropped++;
    }
    const now = this.now();
    const peer = allocation.channelPeer(channel, now);
    if (peer === undefined || !allocation.hasPermission(peer.peerAddress, now)) {
      allocation.stats.droppedNoPermission++;
      this.counters.droppedNoPermission++;
      return;
    }
    allocation.stats.toPeerPackets++;
    this.counters.relayedToPeer++;
    allocation.relay.send(buf.subarray(CHANNEL_DATA_HEADER_BYTES, end), peer.peerPort, peer.peerAddress);
  }

  /** A datagram from a peer on an allocation's relay socket (RFC 8656 10.3 and 12.6). */
  private onPeerData(pathKey: string, data: Buffer, address: string, port: number): void {
    const allocation = this.liveAllocation(pathKey);
    if (allocation === undefined) return;
    const now = this.now();
    if (!allocation.hasPermission(address, now)) {
      allocation.stats.droppedNoPermission++;
      this.counters.droppedNoPermission++;
      return;
    }
    allocation.stats.toClientPackets++;
    this.counters.relayedToClient++;
    const channel = allocation.channelFor(address, port, now);
    if (channel !== undefined) return allocation.client.send(encodeChannelData(channel, data, { padded: allocation.client.isStream }));
    const transactionId = randomBytes(12);
    allocation.client.send(encodeStunMessage({
      method: StunMethod.data, cls: StunClass.indication, transactionId,
      attributes: [
        { type: StunAttr.xorPeerAddress, value: encodeXorMappedAddress(stunAddressOf(address, port), transactionId) },
        { type: StunAttr.data, value: data },
      ],
    }, { fingerprint: false }));
  }

  private liveAllocation(pathKey: string): TurnAllocation | undefined {
    const a = this.allocations.get(pathKey);
    if (a === undefined) return undefined;
    if (a.isExpired(this.now())) {
      this.deleteAllocation(pathKey, 'expired');
      return undefined;
    }
    return a;
  }

  private deleteAllocation(pathKey: string, why: string): void {
    const a = this.allocations.get(pathKey);
    if (a === undefined) return;
    this.allocations.delete(pathKey);
    a.relay.close();
    this.logger.debug({ client: pathKey, why, ...a.stats }, 'TURN allocation deleted');
  }

  private sweep(): void {
    const now = this.now();
    for (const [key, a] of this.allocations) {
      if (a.isExpired(now)) this.deleteAllocation(key, 'expired');
      else a.sweep(now);
    }
  }

  private respond(path: TurnClientPath, req: StunMessage, cls: StunClass, attributes: StunAttribute[], key?: Buffer): Buffer {
    const out = encodeStunMessage(
      { method: req.method, cls, transactionId: req.transactionId, attributes: [...attributes, ...this.softwareAttr()] },
      { ...(key !== undefined ? { integrityKey: key } : {}), fingerprint: true },
    );
    path.send(out);
    return out;
  }

  private error(path: TurnClientPath, req: StunMessage, code: number, key?: Buffer, why?: string, extra: StunAttribute[] = []): void {
    this.counters.errorResponses++;
    if (why !== undefined) this.logger.debug({ client: path.key, code, why }, 'TURN request refused');
    this.respond(path, req, StunClass.error, [
      { type: StunAttr.errorCode, value: encodeErrorCode({ code, reason: TURN_ERROR_REASONS[code] ?? 'Error' }) },
      ...extra,
    ], key);
  }

  private softwareAttr(): StunAttribute[] {
    return this.opts.software === undefined ? [] : [{ type: StunAttr.software, value: Buffer.from(this.opts.software) }];
  }
}
