// The per-transport stage chain (pion's interceptors are the model): each PeerConnection builds its stages once,
// binds them to every incoming and outgoing RTP stream, and runs them on each packet without a closure per packet.
// Receive: socket arrival time -> SRTP -> demux -> [stream core: seq unwrap, stats] -> stages -> the consumer.
// Send: the sender -> stages (the last ones stamp header extensions) -> SRTP -> socket.
import type { Clock } from '../clock.js';
import type { Logger } from '../logger.js';
import type { RtcpPacket, RtpHeader } from '../rtp/index.js';
import type { StageScheduler } from './stage-scheduler.js';

/** Filled once per received packet by the stream core, before any stage runs (one reused object per stream). */
export interface RtpReceiveMeta {
  /** Extended (unwrapped) sequence number within the stream. */
  extSeq: number;
  /** Monotonic ms when the datagram was read from the socket. */
  arrivalMs: number;
  /**
   * False when the payload is still encrypted and was not authenticated (PeerConnectionOptions.decryptRtp declined
   * the packet; the header is in the clear); absent or true otherwise.
   */
  isDecrypted?: boolean;
}

/** One incoming RTP stream as the stages see it (a RemoteStream). */
export interface ReceiveStreamInfo {
  readonly ssrc: number;
  readonly kind: 'audio' | 'video' | 'application';
  readonly mid: string;
  readonly rid: string | undefined;
  readonly clockRate: number;
}

/** One outgoing RTP stream as the stages see it (a LocalSender). */
export interface SendStreamInfo {
  readonly ssrc: number;
  readonly kind: 'audio' | 'video';
  readonly mid: string;
  /** Negotiated id of a header-extension URI, 0 when the remote did not accept it (a lookup: cache it). */
  extensionId(uri: string): number;
  /** Changes whenever a negotiation changed the stream's header extensions (stages re-read their ids then). */
  readonly negotiationVersion: number;
  /** The stream's RTX SSRC (RFC 4588), if it has one: packets on it are retransmissions or padding. */
  readonly rtxSsrc?: number | undefined;
  /** True when padding-only packets can be sent for this stream now (RTX negotiated, sender running). */
  readonly canSendPadding?: boolean;
  /**
   * Builds one padding-only packet on the RTX SSRC with `paddingBytes` (1..255) of RTP padding and passes it to `via`
   * (the stages after the caller). Returns the packet's size in bytes, 0 when no padding can be sent.
   */
  sendPadding?(paddingBytes: number, via: RtpSendStage): number;
}

/** A receive step bound to one stream. Runs per packet (hot path): no allocation, no throw. */
export interface RtpReceiveStage {
  receive(buf: Buffer, h: RtpHeader, meta: RtpReceiveMeta): void;
}

/**
 * A send step bound to one stream: gets plaintext RTP (a buffer the sender reuses; valid during the call), may rewrite
 * header-extension values in place, and passes it on to `next`. Runs per packet (hot path).
 */
export interface RtpSendStage {
  send(buf: Buffer, h: RtpHeader): void;
}

/** What the transport gives its stages. */
export interface StageContext {
  readonly clock: Clock;
  readonly logger: Logger;
  /** One deadline-driven timer for all stages of the transport. */
  readonly scheduler: StageScheduler;
  /** Our SSRC as the sender of RTCP feedback and reports on this transport. */
  readonly localSsrc: number;
  /** Encrypts and sends an RTCP compound packet (dropped before SRTP keys exist). */
  sendRtcp(packets: RtcpPacket[]): void;
  /** Encrypts and sends RTCP that is already serialized (one packet or a compound). */
  sendRtcpBytes(buf: Buffer): void;
}

/** A transport-level receive stage: one per PeerConnection, bound to each incoming stream it cares about. */
export interface TransportReceiveStage {
  /** Once per new incoming stream: the stage to run on each of its packets before `next`, or null to skip it. */
  bindRemoteStream(stream: ReceiveStreamInfo, next: RtpReceiveStage): RtpReceiveStage | null;
  /** The stream ended (renegotiated away or the transport closed). */
  unbindRemoteStream(stream: ReceiveStreamInfo): void;
  close(): void;
}

/** A transport-level send stage: one per PeerConnection, bound to each outgoing stream. */
export interface TransportSendStage {
  bindLocalStream(stream: SendStreamInfo, next: RtpSendStage): RtpSendStage | null;
  unbindLocalStream(stream: SendStreamInfo): void;
  close(): void;
}

export type ReceiveStageFactory = (ctx: StageContext) => TransportReceiveStage;
export type SendStageFactory = (ctx: StageContext) => TransportSendStage;

/**
 * Binds `stages` in front of `tail` for one stream, so that the first stage runs first; returns the head.
 * Stages that decline the stream (null) are left out.
 */
export function bindReceiveChain(
  stages: readonly TransportReceiveStage[],
  stream: ReceiveStreamInfo,
  tail: RtpReceiveStage,
): RtpReceiveStage {
  let head = tail;
  for (let i = stages.length - 1; i >= 0; i--) head = stages[i]!.bindRemoteStream(stream, head) ?? head;
  return head;
}

export function bindSendChain(stages: readonly TransportSendStage[], stream: SendStreamInfo, tail: RtpSendStage): RtpSendStage {
  let head = tail;
  for (let i = stages.length - 1; i >= 0; i--) head = stages[i]!.bindLocalStream(stream, head) ?? head;
  return head;
}
