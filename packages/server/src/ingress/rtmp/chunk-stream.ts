// The RTMP chunk stream (Adobe RTMP spec, section 5.3): messages are cut into chunks of at most the sender's chunk
// size, each with a basic header (format 0-3 and chunk stream id) and a message header of 11, 7, 3 or 0 bytes that
// repeats only what changed since the previous chunk of the same chunk stream; timestamps of 0xFFFFFF or more go in a
// 4-byte extended timestamp. The reader is incremental (bytes in as the socket gives them, whole messages out) and
// bounded: limits on the chunk size a peer may set, on message size, on the chunk streams it may use and on bytes held
// for unfinished messages. A violation throws RtmpProtocolError; the caller closes the connection.

export class RtmpProtocolError extends Error {
  readonly code = 'rtmp_protocol';
}

export interface RtmpMessage {
  readonly chunkStreamId: number;
  readonly typeId: number;
  readonly streamId: number;
  /** Milliseconds (32 bits, wrapping), absolute as the chunk headers add up. */
  readonly timestamp: number;
  readonly payload: Buffer;
}

export interface ChunkReaderLimits {
  /** Largest chunk size a peer may set (Set Chunk Size). */
  maxChunkSize: number;
  /** Largest message a peer may announce. */
  maxMessageBytes: number;
  /** Distinct chunk stream ids a connection may use. */
  maxChunkStreams: number;
  /** Bytes held for unfinished messages across all chunk streams. */
  maxPendingBytes: number;
}

export const DEFAULT_CHUNK_LIMITS: ChunkReaderLimits = {
  maxChunkSize: 1 << 20,
  maxMessageBytes: 4 << 20,
  maxChunkStreams: 64,
  maxPendingBytes: 8 << 20,
};

/** Protocol control message types (section 5.4) and the others we know. */
export const MSG = {
  setChunkSize: 1,
  abort: 2,
  ack: 3,
  userControl: 4,
  windowAckSize: 5,
  setPeerBandwidth: 6,
  audio: 8,
  video: 9,
  dataAmf3: 15,
  commandAmf3: 17,
  dataAmf0: 18,
  commandAmf0: 20,
  aggregate: 22,
} as const;

const EXTENDED = 0xffffff;
const MESSAGE_HEADER_BYTES = [11, 7, 3, 0] as const;

interface ChunkStreamState {
  typeId: number;
  streamId: number;
  length: number;
  /** The last header's timestamp field: absolute after format 0, a delta after 1 and 2 (format 3 repeats it). */
  tsField: number;
  timestamp: number;
  hasExtended: boolean;
  parts: Buffer[];
  received: number;
  /** A header (format 0) has been seen, so formats 1-3 have something to refer to. */
  started: boolean;
}

export class ChunkReader {
  private readonly limits: ChunkReaderLimits;
  private readonly onMessage: (msg: RtmpMessage) => void;
  private readonly streams = new Map<number, ChunkStreamState>();
  private pending: Buffer = Buffer.alloc(0);
  private pendingMessageBytes = 0;
  /** The peer's chunk size (128 until it sends Set Chunk Size). */
  chunkSize = 128;
  /** Bytes read so far (for acknowledgements). */
  bytesRead = 0;

  constructor(onMessage: (msg: RtmpMessage) => void, limits: ChunkReaderLimits = DEFAULT_CHUNK_LIMITS) {
    this.onMessage = onMessage;
    this.limits = limits;
  }

  /** Bytes of input not yet made into chunks (at most one chunk's worth). */
  get buffered(): number {
    return this.pending.length;
  }

  push(data: Buffer): void {
    this.bytesRead += data.length;
    this.pending = this.pending.length === 0 ? data : Buffer.concat([this.pending, data]);
    let at = 0;
    for (;;) {
      const used = this.readChunk(this.pending, at);
      if (used === 0) break;
      at += used;
    }
    this.pending = at === this.pending.length ? Buffer.alloc(0) : Buffer.from(this.pending.subarray(at));
  }

  /** Reads one chunk at `at`; returns the bytes it took, 0 when it is not all there yet. */
  private readChunk(buf: Buffer, at: number): number {
    let p = at;
    if (p >= buf.length) return 0;
    const b0 = buf[p++]!;
    const fmt = b0 >> 6;
    let csid = b0 & 0x3f;
    if (csid === 0) {
      if (p + 1 > buf.length) return 0;
      csid = 64 + buf[p++]!;
    } else if (csid === 1) {
      if (p + 2 > buf.length) return 0;
      csid = 64 + buf[p]! + buf[p + 1]! * 256;
      p += 2;
    }
    const headerBytes = MESSAGE_HEADER_BYTES[fmt as 0 | 1 | 2 | 3];
    if (p + headerBytes > buf.length) return 0;
    let state = this.streams.get(csid);
    if (state === undefined) {
      if (fmt !== 0) throw new RtmpProtocolError(`chunk stream ${csid} starts with a format ${fmt} header (format 0 expected)`);
      if (this.streams.size >= this.limits.maxChunkStreams) throw new RtmpProtocolError(`more than ${this.limits.maxChunkStreams} chunk streams`);
      state = { typeId: 0, streamId: 0, length: 0, tsField: 0, timestamp: 0, hasExtended: false, parts: [], received: 0, started: false };
    }
    const inProgress = state.received > 0;
    if (inProgress && fmt !== 3) throw new RtmpProtocolError(`chunk stream ${csid}: a new message header (format ${fmt}) before the previous message was complete`);
    let tsField = state.tsField;
    let length = state.length;
    let typeId = state.typeId;
    let streamId = state.streamId;
    if (fmt <= 2) tsField = buf.readUIntBE(p, 3);
    if (fmt <= 1) {
      length = buf.readUIntBE(p + 3, 3);
      typeId = buf[p + 6]!;
    }
    if (fmt === 0) streamId = buf.readUInt32LE(p + 7);
    p += headerBytes;
    const hasExtended = fmt <= 2 ? tsField === EXTENDED : state.hasExtended;
    if (hasExtended) {
      if (p + 4 > buf.length) return 0;
      tsField = buf.readUInt32BE(p);
      p += 4;
    }
    if (length > this.limits.maxMessageBytes) throw new RtmpProtocolError(`a message of ${length} bytes (more than ${this.limits.maxMessageBytes})`);
    const received = inProgress ? state.received : 0;
    const take = Math.min(this.chunkSize, length - received);
    if (p + take > buf.length) return 0;
    // The whole chunk is here: commit its header.
    if (!this.streams.has(csid)) this.streams.set(csid, state);
    if (!inProgress) {
      state.timestamp = fmt === 0 ? tsField : (state.timestamp + tsField) >>> 0;
      state.tsField = tsField;
      state.length = length;
      state.typeId = typeId;
      state.streamId = streamId;
      state.hasExtended = hasExtended;
      state.started = true;
    }
    if (take > 0) {
      if (this.pendingMessageBytes + take > this.limits.maxPendingBytes) throw new RtmpProtocolError(`more than ${this.limits.maxPendingBytes} bytes of unfinished messages`);
      state.parts.push(Buffer.from(buf.subarray(p, p + take)));
      state.received += take;
      this.pendingMessageBytes += take;
    }
    p += take;
    if (state.received === state.length) {
      const payload = state.parts.length === 1 ? state.parts[0]! : Buffer.concat(state.parts);
      this.pendingMessageBytes -= state.received;
      state.parts = [];
      state.received = 0;
      this.deliver({ chunkStreamId: csid, typeId: state.typeId, streamId: state.streamId, timestamp: state.timestamp, payload });
    }
    return p - at;
  }

  private deliver(msg: RtmpMessage): void {
    if (msg.typeId === MSG.setChunkSize) {
      if (msg.payload.length < 4) throw new RtmpProtocolError('a short Set Chunk Size message');
      const size = msg.payload.readUInt32BE(0) & 0x7fffffff;
      if (size < 1 || size > this.limits.maxChunkSize) throw new RtmpProtocolError(`chunk size ${size} (allowed: 1 to ${this.limits.maxChunkSize})`);
      this.chunkSize = size;
      return;
    }
    if (msg.typeId === MSG.abort) {
      if (msg.payload.length < 4) throw new RtmpProtocolError('a short Abort message');
      const state = this.streams.get(msg.payload.readUInt32BE(0));
      if (state) {
        this.pendingMessageBytes -= state.received;
        state.parts = [];
        state.received = 0;
      }
      return;
    }
    this.onMessage(msg);
  }
}

/**
 * One message as chunks of `chunkSize`: a format 0 header, then format 3 continuations. Chunk stream ids 2 to 63
 * (the one-byte basic header: all we send on).
 */
export function writeMessage(chunkSize: number, m: { chunkStreamId: number; typeId: number; streamId: number; timestamp: number; payload: Buffer }): Buffer {
  if (m.chunkStreamId < 2 || m.chunkStreamId > 63) throw new RangeError(`chunk stream id ${m.chunkStreamId} outside 2..63`);
  const extended = m.timestamp >= EXTENDED;
  const head = Buffer.alloc(12 + (extended ? 4 : 0));
  head[0] = m.chunkStreamId;
  head.writeUIntBE(extended ? EXTENDED : m.timestamp, 1, 3);
  head.writeUIntBE(m.payload.length, 4, 3);
  head[7] = m.typeId;
  head.writeUInt32LE(m.streamId, 8);
  if (extended) head.writeUInt32BE(m.timestamp >>> 0, 12);
  const parts: Buffer[] = [head];
  for (let at = 0; at < m.payload.length || at === 0; at += chunkSize) {
    if (at > 0) {
      const cont = Buffer.alloc(extended ? 5 : 1);
      cont[0] = 0xc0 | m.chunkStreamId;
      if (extended) cont.writeUInt32BE(m.timestamp >>> 0, 1);
      parts.push(cont);
    }
    parts.push(m.payload.subarray(at, at + chunkSize));
    if (m.payload.length === 0) break;
  }
  return Buffer.concat(parts);
}
