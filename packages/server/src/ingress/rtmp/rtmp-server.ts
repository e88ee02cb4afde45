// The RTMP listener: a TCP server whose connections are RtmpConnections. Bounded: at most `maxConnections` sockets;
// a connection must finish its handshake and publish within `publishTimeoutMs` and then never go quiet for longer
// than `idleTimeoutMs`; what it may send per message is bounded by the chunk reader's limits. Reading is paused while
// the consumer of its media is behind (`pause`/`resume` of the peer): TCP pushes back on the publisher instead of
// memory filling up here.
import { createServer } from 'node:net';
import type { AddressInfo, Server, Socket } from 'node:net';
import type { Logger } from '@atrium/webrtc';
import { RtmpConnection } from './rtmp-connection.js';
import type { RtmpConnectionHandler } from './rtmp-connection.js';
import type { ChunkReaderLimits } from './chunk-stream.js';

export interface RtmpPeer {
  readonly remote: string;
  /** Stop reading from the publisher until `resume` (its media's consumer is behind). */
  pause(): void;
  resume(): void;
  /** Ends the connection (the stream ended on our side). */
  close(reason: string): void;
}

export interface RtmpServerOptions {
  port: number;
  host?: string;
  logger: Logger;
  /** A handler for each connection; `onClosed` once its socket is gone. */
  handlerFor(peer: RtmpPeer): RtmpConnectionHandler & { onClosed(reason: string): void };
  maxConnections?: number;
  publishTimeoutMs?: number;
  idleTimeoutMs?: number;
  limits?: ChunkReaderLimits;
}

export const RTMP_DEFAULTS = { maxConnections: 128, publishTimeoutMs: 10_000, idleTimeoutMs: 30_000 } as const;

export class RtmpServer {
  private readonly opts: RtmpServerOptions;
  private readonly server: Server;
  private readonly sockets = new Set<Socket>();

  private constructor(opts: RtmpServerOptions) {
    this.opts = opts;
    this.server = createServer((socket) => this.accept(socket));
    this.server.on('error', (err) => opts.logger.error({ err }, 'RTMP listener error'));
  }

  /** Listens on opts.port (0 = any free port); rejects when the port is taken. */
  static listen(opts: RtmpServerOptions): Promise<RtmpServer> {
    const s = new RtmpServer(opts);
    return new Promise((resolve, reject) => {
      const onError = (err: Error): void => reject(err);
      s.server.once('error', onError);
      s.server.listen(opts.port, opts.host ?? '0.0.0.0', () => {
        s.server.off('error', onError);
        resolve(s);
      });
    });
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  get connectionCount(): number {
    return this.sockets.size;
  }

  close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  private accept(socket: Socket): void {
    const { logger } = this.opts;
    const remote = `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? '?'}`;
    const max = this.opts.maxConnections ?? RTMP_DEFAULTS.maxConnections;
    if (this.sockets.size >= max) {
      logger.warn({ remote, max }, 'RTMP connection refused: too many connections');
      socket.destroy();
      return;
    }
    this.sockets.add(socket);
    socket.setNoDelay(true);
    let closeReason = 'the publisher disconnected';
    let closed = false;
    const peer: RtmpPeer = {
      remote,
      pause: () => socket.pause(),
      resume: () => {
        if (!closed) socket.resume();
      },
      close: (reason) => {
        closeReason = reason;
        conn.close(reason);
      },
    };
    const handler = this.opts.handlerFor(peer);
    const conn = new RtmpConnection({
      handler,
      write: (b) => {
        if (!socket.destroyed) socket.write(b);
      },
      end: (reason) => {
        closeReason = reason;
        // Let the refusal (an onStatus) reach the publisher, then make sure the socket goes.
        socket.end();
        setTimeout(() => socket.destroy(), 1_000).unref();
      },
      ...(this.opts.limits ? { limits: this.opts.limits } : {}),
    });
    const publishTimer = setTimeout(() => {
      if (!conn.isPublishing) conn.close(`no publish within ${this.opts.publishTimeoutMs ?? RTMP_DEFAULTS.publishTimeoutMs} ms`);
    }, this.opts.publishTimeoutMs ?? RTMP_DEFAULTS.publishTimeoutMs);
    publishTimer.unref();
    const idleMs = this.opts.idleTimeoutMs ?? RTMP_DEFAULTS.idleTimeoutMs;
    socket.setTimeout(idleMs, () => conn.close(`the publisher sent nothing for ${idleMs / 1000} s`, { isError: true }));
    socket.on('data', (data: Buffer) => {
      try {
        conn.push(data);
      } catch (err) {
        // A bug of ours in a handler: this connection goes, the server stays.
        logger.error({ err, remote }, 'RTMP connection failed');
        conn.close(`internal error: ${(err as Error).message}`, { isError: true });
      }
    });
    socket.on('error', (err) => logger.debug({ err: err.message, remote }, 'RTMP socket error'));
    socket.on('close', () => {
      closed = true;
      clearTimeout(publishTimer);
      this.sockets.delete(socket);
      conn.close(closeReason);
      if (conn.closeReason && conn.closeReason !== 'the publisher disconnected') logger.info({ remote, reason: conn.closeReason }, 'RTMP connection closed');
      else logger.debug({ remote }, 'RTMP connection closed');
      try {
        handler.onClosed(conn.closeReason ?? closeReason);
      } catch (err) {
        logger.error({ err, remote }, 'RTMP close handler threw');
      }
    });
  }
}
