// VP8 RTP payload inspection: is this packet the first packet of a key frame?
// RFC 7741 §4.2 (payload descriptor) and §4.3 (payload header) https://www.rfc-editor.org/rfc/rfc7741
// RFC 6386 §9.1 (frame tag: P bit 0 = key frame).
import { createVp8Descriptor, parseVp8Descriptor } from './vp8-descriptor.js';

/** Scratch for callers that only want the key frame bit (single-threaded: no re-entrancy). */
const scratch = createVp8Descriptor();

/**
 * True when `payload[offset, offset+length)` is a VP8 payload that starts a key frame: S bit set,
 * partition index 0, and the frame tag's P (inverse key frame) bit clear. Never throws on short input.
 * A caller that parses the descriptor anyway should read `Vp8Descriptor.isKeyframe` instead.
 */
export function isVp8KeyframeStart(payload: Uint8Array, offset: number, length: number): boolean {
  return parseVp8Descriptor(payload, offset, length, scratch) && scratch.isKeyframe;
}
