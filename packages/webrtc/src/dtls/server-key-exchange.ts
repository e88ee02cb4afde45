// Checks the signature of an ECDHE ServerKeyExchange against the server certificate (RFC 8422 §5.4,
// RFC 5246 §7.4.3): the server signs client_random + server_random + ServerECDHParams.
import { createPublicKey, verify as verifySignature, X509Certificate } from 'node:crypto';

const hashNames: Record<number, string> = { 4: 'sha256', 5: 'sha384', 6: 'sha512' };

/** `body` is the ServerKeyExchange handshake body (no handshake header). Never throws. */
export function verifyServerKeyExchange(args: {
  body: Buffer;
  certDer: Buffer;
  clientRandom: Buffer;
  serverRandom: Buffer;
}): boolean {
  const ske = args.body;
  try {
    if (ske.length < 4 || ske[0] !== 3) return false; // curve_type named_curve
    const paramsLen = 4 + ske[3]!; // curve_type(1) named_curve(2) point_len(1) point
    if (ske.length < paramsLen + 4) return false;
    const params = ske.subarray(0, paramsLen);
    const hashName = hashNames[ske[paramsLen]!];
    if (!hashName) return false;
    const sigLen = ske.readUInt16BE(paramsLen + 2);
    if (ske.length < paramsLen + 4 + sigLen) return false;
    const sig = ske.subarray(paramsLen + 4, paramsLen + 4 + sigLen);
    const key = createPublicKey(new X509Certificate(args.certDer).publicKey.export({ type: 'spki', format: 'pem' }));
    return verifySignature(hashName, Buffer.concat([args.clientRandom, args.serverRandom, params]), key, sig);
  } catch {
    return false;
  }
}
