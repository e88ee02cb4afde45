// RTCP packet shapes (parsed and to serialize), discriminated by `type`.
// RFC 3550 §6, RFC 4585 §6, RFC 5104 §4.3.1, draft-alvestrand-rmcat-remb, draft-holmer-rmcat-transport-wide-cc-extensions-01.

export const RtcpPacketType = {
  SR: 200,
  RR: 201,
  SDES: 202,
  BYE: 203,
  APP: 204,
  RTPFB: 205,
  PSFB: 206,
  XR: 207,
} as const;

/** FMT values of transport-layer feedback (PT 205). */
export const RtpfbFmt = { NACK: 1, TWCC: 15 } as const;
/** FMT values of payload-specific feedback (PT 206). */
export const PsfbFmt = { PLI: 1, FIR: 4, AFB: 15 } as const;

export interface ReportBlock {
  ssrc: number;
  /** Fraction lost as the 8-bit fixed-point wire value (lost/expected * 256). */
  fractionLost: number;
  /** Cumulative packets lost: signed 24-bit. */
  cumulativeLost: number;
  /** Extended highest sequence number received (cycles << 16 | seq). */
  highestSeq: number;
  jitter: number;
  /** Middle 32 bits of the last SR's NTP timestamp (see ntpMiddle32). */
  lastSr: number;
  /** Delay since last SR in units of 1/65536 s. */
  delaySinceLastSr: number;
}

export interface SenderReport {
  type: 'sr';
  ssrc: number;
  ntpTimestamp: bigint;
  rtpTimestamp: number;
  packetCount: number;
  octetCount: number;
  reports: ReportBlock[];
}

export interface ReceiverReport {
  type: 'rr';
  ssrc: number;
  reports: ReportBlock[];
}

/** SDES item types (RFC 3550 §6.5). */
export const SdesItemType = {
  CNAME: 1,
  NAME: 2,
  EMAIL: 3,
  PHONE: 4,
  LOC: 5,
  TOOL: 6,
  NOTE: 7,
  PRIV: 8,
} as const;

export interface SdesItem {
  type: number;
  /** UTF-8 text (for PRIV, the raw prefix-length/prefix/value bytes decoded as UTF-8). */
  text: string;
}

export interface SdesChunk {
  ssrc: number;
  items: SdesItem[];
}

export interface SourceDescription {
  type: 'sdes';
  chunks: SdesChunk[];
}

export interface Goodbye {
  type: 'bye';
  ssrcs: number[];
  reason?: string;
}

export interface GenericNack {
  type: 'nack';
  senderSsrc: number;
  mediaSsrc: number;
  /** Lost sequence numbers; serialize expects them in (wrap-aware) ascending order. */
  lostSeqs: number[];
}

export interface PictureLossIndication {
  type: 'pli';
  senderSsrc: number;
  mediaSsrc: number;
}

export interface FirEntry {
  ssrc: number;
  /** 8-bit command sequence number. */
  seqNr: number;
}

export interface FullIntraRequest {
  type: 'fir';
  senderSsrc: number;
  entries: FirEntry[];
}

export interface Remb {
  type: 'remb';
  senderSsrc: number;
  bitrateBps: number;
  ssrcs: number[];
}

export interface TwccPacketStatus {
  /** 16-bit transport-wide sequence number (= baseSeq + index, wrapped). */
  seq: number;
  received: boolean;
  /** Receive delta to the previous received packet (or the reference time), µs; multiple of 250. */
  deltaUs?: number;
}

export interface TransportWideFeedback {
  type: 'twcc';
  senderSsrc: number;
  mediaSsrc: number;
  baseSeq: number;
  /** Number of packet statuses; equals packets.length (serialize uses packets.length). */
  packetStatusCount: number;
  /** Reference time in ms: the 24-bit wire value (units of 64 ms, read unsigned) times 64. */
  referenceTimeMs: number;
  /** 8-bit feedback packet count. */
  fbPktCount: number;
  packets: TwccPacketStatus[];
}

/** Any RTCP packet not modelled above (APP, XR, other feedback types), kept byte-exact. */
export interface UnknownRtcp {
  type: 'unknown';
  packetType: number;
  /** The 5-bit count / FMT field. */
  fmt: number;
  /** The whole packet, header included (a copy). */
  raw: Uint8Array;
}

export type RtcpPacket =
  | SenderReport
  | ReceiverReport
  | SourceDescription
  | Goodbye
  | GenericNack
  | PictureLossIndication
  | FullIntraRequest
  | Remb
  | TransportWideFeedback
  | UnknownRtcp;
