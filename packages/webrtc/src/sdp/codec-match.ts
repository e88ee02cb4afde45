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

/**
 * `fmtp` with the `key=value` parameters of `params` ('usedtx=1;stereo=1') set: a key already present gets the new
 * value in place, new keys are appended in the order given. Keys compare case-insensitively.
 */
export function withFmtpParams(fmtp: string | undefined, params: string): string {
  const parts = (fmtp ?? '').split(';').map((p) => p.trim()).filter((p) => p !== '');
  const keyOf = (part: string): string => (part.includes('=') ? part.slice(0, part.indexOf('=')) : part).trim().toLowerCase();
  for (const param of params.split(';').map((p) => p.trim()).filter((p) => p !== '')) {
    const i = parts.findIndex((p) => keyOf(p) === keyOf(param));
    if (i >= 0) parts[i] = param;
    else parts.push(param);
  }
  return parts.join(';');
}

/**
 * The block payload types a RED format names (RFC 2198 section 5: `a=fmtp:63 111/111` -> [111, 111]); empty when the
 * parameters are not a '/'-separated list of payload types 0..127.
 */
export function redBlockPayloadTypes(fmtp: string | undefined): number[] {
  if (fmtp === undefined) return [];
  const out: number[] = [];
  for (const part of fmtp.trim().split('/')) {
    if (!/^\d{1,3}$/.test(part)) return [];
    const pt = Number(part);
    if (pt > 127) return [];
    out.push(pt);
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
