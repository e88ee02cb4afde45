// Self-signed ECDSA P-256 certificate for DTLS-SRTP, and its SDP fingerprint (RFC 8122 §5, RFC 8827 §6.5).
// The X.509 DER (RFC 5280 §4.1) is assembled here from a tiny DER writer; signing uses node:crypto.
import { createHash, createPrivateKey, generateKeyPairSync, randomBytes, sign } from 'node:crypto';

export interface DtlsCertificate {
  certPem: string;
  keyPem: string;
  certDer: Buffer;
  fingerprint: { algorithm: 'sha-256'; value: string };
}

const defaults = { commonName: 'atrium', validDays: 30 } as const;

/** Generates an ECDSA P-256 self-signed certificate (ecdsa-with-SHA256), valid from one day ago. */
export async function generateCertificate(opts?: {
  commonName?: string;
  validDays?: number;
}): Promise<DtlsCertificate> {
  const commonName = opts?.commonName ?? defaults.commonName;
  const validDays = opts?.validDays ?? defaults.validDays;
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const spkiDer = publicKey.export({ type: 'spki', format: 'der' });
  const dayMs = 86_400_000;
  const notBefore = new Date(Date.now() - dayMs);
  const notAfter = new Date(Date.now() + validDays * dayMs);
  const name = der.seq(der.set(der.seq(der.oid('2.5.4.3'), der.utf8(commonName))));
  const serial = randomBytes(8);
  serial[0] = (serial[0]! & 0x7f) | 0x01; // positive and non-zero
  const sigAlg = der.seq(der.oid(ecdsaWithSha256));
  const tbs = der.seq(
    der.explicit(0, der.int(Buffer.from([2]))), // v3
    der.int(serial),
    sigAlg,
    name,
    der.seq(der.time(notBefore), der.time(notAfter)),
    name,
    spkiDer,
  );
  const signature = sign('sha256', tbs, privateKey); // DER-encoded ECDSA-Sig-Value
  const certDer = der.seq(tbs, sigAlg, der.bitString(signature));
  const certPem = toPem('CERTIFICATE', certDer);
  const keyPem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  return { certPem, keyPem, certDer, fingerprint: { algorithm: 'sha-256', value: fingerprintOf(certDer) } };
}

/** The SDP `a=fingerprint` value of a DER certificate: uppercase hex pairs joined by ':'. */
export function fingerprintOf(certDer: Buffer, algorithm: 'sha-256' = 'sha-256'): string {
  const digest = createHash(algorithm.replace('-', '')).update(certDer).digest('hex').toUpperCase();
  return digest.match(/../g)!.join(':');
}

/** Compares two SDP fingerprints ignoring case; false on an algorithm we do not know. */
export function fingerprintMatches(certDer: Buffer, fp: { algorithm: string; value: string }): boolean {
  const alg = fp.algorithm.toLowerCase();
  if (alg !== 'sha-256' && alg !== 'sha-384' && alg !== 'sha-512' && alg !== 'sha-1') return false;
  const digest = createHash(alg.replace('-', '')).update(certDer).digest('hex');
  return digest === fp.value.replace(/:/g, '').toLowerCase();
}

/** Loads a certificate from PEM (e.g. configured by an operator). The key must be ECDSA P-256. */
export function certificateFromPem(certPem: string, keyPem: string): DtlsCertificate {
  createPrivateKey(keyPem); // throws a clear error on a bad key
  const b64 = certPem.replace(/-----(BEGIN|END) CERTIFICATE-----/g, '').replace(/\s+/g, '');
  const certDer = Buffer.from(b64, 'base64');
  return { certPem, keyPem, certDer, fingerprint: { algorithm: 'sha-256', value: fingerprintOf(certDer) } };
}

const ecdsaWithSha256 = '1.2.840.10045.4.3.2';

function toPem(label: string, body: Buffer): string {
  const lines = body.toString('base64').match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}

/** Minimal DER writer: just the types a certificate needs (X.690 §8). */
const der = {
  tlv(tag: number, body: Buffer): Buffer {
    const len = body.length;
    let head: Buffer;
    if (len < 0x80) head = Buffer.from([tag, len]);
    else if (len < 0x100) head = Buffer.from([tag, 0x81, len]);
    else if (len < 0x10000) head = Buffer.from([tag, 0x82, len >> 8, len & 0xff]);
    else head = Buffer.from([tag, 0x83, len >> 16, (len >> 8) & 0xff, len & 0xff]);
    return Buffer.concat([head, body]);
  },
  seq: (...items: Buffer[]): Buffer => der.tlv(0x30, Buffer.concat(items)),
  set: (...items: Buffer[]): Buffer => der.tlv(0x31, Buffer.concat(items)),
  explicit: (n: number, inner: Buffer): Buffer => der.tlv(0xa0 | n, inner),
  int(unsigned: Buffer): Buffer {
    let i = 0;
    while (i < unsigned.length - 1 && unsigned[i] === 0) i++;
    const v = unsigned.subarray(i);
    return der.tlv(0x02, (v[0]! & 0x80) !== 0 ? Buffer.concat([Buffer.from([0]), v]) : v);
  },
  utf8: (s: string): Buffer => der.tlv(0x0c, Buffer.from(s, 'utf8')),
  bitString: (bytes: Buffer): Buffer => der.tlv(0x03, Buffer.concat([Buffer.from([0]), bytes])),
  oid(dotted: string): Buffer {
    const parts = dotted.split('.').map(Number);
    const out: number[] = [40 * parts[0]! + parts[1]!];
    for (const p of parts.slice(2)) {
      const stack: number[] = [p & 0x7f];
      for (let v = p >>> 7; v > 0; v >>>= 7) stack.unshift((v & 0x7f) | 0x80);
      out.push(...stack);
    }
    return der.tlv(0x06, Buffer.from(out));
  },
  time(d: Date): Buffer {
    const y = d.getUTCFullYear();
    const p2 = (n: number): string => String(n).padStart(2, '0');
    const rest = `${p2(d.getUTCMonth() + 1)}${p2(d.getUTCDate())}${p2(d.getUTCHours())}${p2(d.getUTCMinutes())}${p2(d.getUTCSeconds())}Z`;
    // RFC 5280 §4.1.2.5: UTCTime through 2049, GeneralizedTime from 2050.
    if (y < 2050) return der.tlv(0x17, Buffer.from(`${p2(y % 100)}${rest}`, 'ascii'));
    return der.tlv(0x18, Buffer.from(`${y}${rest}`, 'ascii'));
  },
};

/** Exposed for tests only. */
export const derForTests = der;
