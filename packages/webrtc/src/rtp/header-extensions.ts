// RTP header extension elements (one-byte and two-byte forms), found and rewritten in place.
// RFC 8285 §4 https://www.rfc-editor.org/rfc/rfc8285#section-4
import type { RtpHeader } from './rtp-header.js';

export const ONE_BYTE_PROFILE = 0xbede;
/** Two-byte profiles are 0x1000-0x100F (the low 4 bits are "appbits"). */
export const TWO_BYTE_PROFILE = 0x1000;

export function isOneByteProfile(profile: number): boolean {
  return profile === ONE_BYTE_PROFILE;
}

export function isTwoByteProfile(profile: number): boolean {
  return (profile & 0xfff0) === TWO_BYTE_PROFILE;
}

// Length of the element found by the last locate() call (single-threaded, so a module slot is safe).
let foundLength = -1;

function locate(buf: Uint8Array, h: RtpHeader, id: number): number {
  foundLength = -1;
  if (!h.extension || id <= 0) return -1;
  let pos = h.extensionOffset;
  const end = Math.min(pos + h.extensionLength, buf.length);
  if (h.extensionProfile === ONE_BYTE_PROFILE) {
    if (id > 14) return -1;
    while (pos < end) {
      const b = buf[pos]!;
      if (b === 0) {
        pos++;
        continue;
      }
      const elemId = b >>> 4;
      if (elemId === 15) return -1; // RFC 8285 §4.2: stop processing
      const len = (b & 0x0f) + 1;
      if (pos + 1 + len > end) return -1;
      if (elemId === id) {
        foundLength = len;
        return pos + 1;
      }
      pos += 1 + len;
    }
    return -1;
  }
  if (isTwoByteProfile(h.extensionProfile)) {
    if (id > 255) return -1;
    while (pos < end) {
      const elemId = buf[pos]!;
      if (elemId === 0) {
        pos++;
        continue;
      }
      if (pos + 2 > end) return -1;
      const len = buf[pos + 1]!;
      if (pos + 2 + len > end) return -1;
      if (elemId === id) {
        foundLength = len;
        return pos + 2;
      }
      pos += 2 + len;
    }
  }
  return -1;
}

/** Byte offset of the value of extension `id` in `buf`, or -1 if absent or malformed. */
export function findHeaderExtension(buf: Uint8Array, h: RtpHeader, id: number): number {
  return locate(buf, h, id);
}

/** Offset of the value of extension `id` when it is present with exactly `length` bytes, else -1 (one scan). */
export function findHeaderExtensionOfLength(buf: Uint8Array, h: RtpHeader, id: number, length: number): number {
  const at = locate(buf, h, id);
  return at >= 0 && foundLength === length ? at : -1;
}

/** Length in bytes of the value of extension `id`, or -1 if absent. */
export function headerExtensionLength(buf: Uint8Array, h: RtpHeader, id: number): number {
  return locate(buf, h, id) < 0 ? -1 : foundLength;
}

/**
 * Rewrites extension ids in place: idMap[oldId] = newId. A newId of 0 (or an id missing from the map,
 * or one the form cannot carry: above 14 in the one-byte form) drops the element by turning all its
 * bytes into zero padding bytes (RFC 8285 §4.2/§4.3). Stops at a malformed element. No allocation.
 */
export function rewriteHeaderExtensionIds(buf: Uint8Array, h: RtpHeader, idMap: Uint8Array): void {
  if (!h.extension) return;
  let pos = h.extensionOffset;
  const end = Math.min(pos + h.extensionLength, buf.length);
  if (h.extensionProfile === ONE_BYTE_PROFILE) {
    while (pos < end) {
      const b = buf[pos]!;
      if (b === 0) {
        pos++;
        continue;
      }
      const elemId = b >>> 4;
      if (elemId === 15) return;
      const len = (b & 0x0f) + 1;
      if (pos + 1 + len > end) return;
      const newId = idMap[elemId] ?? 0;
      // Dropped elements become padding bytes (a loop: elements are a few bytes, a fill() call costs more).
      if (newId === 0 || newId > 14) for (let i = pos + len; i >= pos; i--) buf[i] = 0;
      else buf[pos] = (newId << 4) | (b & 0x0f);
      pos += 1 + len;
    }
    return;
  }
  if (isTwoByteProfile(h.extensionProfile)) {
    while (pos < end) {
      const elemId = buf[pos]!;
      if (elemId === 0) {
        pos++;
        continue;
      }
      if (pos + 2 > end) return;
      const len = buf[pos + 1]!;
      if (pos + 2 + len > end) return;
      const newId = idMap[elemId] ?? 0;
      if (newId === 0) for (let i = pos + 1 + len; i >= pos; i--) buf[i] = 0;
      else buf[pos] = newId;
      pos += 2 + len;
    }
  }
}

/**
 * Makes room for extension `id` with `dataLength` value bytes in the packet `buf[0, length)` when it does not carry
 * that element yet: appends the element to the extension block (one-byte form when it fits, RFC 8285 §4.2; the block's
 * own form otherwise), or adds a one-byte-form block after the CSRCs when the packet has none, and moves the payload
 * back. The value bytes are zero (a send stage fills them). `h` describes `buf` before the call and is not updated:
 * re-parse the header when the returned length differs from `length`. Returns the new packet length, `length` when
 * the element was already there, or -1 when `buf` has no room for it or the header is malformed.
 */
export function insertHeaderExtension(buf: Uint8Array, length: number, h: RtpHeader, id: number, dataLength: number): number {
  if (id <= 0 || dataLength <= 0 || dataLength > 16) return -1;
  if (h.extension && locate(buf, h, id) >= 0) return length;
  let insertAt: number;
  let added: number;
  if (!h.extension) {
    if (id > 14) return -1;
    // A new block: profile + length word, then the element padded to a word.
    const words = Math.ceil((1 + dataLength) / 4);
    added = 4 + words * 4;
    insertAt = 12 + 4 * h.csrcCount;
    if (insertAt > length || length + added > buf.length) return -1;
    buf.copyWithin(insertAt + added, insertAt, length);
    buf.fill(0, insertAt, insertAt + added);
    buf[insertAt] = ONE_BYTE_PROFILE >>> 8;
    buf[insertAt + 1] = ONE_BYTE_PROFILE & 0xff;
    buf[insertAt + 2] = words >>> 8;
    buf[insertAt + 3] = words & 0xff;
    buf[insertAt + 4] = (id << 4) | (dataLength - 1);
    buf[0] = buf[0]! | 0x10;
    return length + added;
  }
  const isOneByte = h.extensionProfile === ONE_BYTE_PROFILE;
  if (isOneByte ? id > 14 : !isTwoByteProfile(h.extensionProfile) || id > 255) return -1;
  const elementBytes = (isOneByte ? 1 : 2) + dataLength;
  const words = Math.ceil(elementBytes / 4);
  added = words * 4;
  insertAt = h.extensionOffset + h.extensionLength;
  if (insertAt > length || length + added > buf.length) return -1;
  buf.copyWithin(insertAt + added, insertAt, length);
  buf.fill(0, insertAt, insertAt + added);
  if (isOneByte) {
    buf[insertAt] = (id << 4) | (dataLength - 1);
  } else {
    buf[insertAt] = id;
    buf[insertAt + 1] = dataLength;
  }
  const lengthWords = h.extensionLength / 4 + words;
  buf[h.extensionOffset - 2] = lengthWords >>> 8;
  buf[h.extensionOffset - 1] = lengthWords & 0xff;
  return length + added;
}
