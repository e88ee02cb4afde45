// One UDP socket for every peer, demultiplexed by first byte per RFC 7983
// (https://www.rfc-editor.org/rfc/rfc7983): [0..3] STUN, [20..63] DTLS, [128..191] RTP/RTCP.
// Sending: per packet with node:dgram, or (ATRIUM_UDP_BATCH, see udp-batch.ts) queued until the end of the event-loop
// turn and flushed with one sendmmsg(2) per up to 64 datagrams.
// Receiving: node:dgram's 'message' per datagram, or (ATRIUM_UDP_RECV, see udp-recv.ts) recvmmsg(2) batches.
import { createSocket } from 'node:dgram';
import type { RemoteInfo, Socket } from 'node:dgram';
import { isIPv6 } from 'node:net';
import type { Logger } from './logger.js';
import { silentLogger } from './logger.js';
import { peekBindingRequestUfrag } from './stun/stun-attributes.js';
import { dgramSocketFd, loadNativeUdpBatch, resolveUdpBatchMode, udpBatchFlushFromEnv, udpBatchPreferenceFromEnv } from './udp-batch.js';
import type { NativeUdpBatch, UdpBatchMode, UdpBatchPreference } from './udp-batch.js';
import { NativeDatagramReader, loadNativeUdpRecv, resolveUdpRecvMode, udpRecvPreferenceFromEnv } from './udp-recv.js';
import type { UdpRecvMode, UdpRecvPreference } from './udp-recv.js';

/** A packet consumer, owned by an IceTransport. Called synchronously per datagram: no throwing. */
export interface MuxConnection {
  handleStun(buf: Buffer, address: string, port: number): void;
  handleDtls(buf: Buffer, address: string, port: number): void;
  /** RTP or RTCP (SRTP/SRTCP). */
  handleRtp(buf: Buffer, address: string, port: number): void;
}

export interface UdpMuxStats {
  packetsIn: number;
  /** Datagrams accepted by send() (handed to node:dgram, or queued when batching); later failures count in sendErrors. */
  packetsOut: number;
  /** Unclassifiable datagrams, datagrams from unknown remotes / unknown ufrags, and (native receiving) oversized ones. */
  dropped: number;
  sendErrors: number;
  /** Batching modes: flushes of a non-empty queue. */
  flushes: number;
  /** Native mode: datagrams that went out through sendmmsg. */
  batchedOut: number;
  /** Native mode: datagrams of a batch sent with dgram.send instead (libuv still had sends queued, or sendmmsg hit EAGAIN/ENOBUFS). */
  fallbackOut: number;
}

export interface UdpMuxOptions {
  /** 0 = ephemeral. */
  port: number;
  address: string;
  /** Wanted socket buffer sizes; default 4 MiB each. The kernel may clamp (net.core.rmem_max). */
  recvBufferBytes?: number;
  sendBufferBytes?: number;
  logger?: Logger;
  /** How to send; default from ATRIUM_UDP_BATCH (auto: native sendmmsg batching when the addon is usable, else off). */
  batch?: UdpBatchPreference;
  /**
   * Batching modes: when the per-turn queue is flushed. 'immediate' (default): setImmediate, after every I/O callback
   * of this loop iteration (a batch spans all datagrams read in one poll phase); 'tick': process.nextTick, at the end
   * of the current callback (a batch spans the packets one incoming datagram or timer produced).
   * Default from ATRIUM_UDP_BATCH_FLUSH.
   */
  batchFlush?: 'immediate' | 'tick';
  /** How to receive; default from ATRIUM_UDP_RECV (dgram unless set: see udp-recv.ts). */
  recv?: UdpRecvPreference;
  /**
   * Native receiving only: RTP and RTCP datagrams reach the connections as views of the receive slab, valid only until
   * the handler returns, instead of copies (udp-recv.ts). Only for a mux whose connections keep no packet and no view
   * of one: the load tester's subscribers (decrypt in place, count, drop). Default false.
   */
  recvBorrowMedia?: boolean;
  /** Tests: a stand-in for the addon's UDP functions, used when `batch` is 'native'. */
  batchNative?: NativeUdpBatch;
}

const DEFAULT_SOCKET_BUFFER_BYTES = 4 * 1024 * 1024;
/** Queue bound per turn: reaching it flushes at once (order is kept: everything goes through the one queue). */
const MAX_QUEUE = 1024;
/**
 * The send arena (native batching): SRTP writes datagrams straight into it (reserve), so a forwarded packet allocates
 * no Buffer of its own. Full: the queue is flushed and the arena starts over. Datagrams are placed 8-byte aligned.
 */
const ARENA_BYTES = 256 * 1024;
/** A datagram larger than this gets a buffer of its own (no peer of ours sends one near it). */
const ARENA_MAX_DATAGRAM = 16 * 1024;
let loggedBatchChoice = false;
let loggedRecvChoice = false;

export class UdpMux {
  readonly port: number;
  readonly address: string;
  readonly stats: UdpMuxStats = { packetsIn: 0, packetsOut: 0, dropped: 0, sendErrors: 0, flushes: 0, batchedOut: 0, fallbackOut: 0 };
  /** Socket buffer sizes in effect after bind, as reported by the kernel (Linux reports double). */
  readonly recvBufferBytes: number;
  readonly sendBufferBytes: number;
  /** How this mux sends (see udp-batch.ts); 'native' can turn into 'js' for good if the socket's fd stops working. */
  batchMode: UdpBatchMode;
  /** How this mux receives (see udp-recv.ts). */
  readonly recvMode: UdpRecvMode;

  private readonly socket: Socket;
  private readonly reader: NativeDatagramReader | undefined;
  private readonly logger: Logger;
  /** address -> port -> connection: two lookups, no string built per packet. */
  private readonly remotes = new Map<string, Map<number, MuxConnection>>();
  private readonly ufrags = new Map<string, MuxConnection>();
  private closed = false;
  private closePromise: Promise<void> | undefined;
  /** dgram.send calls whose callback has not run: while > 0 node:dgram or libuv may still hold unsent datagrams. */
  private dgramInFlight = 0;
  private onDrained: (() => void) | undefined;
  private readonly onSendDone = (err: Error | null): void => {
    this.dgramInFlight--;
    if (err) this.stats.sendErrors++;
    if (this.dgramInFlight === 0 && this.onDrained !== undefined) {
      const drained = this.onDrained;
      this.onDrained = undefined;
      drained();
    }
  };

  // The per-turn queue (batching modes). Entries past queueLength are undefined (cleared after each flush).
  private readonly queueBufs: (Uint8Array | undefined)[] = [];
  private readonly queueAddrs: (string | undefined)[] = [];
  private readonly queuePorts = new Uint16Array(MAX_QUEUE);
  private queueLength = 0;
  private flushScheduled = false;
  // The send arena: views of it handed out by reserve() since the last flush end before `arenaUsed`.
  private arena: Buffer | null = null;
  private arenaUsed = 0;
  private readonly scheduleFlush: (fn: () => void) => void;
  private readonly flushNow = (): void => this.flush();
  // Native mode.
  private native: NativeUdpBatch | null = null;
  private fd = -1;
  private family: 4 | 6 = 4;
  private readonly batchResult = new Int32Array(3);
  private readonly loggedErrnos = new Set<number>();

  private constructor(
    socket: Socket, logger: Logger, sizes: { recv: number; send: number },
    batch: { mode: UdpBatchMode; native: NativeUdpBatch | null; flush: 'immediate' | 'tick' }, recvMode: UdpRecvMode,
    recvBorrowMedia = false,
  ) {
    this.socket = socket;
    this.logger = logger;
    this.batchMode = batch.mode;
    this.scheduleFlush = batch.flush === 'tick' ? process.nextTick : setImmediate;
    if (batch.mode === 'native' && batch.native !== null) {
      const fd = dgramSocketFd(socket, batch.native);
      if (typeof fd === 'string') {
        this.batchMode = 'off';
        logger.warn({ reason: fd }, 'udp mux: no usable fd for sendmmsg batching; sending with dgram.send per packet');
      } else {
        this.native = batch.native;
        this.fd = fd.fd;
        this.family = fd.family;
      }
    }
    const addr = socket.address();
    this.port = addr.port;
    this.address = addr.address;
    this.recvBufferBytes = sizes.recv;
    this.sendBufferBytes = sizes.send;
    socket.on('message', (buf: Buffer, rinfo: RemoteInfo) => this.onMessage(buf, rinfo.address, rinfo.port));
    const native = recvMode === 'native' ? loadNativeUdpRecv().native : null;
    const reader = native === null ? 'no native module' : NativeDatagramReader.start(
      socket, native, (buf, address, port) => this.onMessage(buf, address, port), () => {
        this.stats.packetsIn++;
        this.stats.dropped++;
      },
      recvBorrowMedia,
    );
    if (typeof reader === 'string') {
      if (recvMode === 'native') logger.warn({ reason: reader }, "udp mux: cannot receive with recvmmsg; receiving with node:dgram's 'message'");
      this.recvMode = 'dgram';
    } else {
      this.reader = reader;
      this.recvMode = 'native';
    }
    socket.on('error', (err) => {
      this.stats.sendErrors++;
      this.logger.warn({ err: String(err) }, 'udp mux socket error');
    });
  }

  static bind(opts: UdpMuxOptions): Promise<UdpMux> {
    const logger = opts.logger ?? silentLogger;
    let batch: { mode: UdpBatchMode; reason: string };
    let flush: 'immediate' | 'tick';
    let recv: { mode: UdpRecvMode; reason: string };
    try {
      recv = resolveUdpRecvMode(opts.recv ?? udpRecvPreferenceFromEnv());
      flush = opts.batchFlush ?? udpBatchFlushFromEnv();
      const pref = opts.batch ?? udpBatchPreferenceFromEnv();
      batch = pref === 'native' && opts.batchNative ? { mode: 'native', reason: 'stand-in native module' } : resolveUdpBatchMode(pref);
    } catch (err) {
      return Promise.reject(err as Error);
    }
    if (!loggedBatchChoice) {
      loggedBatchChoice = true;
      logger.info({ mode: batch.mode, reason: batch.reason, ...(batch.mode === 'off' ? {} : { flush }) }, 'udp mux send path');
    }
    if (!loggedRecvChoice) {
      loggedRecvChoice = true;
      logger.info({ mode: recv.mode, reason: recv.reason }, 'udp mux receive path');
    }
    const native = batch.mode === 'native' ? (opts.batchNative ?? loadNativeUdpBatch().native) : null;
    const socket = createSocket({ type: isIPv6(opts.address) ? 'udp6' : 'udp4' });
    return new Promise<UdpMux>((resolve, reject) => {
      const onError = (err: Error): void => {
        socket.close();
        reject(err);
      };
      socket.once('error', onError);
      socket.bind(opts.port, opts.address, () => {
        socket.off('error', onError);
        const recvBytes = raiseBuffer(socket, 'recv', opts.recvBufferBytes ?? DEFAULT_SOCKET_BUFFER_BYTES);
        const send = raiseBuffer(socket, 'send', opts.sendBufferBytes ?? DEFAULT_SOCKET_BUFFER_BYTES);
        const mux = new UdpMux(socket, logger, { recv: recvBytes, send }, { mode: batch.mode, native, flush }, recv.mode, opts.recvBorrowMedia === true);
        logger.debug({ port: mux.port, address: mux.address, recv: recvBytes, send }, 'udp mux bound');
        resolve(mux);
      });
    });
  }

  /**
   * Fire and forget; errors are counted, never thrown. `buf` is kept, not copied, until it is sent (at the end of this
   * event-loop turn when batching; node:dgram also keeps it while libuv has it queued): callers must not modify it
   * afterwards. Every caller passes a fresh buffer (SRTP protect allocates its output; STUN and DTLS build new ones).
   */
  send(buf: Uint8Array, port: number, address: string): void {
    if (this.closed) {
      this.stats.sendErrors++;
      return;
    }
    if (this.batchMode === 'off') {
      this.dgramSend(buf, port, address);
      return;
    }
    if ((port & 0xffff) !== port || port === 0) {
      this.stats.sendErrors++; // what dgram.send throws for (ERR_SOCKET_BAD_PORT); the queue keeps ports in 16 bits
      return;
    }
    const i = this.queueLength;
    this.stats.packetsOut++;
    this.queueBufs[i] = buf;
    this.queueAddrs[i] = address;
    this.queuePorts[i] = port;
    this.queueLength = i + 1;
    if (i + 1 === MAX_QUEUE) {
      this.flush();
    } else if (!this.flushScheduled) {
      this.flushScheduled = true;
      this.scheduleFlush(this.flushNow);
    }
  }

  /**
   * Room for one datagram of `length` bytes to fill and pass to send() in the same synchronous run (nothing may be
   * sent in between by the caller): a view of the send arena, reused once the queue holding it has been flushed. Only
   * with native batching (sendmmsg copies datagrams into the kernel during the flush); undefined otherwise, or for a
   * datagram over 16 KiB: the caller then allocates. A reserved view that is never sent is simply wasted.
   */
  reserve(length: number): Buffer | undefined {
    if (this.native === null || this.closed || length > ARENA_MAX_DATAGRAM || length <= 0) return undefined;
    let arena = this.arena;
    let used = this.arenaUsed;
    if (arena !== null && used + length > arena.length) {
      // Full: send what is queued (it points into this arena); a flush that sent it all natively frees the arena.
      this.flush();
      arena = this.arena;
      used = this.arenaUsed;
    }
    if (arena === null) {
      this.arena = arena = Buffer.allocUnsafeSlow(ARENA_BYTES);
      used = 0;
    }
    this.arenaUsed = used + ((length + 7) & ~7);
    return arena.subarray(used, used + length);
  }

  /** Datagrams waiting for the end of this turn (batching modes). */
  get queuedCount(): number {
    return this.queueLength;
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

  /** The connection registered for `localUfrag`, if any (the ICE-TCP listener routes new connections with it). */
  connectionForUfrag(localUfrag: string): MuxConnection | undefined {
    return this.ufrags.get(localUfrag);
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
    // What was queued this turn goes out first, while the fd is still this socket's; after this nothing is sent
    // directly on the fd (a later scheduled flush finds the queue empty and the mux closed).
    this.flush();
    this.closed = true;
    this.reader?.stop();
    this.remotes.clear();
    this.ufrags.clear();
    this.closePromise = new Promise<void>((resolve) => {
      const closeSocket = (): void => {
        try {
          this.socket.close(() => resolve());
        } catch {
          resolve();
        }
      };
      if (this.dgramInFlight === 0) {
        closeSocket();
        return;
      }
      // node:dgram drops sends still waiting for their (next-tick) address lookup when the socket closes: let the
      // pending ones finish first, for at most a second.
      const timer = setTimeout(() => {
        this.onDrained = undefined;
        closeSocket();
      }, 1000);
      timer.unref();
      this.onDrained = () => {
        clearTimeout(timer);
        closeSocket();
      };
    });
    return this.closePromise;
  }

  /** `queued`: the packet was already counted in packetsOut when it was queued. */
  private dgramSend(buf: Uint8Array, port: number, address: string, queued = false): void {
    try {
      this.socket.send(buf, port, address, this.onSendDone);
      this.dgramInFlight++;
      if (!queued) this.stats.packetsOut++;
    } catch {
      this.stats.sendErrors++;
    }
  }

  /** Sends the queue in order: natively while nothing sent through node:dgram is still pending, the rest with dgram.send. */
  private flush(): void {
    this.flushScheduled = false;
    // No view of the send arena is outside the queue at a flush (reserve() hands one out just before send() queues
    // it): the arena starts over, even when nothing is queued (views reserved and never sent are just given back).
    this.arenaUsed = 0;
    const n = this.queueLength;
    if (n === 0) return;
    this.queueLength = 0;
    this.stats.flushes++;
    const bufs = this.queueBufs;
    const addrs = this.queueAddrs;
    const ports = this.queuePorts;
    let i = 0;
    const native = this.native;
    if (native !== null && !this.closed) {
      if (this.dgramInFlight === 0 && this.socket.getSendQueueCount() === 0) {
        const result = this.batchResult;
        try {
          i = native.udpSendBatch(this.fd, this.family, bufs as Uint8Array[], ports, addrs as string[], 0, n, result);
        } catch (err) {
          // Not expected (the arguments are ours); never let it reach the event loop: the rest goes by dgram.send.
          result.fill(0);
          result[2] = -1;
          i = 0;
          this.logger.error({ err: String(err) }, 'udp mux: udpSendBatch threw');
        }
        this.stats.batchedOut += result[0]!;
        if (result[1]! > 0) {
          this.stats.sendErrors += result[1]!;
          this.logErrnoOnce(result[2]!, 'udp mux: datagram dropped by sendmmsg (logged once per errno)');
        }
        if (i < n && !isTransientErrno(result[2]!)) {
          // The fd itself failed (EBADF, ENOTSOCK...): never use it again.
          this.native = null;
          this.batchMode = 'js';
          this.logger.warn({ errno: result[2] }, 'udp mux: sendmmsg failed on the socket; sending with dgram.send from now on');
        }
      }
      this.stats.fallbackOut += n - i;
    }
    if (i < n) {
      // node:dgram keeps what it is given until libuv has sent it: the arena's views among these must stay as they
      // are, so the arena is left to them and the next reserve() takes a new one.
      this.arena = null;
      for (; i < n; i++) this.dgramSend(bufs[i]!, ports[i]!, addrs[i]!, true);
    }
    bufs.fill(undefined, 0, n);
    addrs.fill(undefined, 0, n);
  }

  private logErrnoOnce(errno: number, msg: string): void {
    if (this.loggedErrnos.has(errno)) return;
    this.loggedErrnos.add(errno);
    this.logger.warn({ errno }, msg);
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

// Linux errno values of a full socket buffer: EAGAIN/EWOULDBLOCK 11, ENOBUFS 105, ENOMEM 12.
function isTransientErrno(errno: number): boolean {
  return errno === 11 || errno === 105 || errno === 12;
}

/** Raises a UDP socket buffer towards `wantedBytes` (halving on refusal); returns the size the kernel granted. */
export function raiseBuffer(socket: Socket, which: 'recv' | 'send', wantedBytes: number): number {
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
