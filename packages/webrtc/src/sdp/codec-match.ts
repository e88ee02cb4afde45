// Codec equivalence for offer/answer: mime + clock rate + channels, plus the format parameters that
// make codecs distinct (H264 packetization-mode and profile, RFC 6184 8.1/8.2.2; VP9 profile-id).
import type { RtcpFeedback } from './sdp-model.js';

export interface CodecDescriptor { mimeType: string; clockRate: number; channels?: number; fmtp?: string }

/** `a=fmtp` parameters as a map with lower-case keys. */
export function parseFmtp(fmtp: string | undefined): Map<string, string> {
  const out = new Map<string, string>();
  if (fmtp === undefined) return out;
  for (const part of fmtp.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) {
      if (part.trim() !== '') out.set(part.trim().toLowerCase(), '');
      continue;
    }
    out.set(part.slice(0, eq).trim().toLowerCase(), part.slice(eq + 1).trim());
  }
  return out;
}

const defaultH264ProfileLevelId = '42001f';

function h264Matches(a: Map<string, string>, b: Map<string, string>): boolean {
  if ((a.get('packetization-mode') ?? '0') !== (b.get('packetization-mode') ?? '0')) return false;
  const pa = (a.get('profile-level-id') ?? defaultH264ProfileLevelId).toLowerCase();
  const pb = (b.get('profile-level-id') ?? defaultH264ProfileLevelId).toLowerCase();
  if (pa.length !== 6 || pb.length !== 6) return false;
  // profile_idc + profile-iop (constraint flags) must match; level_idc only with asymmetry allowed
  if (pa.slice(0, 4) !== pb.slice(0, 4)) return false;
  if (pa.slice(4) === pb.slice(4)) return true;
  return a.get('level-asymmetry-allowed') === '1' && b.get('level-asymmetry-allowed') === '1';
}

/** True when the two describe the same codec configuration (usable for one payload type). */
export function codecsMatch(a: CodecDescriptor, b: CodecDescriptor): boolean {
  if (a.mimeType.toLowerCase() !== b.mimeType.toLowerCase()) return false;
  if (a.clockRate !== b.clockRate) return false;
  const isAudio = a.mimeType.toLowerCase().startsWith('audio/');
  if (isAudio && (a.channels ?? 1) !== (b.channels ?? 1)) return false;
  const name = a.mimeType.toLowerCase();
  if (name === 'video/h264') return h264Matches(parseFmtp(a.fmtp), parseFmtp(b.fmtp));
  if (name === 'video/vp9') return (parseFmtp(a.fmtp).get('profile-id') ?? '0') === (parseFmtp(b.fmtp).get('profile-id') ?? '0');
  if (name === 'video/av1') return (parseFmtp(a.fmtp).get('profile') ?? '0') === (parseFmtp(b.fmtp).get('profile') ?? '0');
  return true;
}

/** rtcp-fb entries present in both lists, in the order of `a`. */
export function intersectFeedback(a: readonly RtcpFeedback[], b: readonly RtcpFeedback[]): RtcpFeedback[] {
  return a
    .filter((x) => b.some((y) => y.type === x.type && (y.parameter ?? '') === (x.parameter ?? '')))
    .map((x) => (x.parameter !== undefined ? { type: x.type, parameter: x.parameter } : { type: x.type }));
}
