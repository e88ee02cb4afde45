// Test support: builds TURN requests the way a client does (long-term credentials after the 401 challenge) and
// reads the answers, for the TURN server's unit and fuzz tests. Works on raw messages; the caller moves them.
import { randomBytes } from 'node:crypto';
import { StunAttr, StunClass, StunMethod } from '../stun/stun-constants.js';
import { decodeErrorCode, decodeUint32, decodeXorMappedAddress, encodeUint32, encodeXorMappedAddress, stunAddressOf } from '../stun/stun-attributes.js';
import type { StunAddress } from '../stun/stun-attributes.js';
import { encodeStunMessage, getStunAttribute, longTermKey, parseStunMessage, verifyMessageIntegrity } from '../stun/stun-message.js';
import type { StunAttribute, StunMessage } from '../stun/stun-message.js';
import { encodeChannelNumber, encodeRequestedTransport, TRANSPORT_UDP } from '../turn/turn-attributes.js';

export interface TurnAnswer {
  message: StunMessage;
  /** The ERROR-CODE number, undefined for a success. */
  errorCode: number | undefined;
  realm: string | undefined;
  nonce: string | undefined;
  lifetimeSec: number | undefined;
  relayed: StunAddress | undefined;
  mapped: StunAddress | undefined;
}

export function readTurnAnswer(buf: Buffer): TurnAnswer {
  const parsed = parseStunMessage(buf);
  if (!parsed.ok) throw new Error(`not a STUN message: ${parsed.error}`);
  const m = parsed.message;
  const text = (t: number): string | undefined => {
    const v = getStunAttribute(m, t);
    return v === undefined ? undefined : Buffer.from(v).toString('utf8');
  };
  const err = getStunAttribute(m, StunAttr.errorCode);
  const life = getStunAttribute(m, StunAttr.lifetime);
  const relayed = getStunAttribute(m, StunAttr.xorRelayedAddress);
  const mapped = getStunAttribute(m, StunAttr.xorMappedAddress);
  return {
    message: m,
    errorCode: err === undefined ? undefined : decodeErrorCode(err)?.code,
    realm: text(StunAttr.realm),
    nonce: text(StunAttr.nonce),
    lifetimeSec: life === undefined ? undefined : decodeUint32(life),
    relayed: relayed === undefined ? undefined : decodeXorMappedAddress(relayed, m.transactionId),
    mapped: mapped === undefined ? undefined : decodeXorMappedAddress(mapped, m.transactionId),
  };
}

/** Client-side state: the credentials, and the realm/nonce learnt from the last 401/438. */
export class TurnTestClient {
  realm = '';
  nonce = '';
  constructor(public username: string, public password: string) {}

  get key(): Buffer {
    return longTermKey(this.username, this.realm, this.password);
  }

  /** Learns REALM and NONCE from a 401 or 438 answer. */
  learn(answer: TurnAnswer): void {
    if (answer.realm !== undefined) this.realm = answer.realm;
    if (answer.nonce !== undefined) this.nonce = answer.nonce;
  }

  /** A request; with `authenticated` (the default once a nonce is known) USERNAME/REALM/NONCE and MESSAGE-INTEGRITY. */
  request(method: number, attributes: StunAttribute[], opts: { authenticated?: boolean; transactionId?: Buffer } = {}): Buffer {
    const authenticated = opts.authenticated ?? this.nonce !== '';
    const attrs = authenticated
      ? [...attributes,
        { type: StunAttr.username, value: Buffer.from(this.username) },
        { type: StunAttr.realm, value: Buffer.from(this.realm) },
        { type: StunAttr.nonce, value: Buffer.from(this.nonce) }]
      : attributes;
    return encodeStunMessage(
      { method, cls: StunClass.request, transactionId: opts.transactionId ?? randomBytes(12), attributes: attrs },
      authenticated ? { integrityKey: this.key, fingerprint: true } : { fingerprint: true },
    );
  }

  allocate(extra: StunAttribute[] = [], opts: { transactionId?: Buffer; authenticated?: boolean } = {}): Buffer {
    return this.request(StunMethod.allocate, [{ type: StunAttr.requestedTransport, value: encodeRequestedTransport(TRANSPORT_UDP) }, ...extra], opts);
  }

  refresh(lifetimeSec?: number): Buffer {
    return this.request(StunMethod.refresh, lifetimeSec === undefined ? [] : [{ type: StunAttr.lifetime, value: encodeUint32(lifetimeSec) }]);
  }

  createPermission(...peers: { address: string; port: number }[]): Buffer {
    const transactionId = randomBytes(12);
    return this.request(StunMethod.createPermission, peers.map((p) => peerAttr(p, transactionId)), { transactionId });
  }

  channelBind(channel: number, peer: { address: string; port: number }): Buffer {
    const transactionId = randomBytes(12);
    return this.request(StunMethod.channelBind, [{ type: StunAttr.channelNumber, value: encodeChannelNumber(channel) }, peerAttr(peer, transactionId)], { transactionId });
  }

  sendIndication(peer: { address: string; port: number }, data: Uint8Array): Buffer {
    const transactionId = randomBytes(12);
    return encodeStunMessage({
      method: StunMethod.send, cls: StunClass.indication, transactionId,
      attributes: [peerAttr(peer, transactionId), { type: StunAttr.data, value: data }],
    });
  }

  /** True when `answer` carries a MESSAGE-INTEGRITY made with this client's key. */
  verifies(answer: TurnAnswer): boolean {
    return verifyMessageIntegrity(answer.message, this.key);
  }
}

function peerAttr(p: { address: string; port: number }, transactionId: Buffer): StunAttribute {
  return { type: StunAttr.xorPeerAddress, value: encodeXorMappedAddress(stunAddressOf(p.address, p.port), transactionId) };
}

/** Reads the peer address and data of a Data indication, undefined for anything else. */
export function readDataIndication(buf: Buffer): { peer: StunAddress; data: Buffer } | undefined {
  const parsed = parseStunMessage(buf);
  if (!parsed.ok || parsed.message.method !== StunMethod.data || parsed.message.cls !== StunClass.indication) return undefined;
  const peer = getStunAttribute(parsed.message, StunAttr.xorPeerAddress);
  const data = getStunAttribute(parsed.message, StunAttr.data);
  const addr = peer === undefined ? undefined : decodeXorMappedAddress(peer, parsed.message.transactionId);
  return addr === undefined || data === undefined ? undefined : { peer: addr, data: Buffer.from(data) };
}
