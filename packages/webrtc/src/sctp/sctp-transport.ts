// SCTP over DTLS (RFC 8261) carrying WebRTC data channels (RFC 8831) opened with DCEP (RFC 8832).
//
// README — what comes from where:
// - werift-sctp (MIT): the SCTP association (RFC 9260: INIT/COOKIE handshake, TSNs, SACK, retransmission,
//   congestion control, fragmentation in 1,200-byte chunks and reassembly), PR-SCTP FORWARD-TSN
//   (RFC 3758) and stream reset (RFC 6525). It runs its own timers on the real clock.
// - ours: this API and state machine; DCEP (dcep.ts) and data channels (data-channel.ts): stream id
//   parity (DTLS client even, server odd), OPEN/ACK, PPIDs, implicit ACK, closing by stream reset;
//   never-throw input handling (werift's async handlers reject on bad input; we catch and count);
//   a fix for werift's PR-SCTP abandonment (it ignores maxRetransmits 0 and marks the wrong message).
// Association: the DTLS client sends INIT (werift's client role); the DTLS server answers INIT. Browsers
// send INIT in both roles; werift's client handles their INIT-ACK as a normal collision answer.
// Cost: werift handles each packet through promises; acceptable for data channels, not for media.
import { SCTP } from 'werift-sctp';
import { silentLogger, type Logger } from '../logger.js';
import { TypedEmitter } from '../typed-emitter.js';
import { DataChannel, type DataChannelSink } from './data-channel.js';
import { dcepAck, DcepMessageType, decodeOpen, encodeOpen, Ppid } from './dcep.js';

export type SctpState = 'new' | 'connecting' | 'connected' | 'closed';

export interface SctpTransportOptions {
  isDtlsClient: boolean;
  send: (buf: Buffer) => void;
  localPort?: number;
  remotePort?: number;
  maxMessageSize?: number;
  logger?: Logger;
}

const defaults = { port: 5000, maxMessageSize: 65_536 } as const;
const maxStreamId = 65_534; // 65535 is reserved (RFC 8831 §6.5)
const firstFragFlag = 0x02;
const lastFragFlag = 0x01;

/** The werift internals we reach into (private in its typings). */
interface WeriftChunk {
  flags: number;
  sentCount: number;
  maxRetransmits?: number;
  expiry?: number;
  abandoned?: boolean;
  retransmit?: boolean;
}
interface WeriftInternals {
  handleData(buf: Buffer): Promise<void>;
  maybeAbandon(chunk: WeriftChunk): boolean;
  sentQueue: WeriftChunk[];
}

export class SctpTransport
  extends TypedEmitter<{ stateChange: ['connecting' | 'connected' | 'closed']; dataChannel: [DataChannel] }>
  implements DataChannelSink
{
  readonly maxMessageSize: number;
  /** Packets or messages dropped: bad SCTP packets, bad DCEP, data for unknown streams. */
  droppedPackets = 0;
  private _state: SctpState = 'new';
  private readonly isDtlsClient: boolean;
  private readonly remotePort: number;
  private readonly sctp: SCTP;
  private readonly internals: WeriftInternals;
  private readonly channels = new Map<number, DataChannel>();
  private readonly sendPacket: (buf: Buffer) => void;
  private readonly log: Logger;

  constructor(opts: SctpTransportOptions) {
    super();
    this.isDtlsClient = opts.isDtlsClient;
    this.sendPacket = opts.send;
    this.remotePort = opts.remotePort ?? defaults.port;
    this.maxMessageSize = opts.maxMessageSize ?? defaults.maxMessageSize;
    this.log = opts.logger ?? silentLogger;
    const wire = {
      send: (buf: Buffer): Promise<void> => {
        if (this._state !== 'closed' || isAbort(buf)) this.writeOut(buf);
        return Promise.resolve();
      },
      close: (): void => {},
    };
    const localPort = opts.localPort ?? defaults.port;
    this.sctp = opts.isDtlsClient ? SCTP.client(wire, localPort) : SCTP.server(wire, localPort);
    this.sctp.setRemotePort(this.remotePort); // so an early INIT can be answered before start()
    this.internals = this.sctp as unknown as WeriftInternals;
    this.internals.maybeAbandon = (chunk) => this.maybeAbandon(chunk);
    this.sctp.onReceive.subscribe((streamId, ppid, data) => this.onReceive(streamId, ppid, data));
    this.sctp.onReconfigStreams.subscribe((ids) => this.onStreamsReset(ids));
    this.sctp.stateChanged.connected.subscribe(() => this.onConnected());
    this.sctp.stateChanged.closed.subscribe(() => this.onAssociationClosed());
  }

  get state(): SctpState {
    return this._state;
  }

  /** Call once DTLS is connected. The DTLS client sends INIT; the server waits for it. */
  start(): void {
    if (this._state !== 'new') return;
    this.setState('connecting');
    this.sctp.start(this.remotePort).catch((err: unknown) => this.log.warn({ err }, 'sctp: start failed'));
  }

  /** One SCTP packet from DTLS application data. Never throws. */
  handle(buf: Buffer): void {
    if (this._state === 'closed') {
      this.droppedPackets++;
      return;
    }
    this.internals.handleData(buf).catch(() => {
      this.droppedPackets++;
    });
  }

  createDataChannel(
    label: string,
    opts?: { ordered?: boolean; maxRetransmits?: number; maxPacketLifeTime?: number; protocol?: string },
  ): DataChannel {
    if (this._state === 'closed') throw sctpError('SCTP_CLOSED', 'createDataChannel on a closed SctpTransport');
    if (opts?.maxRetransmits !== undefined && opts.maxPacketLifeTime !== undefined) {
      throw sctpError('DATA_CHANNEL_BAD_OPTIONS', 'maxRetransmits and maxPacketLifeTime are exclusive');
    }
    const id = this.allocateStreamId();
    const params = { label, protocol: opts?.protocol ?? '', ordered: opts?.ordered ?? true, priority: 0 };
    const channel = new DataChannel(this, id, {
      ...params,
      ...(opts?.maxRetransmits !== undefined ? { maxRetransmits: opts.maxRetransmits } : {}),
      ...(opts?.maxPacketLifeTime !== undefined ? { maxPacketLifeTime: opts.maxPacketLifeTime } : {}),
    });
    this.channels.set(id, channel);
    if (this._state === 'connected') this.sendOpen(channel);
    return channel;
  }

  /** All channels that are not closed yet, by stream id. */
  get dataChannels(): ReadonlyMap<number, DataChannel> {
    return this.channels;
  }

  close(): void {
    if (this._state === 'closed') return;
    this.setState('closed');
    this.closeAllChannels();
    this.sctp.stop().catch((err: unknown) => this.log.debug({ err }, 'sctp: stop failed'));
  }

  // --- DataChannelSink ---------------------------------------------------------------------------

  sendOnStream(channel: DataChannel, ppid: number, payload: Buffer): void {
    const maxRetransmits = channel.maxRetransmits;
    const lifeMs = channel.maxPacketLifeTime;
    const opts: { ordered: boolean; maxRetransmits?: number; expiry?: number } = { ordered: channel.ordered };
    if (maxRetransmits !== undefined) opts.maxRetransmits = maxRetransmits;
    if (lifeMs !== undefined) opts.expiry = (Date.now() + lifeMs) / 1000; // werift: absolute seconds
    this.sctp.send(channel.id, ppid, payload, opts).catch((err: unknown) => this.log.debug({ err }, 'sctp: send failed'));
  }

  resetStream(channel: DataChannel): void {
    if (this._state !== 'connected' || !this.channels.has(channel.id)) {
      this.channels.delete(channel.id);
      channel.markClosed();
      return;
    }
    this.sctp.reconfigQueue.push(channel.id);
    this.sctp.transmitReconfigRequest().catch((err: unknown) => this.log.debug({ err }, 'sctp: reset failed'));
  }

  // --- internals -----------------------------------------------------------------------------------

  private writeOut(buf: Buffer): void {
    try {
      this.sendPacket(buf);
    } catch (err) {
      this.log.debug({ err }, 'sctp: send callback threw');
    }
  }

  private setState(state: 'connecting' | 'connected' | 'closed'): void {
    if (this._state === state) return;
    this._state = state;
    this.emit('stateChange', state);
  }

  private allocateStreamId(): number {
    for (let id = this.isDtlsClient ? 0 : 1; id <= maxStreamId; id += 2) {
      if (!this.channels.has(id)) return id;
    }
    throw sctpError('SCTP_NO_STREAMS', 'no free SCTP stream id');
  }

  private sendOpen(channel: DataChannel): void {
    this.sctp
      .send(channel.id, Ppid.DCEP, encodeOpen(channel.params), { ordered: true })
      .catch((err: unknown) => this.log.debug({ err }, 'sctp: DCEP OPEN failed'));
  }

  private onConnected(): void {
    if (this._state === 'closed') return;
    this.setState('connected');
    for (const channel of this.channels.values()) {
      if (channel.readyState === 'connecting') this.sendOpen(channel);
    }
  }

  private onAssociationClosed(): void {
    if (this._state === 'closed') return;
    this.setState('closed');
    this.closeAllChannels();
  }

  private closeAllChannels(): void {
    const channels = [...this.channels.values()];
    this.channels.clear();
    for (const channel of channels) channel.markClosed();
  }

  private onReceive(streamId: number, ppid: number, data: Buffer): void {
    if (ppid === Ppid.DCEP) return this.onDcep(streamId, data);
    const channel = this.channels.get(streamId);
    if (!channel) {
      this.droppedPackets++;
      return;
    }
    // RFC 8832 §6: user data before the ACK means the peer got our OPEN (implicit ACK).
    if (channel.readyState === 'connecting') channel.markOpen();
    channel.deliver(ppid, data);
  }

  private onDcep(streamId: number, data: Buffer): void {
    const type = data[0];
    if (type === DcepMessageType.ACK) {
      const channel = this.channels.get(streamId);
      if (channel) channel.markOpen();
      else this.droppedPackets++;
      return;
    }
    if (type !== DcepMessageType.OPEN) {
      this.droppedPackets++;
      return;
    }
    const params = decodeOpen(data);
    const isOurParity = (streamId % 2 === 0) === this.isDtlsClient;
    if (!params || this.channels.has(streamId) || isOurParity || streamId > maxStreamId) {
      this.log.debug({ streamId }, 'sctp: rejected DATA_CHANNEL_OPEN');
      this.droppedPackets++;
      return;
    }
    const channel = new DataChannel(this, streamId, params);
    this.channels.set(streamId, channel);
    this.sctp
      .send(streamId, Ppid.DCEP, dcepAck, { ordered: true })
      .catch((err: unknown) => this.log.debug({ err }, 'sctp: DCEP ACK failed'));
    this.emit('dataChannel', channel);
    channel.markOpen();
  }

  private onStreamsReset(ids: number[]): void {
    for (const id of ids) {
      const channel = this.channels.get(id);
      if (!channel) continue;
      this.channels.delete(id);
      channel.markClosed();
    }
  }

  /** PR-SCTP (RFC 3758 §3.5): abandon a chunk past its retransmission or lifetime limit, with its whole message. */
  private maybeAbandon(chunk: WeriftChunk): boolean {
    if (chunk.abandoned) return true;
    const isOverRetransmits = chunk.maxRetransmits !== undefined && chunk.sentCount > chunk.maxRetransmits;
    const isExpired = chunk.expiry !== undefined && chunk.expiry < Date.now() / 1000;
    if (!isOverRetransmits && !isExpired) return false;
    const queue = this.internals.sentQueue;
    const pos = queue.indexOf(chunk);
    const mark = (c: WeriftChunk): void => {
      c.abandoned = true;
      c.retransmit = false;
    };
    mark(chunk);
    if (pos < 0) return true;
    for (let i = pos; i >= 0 && !(queue[i]!.flags & firstFragFlag); i--) mark(queue[i - 1] ?? chunk);
    for (let i = pos; i < queue.length && !(queue[i]!.flags & lastFragFlag); i++) mark(queue[i + 1] ?? chunk);
    return true;
  }
}

/** An SCTP common header followed by an ABORT chunk (type 6): still sent while closing. */
function isAbort(buf: Buffer): boolean {
  return buf.length > 12 && buf[12] === 6;
}

export function sctpError(code: string, message: string): Error & { code: string } {
  return Object.assign(new Error(message), { code });
}
