// SDP text -> SessionDescriptionModel (RFC 8866 syntax via sdp-transform, JSEP RFC 8829 semantics).
// Session-level ICE, fingerprint and setup are inherited into every media section that has none.
import sdpTransform from 'sdp-transform';
import type { MediaAttributes, MediaDescription } from 'sdp-transform';
import {
  SdpError, SdpErrorCode, type CodecParams, type Direction, type Fingerprint, type MediaKind, type MediaSection,
  type RidInfo, type SessionDescriptionModel, type SetupRole, type SsrcInfo,
} from './sdp-model.js';

const lineRe = /^[a-z]=/;
const kinds: ReadonlySet<string> = new Set(['audio', 'video', 'application']);
const directions: ReadonlySet<string> = new Set(['sendrecv', 'sendonly', 'recvonly', 'inactive']);
const setups: ReadonlySet<string> = new Set(['actpass', 'active', 'passive']);

function invalid(message: string): SdpError {
  return new SdpError(SdpErrorCode.invalid, message);
}

/** Parses an SDP offer or answer. Throws SdpError{code:'sdp_invalid'} on text that is not SDP. */
export function parseSdp(sdp: string): SessionDescriptionModel {
  if (typeof sdp !== 'string') throw invalid('sdp is not a string');
  const lines = sdp.split(/\r?\n/).filter((l) => l.length > 0);
  if (lines[0] !== 'v=0') throw invalid('sdp must start with v=0');
  const candidatesByMedia: string[][] = [];
  for (const line of lines) {
    if (!lineRe.test(line)) throw invalid(`bad sdp line: ${line.slice(0, 40)}`);
    if (line.startsWith('m=')) candidatesByMedia.push([]);
    else if (line.startsWith('a=candidate:')) candidatesByMedia[candidatesByMedia.length - 1]?.push(line.slice(12));
  }
  if (!lines.some((l) => l.startsWith('o='))) throw invalid('sdp has no o= line');
  let parsed: sdpTransform.SessionDescription;
  try {
    parsed = sdpTransform.parse(sdp);
  } catch (err) {
    throw invalid(`sdp parse failed: ${(err as Error).message}`);
  }
  if (!parsed.origin) throw invalid('sdp has an unreadable o= line');

  const sessionFingerprint = fingerprintOf(parsed.fingerprint);
  const sessionSetup = setupOf(parsed.setup);
  const model: SessionDescriptionModel = {
    sessionId: String(parsed.origin.sessionId),
    sessionVersion: Number(parsed.origin.sessionVersion),
    iceLite: parsed.icelite === 'ice-lite',
    bundle: [],
    media: [],
  };
  const bundle = parsed.groups?.find((g) => g.type.toUpperCase() === 'BUNDLE');
  if (bundle) model.bundle = String(bundle.mids).split(' ').filter((m) => m.length > 0);
  if (parsed.msidSemantic) model.msidSemantic = `${parsed.msidSemantic.semantic} ${parsed.msidSemantic.token}`.trim();
  if (parsed.extmapAllowMixed !== undefined || parsed.media.some((m) => m.extmapAllowMixed !== undefined)) model.extmapAllowMixed = true;
  if (parsed.iceUfrag !== undefined) model.iceUfrag = String(parsed.iceUfrag);
  if (parsed.icePwd !== undefined) model.icePwd = String(parsed.icePwd);
  if (sessionFingerprint) model.fingerprint = sessionFingerprint;
  if (sessionSetup) model.setup = sessionSetup;

  parsed.media.forEach((m, index) => {
    const section = parseMedia(m, index, candidatesByMedia[index] ?? []);
    section.iceUfrag ??= model.iceUfrag;
    section.icePwd ??= model.icePwd;
    section.fingerprint ??= model.fingerprint;
    section.setup ??= model.setup;
    if (section.iceUfrag === undefined) delete section.iceUfrag;
    if (section.icePwd === undefined) delete section.icePwd;
    if (section.fingerprint === undefined) delete section.fingerprint;
    if (section.setup === undefined) delete section.setup;
    model.media.push(section);
  });
  const mids = new Set<string>();
  for (const m of model.media) {
    if (mids.has(m.mid)) throw invalid(`duplicate mid ${m.mid}`);
    mids.add(m.mid);
  }
  return model;
}

function fingerprintOf(f: { type: string; hash: string } | undefined): Fingerprint | undefined {
  return f ? { algorithm: f.type.toLowerCase(), value: f.hash } : undefined;
}

function setupOf(s: string | undefined): SetupRole | undefined {
  return s !== undefined && setups.has(s) ? (s as SetupRole) : undefined;
}

function parseMedia(m: MediaDescription, index: number, candidates: string[]): MediaSection {
  if (!kinds.has(m.type)) throw invalid(`unsupported media kind ${m.type}`);
  const kind = m.type as MediaKind;
  const direction: Direction = m.direction && directions.has(m.direction) ? m.direction : 'sendrecv';
  const section: MediaSection = {
    mid: m.mid !== undefined ? String(m.mid) : String(index),
    kind,
    port: Number(m.port),
    direction,
    codecs: kind === 'application' ? [] : parseCodecs(m),
    headerExtensions: (m.ext ?? []).map((e) => ({ id: Number(e.value), uri: e.uri })),
    ssrcs: parseSsrcs(m),
    rids: parseRids(m.rids),
    candidates,
    rtcpMux: m.rtcpMux === 'rtcp-mux',
    rtcpRsize: m.rtcpRsize === 'rtcp-rsize',
  };
  const msid = m.msid !== undefined ? String(m.msid) : section.ssrcs.find((s) => s.msid)?.msid;
  if (msid !== undefined) {
    const [streamId = '-', trackId = ''] = msid.trim().split(/\s+/);
    section.msid = { streamId, trackId };
  }
  if (m.simulcast && (m.simulcast.dir1 === 'send' || m.simulcast.dir1 === 'recv')) {
    section.simulcast = { direction: m.simulcast.dir1, rids: String(m.simulcast.list1).split(';').filter((r) => r.length > 0) };
  }
  if (m.iceUfrag !== undefined) section.iceUfrag = String(m.iceUfrag);
  if (m.icePwd !== undefined) section.icePwd = String(m.icePwd);
  const fp = fingerprintOf(m.fingerprint);
  if (fp) section.fingerprint = fp;
  const setup = setupOf(m.setup);
  if (setup) section.setup = setup;
  if (m.endOfCandidates) section.endOfCandidates = true;
  if (m.sctpPort !== undefined) section.sctpPort = Number(m.sctpPort);
  else if (m.sctpmap) section.sctpPort = Number(m.sctpmap.sctpmapNumber);
  if (m.maxMessageSize !== undefined) section.maxMessageSize = Number(m.maxMessageSize);
  else if (m.sctpmap?.maxMessageSize !== undefined) section.maxMessageSize = Number(m.sctpmap.maxMessageSize);
  return section;
}

function parseCodecs(m: MediaDescription): CodecParams[] {
  const order = String(m.payloads ?? '').split(' ').filter((p) => p.length > 0).map(Number);
  const rtpmaps = new Map((m.rtp ?? []).map((r) => [Number(r.payload), r]));
  const fmtps = new Map((m.fmtp ?? []).map((f) => [Number(f.payload), String(f.config)]));
  const byPt = new Map<number, CodecParams>();
  const rtx: { pt: number; apt: number }[] = [];
  for (const pt of order) {
    const map = rtpmaps.get(pt);
    if (!map || byPt.has(pt)) continue; // static payload types without rtpmap are not used by WebRTC
    const fmtp = fmtps.get(pt);
    if (map.codec.toLowerCase() === 'rtx') {
      const apt = /(?:^|;)\s*apt=(\d+)/.exec(fmtp ?? '')?.[1];
      if (apt !== undefined) rtx.push({ pt, apt: Number(apt) });
      continue;
    }
    const codec: CodecParams = {
      payloadType: pt,
      mimeType: `${m.type}/${map.codec}`,
      clockRate: Number(map.rate ?? 0),
      rtcpFeedback: [],
    };
    if (map.encoding !== undefined && m.type === 'audio') codec.channels = Number(map.encoding);
    if (fmtp !== undefined) codec.fmtp = fmtp;
    byPt.set(pt, codec);
  }
  for (const fb of m.rtcpFb ?? []) {
    const targets = String(fb.payload) === '*' ? [...byPt.values()] : [byPt.get(Number(fb.payload))];
    for (const c of targets) {
      if (!c) continue;
      const entry = fb.subtype !== undefined && fb.subtype !== '' ? { type: fb.type, parameter: fb.subtype } : { type: fb.type };
      if (!c.rtcpFeedback.some((x) => x.type === entry.type && x.parameter === entry.parameter)) c.rtcpFeedback.push(entry);
    }
  }
  for (const r of rtx) {
    const c = byPt.get(r.apt);
    if (c && c.rtxPayloadType === undefined) c.rtxPayloadType = r.pt;
  }
  return [...byPt.values()];
}

function parseSsrcs(m: MediaAttributes): SsrcInfo[] {
  const infos = new Map<number, SsrcInfo>();
  for (const line of m.ssrcs ?? []) {
    const ssrc = Number(line.id);
    let info = infos.get(ssrc);
    if (!info) {
      info = { ssrc };
      infos.set(ssrc, info);
    }
    if (line.attribute === 'cname' && line.value !== undefined) info.cname = String(line.value);
    if (line.attribute === 'msid' && line.value !== undefined) info.msid = String(line.value);
  }
  for (const group of m.ssrcGroups ?? []) {
    if (group.semantics.toUpperCase() !== 'FID') continue;
    const [primary, repair] = String(group.ssrcs).split(' ').map(Number);
    if (primary === undefined || repair === undefined) continue;
    const info = infos.get(primary) ?? { ssrc: primary };
    infos.set(primary, info);
    info.rtxSsrc = repair;
    infos.delete(repair);
  }
  return [...infos.values()];
}

function parseRids(rids: MediaAttributes['rids']): RidInfo[] {
  const out: RidInfo[] = [];
  for (const r of rids ?? []) {
    if (r.direction !== 'send' && r.direction !== 'recv') continue;
    const info: RidInfo = { id: String(r.id), direction: r.direction };
    if (r.params !== undefined && r.params !== '') info.params = String(r.params);
    out.push(info);
  }
  return out;
}
