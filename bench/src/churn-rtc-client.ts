// A LiveKit-signalling participant for the media churn benchmarks, built on our own WebRTC client role: joins over
// a real WebSocket, publishes a microphone and a camera (publisher PC: we offer) and sends fake Opus and VP8 RTP,
// answers the server's subscriber offers and counts the RTP it receives per subscribed track.
import { AddTrackRequest, LeaveRequest, TrackType, TrackSource, DisconnectReason } from '@livekit/protocol';
import { UdpMux, defaultCapabilities, serializeRtpPacket } from '@atrium/webrtc';
import type { DtlsCertificate } from '@atrium/webrtc/dtls/certificate.js';
import { PeerConnection } from '@atrium/webrtc/pc/peer-connection.js';
import type { LocalSender } from '@atrium/webrtc/pc/local-sender.js';
import type { RemoteStream } from '@atrium/webrtc/pc/remote-stream.js';
import { devToken } from '@atrium/server/signal/test-signal-client.js';
import { SignalConnection, signalUrl } from '@atrium/cli/load-test/signal-connection.js';
import type { SignalMessage } from '@atrium/cli/load-test/signal-connection.js';

const opus = defaultCapabilities.audio.find((c) => c.mimeType.toLowerCase() === 'audio/opus')!;
const vp8 = defaultCapabilities.video.find((c) => c.mimeType.toLowerCase() === 'video/vp8')!;
const SOCKET_BUFFER_BYTES = 1 << 20;
const VIDEO_PAYLOAD_BYTES = 1000;

export class RtcChurnClient {
  readonly identity: string;
  readonly signal: SignalConnection;
  /** RTP packets received per remote stream of the subscriber PC (ended streams removed). */
  readonly received = new Map<RemoteStream, number>();
  private readonly muxes: UdpMux[];
  private readonly publisher: PeerConnection;
  private readonly subscriber: PeerConnection;
  private senders: LocalSender[] = [];
  private seq = 0;
  private ts = 0;
  private isClosed = false;
  private readonly published = new Map<string, () => void>();

  private constructor(identity: string, signal: SignalConnection, muxes: UdpMux[], certificate: DtlsCertificate) {
    this.identity = identity;
    this.signal = signal;
    this.muxes = muxes;
    const pc = (mux: UdpMux): PeerConnection => new PeerConnection({ role: 'client', mux, certificate, advertisedAddress: '127.0.0.1' });
    this.publisher = pc(muxes[0]!);
    this.subscriber = pc(muxes[1]!);
    // Keyed by stream, not mid: the server reuses the m-line of an ended subscription for the next one.
    this.subscriber.on('remoteStream', (s) => {
      this.received.set(s, 0);
      s.onRtp = () => this.received.set(s, (this.received.get(s) ?? 0) + 1);
    });
    this.subscriber.on('remoteStreamEnded', (s) => this.received.delete(s));
    // Offers and answers are handled in order; the connection holds what came before this listener (the first
    // subscriber offer can follow the JoinResponse at once) and pings the server itself.
    signal.listen((msg) => this.onSignal(msg));
  }

  private onSignal(msg: SignalMessage): void {
    if (this.isClosed) return;
    try {
      if (msg.case === 'trackPublished') {
        this.published.get(msg.value.cid)?.();
        this.published.delete(msg.value.cid);
      } else if (msg.case === 'offer') {
        const sdp = this.subscriber.handleOffer(msg.value.sdp);
        this.signal.send({ case: 'answer', value: { type: 'answer', sdp, id: msg.value.id } as never });
      } else if (msg.case === 'answer') {
        this.publisher.handleAnswer(msg.value.sdp);
      }
    } catch (err) {
      // a description we cannot apply shows up as missing media in the benchmark
      if (process.env.CHURN_DEBUG) console.error(this.identity, msg.case, err);
    }
  }

  /** Joins `room` as `identity` with one UDP socket per peer connection. */
  static async join(url: string, identity: string, room: string, certificate: DtlsCertificate): Promise<RtcChurnClient> {
    const muxes = await Promise.all([0, 1].map(() => UdpMux.bind({ port: 0, address: '127.0.0.1', recvBufferBytes: SOCKET_BUFFER_BYTES, sendBufferBytes: SOCKET_BUFFER_BYTES })));
    const signal = await SignalConnection.connect(signalUrl(url, await devToken(identity, { roomJoin: true, room }), { autoSubscribe: true }), { timeoutMs: 10_000 });
    return new RtcChurnClient(identity, signal, muxes, certificate);
  }

  get isPublisherConnected(): boolean {
    return this.publisher.connectionState === 'connected';
  }
  get isSubscriberConnected(): boolean {
    return this.subscriber.connectionState === 'connected';
  }

  /** Announces a microphone and a camera, then offers them on the publisher PC. */
  async publish(): Promise<void> {
    const tracks = [
      { cid: 'mic', kind: 'audio' as const, type: TrackType.AUDIO, source: TrackSource.MICROPHONE, codec: opus },
      { cid: 'cam', kind: 'video' as const, type: TrackType.VIDEO, source: TrackSource.CAMERA, codec: vp8 },
    ];
    for (const t of tracks) {
      const published = new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`${this.identity}: ${t.cid} not published within 10 s`)), 10_000);
        this.published.set(t.cid, () => {
          clearTimeout(timer);
          resolve();
        });
      });
      this.signal.send({ case: 'addTrack', value: new AddTrackRequest({ cid: t.cid, name: t.cid, type: t.type, source: t.source, width: 640, height: 360 }) });
      await published;
      this.senders.push(this.publisher.addSender({ kind: t.kind, streamId: 'stream', trackId: t.cid, codec: t.codec }));
    }
    this.signal.send({ case: 'offer', value: { type: 'offer', sdp: this.publisher.createOffer(), id: 1 } as never });
  }

  /** One 20 ms audio packet and one video packet (the first a VP8 key frame start). */
  sendMedia(): void {
    if (this.isClosed) return;
    const seq = this.seq++ & 0xffff;
    for (const s of this.senders) {
      const video = s.kind === 'video';
      const payload = Buffer.alloc(video ? VIDEO_PAYLOAD_BYTES : 80, 0x42);
      if (video) {
        payload[0] = 0x10;
        payload[1] = this.seq % 100 === 1 ? 0x00 : 0x01; // a key frame now and then
      }
      s.sendRtp(serializeRtpPacket({ payloadType: s.payloadType, sequenceNumber: seq, timestamp: video ? (this.ts * 4.5) >>> 0 : this.ts, ssrc: s.ssrc, payload }));
    }
    this.ts = (this.ts + 960) % 0x38e38e38; // 2^32 / 4.5: both clocks wrap together
  }

  /** Subscribed m-lines that received at least `packets` RTP packets. */
  tracksReceiving(packets: number): number {
    let n = 0;
    for (const v of this.received.values()) if (v >= packets) n++;
    return n;
  }

  /** Sends a LeaveRequest (or just drops the socket), closes both PCs and sockets. */
  async leave(opts: { viaRequest: boolean }): Promise<void> {
    if (this.isClosed) return;
    this.isClosed = true;
    if (opts.viaRequest) this.signal.send({ case: 'leave', value: new LeaveRequest({ reason: DisconnectReason.CLIENT_INITIATED }) });
    this.signal.close();
    this.publisher.close();
    this.subscriber.close();
    await Promise.all(this.muxes.map((m) => m.close()));
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.signal.closed, new Promise((resolve) => (timer = setTimeout(resolve, 10_000)))]);
    clearTimeout(timer);
  }
}

