// Typed encoders/decoders for STUN attribute values: (XOR-)MAPPED-ADDRESS, ERROR-CODE, PRIORITY,
// ICE-CONTROLLED/-CONTROLLING (RFC 8489 section 14, RFC 8445 section 16.1). Decoders never throw.
import { isIPv4, isIPv6 } from 'node:net';
import { STUN_MAGIC_COOKIE, STUN_HEADER_BYTES, StunAttr } from './stun-constants.js';

export interface StunAddress {
  family: 4 | 6;
  address: string;
  port: number;
}

/** Parses a textual IPv4 address into 4 bytes, or undefined. */
export function ipv4ToBytes(address: string): Uint8Array | undefined {
  if (!isIPv4(address)) return undefined;
  const parts = address.split('.');
  return Uint8Array.from(parts, (p) => Number(p));
}

/** Parses a textual IPv6 address (with an optional zone and embedded IPv4 tail) into 16 bytes. */
export function ipv6ToBytes(input: string): Uint8Array | undefined {
  const address = input.split('%')[0] ?? '';
  if (!isIPv6(address)) return undefined;
  const out = new Uint8Array(16);
  const [headText = '', tailText] = address.split('::');
  const toGroups = (text: string): number[] => {
    if (text === '') return [];
    const groups: number[] = [];
    for (const part of text.split(':')) {
      if (part.includes('.')) {
        const v4 = ipv4ToBytes(part)!;
        groups.push((v4[0]! << 8) | v4[1]!, (v4[2]! << 8) | v4[3]!);
      } else groups.push(parseInt(part, 16));
    }
    return groups;
  };
  const head = toGroups(headText);
  const tail = tailText === undefined ? [] : toGroups(tailText);
  const groups = [...head, ...new Array<number>(8 - head.length - tail.length).fill(0), ...tail];
  groups.forEach((g, i) => {
    out[i * 2] = g >> 8;
    out[i * 2 + 1] = g & 0xff;
  });
  return out;
}

/** Formats 16 bytes as an RFC 5952 IPv6 string (lowercase, longest zero run of 2+ groups as '::'). */
export function bytesToIpv6(b: Uint8Array): string {
  const groups: number[] = [];
  for (let i = 0; i < 8; i++) groups.push((b[i * 2]! << 8) | b[i * 2 + 1]!);
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestLen < 2) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLen).join(':')}`;
}

function encodeAddress(addr: StunAddress, xorWith: Uint8Array | undefined): Uint8Array {
  const ip = addr.family === 4 ? ipv4ToBytes(addr.address) : ipv6ToBytes(addr.address);
  if (!ip) throw new Error(`not an IPv${addr.family} address: ${addr.address}`);
  const out = new Uint8Array(4 + ip.length);
  out[1] = addr.family === 4 ? 0x01 : 0x02;
  let port = addr.port;
  if (xorWith) port ^= STUN_MAGIC_COOKIE >>> 16;
  out[2] = (port >> 8) & 0xff;
  out[3] = port & 0xff;
  for (let i = 0; i < ip.length; i++) out[4 + i] = xorWith ? ip[i]! ^ xorWith[i]! : ip[i]!;
  return out;
}

function decodeAddress(v: Uint8Array, xorWith: Uint8Array | undefined): StunAddress | undefined {
  if (v.length < 4) return undefined;
  const fam = v[1];
  const ipLen = fam === 0x01 ? 4 : fam === 0x02 ? 16 : 0;
  if (ipLen === 0 || v.length !== 4 + ipLen) return undefined;
  let port = (v[2]! << 8) | v[3]!;
  if (xorWith) port ^= STUN_MAGIC_COOKIE >>> 16;
  const ip = new Uint8Array(ipLen);
  for (let i = 0; i < ipLen; i++) ip[i] = xorWith ? v[4 + i]! ^ xorWith[i]! : v[4 + i]!;
  return ipLen === 4
    ? { family: 4, address: ip.join('.'), port }
    : { family: 6, address: bytesToIpv6(ip), port };
}

/** The 16-byte XOR key: magic cookie followed by the transaction id. */
function xorKey(transactionId: Uint8Array): Uint8Array {
  const k = new Uint8Array(16);
  k[0] = 0x21;
  k[1] = 0x12;
  k[2] = 0xa4;
  k[3] = 0x42;
  k.set(transactionId.subarray(0, 12), 4);
  return k;
}

/** Picks the family from the address text (IPv4-mapped IPv6 is written as IPv6). */
export function stunAddressOf(address: string, port: number): StunAddress {
  return { family: isIPv4(address) ? 4 : 6, address, port };
}

export function encodeMappedAddress(addr: StunAddress): Uint8Array {
  return encodeAddress(addr, undefined);
}
export function decodeMappedAddress(v: Uint8Array): StunAddress | undefined {
  return decodeAddress(v, undefined);
}
export function encodeXorMappedAddress(addr: StunAddress, transactionId: Uint8Array): Uint8Array {
  return encodeAddress(addr, xorKey(transactionId));
}
export function decodeXorMappedAddress(v: Uint8Array, transactionId: Uint8Array): StunAddress | undefined {
  return decodeAddress(v, xorKey(transactionId));
}

export interface StunErrorCode {
  code: number;
  reason: string;
}
export function encodeErrorCode(e: StunErrorCode): Uint8Array {
  const reason = Buffer.from(e.reason, 'utf8');
  const out = new Uint8Array(4 + reason.length);
  out[2] = Math.floor(e.code / 100) & 0x07;
  out[3] = e.code % 100;
  out.set(reason, 4);
  return out;
}
export function decodeErrorCode(v: Uint8Array): StunErrorCode | undefined {
  if (v.length < 4) return undefined;
  const number = v[3]!;
  if (number > 99) return undefined;
  return { code: (v[2]! & 0x07) * 100 + number, reason: Buffer.from(v.subarray(4)).toString('utf8') };
}

export function encodeUint32(n: number): Uint8Array {
  const out = Buffer.alloc(4);
  out.writeUInt32BE(n >>> 0, 0);
  return out;
}
export function decodeUint32(v: Uint8Array): number | undefined {
  if (v.length !== 4) return undefined;
  return ((v[0]! << 24) | (v[1]! << 16) | (v[2]! << 8) | v[3]!) >>> 0;
}
/** ICE-CONTROLLED / ICE-CONTROLLING tie-breaker value. */
export function encodeUint64(n: bigint): Uint8Array {
  const out = Buffer.alloc(8);
  out.writeBigUInt64BE(BigInt.asUintN(64, n), 0);
  return out;
}
export function decodeUint64(v: Uint8Array): bigint | undefined {
  if (v.length !== 8) return undefined;
  return Buffer.from(v.buffer, v.byteOffset, 8).readBigUInt64BE(0);
}

/**
 * Fast path for the UDP mux: if `buf` is a STUN Binding request, returns the USERNAME bytes before
 * ':' (the recipient's ufrag) as a latin1 string, else undefined. Walks attributes without allocating
 * anything but the result. Never throws.
 */
export function peekBindingRequestUfrag(buf: Uint8Array): string | undefined {
  if (buf.length < STUN_HEADER_BYTES || buf[0] !== 0x00 || buf[1] !== 0x01) return undefined;
  if (buf[4] !== 0x21 || buf[5] !== 0x12 || buf[6] !== 0xa4 || buf[7] !== 0x42) return undefined;
  const end = STUN_HEADER_BYTES + ((buf[2]! << 8) | buf[3]!);
  if (end !== buf.length || (end & 3) !== 0) return undefined;
  let off = STUN_HEADER_BYTES;
  while (off + 4 <= end) {
    const type = (buf[off]! << 8) | buf[off + 1]!;
    const len = (buf[off + 2]! << 8) | buf[off + 3]!;
    if (off + 4 + len > end) return undefined;
    if (type === StunAttr.username) {
      let colon = off + 4;
      const stop = off + 4 + len;
      while (colon < stop && buf[colon] !== 0x3a) colon++;
      return Buffer.from(buf.buffer, buf.byteOffset + off + 4, colon - off - 4).toString('latin1');
    }
    off += 4 + ((len + 3) & ~3);
  }
  return undefined;
}
