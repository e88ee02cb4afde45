// A published track as a MediaTrackSource: the SFU receiver plus what subscribers need to know of the
// publisher's negotiation (codec, payload types, header-extension ids) and of its TrackInfo (stereo, RED). Also the
// codec/extension policy of both PCs, and the codecs offered to a subscriber of a track.
import {
  audioRedCapability, defaultCapabilities, HeaderExtensionUri, withFmtpParams, type CodecCapability, type CodecParams,
  type HeaderExtension, type LocalCapabilities,
} from '@atrium/webrtc';
import type { LocalSender } from '@atrium/webrtc/pc/local-sender.js';
import type { RemoteStream } from '@atrium/webrtc/pc/remote-stream.js';
import type { Clock } from '@atrium/webrtc';
import type { Receiver } from '../sfu/receiver.js';
import { DynacastController, type DynacastSink } from '../sfu/dynacast.js';
import type { LayerSpec, QualityValue } from '../sfu/video-layers.js';
import type { MediaKind, MediaTrackSource } from './participant-media.js';
import type { StreamQualitySample } from './connection-quality.js';
import type { PublishCodecs } from './publish-codecs.js';

/**
 * What we accept from publishers: Opus and RED of Opus (which the answer puts first for a track that did not disable
 * RED), the video codecs, and the extensions we read (mid/rid for demux, audio level, transport-wide sequence numbers
 * for the feedback that drives the publisher's send-side estimator) and pass on. Like LiveKit's publisher media
 * engine, transport-cc is taken on video only: audio stays out of the browser's estimate and keeps its own bitrate.
 * A video m-line offered without transport-cc gets abs-send-time instead, for the receive-side estimate behind REMB
 * (goog-remb is in the video rtcp-fb); never forwarded to subscribers (`transportOnly`).
 */
export const publisherCapabilities: LocalCapabilities = {
  audio: [...defaultCapabilities.audio, audioRedCapability],
  video: defaultCapabilities.video,
  headerExtensions: {
    audio: [HeaderExtensionUri.sdesMid, HeaderExtensionUri.audioLevel],
    video: [
      HeaderExtensionUri.sdesMid, HeaderExtensionUri.rtpStreamId, HeaderExtensionUri.repairedRtpStreamId,
      HeaderExtensionUri.videoOrientation, HeaderExtensionUri.dependencyDescriptor, HeaderExtensionUri.transportCc,
      HeaderExtensionUri.absSendTime,
    ],
  },
  // abs-send-time only for a client that does not offer transport-cc (REMB from our receive-side estimate): Chromium
  // and livekit-client offer both and their answers stay as they were, without 4 more bytes on every video packet.
  extensionsSupersededBy: { [HeaderExtensionUri.absSendTime]: HeaderExtensionUri.transportCc },
};

/** The publisher capabilities narrowed to the enabled codecs (room.enabled_codecs). */
export function publisherCapabilitiesFor(codecs: PublishCodecs): LocalCapabilities {
  return { ...publisherCapabilities, audio: codecs.filter(publisherCapabilities.audio), video: codecs.filter(publisherCapabilities.video) };
}

/** What we offer subscribers: SSRC-signalled m-lines, so no MID/RID; only extensions we forward as-is. */
export const subscriberCapabilities: LocalCapabilities = {
  audio: [...defaultCapabilities.audio, audioRedCapability],
  video: defaultCapabilities.video,
  // transport-wide-cc on every m-line: the subscriber's feedback drives our send-side bandwidth estimate (audio is
  // stamped only while the subscriber also receives video: SubscriberSession).
  headerExtensions: {
    audio: [HeaderExtensionUri.audioLevel, HeaderExtensionUri.transportCc],
    video: [HeaderExtensionUri.videoOrientation, HeaderExtensionUri.dependencyDescriptor, HeaderExtensionUri.transportCc],
  },
};

/**
 * `caps` without transport-wide-cc (rtc.congestion_control.enabled: false): with no estimator to read it, every packet
 * would be stamped and the subscriber would send feedback on it for nothing.
 */
export function withoutTransportCc(caps: LocalCapabilities): LocalCapabilities {
  const dropUri = (uris: readonly string[]): string[] => uris.filter((u) => u !== HeaderExtensionUri.transportCc);
  const dropFeedback = (codec: CodecCapability): CodecCapability => ({ ...codec, rtcpFeedback: codec.rtcpFeedback.filter((f) => f.type !== 'transport-cc') });
  return {
    ...caps,
    audio: caps.audio.map(dropFeedback),
    video: caps.video.map(dropFeedback),
    headerExtensions: { audio: dropUri(caps.headerExtensions.audio), video: dropUri(caps.headerExtensions.video) },
  };
}

/** `caps` without RED (room.enabled_codecs leaves out audio/red): publishers send, subscribers get, plain Opus. */
export function withoutRed(caps: LocalCapabilities): LocalCapabilities {
  return { ...caps, audio: caps.audio.filter((c) => !isRedMime(c.mimeType)) };
}

export function isRedMime(mimeType: string): boolean {
  return mimeType.toLowerCase() === 'audio/red';
}

/** Extensions that are meaningful only on the publisher's transport and are never forwarded. */
const transportOnly = new Set<string>([
  HeaderExtensionUri.sdesMid, HeaderExtensionUri.rtpStreamId, HeaderExtensionUri.repairedRtpStreamId,
  HeaderExtensionUri.transportCc, HeaderExtensionUri.absSendTime,
]);

/** Quality rank of a simulcast layer by rid, as livekit-client names them: q < h < f. */
export function ridRank(rid: string | undefined): number {
  if (rid === undefined) return 0;
  if (rid === 'q') return 1;
  if (rid === 'h') return 2;
  return 3; // 'f', and livekit-client maps any other rid to HIGH too
}

/**
 * Spatial index of a simulcast stream: its rid's position among the m-line's rids sorted low to high (q, h, f), so two
 * layers q/h are 0/1 whatever their names (LiveKit's RidToSpatialLayer with the layers present).
 */
export function spatialForRid(rid: string | undefined, rids: readonly string[]): number {
  if (rid === undefined || rids.length <= 1) return 0;
  const sorted = [...rids].sort((a, b) => ridRank(a) - ridRank(b));
  return Math.max(0, sorted.indexOf(rid));
}

export interface PublishedTrackSourceOptions {
  receiver: Receiver;
  kind: MediaKind;
  codec: CodecParams;
  /** Payload types the publisher's m-line negotiated, by lower-case mime type (RED's Opus among them). */
  payloadTypes?: ReadonlyMap<string, number>;
  publisherExtensions: HeaderExtension[];
  /** Simulcast rids offered on the m-line (empty without simulcast). */
  rids?: readonly string[];
  clock: Clock;
  /** Dynacast downgrade delay (video.dynacast_pause_delay). */
  dynacastPauseDelayMs?: number;
  /** The committed max quality per codec changed: tell the publisher (SubscribedQualityUpdate). */
  onSubscribedQuality?: (qualities: ReadonlyMap<string, QualityValue>) => void;
  /**
   * A mirror of a track published on another media worker: its subscribers' needs go to this relay of the publisher's
   * dynacast instead of a controller of its own.
   */
  dynacast?: DynacastSink;
}

export class PublishedTrackSource implements MediaTrackSource {
  readonly kind: MediaKind;
  readonly codec: CodecParams;
  readonly receiver: Receiver;
  readonly publisherExtensions: readonly HeaderExtension[];
  readonly payloadTypes: ReadonlyMap<string, number>;
  readonly rids: readonly string[];
  /** Audio: what the publisher's TrackInfo says (stereo, RED disabled, encrypted); set when the track is bound. */
  audioFeatures: AudioFeatures = { isStereo: false, isRedDisabled: false, isEncrypted: false };
  /** The layers the publisher announced (TrackInfo) and the track's size; set when the track is bound. */
  videoLayers: readonly LayerSpec[] = [];
  width = 0;
  height = 0;
  private readonly upstreams: RemoteStream[] = [];
  /** Video: what subscribers need of this track, for the publisher (null for audio); shared with its backup codecs. */
  private dynacastController: DynacastSink | null;
  /** Backup codecs the track announced (TrackInfo.codecs after the primary), with their layers. */
  private announcedBackups: { mimeType: string; layers: readonly LayerSpec[] }[] = [];
  /** Backup codecs being published now, by lower-case mime type (each its own receiver). */
  private readonly backups = new Map<string, PublishedTrackSource>();
  private readonly backupListeners = new Set<(mimeType: string) => void>();
  /** Set when this source is a backup codec of another track's source. */
  private primary: PublishedTrackSource | undefined;

  constructor(opts: PublishedTrackSourceOptions) {
    this.receiver = opts.receiver;
    this.kind = opts.kind;
    this.codec = opts.codec;
    this.publisherExtensions = opts.publisherExtensions;
    this.payloadTypes = opts.payloadTypes ?? new Map([[opts.codec.mimeType.toLowerCase(), opts.codec.payloadType]]);
    this.rids = opts.rids ?? [];
    if (opts.kind === 'audio') {
      const audioLevel = opts.publisherExtensions.find((e) => e.uri === HeaderExtensionUri.audioLevel);
      if (audioLevel) this.receiver.setAudioLevelExtensionId(audioLevel.id);
    } else {
      const dd = opts.publisherExtensions.find((e) => e.uri === HeaderExtensionUri.dependencyDescriptor);
      if (dd) this.receiver.setDependencyDescriptorId(dd.id);
    }
    const onUpdate = opts.onSubscribedQuality;
    this.dynacastController =
      opts.kind !== 'video'
        ? null
        : opts.dynacast ?? new DynacastController({
            clock: opts.clock,
            ...(opts.dynacastPauseDelayMs !== undefined ? { pauseDelayMs: opts.dynacastPauseDelayMs } : {}),
            layersFor: (mime) => this.layersFor(mime),
            onUpdate: (q) => onUpdate?.(q),
          });
    // The primary codec first: SubscribedQualityUpdate lists it first (and its deprecated flat list is the primary's).
    this.dynacastController?.addCodec(opts.codec.mimeType);
  }

  get dynacast(): DynacastSink | null {
    return this.dynacastController;
  }

  /** The announced layers of one of the track's codecs (the primary's own, a backup's). */
  private layersFor(mimeType: string): readonly LayerSpec[] {
    const mime = mimeType.toLowerCase();
    if (mime === this.codec.mimeType.toLowerCase()) return this.videoLayers;
    return this.backups.get(mime)?.videoLayers ?? this.announcedBackups.find((b) => b.mimeType.toLowerCase() === mime)?.layers ?? this.videoLayers;
  }

  // ---- backup codecs (a second encoding of the same track, published when a subscriber cannot decode the primary) ----

  /** The backup codecs the publisher announced (they are published later, when a subscriber needs one). */
  setBackupCodecs(codecs: readonly { mimeType: string; layers: readonly LayerSpec[] }[]): void {
    this.announcedBackups = [...codecs];
    for (const b of codecs) this.dynacastController?.addCodec(b.mimeType);
  }

  get backupMimeTypes(): string[] {
    return this.announcedBackups.map((b) => b.mimeType);
  }

  /** The source of one of the track's codecs: this one for the primary, a published backup, or undefined (not yet). */
  sourceFor(mimeType: string): PublishedTrackSource | undefined {
    // Audio has one source: RED and Opus translate into each other per subscriber (red-translator.ts).
    if (this.kind === 'audio') return this;
    const mime = mimeType.toLowerCase();
    return mime === this.codec.mimeType.toLowerCase() ? this : this.backups.get(mime);
  }

  /** The publisher started sending a backup codec of this track: subscribers waiting for it can start. */
  addBackupCodec(source: MediaTrackSource): void {
    if (!(source instanceof PublishedTrackSource) || source === this) return;
    const mime = source.mimeType.toLowerCase();
    source.shareDynacastOf(this);
    this.backups.set(mime, source);
    for (const listener of [...this.backupListeners]) listener(mime);
  }

  removeBackupCodec(mimeType: string): void {
    this.backups.delete(mimeType.toLowerCase());
  }

  /** Calls `listener(mime)` whenever a backup codec starts; returns the function that removes it. */
  onBackupAdded(listener: (mimeType: string) => void): () => void {
    this.backupListeners.add(listener);
    return () => this.backupListeners.delete(listener);
  }

  /** This source is a backup codec of `primary`: one dynacast for the track, reporting every codec. */
  private shareDynacastOf(primary: PublishedTrackSource): void {
    this.primary = primary;
    if (this.dynacastController === primary.dynacastController) return;
    this.dynacastController?.close();
    this.dynacastController = primary.dynacastController;
  }

  /** The announced layers and size (from the bound TrackInfo): subscribers' sizes and qualities map onto them. */
  setVideoLayers(layers: readonly LayerSpec[], width: number, height: number): void {
    this.videoLayers = layers;
    this.width = width;
    this.height = height;
  }

  setAudioFeatures(features: AudioFeatures): void {
    this.audioFeatures = { ...features };
  }

  speakingLevel(nowMs: number): number {
    const meter = this.receiver.audioLevel;
    return meter === null || this.receiver.isMuted ? 0 : meter.speakingLevel(nowMs);
  }

  /** Receive counters summed over the track's streams (simulcast layers); worst jitter. */
  receiveQuality(): StreamQualitySample {
    let expected = 0;
    let lost = 0;
    let jitterMs = 0;
    let lastRtcpMs = -Infinity;
    for (const s of this.upstreams) {
      const st = s.stats;
      expected += st.packetsReceived + st.packetsLost;
      lost += st.packetsLost;
      if (st.jitterMs > jitterMs) jitterMs = st.jitterMs;
      if (s.senderReport !== undefined && s.senderReport.receivedAtMs > lastRtcpMs) lastRtcpMs = s.senderReport.receivedAtMs;
    }
    return {
      key: '', side: 'publisher', kind: this.kind, mimeType: this.codec.mimeType, packetsExpected: expected, packetsLost: lost,
      jitterMs, rttMs: 0, lastRtcpMs, isMuted: this.receiver.isMuted, layerBitrateBps: this.receiver.layers().bitrateBps,
    };
  }

  get mimeType(): string {
    return this.codec.mimeType;
  }

  /**
   * Feeds the receiver from this incoming stream (one of the track's simulcast layers): the first stream is the
   * receiver's own; later ones (other rids) are added to it.
   */
  attach(stream: RemoteStream): void {
    const receiver = this.receiver;
    if (this.upstreams.length > 0) {
      receiver.addStream({ ssrc: stream.ssrc, spatial: spatialForRid(stream.rid, this.rids), upstream: stream });
    }
    this.upstreams.push(stream);
    stream.onRtp = (buf, h, meta) => receiver.writeRtp(buf, h, meta);
    stream.onRtcp = (pkt) => receiver.handleRtcp([pkt]);
  }

  setMuted(muted: boolean): void {
    this.receiver.setMuted(muted);
  }

  close(): void {
    // A backup shares its primary's dynacast: only the primary closes it.
    if (this.primary === undefined) this.dynacastController?.close();
    else this.primary.removeBackupCodec(this.mimeType);
    this.backupListeners.clear();
    this.receiver.close();
  }
}

/** The audio facts of a published track that change what its subscribers are offered. */
export interface AudioFeatures {
  /** TF_STEREO or AddTrackRequest.stereo: subscribers are offered Opus with sprop-stereo (and stereo). */
  isStereo: boolean;
  /** AddTrackRequest.disable_red: never RED-encoded for subscribers. */
  isRedDisabled: boolean;
  /** End-to-end encrypted: the payload is opaque, so RED is never translated to or from Opus. */
  isEncrypted: boolean;
}

/** The codecs offered to a subscriber of `source`, in order: the first one it accepts is what it gets. */
export interface SubscriberCodecs {
  codec: CodecCapability;
  alternatives: CodecCapability[];
  /** Redundant frames when plain Opus is RED-encoded for a subscriber that takes RED (0: never). */
  redEncodingRedundancy: number;
}

/** LiveKit's RED encoder repeats two earlier frames (pkg/sfu/redreceiver.go). */
export const ACTIVE_RED_REDUNDANCY = 2;

/**
 * Audio: a RED track is offered RED then Opus (the subscriber that refuses RED gets the primary frames); a plain Opus
 * track is offered Opus only, or RED then Opus with `activeRedEncoding` unless its publisher disabled RED. A stereo
 * track's Opus carries `stereo=1;sprop-stereo=1` (livekit-client then answers stereo=1 and decodes both channels).
 * Encrypted tracks keep their own codec only. Video: the track's codec, then its backup codecs.
 */
export function subscriberCodecsFor(source: PublishedTrackSource, opts: { activeRedEncoding: boolean; isRedEnabled?: boolean }): SubscriberCodecs {
  if (source.kind !== 'audio') {
    // The track's backup codecs follow the primary: a subscriber that cannot decode the primary takes one of them, and
    // the publisher is asked to send it (dynacast).
    const alternatives = source.backupMimeTypes.flatMap((mime) => subscriberCodecForMime(mime) ?? []);
    return { codec: subscriberCodecFor(source), alternatives, redEncodingRedundancy: 0 };
  }
  const features = source.audioFeatures;
  const base = subscriberCapabilities.audio.find((c) => c.mimeType.toLowerCase() === 'audio/opus') ?? defaultCapabilities.audio[0]!;
  const opus: CodecCapability = { ...base };
  if (features.isStereo) opus.fmtp = withFmtpParams(base.fmtp, 'stereo=1;sprop-stereo=1');
  if (isRedMime(source.mimeType)) {
    return { codec: audioRedCapability, alternatives: features.isEncrypted ? [] : [opus], redEncodingRedundancy: 0 };
  }
  const encodes = opts.activeRedEncoding && opts.isRedEnabled !== false && !features.isRedDisabled && !features.isEncrypted;
  return encodes
    ? { codec: audioRedCapability, alternatives: [opus], redEncodingRedundancy: ACTIVE_RED_REDUNDANCY }
    : { codec: opus, alternatives: [], redEncodingRedundancy: 0 };
}

/** The codec we offer a subscriber for a source: its mime type and parameters, our payload type. */
export function subscriberCodecFor(source: PublishedTrackSource): CodecCapability {
  const list = source.kind === 'audio' ? subscriberCapabilities.audio : subscriberCapabilities.video;
  const mime = source.codec.mimeType.toLowerCase();
  const base = list.find((c) => c.mimeType.toLowerCase() === mime);
  const cap: CodecCapability = {
    mimeType: base?.mimeType ?? source.codec.mimeType,
    clockRate: source.codec.clockRate,
    rtcpFeedback: base?.rtcpFeedback ?? source.codec.rtcpFeedback,
    preferredPayloadType: base?.preferredPayloadType ?? source.codec.payloadType,
    // Video gets an RTX stream (RFC 4588): retransmissions and probe padding go there, not on the media SSRC.
    withRtx: source.kind === 'video' && (base?.withRtx ?? false),
  };
  if (source.codec.channels !== undefined) cap.channels = source.codec.channels;
  const fmtp = source.codec.fmtp ?? base?.fmtp;
  if (fmtp !== undefined) cap.fmtp = fmtp;
  return cap;
}

/** What we offer a subscriber for a codec a track may be sent in later (a backup codec): our own parameters. */
export function subscriberCodecForMime(mimeType: string): CodecCapability | undefined {
  const mime = mimeType.toLowerCase();
  const list = mime.startsWith('audio/') ? subscriberCapabilities.audio : subscriberCapabilities.video;
  const base = list.find((c) => c.mimeType.toLowerCase() === mime);
  return base === undefined ? undefined : { ...base };
}

/** Codecs whose layers the dependency descriptor describes and whose subscribers get it (LiveKit: AV1, VP9). */
function forwardsDependencyDescriptor(mimeType: string): boolean {
  const m = mimeType.toLowerCase();
  return m === 'video/av1' || m === 'video/vp9';
}

/**
 * idMap[publisherId] = subscriberId (0 = drop) for the down track's header-extension rewriting. The dependency
 * descriptor goes only with AV1/VP9: libwebrtc attaches it to VP8 and H.264 too once negotiated, but their layers are
 * read from their own payload descriptors, and a descriptor describing frames we drop would mislead the subscriber.
 */
export function extensionIdMap(publisher: readonly HeaderExtension[], sender: LocalSender, mimeType: string): Uint8Array {
  const map = new Uint8Array(256);
  for (const e of publisher) {
    if (e.id <= 0 || e.id > 255) continue;
    // The publisher's transport-wide sequence number is of its own transport; its slot carries ours (the subscriber
    // transport's send stage stamps it), so keep the element when the subscriber negotiated it.
    if (transportOnly.has(e.uri) && e.uri !== HeaderExtensionUri.transportCc) continue;
    if (e.uri === HeaderExtensionUri.dependencyDescriptor && !forwardsDependencyDescriptor(mimeType)) continue;
    map[e.id] = sender.extensionId(e.uri);
  }
  return map;
}
