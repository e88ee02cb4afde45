// TURN over TCP or TLS (RFC 8656 sections 4 and 12.5): each connection is one client 5-tuple; STUN and ChannelData
// messages are framed by their own lengths (turn-stream-framer.ts). A framing error, or a connection that makes no
// allocation in time, is closed; closing a connection deletes its allocation.
import { createServer as createTcpServer } from 'node:net';
import type { Server, Socket } from 'node:net';
import { createServer as createTlsServer } from 'node:tls';
import type { TurnClientPath } from './turn-allocation.js';
import type { TurnServer } from './turn-server.js';
import { TurnStreamFramer } from './turn-stream-framer.js';

export interface TurnStreamListenerOptions {
  address: string;
  port: number;
  /** PEM certificate chain and key: TURN over TLS (turns:). Absent: plain TCP. */
  tls?: { cert: string | Buffer; key: string | Buffer };
  /** Connections at once; more are refused at accept. */
  maxConnections?: number;
  /** A connection without an allocation after this long is closed (no idle sockets held by strangers). */
  idleTimeoutMs?: number;
  /** Bytes queued towards a client beyond which relayed packets are dropped (a client that stopped reading). */
  maxQueuedBytes?: number;
}

const DEFAULT_MAX_CONNECTIONS = 1024;
const DEFAULT_IDLE_TIMEOUT_MS = 30_000;
const DEFAULT_MAX_QUEUED_BYTES = 1 << 20;

export class TurnStreamListener {
  private readonly server: Server;
  private readonly sockets = new Set<Socket>();
  private boundPort = 0;
  private nextId = 1;
  /**
   * accepted: connections in use (after the TLS handshake for TLS); handshakeFailures: TLS handshakes that failed (a
   * client that does not trust the certificate, garbage); sendDropped: messages towards clients dropped because their
   * socket's queue was full.
   */
  readonly stats = { accepted: 0, handshakeFailures: 0, sendDropped: 0 };

  private constructor(server: Server) {
    this.server = server;
  }

  static async listen(turn: TurnServer, opts: TurnStreamListenerOptions): Promise<TurnStreamListener> {
    const transport = opts.tls !== undefined ? 'tls' : 'tcp';
    const onConnection = (socket: Socket): void => listener.accept(turn, socket, transport, opts);
    const server = opts.tls !== undefined
      // A client that connects and never finishes the handshake holds a slot for 10 s at most (Node's default: 120 s).
      ? createTlsServer({ cert: opts.tls.cert, key: opts.tls.key, minVersion: 'TLSv1.2', handshakeTimeout: 10_000 }, onConnection)
      : createTcpServer(onConnection);
    const listener = new TurnStreamListener(server);
    server.maxConnections = opts.maxConnections ?? DEFAULT_MAX_CONNECTIONS;
    // A failed TLS handshake (garbage, a client that does not trust us) is that connection's problem only.
    server.on('tlsClientError', (_err: Error, socket: Socket) => {
      listener.stats.handshakeFailures++;
      socket.destroy();
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(opts.port, opts.address, () => {
        server.off('error', reject);
        resolve();
      });
    });
    server.on('error', () => {});
    listener.boundPort = (server.address() as { port: number }).port;
    return listener;
  }

  get port(): number {
    return this.boundPort;
  }

  get connections(): number {
    return this.sockets.size;
  }

  private accept(turn: TurnServer, socket: Socket, transport: 'tcp' | 'tls', opts: TurnStreamListenerOptions): void {
    this.sockets.add(socket);
    this.stats.accepted++;
    socket.setNoDelay(true);
    const key = `${transport}|${socket.remoteAddress ?? '?'}|${socket.remotePort ?? 0}|${this.nextId++}`;
    const maxQueued = opts.maxQueuedBytes ?? DEFAULT_MAX_QUEUED_BYTES;
    const path: TurnClientPath = {
      key, transport, remoteAddress: socket.remoteAddress ?? '', remotePort: socket.remotePort ?? 0, isStream: true,
      send: (message) => {
        if (socket.destroyed) return;
        if (socket.writableLength > maxQueued) {
          this.stats.sendDropped++;
          return;
        }
        socket.write(message);
      },
      isClosed: () => socket.destroyed,
    };
    const framer = new TurnStreamFramer();
    const idle = setTimeout(() => {
      if (turn.allocationOf(key) === undefined) socket.destroy();
    }, opts.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS);
    idle.unref();
    socket.on('data', (chunk: Buffer) => {
      const r = framer.push(chunk);
      if (!r.ok) return void socket.destroy();
      for (const m of r.messages) turn.handleClientMessage(m, path);
    });
    socket.on('error', () => socket.destroy());
    socket.on('close', () => {
      clearTimeout(idle);
      this.sockets.delete(socket);
      turn.clientClosed(key);
    });
  }

  close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}
