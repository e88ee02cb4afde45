// Passive ICE-TCP (RFC 6544, https://www.rfc-editor.org/rfc/rfc6544): one TCP listener for every peer connection of
// the process (or media worker). Each accepted connection carries RFC 4571 frames; its first frame must be a STUN
// Binding request whose USERNAME names a known local ufrag (registered here, or found by `resolveUfrag`: in the
// server, the UdpMux's registry, so ICE restarts need nothing more), which binds the connection to that ICE transport
// for good. Later frames are demultiplexed by first byte as on UDP (RFC 7983).
import { createServer } from 'node:net';
import type { Server, Socket } from 'node:net';
import type { Logger } from '../logger.js';
import { silentLogger } from '../logger.js';
import { peekBindingRequestUfrag } from '../stun/stun-attributes.js';
import { Rfc4571Deframer, frameRfc4571 } from './rfc4571-framer.js';

/** One accepted TCP connection as the ICE transport sees it: a candidate pair whose remote end is this socket. */
export interface TcpIcePath {
  /** The remote's address and port (IPv4-mapped IPv6 addresses are given as IPv4). */
  readonly address: string;
  readonly port: number;
  readonly isClosed: boolean;
  /** Frames and writes one packet; dropped (counted) when closed or when the peer does not read fast enough. */
  send(buf: Uint8Array): void;
  /** The ICE transport authenticated a Binding request on it: the idle time-out no longer applies. */
  markValidated(): void;
  close(): void;
}

/** Implemented by an IceTransport. Called synchronously per frame: no throwing. */
export interface TcpMuxConnection {
  handleTcpStun(buf: Buffer, path: TcpIcePath): void;
  handleTcpDtls(buf: Buffer, path: TcpIcePath): void;
  handleTcpRtp(buf: Buffer, path: TcpIcePath): void;
  /** The connection is gone (closed by either side). */
  tcpPathClosed(path: TcpIcePath): void;
}

/** True when a connection (e.g. one the UdpMux knows by ufrag) can also take ICE-TCP frames. */
export function isTcpMuxConnection(c: unknown): c is TcpMuxConnection {
  const x = c as Partial<TcpMuxConnection> | undefined;
  return typeof x?.handleTcpStun === 'function' && typeof x.handleTcpDtls === 'function' &&
    typeof x.handleTcpRtp === 'function' && typeof x.tcpPathClosed === 'function';
}

export interface TcpMuxOptions {
  /** 0 = ephemeral. */
  port: number;
  address: string;
  /** Looked up when a ufrag is not registered here: the server passes the UdpMux's registry. */
  resolveUfrag?: (localUfrag: string) => TcpMuxConnection | undefined;
  logger?: Logger;
  /** Largest RFC 4571 frame accepted; a larger length prefix closes the connection. */
  maxFrameBytes?: number;
  /** A connection that has not passed an ICE check by then is closed. */
  unvalidatedTimeoutMs?: number;
  /** Connections not yet validated, at most; more are refused at accept. */
  maxUnvalidated?: number;
  /** Bytes queued in the socket's write buffer above which packets are dropped instead (a peer that stopped reading). */
  maxWriteBufferBytes?: number;
}

export const TCP_MUX_DEFAULTS = {
  unvalidatedTimeoutMs: 10_000,
  maxUnvalidated: 512,
  maxWriteBufferBytes: 1024 * 1024,
} as const;

export interface TcpMuxStats {
  accepted: number;
  /** Refused at accept (too many unvalidated connections, or the mux is closing). */
  refused: number;
  /** Closed for an oversize frame, a first frame that is not a Binding request for a known ufrag, or the time-out. */
  rejected: number;
  timedOut: number;
  framesIn: number;
  framesOut: number;
  /** Unclassifiable frames on a bound connection. */
  dropped: number;
  /** Packets not written: the connection was closed or its write buffer was full. */
  sendDropped: number;
}

export class TcpMux {
  readonly port: number;
  readonly address: string;
  readonly stats: TcpMuxStats = { accepted: 0, refused: 0, rejected: 0, timedOut: 0, framesIn: 0, framesOut: 0, dropped: 0, sendDropped: 0 };
  private readonly server: Server;
  private readonly logger: Logger;
  private readonly opts: Required<Omit<TcpMuxOptions, 'logger' | 'port' | 'address' | 'maxFrameBytes' | 'resolveUfrag'>> & { maxFrameBytes?: number };
  private readonly resolveUfrag: ((localUfrag: string) => TcpMuxConnection | undefined) | undefined;
  private readonly ufrags = new Map<string, TcpMuxConnection>();
  private readonly conns = new Set<TcpConnection>();
  private unvalidated = 0;
  private closePromise: Promise<void> | undefined;

  private constructor(server: Server, opts: TcpMuxOptions, logger: Logger) {
    this.server = server;
    this.logger = logger;
    this.resolveUfrag = opts.resolveUfrag;
    this.opts = {
      unvalidatedTimeoutMs: opts.unvalidatedTimeoutMs ?? TCP_MUX_DEFAULTS.unvalidatedTimeoutMs,
      maxUnvalidated: opts.maxUnvalidated ?? TCP_MUX_DEFAULTS.maxUnvalidated,
      maxWriteBufferBytes: opts.maxWriteBufferBytes ?? TCP_MUX_DEFAULTS.maxWriteBufferBytes,
      ...(opts.maxFrameBytes !== undefined ? { maxFrameBytes: opts.maxFrameBytes } : {}),
    };
    const addr = server.address();
    this.port = typeof addr === 'object' && addr !== null ? addr.port : 0;
    this.address = typeof addr === 'object' && addr !== null ? addr.address : opts.address;
    server.on('connection', (socket) => this.onConnection(socket));
    server.on('error', (err) => this.logger.warn({ err: String(err) }, 'tcp mux listener error'));
  }

  static listen(opts: TcpMuxOptions): Promise<TcpMux> {
    const logger = opts.logger ?? silentLogger;
    const server = createServer({ noDelay: true, pauseOnConnect: false });
    return new Promise<TcpMux>((resolve, reject) => {
      const onError = (err: Error): void => {
        server.close();
        reject(err);
      };
      server.once('error', onError);
      server.listen({ port: opts.port, host: opts.address, exclusive: true }, () => {
        server.off('error', onError);
        const mux = new TcpMux(server, opts, logger);
        logger.debug({ port: mux.port, address: mux.address }, 'tcp mux listening');
        resolve(mux);
      });
    });
  }

  /** Connections whose first Binding request names `localUfrag` go to `conn`. */
  registerUfrag(localUfrag: string, conn: TcpMuxConnection): void {
    this.ufrags.set(localUfrag, conn);
  }

  unregisterUfrag(localUfrag: string): void {
    this.ufrags.delete(localUfrag);
  }

  /** Removes `conn`'s ufrag registrations and closes every connection bound to it. */
  unbindAll(conn: TcpMuxConnection): void {
    for (const [ufrag, c] of this.ufrags) if (c === conn) this.ufrags.delete(ufrag);
    for (const c of this.conns) if (c.target === conn) c.close();
  }

  /** Open connections plus ufrag registrations (0 when everything was cleaned up). */
  get registrationCount(): number {
    return this.ufrags.size + this.conns.size;
  }

  get connectionCount(): number {
    return this.conns.size;
  }

  close(): Promise<void> {
    if (this.closePromise) return this.closePromise;
    this.closePromise = new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      for (const c of [...this.conns]) c.close();
      this.ufrags.clear();
    });
    return this.closePromise;
  }

  private onConnection(socket: Socket): void {
    if (this.closePromise !== undefined || this.unvalidated >= this.opts.maxUnvalidated) {
      this.stats.refused++;
      socket.destroy();
      return;
    }
    this.stats.accepted++;
    this.unvalidated++;
    const conn = new TcpConnection(socket, this);
    this.conns.add(conn);
  }

  /** @internal */ get options(): TcpMux['opts'] {
    return this.opts;
  }
  /** @internal */ get log(): Logger {
    return this.logger;
  }
  /** @internal */ lookupUfrag(frame: Buffer): TcpMuxConnection | undefined {
    const ufrag = peekBindingRequestUfrag(frame);
    if (ufrag === undefined) return undefined;
    return this.ufrags.get(ufrag) ?? this.resolveUfrag?.(ufrag);
  }
  /** @internal */ onValidated(): void {
    this.unvalidated--;
  }
  /** @internal */ onClosed(conn: TcpConnection, wasValidated: boolean): void {
    this.conns.delete(conn);
    if (!wasValidated) this.unvalidated--;
  }
}

class TcpConnection implements TcpIcePath {
  readonly address: string;
  readonly port: number;
  target: TcpMuxConnection | undefined;
  private readonly socket: Socket;
  private readonly mux: TcpMux;
  private readonly deframer: Rfc4571Deframer;
  private isValidated = false;
  private closed = false;
  private timer: NodeJS.Timeout | undefined;
  private readonly onFrame = (frame: Buffer): void => this.handleFrame(frame);

  constructor(socket: Socket, mux: TcpMux) {
    this.socket = socket;
    this.mux = mux;
    const raw = socket.remoteAddress ?? '';
    this.address = raw.startsWith('::ffff:') && raw.includes('.') ? raw.slice(7) : raw;
    this.port = socket.remotePort ?? 0;
    const max = mux.options.maxFrameBytes;
    this.deframer = new Rfc4571Deframer(max !== undefined ? { maxFrameBytes: max } : {});
    this.timer = setTimeout(() => {
      this.mux.stats.timedOut++;
      this.mux.stats.rejected++;
      this.mux.log.debug({ address: this.address, port: this.port }, 'tcp: no ICE check passed in time; closing');
      this.close();
    }, mux.options.unvalidatedTimeoutMs);
    this.timer.unref();
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (err) => this.mux.log.debug({ err: String(err), address: this.address, port: this.port }, 'tcp connection error'));
    socket.on('close', () => this.onSocketClosed());
  }

  get isClosed(): boolean {
    return this.closed;
  }

  send(buf: Uint8Array): void {
    if (this.closed || this.socket.writableLength > this.mux.options.maxWriteBufferBytes || buf.length > 0xffff) {
      this.mux.stats.sendDropped++;
      return;
    }
    this.mux.stats.framesOut++;
    this.socket.write(frameRfc4571(buf));
  }

  markValidated(): void {
    if (this.isValidated || this.closed) return;
    this.isValidated = true;
    this.mux.onValidated();
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }

  close(): void {
    if (this.closed) return;
    this.socket.destroy();
    this.onSocketClosed();
  }

  private onData(chunk: Buffer): void {
    if (this.closed) return;
    const r = this.deframer.push(chunk, this.onFrame);
    if (!r.ok) this.reject(`oversize frame (${r.length} bytes)`);
  }

  private handleFrame(frame: Buffer): void {
    if (this.closed) return;
    this.mux.stats.framesIn++;
    if (this.target === undefined) {
      const target = frame[0] === 0x00 && frame[1] === 0x01 ? this.mux.lookupUfrag(frame) : undefined;
      if (target === undefined) {
        this.reject('first frame is not a Binding request for a known ufrag');
        return;
      }
      this.target = target;
    }
    const b0 = frame[0]!;
    try {
      if (b0 <= 3) this.target.handleTcpStun(frame, this);
      else if (!this.isValidated) this.mux.stats.dropped++; // nothing but STUN before an ICE check passed
      else if (b0 >= 20 && b0 <= 63) this.target.handleTcpDtls(frame, this);
      else if (b0 >= 128 && b0 <= 191) this.target.handleTcpRtp(frame, this);
      else this.mux.stats.dropped++;
    } catch (err) {
      // A connection must not throw; if one does, the listener keeps serving everyone else.
      this.mux.stats.dropped++;
      this.mux.log.error({ err: String(err) }, 'tcp mux connection threw');
    }
  }

  private reject(why: string): void {
    this.mux.stats.rejected++;
    this.mux.log.debug({ address: this.address, port: this.port, why }, 'tcp: closing connection');
    this.close();
  }

  private onSocketClosed(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.mux.onClosed(this, this.isValidated);
    const target = this.target;
    if (target !== undefined) {
      try {
        target.tcpPathClosed(this);
      } catch (err) {
        this.mux.log.error({ err: String(err) }, 'tcp mux connection threw on close');
      }
    }
  }
}
