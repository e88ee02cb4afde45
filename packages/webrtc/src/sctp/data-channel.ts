// A WebRTC data channel (RFC 8831) on one SCTP stream; opened with DCEP (RFC 8832) by its SctpTransport.
// https://www.rfc-editor.org/rfc/rfc8831
import { TypedEmitter } from '../typed-emitter.js';
import { Ppid, type DataChannelParams } from './dcep.js';

export type DataChannelState = 'connecting' | 'open' | 'closing' | 'closed';

/** What a DataChannel needs from its transport (implemented by SctpTransport). */
export interface DataChannelSink {
  readonly maxMessageSize: number;
  sendOnStream(channel: DataChannel, ppid: number, payload: Buffer): void;
  resetStream(channel: DataChannel): void;
}

const emptyPayload = Buffer.from([0]); // RFC 8831 §6.6: empty messages carry one byte with PPID 56/57

export class DataChannel extends TypedEmitter<{ open: []; message: [Buffer | string]; close: [] }> {
  readonly label: string;
  readonly id: number;
  readonly ordered: boolean;
  readonly maxRetransmits?: number;
  readonly maxPacketLifeTime?: number;
  readonly protocol: string;
  readonly priority: number;
  private _readyState: DataChannelState = 'connecting';
  private readonly sink: DataChannelSink;
  /** Messages received with a deprecated or unknown PPID, or while not open. */
  droppedMessages = 0;

  constructor(sink: DataChannelSink, id: number, params: DataChannelParams) {
    super();
    this.sink = sink;
    this.id = id;
    this.label = params.label;
    this.protocol = params.protocol;
    this.ordered = params.ordered;
    this.priority = params.priority;
    if (params.maxRetransmits !== undefined) this.maxRetransmits = params.maxRetransmits;
    if (params.maxPacketLifeTime !== undefined) this.maxPacketLifeTime = params.maxPacketLifeTime;
  }

  get readyState(): DataChannelState {
    return this._readyState;
  }

  get params(): DataChannelParams {
    const p: DataChannelParams = { label: this.label, protocol: this.protocol, ordered: this.ordered, priority: this.priority };
    if (this.maxRetransmits !== undefined) p.maxRetransmits = this.maxRetransmits;
    if (this.maxPacketLifeTime !== undefined) p.maxPacketLifeTime = this.maxPacketLifeTime;
    return p;
  }

  /** Sends a text (PPID 51/56) or binary (PPID 53/57) message. Throws if the channel is not open. */
  send(data: Buffer | string): void {
    if (this._readyState !== 'open') {
      throw Object.assign(new Error(`DataChannel '${this.label}' (id ${this.id}) is ${this._readyState}, not open`), {
        code: 'DATA_CHANNEL_NOT_OPEN',
      });
    }
    const isText = typeof data === 'string';
    const payload = isText ? Buffer.from(data, 'utf8') : data;
    if (payload.length > this.sink.maxMessageSize) {
      throw Object.assign(
        new Error(`DataChannel message of ${payload.length} bytes exceeds maxMessageSize ${this.sink.maxMessageSize}`),
        { code: 'DATA_CHANNEL_MESSAGE_TOO_LARGE' },
      );
    }
    if (payload.length === 0) {
      this.sink.sendOnStream(this, isText ? Ppid.STRING_EMPTY : Ppid.BINARY_EMPTY, emptyPayload);
    } else {
      this.sink.sendOnStream(this, isText ? Ppid.STRING : Ppid.BINARY, payload);
    }
  }

  /** Starts closing: resets the outgoing stream; 'close' fires once the reset is done. Idempotent. */
  close(): void {
    if (this._readyState === 'closing' || this._readyState === 'closed') return;
    this._readyState = 'closing';
    this.sink.resetStream(this);
  }

  // --- called by SctpTransport ---------------------------------------------------------------------

  /** @internal */
  markOpen(): void {
    if (this._readyState !== 'connecting') return;
    this._readyState = 'open';
    this.emit('open');
  }

  /** @internal */
  markClosed(): void {
    if (this._readyState === 'closed') return;
    this._readyState = 'closed';
    this.emit('close');
  }

  /** @internal A user message arrived on this channel's stream. */
  deliver(ppid: number, data: Buffer): void {
    if (this._readyState !== 'open') {
      this.droppedMessages++;
      return;
    }
    switch (ppid) {
      case Ppid.STRING:
        this.emit('message', data.toString('utf8'));
        return;
      case Ppid.BINARY:
        this.emit('message', data);
        return;
      case Ppid.STRING_EMPTY:
        this.emit('message', '');
        return;
      case Ppid.BINARY_EMPTY:
        this.emit('message', Buffer.alloc(0));
        return;
      default:
        this.droppedMessages++;
    }
  }
}
