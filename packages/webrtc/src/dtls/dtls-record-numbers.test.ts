// Every record a side sends in one epoch has its own sequence number (RFC 6347 §4.1): a peer drops a record
// whose (epoch, sequence number) it has seen before as a replay. werift reuses the Finished record's number
// for a later application-data record; DtlsTransport must not let that happen, in either role.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateCertificate } from './certificate.js';
import { DtlsTransport } from './dtls-transport.js';
import { waitFor } from '../testing/wait-for.js';

/** (epoch, sequence number) of every DTLS record in a datagram. */
function recordIds(datagram: Buffer): string[] {
  const ids: string[] = [];
  for (let off = 0; off + 13 <= datagram.length; off += 13 + datagram.readUInt16BE(off + 11)) {
    ids.push(`${datagram.readUInt16BE(off + 3)}:${datagram.readUIntBE(off + 5, 6)}`);
  }
  return ids;
}

test('no DTLS record number is used twice by either side across the handshake and application data', async () => {
  const [clientCert, serverCert] = [await generateCertificate(), await generateCertificate()];
  const sent = { client: [] as string[], server: [] as string[] };
  const got = { client: [] as string[], server: [] as string[] };
  const client: DtlsTransport = new DtlsTransport({
    role: 'client', certificate: clientCert, remoteFingerprint: serverCert.fingerprint, srtpProfiles: [7, 1],
    send: (buf) => {
      sent.client.push(...recordIds(buf));
      setImmediate(() => server.handle(Buffer.from(buf)));
    },
  });
  const server: DtlsTransport = new DtlsTransport({
    role: 'server', certificate: serverCert, remoteFingerprint: clientCert.fingerprint, srtpProfiles: [7, 1],
    send: (buf) => {
      sent.server.push(...recordIds(buf));
      setImmediate(() => client.handle(Buffer.from(buf)));
    },
  });
  client.on('data', (b) => got.client.push(b.toString()));
  server.on('data', (b) => got.server.push(b.toString()));
  try {
    client.start();
    await waitFor(() => client.state === 'connected' && server.state === 'connected', { label: 'handshake', timeoutMs: 10_000, intervalMs: 5 });
    for (let i = 0; i < 20; i++) {
      client.sendData(Buffer.from(`c${i}`));
      server.sendData(Buffer.from(`s${i}`));
    }
    await waitFor(() => got.server.length === 20 && got.client.length === 20, { label: 'application data', timeoutMs: 5_000, intervalMs: 5 });
    for (const side of ['client', 'server'] as const) {
      const dupes = sent[side].filter((id, i) => sent[side].indexOf(id) !== i);
      assert.deepEqual(dupes, [], `${side} reused record numbers ${dupes.join(', ')} (epoch:seq)`);
      assert.ok(sent[side].filter((id) => id.startsWith('1:')).length >= 21, `${side} sent its Finished and 20 records in epoch 1`);
    }
  } finally {
    client.close();
    server.close();
  }
});
