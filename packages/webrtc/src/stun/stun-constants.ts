// STUN constants: classes, methods and attribute types (RFC 8489, https://www.rfc-editor.org/rfc/rfc8489,
// the ICE attributes of RFC 8445 section 16.1 and the TURN methods and attributes of RFC 8656 sections 17-18).
export const STUN_MAGIC_COOKIE = 0x2112a442;
export const STUN_HEADER_BYTES = 20;
export const STUN_TRANSACTION_ID_BYTES = 12;
/** XORed into the CRC-32 of the FINGERPRINT attribute ("STUN" in ASCII). */
export const STUN_FINGERPRINT_XOR = 0x5354554e;

export const StunClass = {
  request: 0,
  indication: 1,
  success: 2,
  error: 3,
} as const;
export type StunClass = (typeof StunClass)[keyof typeof StunClass];

export const StunMethod = {
  binding: 0x001,
  // TURN (RFC 8656 section 17).
  allocate: 0x003,
  refresh: 0x004,
  send: 0x006,
  data: 0x007,
  createPermission: 0x008,
  channelBind: 0x009,
} as const;

export const StunAttr = {
  mappedAddress: 0x0001,
  username: 0x0006,
  messageIntegrity: 0x0008,
  errorCode: 0x0009,
  unknownAttributes: 0x000a,
  realm: 0x0014,
  nonce: 0x0015,
  xorMappedAddress: 0x0020,
  // TURN (RFC 8656 section 18).
  channelNumber: 0x000c,
  lifetime: 0x000d,
  xorPeerAddress: 0x0012,
  data: 0x0013,
  xorRelayedAddress: 0x0016,
  requestedAddressFamily: 0x0017,
  evenPort: 0x0018,
  requestedTransport: 0x0019,
  dontFragment: 0x001a,
  reservationToken: 0x0022,
  additionalAddressFamily: 0x8000,
  addressErrorCode: 0x8001,
  icmp: 0x8004,
  priority: 0x0024,
  useCandidate: 0x0025,
  software: 0x8022,
  alternateServer: 0x8023,
  fingerprint: 0x8028,
  iceControlled: 0x8029,
  iceControlling: 0x802a,
} as const;

/** Packs a 12-bit method and a 2-bit class into the 14-bit STUN message type. */
export function stunMessageType(method: number, cls: StunClass): number {
  return (
    (method & 0x000f) |
    ((method & 0x0070) << 1) |
    ((method & 0x0f80) << 2) |
    ((cls & 1) << 4) |
    ((cls & 2) << 7)
  );
}

export function stunMethodOf(type: number): number {
  return (type & 0x000f) | ((type & 0x00e0) >> 1) | ((type & 0x3e00) >> 2);
}

export function stunClassOf(type: number): StunClass {
  return (((type >> 4) & 1) | ((type >> 7) & 2)) as StunClass;
}
