// Keyframe-start detection dispatched by codec mime type (VP8, H.264, VP9 through their payload parsers;
// AV1 by its aggregation header). Codecs we cannot inspect count every packet as a keyframe start.
import { isH264KeyframeStart } from './h264.js';
import { isVp8KeyframeStart } from './vp8.js';
import { isVp9KeyframeStart } from './vp9-descriptor.js';

export const CodecKind = { AUDIO: 0, VP8: 1, H264: 2, VP9: 3, AV1: 4, OTHER_VIDEO: 5 } as const;
export type CodecKindValue = (typeof CodecKind)[keyof typeof CodecKind];

/** Maps a mime type ('video/VP8', 'audio/opus', ...) to a codec kind, once per track, not per packet. */
export function codecKindFromMime(mimeType: string): CodecKindValue {
  const m = mimeType.toLowerCase();
  if (m.startsWith('audio/')) return CodecKind.AUDIO;
  if (m === 'video/vp8') return CodecKind.VP8;
  if (m === 'video/h264') return CodecKind.H264;
  if (m === 'video/vp9') return CodecKind.VP9;
  if (m === 'video/av1') return CodecKind.AV1;
  return CodecKind.OTHER_VIDEO;
}

/** AV1 RTP (aomediacodec av1-rtp-spec §4.4): the aggregation header's N bit starts a coded video sequence. */
function isAv1KeyframeStart(payload: Uint8Array, offset: number, length: number): boolean {
  if (length < 1 || offset + length > payload.length) return false;
  const b0 = payload[offset]!;
  return (b0 & 0x08) !== 0 && (b0 & 0x80) === 0;
}

/** True when the RTP payload starts a key frame. Audio: always true (every packet is decodable). */
export function isKeyframeStart(
  kind: CodecKindValue,
  payload: Uint8Array,
  offset: number,
  length: number,
): boolean {
  switch (kind) {
    case CodecKind.VP8:
      return isVp8KeyframeStart(payload, offset, length);
    case CodecKind.H264:
      return isH264KeyframeStart(payload, offset, length);
    case CodecKind.VP9:
      return isVp9KeyframeStart(payload, offset, length);
    case CodecKind.AV1:
      return isAv1KeyframeStart(payload, offset, length);
    default:
      return true;
  }
}
