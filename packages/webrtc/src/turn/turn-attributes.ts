// Typed values of the TURN attributes the server reads (RFC 8656 section 18). Decoders never throw.
import { StunAttr } from '../stun/stun-constants.js';
import { decodeUint32, decodeXorMappedAddress } from '../stun/stun-attributes.js';
import { getStunAttribute } from '../stun/stun-message.js';
import type { StunAddress } from '../stun/stun-attributes.js';
import type { StunMessage } from '../stun/stun-message.js';

/** REQUESTED-TRANSPORT value for UDP (the protocol number, RFC 8656 18.7). */
export const TRANSPORT_UDP = 17;

/** Comprehension-required attributes (type < 0x8000) this server understands; any other is answered with 420. */
export const KNOWN_REQUIRED_ATTRIBUTES: ReadonlySet<number> = new Set([
  StunAttr.mappedAddress, StunAttr.username, StunAttr.messageIntegrity, StunAttr.errorCode, StunAttr.unknownAttributes,
  StunAttr.realm, StunAttr.nonce, StunAttr.xorMappedAddress, StunAttr.channelNumber, StunAttr.lifetime,
  StunAttr.xorPeerAddress, StunAttr.data, StunAttr.xorRelayedAddress, StunAttr.requestedAddressFamily,
  StunAttr.evenPort, StunAttr.requestedTransport, StunAttr.reservationToken, StunAttr.priority, StunAttr.useCandidate,
]);

/** Comprehension-required attributes of `msg` that the server does not understand (for 420 + UNKNOWN-ATTRIBUTES). */
export function unknownRequiredAttributes(msg: StunMessage): number[] {
  const out: number[] = [];
  for (const a of msg.attributes) if (a.type < 0x8000 && !KNOWN_REQUIRED_ATTRIBUTES.has(a.type) && !out.includes(a.type)) out.push(a.type);
  return out;
}

export function encodeUnknownAttributes(types: readonly number[]): Uint8Array {
  const out = Buffer.alloc(types.length * 2);
  types.forEach((t, i) => out.writeUInt16BE(t, i * 2));
  return out;
}

/** The protocol number of REQUESTED-TRANSPORT, undefined when absent or malformed. */
export function requestedTransport(msg: StunMessage): number | undefined {
  const v = getStunAttribute(msg, StunAttr.requestedTransport);
  return v !== undefined && v.length === 4 ? v[0] : undefined;
}

/** REQUESTED-ADDRESS-FAMILY: 4, 6, 'bad' (malformed or an unknown family), or undefined when absent. */
export function requestedAddressFamily(msg: StunMessage): 4 | 6 | 'bad' | undefined {
  const v = getStunAttribute(msg, StunAttr.requestedAddressFamily);
  if (v === undefined) return undefined;
  if (v.length !== 4) return 'bad';
  return v[0] === 0x01 ? 4 : v[0] === 0x02 ? 6 : 'bad';
}

/** LIFETIME in seconds, undefined when absent or malformed. */
export function lifetimeSec(msg: StunMessage): number | undefined {
  const v = getStunAttribute(msg, StunAttr.lifetime);
  return v === undefined ? undefined : decodeUint32(v);
}

/** CHANNEL-NUMBER: the upper 16 bits (the RFFU half is ignored, RFC 8656 18.1). */
export function channelNumber(msg: StunMessage): number | undefined {
  const v = getStunAttribute(msg, StunAttr.channelNumber);
  return v !== undefined && v.length === 4 ? (v[0]! << 8) | v[1]! : undefined;
}

export function encodeChannelNumber(n: number): Uint8Array {
  return Uint8Array.of(n >> 8, n & 0xff, 0, 0);
}

/** Every XOR-PEER-ADDRESS, decoded; undefined when any of them is malformed. */
export function xorPeerAddresses(msg: StunMessage): StunAddress[] | undefined {
  const out: StunAddress[] = [];
  for (const a of msg.attributes) {
    if (a.type !== StunAttr.xorPeerAddress) continue;
    const addr = decodeXorMappedAddress(a.value, msg.transactionId);
    if (addr === undefined) return undefined;
    out.push(addr);
  }
  return out;
}

export function encodeRequestedTransport(protocol: number): Uint8Array {
  return Uint8Array.of(protocol, 0, 0, 0);
}
