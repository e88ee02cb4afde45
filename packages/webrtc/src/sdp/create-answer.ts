// JSEP answer (RFC 8829 5.3) to a remote offer: per m-line codec/extension intersection keeping the
// offerer's payload types and extension ids, rid/simulcast (RFC 8853) in reverse, our ICE/DTLS params.
import { randomBytes } from 'node:crypto';
import { codecsMatch, intersectFeedback, redBlockPayloadTypes, withFmtpParams } from './codec-match.js';
import type { CodecCapability, LocalCapabilities, LocalTransportParams, OutgoingTrackDesc } from './capabilities.js';
import type { CodecParams, Direction, MediaSection, SessionDescriptionModel } from './sdp-model.js';

export const dataChannelDefaults = { sctpPort: 5000, maxMessageSize: 262144 } as const;

export interface CreateAnswerOptions {
  transport: LocalTransportParams;
  capabilities: LocalCapabilities;
  /**
   * What we accept on m-lines the remote offers `recvonly` (where only we send), when it differs from `capabilities`:
   * a single connection that both receives a client's tracks and sends it others' (LiveKit's single PC mode).
   */
  sendCapabilities?: LocalCapabilities;
  setup: 'active' | 'passive';
  /** per offered mid: what we send on it, if anything (for answering recvonly m-lines; may be undefined) */
  senders?: Map<string, OutgoingTrackDesc>;
  /** per offered mid: the mime type we want to receive on it, moved first in the answer (the remote sends the
   *  first codec of the answer it can). LiveKit does this for the codec an AddTrackRequest asked for. */
  preferredReceiveCodecs?: Map<string, string>;
  /**
   * per offered mid: format parameters to set on our answer's codecs there, by lower-case mime type (e.g. Opus
   * `usedtx=1;stereo=1`: the remote encoder follows them). LiveKit does this per published audio track.
   */
  receiveFmtpParams?: Map<string, ReadonlyMap<string, string>>;
  sessionId?: string;
  sessionVersion?: number;
}

/** A random 62-bit decimal session id (RFC 8829 5.2.1 recommends < 2^63). */
export function newSessionId(): string {
  return (randomBytes(8).readBigUInt64BE() >> 2n).toString();
}

/** The direction seen from the other side (RFC 3264 6.1). */
export function reverseDirection(d: Direction): Direction {
  return d === 'sendonly' ? 'recvonly' : d === 'recvonly' ? 'sendonly' : d;
}

export function createAnswer(offer: SessionDescriptionModel, opts: CreateAnswerOptions): SessionDescriptionModel {
  const media = offer.media.map((m) => answerMedia(m, opts));
  const offeredBundle = new Set(offer.bundle);
  return {
    sessionId: opts.sessionId ?? newSessionId(),
    sessionVersion: opts.sessionVersion ?? 2,
    iceLite: opts.transport.iceLite,
    bundle: media.filter((m) => m.port !== 0 && offeredBundle.has(m.mid)).map((m) => m.mid),
    msidSemantic: 'WMS *',
    // We read both header forms: accept mixing whenever the offerer proposes it.
    ...(offer.extmapAllowMixed === true ? { extmapAllowMixed: true } : {}),
    media,
  };
}

function rejected(m: MediaSection): MediaSection {
  const first = m.codecs[0];
  const section: MediaSection = {
    mid: m.mid, kind: m.kind, port: 0, direction: 'inactive',
    codecs: first ? [{ ...first, rtcpFeedback: [] }] : [],
    headerExtensions: [], ssrcs: [], rids: [], candidates: [], rtcpMux: m.rtcpMux, rtcpRsize: false,
  };
  if (first) delete section.codecs[0]?.rtxPayloadType;
  return section;
}

function withTransport(section: MediaSection, opts: CreateAnswerOptions): MediaSection {
  section.iceUfrag = opts.transport.iceUfrag;
  section.icePwd = opts.transport.icePwd;
  section.fingerprint = { ...opts.transport.fingerprint };
  section.setup = opts.setup;
  section.candidates = [...opts.transport.candidates];
  if (opts.transport.iceLite) section.endOfCandidates = true;
  return section;
}

function answerMedia(m: MediaSection, opts: CreateAnswerOptions): MediaSection {
  if (m.port === 0) return rejected(m);
  if (m.kind === 'application') {
    return withTransport({
      mid: m.mid, kind: 'application', port: 9, direction: 'sendrecv', codecs: [], headerExtensions: [],
      ssrcs: [], rids: [], candidates: [], rtcpMux: false, rtcpRsize: false,
      sctpPort: dataChannelDefaults.sctpPort, maxMessageSize: dataChannelDefaults.maxMessageSize,
    }, opts);
  }
  const capabilities = m.direction === 'recvonly' && opts.sendCapabilities !== undefined ? opts.sendCapabilities : opts.capabilities;
  const caps = m.kind === 'audio' ? capabilities.audio : capabilities.video;
  let codecs = answerCodecs(m.codecs, caps);
  if (codecs.length === 0) return rejected(m);
  const extraFmtp = opts.receiveFmtpParams?.get(m.mid);
  if (extraFmtp !== undefined) {
    for (const c of codecs) {
      const params = extraFmtp.get(c.mimeType.toLowerCase());
      if (params !== undefined) c.fmtp = withFmtpParams(c.fmtp, params);
    }
  }
  const preferred = opts.preferredReceiveCodecs?.get(m.mid)?.toLowerCase();
  if (preferred !== undefined) {
    const first = codecs.filter((c) => c.mimeType.toLowerCase() === preferred);
    codecs = [...first, ...codecs.filter((c) => c.mimeType.toLowerCase() !== preferred)];
  }
  // We send only when the remote accepts one of the sender's codecs: the first of them in the sender's preference
  // order (e.g. RED before plain Opus) goes first in the list (RFC 8829 5.3.1).
  let sender = opts.senders?.get(m.mid);
  const sendable = sender ? (sender.codecs ?? [sender.codec]) : [];
  let sendIdx = -1;
  for (const w of sendable) {
    sendIdx = codecs.findIndex((c) => codecsMatch(c, w));
    if (sendIdx >= 0) break;
  }
  if (sendIdx < 0) sender = undefined;
  else if (sendIdx > 0) codecs = [codecs[sendIdx] as CodecParams, ...codecs.filter((_, i) => i !== sendIdx)];
  if (sender !== undefined && m.direction === 'recvonly') {
    // An m-line where only we send lists what we may send there, as our own offers do: the sender's codecs (RED's
    // Opus among them), with an audio sender's own format parameters (e.g. stereo for a stereo track).
    codecs = codecs.filter((c) => sendable.some((w) => codecsMatch(c, w)));
    if (m.kind === 'audio') {
      for (const c of codecs) {
        const want = sendable.find((w) => codecsMatch(c, w));
        if (want?.fmtp !== undefined && !isRed(c)) c.fmtp = want.fmtp;
      }
    }
  }
  const supportedUris = new Set(m.kind === 'audio' ? capabilities.headerExtensions.audio : capabilities.headerExtensions.video);
  const willSend = sender !== undefined && (m.direction === 'recvonly' || m.direction === 'sendrecv');
  const willReceive = m.direction === 'sendonly' || m.direction === 'sendrecv';
  const direction: Direction = willSend && willReceive ? 'sendrecv' : willSend ? 'sendonly' : willReceive ? 'recvonly' : 'inactive';
  const section: MediaSection = {
    mid: m.mid, kind: m.kind, port: 9, direction, codecs,
    headerExtensions: m.headerExtensions.filter((e) => supportedUris.has(e.uri) && !isSuperseded(e.uri, m, supportedUris, capabilities))
      .map((e) => ({ ...e })),
    ssrcs: [], rids: [], candidates: [], rtcpMux: true, rtcpRsize: m.rtcpRsize,
  };
  if (willReceive && m.simulcast?.direction === 'send') {
    const offeredRids = m.rids.filter((r) => r.direction === 'send');
    section.rids = offeredRids.map((r) => ({ id: r.id, direction: 'recv' as const }));
    section.simulcast = { direction: 'recv', rids: [...m.simulcast.rids] };
  }
  if (willSend && sender) {
    const msid = `${sender.streamId} ${sender.trackId}`;
    section.msid = { streamId: sender.streamId, trackId: sender.trackId };
    const sendCodec = codecs[0];
    const rtxSsrc = sendCodec?.rtxPayloadType !== undefined ? sender.rtxSsrc : undefined;
    section.ssrcs = [rtxSsrc !== undefined ? { ssrc: sender.ssrc, rtxSsrc, cname: sender.cname, msid } : { ssrc: sender.ssrc, cname: sender.cname, msid }];
  }
  return withTransport(section, opts);
}

/** `uri` is superseded on this m-line: the URI that supersedes it is offered there and we accept it. */
function isSuperseded(uri: string, m: MediaSection, supportedUris: ReadonlySet<string>, caps: LocalCapabilities): boolean {
  const by = caps.extensionsSupersededBy?.[uri];
  return by !== undefined && supportedUris.has(by) && m.headerExtensions.some((e) => e.uri === by);
}

/**
 * Offered codecs we support, in offer order, with the offerer's payload types. RED (RFC 2198) is kept, with the
 * offered parameters, only when every block payload type it names is one we accept on the m-line.
 */
function answerCodecs(offered: readonly CodecParams[], caps: readonly CodecCapability[]): CodecParams[] {
  const out: CodecParams[] = [];
  const isAccepted = (pt: number): boolean =>
    offered.some((o) => o.payloadType === pt && !isRed(o) && caps.some((c) => codecsMatch(o, c)));
  for (const o of offered) {
    const cap = caps.find((c) => codecsMatch(o, c));
    if (!cap) continue;
    if (isRed(o)) {
      const blocks = redBlockPayloadTypes(o.fmtp);
      if (blocks.length === 0 || !blocks.every(isAccepted)) continue;
    }
    const codec: CodecParams = {
      payloadType: o.payloadType,
      mimeType: o.mimeType,
      clockRate: o.clockRate,
      rtcpFeedback: intersectFeedback(o.rtcpFeedback, cap.rtcpFeedback),
    };
    if (o.channels !== undefined) codec.channels = o.channels;
    // H264/VP9/AV1: echo the offered parameters (profile and level must match what we accepted); RED: its blocks;
    // other codecs: our own parameters tell the remote sender how to send (e.g. opus useinbandfec).
    const isProfiled = /^video\/(h264|vp9|av1)$/i.test(o.mimeType) || isRed(o);
    const fmtp = isProfiled ? o.fmtp : cap.fmtp ?? o.fmtp;
    if (fmtp !== undefined) codec.fmtp = fmtp;
    if (cap.withRtx && o.rtxPayloadType !== undefined) codec.rtxPayloadType = o.rtxPayloadType;
    out.push(codec);
  }
  return out;
}

function isRed(c: CodecParams): boolean {
  return c.mimeType.toLowerCase() === 'audio/red';
}
