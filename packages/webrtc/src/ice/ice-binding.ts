// STUN Binding messages as ICE uses them (RFC 8445 section 7.1.1 requests, 7.3.1.4 responses).
import { StunAttr, StunClass, StunMethod } from '../stun/stun-constants.js';
import { encodeStunMessage } from '../stun/stun-message.js';
import type { StunAttribute } from '../stun/stun-message.js';
import { encodeErrorCode, encodeUint32, encodeXorMappedAddress, stunAddressOf } from '../stun/stun-attributes.js';

export interface BindingRequestInit {
  transactionId: Uint8Array;
  /** 'remoteUfrag:localUfrag'. */
  username: string;
  /** Short-term key: the remote password's bytes. */
  key: Uint8Array;
  priority: number;
  /** 8 bytes; sent as ICE-CONTROLLING when `isControlling`, else ICE-CONTROLLED. */
  tieBreaker: Uint8Array;
  isControlling: boolean;
  useCandidate: boolean;
}

export function buildBindingRequest(init: BindingRequestInit): Buffer {
  const attributes: StunAttribute[] = [
    { type: StunAttr.username, value: Buffer.from(init.username, 'utf8') },
    { type: StunAttr.priority, value: encodeUint32(init.priority) },
    { type: init.isControlling ? StunAttr.iceControlling : StunAttr.iceControlled, value: init.tieBreaker },
  ];
  if (init.useCandidate) attributes.push({ type: StunAttr.useCandidate, value: new Uint8Array(0) });
  return encodeStunMessage(
    { method: StunMethod.binding, cls: StunClass.request, transactionId: init.transactionId, attributes },
    { integrityKey: init.key, fingerprint: true },
  );
}

/** Success response with XOR-MAPPED-ADDRESS, MESSAGE-INTEGRITY (local password) and FINGERPRINT. */
export function buildBindingSuccess(transactionId: Uint8Array, address: string, port: number, key: Uint8Array): Buffer {
  return encodeStunMessage(
    {
      method: StunMethod.binding,
      cls: StunClass.success,
      transactionId,
      attributes: [
        { type: StunAttr.xorMappedAddress, value: encodeXorMappedAddress(stunAddressOf(address, port), transactionId) },
      ],
    },
    { integrityKey: key, fingerprint: true },
  );
}

/** Error response (e.g. 400 Bad Request, 401 Unauthorized) with FINGERPRINT and no integrity. */
export function buildBindingError(transactionId: Uint8Array, code: number, reason: string): Buffer {
  return encodeStunMessage(
    {
      method: StunMethod.binding,
      cls: StunClass.error,
      transactionId,
      attributes: [{ type: StunAttr.errorCode, value: encodeErrorCode({ code, reason }) }],
    },
    { fingerprint: true },
  );
}
