// One RTMP publisher connection, without the socket: bytes in (`push`), bytes out (`write`), and what the publisher
// does (publish a stream key, send audio/video/metadata, stop) out as calls on its handler. The handshake is the
// plain one (section 5.2: C0/C1/C2, S0/S1/S2; S1's zero version field tells clients such as ffmpeg and OBS not to
// expect the digest variant); the commands a publisher sends are answered as an RTMP server does (connect,
// releaseStream, FCPublish, createStream, publish, FCUnpublish, deleteStream). Playing is not served.
import { decodeAmf0, encodeAmf0 } from './amf0.js';
import type { Amf0Object, Amf0Value } from './amf0.js';
import { ChunkReader, MSG, RtmpProtocolError, writeMessage } from './chunk-stream.js';
import type { ChunkReaderLimits, RtmpMessage } from './chunk-stream.js';

const HANDSHAKE_BYTES = 1536;
const RTMP_VERSION = 3;
/** Our chunk size for what we send (replies are small; the publisher sends with its own). */
const OUT_CHUNK_SIZE = 4096;
const WINDOW_ACK_SIZE = 2_500_000;
/** The message stream id createStream hands out (one stream per connection). */
const PUBLISH_STREAM_ID = 1;
const CSID_CONTROL = 2;
const CSID_COMMAND = 3;

export interface PublishRequest {
  /** connect's `app` (the path of the RTMP URL before the stream key). */
  app: string;
  /** publish's stream name, without any `?query`: the stream key. */
  streamKey: string;
  tcUrl: string;
}

export type PublishDecision = { ok: true } | { ok: false; code: string; description: string };

export interface RtmpConnectionHandler {
  /** The publisher asks to publish: accept, or refuse with a NetStream status code (the connection then closes). */
  onPublish(req: PublishRequest): PublishDecision;
  /** An audio (8) or video (9) message, or the stream's metadata (an AMF0 `onMetaData` with its object). */
  onMedia(kind: 'audio' | 'video' | 'metadata', timestamp: number, payload: Buffer): void;
  /**
   * The publisher stopped publishing (FCUnpublish / deleteStream / closeStream, or its connection ended); `error` when
   * the stream broke (a protocol violation, a timeout) rather than ended.
   */
  onUnpublish(error?: string): void;
}

export interface RtmpConnectionOptions {
  handler: RtmpConnectionHandler;
  write(data: Buffer): void;
  /** Close the connection after what was written (a refusal or a protocol error). */
  end(reason: string): void;
  limits?: ChunkReaderLimits;
}

type Phase = 'c0c1' | 'c2' | 'chunks' | 'closed';

export class RtmpConnection {
  private readonly opts: RtmpConnectionOptions;
  private readonly reader: ChunkReader;
  private phase: Phase = 'c0c1';
  private handshake: Buffer = Buffer.alloc(0);
  private app = '';
  private tcUrl = '';
  private publishing = false;
  private peerWindow = 0;
  private lastAck = 0;
  /** Why the connection was ended, once it was. */
  closeReason: string | undefined;

  constructor(opts: RtmpConnectionOptions) {
    this.opts = opts;
    this.reader = new ChunkReader((m) => this.onMessage(m), opts.limits);
  }

  get isPublishing(): boolean {
    return this.publishing;
  }

  /** Bytes received; throws nothing: a protocol violation ends the connection with a reason. */
  push(data: Buffer): void {
    try {
      this.consume(data);
    } catch (err) {
      if (err instanceof RtmpProtocolError || (err as { code?: string }).code === 'amf0') this.close(`protocol error: ${(err as Error).message}`, { isError: true });
      else throw err;
    }
  }

  private consume(data: Buffer): void {
    if (this.phase === 'closed') return;
    if (this.phase !== 'chunks') {
      this.handshake = Buffer.concat([this.handshake, data]);
      if (this.phase === 'c0c1') {
        if (this.handshake.length < 1 + HANDSHAKE_BYTES) return;
        if (this.handshake[0] !== RTMP_VERSION) throw new RtmpProtocolError(`RTMP version ${this.handshake[0]} (3 expected)`);
        const c1 = this.handshake.subarray(1, 1 + HANDSHAKE_BYTES);
        const s1 = Buffer.alloc(HANDSHAKE_BYTES);
        s1.writeUInt32BE(0, 0); // time
        s1.writeUInt32BE(0, 4); // zero: the plain handshake
        for (let i = 8; i < HANDSHAKE_BYTES; i++) s1[i] = (Math.random() * 256) | 0;
        // S2 echoes C1 (its time and random bytes).
        this.opts.write(Buffer.concat([Buffer.of(RTMP_VERSION), s1, c1]));
        this.handshake = this.handshake.subarray(1 + HANDSHAKE_BYTES);
        this.phase = 'c2';
      }
      if (this.handshake.length < HANDSHAKE_BYTES) return;
      const rest = this.handshake.subarray(HANDSHAKE_BYTES);
      this.handshake = Buffer.alloc(0);
      this.phase = 'chunks';
      if (rest.length === 0) return;
      data = Buffer.from(rest);
    }
    this.reader.push(data);
    this.acknowledge();
  }

  /**
   * Ends the connection (a refusal, a protocol error, the server closing it); the publisher's stream stops, broken
   * (`isError`) or ended.
   */
  close(reason: string, opts: { isError?: boolean } = {}): void {
    if (this.phase === 'closed') return;
    this.phase = 'closed';
    this.closeReason = reason;
    if (this.publishing) {
      this.publishing = false;
      this.opts.handler.onUnpublish(opts.isError === true ? reason : undefined);
    }
    this.opts.end(reason);
  }

  /** Acknowledgement (type 3) once the peer's window of bytes has been read (the peer set it with type 5). */
  private acknowledge(): void {
    if (this.peerWindow <= 0 || this.phase === 'closed') return;
    const read = this.reader.bytesRead;
    if (read - this.lastAck < this.peerWindow) return;
    this.lastAck = read;
    this.send(CSID_CONTROL, MSG.ack, 0, u32(read >>> 0));
  }

  private send(csid: number, typeId: number, streamId: number, payload: Buffer): void {
    if (this.phase === 'closed') return;
    this.opts.write(writeMessage(OUT_CHUNK_SIZE, { chunkStreamId: csid, typeId, streamId, timestamp: 0, payload }));
  }

  private command(streamId: number, values: Amf0Value[]): void {
    this.send(CSID_COMMAND, MSG.commandAmf0, streamId, encodeAmf0(values));
  }

  private onMessage(m: RtmpMessage): void {
    if (this.phase === 'closed') return;
    switch (m.typeId) {
      case MSG.windowAckSize:
        if (m.payload.length >= 4) this.peerWindow = m.payload.readUInt32BE(0);
        return;
      case MSG.audio:
      case MSG.video:
        if (this.publishing && m.streamId === PUBLISH_STREAM_ID && m.payload.length > 0) {
          this.opts.handler.onMedia(m.typeId === MSG.audio ? 'audio' : 'video', m.timestamp, m.payload);
        }
        return;
      case MSG.dataAmf0:
      case MSG.dataAmf3:
        this.onData(m);
        return;
      case MSG.commandAmf0:
      case MSG.commandAmf3:
        // An AMF3 command message starts with one format byte, then AMF0 values.
        this.onCommand(m, decodeAmf0(m.typeId === MSG.commandAmf3 ? m.payload.subarray(1) : m.payload));
        return;
      default:
        // Acks, user control (ping replies), peer bandwidth, aggregates: nothing to do for a publisher's server.
        return;
    }
  }

  private onData(m: RtmpMessage): void {
    if (!this.publishing) return;
    const values = decodeAmf0(m.typeId === MSG.dataAmf3 ? m.payload.subarray(1) : m.payload);
    // @setDataFrame("onMetaData", {...}) as OBS and ffmpeg send it, or a bare onMetaData.
    const at = values[0] === '@setDataFrame' ? 1 : 0;
    if (values[at] !== 'onMetaData') return;
    const meta = values[at + 1];
    if (meta === null || typeof meta !== 'object' || Array.isArray(meta) || meta instanceof Date) return;
    this.opts.handler.onMedia('metadata', m.timestamp, encodeAmf0(['onMetaData', meta]));
  }

  private onCommand(m: RtmpMessage, values: Amf0Value[]): void {
    const [name, txnValue] = values;
    if (typeof name !== 'string') throw new RtmpProtocolError('a command without a name');
    const txn = typeof txnValue === 'number' ? txnValue : 0;
    switch (name) {
      case 'connect': {
        const obj = isObject(values[2]) ? values[2] : {};
        this.app = typeof obj['app'] === 'string' ? obj['app'] : '';
        this.tcUrl = typeof obj['tcUrl'] === 'string' ? obj['tcUrl'] : '';
        this.send(CSID_CONTROL, MSG.windowAckSize, 0, u32(WINDOW_ACK_SIZE));
        this.send(CSID_CONTROL, MSG.setPeerBandwidth, 0, Buffer.concat([u32(WINDOW_ACK_SIZE), Buffer.of(2)]));
        this.send(CSID_CONTROL, MSG.setChunkSize, 0, u32(OUT_CHUNK_SIZE));
        this.command(0, [
          '_result', txn,
          { fmsVer: 'FMS/3,0,1,123', capabilities: 31 },
          { level: 'status', code: 'NetConnection.Connect.Success', description: 'Connection succeeded.', objectEncoding: 0 },
        ]);
        return;
      }
      case 'createStream':
        this.command(0, ['_result', txn, null, PUBLISH_STREAM_ID]);
        return;
      case 'releaseStream':
      case 'FCPublish':
        if (txn !== 0) this.command(0, ['_result', txn, null, undefined]);
        return;
      case 'publish':
        this.onPublish(m.streamId, values);
        return;
      case 'FCUnpublish':
      case 'deleteStream':
      case 'closeStream':
        if (this.publishing) {
          this.publishing = false;
          this.opts.handler.onUnpublish();
        }
        return;
      default:
        if (txn !== 0) this.command(0, ['_error', txn, null, { level: 'error', code: 'NetConnection.Call.Failed', description: `${name.slice(0, 64)} is not served here` }]);
        return;
    }
  }

  private onPublish(streamId: number, values: Amf0Value[]): void {
    const status = (level: string, code: string, description: string): void =>
      this.command(streamId, ['onStatus', 0, null, { level, code, description }]);
    if (this.publishing) {
      status('error', 'NetStream.Publish.BadName', 'this connection already publishes');
      return;
    }
    const name = typeof values[3] === 'string' ? values[3] : '';
    const streamKey = name.split('?')[0]!;
    const decision = streamKey === ''
      ? { ok: false as const, code: 'NetStream.Publish.BadName', description: 'no stream key' }
      : this.opts.handler.onPublish({ app: this.app, streamKey, tcUrl: this.tcUrl });
    if (!decision.ok) {
      status('error', decision.code, decision.description);
      this.close(`publish refused: ${decision.description}`);
      return;
    }
    // User Control "Stream Begin" (event 0) for the stream, then the status the publisher waits for.
    this.send(CSID_CONTROL, MSG.userControl, 0, Buffer.concat([Buffer.of(0, 0), u32(PUBLISH_STREAM_ID)]));
    this.publishing = true;
    status('status', 'NetStream.Publish.Start', `${streamKey.slice(0, 4)}… is now published`);
  }
}

function u32(v: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(v >>> 0);
  return b;
}

function isObject(v: Amf0Value): v is Amf0Object {
  return v !== null && typeof v === 'object' && !Array.isArray(v) && !(v instanceof Date);
}
