// Shared RTCP wire helpers: the common header (RFC 3550 §6.4.1) and padding to 32-bit words.
// https://www.rfc-editor.org/rfc/rfc3550#section-6.4.1

export const RTCP_HEADER_LENGTH = 4;

/**
 * Allocates a packet of `bodyLength` bytes after the 4-byte header, padded to a 32-bit boundary
 * (with the P bit and a count byte when `usePaddingBit`, else with zero bytes inside the body),
 * and writes the header. Returns the buffer; the body starts at offset 4.
 */
export function allocRtcp(
  count: number,
  packetType: number,
  bodyLength: number,
  usePaddingBit = false,
): Buffer {
  const unpadded = RTCP_HEADER_LENGTH + bodyLength;
  const total = (unpadded + 3) & ~3;
  const padding = total - unpadded;
  const buf = Buffer.alloc(total);
  const hasPaddingBit = usePaddingBit && padding > 0;
  buf[0] = 0x80 | (hasPaddingBit ? 0x20 : 0) | (count & 0x1f);
  buf[1] = packetType;
  buf.writeUInt16BE(total / 4 - 1, 2);
  if (hasPaddingBit) buf[total - 1] = padding;
  return buf;
}

const utf8Decoder = new TextDecoder('utf-8');

export function decodeText(b: Uint8Array): string {
  return utf8Decoder.decode(b);
}

export function encodeText(s: string): Buffer {
  return Buffer.from(s, 'utf8');
}
