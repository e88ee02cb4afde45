// One UDP socket for every peer, demultiplexed by first byte per RFC 7983
// (https://www.rfc-editor.org/rfc/rfc7983): [0..3] STUN, [20..63] DTLS, [128..191] RTP/RTCP.
import { createSocket } from 'node:dgram';
import type { RemoteInfo, Socket } from 'node:dgram';
import { isIPv6 } from 'node:net';
import type { Logger } from './logger.js';
import { silentLogger } from './logger.js';
import { peekBindingRequestUfrag } from './stun/stun-attributes.js';

/** A packet consumer, owned by an IceTransport. Called synchronously per datagram: no throwing. */
export interface MuxConnection {
  handleStun(buf: Buffer, address: string, port: number): void;
  handleDtls(buf: Buffer, address: string, port: number): void;
  /** RTP or RTCP (SRTP/SRTCP). */
  handleRtp(buf: Buffer, address: string, port: number): void;
}

export interface UdpMuxStats {
  packetsIn: number;
  packetsOut: number;
  /** Unclassifiable datagrams and datagrams from unknown remotes / unknown ufrags. */
  dropped: number;
  sendErrors: number;
}

export interface UdpMuxOptions {
  /** 0 = ephemeral. */
  port: number;
  address: string;
  /** Wanted socket buffer sizes; default 4 MiB each. The kernel may clamp (net.core.rmem_max). */
  recvBufferBytes?: number;
  sendBufferBytes?: number;
  logger?: Logger;
}

const DEFAULT_SOCKET_BUFFER_BYTES = 4 * 1024 * 1024;

export class UdpMux {
  readonly port: number;
  readonly address: string;
  readonly stats: UdpMuxStats = { packetsIn: 0, packetsOut: 0, dropped: 0, sendErrors: 0 };
  /** Socket buffer sizes in effect after bind, as reported by the kernel (Linux reports double). */
  readonly recvBufferBytes: number;
  readonly sendBufferBytes: number;

  private readonly socket: Socket;
  private readonly logger: Logger;
  /** address -> port -> connection: two lookups, no string built per packet. */
  private readonly remotes = new Map<string, Map<number, MuxConnection>>();
  private readonly ufrags = new Map<string, MuxConnection>();
  private closed = false;
  private closePromise: Promise<void> | undefined;
  private readonly onSendDone = (err: Error | null): void => {
    if (err) this.stats.sendErrors++;
  };

  private constructor(socket: Socket, logger: Logger, sizes: { recv: number; send: number }) {
    this.socket = socket;
    this.logger = logger;
    const addr = socket.address();
    this.port = addr.port;
    this.address = addr.address;
    this.recvBufferBytes = sizes.recv;
    this.sendBufferBytes = sizes.send;
    socket.on('message', (buf: Buffer, rinfo: RemoteInfo) => this.onMessage(buf, rinfo.address, rinfo.port));
    socket.on('error', (err) => {
      this.stats.sendErrors++;
      this.logger.warn({ err: String(err) }, 'udp mux socket error');
    });
  }

  static bind(opts: UdpMuxOptions): Promise<UdpMux> {
    const logger = opts.logger ?? silentLogger;
    const socket = createSocket({ type: isIPv6(opts.address) ? 'udp6' : 'udp4' });
    return new Promise<UdpMux>((resolve, reject) => {
      const onError = (err: Error): void => {
        socket.close();
        reject(err);
      };
      socket.once('error', onError);
      socket.bind(opts.port, opts.address, () => {
        socket.off('error', onError);
        const recv = raiseBuffer(socket, 'recv', opts.recvBufferBytes ?? DEFAULT_SOCKET_BUFFER_BYTES);
        const send = raiseBuffer(socket, 'send', opts.sendBufferBytes ?? DEFAULT_SOCKET_BUFFER_BYTES);
        const mux = new UdpMux(socket, logger, { recv, send });
        logger.debug({ port: mux.port, address: mux.address, recv, send }, 'udp mux bound');
        resolve(mux);
      });
    });
  }

  /** Fire and forget; errors are counted, never thrown. */
  send(buf: Uint8Array, port: number, address: string): void {
    if (this.closed) {
      this.stats.sendErrors++;
      return;
    }
    try {
      this.socket.send(buf, port, address, this.onSendDone);
      this.stats.packetsOut++;
    } catch {
      this.stats.sendErrors++;
    }
  }

  /**
   * STUN Binding requests whose USERNAME starts with `localUfrag:` go to `conn`, from any remote (the
   * only way in for unknown remotes). Other STUN from unknown remotes is dropped.
   */
  registerUfrag(localUfrag: string, conn: MuxConnection): void {
    this.ufrags.set(localUfrag, conn);
  }

  unregisterUfrag(localUfrag: string): void {
    this.ufrags.delete(localUfrag);
  }

  /** Later packets of any kind from this remote go to `conn` (replacing an earlier binding). */
  bindRemote(address: string, port: number, conn: MuxConnection): void {
    let byPort = this.remotes.get(address);
    if (!byPort) {
      byPort = new Map();
      this.remotes.set(address, byPort);
    }
    byPort.set(port, conn);
  }

  unbindRemote(address: string, port: number): void {
    const byPort = this.remotes.get(address);
    if (!byPort) return;
    byPort.delete(port);
    if (byPort.size === 0) this.remotes.delete(address);
  }

  /** Removes every remote binding and ufrag registration of `conn`. */
  unbindAll(conn: MuxConnection): void {
    for (const [address, byPort] of this.remotes) {
      for (const [port, c] of byPort) if (c === conn) byPort.delete(port);
      if (byPort.size === 0) this.remotes.delete(address);
    }
    for (const [ufrag, c] of this.ufrags) if (c === conn) this.ufrags.delete(ufrag);
  }

  /** Number of remote bindings plus ufrag registrations (0 when every connection cleaned up). */
  get registrationCount(): number {
    let n = this.ufrags.size;
    for (const byPort of this.remotes.values()) n += byPort.size;
    return n;
  }

  close(): Promise<void> {
    if (this.closePromise) return this.closePromise;
    this.closed = true;
    this.remotes.clear();
    this.ufrags.clear();
    this.closePromise = new Promise<void>((resolve) => {
      try {
        this.socket.close(() => resolve());
      } catch {
        resolve();
      }
    });
    return this.closePromise;
  }

  private onMessage(buf: Buffer, address: string, port: number): void {
    this.stats.packetsIn++;
    if (buf.length === 0) {
      this.stats.dropped++;
      return;
    }
    const b0 = buf[0]!;
    const conn = this.remotes.get(address)?.get(port);
    try {
      if (b0 <= 3) {
        // Binding requests go by USERNAME first (a known remote may start a new session with another
        // ufrag); everything else STUN goes to the remote's connection.
        const byUfrag = b0 === 0 && buf[1] === 1 ? this.connForUfragOf(buf) : undefined;
        const target = byUfrag ?? conn;
        if (target) target.handleStun(buf, address, port);
        else this.stats.dropped++;
      } else if (b0 >= 20 && b0 <= 63) {
        if (conn) conn.handleDtls(buf, address, port);
        else this.stats.dropped++;
      } else if (b0 >= 128 && b0 <= 191) {
        if (conn) conn.handleRtp(buf, address, port);
        else this.stats.dropped++;
      } else {
        this.stats.dropped++;
      }
    } catch (err) {
      // A connection must not throw; if one does, the socket keeps serving everyone else.
      this.stats.dropped++;
      this.logger.error({ err: String(err) }, 'mux connection threw');
    }
  }

  private connForUfragOf(buf: Buffer): MuxConnection | undefined {
    const ufrag = peekBindingRequestUfrag(buf);
    return ufrag === undefined ? undefined : this.ufrags.get(ufrag);
  }
}

function raiseBuffer(socket: Socket, which: 'recv' | 'send', wantedBytes: number): number {
  const get = (): number => {
    try {
      return which === 'recv' ? socket.getRecvBufferSize() : socket.getSendBufferSize();
    } catch {
      return 0;
    }
  };
  // Try the wanted size, then smaller ones; the kernel clamps silently to its maximum anyway.
  for (let size = wantedBytes; size >= 256 * 1024; size = Math.floor(size / 2)) {
    try {
      if (which === 'recv') socket.setRecvBufferSize(size);
      else socket.setSendBufferSize(size);
      break;
    } catch {
      // fall back silently
    }
  }
  return get();
}
