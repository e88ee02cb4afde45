// SessionDescriptionModel -> SDP text with CRLF line endings (RFC 8866 via sdp-transform).
// ICE, fingerprint and setup go where the model has them; our offers/answers set them per media section.
import sdpTransform from 'sdp-transform';
import type { MediaDescription, SessionDescription } from 'sdp-transform';
import type { CodecParams, MediaSection, SessionDescriptionModel } from './sdp-model.js';

const rtpProtocol = 'UDP/TLS/RTP/SAVPF';
const sctpProtocol = 'UDP/DTLS/SCTP';

export function writeSdp(d: SessionDescriptionModel): string {
  const session: SessionDescription = {
    version: 0,
    origin: {
      username: '-', sessionId: d.sessionId, sessionVersion: d.sessionVersion,
      netType: 'IN', ipVer: 4, address: '127.0.0.1',
    },
    name: '-',
    timing: { start: 0, stop: 0 },
    media: d.media.map((m) => writeMedia(m, d)),
  };
  if (d.iceLite) session.icelite = 'ice-lite';
  if (d.bundle.length > 0) session.groups = [{ type: 'BUNDLE', mids: d.bundle.join(' ') }];
  const extra: { value: string }[] = [];
  if (d.msidSemantic !== undefined) extra.push({ value: `msid-semantic: ${d.msidSemantic}` });
  if (d.extmapAllowMixed === true) session.extmapAllowMixed = 'extmap-allow-mixed';
  if (extra.length > 0) session.invalid = extra;
  if (d.iceUfrag !== undefined) session.iceUfrag = d.iceUfrag;
  if (d.icePwd !== undefined) session.icePwd = d.icePwd;
  if (d.fingerprint) session.fingerprint = { type: d.fingerprint.algorithm, hash: d.fingerprint.value };
  if (d.setup) session.setup = d.setup;
  const text = sdpTransform.write(session);
  return text.endsWith('\r\n') ? text : `${text}\r\n`;
}

function writeMedia(m: MediaSection, d: SessionDescriptionModel): MediaDescription {
  const isData = m.kind === 'application';
  const out: MediaDescription = {
    type: m.kind,
    port: m.port,
    protocol: isData ? sctpProtocol : rtpProtocol,
    payloads: isData ? 'webrtc-datachannel' : payloadList(m.codecs),
    connection: { version: 4, ip: '0.0.0.0' },
    rtp: [],
    fmtp: [],
    mid: m.mid,
  };
  if (!isData) {
    out.rtcp = { port: 9, netType: 'IN', ipVer: 4, address: '0.0.0.0' };
    out.direction = m.direction;
    writeCodecs(out, m.codecs);
    if (m.headerExtensions.length > 0) out.ext = m.headerExtensions.map((e) => ({ value: e.id, uri: e.uri }));
    if (m.msid) out.msid = `${m.msid.streamId} ${m.msid.trackId}`;
    if (m.rtcpMux) out.rtcpMux = 'rtcp-mux';
    if (m.rtcpRsize) out.rtcpRsize = 'rtcp-rsize';
    writeSsrcs(out, m);
    if (m.rids.length > 0) out.rids = m.rids.map((r) => (r.params !== undefined ? { id: r.id, direction: r.direction, params: r.params } : { id: r.id, direction: r.direction }));
    if (m.simulcast) out.simulcast = { dir1: m.simulcast.direction, list1: m.simulcast.rids.join(';') };
  } else {
    if (m.sctpPort !== undefined) out.sctpPort = m.sctpPort;
    if (m.maxMessageSize !== undefined) out.maxMessageSize = m.maxMessageSize;
  }
  // Media-level values are written unless they repeat the session-level ones (which parseSdp inherits).
  if (m.iceUfrag !== undefined && m.iceUfrag !== d.iceUfrag) out.iceUfrag = m.iceUfrag;
  if (m.icePwd !== undefined && m.icePwd !== d.icePwd) out.icePwd = m.icePwd;
  const fp = m.fingerprint;
  if (fp && (fp.algorithm !== d.fingerprint?.algorithm || fp.value !== d.fingerprint.value)) out.fingerprint = { type: fp.algorithm, hash: fp.value };
  if (m.setup && m.setup !== d.setup) out.setup = m.setup;
  // Candidates are kept verbatim (sdp-transform's candidate grammar drops unknown extensions).
  // A section holds a candidate either as parsed (the attribute value after `candidate:`) or as an ICE transport gives
  // it (RTCIceCandidate.candidate form, already `candidate:...`): either way the line names it once.
  const raw = m.candidates.map((c) => ({ value: c.startsWith('candidate:') ? c : `candidate:${c}` }));
  if (m.endOfCandidates) raw.push({ value: 'end-of-candidates' });
  if (raw.length > 0) out.invalid = raw;
  return out;
}

function payloadList(codecs: readonly CodecParams[]): string {
  const pts: number[] = [];
  for (const c of codecs) {
    pts.push(c.payloadType);
    if (c.rtxPayloadType !== undefined) pts.push(c.rtxPayloadType);
  }
  return pts.join(' ');
}

function writeCodecs(out: MediaDescription, codecs: readonly CodecParams[]): void {
  const fb: NonNullable<MediaDescription['rtcpFb']> = [];
  for (const c of codecs) {
    const slash = c.mimeType.indexOf('/');
    const name = slash >= 0 ? c.mimeType.slice(slash + 1) : c.mimeType;
    out.rtp.push(c.channels !== undefined ? { payload: c.payloadType, codec: name, rate: c.clockRate, encoding: c.channels } : { payload: c.payloadType, codec: name, rate: c.clockRate });
    if (c.fmtp !== undefined) out.fmtp.push({ payload: c.payloadType, config: c.fmtp });
    for (const f of c.rtcpFeedback) {
      fb.push(f.parameter !== undefined ? { payload: c.payloadType, type: f.type, subtype: f.parameter } : { payload: c.payloadType, type: f.type });
    }
    if (c.rtxPayloadType !== undefined) {
      out.rtp.push({ payload: c.rtxPayloadType, codec: 'rtx', rate: c.clockRate });
      out.fmtp.push({ payload: c.rtxPayloadType, config: `apt=${c.payloadType}` });
    }
  }
  if (fb.length > 0) out.rtcpFb = fb;
}

function writeSsrcs(out: MediaDescription, m: MediaSection): void {
  const lines: NonNullable<MediaDescription['ssrcs']> = [];
  const groups: NonNullable<MediaDescription['ssrcGroups']> = [];
  for (const s of m.ssrcs) {
    for (const ssrc of s.rtxSsrc !== undefined ? [s.ssrc, s.rtxSsrc] : [s.ssrc]) {
      if (s.cname !== undefined) lines.push({ id: ssrc, attribute: 'cname', value: s.cname });
      if (s.msid !== undefined) lines.push({ id: ssrc, attribute: 'msid', value: s.msid });
      if (s.cname === undefined && s.msid === undefined) lines.push({ id: ssrc, attribute: 'cname', value: '-' });
    }
    if (s.rtxSsrc !== undefined) groups.push({ semantics: 'FID', ssrcs: `${s.ssrc} ${s.rtxSsrc}` });
  }
  if (lines.length > 0) out.ssrcs = lines;
  if (groups.length > 0) out.ssrcGroups = groups;
}
