// The media side of one participant: in LiveKit signalling v0 a publisher peer connection (the client offers, we
// answer) and a subscriber peer connection (we offer, the client answers); in v1 the client's one peer connection,
// on which it offers and we answer, carries both (docs/signal-v1.md). The signalling and
// room logic (signal/, rtc/) drive it through this interface; the WebRTC implementation lives behind it.
import type { TypedEmitter, Logger } from '@atrium/webrtc';
import type { StreamQualitySample } from './connection-quality.js';
import type { StreamStateChange, TrackSettings } from '../sfu/subscriber-session.js';
import type { LayerSpec } from '../sfu/video-layers.js';

export type { StreamStateChange, TrackSettings } from '../sfu/subscriber-session.js';

/** LiveKit's SignalTarget: PUBLISHER = 0, SUBSCRIBER = 1. */
export const SignalTarget = { PUBLISHER: 0, SUBSCRIBER: 1 } as const;
export type SignalTargetValue = (typeof SignalTarget)[keyof typeof SignalTarget];

export type DataKind = 'reliable' | 'lossy';
export type MediaKind = 'audio' | 'video';
/** Why a subscription could not be bound: the subscriber's answer accepted none of the track's codec. */
export type SubscriptionBindError = 'codec_unsupported';
export type TransportState = 'new' | 'connecting' | 'connected' | 'disconnected' | 'failed' | 'closed';

/** A source of media that subscribers can attach to: the SFU receiver of one published track. */
export interface MediaTrackSource {
  readonly kind: MediaKind;
  /** e.g. 'audio/opus', 'video/VP8', 'video/H264'. */
  readonly mimeType: string;
  setMuted(muted: boolean): void;
  /** Audio: the smoothed speaking level (0..1) at `nowMs`, 0 when not speaking. */
  speakingLevel?(nowMs: number): number;
  /** Publisher-side receive counters for connection quality (key left to the caller). */
  receiveQuality?(): StreamQualitySample | undefined;
  /** Video: the layers the publisher announced (TrackInfo) and the track size, once the track is published. */
  setVideoLayers?(layers: readonly LayerSpec[], width: number, height: number): void;
  /** Video: the backup codecs the track announced (TrackInfo.codecs after the primary). */
  setBackupCodecs?(codecs: readonly { mimeType: string; layers: readonly LayerSpec[] }[]): void;
  /** `source` (media on another m-line) is this track's backup codec, now published. */
  addBackupCodec?(source: MediaTrackSource): void;
  /** Audio: what the publisher's TrackInfo says about the track, once it is published (what subscribers are offered). */
  setAudioFeatures?(features: { isStereo: boolean; isRedDisabled: boolean; isEncrypted: boolean }): void;
}

/** Emitted when media for a publisher m-line starts to arrive. */
export interface PublishedMediaTrack {
  /** Second token of `a=msid` on the m-line: equals the AddTrackRequest cid for browsers. */
  readonly msidTrackId: string;
  readonly msidStreamId: string;
  readonly mid: string;
  readonly kind: MediaKind;
  readonly mimeType: string;
  /** Simulcast rids offered on the m-line; empty when not simulcast. */
  readonly rids: readonly string[];
  readonly source: MediaTrackSource;
}

export interface SessionDescriptionMessage {
  sdp: string;
  id: number;
  midToTrackId: Record<string, string>;
}

export interface ParticipantMediaEvents {
  [key: string]: unknown[];
  /** A new offer on the subscriber PC, to be sent as SignalResponse.offer. */
  subscriberOffer: [SessionDescriptionMessage];
  /**
   * Single PC (v1): subscribed tracks wait for m-lines on the client's PC, or one must go inactive; to be sent as
   * SignalResponse.media_sections_requirement (the client adds that many recvonly m-lines and offers again).
   */
  mediaSectionsRequirement: [{ numAudios: number; numVideos: number }];
  /** A local ICE candidate, to be sent as SignalResponse.trickle (candidateInit is RTCIceCandidateInit JSON). */
  iceCandidate: [{ candidateInit: string; target: SignalTargetValue }];
  /** A DataPacket (protobuf bytes) received on `_reliable` or `_lossy` from this participant. */
  data: [{ payload: Uint8Array; kind: DataKind }];
  trackPublished: [PublishedMediaTrack];
  /** The m-line stopped sending (removed by renegotiation) or the transport closed. */
  trackEnded: [{ mid: string; msidTrackId: string }];
  connectionState: [{ target: SignalTargetValue; state: TransportState }];
  /** The subscriber answered the m-line of a subscription: media flows from now on, or `error` says why not. */
  subscriptionBound: [{ trackSid: string; error: SubscriptionBindError | undefined }];
  /** Forwarding of subscribed video tracks paused or resumed (StreamStateUpdate to this participant). */
  streamStates: [StreamStateChange[]];
  /**
   * Dynacast: the highest quality subscribers need of one of this participant's published video tracks changed, per
   * codec (lower-case mime type -> VideoQuality, OFF = none): SubscribedQualityUpdate to this participant.
   */
  subscribedQuality: [{ mid: string; msidTrackId: string; qualities: ReadonlyMap<string, number> }];
  /** The media side is gone for good (its media worker died): the participant must rejoin to get media again. */
  mediaLost: [{ reason: string }];
}

export interface ParticipantMedia extends TypedEmitter<ParticipantMediaEvents> {
  /**
   * Applies a publisher offer and returns the answer (same id). Rejects with a coded error on bad SDP.
   * `codecByTrackId` maps an m-line's msid track id (the AddTrackRequest cid) to the mime type the client
   * asked to publish with (audio: `audio/red` unless the track disabled RED); the answer puts that codec first so
   * the client sends it. `opusParamsByTrackId` gives the Opus format parameters the answer sets on that m-line
   * (`usedtx=1`, `stereo=1;maxaveragebitrate=510000`): the client's encoder follows them.
   */
  handlePublisherOffer(
    sdp: string,
    id: number,
    opts?: { codecByTrackId?: ReadonlyMap<string, string>; opusParamsByTrackId?: ReadonlyMap<string, string> },
  ): Promise<SessionDescriptionMessage>;
  handleSubscriberAnswer(sdp: string, id: number): void;
  addRemoteCandidate(candidateInit: string, target: SignalTargetValue): void;
  /**
   * After a resume (docs/resume.md): a new subscriber offer with new ICE credentials (an ICE restart on the same
   * transport, DTLS kept) covering every current subscription; an offer still waiting for its answer is superseded.
   * The publisher PC restarts when the client's next offer carries new credentials. Optional for test doubles.
   */
  restartIce?(): void;
  /**
   * SimulateScenario subscriber_bandwidth: the subscriber's layers follow `bps` instead of the bandwidth estimate
   * (0 clears it). Optional for test doubles.
   */
  setSubscriberCapacityOverride?(bps: number): void;
  /** Creates the subscriber PC with `_reliable`, `_lossy` and `_data_track` channels and emits the first offer. */
  startSubscriber(): void;
  /** Adds a sendonly m-line for the track (msid `publisherSid|trackSid trackSid`) and renegotiates. */
  subscribe(source: MediaTrackSource, opts: { publisherSid: string; trackSid: string }): void;
  unsubscribe(trackSid: string): void;
  /** What the subscriber asked for one of its subscribed tracks (UpdateTrackSettings); unknown sids are ignored. */
  updateTrackSettings(trackSid: string, settings: TrackSettings): void;
  /** Sends a DataPacket (protobuf bytes) on the matching channel of the subscriber PC. */
  sendData(payload: Uint8Array, kind: DataKind): void;
  /** Subscriber-side counters (from receiver reports) of every subscribed track, for connection quality. */
  subscriptionQuality?(): StreamQualitySample[];
  /** This participant as a subscriber under congestion control (metrics); undefined when it has no estimate. */
  congestionState?(): SubscriberCongestionState | undefined;
  /** Idempotent; ends every track, closes both PCs, frees every timer and mux registration. */
  close(): void;
}

export interface MediaResources {
  /** ParticipantMedia instances not yet closed. */
  sessions: number;
  /** ICE registrations (ufrags and bound remote addresses) on the UDP socket, plus open ICE-TCP connections. */
  udpRegistrations: number;
}

export interface MediaFactory {
  /** `isAdaptiveStream`: the client connected with adaptive_stream=1 (its video subscriptions start at LOW). */
  createParticipantMedia(opts: {
    participantSid: string; identity: string; logger: Logger; isAdaptiveStream?: boolean;
    /** The client's subscriber_allow_pause (overrides rtc.congestion_control.allow_pause for it). */
    subscriberAllowPause?: boolean;
    /** The participant's room: media workers keep a room's participants together (media-worker/). */
    roomName?: string;
    /** What the participant's log lines carry (room, participant, sids), for a logger made in another thread. */
    logBindings?: Record<string, string>;
    /** Offer only ICE candidates of this protocol (the client asked for it with SimulateScenario, force-tcp). */
    candidateProtocol?: 'tcp';
    /** Signalling v1: the client's one PC carries its subscriptions too (no subscriber PC, no server offers). */
    isSinglePeerConnection?: boolean;
  }): ParticipantMedia;
  /** What is held right now: everything returns to zero when every participant has left. */
  resources(): MediaResources;
  close(): Promise<void>;
}

/** A subscriber's bandwidth estimate and what its stream allocator made of it. */
export interface SubscriberCongestionState {
  /** The send-side estimate, bps (Infinity before the first one). */
  estimateBps: number;
  /** What its video targets cost, and what its audio took, bps. */
  allocatedBps: number;
  audioBps: number;
  /** Video tracks paused for lack of bandwidth, and those held below the requested layer. */
  pausedTracks: number;
  deficientTracks: number;
}
