// One participant's v0 signalling WebSocket: decodes binary SignalRequest frames, answers pings at once and
// runs every other request in order through one queue. Bad frames end the session with a LeaveRequest. A connection
// that closes without a Leave leaves the participant waiting for a resume (Participant.signalLost, docs/resume.md); a
// connection replaced by a resume no longer speaks for the participant.
import { SignalRequest, SignalResponse, Pong, DisconnectReason } from '@livekit/protocol';
import type { SimulateScenario } from '@livekit/protocol';
import type { WebSocket, RawData } from 'ws';
import type { Clock, TimerHandle, Logger } from '@atrium/webrtc';
import type { Participant, SignalSink } from '../rtc/participant.js';
import { PING_INTERVAL_SEC, PING_TIMEOUT_SEC } from '../rtc/join-response.js';
import { handleMetadataRequest } from '../rtc/participant-metadata.js';

/** Closes with a LeaveRequest when the client breaks the protocol (a frame we cannot decode). */
export const PROTOCOL_ERROR_REASON = DisconnectReason.STATE_MISMATCH;

/**
 * Signal bytes waiting for a client that does not read (its TCP window closed) before it is dropped. Without a
 * bound, a client that keeps sending (pings, requests with many answers) but never reads grows server memory
 * without limit. One message is always accepted, however large (a JoinResponse for a big room).
 */
export const MAX_SIGNAL_BUFFERED_BYTES = 32 * 1024 * 1024;

/**
 * Requests (and their bytes) waiting in one participant's queue before it is disconnected: a client that sends
 * faster than its requests can be handled (each waits for the one before, an offer for its answer) would
 * otherwise hold them in memory without bound. Real clients keep a handful queued.
 */
export const MAX_QUEUED_REQUESTS = 2048;
export const MAX_QUEUED_REQUEST_BYTES = 16 * 1024 * 1024;

/** Encoded responses: a broadcast (one SignalResponse sent to every participant) is encoded once, not per recipient. */
const encodedResponses = new WeakMap<SignalResponse, Uint8Array>();

function encode(msg: SignalResponse): Uint8Array {
  let bytes = encodedResponses.get(msg);
  if (!bytes) {
    bytes = msg.toBinary();
    encodedResponses.set(msg, bytes);
  }
  return bytes;
}

/** Resolves on the event loop's next turn, so other sockets' frames get in between one client's queued requests. */
const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** A SignalSink over a `ws` WebSocket; a client with more than `maxBufferedBytes` unread is disconnected. */
export function webSocketSink(ws: WebSocket, opts: { maxBufferedBytes?: number; logger?: Logger } = {}): SignalSink {
  const maxBufferedBytes = opts.maxBufferedBytes ?? MAX_SIGNAL_BUFFERED_BYTES;
  return {
    send(msg: SignalResponse): void {
      if (ws.readyState !== ws.OPEN) return;
      if (ws.bufferedAmount > maxBufferedBytes) {
        // The close event then ends the participant (SIGNAL_CLOSE); a closing handshake would wait behind the backlog.
        opts.logger?.warn({ bufferedBytes: ws.bufferedAmount }, 'the client does not read its signal connection; disconnecting');
        ws.terminate();
        return;
      }
      ws.send(encode(msg));
    },
    close(): void {
      if (ws.readyState === ws.OPEN || ws.readyState === ws.CONNECTING) ws.close(1000);
    },
  };
}

function toBytes(data: RawData): Uint8Array {
  if (Array.isArray(data)) return Buffer.concat(data);
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  return data;
}

export class SignalSession {
  private readonly ws: WebSocket;
  private readonly participant: Participant;
  /** This connection's sink: the participant is this session's only while it is the participant's current sink. */
  private readonly sink: SignalSink;
  private readonly clock: Clock;
  private queue: Promise<void> = Promise.resolve();
  private queuedRequests = 0;
  private queuedBytes = 0;
  private leaveReason: DisconnectReason | undefined;
  /** Monotonic time of the last frame from the client; clients ping every ping_interval seconds. */
  private lastFrameMs: number;
  private readonly livenessTimer: TimerHandle;
  private readonly pingTimeoutMs: number;
  private readonly onSimulate: ((scenario: SimulateScenario) => void) | undefined;

  /** `onSimulate`: the client's SimulateScenario requests (the ones Atrium acts on; others are logged and ignored). */
  constructor(opts: { ws: WebSocket; participant: Participant; sink: SignalSink; clock: Clock; pingTimeoutMs?: number; onSimulate?: (scenario: SimulateScenario) => void }) {
    this.onSimulate = opts.onSimulate;
    this.ws = opts.ws;
    this.participant = opts.participant;
    this.sink = opts.sink;
    this.clock = opts.clock;
    this.pingTimeoutMs = opts.pingTimeoutMs ?? PING_TIMEOUT_SEC * 1000;
    this.lastFrameMs = this.clock.nowMs();
    // The JoinResponse tells clients to ping every PING_INTERVAL_SEC and to give up after PING_TIMEOUT_SEC; the
    // server holds clients to the same: a silent client (network gone, no TCP close) is removed.
    this.livenessTimer = this.clock.setInterval(() => this.checkLiveness(), PING_INTERVAL_SEC * 1000);
    this.ws.on('message', (data, isBinary) => this.onFrame(data, isBinary));
    this.ws.on('close', () => {
      this.clock.clearInterval(this.livenessTimer);
      // Replaced by a resume: the participant lives on through the new connection.
      if (!this.isCurrent) return;
      // A client leave sent just before closing ends the participant; otherwise it may resume.
      if (this.leaveReason !== undefined) this.participant.close(this.leaveReason);
      else this.participant.signalLost();
    });
    this.ws.on('error', (err) => this.participant.logger.debug({ err }, 'websocket error'));
  }

  /** This connection still speaks for the participant (not replaced by a resume). */
  private get isCurrent(): boolean {
    return this.participant.isCurrentSink(this.sink);
  }

  private checkLiveness(): void {
    const p = this.participant;
    if (p.isClosed || !this.isCurrent) {
      this.clock.clearInterval(this.livenessTimer);
      return;
    }
    const silentMs = this.clock.nowMs() - this.lastFrameMs;
    if (silentMs < this.pingTimeoutMs) return;
    p.logger.info({ silentMs: Math.round(silentMs) }, 'no ping from the client within the ping timeout; dropping its signal connection');
    this.clock.clearInterval(this.livenessTimer);
    // The peer is presumably gone: do not wait for a closing handshake. The close event then treats it as a lost
    // connection: the participant leaves at once if its media never connected, else it may still resume.
    this.ws.terminate();
  }

  private onFrame(data: RawData, isBinary: boolean): void {
    const p = this.participant;
    if (p.isClosed || !this.isCurrent) return;
    this.lastFrameMs = this.clock.nowMs();
    if (!isBinary) {
      p.logger.warn('text frame on the signal socket: only binary protobuf is supported; disconnecting');
      p.close(PROTOCOL_ERROR_REASON, { sendLeave: true });
      return;
    }
    let req: SignalRequest;
    const bytes = toBytes(data);
    try {
      req = SignalRequest.fromBinary(bytes);
    } catch (err) {
      p.logger.warn({ err: String(err) }, 'undecodable SignalRequest; disconnecting');
      p.close(PROTOCOL_ERROR_REASON, { sendLeave: true });
      return;
    }
    const msg = req.message;
    // Pings bypass the queue so a slow negotiation never delays them.
    if (msg.case === 'ping') {
      p.send(new SignalResponse({ message: { case: 'pong', value: BigInt(Math.floor(this.clock.wallMs())) } }));
      return;
    }
    if (msg.case === 'pingReq') {
      p.send(
        new SignalResponse({
          message: {
            case: 'pongResp',
            value: new Pong({ lastPingTimestamp: msg.value.timestamp, timestamp: BigInt(Math.floor(this.clock.wallMs())) }),
          },
        }),
      );
      return;
    }
    if (msg.case === 'leave') this.leaveReason = msg.value.reason || DisconnectReason.CLIENT_INITIATED;
    // At once, not queued: force-tcp closes the socket right after sending it, and a closed participant's queue stops.
    if (msg.case === 'simulate' && this.onSimulate !== undefined) {
      try {
        this.onSimulate(msg.value);
      } catch (err) {
        p.logger.error({ err }, 'simulate request failed');
      }
      return;
    }
    const size = bytes.length;
    if (this.queuedRequests + 1 > MAX_QUEUED_REQUESTS || this.queuedBytes + size > MAX_QUEUED_REQUEST_BYTES) {
      p.logger.warn(
        { queuedRequests: this.queuedRequests, queuedBytes: this.queuedBytes },
        'signal requests arrive faster than they are handled; disconnecting',
      );
      p.close(PROTOCOL_ERROR_REASON, { sendLeave: true });
      return;
    }
    this.queuedRequests++;
    this.queuedBytes += size;
    // One request per event-loop turn: a client that sends thousands at once (one socket read) cannot keep the
    // loop to itself while others' pings and requests wait.
    this.queue = this.queue
      .then(nextTurn)
      .then(() => this.handle(req))
      .catch((err: unknown) => p.logger.error({ err, request: msg.case }, 'signal request failed'))
      .finally(() => {
        this.queuedRequests--;
        this.queuedBytes -= size;
      });
  }

  private async handle(req: SignalRequest): Promise<void> {
    const p = this.participant;
    if (p.isClosed || !this.isCurrent) return;
    const msg = req.message;
    switch (msg.case) {
      case 'offer':
      case 'answer':
        // A description we cannot apply leaves negotiation stuck: end the session with a clear leave.
        try {
          if (msg.case === 'offer') await p.handlePublisherOffer(msg.value);
          else p.handleSubscriberAnswer(msg.value);
        } catch (err) {
          const code = (err as { code?: unknown }).code;
          const isBadInput = typeof code === 'string' && code.startsWith('sdp');
          p.logger.warn({ err, request: msg.case }, 'session description rejected; disconnecting');
          p.close(isBadInput ? PROTOCOL_ERROR_REASON : DisconnectReason.MEDIA_FAILURE, { sendLeave: true });
        }
        return;
      case 'trickle':
        try {
          p.handleTrickle(msg.value);
        } catch (err) {
          p.logger.debug({ err }, 'remote candidate rejected');
        }
        return;
      case 'addTrack':
        p.addTrack(msg.value);
        return;
      case 'mute':
        p.muteTrack(msg.value.sid, msg.value.muted);
        return;
      case 'updateMetadata':
        handleMetadataRequest(p, msg.value);
        return;
      case 'subscription':
        p.updateSubscription(msg.value);
        return;
      case 'subscriptionPermission':
        p.setSubscriptionPermission(msg.value);
        return;
      case 'trackSetting':
        p.updateTrackSettings(msg.value);
        return;
      case 'syncState':
        p.handleSyncState(msg.value);
        return;
      case 'leave':
        p.logger.info({ reason: DisconnectReason[msg.value.reason] }, 'client left');
        p.close(msg.value.reason || DisconnectReason.CLIENT_INITIATED);
        return;
      default:
        p.logger.debug({ request: msg.case ?? 'unknown' }, 'signal request not supported; ignored');
    }
  }
}
