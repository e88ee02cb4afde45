// TURN ChannelData messages (RFC 8656 section 12.4, https://www.rfc-editor.org/rfc/rfc8656#section-12.4): a 4-byte
// header (channel number, length) and the application data; on stream transports padded to a multiple of 4 bytes.

/** Channel numbers a client may bind (RFC 8656 section 12): 0x4000 through 0x4FFF. */
export const CHANNEL_NUMBER_MIN = 0x4000;
export const CHANNEL_NUMBER_MAX = 0x4fff;
export const CHANNEL_DATA_HEADER_BYTES = 4;

export function isValidChannelNumber(n: number): boolean {
  return n >= CHANNEL_NUMBER_MIN && n <= CHANNEL_NUMBER_MAX;
}

/**
 * True when the first byte puts `buf` in the ChannelData range (0x40..0x4F, RFC 7983 demultiplexing: 64..79).
 * Says nothing about the length: see parseChannelData.
 */
export function looksLikeChannelData(buf: Uint8Array): boolean {
  return buf.length >= CHANNEL_DATA_HEADER_BYTES && (buf[0]! & 0xf0) === 0x40;
}

export interface ChannelData {
  channel: number;
  /** A view into the input (copy it to keep it). */
  data: Buffer;
}

/**
 * Parses one ChannelData message. Over UDP the datagram may carry padding after the data (RFC 8656 12.5 allows a
 * datagram up to 3 bytes longer); anything shorter than the length field says, or more than 3 bytes longer, is
 * malformed. Never throws: undefined for bad input.
 */
export function parseChannelData(buf: Buffer): ChannelData | undefined {
  if (!looksLikeChannelData(buf)) return undefined;
  const channel = buf.readUInt16BE(0);
  if (!isValidChannelNumber(channel)) return undefined;
  const len = buf.readUInt16BE(2);
  const end = CHANNEL_DATA_HEADER_BYTES + len;
  if (end > buf.length || buf.length - end > 3) return undefined;
  return { channel, data: buf.subarray(CHANNEL_DATA_HEADER_BYTES, end) };
}

/** Encodes a ChannelData message; `padded` rounds it up to 4 bytes (required on TCP/TLS, RFC 8656 12.5). */
export function encodeChannelData(channel: number, data: Uint8Array, opts: { padded: boolean }): Buffer {
  if (!isValidChannelNumber(channel)) throw new Error(`channel number 0x${channel.toString(16)} is out of range`);
  if (data.length > 0xffff) throw new Error('ChannelData payload too long');
  const body = CHANNEL_DATA_HEADER_BYTES + data.length;
  const total = opts.padded ? (body + 3) & ~3 : body;
  // Unzeroed memory, on the relay's per-packet path: every byte is written below (padding zeroed explicitly).
  const out = Buffer.allocUnsafe(total);
  out.writeUInt16BE(channel, 0);
  out.writeUInt16BE(data.length, 2);
  out.set(data, CHANNEL_DATA_HEADER_BYTES);
  if (total > body) out.fill(0, body, total);
  return out;
}
