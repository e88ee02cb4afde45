// Certificate generation: parses with node's X509Certificate, self-signature verifies, fingerprint format.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, createPrivateKey, X509Certificate } from 'node:crypto';
import { certificateFromPem, derForTests, fingerprintMatches, fingerprintOf, generateCertificate } from './certificate.js';

describe('certificate', () => {
  it('generates a valid self-signed ECDSA P-256 certificate', async () => {
    const cert = await generateCertificate({ commonName: 'atrium-test', validDays: 7 });
    const x = new X509Certificate(cert.certPem);
    assert.equal(x.subject, 'CN=atrium-test');
    assert.equal(x.issuer, 'CN=atrium-test');
    assert.ok(x.verify(x.publicKey), 'self-signature verifies');
    assert.equal(x.publicKey.asymmetricKeyDetails?.namedCurve, 'prime256v1');
    assert.ok(x.checkPrivateKey(createPrivateKey(cert.keyPem)));
    const days = (Date.parse(x.validTo) - Date.now()) / 86_400_000;
    assert.ok(days > 6.9 && days < 7.1, `validTo ${x.validTo}`);
    assert.ok(Date.parse(x.validFrom) < Date.now());
    assert.deepEqual(x.raw, cert.certDer);
    assert.match(cert.fingerprint.value, /^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
    assert.equal(cert.fingerprint.value, x.fingerprint256);
  });

  it('fingerprintOf is sha-256 in uppercase colon hex', () => {
    const der = Buffer.from('abc');
    // sha256("abc") = ba7816bf...
    assert.ok(fingerprintOf(der).startsWith('BA:78:16:BF:8F:01:CF:EA'));
    assert.equal(fingerprintOf(der).replace(/:/g, '').toLowerCase(), createHash('sha256').update(der).digest('hex'));
    assert.ok(fingerprintMatches(der, { algorithm: 'SHA-256', value: fingerprintOf(der).toLowerCase() }));
    assert.ok(!fingerprintMatches(der, { algorithm: 'sha-256', value: fingerprintOf(Buffer.from('abd')) }));
    assert.ok(!fingerprintMatches(der, { algorithm: 'md5', value: '00' }));
  });

  it('round-trips through certificateFromPem', async () => {
    const cert = await generateCertificate();
    const again = certificateFromPem(cert.certPem, cert.keyPem);
    assert.deepEqual(again.certDer, cert.certDer);
    assert.equal(again.fingerprint.value, cert.fingerprint.value);
  });

  it('DER writer: golden bytes', () => {
    assert.deepEqual(derForTests.oid('1.2.840.10045.4.3.2'), Buffer.from('06082a8648ce3d040302', 'hex'));
    assert.deepEqual(derForTests.int(Buffer.from([0x80])), Buffer.from('02020080', 'hex'));
    assert.deepEqual(derForTests.int(Buffer.from([0, 0, 5])), Buffer.from('020105', 'hex'));
    assert.deepEqual(derForTests.tlv(0x04, Buffer.alloc(200)).subarray(0, 3), Buffer.from('0481c8', 'hex'));
    assert.deepEqual(derForTests.time(new Date(Date.UTC(2026, 0, 2, 3, 4, 5))), Buffer.from('170d3236303130323033303430355a', 'hex'));
    assert.equal(derForTests.time(new Date(Date.UTC(2051, 0, 1)))[0], 0x18);
  });
});

