// Per-packet layer facts from the AV1 dependency descriptor extension (AV1 RTP spec Appendix A), which libwebrtc sends
// for AV1 and VP9 (and which is the only way to see AV1's layers without parsing OBUs): spatial/temporal ids, frame
// start/end, and switching points from the decode target indications. Keeps the latest frame dependency structure
// (sent with each key frame) and a (spatial, temporal) -> decode target table built once per structure.
import {
  DecodeTargetIndication, createDependencyDescriptor, decodeTargetLayers, findHeaderExtension, headerExtensionLength,
  parseDependencyDescriptor,
} from '@atrium/webrtc/rtp/index.js';
import type { DependencyDescriptor, DependencyStructure, RtpHeader } from '@atrium/webrtc/rtp/index.js';
import type { PacketInfo } from '../down-track-source.js';

const MAX_SPATIAL_IDS = 4;
const MAX_TEMPORAL_IDS = 8;

export class DependencyDescriptorInspector {
  private extensionId = 0;
  private structure: DependencyStructure | undefined;
  /** Decode target of each (spatial, temporal) layer of the current structure, -1 when none. */
  private readonly targetOf = new Int8Array(MAX_SPATIAL_IDS * MAX_TEMPORAL_IDS).fill(-1);
  private readonly descriptor: DependencyDescriptor = createDependencyDescriptor();
  /** Descriptors that could not be read (no structure yet, malformed). */
  unreadable = 0;

  /** The publisher's id for the extension (0: not negotiated: `inspect` then always returns false). */
  setExtensionId(id: number): void {
    this.extensionId = id > 0 && id < 256 ? id : 0;
  }

  /** The structure currently in force (the latest key frame's), for writers that re-emit descriptors. */
  get currentStructure(): DependencyStructure | undefined {
    return this.structure;
  }

  /** The descriptor of the last packet `inspect` read (valid until the next call). */
  get last(): DependencyDescriptor {
    return this.descriptor;
  }

  /**
   * Reads the packet's descriptor into `info` (layers, boundaries, switching points, key frame = a frame carrying a new
   * structure). False when the packet has none or it cannot be read; `info` is then left for another inspector.
   */
  inspect(buf: Uint8Array, h: RtpHeader, info: PacketInfo): boolean {
    const id = this.extensionId;
    if (id === 0 || !h.extension) return false;
    const offset = findHeaderExtension(buf, h, id);
    if (offset < 0) return false;
    const length = headerExtensionLength(buf, h, id);
    const d = this.descriptor;
    if (!parseDependencyDescriptor(buf, offset, length, this.structure, d)) {
      this.unreadable++;
      return false;
    }
    info.codec.ddOffset = offset;
    info.codec.ddFrameNumber = d.frameNumber;
    const attached = d.attachedStructure;
    if (attached !== undefined && attached !== this.structure) this.useStructure(attached);
    const s = d.spatialId;
    const t = d.temporalId;
    info.spatial = s;
    info.temporal = t;
    info.isFrameStart = d.isStartOfFrame;
    info.isFrameEnd = d.isEndOfFrame;
    info.isKeyframe = attached !== undefined && d.isStartOfFrame;
    const target = s < MAX_SPATIAL_IDS && t < MAX_TEMPORAL_IDS ? this.targetOf[s * MAX_TEMPORAL_IDS + t]! : -1;
    // A decoder can start (or move up to) this layer at a frame whose indication for its decode target is "switch".
    const isSwitch = info.isKeyframe || (target >= 0 && d.dtis[target] === DecodeTargetIndication.Switch);
    info.isTemporalSwitchPoint = isSwitch;
    info.isSpatialSwitchPoint = isSwitch;
    return true;
  }

  private useStructure(structure: DependencyStructure): void {
    this.structure = structure;
    this.targetOf.fill(-1);
    const layers = decodeTargetLayers(structure);
    layers.forEach((l, i) => {
      if (l.spatialId < MAX_SPATIAL_IDS && l.temporalId < MAX_TEMPORAL_IDS) {
        const slot = l.spatialId * MAX_TEMPORAL_IDS + l.temporalId;
        if (this.targetOf[slot] === -1) this.targetOf[slot] = i;
      }
    });
  }
}
