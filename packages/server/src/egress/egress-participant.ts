// The egress's seat in a room, as LiveKit's egress has one: a hidden participant (kind EGRESS, recorder grant) that
// joins over this server's own /rtc like any client, subscribes to its tracks and hands their decrypted RTP to sinks.
// It uses our WebRTC client role (packages/webrtc PeerConnection role 'client'), so it works the same whether media
// runs in the main thread or in media workers (docs/multicore.md).
import { WebSocket } from 'ws';
import { LeaveRequest, DisconnectReason, SignalRequest, SignalResponse, SignalTarget, UpdateSubscription } from '@livekit/protocol';
import type { JoinResponse } from '@livekit/protocol';
import { createAccessToken } from '@atrium/protocol';
import { UdpMux } from '@atrium/webrtc';
import { serializePictureLossIndication } from '@atrium/webrtc/rtp/rtcp-feedback.js';
import type { Logger } from '@atrium/webrtc';
import { generateCertificate } from '@atrium/webrtc/dtls/certificate.js';
import { PeerConnection } from '@atrium/webrtc/pc/peer-connection.js';
import type { RemoteStream } from '@atrium/webrtc/pc/remote-stream.js';

export type SignalMessage = SignalResponse['message'];
type RtpSink = RemoteStream['onRtp'];

export interface EgressParticipantOptions {
  /** ws://host:port of this server. */
  url: string;
  apiKey: string;
  apiSecret: string;
  roomName: string;
  identity: string;
  trackSids: readonly string[];
  logger: Logger;
  joinTimeoutMs?: number;
  /** A subscribed track's stream appeared; set its sink here (called once per stream). */
  onStream: (stream: RemoteStream, trackSid: string) => RtpSink;
  /** The participant lost its seat (signal closed, removed, the server sent leave) before `leave()`. */
  onLost: (why: string) => void;
  /** The room as it was at the join (room composite: it follows the room), before any later update. */
  onJoin?: (join: JoinResponse) => void;
  /** Participant updates and active speakers as they come (room composite). */
  onRoomSignal?: (msg: SignalMessage) => void;
}

const SIGNAL_PROTOCOL_VERSION = 16;

export class EgressParticipant {
  private readonly opts: EgressParticipantOptions;
  private readonly ws: WebSocket;
  private readonly mux: UdpMux;
  private readonly pc: PeerConnection;
  private readonly pingTimer: NodeJS.Timeout;
  private isClosed = false;
  private streams: RemoteStream[] = [];
  /** The tracks it subscribes to; the room composite changes them as the room changes (subscribe()). */
  private readonly wanted: Set<string>;

  private constructor(opts: EgressParticipantOptions, ws: WebSocket, join: JoinResponse, mux: UdpMux, pc: PeerConnection, held: Buffer[]) {
    this.opts = opts;
    this.ws = ws;
    this.mux = mux;
    this.pc = pc;
    this.wanted = new Set(opts.trackSids);
    pc.on('remoteStream', (s) => {
      const trackId = pc.remoteMedia(s.mid)?.msid?.trackId;
      if (trackId === undefined || !this.wanted.has(trackId)) return;
      this.streams.push(s);
      s.onRtp = opts.onStream(s, trackId);
    });
    const handle = (data: Buffer): void => {
      try {
        this.onSignal(SignalResponse.fromBinary(new Uint8Array(data)).message);
      } catch (err) {
        opts.logger.debug({ err }, 'egress participant: a signal message failed');
      }
    };
    ws.removeAllListeners('message');
    opts.onJoin?.(join);
    ws.on('message', handle);
    // the first subscriber offer can follow the JoinResponse while the socket and PC were being made
    for (const data of held.splice(0)) handle(data);
    ws.on('close', (code) => {
      if (!this.isClosed) opts.onLost(`signalling closed (${code})`);
    });
    const intervalSec = join.pingInterval > 0 ? join.pingInterval : 5;
    this.pingTimer = setInterval(() => this.send({ case: 'ping', value: BigInt(Date.now()) }), intervalSec * 1000);
    this.pingTimer.unref();
    if (opts.trackSids.length > 0) this.send({ case: 'subscription', value: new UpdateSubscription({ trackSids: [...opts.trackSids], subscribe: true }) });
  }

  /** Subscribes to (or unsubscribes from) more tracks while in the room. */
  subscribe(trackSids: readonly string[], subscribe = true): void {
    if (trackSids.length === 0) return;
    for (const sid of trackSids) {
      if (subscribe) this.wanted.add(sid);
      else this.wanted.delete(sid);
    }
    this.send({ case: 'subscription', value: new UpdateSubscription({ trackSids: [...trackSids], subscribe }) });
  }

  static async join(opts: EgressParticipantOptions): Promise<EgressParticipant> {
    const token = await createAccessToken({
      apiKey: opts.apiKey,
      apiSecret: opts.apiSecret,
      identity: opts.identity,
      kind: 'egress',
      ttlSec: 24 * 3600,
      video: { roomJoin: true, room: opts.roomName, canSubscribe: true, canPublish: false, canPublishData: false, hidden: true, recorder: true },
    });
    const q = new URLSearchParams({ access_token: token, auto_subscribe: '0', sdk: 'atrium-egress', protocol: String(SIGNAL_PROTOCOL_VERSION), adaptive_stream: '0' });
    const ws = new WebSocket(`${opts.url.replace(/\/+$/, '')}/rtc?${q.toString()}`, { perMessageDeflate: false });
    ws.binaryType = 'nodebuffer';
    const timeoutMs = opts.joinTimeoutMs ?? 10_000;
    const held: Buffer[] = [];
    const join = await new Promise<JoinResponse>((resolve, reject) => {
      const fail = (why: string): void => {
        clearTimeout(timer);
        ws.removeAllListeners();
        ws.on('error', () => {});
        ws.terminate();
        reject(new Error(why));
      };
      const timer = setTimeout(() => fail(`no JoinResponse within ${timeoutMs} ms`), timeoutMs);
      ws.on('unexpected-response', (_req, res) => fail(`the room refused the egress participant (HTTP ${res.statusCode})`));
      ws.on('error', (err) => fail(`signalling failed: ${err.message}`));
      ws.on('close', (code) => fail(`signalling closed (${code}) before the JoinResponse`));
      ws.on('message', (data: Buffer) => {
        const msg = SignalResponse.fromBinary(new Uint8Array(data)).message;
        if (msg.case === 'join') {
          clearTimeout(timer);
          ws.removeAllListeners();
          ws.on('error', () => {});
          ws.on('message', (later: Buffer) => held.push(later));
          resolve(msg.value);
        } else if (msg.case === 'leave') fail(`the room refused the egress participant (leave, reason ${msg.value.reason})`);
      });
    });
    let mux: UdpMux | undefined;
    try {
      mux = await UdpMux.bind({ port: 0, address: '127.0.0.1', recvBufferBytes: 4 << 20 });
      const pc = new PeerConnection({ role: 'client', mux, certificate: await generateCertificate(), advertisedAddress: '127.0.0.1', logger: opts.logger });
      return new EgressParticipant(opts, ws, join, mux, pc, held);
    } catch (err) {
      ws.terminate();
      await mux?.close();
      throw err;
    }
  }

  private onSignal(msg: SignalMessage): void {
    if (this.isClosed) return;
    switch (msg.case) {
      case 'offer': {
        const sdp = this.pc.handleOffer(msg.value.sdp);
        this.send({ case: 'answer', value: { type: 'answer', sdp, id: msg.value.id } as never });
        break;
      }
      case 'trickle': {
        if (msg.value.target !== SignalTarget.SUBSCRIBER) break;
        const init = JSON.parse(msg.value.candidateInit) as { candidate?: string };
        if (init.candidate) this.pc.addRemoteCandidate(init.candidate);
        break;
      }
      case 'leave':
        this.opts.onLost(`the server sent leave (reason ${DisconnectReason[msg.value.reason] ?? msg.value.reason})`);
        break;
      case 'update':
      case 'speakersChanged':
        this.opts.onRoomSignal?.(msg);
        break;
      default:
        break;
    }
  }

  /** Asks the publisher for a key frame (RTCP PLI on the stream, RFC 4585 6.3.1); the server relays it. */
  requestKeyFrame(stream: RemoteStream): void {
    if (this.isClosed) return;
    this.pc.sendRtcp(serializePictureLossIndication({ type: 'pli', senderSsrc: 1, mediaSsrc: stream.ssrc }));
  }

  private send(message: SignalRequest['message']): void {
    if (this.isClosed && message.case !== 'leave') return;
    if (this.ws.readyState !== WebSocket.OPEN) return;
    this.ws.send(new SignalRequest({ message }).toBinary());
  }

  /** Leaves the room and closes the connection and socket. Idempotent. */
  async leave(): Promise<void> {
    if (this.isClosed) return;
    this.send({ case: 'leave', value: new LeaveRequest({ reason: DisconnectReason.CLIENT_INITIATED }) });
    this.isClosed = true;
    clearInterval(this.pingTimer);
    for (const s of this.streams) s.onRtp = () => {};
    this.ws.close();
    this.pc.close();
    await this.mux.close();
  }
}
