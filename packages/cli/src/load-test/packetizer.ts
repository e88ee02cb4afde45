// RTP packets of the load tester's simulated media: VP8 frames split into packets with the payload descriptor
// (RFC 7741 §4.2: picture id, TL0PICIDX, two temporal layers) and payload header (RFC 6386 §9.1 frame tag; key
// frames carry the start code and size), Opus frames (20 ms), and the header extensions a browser writes (mid, rid
// for simulcast, audio level; room for transport-wide sequence numbers and abs-send-time, stamped on the way out).
// Every payload ends with a 12-byte trailer (a marker and the send time) from which a subscriber on the same machine
// measures one-way delay; SFUs forward payloads untouched, so this works against any of them.
import { serializeRtpPacket } from '@atrium/webrtc';
import { writeVp8Descriptor, createVp8DescriptorFields, vp8DescriptorSize } from '@atrium/server/sfu/codec/vp8-descriptor.js';

export const TRAILER_BYTES = 12;
/** 'ATLT' */
export const TRAILER_MAGIC = 0x41544c54;
/** Largest RTP payload we send, as browsers keep packets near 1200 bytes. */
export const MAX_PAYLOAD_BYTES = 1100;

/** Wall-clock milliseconds with sub-millisecond precision, comparable between processes of one machine. */
export function wallClockMs(): number {
  return performance.timeOrigin + performance.now();
}

/** Negotiated header extension ids of one m-line (0: not negotiated, not written). */
export interface ExtensionIds {
  mid: number;
  rid: number;
  audioLevel: number;
  transportCc: number;
  absSendTime: number;
}

/** The extension block (RFC 8285 §4) for a stream: written once, copied into every packet. */
export function extensionBlock(ids: ExtensionIds, mid: string, rid: string, audioLevel?: number): Buffer {
  const extensions: { id: number; value: Uint8Array }[] = [];
  if (ids.mid > 0 && mid !== '') extensions.push({ id: ids.mid, value: Buffer.from(mid, 'latin1') });
  if (ids.rid > 0 && rid !== '') extensions.push({ id: ids.rid, value: Buffer.from(rid, 'latin1') });
  if (ids.audioLevel > 0 && audioLevel !== undefined) extensions.push({ id: ids.audioLevel, value: Uint8Array.of(audioLevel & 0x7f) });
  if (ids.transportCc > 0) extensions.push({ id: ids.transportCc, value: new Uint8Array(2) });
  if (ids.absSendTime > 0) extensions.push({ id: ids.absSendTime, value: new Uint8Array(3) });
  if (extensions.length === 0) return Buffer.alloc(0);
  // The block of an empty packet with these extensions: what follows its 12-byte fixed header.
  const empty = serializeRtpPacket({ payloadType: 0, sequenceNumber: 0, timestamp: 0, ssrc: 0, extensions, payload: new Uint8Array(0) });
  return empty.subarray(12);
}

/** Sequence numbers, SSRC, payload type and extension block of one outgoing RTP stream. */
export class RtpStreamWriter {
  readonly ssrc: number;
  payloadType: number;
  private extensions: Buffer;
  private seq: number;
  packetsWritten = 0;
  bytesWritten = 0;

  constructor(opts: { ssrc: number; payloadType: number; extensions: Buffer; firstSeq?: number }) {
    this.ssrc = opts.ssrc;
    this.payloadType = opts.payloadType;
    this.extensions = opts.extensions;
    this.seq = opts.firstSeq ?? Math.floor(Math.random() * 0x10000);
  }

  setExtensions(block: Buffer): void {
    this.extensions = block;
  }

  /** A packet with room for `payloadBytes` of payload at the returned `payloadOffset`; the header is written. */
  packet(payloadBytes: number, timestamp: number, isMarker: boolean): { buf: Buffer; payloadOffset: number } {
    const ext = this.extensions;
    const payloadOffset = 12 + ext.length;
    const buf = Buffer.allocUnsafe(payloadOffset + payloadBytes);
    buf[0] = ext.length > 0 ? 0x90 : 0x80;
    buf[1] = (isMarker ? 0x80 : 0) | (this.payloadType & 0x7f);
    buf.writeUInt16BE(this.seq, 2);
    buf.writeUInt32BE(timestamp >>> 0, 4);
    buf.writeUInt32BE(this.ssrc >>> 0, 8);
    ext.copy(buf, 12);
    this.seq = (this.seq + 1) & 0xffff;
    this.packetsWritten++;
    this.bytesWritten += buf.length;
    return { buf, payloadOffset };
  }
}

/** Writes the trailer into the last TRAILER_BYTES of `buf`. */
export function writeTrailer(buf: Buffer, sentAtMs: number): void {
  const at = buf.length - TRAILER_BYTES;
  buf.writeUInt32BE(TRAILER_MAGIC, at);
  buf.writeDoubleBE(sentAtMs, at + 4);
}

/** The send time in a payload's trailer, or NaN when the payload has none. */
export function readTrailer(buf: Buffer, payloadOffset: number, payloadLength: number): number {
  if (payloadLength < TRAILER_BYTES) return NaN;
  const at = payloadOffset + payloadLength - TRAILER_BYTES;
  if (buf.readUInt32BE(at) !== TRAILER_MAGIC) return NaN;
  return buf.readDoubleBE(at + 4);
}

/** Smallest VP8 frame we packetize: the descriptor, a key frame's payload header and the trailer fit. */
export const MIN_VP8_FRAME_BYTES = 10 + TRAILER_BYTES;

/** Packetizes synthetic VP8 frames of given sizes for one stream (one simulcast layer). */
export class Vp8Packetizer {
  private readonly fields = createVp8DescriptorFields();
  /** Every packet's descriptor has the same fields (picture id, TL0PICIDX, temporal layer), so the same size. */
  private readonly descriptorBytes: number;
  private pictureId = Math.floor(Math.random() * 0x8000);
  private tl0PicIdx = Math.floor(Math.random() * 0x100);
  private frameIndex = 0;
  framesWritten = 0;
  keyframesWritten = 0;

  constructor(private readonly width: number, private readonly height: number) {
    this.fields.hasPictureId = true;
    this.fields.hasTl0PicIdx = true;
    this.fields.hasTid = true;
    this.descriptorBytes = vp8DescriptorSize(this.fields);
  }

  /**
   * The packets of one frame of `frameBytes` (VP8 data, descriptors not counted). A key frame restarts the temporal
   * pattern; frames alternate temporal layers 0 and 1 (L1T2), TL0PICIDX counting the base layer's frames.
   */
  frame(writer: RtpStreamWriter, opts: { frameBytes: number; isKeyframe: boolean; timestamp: number; sentAtMs: number }): Buffer[] {
    const total = Math.max(MIN_VP8_FRAME_BYTES, opts.frameBytes);
    if (opts.isKeyframe) this.frameIndex = 0;
    const tid = this.frameIndex % 2;
    if (tid === 0) this.tl0PicIdx = (this.tl0PicIdx + 1) & 0xff;
    const f = this.fields;
    f.pictureId = this.pictureId;
    f.tl0PicIdx = this.tl0PicIdx;
    f.tid = tid;
    f.isLayerSync = tid !== 0;
    f.isNonReference = tid !== 0;
    const descriptorBytes = this.descriptorBytes;
    const count = Math.ceil(total / (MAX_PAYLOAD_BYTES - descriptorBytes));
    const out: Buffer[] = [];
    let left = total;
    for (let i = 0; i < count; i++) {
      const chunk = Math.max(TRAILER_BYTES + (i === 0 ? 10 : 0), Math.ceil(left / (count - i)));
      left -= chunk;
      const { buf, payloadOffset } = writer.packet(descriptorBytes + chunk, opts.timestamp, i === count - 1);
      f.isStartOfPartition = i === 0;
      writeVp8Descriptor(buf, payloadOffset, f);
      const data = payloadOffset + descriptorBytes;
      buf.fill(0x5a, data, buf.length);
      if (i === 0) this.writePayloadHeader(buf, data, total, opts.isKeyframe);
      writeTrailer(buf, opts.sentAtMs);
      out.push(buf);
    }
    this.pictureId = (this.pictureId + 1) & 0x7fff;
    this.frameIndex++;
    this.framesWritten++;
    if (opts.isKeyframe) this.keyframesWritten++;
    return out;
  }

  /** RFC 6386 §9.1: frame tag (P bit 0 on key frames, show_frame set, first partition size), key frame start code and size. */
  private writePayloadHeader(buf: Buffer, at: number, frameBytes: number, isKeyframe: boolean): void {
    const firstPartition = Math.min(0x7ffff, Math.floor(frameBytes / 4));
    const tag = (isKeyframe ? 0 : 1) | (1 << 4) | (firstPartition << 5);
    buf[at] = tag & 0xff;
    buf[at + 1] = (tag >> 8) & 0xff;
    buf[at + 2] = (tag >> 16) & 0xff;
    if (!isKeyframe) return;
    buf[at + 3] = 0x9d;
    buf[at + 4] = 0x01;
    buf[at + 5] = 0x2a;
    buf.writeUInt16LE(this.width & 0x3fff, at + 6);
    buf.writeUInt16LE(this.height & 0x3fff, at + 8);
  }
}

/** An Opus packet: a TOC byte (config 15: hybrid full band 20 ms, mono, one frame), filler and the trailer. */
export function opusPacket(writer: RtpStreamWriter, opts: { payloadBytes: number; timestamp: number; sentAtMs: number }): Buffer {
  const bytes = Math.max(1 + TRAILER_BYTES, opts.payloadBytes);
  const { buf, payloadOffset } = writer.packet(bytes, opts.timestamp, false);
  buf[payloadOffset] = 15 << 3;
  buf.fill(0xa5, payloadOffset + 1, buf.length);
  writeTrailer(buf, opts.sentAtMs);
  return buf;
}
