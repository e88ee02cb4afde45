// FLV (Adobe's Flash Video file format, version 10.1, annex E): a 9-byte header, then tags, each followed by the size
// of the tag before it. An RTMP audio (8), video (9) or data (18) message payload is exactly an FLV tag's body, so an
// RTMP publish becomes an FLV stream by adding the 11-byte tag header: what ffmpeg reads on its stdin.

export const FLV_TAG = { audio: 8, video: 9, script: 18 } as const;

/** The FLV header for a file with audio and video, followed by PreviousTagSize0 (0). */
export function flvHeader(): Buffer {
  const b = Buffer.alloc(13);
  b.write('FLV', 0, 'latin1');
  b[3] = 1; // version
  b[4] = 0x04 | 0x01; // audio and video present
  b.writeUInt32BE(9, 5); // header size
  b.writeUInt32BE(0, 9); // PreviousTagSize0
  return b;
}

/** One tag: header, the payload (not copied), and the PreviousTagSize that follows it. */
export function flvTag(type: number, timestampMs: number, payload: Buffer): Buffer[] {
  const head = Buffer.alloc(11);
  head[0] = type & 0x1f;
  head.writeUIntBE(payload.length, 1, 3);
  const ts = timestampMs >>> 0;
  head.writeUIntBE(ts & 0xffffff, 4, 3);
  head[7] = (ts >>> 24) & 0xff; // TimestampExtended: the upper 8 bits
  head.writeUIntBE(0, 8, 3); // StreamID, always 0
  const tail = Buffer.alloc(4);
  tail.writeUInt32BE(11 + payload.length);
  return [head, payload, tail];
}

/** An FLV/RTMP video payload that starts a key frame (FrameType 1), which a decoder can begin at. */
export function isVideoKeyFrame(payload: Buffer): boolean {
  return payload.length > 0 && payload[0]! >> 4 === 1;
}

/** The codec id of an FLV/RTMP video payload (7 = AVC/H.264) or audio payload (10 = AAC), for the input's state. */
export function videoCodecId(payload: Buffer): number {
  return payload.length > 0 ? payload[0]! & 0x0f : -1;
}

export function audioFormat(payload: Buffer): number {
  return payload.length > 0 ? payload[0]! >> 4 : -1;
}
