// A WebRTC peer connection built from our own parts: ICE (lite as server, controlling as client), DTLS,
// SRTP, SCTP data channels, SDP offer/answer (RFC 8829 semantics, BUNDLE and rtcp-mux only) and RTP demux.
// Role 'server' is ICE-lite and always the DTLS server; role 'client' is ICE-controlling and the DTLS client.
import type { Clock } from '../clock.js';
import { systemClock } from '../clock.js';
import type { Logger } from '../logger.js';
import { silentLogger } from '../logger.js';
import { TypedEmitter } from '../typed-emitter.js';
import type { UdpMux } from '../udp-mux.js';
import type { TcpMux } from '../tcp/tcp-mux.js';
import { IceTransport, type IceState } from '../ice/ice-transport.js';
import type { DtlsCertificate } from '../dtls/certificate.js';
import { DtlsTransport, type DtlsState } from '../dtls/dtls-transport.js';
import { SctpTransport } from '../sctp/sctp-transport.js';
import type { DataChannel } from '../sctp/data-channel.js';
import { SrtpProfile, srtpExporterLength, type SrtpProfileId } from '../srtp/srtp-profile.js';
import { SrtpSession, srtpKeysFromExporter } from '../srtp/srtp-session.js';
import { isRtcpPacket, parseRtcp, serializeRtcp, type RtcpPacket } from '../rtp/index.js';
import { SsrcMap } from '../rtp/ssrc-map.js';
import { codecsMatch } from '../sdp/codec-match.js';
import {
  createAnswer, createOffer, defaultCapabilities, HeaderExtensionUri, parseSdp, writeSdp,
  type CodecCapability, type LocalCapabilities, type LocalTransportParams, type MediaSection,
  type OfferTransceiver, type OutgoingTrackDesc, type SessionDescriptionModel,
} from '../sdp/index.js';
import { LocalSender } from './local-sender.js';
import { AnswerSenderSlots, type SlotCounts } from './answer-sender-slots.js';
import type { RemoteStream } from './remote-stream.js';
import { RtpDemuxer, type ReceiveConfig } from './rtp-demuxer.js';
import { StageScheduler } from '../stages/stage-scheduler.js';
import {
  bindReceiveChain, bindSendChain,
  type ReceiveStageFactory, type RtpSendStage, type SendStageFactory, type StageContext, type TransportReceiveStage,
  type TransportSendStage,
} from '../stages/rtp-stage.js';
import { nackStage } from '../stages/nack-stage.js';
import { receiverReportStage } from '../stages/receiver-report-stage.js';
import { HeaderStampStage, headerStampStage } from '../stages/header-stamp-stage.js';
import { PacerStage, pacerStage } from '../stages/pacer-stage.js';
import { TwccFeedbackGenerator, type TwccFeedbackOptions } from '../stages/twcc-feedback.js';
import { RembGenerator, type RembGeneratorOptions } from '../stages/remb-generator.js';

export type PeerRole = 'server' | 'client';
export type PeerConnectionState = 'new' | 'connecting' | 'connected' | 'disconnected' | 'failed' | 'closed';

export interface PeerConnectionOptions {
  role: PeerRole;
  mux: UdpMux;
  /** Server role: also a passive ICE-TCP candidate on this listener (RFC 6544). */
  tcpMux?: TcpMux;
  /** Offer only candidates of this transport, when there are any (a client that asked for TCP). */
  candidateTransport?: 'udp' | 'tcp';
  certificate: DtlsCertificate;
  /** Address put in our host candidate. */
  advertisedAddress: string;
  capabilities?: LocalCapabilities;
  /**
   * What we accept on m-lines a remote offer makes `recvonly` (we only send there), when it differs from
   * `capabilities`: one connection that receives the remote's tracks and sends it others' (answer senders).
   */
  sendCapabilities?: LocalCapabilities;
  clock?: Clock;
  logger?: Logger;
  consentTimeoutMs?: number;
  /**
   * Receive stages bound to every incoming stream, in order (default: NACK generation for video, receiver reports).
   * Each PeerConnection builds its own instances from these factories.
   */
  receiveStages?: readonly ReceiveStageFactory[];
  /**
   * Send stages bound to every outgoing stream, in order; the last runs just before encryption (default: the pacer,
   * unlimited until given a rate, then header stamping). A pacer must come before the header-stamp stage.
   */
  sendStages?: readonly SendStageFactory[];
  /**
   * Transport-wide congestion control feedback (RTPFB FMT 15) for every packet the remote stamps with a
   * transport-wide sequence number, sent once the transport-cc header extension is negotiated on an m-line the
   * remote sends on. `false` turns it off (the remote's send-side estimator then gets no feedback).
   */
  twccFeedback?: TwccFeedbackOptions | false;
  /**
   * Receive-side estimation and REMB towards a remote that sends video with abs-send-time and negotiated goog-remb
   * but not transport-cc (`pc.rembFeedback`, created when first negotiated). `false` turns it off.
   */
  rembFeedback?: Omit<RembGeneratorOptions, 'mediaSsrcs'> | false;
  /**
   * For a measuring receiver (a load tester) that need not read every payload: asked per incoming SRTP packet of an
   * already known primary stream without RTP padding whether to authenticate and decrypt it (default: every packet
   * is). A declined packet is not authenticated; its auth tag is cut off and it goes on through transport-wide
   * feedback, the demuxer, its stream's core (sequence numbers, receive statistics) and stages with its payload still
   * encrypted and `meta.isDecrypted` false. First packets of a stream, RTX and padded packets are always decrypted.
   */
  decryptRtp?: (buf: Buffer) => boolean;
}

/** The stages a PeerConnection runs unless told otherwise. */
export const defaultReceiveStages: readonly ReceiveStageFactory[] = [nackStage(), receiverReportStage()];
export const defaultSendStages: readonly SendStageFactory[] = [pacerStage(), headerStampStage()];

export interface PeerConnectionEvents {
  [key: string]: unknown[];
  connectionStateChange: [PeerConnectionState];
  /** A new incoming RTP stream; set its sinks synchronously. */
  remoteStream: [RemoteStream];
  remoteStreamEnded: [RemoteStream];
  /** A data channel opened by the remote. */
  dataChannel: [DataChannel];
  /** Transport-level feedback (REMB, transport-wide CC). */
  transportFeedback: [RtcpPacket];
}

export class PeerConnectionError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.code = code;
  }
}

let ssrcCounter = Math.floor(Math.random() * 0x7fffffff);
function nextSsrc(): number {
  ssrcCounter = (ssrcCounter + 0x9e3779b1) >>> 0;
  return ssrcCounter || 1;
}

export class PeerConnection extends TypedEmitter<PeerConnectionEvents> {
  readonly role: PeerRole;
  readonly cname: string;
  private readonly ice: IceTransport;
  private readonly dtls: DtlsTransport;
  private sctp: SctpTransport | undefined;
  private srtp: SrtpSession | undefined;
  private readonly demux = new RtpDemuxer();
  private readonly capabilities: LocalCapabilities;
  private readonly sendCapabilities: LocalCapabilities | undefined;
  /** Senders our answers place on the remote's recvonly m-lines (addAnswerSender), with what the answer writes. */
  private readonly answerSlots = new AnswerSenderSlots();
  private readonly answerDescs = new Map<LocalSender, OutgoingTrackDesc>();
  private readonly logger: Logger;
  private readonly certificate: DtlsCertificate;
  private readonly transceivers: OfferTransceiver[] = [];
  private readonly senders = new Map<string, LocalSender>();
  private readonly sendersBySsrc = new SsrcMap<LocalSender>();
  /** mids of our m-lines whose sender was removed and whose `inactive` the remote has answered: reusable. */
  private readonly recyclableMids: string[] = [];
  private localDesc: SessionDescriptionModel | undefined;
  private remoteDesc: SessionDescriptionModel | undefined;
  private dataMid: string | undefined;
  private wantsData = false;
  private nextMid = 0;
  private sessionVersion = 1;
  private readonly sessionId = String(Math.floor(Math.random() * 1e15));
  private state: PeerConnectionState = 'new';
  private dtlsStarted = false;
  private iceStarted = false;
  private readonly clock: Clock;
  /** One deadline-driven timer for every stage of this transport. */
  private readonly scheduler: StageScheduler;
  private readonly receiveStages: TransportReceiveStage[];
  private readonly sendStages: TransportSendStage[];
  /** The end of every send chain: encrypt and send. */
  private readonly sendTail: RtpSendStage = { send: (buf: Buffer) => this.sendRtp(buf) };
  /** Our SSRC as the sender of RTCP feedback and reports. */
  readonly rtcpSsrc: number;
  /** Transport-wide feedback towards the remote sender; undefined when turned off in the options. */
  readonly twccFeedback: TwccFeedbackGenerator | undefined;
  private rembGenerator: RembGenerator | undefined;
  private readonly rembOptions: Omit<RembGeneratorOptions, 'mediaSsrcs'> | false;
  private readonly stageContext: StageContext;
  private readonly decryptRtp: ((buf: Buffer) => boolean) | undefined;
  /** Incoming SRTP packets that `decryptRtp` declined (delivered without authentication or decryption). */
  rtpNotDecrypted = 0;

  constructor(opts: PeerConnectionOptions) {
    super();
    this.role = opts.role;
    this.capabilities = opts.capabilities ?? defaultCapabilities;
    this.sendCapabilities = opts.sendCapabilities;
    this.logger = opts.logger ?? silentLogger;
    this.certificate = opts.certificate;
    this.cname = Math.random().toString(36).slice(2, 14);
    const clock = opts.clock ?? systemClock;
    this.clock = clock;
    this.rtcpSsrc = nextSsrc();
    this.scheduler = new StageScheduler({ clock, logger: this.logger });
    const ctx: StageContext = {
      clock,
      logger: this.logger,
      scheduler: this.scheduler,
      localSsrc: this.rtcpSsrc,
      sendRtcp: (packets) => this.sendRtcp(serializeRtcp(packets)),
      sendRtcpBytes: (buf) => this.sendRtcp(buf),
    };
    this.receiveStages = (opts.receiveStages ?? defaultReceiveStages).map((f) => f(ctx));
    this.sendStages = (opts.sendStages ?? defaultSendStages).map((f) => f(ctx));
    const pacer = this.sendStages.find((s) => s instanceof PacerStage);
    const stamp = this.sendStages.find((s) => s instanceof HeaderStampStage);
    if (pacer !== undefined && stamp !== undefined) pacer.setProbeMarker(stamp);
    this.twccFeedback = opts.twccFeedback === false ? undefined : new TwccFeedbackGenerator(ctx, opts.twccFeedback);
    this.demux.transportSeqRecorder = this.twccFeedback;
    this.stageContext = ctx;
    this.rembOptions = opts.rembFeedback ?? {};
    this.decryptRtp = opts.decryptRtp;
    this.ice = new IceTransport({
      mux: opts.mux,
      ...(opts.tcpMux !== undefined ? { tcpMux: opts.tcpMux } : {}),
      ...(opts.candidateTransport !== undefined ? { candidateTransport: opts.candidateTransport } : {}),
      role: opts.role === 'server' ? 'controlled-lite' : 'controlling',
      advertisedAddress: opts.advertisedAddress,
      clock,
      logger: this.logger,
      ...(opts.consentTimeoutMs !== undefined ? { consentTimeoutMs: opts.consentTimeoutMs } : {}),
    });
    this.dtls = new DtlsTransport({
      role: opts.role === 'server' ? 'server' : 'client',
      certificate: opts.certificate,
      srtpProfiles: [SrtpProfile.AEAD_AES_128_GCM, SrtpProfile.AES128_CM_HMAC_SHA1_80],
      send: (buf) => this.ice.send(buf),
      logger: this.logger,
      clock,
    });
    this.ice.onDtls = (buf) => this.dtls.handle(buf);
    this.ice.onRtp = (buf) => this.handleSrtp(buf);
    this.ice.on('stateChange', (s) => this.onIceState(s));
    this.dtls.on('stateChange', (s) => this.onDtlsState(s));
    this.dtls.on('data', (buf) => this.sctp?.handle(buf));
    this.demux.onStream = (stream) => {
      stream.setStages(bindReceiveChain(this.receiveStages, stream, stream));
      this.emit('remoteStream', stream);
    };
    if (opts.role === 'server') this.ice.start();
  }

  get connectionState(): PeerConnectionState {
    return this.state;
  }
  get localDescription(): SessionDescriptionModel | undefined {
    return this.localDesc;
  }
  get remoteDescription(): SessionDescriptionModel | undefined {
    return this.remoteDesc;
  }
  get demuxStats(): RtpDemuxer['stats'] {
    return this.demux.stats;
  }
  /** Incoming SRTP/SRTCP dropped (authentication failures, replays, malformed); undefined before DTLS connected. */
  get srtpStats(): SrtpSession['stats'] | undefined {
    return this.srtp?.stats;
  }
  /** The stage instances of this transport (e.g. to read a stage's counters or send history). */
  get stages(): { receive: readonly TransportReceiveStage[]; send: readonly TransportSendStage[] } {
    return { receive: this.receiveStages, send: this.sendStages };
  }
  /** The transport's pacer (rate, probe clusters), when its send stages have one (the default ones do). */
  get pacer(): PacerStage | undefined {
    return this.sendStages.find((s) => s instanceof PacerStage);
  }
  /**
   * REMB towards the remote sender (receive-side estimate from abs-send-time); undefined until an m-line the remote
   * sends on negotiated goog-remb and abs-send-time without transport-cc, or when turned off in the options.
   */
  get rembFeedback(): RembGenerator | undefined {
    return this.rembGenerator;
  }
  /** Timers this transport's stages hold (0 once closed). */
  get stageTimers(): number {
    return this.scheduler.armedTimers;
  }

  /** The remote m-line with this mid, from the current remote description. */
  remoteMedia(mid: string): MediaSection | undefined {
    return this.remoteDesc?.media.find((m) => m.mid === mid);
  }

  // ---- offer/answer -------------------------------------------------------------------------------

  /**
   * Applies a remote offer and returns our answer (SDP text). `preferCodec` may name, per offered m-line,
   * the mime type we want to receive there; it goes first in the answer. `receiveFmtp` may give, per offered
   * m-line, format parameters to set on our answer's codecs by lower-case mime type (e.g. `audio/opus` ->
   * `usedtx=1`): they tell the remote encoder how to send.
   */
  handleOffer(
    sdp: string,
    opts: {
      preferCodec?: (media: MediaSection) => string | undefined;
      receiveFmtp?: (media: MediaSection) => ReadonlyMap<string, string> | undefined;
    } = {},
  ): string {
    this.assertOpen();
    const offer = parseSdp(sdp);
    this.checkRemoteTransport(offer, 'offer');
    // An offer with new ICE credentials restarts ICE (RFC 8839 section 4.4.1.1.1): our answer carries new ones too.
    if (this.remoteDesc !== undefined && this.isIceRestart(offer)) this.ice.restart();
    const preferred = new Map<string, string>();
    const fmtpParams = new Map<string, ReadonlyMap<string, string>>();
    for (const m of offer.media) {
      const mime = opts.preferCodec?.(m);
      if (mime !== undefined) preferred.set(m.mid, mime);
      const params = opts.receiveFmtp?.(m);
      if (params !== undefined) fmtpParams.set(m.mid, params);
    }
    // Answer senders keep their m-line or take a free recvonly one of their kind (a sender losing its m-line waits).
    const placed = this.answerSlots.assign(offer, (sender) => {
      this.senders.delete(sender.mid);
      sender.isNegotiated = false;
    });
    const senderDescs = new Map<string, OutgoingTrackDesc>();
    for (const [mid, sender] of placed) {
      this.senders.set(mid, sender);
      const desc = this.answerDescs.get(sender);
      if (desc !== undefined) senderDescs.set(mid, desc);
    }
    const answer = createAnswer(offer, {
      transport: this.transportParams(),
      capabilities: this.capabilities,
      ...(this.sendCapabilities !== undefined ? { sendCapabilities: this.sendCapabilities } : {}),
      setup: this.role === 'server' ? 'passive' : 'active',
      preferredReceiveCodecs: preferred,
      receiveFmtpParams: fmtpParams,
      senders: senderDescs,
    });
    answer.sessionId = this.sessionId;
    answer.sessionVersion = this.sessionVersion++;
    this.remoteDesc = offer;
    this.localDesc = answer;
    for (const m of answer.media) {
      const sender = placed.get(m.mid);
      if (sender !== undefined) this.applySenderNegotiation(sender, m);
    }
    this.answerSlots.answered();
    this.applyRemoteTransport(offer);
    this.configureReceive(offer, answer);
    if (offer.media.some((m) => m.kind === 'application' && m.port !== 0)) this.ensureSctp();
    this.startClientIce();
    return writeSdp(answer);
  }

  /**
   * Adds a sending m-line for a track; takes effect with the next offer. `recycle`: reuse an m-line of the same
   * kind whose sender was removed and negotiated away (as pion does), so that a long-lived connection does not
   * grow by one m-line per track it ever sent.
   */
  addSender(opts: {
    kind: 'audio' | 'video'; streamId: string; trackId: string; codec: CodecCapability;
    /** Further codecs offered on the m-line after `codec`, in order; the remote's answer picks the one sent. */
    alternatives?: readonly CodecCapability[];
    ssrc?: number; recycle?: boolean;
    /**
     * Simulcast layers (RFC 8853), low to high, each with its own SSRC (random when not given). The offer lists the
     * rids; the caller writes each layer's SSRC and the mid and rid header extensions into its packets. No RTX.
     */
    simulcast?: readonly { rid: string; ssrc?: number }[];
  }): LocalSender {
    this.assertOpen();
    const reused = opts.recycle === true ? this.takeRecyclable(opts.kind) : undefined;
    const mid = reused?.mid ?? String(this.nextMid++);
    const { sender, desc } = this.newSender(opts, mid);
    if (reused) {
      reused.direction = 'sendonly';
      reused.sender = desc;
    } else {
      this.transceivers.push({ mid, kind: opts.kind, direction: 'sendonly', sender: desc });
    }
    this.senders.set(mid, sender);
    return sender;
  }

  /**
   * Adds a sender for the answering side: it goes out on an m-line the remote offers `recvonly` for its kind (with the
   * next offer that has a free one), and is negotiated by our answer (isNegotiated, isAccepted, payload types). Until
   * then it sends nothing; `answerSenderNeeds` says how many m-lines the remote should add.
   */
  addAnswerSender(opts: { kind: 'audio' | 'video'; streamId: string; trackId: string; codec: CodecCapability; alternatives?: readonly CodecCapability[] }): LocalSender {
    this.assertOpen();
    const { sender, desc } = this.newSender(opts, '');
    this.answerDescs.set(sender, desc);
    this.answerSlots.add(sender);
    return sender;
  }

  /**
   * Answer senders: how many wait for an m-line, how many free recvonly m-lines the last offer has, and whether an
   * offer is needed at all (a sender waits, or a removed sender's m-line must be answered inactive).
   */
  get answerSenderNeeds(): { waiting: SlotCounts; free: SlotCounts; needsOffer: boolean } {
    return { waiting: this.answerSlots.unboundCounts, free: this.answerSlots.freeCounts(this.remoteDesc), needsOffer: this.answerSlots.needsOffer };
  }

  private newSender(
    opts: { kind: 'audio' | 'video'; streamId: string; trackId: string; codec: CodecCapability; alternatives?: readonly CodecCapability[];
      ssrc?: number; simulcast?: readonly { rid: string; ssrc?: number }[] },
    mid: string,
  ): { sender: LocalSender; desc: OutgoingTrackDesc } {
    // A video sender whose codec can have RTX gets an RTX SSRC: the offer pairs them (a=ssrc-group:FID).
    const layers = (opts.simulcast ?? []).map((l) => ({ rid: l.rid, ssrc: l.ssrc ?? nextSsrc() }));
    const hasRtx = layers.length === 0 && opts.kind === 'video' && [opts.codec, ...(opts.alternatives ?? [])].some((c) => c.withRtx === true);
    const sender = new LocalSender({
      kind: opts.kind, streamId: opts.streamId, trackId: opts.trackId, ssrc: opts.ssrc ?? nextSsrc(),
      codec: opts.codec, ...(opts.alternatives ? { alternatives: opts.alternatives } : {}), mid,
      ...(hasRtx ? { rtxSsrc: nextSsrc() } : {}), layers,
      transport: { sendRtp: (b) => this.sendRtp(b), sendRtcp: (b) => this.sendRtcp(b) },
    });
    const desc: OutgoingTrackDesc = {
      kind: opts.kind, streamId: opts.streamId, trackId: opts.trackId, ssrc: sender.ssrc, cname: this.cname, codec: opts.codec,
      codecs: [...sender.codecs],
      ...(sender.rtxSsrc !== undefined ? { rtxSsrc: sender.rtxSsrc } : {}),
      ...(layers.length > 0 ? { rids: layers.map((l) => l.rid) } : {}),
    };
    this.sendersBySsrc.set(sender.ssrc, sender);
    for (const l of layers) this.sendersBySsrc.set(l.ssrc, sender);
    sender.setStages(bindSendChain(this.sendStages, sender, this.sendTail));
    return { sender, desc };
  }

  /**
   * Adds an m-line on which we only receive, offered `recvonly` from the next offer on: room for the answerer to send
   * a track on (livekit-client's pre-created transceivers in single PC mode). Returns its mid.
   */
  addReceiveTransceiver(kind: 'audio' | 'video'): string {
    this.assertOpen();
    const mid = String(this.nextMid++);
    this.transceivers.push({ mid, kind, direction: 'recvonly' });
    return mid;
  }

  /** A transceiver of `kind` that `recyclableMids` names, taken off that list. */
  private takeRecyclable(kind: 'audio' | 'video'): OfferTransceiver | undefined {
    for (let i = 0; i < this.recyclableMids.length; i++) {
      const t = this.transceivers.find((x) => x.mid === this.recyclableMids[i]);
      if (t && t.kind === kind && !t.sender && t.direction === 'inactive') {
        this.recyclableMids.splice(i, 1);
        return t;
      }
    }
    return undefined;
  }

  /** Stops a sender; its m-line becomes inactive with the next offer. */
  removeSender(sender: LocalSender): void {
    if (this.answerSlots.has(sender)) {
      if (sender.mid !== '' && this.senders.get(sender.mid) === sender) this.senders.delete(sender.mid);
      this.answerSlots.remove(sender);
      this.answerDescs.delete(sender);
    } else {
      const t = this.transceivers.find((x) => x.mid === sender.mid);
      if (t) {
        t.direction = 'inactive';
        delete t.sender;
      }
      this.senders.delete(sender.mid);
    }
    sender.stop();
    this.sendersBySsrc.delete(sender.ssrc);
    for (const l of sender.layers) this.sendersBySsrc.delete(l.ssrc);
    for (const stage of this.sendStages) stage.unbindLocalStream(sender);
  }

  /** Creates a data channel (DCEP); the data m-line is added with the next offer if not there yet. */
  createDataChannel(label: string, opts?: { ordered?: boolean; maxRetransmits?: number }): DataChannel {
    this.assertOpen();
    if (this.dataMid === undefined && !this.remoteDesc?.media.some((m) => m.kind === 'application')) {
      this.dataMid = String(this.nextMid++);
    }
    this.wantsData = true;
    return this.ensureSctp().createDataChannel(label, opts);
  }

  /**
   * Creates an offer covering every transceiver and the data m-line; returns SDP text. `iceRestart`: with new ICE
   * credentials (the remote's answer brings its new ones); the DTLS association and SRTP keys are kept.
   */
  createOffer(opts: { iceRestart?: boolean } = {}): string {
    this.assertOpen();
    if (opts.iceRestart === true) this.ice.restart();
    const offer = createOffer({
      transport: this.transportParams(),
      capabilities: this.capabilities,
      transceivers: this.transceivers,
      dataChannel: this.wantsData,
      ...(this.dataMid !== undefined ? { dataMid: this.dataMid } : {}),
      ...(this.localDesc !== undefined ? { previous: this.localDesc } : {}),
      sessionId: this.sessionId,
      sessionVersion: this.sessionVersion++,
    });
    this.localDesc = offer;
    return writeSdp(offer);
  }

  /** Applies the remote answer to our last offer. */
  handleAnswer(sdp: string): void {
    this.assertOpen();
    const offer = this.localDesc;
    if (!offer) throw new PeerConnectionError('pc_no_offer', 'answer without a pending offer');
    const answer = parseSdp(sdp);
    this.checkRemoteTransport(answer, 'answer');
    this.remoteDesc = answer;
    this.applyRemoteTransport(answer);
    for (const m of answer.media) {
      const sender = this.senders.get(m.mid);
      if (sender) this.applySenderNegotiation(sender, m);
    }
    // Our m-lines that this offer/answer made inactive (sender removed, still bundled) can carry a new sender.
    for (const m of offer.media) {
      if (m.kind === 'application' || m.port === 0 || m.direction !== 'inactive' || this.recyclableMids.includes(m.mid)) continue;
      const t = this.transceivers.find((x) => x.mid === m.mid);
      if (t && !t.sender && t.direction === 'inactive') this.recyclableMids.push(m.mid);
    }
    this.configureReceive(answer, offer);
    this.startClientIce();
  }

  /**
   * What an offer/answer settled for one of our senders, from the answer's m-line (theirs when we offered, ours when we
   * answered: its payload types are the offerer's either way). The first codec there that the sender may send is the
   * one it sends.
   */
  private applySenderNegotiation(sender: LocalSender, m: MediaSection): void {
    sender.payloadTypes.clear();
    let chosen: { pt: number; rtxPt: number | undefined; capability: CodecCapability } | undefined;
    if (m.port !== 0) {
      for (const c of m.codecs) {
        const capability = sender.codecs.find((w) => codecsMatch(c, w));
        if (capability === undefined) continue;
        if (!sender.payloadTypes.has(capability.mimeType.toLowerCase())) sender.payloadTypes.set(capability.mimeType.toLowerCase(), c.payloadType);
        chosen ??= { pt: c.payloadType, rtxPt: c.rtxPayloadType, capability };
      }
    }
    if (chosen) {
      sender.payloadType = chosen.pt;
      sender.negotiatedCodec = chosen.capability;
    }
    // RTX only when the answer kept an RTX type for the codec sent (its apt) and we have an RTX SSRC.
    sender.rtxPayloadType = chosen !== undefined && chosen.capability.withRtx === true && sender.rtxSsrc !== undefined
      ? chosen.rtxPt : undefined;
    sender.isNegotiated = true;
    sender.isAccepted = chosen !== undefined;
    sender.headerExtensions = m.headerExtensions;
  }

  /** Our current ICE username fragment (a new one after each restart). */
  get localIceUfrag(): string {
    return this.ice.localUfrag;
  }

  /** ICE restarts begun on this connection (by us or by the remote). */
  get iceRestarts(): number {
    return this.ice.restarts;
  }

  /** An ICE restart is in progress (no pair nominated with the new credentials yet). */
  get isIceRestarting(): boolean {
    return this.ice.isRestarting;
  }

  /** The selected remote address of the ICE transport, if any. */
  get selectedRemote(): { address: string; port: number } | undefined {
    return this.ice.selected;
  }

  addRemoteCandidate(candidate: string): void {
    if (this.state === 'closed') return;
    const c = candidate.startsWith('a=') ? candidate.slice(2) : candidate;
    if (c.trim() === '') return;
    this.ice.addRemoteCandidate(c);
  }

  localCandidates(): string[] {
    return this.ice.localCandidates();
  }

  /** The transport of the selected ICE pair ('tcp' for ICE-TCP), if one is selected. */
  get selectedTransport(): 'udp' | 'tcp' | undefined {
    return this.ice.selectedTransport;
  }

  sendRtcp(buf: Buffer): void {
    const srtp = this.srtp;
    if (!srtp) return;
    const out = srtp.protectRtcp(buf);
    this.ice.send(out);
  }

  close(): void {
    if (this.state === 'closed') return;
    this.setState('closed');
    for (const s of this.senders.values()) s.stop();
    this.senders.clear();
    for (const s of this.answerDescs.keys()) s.stop();
    this.answerSlots.clear();
    this.answerDescs.clear();
    this.sendersBySsrc.clear();
    for (const stream of this.demux.streams()) this.emit('remoteStreamEnded', stream);
    this.demux.close();
    for (const stage of this.receiveStages) stage.close();
    for (const stage of this.sendStages) stage.close();
    this.twccFeedback?.close();
    this.rembGenerator?.close();
    this.scheduler.close();
    this.sctp?.close();
    this.dtls.close();
    this.ice.close();
    this.removeAllListeners();
  }

  // ---- internals ----------------------------------------------------------------------------------

  private sendRtp(buf: Buffer): void {
    const srtp = this.srtp;
    if (!srtp) return;
    // Straight into the socket's send arena when it has one (no buffer allocated per packet), else a new buffer.
    const into = this.ice.reserveSend(buf.length + srtp.rtpOverhead);
    this.ice.send(srtp.protectRtp(buf, into));
  }

  private handleSrtp(buf: Buffer): void {
    const srtp = this.srtp;
    if (!srtp) return;
    // Arrival time as close to the socket as this path gets: before decryption.
    const arrivalMs = this.clock.nowMs();
    if (isRtcpPacket(buf)) {
      const plain = srtp.unprotectRtcp(buf);
      if (plain) this.handleRtcp(plain, arrivalMs);
      return;
    }
    const decrypt = this.decryptRtp;
    if (decrypt !== undefined && (buf[0]! & 0x20) === 0 && buf.length >= 12 && this.demux.streamBySsrc(buf.readUInt32BE(8)) !== undefined && !decrypt(buf)) {
      const clear = srtp.skipRtp(buf);
      if (clear) {
        this.rtpNotDecrypted++;
        this.demux.handleRtp(clear, arrivalMs, false);
      }
      return;
    }
    const plain = srtp.unprotectRtp(buf);
    if (plain) this.demux.handleRtp(plain, arrivalMs);
  }

  private handleRtcp(buf: Buffer, arrivalMs: number): void {
    for (const pkt of parseRtcp(buf)) {
      switch (pkt.type) {
        case 'sr': {
          this.demux.streamBySsrc(pkt.ssrc)?.handleSenderReport(pkt, arrivalMs);
          for (const r of pkt.reports) this.sendersBySsrc.get(r.ssrc)?.onRtcp(pkt);
          break;
        }
        case 'rr':
          for (const r of pkt.reports) this.sendersBySsrc.get(r.ssrc)?.onRtcp(pkt);
          break;
        case 'nack':
        case 'pli':
          this.sendersBySsrc.get(pkt.mediaSsrc)?.onRtcp(pkt);
          break;
        case 'fir':
          for (const e of pkt.entries) this.sendersBySsrc.get(e.ssrc)?.onRtcp(pkt);
          break;
        case 'remb':
        case 'twcc':
          this.emit('transportFeedback', pkt);
          break;
        default:
          break;
      }
    }
  }

  private transportParams(): LocalTransportParams {
    return {
      iceUfrag: this.ice.localUfrag,
      icePwd: this.ice.localPwd,
      iceLite: this.role === 'server',
      fingerprint: this.certificate.fingerprint,
      candidates: this.ice.localCandidates(),
    };
  }

  private checkRemoteTransport(d: SessionDescriptionModel, what: string): void {
    const first = d.media.find((m) => m.port !== 0) ?? d.media[0];
    if (!first) throw new PeerConnectionError('pc_no_media', `${what} has no media sections`);
    if (!first.iceUfrag || !first.icePwd) throw new PeerConnectionError('pc_no_ice', `${what} has no ICE credentials`);
    if (!first.fingerprint) throw new PeerConnectionError('pc_no_fingerprint', `${what} has no DTLS fingerprint`);
    const setup = first.setup;
    if (this.role === 'server' && setup === 'passive') {
      throw new PeerConnectionError('pc_dtls_role', `${what} wants us to be the DTLS client (setup:passive); unsupported`);
    }
    if (this.role === 'client' && setup === 'active') {
      throw new PeerConnectionError('pc_dtls_role', `${what} wants us to be the DTLS server (setup:active); unsupported`);
    }
  }

  /** The remote description has other ICE credentials than the ones we have. */
  private isIceRestart(d: SessionDescriptionModel): boolean {
    const first = d.media.find((m) => m.port !== 0) ?? d.media[0];
    const known = this.ice.remoteIceUfrag;
    return first?.iceUfrag !== undefined && known !== undefined && first.iceUfrag !== known;
  }

  private applyRemoteTransport(d: SessionDescriptionModel): void {
    const first = d.media.find((m) => m.port !== 0) ?? d.media[0]!;
    this.ice.setRemoteCredentials(first.iceUfrag!, first.icePwd!);
    this.dtls.setRemoteFingerprint(first.fingerprint!);
    for (const m of d.media) for (const c of m.candidates) this.ice.addRemoteCandidate(c);
  }

  /** Builds the demuxer configuration from the m-lines on which the remote sends to us. */
  private configureReceive(remote: SessionDescriptionModel, local: SessionDescriptionModel): void {
    const configs: ReceiveConfig[] = [];
    let transportCcId = 0;
    let absSendTimeId = 0;
    for (const m of remote.media) {
      if (m.kind === 'application' || m.port === 0) continue;
      if (m.direction !== 'sendonly' && m.direction !== 'sendrecv') continue;
      const ours = local.media.find((x) => x.mid === m.mid);
      if (!ours || ours.port === 0 || ours.direction === 'inactive' || ours.direction === 'sendonly') continue;
      const accepted = new Set(ours.codecs.map((c) => c.payloadType));
      const codecs = new Map<number, import('../sdp/index.js').CodecParams>();
      const rtx = new Map<number, number>();
      for (const c of m.codecs) {
        if (!accepted.has(c.payloadType)) continue;
        codecs.set(c.payloadType, c);
        if (c.rtxPayloadType !== undefined) rtx.set(c.rtxPayloadType, c.payloadType);
      }
      const extIds = new Map<string, number>();
      for (const e of ours.headerExtensions) extIds.set(e.uri, e.id);
      // One transport-wide sequence space per BUNDLE transport: the id both sides list on a receiving m-line.
      if (transportCcId === 0) {
        const id = extIds.get(HeaderExtensionUri.transportCc);
        if (id !== undefined && m.headerExtensions.some((e) => e.uri === HeaderExtensionUri.transportCc && e.id === id)) transportCcId = id;
      }
      // Receive-side estimation (REMB): video whose codecs list goog-remb on both sides, with abs-send-time both list.
      if (absSendTimeId === 0 && m.kind === 'video' && hasGoogRemb(m) && hasGoogRemb(ours)) {
        const id = extIds.get(HeaderExtensionUri.absSendTime);
        if (id !== undefined && m.headerExtensions.some((e) => e.uri === HeaderExtensionUri.absSendTime && e.id === id)) absSendTimeId = id;
      }
      configs.push({
        mid: m.mid,
        kind: m.kind,
        codecs,
        rtxPayloadTypes: rtx,
        ssrcs: m.ssrcs.map((s) => (s.rtxSsrc !== undefined ? { ssrc: s.ssrc, rtxSsrc: s.rtxSsrc } : { ssrc: s.ssrc })),
        extensionIds: extIds,
      });
    }
    this.twccFeedback?.setExtensionId(transportCcId);
    this.configureRemb(transportCcId === 0 ? absSendTimeId : 0);
    for (const stream of this.demux.configure(configs)) {
      for (const stage of this.receiveStages) stage.unbindRemoteStream(stream);
      this.emit('remoteStreamEnded', stream);
    }
  }

  /**
   * REMB only where transport-cc is not negotiated: a remote that gets transport-wide feedback estimates on its own,
   * and a REMB would only cap it (libwebrtc: packets with a transport-wide number never reach the receive-side estimator).
   */
  private configureRemb(absSendTimeId: number): void {
    if (absSendTimeId !== 0 && this.rembGenerator === undefined && this.rembOptions !== false) {
      this.rembGenerator = new RembGenerator(this.stageContext, { ...this.rembOptions, mediaSsrcs: () => this.incomingVideoSsrcs() });
      this.demux.absSendTimeRecorder = this.rembGenerator;
    }
    this.rembGenerator?.setExtensionId(absSendTimeId);
  }

  /** Media SSRCs of the incoming video streams (once per REMB, not per packet). */
  private incomingVideoSsrcs(): number[] {
    const out: number[] = [];
    for (const s of this.demux.streams()) if (s.kind === 'video' && !s.isClosed) out.push(s.ssrc);
    return out;
  }

  private ensureSctp(): SctpTransport {
    if (!this.sctp) {
      this.sctp = new SctpTransport({
        isDtlsClient: this.role === 'client',
        send: (buf) => this.dtls.sendData(buf),
        logger: this.logger,
      });
      this.sctp.on('dataChannel', (ch) => this.emit('dataChannel', ch));
      if (this.dtls.state === 'connected') this.sctp.start();
    }
    return this.sctp;
  }

  /** The controlling (client) agent starts its checks once the remote credentials are known. */
  private startClientIce(): void {
    if (this.role === 'client' && !this.iceStarted) {
      this.iceStarted = true;
      this.ice.start();
    }
  }

  private onIceState(s: IceState): void {
    if (s === 'checking' && this.state === 'new') this.setState('connecting');
    if (s === 'connected') {
      if (this.role === 'client' && !this.dtlsStarted) {
        this.dtlsStarted = true;
        this.dtls.start();
      }
      // Back from disconnected, or from failed after an ICE restart (DTLS and SRTP kept).
      if ((this.state === 'disconnected' || this.state === 'failed') && this.srtp) this.setState('connected');
      else if (this.state === 'new') this.setState('connecting');
    }
    if (s === 'disconnected' && this.state === 'connected') this.setState('disconnected');
    if (s === 'failed') this.setState('failed');
  }

  private onDtlsState(s: DtlsState): void {
    if (s === 'connected') {
      const profile = this.dtls.srtpProfile as SrtpProfileId | undefined;
      if (profile === undefined) {
        this.logger.warn('DTLS connected without an SRTP profile');
        this.setState('failed');
        return;
      }
      const material = this.dtls.exportKeyingMaterial('EXTRACTOR-dtls_srtp', srtpExporterLength(profile));
      this.srtp = new SrtpSession(srtpKeysFromExporter(profile, material, this.role === 'client'));
      this.sctp?.start();
      this.setState('connected');
    } else if (s === 'failed') {
      this.setState('failed');
    }
  }

  private setState(s: PeerConnectionState): void {
    if (this.state === s || this.state === 'closed') return;
    this.state = s;
    this.emit('connectionStateChange', s);
  }

  private assertOpen(): void {
    if (this.state === 'closed') throw new PeerConnectionError('pc_closed', 'peer connection is closed');
  }
}

function hasGoogRemb(m: MediaSection): boolean {
  return m.codecs.some((c) => c.rtcpFeedback.some((f) => f.type === 'goog-remb'));
}
