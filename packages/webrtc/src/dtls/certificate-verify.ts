// Checks a DTLS 1.2 CertificateVerify (RFC 5246 §7.4.8, RFC 6347 §4.2.6): the client signs the handshake
// transcript so far (each message with its 12-byte DTLS handshake header, unfragmented) with its certificate key.
import { createPublicKey, verify as verifySignature, X509Certificate } from 'node:crypto';

const hashNames: Record<number, string> = { 4: 'sha256', 5: 'sha384', 6: 'sha512' };

/** `body` is the CertificateVerify body: SignatureAndHashAlgorithm(2), length(2), signature. Never throws. */
export function verifyCertificateVerify(args: { body: Buffer; certDer: Buffer; transcript: Buffer }): boolean {
  const { body } = args;
  try {
    if (body.length < 4) return false;
    const hashName = hashNames[body[0]!];
    if (!hashName) return false;
    const sigLen = body.readUInt16BE(2);
    if (body.length < 4 + sigLen) return false;
    const key = createPublicKey(new X509Certificate(args.certDer).publicKey.export({ type: 'spki', format: 'pem' }));
    return verifySignature(hashName, args.transcript, key, body.subarray(4, 4 + sigLen));
  } catch {
    return false;
  }
}
