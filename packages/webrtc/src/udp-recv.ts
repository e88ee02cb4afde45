// How UdpMux receives: node:dgram's 'message' event per datagram (`dgram`, the original path), or recvmmsg(2)
// batches through the native addon (`native`, packages/webrtc/native/atrium_udp_recv.c): one JavaScript call per batch
// of up to 64 datagrams, each copied out of a slab the thread's readers share into a Buffer of its own (callers keep
// packets, e.g. for retransmission), with the sender's address string from a small cache instead of a new string
// per datagram. A reader started with `borrowMedia` hands RTP and RTCP datagrams out as views of the slab instead,
// valid only during the call: for receivers that keep no packet (the load tester's subscribers), so that a high
// packet rate allocates no memory outside the JavaScript heap (a Buffer per datagram takes the pool's 8 KiB
// ArrayBuffers at MB/s, and that external memory is what starts V8's full collections).
// ATRIUM_UDP_RECV=auto is `native` when the addon loads and passes its self-test, else `dgram`.
import type { Socket } from 'node:dgram';
import { createRequire } from 'node:module';
import { NATIVE_SRTP_PATH } from './srtp/native-srtp.js';
import { dgramSocketFd, dgramSocketHandle, loadNativeUdpBatch } from './udp-batch.js';
import type { NativeUdpBatch } from './udp-batch.js';

/** The addon's receive functions (atrium_udp_recv.c has the exact contracts). */
export interface NativeUdpRecv extends Pick<NativeUdpBatch, 'udpSupported' | 'udpSocketInfo'> {
  readonly udpRecvMetaStride: number;
  udpRecvStart(fd: number, slab: Buffer, meta: Int32Array, slotBytes: number, onBatch: (count: number) => void): object;
  udpRecvStop(handle: object): void;
  udpAddressName(family: 4 | 6, w0: number, w1: number, w2: number, w3: number): string;
}

export type UdpRecvMode = 'dgram' | 'native';
export type UdpRecvPreference = 'auto' | UdpRecvMode;

/** The largest datagram the native reader takes; a bigger one is dropped (and counted), as no peer of ours sends one. */
export const RECV_SLOT_BYTES = 4096;
const BATCH = 64;
/** Distinct sender addresses remembered as strings before the cache starts over (bounded against spoofed floods). */
const ADDRESS_CACHE_MAX = 1024;

/** ATRIUM_UDP_RECV: auto, dgram or native; unset means dgram (see docs/send-batching.md, "Receiving"). */
export function udpRecvPreferenceFromEnv(): UdpRecvPreference {
  const value = (process.env['ATRIUM_UDP_RECV'] ?? '').trim().toLowerCase();
  if (value === '' || value === 'dgram') return 'dgram';
  if (value === 'auto' || value === 'native') return value;
  throw new RangeError(`ATRIUM_UDP_RECV: expected auto, dgram or native, got ${JSON.stringify(process.env['ATRIUM_UDP_RECV'])}`);
}

let loaded: { native: NativeUdpRecv | null; reason: string } | undefined;

/** The addon's receive half if it loads (and its send half passed the self-test, which shares the socket code), else null. */
export function loadNativeUdpRecv(): { native: NativeUdpRecv | null; reason: string } {
  if (loaded !== undefined) return loaded;
  const batch = loadNativeUdpBatch();
  if (batch.native === null) {
    loaded = { native: null, reason: batch.reason };
    return loaded;
  }
  const native = createRequire(import.meta.url)(NATIVE_SRTP_PATH) as NativeUdpRecv;
  loaded = typeof native.udpRecvStart === 'function'
    ? { native, reason: 'recvmmsg batches (native module)' }
    : { native: null, reason: 'native module has no udpRecvStart (built from an older source)' };
  return loaded;
}

/** The mode a preference resolves to, and why; 'native' throws when the addon is unusable. */
export function resolveUdpRecvMode(pref: UdpRecvPreference): { mode: UdpRecvMode; reason: string } {
  if (pref === 'dgram') return { mode: 'dgram', reason: "node:dgram 'message' per datagram" };
  const { native, reason } = loadNativeUdpRecv();
  if (native !== null) return { mode: 'native', reason };
  if (pref === 'native') throw new Error(`ATRIUM_UDP_RECV=native: ${reason}`);
  return { mode: 'dgram', reason: `node:dgram 'message' per datagram; ${reason}` };
}

/** One slab per thread: a batch is handed out (copied) before any other reader on the thread can fill it again. */
let shared: { slab: Buffer; meta: Int32Array; stride: number } | undefined;

/**
 * Takes over a bound node:dgram socket's receiving: stops node:dgram's reads (the socket still sends, and still
 * emits 'error') and calls `onDatagram` for every datagram, in arrival order, from recvmmsg batches
 * (`onOversized` for one larger than RECV_SLOT_BYTES, which is dropped).
 */
export class NativeDatagramReader {
  private handle: object | undefined;
  private readonly names4 = new Map<number, string>();
  private readonly names6 = new Map<string, string>();

  private constructor(
    private readonly native: NativeUdpRecv,
    private readonly onDatagram: (buf: Buffer, address: string, port: number) => void,
    private readonly onOversized: () => void,
    private readonly borrowMedia: boolean,
  ) {}

  /**
   * The reader, or the reason the socket cannot be read natively (it is then left to node:dgram, untouched). With
   * `borrowMedia`, an RTP or RTCP datagram (first byte 128-191) is a view of the shared slab that the next batch
   * overwrites: `onDatagram` must not keep it (nor any view of it) after it returns. Everything else is a copy.
   */
  static start(
    socket: Socket, native: NativeUdpRecv, onDatagram: (buf: Buffer, address: string, port: number) => void,
    onOversized: () => void, borrowMedia = false,
  ): NativeDatagramReader | string {
    const fd = dgramSocketFd(socket, native);
    if (typeof fd === 'string') return fd;
    const handle = dgramSocketHandle(socket);
    const recvStop = handle?.recvStop;
    if (typeof recvStop !== 'function') return 'no recvStop on the socket handle (node:dgram internals changed)';
    shared ??= {
      slab: Buffer.allocUnsafe(BATCH * RECV_SLOT_BYTES),
      meta: new Int32Array(BATCH * native.udpRecvMetaStride),
      stride: native.udpRecvMetaStride,
    };
    const reader = new NativeDatagramReader(native, onDatagram, onOversized, borrowMedia);
    try {
      reader.handle = native.udpRecvStart(fd.fd, shared.slab, shared.meta, RECV_SLOT_BYTES, reader.onBatch);
    } catch (err) {
      return (err as Error).message;
    }
    recvStop.call(handle);
    return reader;
  }

  /** Stops reading (before the socket closes); idempotent. */
  stop(): void {
    if (this.handle === undefined) return;
    this.native.udpRecvStop(this.handle);
    this.handle = undefined;
  }

  private readonly onBatch = (count: number): void => {
    const { slab, meta, stride } = shared!;
    for (let i = 0; i < count; i++) {
      const m = i * stride;
      const length = meta[m]!;
      if (length < 0) {
        this.onOversized(); // larger than RECV_SLOT_BYTES: dropped
        continue;
      }
      const start = i * RECV_SLOT_BYTES;
      let buf: Buffer;
      const b0 = slab[start]!;
      if (this.borrowMedia && b0 >= 128 && b0 <= 191 && length > 0) {
        buf = slab.subarray(start, start + length);
      } else {
        buf = Buffer.allocUnsafe(length);
        slab.copy(buf, 0, start, start + length);
      }
      const address = meta[m + 2] === 4 ? this.name4(meta[m + 4]!) : this.name6(meta[m + 4]!, meta[m + 5]!, meta[m + 6]!, meta[m + 7]!);
      // A throwing handler must not cost the rest of the batch (node:dgram would have delivered them): report it as
      // node:dgram's listeners' exceptions are, after the batch.
      try {
        this.onDatagram(buf, address, meta[m + 1]!);
      } catch (err) {
        process.nextTick(() => {
          throw err;
        });
      }
    }
  };

  private name4(word: number): string {
    let name = this.names4.get(word);
    if (name === undefined) {
      if (this.names4.size >= ADDRESS_CACHE_MAX) this.names4.clear();
      name = this.native.udpAddressName(4, word, 0, 0, 0);
      this.names4.set(word, name);
    }
    return name;
  }

  private name6(w0: number, w1: number, w2: number, w3: number): string {
    const key = `${w0},${w1},${w2},${w3}`;
    let name = this.names6.get(key);
    if (name === undefined) {
      if (this.names6.size >= ADDRESS_CACHE_MAX) this.names6.clear();
      name = this.native.udpAddressName(6, w0, w1, w2, w3);
      this.names6.set(key, name);
    }
    return name;
  }
}
