// Per-subscriber VP8 descriptor munging: keeps picture id, TL0PICIDX and KEYIDX continuous across simulcast
// switches and dropped (temporal layer) frames, and maps late packets of a frame to the same values.
// RFC 7741 §4.2 https://www.rfc-editor.org/rfc/rfc7741#section-4.2
import type { Vp8Descriptor, Vp8DescriptorFields } from './vp8-descriptor.js';

/** Recent input pictures remembered for late packets (a power of two). */
const RING_SIZE = 128;
const RING_MASK = RING_SIZE - 1;
const PICTURE_ID_MASK = 0x7fff;
const TL0PICIDX_MASK = 0xff;
const KEYIDX_MASK = 0x1f;

const Entry = { EMPTY: 0, FORWARDED: 1, DROPPED: 2, MISSING: 3 } as const;

/**
 * Output picture id = (extended input picture id - offset) mod 2^15, where the offset grows by one for each
 * dropped frame (so output ids stay consecutive) and is reset by `startAt` (so a new stream continues where
 * the last one stopped). A picture id missing from the input (lost frame) keeps its gap in the output.
 * TL0PICIDX and KEYIDX: output = input - offset, with the offsets set only by `startAt` (TID 0 frames, which
 * advance TL0PICIDX, and key frames are never dropped).
 *
 * Use: on the key frame that starts forwarding from a stream call `startAt(d)`, then `mapPacket(d, out)`;
 * for each later packet either `mapPacket` (forward; false = drop it) or `dropFrame` (not forwarded).
 */
export class Vp8Munger {
  private isStarted = false;
  /** The current stream carries picture ids and `lastInExt`/`lastInRaw` describe its newest picture. */
  private isTrackingPictureId = false;
  private lastInRaw = 0;
  private lastInExt = 0;
  private pictureIdOffset = 0;
  /** The output id the next new picture continues from (after a switch), -1 before any output. */
  private nextOutPictureId = -1;
  private tl0PicIdxOffset = 0;
  private lastOutTl0PicIdx = -1;
  private keyIdxOffset = 0;
  private lastOutKeyIdx = -1;
  private readonly ringExt = new Float64Array(RING_SIZE);
  private readonly ringOut = new Uint16Array(RING_SIZE);
  private readonly ringState = new Uint8Array(RING_SIZE);

  /**
   * The first packet forwarded from a (new) stream, normally a key frame start: later output continues from
   * the last values forwarded (the first stream keeps its own values). Forget the previous stream's pictures.
   * Call `mapPacket` for this packet next.
   */
  startAt(d: Vp8Descriptor): void {
    this.isStarted = true;
    this.ringState.fill(Entry.EMPTY);
    this.capturePictureIdContinuation();
    this.isTrackingPictureId = false;
    if (d.hasPictureId) this.trackPictureIdFrom(d);
    if (d.hasTl0PicIdx) {
      this.tl0PicIdxOffset =
        this.lastOutTl0PicIdx < 0 ? 0 : (d.tl0PicIdx - this.lastOutTl0PicIdx - 1) & TL0PICIDX_MASK;
    }
    if (d.hasKeyIdx) {
      this.keyIdxOffset = this.lastOutKeyIdx < 0 ? 0 : (d.keyIdx - this.lastOutKeyIdx - 1) & KEYIDX_MASK;
    }
  }

  /**
   * A packet that will not be forwarded because its frame is dropped (e.g. its TID is above the target).
   * Idempotent per picture: call it for every packet of the frame. The first call for a picture newer than
   * any seen closes its gap in the output; for a picture already forwarded it does nothing.
   */
  dropFrame(d: Vp8Descriptor): void {
    if (!this.isStarted || !d.hasPictureId || !this.isTrackingPictureId) return;
    const delta = this.pictureIdDelta(d);
    const ext = this.lastInExt + delta;
    if (delta > 0) {
      this.markMissingUpTo(ext);
      this.pictureIdOffset++;
      this.setEntry(ext, Entry.DROPPED, 0);
      this.lastInExt = ext;
      this.lastInRaw = d.pictureId;
      return;
    }
    // An older picture: only one never seen before (its output id is already reserved) can still be dropped;
    // its id becomes a gap, since later pictures have gone out already.
    const slot = ext & RING_MASK;
    if (this.ringExt[slot] === ext && this.ringState[slot] === Entry.MISSING) this.ringState[slot] = Entry.DROPPED;
  }

  /**
   * Fills `out` with the descriptor to send for a packet that is forwarded. Returns false when the packet
   * cannot be mapped and must be dropped: not started, a packet of a dropped frame, or a picture older than
   * the stream start or than the remembered window.
   */
  mapPacket(d: Vp8Descriptor, out: Vp8DescriptorFields): boolean {
    if (!this.isStarted) return false;
    out.isNonReference = d.isNonReference;
    out.isStartOfPartition = d.isStartOfPartition;
    out.partitionIndex = d.partitionIndex;
    out.hasTid = d.hasTid;
    out.tid = d.tid;
    out.isLayerSync = d.isLayerSync;
    out.hasPictureId = false;
    out.pictureId = 0;
    if (d.hasPictureId) {
      if (!this.isTrackingPictureId) {
        // The stream started without picture ids and now has them: continue from the last output id.
        this.capturePictureIdContinuation();
        this.trackPictureIdFrom(d);
      }
      const delta = this.pictureIdDelta(d);
      const ext = this.lastInExt + delta;
      if (delta > 0) {
        this.markMissingUpTo(ext);
        const outId = (ext - this.pictureIdOffset) & PICTURE_ID_MASK;
        this.setEntry(ext, Entry.FORWARDED, outId);
        this.lastInExt = ext;
        this.lastInRaw = d.pictureId;
        out.pictureId = outId;
      } else {
        const slot = ext & RING_MASK;
        const state = this.ringState[slot]!;
        if (this.ringExt[slot] !== ext || state === Entry.EMPTY || state === Entry.DROPPED) return false;
        if (state === Entry.MISSING) this.ringState[slot] = Entry.FORWARDED;
        out.pictureId = this.ringOut[slot]!;
      }
      out.hasPictureId = true;
    }
    out.hasTl0PicIdx = d.hasTl0PicIdx;
    out.tl0PicIdx = 0;
    if (d.hasTl0PicIdx) {
      const v = (d.tl0PicIdx - this.tl0PicIdxOffset) & TL0PICIDX_MASK;
      if (this.lastOutTl0PicIdx < 0 || isSerialNewer(v, this.lastOutTl0PicIdx, TL0PICIDX_MASK)) {
        this.lastOutTl0PicIdx = v;
      }
      out.tl0PicIdx = v;
    }
    out.hasKeyIdx = d.hasKeyIdx;
    out.keyIdx = 0;
    if (d.hasKeyIdx) {
      const v = (d.keyIdx - this.keyIdxOffset) & KEYIDX_MASK;
      if (this.lastOutKeyIdx < 0 || isSerialNewer(v, this.lastOutKeyIdx, KEYIDX_MASK)) this.lastOutKeyIdx = v;
      out.keyIdx = v;
    }
    return true;
  }

  /** Remembers the output id the next picture should get, before the picture id state is replaced. */
  private capturePictureIdContinuation(): void {
    if (this.isTrackingPictureId) {
      this.nextOutPictureId = (this.lastInExt + 1 - this.pictureIdOffset) & PICTURE_ID_MASK;
    }
  }

  /** Makes `d`'s picture the next new one (the following `mapPacket` registers it) with the continuing id. */
  private trackPictureIdFrom(d: Vp8Descriptor): void {
    const mask = d.isPictureIdLong ? PICTURE_ID_MASK : 0x7f;
    this.isTrackingPictureId = true;
    this.lastInRaw = (d.pictureId - 1) & mask;
    this.lastInExt = d.pictureId - 1;
    this.pictureIdOffset = this.nextOutPictureId < 0 ? 0 : d.pictureId - this.nextOutPictureId;
  }

  /**
   * Signed distance from the newest picture to `d`'s, in the picture id space of `d`'s form (7 or 15 bits):
   * the RFC lets a sender move from 7 to 15 bits after 127, so the newest raw id is compared in that width.
   */
  private pictureIdDelta(d: Vp8Descriptor): number {
    const modulus = d.isPictureIdLong ? 0x8000 : 0x80;
    const delta = (d.pictureId - this.lastInRaw) & (modulus - 1);
    return delta >= modulus >> 1 ? delta - modulus : delta;
  }

  /** Reserves output ids for pictures between the newest and `ext` not seen yet (lost or reordered). */
  private markMissingUpTo(ext: number): void {
    const first = Math.max(this.lastInExt + 1, ext - RING_SIZE + 1);
    for (let e = first; e < ext; e++) {
      this.setEntry(e, Entry.MISSING, (e - this.pictureIdOffset) & PICTURE_ID_MASK);
    }
  }

  private setEntry(ext: number, state: number, outId: number): void {
    const slot = ext & RING_MASK;
    this.ringExt[slot] = ext;
    this.ringState[slot] = state;
    this.ringOut[slot] = outId;
  }
}

/** True when `a` follows `b` in a sequence of `mask + 1` values (within half the range). */
function isSerialNewer(a: number, b: number, mask: number): boolean {
  const d = (a - b) & mask;
  return d !== 0 && d <= mask >> 1;
}
