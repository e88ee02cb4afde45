// The real WebRTC media side behind the signalling: the first subscriber offer carries the data channels and
// our candidate, and the candidate is trickled too, as strict RTCIceCandidateInit JSON (rtc-node requires a
// string sdpMid and an integer sdpMLineIndex), after the offer.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type AtriumServer } from '../create-server.js';
import { devConfig } from '../config/server-config.js';
import { TestSignalClient } from '../signal/test-signal-client.js';

let server: AtriumServer | undefined;
const clients: TestSignalClient[] = [];
after(async () => {
  for (const c of clients) c.close();
  await server?.close();
});

test('subscriber offer with data channels, then the server trickles its host candidate', async () => {
  server = await createServer(devConfig({ port: 0, rtc: { udpPort: 0 }, logging: { level: 'silent' } }));
  const client = await TestSignalClient.join(server.url, 'trickle-check');
  clients.push(client);
  const offer = await client.waitFor((m) => m.case === 'offer');
  assert.equal(offer.case, 'offer');
  const sdp = offer.value.sdp;
  assert.match(sdp, /m=application 9 UDP\/DTLS\/SCTP webrtc-datachannel/);
  assert.match(sdp, /a=ice-lite/);
  assert.match(sdp, new RegExp(`a=candidate:\\S+ 1 udp \\d+ 127\\.0\\.0\\.1 ${server.udpPort} typ host`));

  const trickle = await client.waitFor((m) => m.case === 'trickle');
  assert.equal(trickle.case, 'trickle');
  assert.equal(trickle.value.target, 1, 'target SUBSCRIBER');
  const init = JSON.parse(trickle.value.candidateInit) as Record<string, unknown>;
  assert.equal(typeof init.sdpMid, 'string');
  assert.equal(init.sdpMLineIndex, 0);
  assert.match(String(init.candidate), new RegExp(`^candidate:\\S+ 1 udp \\d+ 127\\.0\\.0\\.1 ${server.udpPort} typ host$`));
  const cases = client.messages.map((m) => m.case);
  assert.ok(cases.indexOf('offer') < cases.indexOf('trickle'), `offer before trickle: ${cases.join(',')}`);
});
