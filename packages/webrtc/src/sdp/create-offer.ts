// JSEP offer (RFC 8829 5.2): one m-line per transceiver plus an optional data section. Renegotiation
// keeps every earlier m-line in place and in order; m-lines without a transceiver become inactive.
import { codecsMatch } from './codec-match.js';
import { headerExtensionIds, offerCodecs, setRedFormat, type LocalCapabilities, type LocalTransportParams, type OfferTransceiver } from './capabilities.js';
import { dataChannelDefaults, newSessionId } from './create-answer.js';
import type { CodecParams, MediaSection, SessionDescriptionModel } from './sdp-model.js';

export interface CreateOfferOptions {
  transport: LocalTransportParams;
  capabilities: LocalCapabilities;
  transceivers: OfferTransceiver[];
  dataChannel: boolean;
  /** mid of the application section (default: the previous one, else its m-line index or the next free number) */
  dataMid?: string;
  /** our previous local offer on this connection */
  previous?: SessionDescriptionModel;
  sessionId?: string;
  sessionVersion?: number;
}

export function createOffer(opts: CreateOfferOptions): SessionDescriptionModel {
  const extIds = headerExtensionIds(opts.capabilities);
  const byMid = new Map(opts.transceivers.map((t) => [t.mid, t]));
  const media: MediaSection[] = [];
  const placed = new Set<string>();
  let hasData = false;
  for (const prev of opts.previous?.media ?? []) {
    placed.add(prev.mid);
    if (prev.kind === 'application') {
      hasData = prev.port !== 0 && opts.dataChannel;
      media.push(hasData ? dataSection(prev.mid, opts) : { ...retired(prev), port: 0 });
      continue;
    }
    const t = byMid.get(prev.mid);
    if (t && t.kind === prev.kind && prev.port !== 0) media.push(transceiverSection(t, opts, extIds));
    else media.push(prev.port !== 0 ? withTransport(retired(prev), opts) : retired(prev));
  }
  // New m-lines follow creation order (numeric mids): a data channel created before a transceiver comes before it.
  // With the data m-line first it is the BUNDLE tag, which the answerer cannot reject by refusing a media codec.
  const dataAt = opts.dataMid !== undefined && /^\d+$/.test(opts.dataMid) && !placed.has(opts.dataMid) ? Number(opts.dataMid) : NaN;
  for (const t of opts.transceivers) {
    if (placed.has(t.mid)) continue;
    if (opts.dataChannel && !hasData && /^\d+$/.test(t.mid) && Number(t.mid) > dataAt) {
      media.push(dataSection(opts.dataMid!, opts));
      placed.add(opts.dataMid!);
      hasData = true;
    }
    placed.add(t.mid);
    media.push(transceiverSection(t, opts, extIds));
  }
  if (opts.dataChannel && !hasData) {
    let mid = opts.dataMid;
    if (mid === undefined || placed.has(mid)) {
      let n = media.length;
      while (placed.has(String(n))) n++;
      mid = String(n);
    }
    media.push(dataSection(mid, opts));
  }
  return {
    sessionId: opts.sessionId ?? opts.previous?.sessionId ?? newSessionId(),
    sessionVersion: opts.sessionVersion ?? (opts.previous ? opts.previous.sessionVersion + 1 : 2),
    iceLite: opts.transport.iceLite,
    bundle: media.filter((m) => m.port !== 0).map((m) => m.mid),
    msidSemantic: 'WMS *',
    // We send what publishers sent, which may mix one- and two-byte header extensions (RFC 8285 §6).
    extmapAllowMixed: true,
    media,
  };
}

function withTransport(section: MediaSection, opts: CreateOfferOptions): MediaSection {
  section.iceUfrag = opts.transport.iceUfrag;
  section.icePwd = opts.transport.icePwd;
  section.fingerprint = { ...opts.transport.fingerprint };
  section.setup = 'actpass';
  section.candidates = [...opts.transport.candidates];
  if (opts.transport.iceLite) section.endOfCandidates = true;
  return section;
}

/** An earlier m-line whose transceiver is gone: same mid, codecs and port, inactive, no msid/ssrcs/rids. */
function retired(prev: MediaSection): MediaSection {
  const section: MediaSection = {
    ...prev,
    direction: 'inactive',
    codecs: prev.codecs.map((c) => ({ ...c, rtcpFeedback: c.rtcpFeedback.map((f) => ({ ...f })) })),
    headerExtensions: prev.headerExtensions.map((e) => ({ ...e })),
    ssrcs: [],
    rids: [],
    candidates: [...prev.candidates],
  };
  delete section.msid;
  delete section.simulcast;
  return section;
}

function dataSection(mid: string, opts: CreateOfferOptions): MediaSection {
  return withTransport({
    mid, kind: 'application', port: 9, direction: 'sendrecv', codecs: [], headerExtensions: [], ssrcs: [], rids: [],
    candidates: [], rtcpMux: false, rtcpRsize: false,
    sctpPort: dataChannelDefaults.sctpPort, maxMessageSize: dataChannelDefaults.maxMessageSize,
  }, opts);
}

function transceiverSection(t: OfferTransceiver, opts: CreateOfferOptions, extIds: Map<string, number>): MediaSection {
  const all = offerCodecs(t.kind === 'audio' ? opts.capabilities.audio : opts.capabilities.video);
  const sender = t.sender;
  let codecs: CodecParams[];
  if (sender) {
    // A sending m-line offers exactly the codecs it may send, in its order (plus RTX when we have an RTX ssrc).
    // Audio keeps the sender's own format parameters (e.g. Opus sprop-stereo for a stereo track); RED names the
    // Opus payload type of this m-line.
    const list = sender.codecs ?? [sender.codec];
    codecs = list.map((want) => {
      const match = all.find((c) => codecsMatch(c.capability, want)) ?? offerCodecs([want])[0];
      const codec = { ...(match?.codec as CodecParams) };
      if (t.kind === 'audio' && want.fmtp !== undefined) codec.fmtp = want.fmtp;
      if (sender.rtxSsrc === undefined || !want.withRtx) delete codec.rtxPayloadType;
      return codec;
    });
    setRedFormat(codecs);
  } else {
    codecs = all.map((c) => c.codec);
  }
  const uris = t.kind === 'audio' ? opts.capabilities.headerExtensions.audio : opts.capabilities.headerExtensions.video;
  const headerExtensions = uris.flatMap((uri) => {
    const id = extIds.get(uri);
    return id === undefined ? [] : [{ id, uri }];
  });
  const section: MediaSection = {
    mid: t.mid, kind: t.kind, port: 9, direction: t.direction, codecs, headerExtensions,
    ssrcs: [], rids: [], candidates: [], rtcpMux: true, rtcpRsize: true,
  };
  const isSending = sender !== undefined && (t.direction === 'sendonly' || t.direction === 'sendrecv');
  if (isSending) {
    const msid = `${sender.streamId} ${sender.trackId}`;
    section.msid = { streamId: sender.streamId, trackId: sender.trackId };
    const rids = sender.rids ?? [];
    if (rids.length > 0) {
      section.rids = rids.map((id) => ({ id, direction: 'send' as const }));
      section.simulcast = { direction: 'send', rids: [...rids] };
    } else {
      const rtxSsrc = codecs[0]?.rtxPayloadType !== undefined ? sender.rtxSsrc : undefined;
      section.ssrcs = [rtxSsrc !== undefined ? { ssrc: sender.ssrc, rtxSsrc, cname: sender.cname, msid } : { ssrc: sender.ssrc, cname: sender.cname, msid }];
    }
  }
  return withTransport(section, opts);
}
