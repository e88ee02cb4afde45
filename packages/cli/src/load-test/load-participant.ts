// One simulated participant of the load tester, on our own WebRTC client role: joins over `/rtc` signalling,
// publishes its tracks (AddTrackRequest, then addSender + offer on the publisher PC, as livekit-client does), answers
// the server's subscriber offers, follows trickled candidates, and counts what it receives per subscribed track.
import { AddTrackRequest, DisconnectReason, LeaveRequest, SignalTarget, SimulateScenario, TrackSource, TrackType, UpdateTrackSettings, VideoLayer, VideoQuality } from '@livekit/protocol';
import type { UdpMux } from '@atrium/webrtc';
import type { Logger } from '@atrium/webrtc';
import type { DtlsCertificate } from '@atrium/webrtc/dtls/certificate.js';
import { PeerConnection } from '@atrium/webrtc/pc/peer-connection.js';
import type { LocalSender } from '@atrium/webrtc/pc/local-sender.js';
import type { RemoteStream } from '@atrium/webrtc/pc/remote-stream.js';
import { SignalConnection, signalUrl } from './signal-connection.js';
import type { SignalMessage } from './signal-connection.js';
import { extensionBlock } from './packetizer.js';
import { AudioSource, VideoSource } from './media-source.js';
import type { MediaSource } from './media-source.js';
import type { VideoLayerPlan } from './media-plan.js';
import type { UdpRecvPreference } from '@atrium/webrtc/udp-recv.js';
import { LOAD_OPUS, LOAD_VP8, LOAD_SEND_STAGES, bindLoadMux, senderExtensionIds } from './client-role.js';
import type { TileSettings } from './layout.js';


export interface PublishedTrack {
  sid: string;
  cid: string;
  kind: 'audio' | 'video';
  publisher: string;
  /** Simulcast rids sent, '' for a single layer. */
  layers: readonly string[];
  source: MediaSource;
  publishedAtMs: number;
}

/** Where a subscriber's packets of one track are counted. */
export interface SubscriptionSink {
  /**
   * Called for every RTP packet of the track (`buf` is reused by the stack after the call). `isDecrypted` false: the
   * packet was not authenticated and its payload is still ciphertext (see ParticipantOptions.decryptEvery); its
   * header (sequence number, marker) and length are exact.
   */
  onRtp(buf: Buffer, payloadOffset: number, payloadLength: number, extSeq: number, isMarker: boolean, nowMs: number, isDecrypted?: boolean): void;
}

/** What `publish` sends: a camera with these layers (low to high) and/or a microphone; synthetic media unless sources are given. */
export interface PublishRequest {
  video?: readonly VideoLayerPlan[];
  audio?: boolean;
  /** The camera's media instead of synthetic frames (e.g. `atrium publish`'s file). */
  videoSource?: (sender: LocalSender) => MediaSource;
  audioSource?: (sender: LocalSender) => MediaSource;
}

export interface ParticipantOptions {
  url: string;
  token: string;
  identity: string;
  certificate: DtlsCertificate;
  /** Address our host candidates advertise and our sockets bind (loopback for a local server). */
  localAddress: string;
  subscribe: boolean;
  timeoutMs: number;
  /**
   * The subscriber authenticates and decrypts one packet in this many of each stream (those whose sequence number is
   * a multiple of it), plus every stream's first packet, RTX and padded packets; the others are counted from their
   * clear header only. 1 (the default) decrypts every packet. Loss, bytes and frames stay exact; latency is measured
   * on the decrypted packets.
   */
  decryptEvery?: number;
  /** How the participant's sockets read (default auto). */
  udpRecv?: UdpRecvPreference;
  /** Sink for a newly subscribed track (by track sid); undefined drops its packets. */
  onSubscribed?: (p: LoadParticipant, trackSid: string) => SubscriptionSink | undefined;
  /** Non-fatal trouble after the join (a description we could not apply, the signal closed early). */
  onProblem?: (p: LoadParticipant, what: string) => void;
}

export class LoadParticipant {
  readonly identity: string;
  readonly signal: SignalConnection;
  readonly participantSid: string;
  readonly tracks: PublishedTrack[] = [];
  private readonly opts: ParticipantOptions;
  private readonly muxes: UdpMux[];
  private publisher: PeerConnection | undefined;
  private readonly subscriber: PeerConnection | undefined;
  private readonly waiting = new Map<string, (sid: string) => void>();
  private pendingAnswer: { resolve: () => void; reject: (e: Error) => void } | undefined;
  private isClosed = false;
  private offersAnswered = 0;
  /** SpeakersChanged messages this participant received (--simulate-speakers checks they arrive). */
  speakerUpdatesReceived = 0;
  private streamsSeen = 0;
  private streamsUnmapped = 0;

  private constructor(opts: ParticipantOptions, signal: SignalConnection, muxes: UdpMux[]) {
    this.opts = opts;
    this.identity = opts.identity;
    this.signal = signal;
    this.participantSid = signal.join.participant?.sid ?? '';
    this.muxes = muxes;
    if (opts.subscribe) {
      const sub = this.newPc(muxes[0]!, true);
      this.subscriber = sub;
      // m-lines are recycled by servers for later subscriptions: key by stream, look the track up by the m-line's msid
      sub.on('remoteStream', (s) => this.onRemoteStream(s));
    }
    signal.listen((m) => this.onSignal(m));
    signal.onClose = (code) => {
      if (!this.isClosed) opts.onProblem?.(this, `signalling closed (${code})`);
    };
  }

  /** Opens signalling (JoinResponse) and the sockets; the subscriber PC connects when the server offers. */
  static async join(opts: ParticipantOptions): Promise<LoadParticipant> {
    const signal = await SignalConnection.connect(signalUrl(opts.url, opts.token, { autoSubscribe: opts.subscribe }), { timeoutMs: opts.timeoutMs });
    // One socket per PC (a server tells PCs apart by their address); the publisher's is bound by `publish`.
    const muxes = opts.subscribe ? [await bindLoadMux(opts.localAddress, opts.udpRecv)] : [];
    return new LoadParticipant(opts, signal, muxes);
  }

  private newPc(mux: UdpMux, isSubscriber = false): PeerConnection {
    const every = Math.max(1, Math.floor(this.opts.decryptEvery ?? 1));
    return new PeerConnection({
      role: 'client', mux, certificate: this.opts.certificate, advertisedAddress: this.opts.localAddress, sendStages: LOAD_SEND_STAGES, logger: this.warnings,
      ...(isSubscriber && every > 1 ? { decryptRtp: (buf: Buffer) => ((buf[2]! << 8) | buf[3]!) % every === 0 } : {}),
    });
  }

  /** What the subscriber PC did with incoming SRTP: packets not decrypted (sampling) and packets dropped by SRTP. */
  get receiveCounters(): { notDecrypted: number; authFailures: number; replayed: number } {
    const sub = this.subscriber;
    const srtp = sub?.srtpStats;
    return { notDecrypted: sub?.rtpNotDecrypted ?? 0, authFailures: srtp?.authFailures ?? 0, replayed: srtp?.replayed ?? 0 };
  }

  /** The last warning of our WebRTC stack (e.g. why DTLS failed), for diagnostics. */
  private lastWarning: string | undefined;
  private readonly warnings: Logger = {
    debug: () => {},
    info: () => {},
    warn: (obj, msg) => {
      const err = typeof obj === 'object' && obj !== null ? JSON.stringify(obj) : '';
      this.lastWarning = [typeof obj === 'string' ? obj : msg, err].filter(Boolean).join(': ');
    },
    error: (obj, msg) => this.warnings.warn(obj, msg),
    child: () => this.warnings,
  };

  get isSubscriberConnected(): boolean {
    return this.subscriber?.connectionState === 'connected';
  }
  get isPublisherConnected(): boolean {
    return this.publisher?.connectionState === 'connected';
  }

  /**
   * Publishes a camera (`video`: its layers, low to high) and/or a microphone: announces each (AddTrackRequest,
   * TrackPublishedResponse), offers them in one offer and resolves once the publisher PC is connected.
   */
  async publish(what: PublishRequest): Promise<void> {
    const mux = await bindLoadMux(this.opts.localAddress, this.opts.udpRecv);
    this.muxes.push(mux);
    const pc = this.newPc(mux);
    this.publisher = pc;
    const senders: { sender: LocalSender; source: MediaSource; track: Omit<PublishedTrack, 'sid' | 'publishedAtMs'> }[] = [];
    if (what.audio === true) {
      const sid = await this.addTrack(new AddTrackRequest({ cid: 'mic', name: 'mic', type: TrackType.AUDIO, source: TrackSource.MICROPHONE }));
      const sender = pc.addSender({ kind: 'audio', streamId: 'mic-stream', trackId: 'mic', codec: LOAD_OPUS });
      const source = what.audioSource?.(sender) ?? new AudioSource(sender);
      senders.push({ sender, source, track: { cid: 'mic', kind: 'audio', publisher: this.identity, layers: [''], source } });
      this.pushTrack(sid, senders.at(-1)!.track);
    }
    if (what.video !== undefined && what.video.length > 0) {
      const layers = what.video;
      const top = layers[layers.length - 1]!;
      const isSimulcast = layers.length > 1;
      const sid = await this.addTrack(new AddTrackRequest({
        cid: 'cam', name: 'cam', type: TrackType.VIDEO, source: TrackSource.CAMERA, width: top.width, height: top.height,
        layers: layers.map((l) => new VideoLayer({ quality: [VideoQuality.LOW, VideoQuality.MEDIUM, VideoQuality.HIGH][l.quality], width: l.width, height: l.height, bitrate: l.bitrateBps })),
      }));
      const sender = pc.addSender({
        kind: 'video', streamId: 'cam-stream', trackId: 'cam', codec: LOAD_VP8,
        ...(isSimulcast ? { simulcast: layers.map((l) => ({ rid: l.rid })) } : {}),
      });
      const source = what.videoSource?.(sender) ?? new VideoSource(sender, layers);
      senders.push({ sender, source, track: { cid: 'cam', kind: 'video', publisher: this.identity, layers: layers.map((l) => l.rid), source } });
      this.pushTrack(sid, senders.at(-1)!.track);
    }
    const answered = new Promise<void>((resolve, reject) => (this.pendingAnswer = { resolve, reject }));
    this.signal.send({ case: 'offer', value: { type: 'offer', sdp: pc.createOffer(), id: 1 } as never });
    await withTimeout(answered, this.opts.timeoutMs, 'no answer to the publisher offer');
    for (const s of senders) s.source.configure(senderExtensionIds(s.sender), (ids, mid, rid, level) => extensionBlock(ids, mid, rid, level));
    await waitUntil(() => pc.connectionState === 'connected' || pc.connectionState === 'failed', this.opts.timeoutMs);
    if (pc.connectionState !== 'connected') throw new Error(`publisher connection ${pc.connectionState}`);
  }

  private pushTrack(sid: string, t: Omit<PublishedTrack, 'sid' | 'publishedAtMs'>): void {
    this.tracks.push({ ...t, sid, publishedAtMs: performance.now() });
  }

  private async addTrack(req: AddTrackRequest): Promise<string> {
    const sid = new Promise<string>((resolve) => this.waiting.set(req.cid, resolve));
    this.signal.send({ case: 'addTrack', value: req });
    return withTimeout(sid, this.opts.timeoutMs, `track ${req.cid} not published`);
  }

  /** Asks the server to report this participant as speaking for `seconds` (lk's --simulate-speakers). */
  simulateSpeakerUpdate(seconds: number): void {
    if (this.isClosed) return;
    this.signal.send({ case: 'simulate', value: new SimulateScenario({ scenario: { case: 'speakerUpdate', value: seconds } }) });
  }

  private onSignal(msg: SignalMessage): void {
    if (this.isClosed) return;
    switch (msg.case) {
      case 'speakersChanged':
        this.speakerUpdatesReceived++;
        break;
      case 'trackPublished': {
        const done = this.waiting.get(msg.value.cid);
        this.waiting.delete(msg.value.cid);
        done?.(msg.value.track?.sid ?? '');
        break;
      }
      case 'answer':
        try {
          this.publisher?.handleAnswer(msg.value.sdp);
          this.pendingAnswer?.resolve();
        } catch (err) {
          this.pendingAnswer?.reject(err instanceof Error ? err : new Error(String(err)));
        }
        this.pendingAnswer = undefined;
        break;
      case 'offer':
        try {
          const sdp = this.subscriber?.handleOffer(msg.value.sdp);
          if (sdp !== undefined) {
            this.signal.send({ case: 'answer', value: { type: 'answer', sdp, id: msg.value.id } as never });
            this.offersAnswered++;
          }
        } catch (err) {
          this.opts.onProblem?.(this, `subscriber offer not applied: ${err instanceof Error ? err.message : String(err)}`);
        }
        break;
      case 'trickle': {
        const pc = msg.value.target === SignalTarget.SUBSCRIBER ? this.subscriber : this.publisher;
        try {
          const init = JSON.parse(msg.value.candidateInit) as { candidate?: string };
          if (init.candidate) pc?.addRemoteCandidate(init.candidate);
        } catch {
          // a candidate we cannot read: ICE goes on with the others
        }
        break;
      }
      case 'leave':
        this.opts.onProblem?.(this, `the server sent leave (reason ${msg.value.reason})`);
        break;
      default:
        break;
    }
  }

  private onRemoteStream(s: RemoteStream): void {
    this.streamsSeen++;
    const trackSid = this.subscriber?.remoteMedia(s.mid)?.msid?.trackId;
    const sink = trackSid !== undefined ? this.opts.onSubscribed?.(this, trackSid) : undefined;
    if (sink === undefined) {
      this.streamsUnmapped++;
      return;
    }
    s.onRtp = (buf, h, meta) => sink.onRtp(buf, h.payloadOffset, h.payloadLength, meta.extSeq, h.marker, meta.arrivalMs, meta.isDecrypted !== false);
  }

  /** What a reader needs when this subscriber got nothing: its PC state and what signalling brought. */
  diagnostics(): string {
    const sub = this.subscriber;
    if (sub === undefined) return `publisher PC ${this.publisher?.connectionState ?? 'none'}`;
    return `subscriber PC ${sub.connectionState}${this.lastWarning !== undefined ? ` (${this.lastWarning})` : ''}, ${this.offersAnswered} offers answered, ${this.streamsSeen} streams (${this.streamsUnmapped} of unknown tracks)`;
  }

  /** Asks for a subscribed track at a tile's size (the server picks the layer), or for it to be disabled (--layout). */
  setTrackSettings(trackSid: string, settings: Exclude<TileSettings, 'heard'>): void {
    if (this.isClosed) return;
    const value = settings === 'disabled'
      ? new UpdateTrackSettings({ trackSids: [trackSid], disabled: true })
      : new UpdateTrackSettings({ trackSids: [trackSid], disabled: false, width: settings.width, height: settings.height });
    this.signal.send({ case: 'trackSetting', value });
  }

  /** Sends a LeaveRequest, closes both PCs and the sockets. */
  async leave(): Promise<void> {
    if (this.isClosed) return;
    this.isClosed = true;
    for (const t of this.tracks) t.source.stop();
    this.signal.send({ case: 'leave', value: new LeaveRequest({ reason: DisconnectReason.CLIENT_INITIATED }) });
    this.signal.close();
    this.publisher?.close();
    this.subscriber?.close();
    await Promise.all(this.muxes.map((m) => m.close()));
  }
}

async function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([p, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what} within ${ms} ms`)), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

async function waitUntil(cond: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!cond() && performance.now() < deadline) await new Promise((r) => setTimeout(r, 10));
}
