// How UdpMux sends: per packet with node:dgram (`off`, the original path), or queued for the rest of the event-loop
// turn and flushed once, either with one sendmmsg(2) per up to 64 datagrams through the native addon (`native`,
// packages/webrtc/native/atrium_udp.c) or with node:dgram per packet (`js`: the queue alone, for measurement).
// ATRIUM_UDP_BATCH=auto (the default) is `native` when the addon loads and passes its self-test, else `off`. (The
// default was `off` until a soak showed the input loss once seen in `auto` path-bench runs in `off` runs as well:
// docs/send-batching.md.)
import type { Socket } from 'node:dgram';
import { createRequire } from 'node:module';
import { NATIVE_SRTP_PATH } from './srtp/native-srtp.js';

/** The addon's UDP functions (see atrium_udp.c for the exact contracts). */
export interface NativeUdpBatch {
  readonly udpSupported: boolean;
  /** Returns how many of [start, start + count) were sent or dropped for their own error; fewer = stopped (result[2]). */
  udpSendBatch(
    fd: number, family: 4 | 6, bufs: readonly Uint8Array[], ports: Uint16Array, addrs: readonly string[], start: number, count: number,
    result: Int32Array,
  ): number;
  udpSocketInfo(fd: number): [family: 4 | 6, port: number];
  udpTestSocket(family: 4 | 6): [fd: number, port: number];
  udpTestRecv(fd: number, buf: Buffer, waitMs: number): number;
  udpTestClose(fd: number): void;
}

export type UdpBatchMode = 'off' | 'js' | 'native';
export type UdpBatchPreference = 'auto' | UdpBatchMode;

let loaded: { native: NativeUdpBatch | null; reason: string } | undefined;

/** The addon's UDP half if it loads and passes its self-test, else null with the reason; tried once per process. */
export function loadNativeUdpBatch(): { native: NativeUdpBatch | null; reason: string } {
  if (loaded !== undefined) return loaded;
  let native: NativeUdpBatch;
  try {
    native = createRequire(import.meta.url)(NATIVE_SRTP_PATH) as NativeUdpBatch;
  } catch (err) {
    const message = (err as Error).message.split('\n')[0] ?? String(err);
    loaded = { native: null, reason: `native module not loaded (${message})` };
    return loaded;
  }
  if (typeof native.udpSendBatch !== 'function') {
    loaded = { native: null, reason: 'native module has no udpSendBatch (built from an older source)' };
    return loaded;
  }
  const failure = nativeUdpBatchSelfTestOf(native);
  loaded = failure === null
    ? { native, reason: 'sendmmsg batching (native module, self-tested)' }
    : { native: null, reason: `sendmmsg batching failed its self-test (${failure})` };
  return loaded;
}

/** ATRIUM_UDP_BATCH: auto (default), off, js or native; anything else throws. */
export function udpBatchPreferenceFromEnv(): UdpBatchPreference {
  const value = (process.env['ATRIUM_UDP_BATCH'] ?? '').trim().toLowerCase();
  if (value === '' || value === 'auto') return 'auto';
  if (value === 'off' || value === 'js' || value === 'native') return value;
  throw new RangeError(`ATRIUM_UDP_BATCH: expected auto, off, js or native, got ${JSON.stringify(process.env['ATRIUM_UDP_BATCH'])}`);
}

/** ATRIUM_UDP_BATCH_FLUSH: when a batching mux flushes, `immediate` (default, setImmediate) or `tick` (process.nextTick). */
export function udpBatchFlushFromEnv(): 'immediate' | 'tick' {
  const value = (process.env['ATRIUM_UDP_BATCH_FLUSH'] ?? '').trim().toLowerCase();
  if (value === '' || value === 'immediate') return 'immediate';
  if (value === 'tick') return 'tick';
  throw new RangeError(`ATRIUM_UDP_BATCH_FLUSH: expected immediate or tick, got ${JSON.stringify(process.env['ATRIUM_UDP_BATCH_FLUSH'])}`);
}

/** The mode a preference resolves to, and why; 'native' throws when the addon is unusable. */
export function resolveUdpBatchMode(pref: UdpBatchPreference): { mode: UdpBatchMode; reason: string } {
  if (pref === 'off') return { mode: 'off', reason: 'dgram.send per packet (ATRIUM_UDP_BATCH=off)' };
  if (pref === 'js') return { mode: 'js', reason: 'per-turn queue flushed with dgram.send (ATRIUM_UDP_BATCH=js)' };
  const { native, reason } = loadNativeUdpBatch();
  if (native !== null) return { mode: 'native', reason };
  if (pref === 'native') throw new Error(`ATRIUM_UDP_BATCH=native: ${reason}`);
  return { mode: 'off', reason: `dgram.send per packet; ${reason}` };
}

/** node:dgram's UDPWrap behind a socket (see dgramSocketFd), or undefined if the internals changed. */
export function dgramSocketHandle(socket: Socket): { fd?: unknown; recvStop?: unknown } | undefined {
  const symbol = Object.getOwnPropertySymbols(socket).find((s) => s.description === 'state symbol');
  const state = symbol === undefined ? undefined : (socket as unknown as Record<symbol, { handle?: { fd?: unknown; recvStop?: unknown } } | undefined>)[symbol];
  return state?.handle ?? undefined;
}

/**
 * The OS fd of a bound node:dgram socket, or a reason it is not available. Node 20 has no public accessor and
 * `socket._handle` prints DEP0112, so this reads the handle from the socket's internal state object (the own
 * property keyed by the symbol described 'state symbol', lib/internal/dgram.js kStateSymbol): the same UDPWrap,
 * whose `fd` getter is libuv's uv_fileno. Checked against getsockname(2): same family and port as socket.address().
 */
export function dgramSocketFd(socket: Socket, native: Pick<NativeUdpBatch, 'udpSocketInfo'>): { fd: number; family: 4 | 6 } | string {
  const fd = dgramSocketHandle(socket)?.fd;
  if (typeof fd !== 'number' || !Number.isInteger(fd) || fd < 0) return 'no fd on the socket handle (not Linux, or node:dgram internals changed)';
  try {
    const [family, port] = native.udpSocketInfo(fd);
    const addr = socket.address();
    const expected = addr.family === 'IPv6' ? 6 : 4;
    if (port !== addr.port || family !== expected) return `fd ${fd} is not this socket (port ${port}, expected ${addr.port})`;
    return { fd, family };
  } catch (err) {
    return `fd ${fd}: ${(err as Error).message}`;
  }
}

/**
 * Sends through udpSendBatch to raw loopback sockets and reads back; null when all is as expected: order and bytes
 * of several datagrams (IPv4; IPv6 too where ::1 exists), an undeliverable address in the middle dropped and counted
 * while the others go out in order, and a stop on an invalid fd that reports how far it got.
 */
export function nativeUdpBatchSelfTestOf(native: NativeUdpBatch): string | null {
  if (!native.udpSupported) return 'sendmmsg is not available on this platform';
  const fds: number[] = [];
  const socket = (family: 4 | 6): [number, number] => {
    const s = native.udpTestSocket(family);
    fds.push(s[0]);
    return s;
  };
  try {
    const result = new Int32Array(3);
    const got = Buffer.alloc(2048);
    const recvAll = (fd: number, expected: Buffer[]): string | null => {
      for (const [i, b] of expected.entries()) {
        const len = native.udpTestRecv(fd, got, 1000);
        if (len !== b.length || !got.subarray(0, len).equals(b)) return `datagram ${i} arrived as ${len} bytes, not as sent`;
      }
      return native.udpTestRecv(fd, got, 0) >= 0 ? 'an extra datagram arrived' : null;
    };
    for (const family of [4, 6] as const) {
      let tx: number;
      let rx: number;
      let port: number;
      try {
        [tx] = socket(family);
        [rx, port] = socket(family);
      } catch (err) {
        if (family === 6) continue; // no IPv6 loopback here: nothing more to check
        throw err;
      }
      const host = family === 4 ? '127.0.0.1' : '::1';
      const bufs = Array.from({ length: 70 }, (_, i) => Buffer.alloc(20 + ((i * 37) % 1200), i)); // > one 64-datagram chunk
      const addrs: string[] = bufs.map(() => host);
      addrs[5] = family === 4 ? '::1' : 'not-an-address'; // dropped: not an address for this socket
      const ports = new Uint16Array(bufs.length).fill(port);
      const n = native.udpSendBatch(tx, family, bufs, ports, addrs, 0, bufs.length, result);
      if (n !== bufs.length || result[0] !== bufs.length - 1 || result[1] !== 1) {
        return `IPv${family}: processed ${n}, sent ${result[0]}, dropped ${result[1]} of ${bufs.length} (errno ${result[2]})`;
      }
      const wrong = recvAll(rx, bufs.filter((_, i) => i !== 5));
      if (wrong !== null) return `IPv${family}: ${wrong}`;
      if (family === 6) {
        // An IPv4 destination on an IPv6 socket goes as ::ffff:a.b.c.d; here it only has to be accepted or dropped cleanly.
        const m = native.udpSendBatch(tx, 6, [Buffer.from('x')], new Uint16Array([9]), ['127.0.0.1'], 0, 1, result);
        if (m !== 1) return `IPv4-mapped destination: processed ${m}`;
      }
    }
    // An invalid fd stops at once (EBADF) with nothing processed: the caller falls back. (-1, not a closed fd's number:
    // another thread may have been given that number again in between.)
    const stopped = native.udpSendBatch(-1, 4, [Buffer.from('x')], new Uint16Array([9]), ['127.0.0.1'], 0, 1, result);
    if (stopped !== 0 || result[2] === 0) return `a closed fd processed ${stopped} (errno ${result[2]})`;
    return null;
  } catch (err) {
    return (err as Error).message;
  } finally {
    for (const fd of fds) native.udpTestClose(fd);
  }
}
