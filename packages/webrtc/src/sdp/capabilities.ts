// What we can send and receive: codecs, RTP header extensions (RFC 8285) and their ids in our offers,
// and the local transport parameters (ICE, DTLS fingerprint) written into every offer and answer.
import type { CodecParams, Direction, RtcpFeedback } from './sdp-model.js';

export interface CodecCapability {
  mimeType: string;
  clockRate: number;
  channels?: number;
  fmtp?: string;
  rtcpFeedback: RtcpFeedback[];
  withRtx?: boolean;
  preferredPayloadType: number;
}

export interface LocalCapabilities {
  audio: CodecCapability[];
  video: CodecCapability[];
  /** header extension URIs we accept */
  headerExtensions: { audio: string[]; video: string[] };
  /**
   * URI -> a URI that supersedes it: an answer accepts the first only on m-lines whose offer does not also carry the
   * second where we accept that too (e.g. abs-send-time only without transport-wide-cc). Offers are not affected.
   */
  extensionsSupersededBy?: Readonly<Record<string, string>>;
}

export interface LocalTransportParams {
  iceUfrag: string;
  icePwd: string;
  iceLite: boolean;
  fingerprint: { algorithm: 'sha-256'; value: string };
  /** a=candidate values, without the `candidate:` prefix */
  candidates: string[];
}

/** A track we send on an m-line. */
export interface OutgoingTrackDesc {
  kind: 'audio' | 'video';
  streamId: string;
  trackId: string;
  ssrc: number;
  rtxSsrc?: number;
  cname: string;
  /** the codec to send: the first of `codecs` the remote accepts */
  codec: CodecCapability;
  /** every codec offered on the m-line, in preference order (`codec` first); e.g. RED then plain Opus */
  codecs?: CodecCapability[];
  /**
   * Simulcast (RFC 8853): the rids sent, low to high. The offer then lists them (`a=rid:<id> send`,
   * `a=simulcast:send`) instead of SSRCs, as browsers do; each packet names its layer with the rid header extension.
   */
  rids?: string[];
}

export interface OfferTransceiver { mid: string; kind: 'audio' | 'video'; direction: Direction; sender?: OutgoingTrackDesc }

export const HeaderExtensionUri = {
  audioLevel: 'urn:ietf:params:rtp-hdrext:ssrc-audio-level',
  absSendTime: 'http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time',
  transportCc: 'http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01',
  sdesMid: 'urn:ietf:params:rtp-hdrext:sdes:mid',
  playoutDelay: 'http://www.webrtc.org/experiments/rtp-hdrext/playout-delay',
  rtpStreamId: 'urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id',
  repairedRtpStreamId: 'urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id',
  videoOrientation: 'urn:3gpp:video-orientation',
  toffset: 'urn:ietf:params:rtp-hdrext:toffset',
  /** AV1 RTP spec Appendix A: frame dependencies and layers (AV1, and VP9 from libwebrtc). */
  dependencyDescriptor: 'https://aomediacodec.github.io/av1-rtp-spec/#dependency-descriptor-rtp-header-extension',
} as const;

/** Ids we use in our offers (the same as Chromium's defaults); unknown URIs get free ids 1..14. */
const knownExtensionIds: ReadonlyMap<string, number> = new Map([
  [HeaderExtensionUri.audioLevel, 1], [HeaderExtensionUri.absSendTime, 2], [HeaderExtensionUri.transportCc, 3],
  [HeaderExtensionUri.sdesMid, 4], [HeaderExtensionUri.playoutDelay, 5], [HeaderExtensionUri.rtpStreamId, 10],
  [HeaderExtensionUri.repairedRtpStreamId, 11], [HeaderExtensionUri.dependencyDescriptor, 12],
  [HeaderExtensionUri.videoOrientation, 13], [HeaderExtensionUri.toffset, 14],
]);

/** One id per URI across audio and video (ids are shared in a BUNDLE group, RFC 8843 9.2). */
export function headerExtensionIds(caps: LocalCapabilities): Map<string, number> {
  const ids = new Map<string, number>();
  const used = new Set<number>();
  const all = [...caps.headerExtensions.audio, ...caps.headerExtensions.video];
  for (const uri of all) {
    const id = knownExtensionIds.get(uri);
    if (id !== undefined && !ids.has(uri) && !used.has(id)) {
      ids.set(uri, id);
      used.add(id);
    }
  }
  for (const uri of all) {
    if (ids.has(uri)) continue;
    let id = 1;
    while (used.has(id)) id++;
    if (id > 14) break; // one-byte header ids only
    ids.set(uri, id);
    used.add(id);
  }
  return ids;
}

/**
 * Payload types for our offers: each capability keeps its preferred type (or the next free dynamic one
 * on a clash) and, with `withRtx`, gets an RTX type (RFC 4588), preferably preferred + 1. RED (RFC 2198) gets the
 * format parameters `<opus>/<opus>` naming the Opus payload type of the same list (redundancy of Opus, as WebRTC sends it).
 */
export function offerCodecs(caps: readonly CodecCapability[]): { capability: CodecCapability; codec: CodecParams }[] {
  const used = new Set<number>();
  const take = (preferred: number): number => {
    let pt = preferred;
    if (used.has(pt)) {
      pt = 96;
      while (used.has(pt) && pt <= 127) pt++;
    }
    used.add(pt);
    return pt;
  };
  const mains = caps.map((c) => take(c.preferredPayloadType));
  const out = caps.map((capability, i) => {
    const codec: CodecParams = {
      payloadType: mains[i] ?? capability.preferredPayloadType,
      mimeType: capability.mimeType,
      clockRate: capability.clockRate,
      rtcpFeedback: capability.rtcpFeedback.map((f) => ({ ...f })),
    };
    if (capability.channels !== undefined) codec.channels = capability.channels;
    if (capability.fmtp !== undefined) codec.fmtp = capability.fmtp;
    if (capability.withRtx) codec.rtxPayloadType = take(codec.payloadType + 1);
    return { capability, codec };
  });
  setRedFormat(out.map((o) => o.codec));
  return out;
}

/** Points every RED codec of `codecs` at the list's Opus payload type (`a=fmtp:63 111/111`); no Opus: left as is. */
export function setRedFormat(codecs: CodecParams[]): void {
  const opus = codecs.find((c) => c.mimeType.toLowerCase() === 'audio/opus');
  if (opus === undefined) return;
  for (const c of codecs) if (c.mimeType.toLowerCase() === 'audio/red') c.fmtp = `${opus.payloadType}/${opus.payloadType}`;
}

/**
 * RED (RFC 2198) carrying Opus with its earlier frames, as WebRTC offers it (`a=rtpmap:63 red/48000/2`); its format
 * parameters are set per offer from the Opus payload type (offerCodecs). Not in defaultCapabilities: a server adds it.
 */
export const audioRedCapability: CodecCapability = {
  mimeType: 'audio/red', clockRate: 48000, channels: 2, rtcpFeedback: [], preferredPayloadType: 63,
};

const videoFeedback: RtcpFeedback[] = [
  { type: 'goog-remb' }, { type: 'transport-cc' }, { type: 'ccm', parameter: 'fir' }, { type: 'nack' }, { type: 'nack', parameter: 'pli' },
];

export const defaultCapabilities: LocalCapabilities = {
  audio: [
    { mimeType: 'audio/opus', clockRate: 48000, channels: 2, fmtp: 'minptime=10;useinbandfec=1', rtcpFeedback: [{ type: 'transport-cc' }], preferredPayloadType: 111 },
  ],
  video: [
    { mimeType: 'video/VP8', clockRate: 90000, rtcpFeedback: videoFeedback, withRtx: true, preferredPayloadType: 96 },
    { mimeType: 'video/H264', clockRate: 90000, fmtp: 'level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f', rtcpFeedback: videoFeedback, withRtx: true, preferredPayloadType: 102 },
    { mimeType: 'video/H264', clockRate: 90000, fmtp: 'level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42001f', rtcpFeedback: videoFeedback, withRtx: true, preferredPayloadType: 104 },
    { mimeType: 'video/VP9', clockRate: 90000, fmtp: 'profile-id=0', rtcpFeedback: videoFeedback, withRtx: true, preferredPayloadType: 98 },
    { mimeType: 'video/AV1', clockRate: 90000, fmtp: 'level-idx=5;profile=0;tier=0', rtcpFeedback: videoFeedback, withRtx: true, preferredPayloadType: 45 },
  ],
  headerExtensions: {
    audio: [HeaderExtensionUri.audioLevel, HeaderExtensionUri.absSendTime, HeaderExtensionUri.transportCc, HeaderExtensionUri.sdesMid],
    video: [
      HeaderExtensionUri.absSendTime, HeaderExtensionUri.transportCc, HeaderExtensionUri.sdesMid, HeaderExtensionUri.rtpStreamId,
      HeaderExtensionUri.repairedRtpStreamId, HeaderExtensionUri.videoOrientation,
    ],
  },
};
