// Reads, once per incoming packet, what the forwarders of every subscriber need from a video payload: key frame start,
// layer ids, frame boundaries and switching points, and the codec's descriptor fields that get rewritten. One inspector
// per published track, chosen by codec; it fills the receiver's reused PacketInfo (no allocation per packet).
import type { RtpHeader } from '@atrium/webrtc/rtp/index.js';
import type { PacketInfo } from '../down-track-source.js';
import { CodecKind, isKeyframeStart } from './keyframe.js';
import type { CodecKindValue } from './keyframe.js';
import { createVp8Descriptor, parseVp8Descriptor } from './vp8-descriptor.js';
import type { Vp8Descriptor } from './vp8-descriptor.js';
import { createVp9Descriptor, parseVp9Descriptor } from './vp9-descriptor.js';
import type { Vp9Descriptor } from './vp9-descriptor.js';
import { DependencyDescriptorInspector } from './dd-inspector.js';

export interface PayloadInspector {
  /** Fills `info`'s key frame, layer, boundary and switch-point fields (and the codec descriptor) from the payload. */
  inspect(buf: Uint8Array, h: RtpHeader, info: PacketInfo): void;
}

/** Inspectors that can also read the AV1 dependency descriptor extension once its id is known. */
export interface DescriptorAwareInspector extends PayloadInspector {
  /** The publisher's id for the dependency descriptor extension (0: not negotiated). */
  setDependencyDescriptorId(id: number): void;
}

/** Audio: every packet is decodable on its own; one layer. */
const audioInspector: PayloadInspector = {
  inspect(_buf, _h, info) {
    info.isKeyframe = true;
    info.temporal = 0;
    info.isFrameStart = true;
    info.isFrameEnd = true;
    info.isTemporalSwitchPoint = true;
    info.isSpatialSwitchPoint = true;
    info.codec.vp8 = null;
  },
};

/** A payload whose descriptor cannot be read: not a key frame, not a frame start, no switch point, one layer. */
function markUnreadable(info: PacketInfo, marker: boolean): void {
  info.isKeyframe = false;
  info.temporal = 0;
  info.isFrameStart = false;
  info.isFrameEnd = marker;
  info.isTemporalSwitchPoint = false;
  info.isSpatialSwitchPoint = false;
  info.codec.vp8 = null;
}

/** VP8 (RFC 7741): TID and the layer-sync bit for temporal layers; picture id / TL0PICIDX / KEYIDX for rewriting. */
class Vp8Inspector implements PayloadInspector {
  private readonly descriptor: Vp8Descriptor = createVp8Descriptor();

  inspect(buf: Uint8Array, h: RtpHeader, info: PacketInfo): void {
    const d = this.descriptor;
    if (!parseVp8Descriptor(buf, h.payloadOffset, h.payloadLength, d)) {
      markUnreadable(info, h.marker);
      return;
    }
    info.isKeyframe = d.isKeyframe;
    info.temporal = d.hasTid ? d.tid : 0;
    info.isFrameStart = d.isStartOfPartition && d.partitionIndex === 0;
    info.isFrameEnd = h.marker;
    // Y: this frame depends only on TL0 frames, so a decoder can take this layer up from here; TL0 frames always can.
    info.isTemporalSwitchPoint = !d.hasTid || d.tid === 0 || d.isLayerSync;
    info.isSpatialSwitchPoint = d.isKeyframe;
    info.codec.vp8 = d;
  }
}

/**
 * VP9 (RFC 9628): layer indices SID/TID, B/E frame boundaries, U (switching up point), P (inter-picture predicted:
 * a layer frame with P=0 is where that spatial layer can start). A publisher that also sends the dependency descriptor
 * is read from it instead (as LiveKit does), so VP9 and AV1 share one layer model.
 */
class Vp9Inspector implements DescriptorAwareInspector {
  private readonly descriptor: Vp9Descriptor = createVp9Descriptor();
  private readonly dd = new DependencyDescriptorInspector();

  setDependencyDescriptorId(id: number): void {
    this.dd.setExtensionId(id);
  }

  inspect(buf: Uint8Array, h: RtpHeader, info: PacketInfo): void {
    info.codec.vp8 = null;
    if (this.dd.inspect(buf, h, info)) return;
    const d = this.descriptor;
    if (!parseVp9Descriptor(buf, h.payloadOffset, h.payloadLength, d)) {
      markUnreadable(info, h.marker);
      return;
    }
    info.isKeyframe = d.isKeyframe;
    if (d.hasLayerIndices) {
      info.spatial = d.sid;
      info.temporal = d.tid;
    } else {
      info.temporal = 0;
    }
    info.isFrameStart = d.isStartOfFrame;
    info.isFrameEnd = d.isEndOfFrame;
    info.isTemporalSwitchPoint = info.temporal === 0 || d.isSwitchingUpPoint;
    info.isSpatialSwitchPoint = d.isStartOfFrame && !d.isInterPicturePredicted;
  }
}

/** AV1: layers from the dependency descriptor; without one, key frames by the aggregation header's N bit, one layer. */
class Av1Inspector implements DescriptorAwareInspector {
  private readonly dd = new DependencyDescriptorInspector();
  private readonly fallback = new KeyframeOnlyInspector(CodecKind.AV1);

  setDependencyDescriptorId(id: number): void {
    this.dd.setExtensionId(id);
  }

  inspect(buf: Uint8Array, h: RtpHeader, info: PacketInfo): void {
    info.codec.vp8 = null;
    if (!this.dd.inspect(buf, h, info)) this.fallback.inspect(buf, h, info);
  }
}

/** Codecs we cannot read layers of (H.264 has no layer ids in the payload): key frames only, one layer. */
class KeyframeOnlyInspector implements PayloadInspector {
  private readonly kind: CodecKindValue;
  constructor(kind: CodecKindValue) {
    this.kind = kind;
  }
  inspect(buf: Uint8Array, h: RtpHeader, info: PacketInfo): void {
    const isKey = isKeyframeStart(this.kind, buf, h.payloadOffset, h.payloadLength);
    info.isKeyframe = isKey;
    info.temporal = 0;
    info.isFrameStart = isKey;
    info.isFrameEnd = h.marker;
    info.isTemporalSwitchPoint = true;
    info.isSpatialSwitchPoint = isKey;
    info.codec.vp8 = null;
  }
}

export function isDescriptorAware(i: PayloadInspector): i is DescriptorAwareInspector {
  return typeof (i as Partial<DescriptorAwareInspector>).setDependencyDescriptorId === 'function';
}

export function createPayloadInspector(kind: CodecKindValue): PayloadInspector {
  switch (kind) {
    case CodecKind.AUDIO:
      return audioInspector;
    case CodecKind.VP8:
      return new Vp8Inspector();
    case CodecKind.VP9:
      return new Vp9Inspector();
    case CodecKind.AV1:
      return new Av1Inspector();
    default:
      return new KeyframeOnlyInspector(kind);
  }
}
