// Our model of a WebRTC session description (JSEP, RFC 8829): what offer/answer logic reads and writes.
// The text form is handled by parse-sdp.ts / write-sdp.ts (via sdp-transform); RFC 8866 for the syntax.
export type MediaKind = 'audio' | 'video' | 'application';
export type Direction = 'sendrecv' | 'sendonly' | 'recvonly' | 'inactive';
export type SetupRole = 'actpass' | 'active' | 'passive';

export interface RtcpFeedback { type: string; parameter?: string }

export interface CodecParams {
  payloadType: number;
  /** 'audio/opus', 'video/VP8', 'video/H264', ... (case as written in the rtpmap) */
  mimeType: string;
  clockRate: number;
  channels?: number;
  fmtp?: string;
  rtcpFeedback: RtcpFeedback[];
  /** payload type of the RTX (RFC 4588) codec whose apt is this codec */
  rtxPayloadType?: number;
}

export interface HeaderExtension { id: number; uri: string }
export interface SsrcInfo { ssrc: number; rtxSsrc?: number; cname?: string; msid?: string }
export interface RidInfo { id: string; direction: 'send' | 'recv'; params?: string }
export interface Fingerprint { algorithm: string; value: string }

export interface MediaSection {
  mid: string;
  kind: MediaKind;
  /** 0 = rejected (RFC 8829 5.3.1) */
  port: number;
  direction: Direction;
  codecs: CodecParams[];
  headerExtensions: HeaderExtension[];
  msid?: { streamId: string; trackId: string };
  ssrcs: SsrcInfo[];
  rids: RidInfo[];
  simulcast?: { direction: 'send' | 'recv'; rids: string[] };
  iceUfrag?: string;
  icePwd?: string;
  fingerprint?: Fingerprint;
  setup?: SetupRole;
  /** a=candidate values, without the `candidate:` prefix */
  candidates: string[];
  endOfCandidates?: boolean;
  rtcpMux: boolean;
  rtcpRsize: boolean;
  sctpPort?: number;
  maxMessageSize?: number;
}

export interface SessionDescriptionModel {
  sessionId: string;
  sessionVersion: number;
  iceLite: boolean;
  /** mids of the BUNDLE group (empty: no group) */
  bundle: string[];
  /** value after `a=msid-semantic:`, e.g. 'WMS' or 'WMS *' */
  msidSemantic?: string;
  /**
   * `a=extmap-allow-mixed` (RFC 8285 §6): one- and two-byte header extensions may be mixed in a stream. libwebrtc writes
   * elements longer than 16 bytes (an AV1 dependency descriptor carrying its structure) only when it is negotiated.
   */
  extmapAllowMixed?: boolean;
  iceUfrag?: string;
  icePwd?: string;
  fingerprint?: Fingerprint;
  setup?: SetupRole;
  media: MediaSection[];
}

export const SdpErrorCode = { invalid: 'sdp_invalid', unsupported: 'sdp_unsupported' } as const;

export class SdpError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.name = 'SdpError';
    this.code = code;
  }
}

export { parseSdp } from './parse-sdp.js';
export { writeSdp } from './write-sdp.js';
