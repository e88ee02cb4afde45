// RFC 4571 framing of STUN, DTLS and SRTP packets over a TCP connection: each packet is preceded by its length as
// a 16-bit big-endian number (https://www.rfc-editor.org/rfc/rfc4571#section-2), as ICE-TCP uses it (RFC 6544).

/** Largest frame accepted by default: far above any STUN/DTLS record or RTP packet a WebRTC peer sends. */
export const DEFAULT_MAX_FRAME_BYTES = 16 * 1024;

export type DeframeResult =
  | { ok: true }
  /** The stream is unusable from here on (the connection should be closed). */
  | { ok: false; reason: 'oversize'; length: number };

/**
 * Reassembles frames from TCP chunks that may split or coalesce them. Holds at most one partial frame
 * (`maxFrameBytes` + 2 bytes), so the memory per connection is bounded whatever the peer sends.
 */
export class Rfc4571Deframer {
  readonly maxFrameBytes: number;
  /** Zero-length frames seen (skipped). */
  emptyFrames = 0;
  private readonly partial: Buffer;
  /** Bytes held in `partial`. */
  private held = 0;
  private isBroken = false;

  constructor(opts: { maxFrameBytes?: number } = {}) {
    this.maxFrameBytes = Math.min(0xffff, opts.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES);
    this.partial = Buffer.allocUnsafe(this.maxFrameBytes + 2);
  }

  /** Bytes buffered for an incomplete frame. */
  get bufferedBytes(): number {
    return this.held;
  }

  /**
   * Feeds one chunk; calls `onFrame` synchronously for every complete frame, in order. A frame is a view of the chunk
   * (a fresh buffer per socket read) or a copy of a reassembled frame, so receivers may keep it. After an oversize
   * length prefix every later call fails too.
   */
  push(chunk: Buffer, onFrame: (frame: Buffer) => void): DeframeResult {
    if (this.isBroken) return { ok: false, reason: 'oversize', length: -1 };
    let off = 0;
    // Complete a partial frame first.
    if (this.held > 0) {
      if (this.held < 2) {
        const take = Math.min(2 - this.held, chunk.length);
        chunk.copy(this.partial, this.held, 0, take);
        this.held += take;
        off = take;
        if (this.held < 2) return { ok: true };
      }
      const length = this.partial.readUInt16BE(0);
      if (length > this.maxFrameBytes) return this.fail(length);
      const missing = 2 + length - this.held;
      const take = Math.min(missing, chunk.length - off);
      chunk.copy(this.partial, this.held, off, off + take);
      this.held += take;
      off += take;
      if (take < missing) return { ok: true };
      this.held = 0;
      // A copy: the reassembly buffer is reused, and receivers may keep packets (caches, DTLS).
      this.emit(Buffer.from(this.partial.subarray(2, 2 + length)), onFrame);
    }
    // Whole frames straight from the chunk, no copy.
    while (chunk.length - off >= 2) {
      const length = chunk.readUInt16BE(off);
      if (length > this.maxFrameBytes) return this.fail(length);
      if (chunk.length - off - 2 < length) break;
      this.emit(chunk.subarray(off + 2, off + 2 + length), onFrame);
      off += 2 + length;
    }
    if (off < chunk.length) {
      const rest = chunk.length - off;
      if (rest >= 2) {
        const length = chunk.readUInt16BE(off);
        if (length > this.maxFrameBytes) return this.fail(length);
      }
      chunk.copy(this.partial, 0, off);
      this.held = rest;
    }
    return { ok: true };
  }

  private emit(frame: Buffer, onFrame: (frame: Buffer) => void): void {
    if (frame.length === 0) {
      this.emptyFrames++;
      return;
    }
    onFrame(frame);
  }

  private fail(length: number): DeframeResult {
    this.isBroken = true;
    this.held = 0;
    return { ok: false, reason: 'oversize', length };
  }
}

/** One packet with its 2-byte length prefix, in a new buffer (a single socket write). Throws above 65535 bytes. */
export function frameRfc4571(packet: Uint8Array): Buffer {
  if (packet.length > 0xffff) throw new RangeError(`packet of ${packet.length} bytes cannot be framed (RFC 4571: at most 65535)`);
  const out = Buffer.allocUnsafe(packet.length + 2);
  out.writeUInt16BE(packet.length, 0);
  out.set(packet, 2);
  return out;
}
