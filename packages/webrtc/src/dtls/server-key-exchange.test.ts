// ServerKeyExchange signature check: a correctly signed body verifies; any flipped byte or other key fails.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createPrivateKey, randomBytes, sign } from 'node:crypto';
import { generateCertificate } from './certificate.js';
import { verifyServerKeyExchange } from './server-key-exchange.js';

describe('verifyServerKeyExchange', () => {
  it('accepts the right signature and rejects tampering', async () => {
    const cert = await generateCertificate();
    const other = await generateCertificate();
    const clientRandom = randomBytes(32);
    const serverRandom = randomBytes(32);
    const point = Buffer.concat([Buffer.from([4]), randomBytes(64)]);
    const params = Buffer.concat([Buffer.from([3, 0, 23, point.length]), point]); // named_curve secp256r1
    const sig = sign('sha256', Buffer.concat([clientRandom, serverRandom, params]), createPrivateKey(cert.keyPem));
    const sigLen = Buffer.alloc(2);
    sigLen.writeUInt16BE(sig.length);
    const body = Buffer.concat([params, Buffer.from([4, 3]), sigLen, sig]); // sha256, ecdsa
    const args = { body, certDer: cert.certDer, clientRandom, serverRandom };
    assert.equal(verifyServerKeyExchange(args), true);
    assert.equal(verifyServerKeyExchange({ ...args, certDer: other.certDer }), false);
    assert.equal(verifyServerKeyExchange({ ...args, clientRandom: serverRandom }), false);
    for (const i of [5, 40, body.length - 1]) {
      const bad = Buffer.from(body);
      bad[i]! ^= 0x01;
      assert.equal(verifyServerKeyExchange({ ...args, body: bad }), false, `byte ${i}`);
    }
    assert.equal(verifyServerKeyExchange({ ...args, body: body.subarray(0, 20) }), false);
    assert.equal(verifyServerKeyExchange({ ...args, body: Buffer.alloc(0) }), false);
  });
});
