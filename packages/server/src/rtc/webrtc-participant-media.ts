// ParticipantMedia over our WebRTC stack: a publisher PeerConnection answering the client's offers, and a downstream
// for subscribed tracks (downstream.ts): our own subscriber PeerConnection on which we offer (signalling v0), or the
// client's single PeerConnection, which then also carries them (v1). Media is wired to the SFU receivers/down tracks.
import { TypedEmitter, type Clock, type LocalCapabilities, type Logger, type TcpMux, type UdpMux } from '@atrium/webrtc';
import { PeerConnection } from '@atrium/webrtc/pc/peer-connection.js';
import { HeaderExtensionUri } from '@atrium/webrtc/sdp/capabilities.js';
import { HeaderStampStage } from '@atrium/webrtc/stages/header-stamp-stage.js';
import { SendSideController } from '@atrium/webrtc/cc/send-side-controller.js';
import type { PacerMode } from '../config/read-media-sections.js';
import type { LocalSender } from '@atrium/webrtc/pc/local-sender.js';
import type { RemoteStream } from '@atrium/webrtc/pc/remote-stream.js';
import type { DataChannel } from '@atrium/webrtc/sctp/data-channel.js';
import type { DtlsCertificate } from '@atrium/webrtc/dtls/certificate.js';
import { Receiver } from '../sfu/receiver.js';
import type { DownTrack } from '../sfu/down-track.js';
import { SubscriberSession } from '../sfu/subscriber-session.js';
import type { TrackSettings } from '../sfu/subscriber-session.js';
import type { SfuStats } from '../sfu/sfu-stats.js';
import type { AudioLevelParams } from '../sfu/audio-level.js';
import type {
  DataKind, MediaTrackSource, ParticipantMedia, ParticipantMediaEvents, SessionDescriptionMessage,
  SignalTargetValue, TransportState, SubscriptionBindError, SubscriberCongestionState,
} from './participant-media.js';
import { SignalTarget } from './participant-media.js';
import type { StreamQualitySample } from './connection-quality.js';
import {
  PublishedTrackSource, publisherCapabilities, subscriberCapabilities, subscriberCodecsFor, extensionIdMap, spatialForRid,
} from './webrtc-track-source.js';
import type { RedTranslatorOptions } from '../sfu/red-translator.js';
import { MAX_SPATIAL } from '../sfu/video-layers.js';
import type { Downstream, DownstreamHost } from './downstream.js';
import { SubscriberPcDownstream } from './subscriber-pc-downstream.js';
import { SinglePcDownstream } from './single-pc-downstream.js';

interface Subscription {
  trackSid: string;
  publisherSid: string;
  source: PublishedTrackSource;
  sender: LocalSender;
  /** Audio: redundant frames when plain Opus is RED-encoded for this subscriber (0: never). */
  redEncodingRedundancy: number;
  /** Set when an answer accepted its m-line; forwarding starts once the transport is also connected. */
  isAnswered: boolean;
  down: DownTrack | undefined;
  /** Waiting for the publisher to start the backup codec this subscriber accepted: stops waiting. */
  stopWaiting?: () => void;
}

interface PublishedInput {
  source: PublishedTrackSource;
  stream: RemoteStream;
  msidTrackId: string;
}

const MAX_QUEUED_RELIABLE = 1024;

export class WebRtcParticipantMedia extends TypedEmitter<ParticipantMediaEvents> implements ParticipantMedia {
  private readonly opts: { mux: UdpMux; tcpMux?: TcpMux; candidateProtocol?: 'tcp'; certificate: DtlsCertificate; advertisedAddress: string; clock: Clock;
    participantSid: string; identity: string; logger: Logger; onClose: () => void; stats?: SfuStats;
    /**
     * LiveKit signalling v1: the client's one PeerConnection carries what it publishes and what it subscribes to (we
     * answer its recvonly m-lines); no subscriber PC is created.
     */
    isSinglePeerConnection?: boolean;
    /** Audio-level meter settings of published audio tracks (livekit.yaml `audio:`). */
    audioLevel?: Partial<AudioLevelParams>;
    /** The subscriber uses adaptive stream (connect parameter): its video starts at LOW. */
    isAdaptiveStream?: boolean;
    /** Dynacast downgrade delay (video.dynacast_pause_delay). */
    dynacastPauseDelayMs?: number;
    /** rtc.congestion_control.allow_pause, or the client's subscriber_allow_pause. */
    allowPause?: boolean;
    /** rtc.congestion_control.enabled: layers follow the subscriber's bandwidth estimate (default true). */
    isCongestionControlEnabled?: boolean;
    /** rtc.congestion_control.send_side_bwe_pacer: pace the subscriber's media at the estimate (default), or not. */
    pacer?: PacerMode;
    /** rtc.congestion_control.stream_allocator.min_channel_capacity: the estimate's floor, bps. */
    minChannelCapacityBps?: number;
    /** What publisher answers accept (enabled codecs); all forwardable ones when absent. */
    publisherCapabilities?: LocalCapabilities;
    /** What subscriber offers may carry (without RED when it is not enabled); all forwardable ones when absent. */
    subscriberCapabilities?: LocalCapabilities;
    /** audio.active_red_encoding: plain Opus tracks go RED-encoded to subscribers that accept RED. */
    activeRedEncoding?: boolean;
    /** room.enabled_codecs lists audio/red (default true): plain Opus may be RED-encoded for subscribers. */
    isRedEnabled?: boolean };
  private readonly logger: Logger;
  private publisher: PeerConnection | undefined;
  /** Where subscribed tracks go out: our subscriber PC (v0) or the client's PC (v1). */
  private readonly downstream: Downstream;
  private readonly inputs = new Map<string, PublishedInput>();
  private readonly subscriptions = new Map<string, Subscription>();
  private readonly channels = new Map<string, DataChannel>();
  private readonly reliableQueue: Buffer[] = [];
  /** Per PC, the local ICE ufrag whose candidates were trickled (again after an ICE restart). */
  private readonly trickled = new WeakMap<PeerConnection, string>();
  /** This participant as a subscriber: its DownTracks, their settings, layers and stream states. */
  private readonly session: SubscriberSession;
  /** The subscriber transport's congestion control (send-side estimate, pacing, probes), once the transport exists. */
  private congestion: SendSideController | undefined;
  private closed = false;

  get isClosed(): boolean {
    return this.closed;
  }

  constructor(opts: WebRtcParticipantMedia['opts']) {
    super();
    this.opts = opts;
    this.logger = opts.logger;
    this.onListenerError = (err, event) => this.logger.error({ err, event }, 'media event listener threw');
    this.session = new SubscriberSession({
      subscriberId: opts.participantSid,
      clock: opts.clock,
      logger: this.logger,
      isAdaptiveStream: opts.isAdaptiveStream ?? false,
      allowPause: opts.allowPause ?? false,
      isCongestionControlEnabled: opts.isCongestionControlEnabled ?? true,
      estimator: {
        availableBps: () => this.congestion?.estimateBps() ?? Infinity,
        probe: (targetBps) => this.congestion?.probe(targetBps) ?? false,
      },
      ...(opts.stats ? { stats: opts.stats } : {}),
      listener: { onStreamStates: (changes) => this.emit('streamStates', changes) },
    });
    const host: DownstreamHost = {
      createSubscriberPc: () => this.createPc('subscriber'),
      onTransport: (pc) => {
        this.startCongestionControl(pc);
        pc.on('connectionStateChange', (s) => {
          if (s === 'connected') this.startAnsweredDownTracks();
          this.emitState(SignalTarget.SUBSCRIBER, s);
        });
      },
      onOwnChannel: (ch) => {
        this.channels.set(ch.label, ch);
        if (ch.label === '_reliable') ch.on('open', () => this.flushReliable());
        this.attachIncomingChannel(ch);
      },
      midToTrackId: () => this.midToTrackId(),
      emitOffer: (sd) => this.emit('subscriberOffer', sd),
      emitMediaSectionsRequirement: (req) => this.emit('mediaSectionsRequirement', req),
      trickle: (pc, target) => this.trickleOnce(pc, target),
      isClosed: () => this.closed,
    };
    this.downstream = opts.isSinglePeerConnection === true
      ? new SinglePcDownstream(host, { clientPc: () => this.publisher ?? this.createPublisher(), existingPc: () => this.publisher })
      : new SubscriberPcDownstream(host, this.logger);
  }

  /** The client's PC carries its subscriptions too (signalling v1). */
  get isSinglePeerConnection(): boolean {
    return this.downstream instanceof SinglePcDownstream;
  }

  // ---- publisher PC -------------------------------------------------------------------------------

  async handlePublisherOffer(
    sdp: string,
    id: number,
    opts: { codecByTrackId?: ReadonlyMap<string, string>; opusParamsByTrackId?: ReadonlyMap<string, string> } = {},
  ): Promise<SessionDescriptionMessage> {
    const pc = this.publisher ?? this.createPublisher();
    const byTrack = opts.codecByTrackId;
    const opusParams = opts.opusParamsByTrackId;
    const answer = pc.handleOffer(sdp, {
      preferCodec: (m) => (m.msid !== undefined ? byTrack?.get(m.msid.trackId) : undefined),
      receiveFmtp: (m) => {
        const params = m.kind === 'audio' && m.msid !== undefined ? opusParams?.get(m.msid.trackId) : undefined;
        return params === undefined || params === '' ? undefined : new Map([['audio/opus', params]]);
      },
    });
    // m-lines that stopped sending end their published track.
    for (const [mid, input] of [...this.inputs]) {
      const m = pc.remoteMedia(mid);
      if (!m || (m.direction !== 'sendonly' && m.direction !== 'sendrecv') || m.msid?.trackId !== input.msidTrackId) {
        this.endInput(mid);
      }
    }
    this.trickleOnce(pc, SignalTarget.PUBLISHER);
    if (!(this.downstream instanceof SinglePcDownstream)) return { sdp: answer, id, midToTrackId: {} };
    // Single PC: the answer placed subscriptions on the client's recvonly m-lines (or refused them).
    this.bindNegotiated();
    this.downstream.offerAnswered();
    return { sdp: answer, id, midToTrackId: this.midToTrackId() };
  }

  private createPublisher(): PeerConnection {
    const isSingle = this.opts.isSinglePeerConnection === true;
    const pc = this.createPc(isSingle ? 'single' : 'publisher');
    this.publisher = pc;
    if (isSingle) this.startCongestionControl(pc);
    pc.on('connectionStateChange', (s) => {
      if (isSingle && s === 'connected') this.startAnsweredDownTracks();
      this.emitState(SignalTarget.PUBLISHER, s);
    });
    pc.on('remoteStream', (stream) => this.onRemoteStream(pc, stream));
    pc.on('remoteStreamEnded', (stream) => {
      const input = this.inputs.get(stream.mid);
      if (input && input.stream === stream) this.endInput(stream.mid);
    });
    pc.on('dataChannel', (ch) => this.attachIncomingChannel(ch));
    return pc;
  }

  private onRemoteStream(pc: PeerConnection, stream: RemoteStream): void {
    const existing = this.inputs.get(stream.mid);
    if (existing) {
      // Another simulcast layer of a track we already have: the receiver takes it as one more stream.
      existing.source.attach(stream);
      return;
    }
    const m = pc.remoteMedia(stream.mid);
    if (!m?.msid || stream.kind === 'application') {
      this.logger.warn({ mid: stream.mid }, 'media on an m-line without msid; dropped');
      return;
    }
    const codec = stream.primaryCodec;
    if (!codec) return;
    const rids = m.rids.map((r) => r.id);
    const receiver = new Receiver({
      ssrc: stream.ssrc,
      spatial: spatialForRid(stream.rid, rids),
      upstream: stream,
      kind: stream.kind,
      mimeType: codec.mimeType,
      clockRate: codec.clockRate,
      clock: this.opts.clock,
      logger: this.logger.child({ mid: stream.mid }),
      sendRtcp: (pkt: Buffer) => pc.sendRtcp(pkt),
      ...(this.opts.stats ? { stats: this.opts.stats } : {}),
      ...(this.opts.audioLevel ? { audioLevel: this.opts.audioLevel } : {}),
    });
    const msidTrackId = m.msid.trackId;
    const mid = stream.mid;
    const source = new PublishedTrackSource({
      receiver, kind: stream.kind, codec, payloadTypes: stream.payloadTypes, publisherExtensions: m.headerExtensions, rids, clock: this.opts.clock,
      ...(this.opts.dynacastPauseDelayMs !== undefined ? { dynacastPauseDelayMs: this.opts.dynacastPauseDelayMs } : {}),
      onSubscribedQuality: (qualities) => {
        if (!this.isClosed) this.emit('subscribedQuality', { mid, msidTrackId, qualities });
      },
    });
    source.attach(stream);
    this.inputs.set(stream.mid, { source, stream, msidTrackId });
    this.emit('trackPublished', {
      msidTrackId,
      msidStreamId: m.msid.streamId,
      mid,
      kind: stream.kind,
      mimeType: codec.mimeType,
      rids,
      source,
    });
  }

  private endInput(mid: string): void {
    const input = this.inputs.get(mid);
    if (!input) return;
    this.inputs.delete(mid);
    input.source.close();
    this.emit('trackEnded', { mid, msidTrackId: input.msidTrackId });
  }

  // ---- subscriber PC ------------------------------------------------------------------------------

  startSubscriber(): void {
    this.downstream.start();
  }

  /**
   * The subscriber's transport-wide CC feedback drives a send-side estimate (webrtc/cc): it paces what we send and is
   * the budget the session's stream allocator spends (rtc.congestion_control.enabled: false leaves both off).
   */
  private startCongestionControl(pc: PeerConnection): void {
    if (this.opts.isCongestionControlEnabled === false) return;
    const stamp = pc.stages.send.find((s): s is HeaderStampStage => s instanceof HeaderStampStage);
    if (stamp === undefined) return;
    const controller = new SendSideController({
      clock: this.opts.clock,
      history: stamp.history,
      pacer: pc.pacer,
      isPacing: this.opts.pacer === 'leaky-bucket',
      ...(this.opts.minChannelCapacityBps ? { minBps: this.opts.minChannelCapacityBps } : {}),
      onEstimateDrop: () => this.session.markDirty(),
    });
    this.congestion = controller;
    pc.on('transportFeedback', (pkt) => {
      if (pkt.type !== 'twcc') return;
      try {
        controller.onTransportFeedback(pkt);
      } catch (err) {
        this.logger.warn({ err }, 'transport feedback failed');
      }
    });
  }

  /** The subscriber transport's congestion control (metrics, tests); undefined before it exists or when disabled. */
  get congestionControl(): SendSideController | undefined {
    return this.congestion;
  }

  congestionState(): SubscriberCongestionState | undefined {
    if (this.congestion === undefined || this.session.trackCount === 0) return undefined;
    const s = this.session;
    return {
      estimateBps: this.congestion.estimateBps(), allocatedBps: s.allocatedBps, audioBps: s.audioBps,
      pausedTracks: s.pausedTracks, deficientTracks: s.deficientTracks,
    };
  }

  setSubscriberCapacityOverride(bps: number): void {
    this.session.setCapacityOverride(bps);
  }

  /** The subscriber session (its allocation state for metrics and tests). */
  get subscriberSession(): SubscriberSession {
    return this.session;
  }

  handleSubscriberAnswer(sdp: string, id: number): void {
    if (!(this.downstream instanceof SubscriberPcDownstream) || !this.downstream.handleAnswer(sdp, id)) return;
    this.bindNegotiated();
  }

  /**
   * After an offer/answer covered subscription m-lines: each negotiated subscription is bound (forwarding starts once the
   * transport is connected) or refused, and the room hears which.
   */
  private bindNegotiated(): void {
    const pc = this.downstream.pc;
    if (pc === undefined) return;
    const bound: { trackSid: string; error: SubscriptionBindError | undefined }[] = [];
    let hasRefused = false;
    for (const sub of [...this.subscriptions.values()]) {
      // Only m-lines this exchange covered (a subscription added meanwhile, or still waiting for an m-line, waits).
      if (sub.isAnswered || sub.sender.isStopped || !sub.sender.isNegotiated) continue;
      // The subscriber refused the m-line or every codec on it: nothing we send could be decoded. The subscription ends
      // here, before the next offer is built, so that offer does not carry the refused track again (the room's own
      // unsubscribe may come later: from another thread, after that offer).
      if (!sub.sender.isAccepted) {
        bound.push({ trackSid: sub.trackSid, error: 'codec_unsupported' });
        this.subscriptions.delete(sub.trackSid);
        this.downstream.removeSender(sub.sender);
        hasRefused = true;
        continue;
      }
      sub.isAnswered = true;
      bound.push({ trackSid: sub.trackSid, error: undefined });
    }
    if (pc.connectionState === 'connected') this.startAnsweredDownTracks();
    if (hasRefused) this.downstream.negotiate();
    for (const b of bound) this.emit('subscriptionBound', b);
  }

  /** mid -> track sid of the subscriptions placed on an m-line (`mid_to_track_id` of offers and v1 answers). */
  private midToTrackId(): Record<string, string> {
    const out: Record<string, string> = {};
    for (const sub of this.subscriptions.values()) if (sub.sender.mid !== '') out[sub.sender.mid] = sub.trackSid;
    return out;
  }

  subscribe(source: MediaTrackSource, opts: { publisherSid: string; trackSid: string }): void {
    if (this.isClosed || this.subscriptions.has(opts.trackSid)) return;
    if (!(source instanceof PublishedTrackSource)) throw new Error('subscribe: unknown media source');
    const codecs = subscriberCodecsFor(source, {
      activeRedEncoding: this.opts.activeRedEncoding ?? false, isRedEnabled: this.opts.isRedEnabled ?? true,
    });
    const sender = this.downstream.addSender({
      kind: source.kind,
      streamId: `${opts.publisherSid}|${opts.trackSid}`,
      trackId: opts.trackSid,
      codec: codecs.codec,
      ...(codecs.alternatives.length > 0 ? { alternatives: codecs.alternatives } : {}),
    });
    this.subscriptions.set(opts.trackSid, {
      trackSid: opts.trackSid, publisherSid: opts.publisherSid, source, sender, down: undefined, isAnswered: false,
      redEncodingRedundancy: codecs.redEncodingRedundancy,
    });
    this.downstream.negotiate();
  }

  unsubscribe(trackSid: string): void {
    const sub = this.subscriptions.get(trackSid);
    if (!sub) return;
    this.subscriptions.delete(trackSid);
    sub.stopWaiting?.();
    this.session.removeTrack(trackSid);
    this.downstream.removeSender(sub.sender);
    if (!this.isClosed) this.downstream.negotiate();
  }

  updateTrackSettings(trackSid: string, settings: TrackSettings): void {
    this.session.updateSettings(trackSid, settings);
  }

  /**
   * Starts forwarding for answered subscriptions once the subscriber's transport is connected: a down track starts
   * at a key frame, and one forwarded before DTLS is done would be dropped (no SRTP keys yet), leaving the
   * subscriber with frames it cannot decode until the next key frame (a PLI throttle interval later).
   */
  private startAnsweredDownTracks(): void {
    if (this.isClosed) return;
    for (const sub of this.subscriptions.values()) {
      if (sub.isAnswered && sub.down === undefined && sub.stopWaiting === undefined && !sub.sender.isStopped) this.startDownTrack(sub);
    }
  }

  private startDownTrack(sub: Subscription): void {
    const { sender, source: track } = sub;
    // The codec the subscriber's answer took: the primary's source, or a backup codec's once the publisher sends it.
    const mime = sender.codec.mimeType;
    const source = track.sourceFor(mime);
    if (source === undefined) {
      this.waitForBackup(sub, mime);
      return;
    }
    const red = redTranslation(sub);
    const down = this.session.addTrack({
      trackId: sub.trackSid,
      publisherId: sub.publisherSid,
      source: source.receiver,
      ssrc: sender.ssrc,
      payloadType: sender.payloadType,
      extensionIdMap: extensionIdMap(source.publisherExtensions, sender, source.mimeType),
      send: (pkt, h) => sender.sendRtp(pkt, h),
      sendRtx: (pkt, h) => sender.sendRtx(pkt, h),
      transportCcId: sender.extensionId(HeaderExtensionUri.transportCc),
      sendRtcp: (pkt) => sender.sendRtcp(pkt),
      layers: source.videoLayers,
      width: source.width,
      height: source.height,
      ...(track.dynacast ? { dynacast: track.dynacast } : {}),
      ...(red ? { red } : {}),
      logger: this.logger.child({ track: sub.trackSid }),
    });
    sender.onRtcp = (pkt) => {
      down.handleRtcp([pkt]);
      if ((pkt.type === 'rr' || pkt.type === 'sr') && down.rttMs > 0) this.congestion?.onRtt(down.rttMs);
    };
    sub.down = down;
  }

  /**
   * The subscriber's answer took a backup codec the publisher does not send yet: tell dynacast this subscriber needs it
   * (the publisher's SubscribedQualityUpdate then names it, and livekit-client publishes it), and start forwarding
   * when it arrives.
   */
  private waitForBackup(sub: Subscription, mimeType: string): void {
    const track = sub.source;
    this.logger.info({ track: sub.trackSid, mimeType }, 'the subscriber cannot decode the primary codec; asking the publisher for its backup');
    track.dynacast?.setSubscriberMaxSpatial(mimeType, this.opts.participantSid, MAX_SPATIAL);
    const stop = track.onBackupAdded((mime) => {
      if (mime !== mimeType.toLowerCase() || this.subscriptions.get(sub.trackSid) !== sub) return;
      stop();
      sub.stopWaiting = undefined;
      if (!this.isClosed && this.downstream.pc?.connectionState === 'connected') this.startDownTrack(sub);
    });
    sub.stopWaiting = () => {
      stop();
      track.dynacast?.removeSubscriber(this.opts.participantSid);
    };
  }

  /** A resume (docs/resume.md): v0 offers again with new ICE credentials; in v1 the client's offer restarts ICE. */
  restartIce(): void {
    this.downstream.restartIce();
  }

  /**
   * Trickles our host candidates once per PC and ICE generation (again after an ICE restart), after its description
   * went out (they are in the SDP too; LiveKit clients expect server candidates over trickle as well). Deferred so the
   * answer is sent first.
   */
  private trickleOnce(pc: PeerConnection, target: SignalTargetValue): void {
    if (this.trickled.get(pc) === pc.localIceUfrag) return;
    this.trickled.set(pc, pc.localIceUfrag);
    const first = pc.localDescription?.media.find((m) => m.port !== 0);
    if (!first) return;
    const ufrag = first.iceUfrag;
    setImmediate(() => {
      if (this.isClosed) return;
      for (const candidate of pc.localCandidates()) {
        const init = { candidate, sdpMid: first.mid, sdpMLineIndex: 0, ...(ufrag ? { usernameFragment: ufrag } : {}) };
        this.emit('iceCandidate', { candidateInit: JSON.stringify(init), target });
      }
    });
  }

  // ---- shared -------------------------------------------------------------------------------------

  addRemoteCandidate(candidateInit: string, target: SignalTargetValue): void {
    let candidate: string | undefined;
    try {
      const parsed = JSON.parse(candidateInit) as { candidate?: unknown };
      if (typeof parsed.candidate === 'string') candidate = parsed.candidate;
    } catch {
      this.logger.debug({ candidateInit }, 'unparseable trickle candidate ignored');
      return;
    }
    if (!candidate) return;
    const pc = target === SignalTarget.PUBLISHER || this.isSinglePeerConnection ? this.publisher : this.downstream.pc;
    try {
      pc?.addRemoteCandidate(candidate);
    } catch (err) {
      this.logger.debug({ err }, 'bad remote candidate ignored');
    }
  }

  sendData(payload: Uint8Array, kind: DataKind): void {
    const label = kind === 'reliable' ? '_reliable' : '_lossy';
    const ch = this.channels.get(label);
    const buf = Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength);
    if (ch && ch.readyState === 'open') {
      ch.send(buf);
    } else if (kind === 'reliable' && this.reliableQueue.length < MAX_QUEUED_RELIABLE) {
      this.reliableQueue.push(Buffer.from(buf));
    }
  }

  subscriptionQuality(): StreamQualitySample[] {
    const out: StreamQualitySample[] = [];
    for (const sub of this.subscriptions.values()) {
      const d = sub.down;
      if (d === undefined || d.isClosed) continue;
      out.push({
        key: `sub:${sub.trackSid}`, side: 'subscriber', kind: sub.source.kind, mimeType: sub.sender.codec.mimeType,
        packetsExpected: d.reportedHighestSeq, packetsLost: d.cumulativeLost, jitterMs: d.jitterMs, rttMs: d.rttMs,
        lastRtcpMs: d.lastReportMs, packetsSent: d.packetsSent, isMuted: sub.source.receiver.isMuted,
        heldBackLayers: this.session.heldBackLayers(sub.trackSid),
      });
    }
    return out;
  }

  private flushReliable(): void {
    const ch = this.channels.get('_reliable');
    if (!ch || ch.readyState !== 'open') return;
    for (const buf of this.reliableQueue.splice(0)) ch.send(buf);
  }

  private attachIncomingChannel(ch: DataChannel): void {
    const kind: DataKind | undefined = ch.label === '_reliable' ? 'reliable' : ch.label === '_lossy' ? 'lossy' : undefined;
    if (!kind) return;
    // Client-created publisher channels can also carry data towards us when there is no subscriber PC (always in v1).
    if (!this.channels.has(ch.label)) {
      this.channels.set(ch.label, ch);
      if (ch.label === '_reliable') {
        ch.on('open', () => this.flushReliable());
        this.flushReliable();
      }
    }
    ch.on('message', (m: Buffer | string) => {
      if (typeof m === 'string') return; // DataPackets are binary protobuf
      this.emit('data', { payload: m, kind });
    });
  }

  /** 'single': the client's one PC in v1, receiving like a publisher PC and sending like a subscriber PC. */
  private createPc(which: 'publisher' | 'subscriber' | 'single'): PeerConnection {
    return new PeerConnection({
      role: 'server',
      mux: this.opts.mux,
      ...(this.opts.tcpMux !== undefined ? { tcpMux: this.opts.tcpMux } : {}),
      ...(this.opts.candidateProtocol !== undefined ? { candidateTransport: this.opts.candidateProtocol } : {}),
      certificate: this.opts.certificate,
      advertisedAddress: this.opts.advertisedAddress,
      capabilities: which === 'subscriber'
        ? (this.opts.subscriberCapabilities ?? subscriberCapabilities)
        : (this.opts.publisherCapabilities ?? publisherCapabilities),
      ...(which === 'single' ? { sendCapabilities: this.singlePcSendCapabilities() } : {}),
      clock: this.opts.clock,
      logger: this.logger.child({ pc: which }),
    });
  }

  /**
   * What the client's single PC accepts on its recvonly m-lines: the subscriber codecs, with the header extensions a
   * publisher m-line accepts as well. Chromium offers a new m-line only the extensions the bundle has negotiated so far:
   * answering the pre-created recvonly video m-lines without rtp-stream-id makes its next simulcast offer fail
   * ("negotiates simulcast but does not negotiate the RID RTP header extension"). Accepting an extension does not mean
   * we send it: DownTracks never forward the transport-only ones (mid, rid, transport-cc ids are ours).
   */
  private singlePcSendCapabilities(): LocalCapabilities {
    const send = this.opts.subscriberCapabilities ?? subscriberCapabilities;
    const recv = this.opts.publisherCapabilities ?? publisherCapabilities;
    const union = (a: readonly string[], b: readonly string[]): string[] => [...new Set([...a, ...b])];
    return {
      ...send,
      headerExtensions: {
        audio: union(send.headerExtensions.audio, recv.headerExtensions.audio),
        video: union(send.headerExtensions.video, recv.headerExtensions.video),
      },
      ...(recv.extensionsSupersededBy !== undefined ? { extensionsSupersededBy: recv.extensionsSupersededBy } : {}),
    };
  }

  private emitState(target: SignalTargetValue, state: TransportState): void {
    this.emit('connectionState', { target, state });
  }

  close(): void {
    if (this.isClosed) return;
    this.closed = true;
    this.session.close();
    this.congestion?.close();
    this.subscriptions.clear();
    for (const mid of [...this.inputs.keys()]) this.endInput(mid);
    this.downstream.close();
    this.publisher?.close();
    this.channels.clear();
    this.reliableQueue.length = 0;
    this.opts.onClose();
    this.emitState(SignalTarget.PUBLISHER, 'closed');
    this.removeAllListeners();
  }
}

/**
 * How a subscription's DownTrack translates RED (undefined: no RED on either side, packets go out as they come): from
 * the payload types the publisher's m-line and the subscriber's answer accepted. A subscriber that accepted RED gets
 * RED (what we offered first); one that refused it gets Opus.
 */
function redTranslation(sub: Subscription): RedTranslatorOptions | undefined {
  if (sub.source.kind !== 'audio') return undefined;
  const sourceRedPayloadType = sub.source.payloadTypes.get('audio/red') ?? -1;
  const redPayloadType = sub.sender.payloadTypes.get('audio/red') ?? -1;
  if (sourceRedPayloadType < 0 && redPayloadType < 0) return undefined;
  return {
    sourceRedPayloadType,
    sourceOpusPayloadType: sub.source.payloadTypes.get('audio/opus') ?? -1,
    redPayloadType,
    opusPayloadType: sub.sender.payloadTypes.get('audio/opus') ?? -1,
    encodeRedundancy: sub.redEncodingRedundancy,
  };
}
