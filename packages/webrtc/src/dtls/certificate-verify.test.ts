// CertificateVerify check: the right signature over the transcript verifies; tampering or another key fails.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createPrivateKey, randomBytes, sign } from 'node:crypto';
import { generateCertificate } from './certificate.js';
import { verifyCertificateVerify } from './certificate-verify.js';

describe('verifyCertificateVerify', () => {
  it('accepts the right signature and rejects tampering', async () => {
    const cert = await generateCertificate();
    const other = await generateCertificate();
    const transcript = randomBytes(900);
    const sig = sign('sha256', transcript, createPrivateKey(cert.keyPem));
    const head = Buffer.from([4, 3, sig.length >> 8, sig.length & 0xff]); // sha256, ecdsa, length
    const body = Buffer.concat([head, sig]);
    assert.equal(verifyCertificateVerify({ body, certDer: cert.certDer, transcript }), true);
    assert.equal(verifyCertificateVerify({ body, certDer: other.certDer, transcript }), false);
    const t2 = Buffer.from(transcript);
    t2[100]! ^= 1;
    assert.equal(verifyCertificateVerify({ body, certDer: cert.certDer, transcript: t2 }), false);
    const bad = Buffer.from(body);
    bad[bad.length - 1]! ^= 1;
    assert.equal(verifyCertificateVerify({ body: bad, certDer: cert.certDer, transcript }), false);
    assert.equal(verifyCertificateVerify({ body: Buffer.from([9, 3, 0, 1, 0]), certDer: cert.certDer, transcript }), false);
    assert.equal(verifyCertificateVerify({ body: body.subarray(0, 10), certDer: cert.certDer, transcript }), false);
  });
});
