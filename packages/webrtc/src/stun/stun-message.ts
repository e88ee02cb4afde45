// STUN message parsing and encoding with MESSAGE-INTEGRITY (HMAC-SHA1) and FINGERPRINT (CRC-32),
// RFC 8489 sections 5, 14 and 14.7 (https://www.rfc-editor.org/rfc/rfc8489). Short- and long-term keys.
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { crc32 } from './crc32.js';
import {
  STUN_FINGERPRINT_XOR,
  STUN_HEADER_BYTES,
  STUN_MAGIC_COOKIE,
  STUN_TRANSACTION_ID_BYTES,
  StunAttr,
  stunClassOf,
  stunMessageType,
  stunMethodOf,
} from './stun-constants.js';
import type { StunClass } from './stun-constants.js';

export interface StunAttribute {
  type: number;
  /** The value without padding. For parsed messages a view into the datagram (copy it to keep it). */
  value: Uint8Array;
}

export interface StunMessage {
  method: number;
  cls: StunClass;
  /** 12 bytes; a view into `raw` for parsed messages. */
  transactionId: Buffer;
  /** All attributes in wire order, unknown ones included; MESSAGE-INTEGRITY and FINGERPRINT too. */
  attributes: StunAttribute[];
  /** The whole message as received (a view, not a copy). */
  raw: Buffer;
  /** Offset in `raw` of the MESSAGE-INTEGRITY attribute header, or -1. */
  integrityOffset: number;
  /** Offset in `raw` of the FINGERPRINT attribute header, or -1. */
  fingerprintOffset: number;
}

export type StunParseResult = { ok: true; message: StunMessage } | { ok: false; error: string };

const MI_ATTR_BYTES = 4 + 20;
const FP_ATTR_BYTES = 4 + 4;

/** True when `buf` looks like a STUN message: first two bits zero, magic cookie, sane length. */
export function isStunMessage(buf: Uint8Array): boolean {
  if (buf.length < STUN_HEADER_BYTES || (buf[0]! & 0xc0) !== 0) return false;
  const len = (buf[2]! << 8) | buf[3]!;
  if ((len & 3) !== 0 || len + STUN_HEADER_BYTES !== buf.length) return false;
  return (
    buf[4] === 0x21 && buf[5] === 0x12 && buf[6] === 0xa4 && buf[7] === 0x42
  );
}

/** Parses a STUN message. Never throws: bad input gives `{ ok: false, error }`. */
export function parseStunMessage(buf: Buffer): StunParseResult {
  if (buf.length < STUN_HEADER_BYTES) return { ok: false, error: 'shorter than a STUN header' };
  if ((buf[0]! & 0xc0) !== 0) return { ok: false, error: 'first two bits are not zero' };
  if (buf.readUInt32BE(4) !== STUN_MAGIC_COOKIE) return { ok: false, error: 'no magic cookie' };
  const len = buf.readUInt16BE(2);
  if ((len & 3) !== 0) return { ok: false, error: 'length is not a multiple of 4' };
  if (len + STUN_HEADER_BYTES !== buf.length) return { ok: false, error: 'length does not match the datagram' };
  const type = buf.readUInt16BE(0);
  const attributes: StunAttribute[] = [];
  let integrityOffset = -1;
  let fingerprintOffset = -1;
  let off = STUN_HEADER_BYTES;
  while (off < buf.length) {
    if (off + 4 > buf.length) return { ok: false, error: 'truncated attribute header' };
    const attrType = buf.readUInt16BE(off);
    const attrLen = buf.readUInt16BE(off + 2);
    const end = off + 4 + attrLen;
    if (end > buf.length) return { ok: false, error: `attribute 0x${attrType.toString(16)} runs past the message` };
    if (fingerprintOffset >= 0) return { ok: false, error: 'attribute after FINGERPRINT' };
    const value = buf.subarray(off + 4, end);
    if (attrType === StunAttr.fingerprint) {
      if (attrLen !== 4) return { ok: false, error: 'bad FINGERPRINT length' };
      fingerprintOffset = off;
      attributes.push({ type: attrType, value });
    } else if (integrityOffset >= 0) {
      // RFC 8489 14.5: attributes after MESSAGE-INTEGRITY (other than FINGERPRINT) are ignored.
    } else {
      if (attrType === StunAttr.messageIntegrity) {
        if (attrLen !== 20) return { ok: false, error: 'bad MESSAGE-INTEGRITY length' };
        integrityOffset = off;
      }
      attributes.push({ type: attrType, value });
    }
    off = end + ((4 - (attrLen & 3)) & 3);
  }
  return {
    ok: true,
    message: {
      method: stunMethodOf(type),
      cls: stunClassOf(type),
      transactionId: buf.subarray(8, 8 + STUN_TRANSACTION_ID_BYTES),
      attributes,
      raw: buf,
      integrityOffset,
      fingerprintOffset,
    },
  };
}

/** The first attribute of `type`, or undefined. */
export function getStunAttribute(msg: StunMessage, type: number): Uint8Array | undefined {
  for (const a of msg.attributes) if (a.type === type) return a.value;
  return undefined;
}

export function hasStunAttribute(msg: StunMessage, type: number): boolean {
  return getStunAttribute(msg, type) !== undefined;
}

/** Short-term credential key (RFC 8489 9.1): the password's UTF-8 bytes (SASLprep/OpaqueString not applied). */
export function shortTermKey(password: string): Buffer {
  return Buffer.from(password, 'utf8');
}

/** Long-term credential key (RFC 8489 9.2.2): MD5(username ":" realm ":" password), no SASLprep. */
export function longTermKey(username: string, realm: string, password: string): Buffer {
  return createHash('md5').update(`${username}:${realm}:${password}`, 'utf8').digest();
}

function hmacOverPrefix(raw: Uint8Array, prefixBytes: number, key: Uint8Array): Buffer {
  // The length field must cover up to the end of MESSAGE-INTEGRITY (RFC 8489 14.5).
  const lenField = Buffer.allocUnsafe(2);
  lenField.writeUInt16BE(prefixBytes - STUN_HEADER_BYTES + MI_ATTR_BYTES, 0);
  return createHmac('sha1', key)
    .update(raw.subarray(0, 2))
    .update(lenField)
    .update(raw.subarray(4, prefixBytes))
    .digest();
}

function fingerprintOverPrefix(raw: Uint8Array, prefixBytes: number): number {
  const lenField = new Uint8Array(2);
  const len = prefixBytes - STUN_HEADER_BYTES + FP_ATTR_BYTES;
  lenField[0] = len >> 8;
  lenField[1] = len & 0xff;
  let c = crc32(raw.subarray(0, 2));
  c = crc32(lenField, c);
  c = crc32(raw.subarray(4, prefixBytes), c);
  return (c ^ STUN_FINGERPRINT_XOR) >>> 0;
}

/** Checks MESSAGE-INTEGRITY against `key`. False when absent. Never throws. */
export function verifyMessageIntegrity(msg: StunMessage, key: Uint8Array): boolean {
  const off = msg.integrityOffset;
  if (off < 0) return false;
  const expected = hmacOverPrefix(msg.raw, off, key);
  return timingSafeEqual(expected, msg.raw.subarray(off + 4, off + MI_ATTR_BYTES));
}

/** Checks FINGERPRINT. Returns undefined when the message has none. */
export function verifyFingerprint(msg: StunMessage): boolean | undefined {
  const off = msg.fingerprintOffset;
  if (off < 0) return undefined;
  return fingerprintOverPrefix(msg.raw, off) === msg.raw.readUInt32BE(off + 4);
}

export interface StunMessageInit {
  method: number;
  cls: StunClass;
  transactionId: Uint8Array;
  /** Attributes to write in order, without MESSAGE-INTEGRITY and FINGERPRINT (see options). */
  attributes: readonly StunAttribute[];
}

export interface StunEncodeOptions {
  /** Appends MESSAGE-INTEGRITY keyed with this (see shortTermKey / longTermKey). */
  integrityKey?: Uint8Array;
  /** Appends FINGERPRINT. */
  fingerprint?: boolean;
  /** Padding byte value (any value is legal; default 0). */
  paddingByte?: number;
}

/** Encodes a STUN message into a new Buffer. Throws only on programmer error (bad sizes). */
export function encodeStunMessage(init: StunMessageInit, opts: StunEncodeOptions = {}): Buffer {
  if (init.transactionId.length !== STUN_TRANSACTION_ID_BYTES) throw new Error('transaction id must be 12 bytes');
  let total = STUN_HEADER_BYTES;
  for (const a of init.attributes) {
    if (a.value.length > 0xffff) throw new Error('attribute value too long');
    total += 4 + ((a.value.length + 3) & ~3);
  }
  const attrsEnd = total;
  if (opts.integrityKey) total += MI_ATTR_BYTES;
  if (opts.fingerprint) total += FP_ATTR_BYTES;
  const out = Buffer.alloc(total, opts.paddingByte ?? 0);
  out.writeUInt16BE(stunMessageType(init.method, init.cls), 0);
  out.writeUInt16BE(attrsEnd - STUN_HEADER_BYTES, 2);
  out.writeUInt32BE(STUN_MAGIC_COOKIE, 4);
  out.set(init.transactionId, 8);
  let off = STUN_HEADER_BYTES;
  for (const a of init.attributes) {
    out.writeUInt16BE(a.type, off);
    out.writeUInt16BE(a.value.length, off + 2);
    out.set(a.value, off + 4);
    off += 4 + ((a.value.length + 3) & ~3);
  }
  if (opts.integrityKey) {
    const mac = hmacOverPrefix(out, off, opts.integrityKey);
    out.writeUInt16BE(StunAttr.messageIntegrity, off);
    out.writeUInt16BE(20, off + 2);
    out.set(mac, off + 4);
    off += MI_ATTR_BYTES;
  }
  out.writeUInt16BE(off - STUN_HEADER_BYTES, 2);
  if (opts.fingerprint) {
    const fp = fingerprintOverPrefix(out, off);
    out.writeUInt16BE(StunAttr.fingerprint, off);
    out.writeUInt16BE(4, off + 2);
    out.writeUInt32BE(fp, off + 4);
    off += FP_ATTR_BYTES;
    out.writeUInt16BE(off - STUN_HEADER_BYTES, 2);
  }
  return out;
}
