// ICE over the shared UdpMux: an ICE-lite controlled agent (the server, RFC 8445 section 2.5) or a small
// controlling agent with aggressive nomination (our client). https://www.rfc-editor.org/rfc/rfc8445,
// consent freshness per RFC 7675 (https://www.rfc-editor.org/rfc/rfc7675), ICE restart per RFC 8445 section 9
// (new credentials on the same transport: the old ones stay valid until a pair is nominated with the new ones).
import { randomBytes } from 'node:crypto';
import { isIPv4 } from 'node:net';
import type { Clock, TimerHandle } from '../clock.js';
import { systemClock } from '../clock.js';
import type { Logger } from '../logger.js';
import { silentLogger } from '../logger.js';
import { TypedEmitter } from '../typed-emitter.js';
import type { MuxConnection, UdpMux } from '../udp-mux.js';
import type { TcpIcePath, TcpMux } from '../tcp/tcp-mux.js';
import { StunAttr, StunClass, StunMethod } from '../stun/stun-constants.js';
import { getStunAttribute, parseStunMessage, verifyFingerprint, verifyMessageIntegrity } from '../stun/stun-message.js';
import type { StunMessage } from '../stun/stun-message.js';
import { decodeErrorCode } from '../stun/stun-attributes.js';
import { buildBindingError, buildBindingRequest, buildBindingSuccess } from './ice-binding.js';
import {
  IceTypePreference,
  candidatePriority,
  formatIceCandidate,
  isUsableUdpCandidate,
  tcpLocalPreference,
  parseIceCandidate,
} from './ice-candidate.js';
import { randomPwd, randomUfrag } from './ice-credentials.js';

export type IceState = 'new' | 'checking' | 'connected' | 'disconnected' | 'failed' | 'closed';
export type IceRole = 'controlled-lite' | 'controlling';

export type IceTransportEvents = {
  stateChange: [IceState];
  selectedPair: [{ address: string; port: number }];
  /** An ICE restart completed: a pair was selected with the new credentials. */
  restarted: [{ address: string; port: number }];
};

export interface IceTransportOptions {
  mux: UdpMux;
  /** Passive ICE-TCP (RFC 6544): a host candidate `tcptype passive` on this listener (controlled-lite role only). */
  tcpMux?: TcpMux;
  /** Offer only candidates of this transport (when there are any): a client that asked for TCP (force-tcp). */
  candidateTransport?: 'udp' | 'tcp';
  role: IceRole;
  /** The address put in our host candidate (the port is the mux's). */
  advertisedAddress: string;
  clock?: Clock;
  logger?: Logger;
  /** No proof of consent for this long: 'failed' (RFC 7675: 30 s). Also the give-up time before connecting. */
  consentTimeoutMs?: number;
  /** Controlling: interval between connectivity-check (re)transmissions before a pair is selected. */
  checkIntervalMs?: number;
  /** Controlling: mean interval between consent checks once connected (randomized +-20%). */
  consentIntervalMs?: number;
  /** No proof of consent for this long while connected: 'disconnected' (back to 'connected' on the next). */
  disconnectedAfterMs?: number;
}

/**
 * Defaults, in one place. Proof of consent is a valid Binding request for the lite agent and a valid
 * success response for the controlling agent. 7.5 s before 'disconnected' leaves room for one late
 * check of a peer checking every 5 s +-20% (RFC 7675) or every 2.5 s (Chromium when stable).
 */
export const ICE_DEFAULTS = {
  consentTimeoutMs: 30_000,
  checkIntervalMs: 200,
  consentIntervalMs: 5_000,
  disconnectedAfterMs: 7_500,
  /** Lite agent: how often consent is evaluated. */
  liteTickMs: 1_000,
  /** Controlling: retry interval for a consent check that went unanswered. */
  consentRetryMs: 500,
  /** Controlling: unanswered transactions are forgotten after this. */
  transactionTtlMs: 10_000,
} as const;

/** PRIORITY sent in our checks: that of a peer-reflexive candidate (RFC 8445 7.1.1). */
const PRFLX_PRIORITY = candidatePriority(IceTypePreference.prflx, 65535, 1);
const HOST_PRIORITY = candidatePriority(IceTypePreference.host, 65535, 1);
/** A passive TCP host candidate ranks below the UDP one (RFC 6544 4.2 local preference). */
const TCP_PASSIVE_HOST_PRIORITY = candidatePriority(IceTypePreference.host, tcpLocalPreference('passive', 8191), 1);

interface PendingCheck {
  address: string;
  port: number;
  sentAtMs: number;
  /** The remote password the check was signed with (its response is signed with the same). */
  remoteKey: Buffer;
  /** Sent with the credentials of a restart in progress. */
  isRestartCheck: boolean;
}

/** The credentials before a restart, accepted until the restart completes. */
interface PreviousCredentials {
  localUfrag: string;
  localKey: Buffer;
  /** The remote ufrag/key that went with them (undefined when the remote had none yet). */
  remoteUfrag: string | undefined;
  remoteKey: Buffer | undefined;
}

const noop = (): void => {};

export class IceTransport extends TypedEmitter<IceTransportEvents> implements MuxConnection {
  private ufrag: string = randomUfrag();
  private pwd: string = randomPwd();
  /** Set by the owner; DTLS records from a validated remote. */
  onDtls: (buf: Buffer) => void = noop;
  /** Set by the owner; SRTP/SRTCP from a validated remote. */
  onRtp: (buf: Buffer) => void = noop;
  readonly stats = { stunRejected: 0, mediaDropped: 0, sendDropped: 0, checksSent: 0 };

  private readonly mux: UdpMux;
  private readonly tcpMux: TcpMux | undefined;
  private readonly candidateTransport: 'udp' | 'tcp' | undefined;
  /** TCP connections that passed a connectivity check (ICE-TCP). */
  private readonly validatedTcp = new Set<TcpIcePath>();
  /** Set when the selected pair is a TCP connection (selectedAddress/Port then name its remote end). */
  private selectedTcp: TcpIcePath | undefined;
  /** Only while handleTcpStun handles a request: the connection it came on (replies, validation, selection use it). */
  private requestTcp: TcpIcePath | undefined;
  private readonly role: IceRole;
  private readonly advertisedAddress: string;
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly consentTimeoutMs: number;
  private readonly checkIntervalMs: number;
  private readonly consentIntervalMs: number;
  private readonly disconnectedAfterMs: number;
  private localKey: Buffer;
  /** Set by restart() until a pair is selected with the new credentials. */
  private previous: PreviousCredentials | undefined;
  /** Controlling: restart() was called and the remote's new credentials are not known yet. */
  private isAwaitingRemoteRestart = false;
  private restartCount = 0;
  private readonly tieBreaker = randomBytes(8);
  private currentState: IceState = 'new';
  private remoteUfrag: string | undefined;
  private remoteKey: Buffer | undefined;
  private readonly remoteCandidates: { address: string; port: number }[] = [];
  /** address -> ports that passed a connectivity check. */
  private readonly validated = new Map<string, Set<number>>();
  private selectedAddress: string | undefined;
  private selectedPort = -1;
  private readonly pending = new Map<string, PendingCheck>();
  private timer: TimerHandle | undefined;
  private isStarted = false;
  private lastProofMs = 0;
  private lastConsentSentMs = -Infinity;
  private consentGapMs = 0;

  constructor(opts: IceTransportOptions) {
    super();
    this.mux = opts.mux;
    this.tcpMux = opts.role === 'controlled-lite' ? opts.tcpMux : undefined;
    this.candidateTransport = opts.candidateTransport;
    this.role = opts.role;
    this.advertisedAddress = opts.advertisedAddress;
    this.clock = opts.clock ?? systemClock;
    this.logger = (opts.logger ?? silentLogger).child({ component: 'ice', ufrag: this.ufrag });
    this.consentTimeoutMs = opts.consentTimeoutMs ?? ICE_DEFAULTS.consentTimeoutMs;
    this.checkIntervalMs = opts.checkIntervalMs ?? ICE_DEFAULTS.checkIntervalMs;
    this.consentIntervalMs = opts.consentIntervalMs ?? ICE_DEFAULTS.consentIntervalMs;
    this.disconnectedAfterMs = opts.disconnectedAfterMs ?? ICE_DEFAULTS.disconnectedAfterMs;
    this.localKey = Buffer.from(this.localPwd, 'utf8');
    this.onListenerError = (err, event) => this.logger.error({ err: String(err), event }, 'ice listener threw');
  }

  get state(): IceState {
    return this.currentState;
  }

  /** Our current ICE credentials (new ones after each restart()). */
  get localUfrag(): string {
    return this.ufrag;
  }
  get localPwd(): string {
    return this.pwd;
  }

  /** ICE restarts begun (restart() calls). */
  get restarts(): number {
    return this.restartCount;
  }

  /** A restart is in progress: the previous credentials are still accepted. */
  get isRestarting(): boolean {
    return this.previous !== undefined;
  }

  /** The remote's current ufrag (undefined before its description). */
  get remoteIceUfrag(): string | undefined {
    return this.remoteUfrag;
  }

  /**
   * ICE restart (RFC 8445 section 9) on the same transport: new local credentials, for the description that
   * announces the restart. The previous credentials (and the selected pair, so media keeps flowing) stay valid until
   * a pair is nominated with the new ones; DTLS and SRTP above are untouched. Also revives a transport that failed
   * (consent expired) but was not closed.
   */
  restart(): void {
    if (this.currentState === 'closed') throw new Error('ICE restart on a closed transport');
    if (this.remoteUfrag === undefined && this.previous === undefined) {
      // Nothing negotiated yet: new credentials are all a restart means.
      if (this.isStarted) this.mux.unregisterUfrag(this.ufrag);
      this.ufrag = randomUfrag();
      this.pwd = randomPwd();
      this.localKey = Buffer.from(this.pwd, 'utf8');
      this.restartCount++;
      if (this.isStarted && this.isAlive()) this.mux.registerUfrag(this.ufrag, this);
      return;
    }
    // A restart during a restart: the oldest credentials that can still be in use are the ones before the first.
    this.previous ??= { localUfrag: this.ufrag, localKey: this.localKey, remoteUfrag: this.remoteUfrag, remoteKey: this.remoteKey };
    if (this.previous.localUfrag !== this.ufrag) this.mux.unregisterUfrag(this.ufrag);
    this.ufrag = randomUfrag();
    this.pwd = randomPwd();
    this.localKey = Buffer.from(this.pwd, 'utf8');
    this.restartCount++;
    if (this.role === 'controlling') this.isAwaitingRemoteRestart = true;
    this.logger.debug({ newUfrag: this.ufrag, restarts: this.restartCount }, 'ice restart');
    if (!this.isStarted) return;
    if (this.currentState === 'failed') {
      // Consent had expired and everything was torn down: start over with the new credentials.
      this.previous = undefined;
      this.isAwaitingRemoteRestart = this.role === 'controlling';
      this.isStarted = false;
      this.start();
      if (this.role === 'controlled-lite') this.setState('checking');
      return;
    }
    this.mux.registerUfrag(this.ufrag, this);
  }

  /** The selected remote, if any. */
  get selected(): { address: string; port: number } | undefined {
    return this.selectedAddress === undefined ? undefined : { address: this.selectedAddress, port: this.selectedPort };
  }

  /**
   * The remote's credentials from its description. New ones (an ICE restart by the remote, or the answer to ours)
   * apply to every check from now on; the remote's previous ones stay accepted until the restart completes.
   */
  setRemoteCredentials(ufrag: string, pwd: string): void {
    const isChange = this.remoteUfrag !== undefined && (ufrag !== this.remoteUfrag || pwd !== this.remoteKey?.toString('utf8'));
    if (isChange && this.previous === undefined) {
      // The remote restarted without our restart(): keep accepting its old username until the new one is nominated.
      this.previous = { localUfrag: this.ufrag, localKey: this.localKey, remoteUfrag: this.remoteUfrag, remoteKey: this.remoteKey };
    }
    this.remoteUfrag = ufrag;
    this.remoteKey = Buffer.from(pwd, 'utf8');
    if (this.role !== 'controlling' || !this.isStarted) return;
    if (this.isAwaitingRemoteRestart && isChange) {
      this.isAwaitingRemoteRestart = false;
      if (this.isAlive()) this.sendChecksToAll();
      return;
    }
    if (this.selectedAddress === undefined) this.sendChecksToAll();
  }

  /** Accepts 'candidate:...', 'a=candidate:...' or the bare value; only UDP host/srflx/prflx IPs are used. */
  addRemoteCandidate(candidate: string): void {
    const c = parseIceCandidate(candidate);
    if (!c || !isUsableUdpCandidate(c) || isIPv4(c.address) !== isIPv4(this.mux.address)) {
      this.logger.debug({ candidate }, 'ignoring remote candidate');
      return;
    }
    if (this.remoteCandidates.some((r) => r.address === c.address && r.port === c.port)) return;
    this.remoteCandidates.push({ address: c.address, port: c.port });
    if (this.role === 'controlling' && this.isStarted && this.isAlive() && (this.selectedAddress === undefined || this.isRestartPending())) {
      this.mux.bindRemote(c.address, c.port, this);
      this.sendCheck(c.address, c.port, true);
    }
  }

  localCandidates(): string[] {
    const out = [
      formatIceCandidate({
        foundation: '1',
        component: 1,
        transport: 'udp',
        priority: HOST_PRIORITY,
        address: this.advertisedAddress,
        port: this.mux.port,
        type: 'host',
      }),
    ];
    if (this.tcpMux !== undefined) {
      out.push(formatIceCandidate({
        foundation: '2',
        component: 1,
        transport: 'tcp',
        priority: TCP_PASSIVE_HOST_PRIORITY,
        address: this.advertisedAddress,
        port: this.tcpMux.port,
        type: 'host',
        tcpType: 'passive',
      }));
    }
    const wanted = this.candidateTransport;
    if (wanted !== undefined && out.some((c) => parseIceCandidate(c)?.transport === wanted)) {
      return out.filter((c) => parseIceCandidate(c)?.transport === wanted);
    }
    return out;
  }

  /** Lite: registers the ufrag with the mux. Controlling: also starts connectivity checks. */
  start(): void {
    if (this.isStarted || this.currentState === 'closed') return;
    this.isStarted = true;
    this.lastProofMs = this.clock.nowMs();
    this.mux.registerUfrag(this.ufrag, this);
    const tickMs = this.role === 'controlling' ? this.checkIntervalMs : ICE_DEFAULTS.liteTickMs;
    this.timer = this.clock.setInterval(() => this.tick(), tickMs);
    this.timer.unref?.();
    if (this.role === 'controlling') {
      this.setState('checking');
      for (const r of this.remoteCandidates) this.mux.bindRemote(r.address, r.port, this);
      this.sendChecksToAll();
    }
  }

  /** Sends to the selected remote; dropped (counted) when there is none. */
  /**
   * Room for one datagram of `length` bytes in the UDP mux's send arena, to be filled and then passed to `send` before
   * this turn ends (UdpMux.reserve); undefined over TCP, before a pair is selected, or when the mux has no arena.
   */
  reserveSend(length: number): Buffer | undefined {
    if (this.selectedAddress === undefined || this.selectedTcp !== undefined) return undefined;
    return this.mux.reserve(length);
  }

  send(buf: Uint8Array): void {
    if (this.selectedAddress === undefined) {
      this.stats.sendDropped++;
      return;
    }
    if (this.selectedTcp !== undefined) {
      this.selectedTcp.send(buf);
      return;
    }
    this.mux.send(buf, this.selectedPort, this.selectedAddress);
  }

  /** Idempotent: clears timers and every mux registration. */
  close(): void {
    if (this.currentState === 'closed') return;
    this.teardown();
    this.setState('closed');
  }

  // ---- MuxConnection (called per datagram; must not throw) ----

  handleDtls(buf: Buffer, address: string, port: number): void {
    if (port === this.selectedPort && address === this.selectedAddress && this.selectedTcp === undefined) {
      this.onDtls(buf);
      return;
    }
    if (!this.isValidated(address, port)) {
      this.stats.mediaDropped++;
      return;
    }
    // DTLS from a validated pair before any nomination: the peer has chosen it.
    if (this.selectedAddress === undefined && this.role === 'controlled-lite') this.select(address, port);
    this.onDtls(buf);
  }

  handleRtp(buf: Buffer, address: string, port: number): void {
    if ((port === this.selectedPort && address === this.selectedAddress && this.selectedTcp === undefined) || this.isValidated(address, port)) {
      this.onRtp(buf);
    } else {
      this.stats.mediaDropped++;
    }
  }

  handleStun(buf: Buffer, address: string, port: number): void {
    if (!this.isStarted || !this.isAlive()) return;
    const r = parseStunMessage(buf);
    if (!r.ok || r.message.method !== StunMethod.binding || verifyFingerprint(r.message) === false) {
      this.stats.stunRejected++;
      return;
    }
    const m = r.message;
    if (m.cls === StunClass.request) this.handleRequest(m, address, port);
    else if (m.cls === StunClass.success || m.cls === StunClass.error) this.handleResponse(m, address, port);
    // Binding indications are keepalives: nothing to do.
  }

  // ---- TcpMuxConnection (ICE-TCP, called per frame; must not throw) ----

  handleTcpStun(buf: Buffer, path: TcpIcePath): void {
    if (!this.isStarted || !this.isAlive()) return;
    const r = parseStunMessage(buf);
    if (!r.ok || r.message.method !== StunMethod.binding || verifyFingerprint(r.message) === false) {
      this.stats.stunRejected++;
      return;
    }
    // A lite agent sends no checks, so only requests mean something here. The request is handled as one over UDP,
    // with requestTcp set: replying, validating and selecting then act on this connection (see reply(),
    // markValidated(), select()).
    if (r.message.cls !== StunClass.request) return;
    this.requestTcp = path;
    try {
      this.handleRequest(r.message, path.address, path.port);
    } finally {
      this.requestTcp = undefined;
    }
  }

  handleTcpDtls(buf: Buffer, path: TcpIcePath): void {
    if (path !== this.selectedTcp) {
      if (!this.validatedTcp.has(path)) {
        this.stats.mediaDropped++;
        return;
      }
      if (this.selectedAddress === undefined) this.selectTcp(path);
    }
    this.onDtls(buf);
  }

  handleTcpRtp(buf: Buffer, path: TcpIcePath): void {
    if (path === this.selectedTcp || this.validatedTcp.has(path)) this.onRtp(buf);
    else this.stats.mediaDropped++;
  }

  tcpPathClosed(path: TcpIcePath): void {
    this.validatedTcp.delete(path);
    if (path !== this.selectedTcp) return;
    // The selected connection is gone: nothing can be sent until the peer nominates another pair (or consent expires).
    this.selectedTcp = undefined;
    this.selectedAddress = undefined;
    this.selectedPort = -1;
    if (this.currentState === 'connected') this.setState('disconnected');
  }

  // ---- internals ----

  private selectTcp(path: TcpIcePath): void {
    if (path !== this.selectedTcp) {
      this.selectedTcp = path;
      this.selectedAddress = path.address;
      this.selectedPort = path.port;
      this.logger.debug({ address: path.address, port: path.port, transport: 'tcp' }, 'selected pair');
      this.emit('selectedPair', { address: path.address, port: path.port });
    }
    this.setState('connected');
  }

  /** Sends a STUN response on the path the request came in on. */
  private reply(buf: Uint8Array, address: string, port: number): void {
    if (this.requestTcp !== undefined) this.requestTcp.send(buf);
    else this.mux.send(buf, port, address);
  }

  /** The selected pair's transport, if any. */
  get selectedTransport(): 'udp' | 'tcp' | undefined {
    return this.selectedAddress === undefined ? undefined : this.selectedTcp !== undefined ? 'tcp' : 'udp';
  }

  private handleRequest(m: StunMessage, address: string, port: number): void {
    const userBytes = getStunAttribute(m, StunAttr.username);
    if (!userBytes || m.integrityOffset < 0) {
      this.reject(m, address, port, 400, 'Bad Request');
      return;
    }
    const username = Buffer.from(userBytes).toString('utf8');
    const colon = username.indexOf(':');
    const localPart = colon < 0 ? username : username.slice(0, colon);
    const remotePart = colon < 0 ? undefined : username.slice(colon + 1);
    // The remote ufrag is checked only once known: requests may arrive before the answer is applied.
    const isCurrent =
      localPart === this.ufrag && (this.remoteUfrag === undefined || remotePart === this.remoteUfrag);
    // During a restart the previous credentials still prove consent on the old pair.
    const prev = this.previous;
    const isPrevious = !isCurrent && prev !== undefined && localPart === prev.localUfrag &&
      (prev.remoteUfrag === undefined || remotePart === prev.remoteUfrag);
    const key = isCurrent ? this.localKey : isPrevious ? prev!.localKey : undefined;
    if (key === undefined || !verifyMessageIntegrity(m, key)) {
      this.reject(m, address, port, 401, 'Unauthorized');
      return;
    }
    this.reply(buildBindingSuccess(m.transactionId, address, port, key), address, port);
    this.markValidated(address, port);
    if (this.role !== 'controlled-lite') return;
    const isNomination = getStunAttribute(m, StunAttr.useCandidate) !== undefined;
    const hasSelection = this.selectedAddress !== undefined;
    const isSelectedPair = this.isSelectedPath(address, port);
    const willSelect = isNomination && (isCurrent || !hasSelection);
    // Consent is per pair (RFC 7675 section 5.1): a check proves it for the pair it came on. Checks from another address
    // (a client trying its new one after an address change) do not keep a dead selected pair alive: until the client
    // nominates the new pair, the selected one loses consent (disconnected, then failed) as it should.
    if (willSelect || isSelectedPair || !hasSelection) this.lastProofMs = this.clock.nowMs();
    if (isNomination && isCurrent && prev !== undefined) this.finishRestart(address, port);
    else if (willSelect) this.select(address, port);
    else if (this.currentState === 'new' || this.currentState === 'checking') this.setState('checking');
    else if (this.currentState === 'disconnected' && isSelectedPair) this.setState('connected');
  }

  /** The request being handled came on the selected path (the selected TCP connection, or the selected UDP remote). */
  private isSelectedPath(address: string, port: number): boolean {
    if (this.selectedTcp !== undefined) return this.requestTcp === this.selectedTcp;
    return this.requestTcp === undefined && address === this.selectedAddress && port === this.selectedPort;
  }

  private handleResponse(m: StunMessage, address: string, port: number): void {
    const id = m.transactionId.toString('hex');
    const p = this.pending.get(id);
    if (!p || p.address !== address || p.port !== port) {
      this.stats.stunRejected++;
      return;
    }
    if (m.cls === StunClass.error) {
      this.pending.delete(id);
      const err = getStunAttribute(m, StunAttr.errorCode);
      this.logger.debug({ address, port, error: err && decodeErrorCode(err) }, 'binding error response');
      return;
    }
    if (!verifyMessageIntegrity(m, p.remoteKey)) {
      this.stats.stunRejected++;
      return;
    }
    this.pending.delete(id);
    this.markValidated(address, port);
    this.lastProofMs = this.clock.nowMs();
    // Every check before selection (and every check of a restart) carried USE-CANDIDATE (aggressive nomination):
    // first success wins.
    if (p.isRestartCheck && this.previous !== undefined) this.finishRestart(address, port);
    else if (this.selectedAddress === undefined) this.select(address, port);
    else if (this.currentState === 'disconnected') this.setState('connected');
  }

  private reject(m: StunMessage, address: string, port: number, code: number, reason: string): void {
    this.stats.stunRejected++;
    this.reply(buildBindingError(m.transactionId, code, reason), address, port);
  }

  /** A pair was nominated with the new credentials: the previous ones are forgotten. */
  private finishRestart(address: string, port: number): void {
    const prev = this.previous;
    this.previous = undefined;
    if (prev !== undefined && prev.localUfrag !== this.ufrag) this.mux.unregisterUfrag(prev.localUfrag);
    this.select(address, port);
    this.logger.debug({ address, port }, 'ice restart completed');
    this.emit('restarted', { address, port });
  }

  /** Controlling: the remote's new credentials are known and no pair was nominated with them yet. */
  private isRestartPending(): boolean {
    return this.previous !== undefined && !this.isAwaitingRemoteRestart;
  }

  private select(address: string, port: number): void {
    if (this.requestTcp !== undefined) {
      this.selectTcp(this.requestTcp);
      return;
    }
    if (address !== this.selectedAddress || port !== this.selectedPort || this.selectedTcp !== undefined) {
      this.selectedTcp = undefined;
      this.selectedAddress = address;
      this.selectedPort = port;
      this.logger.debug({ address, port }, 'selected pair');
      this.emit('selectedPair', { address, port });
    }
    this.setState('connected');
  }

  private markValidated(address: string, port: number): void {
    if (this.requestTcp !== undefined) {
      this.validatedTcp.add(this.requestTcp);
      this.requestTcp.markValidated();
      return;
    }
    let ports = this.validated.get(address);
    if (!ports) {
      ports = new Set();
      this.validated.set(address, ports);
    }
    if (!ports.has(port)) {
      ports.add(port);
      this.mux.bindRemote(address, port, this);
    }
  }

  private isValidated(address: string, port: number): boolean {
    return this.validated.get(address)?.has(port) === true;
  }

  private isAlive(): boolean {
    return this.currentState !== 'failed' && this.currentState !== 'closed';
  }

  private tick(): void {
    if (!this.isAlive()) return;
    const now = this.clock.nowMs();
    const silentMs = now - this.lastProofMs;
    if (silentMs >= this.consentTimeoutMs) {
      this.logger.debug({ silentMs }, 'consent expired');
      this.teardown();
      this.setState('failed');
      return;
    }
    if (this.currentState === 'connected' && silentMs >= this.disconnectedAfterMs) this.setState('disconnected');
    if (this.role !== 'controlling') return;
    for (const [id, p] of this.pending) if (now - p.sentAtMs > ICE_DEFAULTS.transactionTtlMs) this.pending.delete(id);
    if (this.selectedAddress === undefined) {
      this.sendChecksToAll();
      return;
    }
    // A restart in progress keeps checking every candidate with the new credentials (consent on the old pair goes on).
    if (this.isRestartPending()) this.sendChecksToAll();
    const isUnanswered = this.lastConsentSentMs > this.lastProofMs;
    const dueMs = this.lastConsentSentMs + (isUnanswered ? ICE_DEFAULTS.consentRetryMs : this.consentGapMs);
    if (now >= dueMs) {
      this.sendCheck(this.selectedAddress, this.selectedPort, false);
      this.lastConsentSentMs = now;
      this.consentGapMs = this.consentIntervalMs * (0.8 + 0.4 * Math.random());
    }
  }

  private sendChecksToAll(): void {
    for (const r of this.remoteCandidates) this.sendCheck(r.address, r.port, true);
  }

  private sendCheck(address: string, port: number, useCandidate: boolean): void {
    // Consent on the old pair while our restart waits for the remote's answer: the old credentials, as before.
    const prev = this.previous;
    const isOld = prev !== undefined && this.isAwaitingRemoteRestart;
    const remoteUfrag = isOld ? prev.remoteUfrag : this.remoteUfrag;
    const remoteKey = isOld ? prev.remoteKey : this.remoteKey;
    const localUfrag = isOld ? prev.localUfrag : this.ufrag;
    if (!remoteKey || remoteUfrag === undefined) return;
    const transactionId = randomBytes(12);
    const req = buildBindingRequest({
      transactionId,
      username: `${remoteUfrag}:${localUfrag}`,
      key: remoteKey,
      priority: PRFLX_PRIORITY,
      tieBreaker: this.tieBreaker,
      isControlling: this.role === 'controlling',
      useCandidate,
    });
    this.pending.set(transactionId.toString('hex'), {
      address, port, sentAtMs: this.clock.nowMs(), remoteKey, isRestartCheck: prev !== undefined && !isOld && useCandidate,
    });
    this.stats.checksSent++;
    this.mux.send(req, port, address);
  }

  /** Stops everything: timer, mux registrations, pairs, transactions. */
  private teardown(): void {
    if (this.timer !== undefined) {
      this.clock.clearInterval(this.timer);
      this.timer = undefined;
    }
    this.mux.unregisterUfrag(this.ufrag);
    if (this.previous !== undefined) this.mux.unregisterUfrag(this.previous.localUfrag);
    this.mux.unbindAll(this);
    this.tcpMux?.unbindAll(this);
    this.validatedTcp.clear();
    this.selectedTcp = undefined;
    this.validated.clear();
    this.pending.clear();
    this.selectedAddress = undefined;
    this.selectedPort = -1;
  }

  private setState(next: IceState): void {
    if (this.currentState === next) return;
    this.logger.debug({ from: this.currentState, to: next }, 'ice state');
    this.currentState = next;
    this.emit('stateChange', next);
  }
}
