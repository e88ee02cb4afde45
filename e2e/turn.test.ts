// TURN (issue 11) with unmodified livekit-client 2.23 in headless Chromium, connecting with
// rtcConfig.iceTransportPolicy 'relay' so that every path goes through a TURN server (helpers/turn-scenario.ts, run
// in a network namespace of its own): Atrium's embedded TURN over UDP, over TLS (a test CA that Chromium trusts), and
// coturn given through rtc.turn_servers. Each page publishes its camera and decodes the other's at 1280x720, and every
// selected candidate pair has a local candidate of type relay through the expected server and protocol.
// Needs root (network namespaces) and coturn/certutil (scripts/install-system-deps.sh): fails with the reason otherwise.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { helperPath, namespaceScenario } from './helpers/netns.js';
import { receivingPc, sendingPc } from './helpers/selected-pairs.js';
import type { SelectedPair } from './helpers/selected-pairs.js';

const SCENARIO = helperPath('turn-scenario.ts');

interface Decoded { width: number; height: number; framesDecoded: number; codec: string }
interface ScenarioResult {
  ok: boolean;
  error?: string;
  mode: string;
  udpPorts: number[];
  turnUdpPort?: number;
  turnTlsPort?: number;
  coturnPort?: number;
  decoded: { atA: Decoded; atB: Decoded };
  pairs: { a: SelectedPair[]; b: SelectedPair[] };
  turnStats?: { allocations: number; requests: number; errorResponses: number; dropped: number };
  coturnAllocations?: number;
  resume?: {
    sidBefore: string; sidAfter: string; events: string[]; credentialsIssuedOnResume: number;
    framesBefore: number; framesAfter: number; pairsAfter: SelectedPair[];
  };
}

const run = namespaceScenario<ScenarioResult>(SCENARIO, { timeoutMs: 110_000, verboseEnv: 'E2E_TURN_VERBOSE' });

/** Both pages decode the other's camera at full size, and every connected PC goes through `relayProtocol` at `url`. */
function assertRelayed(r: ScenarioResult, expect: { relayProtocol: string; url: RegExp; relayPorts: [number, number] }): void {
  for (const d of [r.decoded.atA, r.decoded.atB]) {
    assert.deepEqual([d.width, d.height], [1280, 720]);
    assert.ok(d.framesDecoded > 30, JSON.stringify(d));
  }
  // Media goes out on each page's publisher PC and in on its subscriber PC (over /rtc/v1: both on the one PC): each
  // must be selected and relayed.
  for (const [page, list] of Object.entries(r.pairs)) {
    for (const [role, p] of [['sending', sendingPc(list)], ['receiving', receivingPc(list)]] as const) {
      const what = `${page} ${role} PC: ${JSON.stringify(p)} of ${JSON.stringify(list)}`;
      assert.ok(p && p.localType !== undefined, `${what} has a selected pair`);
      assert.equal(p.localType, 'relay', what);
      assert.equal(p.relayProtocol, expect.relayProtocol, what);
      assert.match(p.url ?? '', expect.url, what);
      // The relayed address is a port of the server's relay range (turn.relay_range_start..end, or coturn's).
      assert.ok(p.localPort !== undefined && p.localPort >= expect.relayPorts[0] && p.localPort <= expect.relayPorts[1], `${what}: relay port in ${expect.relayPorts.join('-')}`);
      // The far end is Atrium's own media port (ICE-lite host candidate), reached from the relayed address.
      assert.ok(p.remotePort !== undefined && r.udpPorts.includes(p.remotePort), `${what} ends on a media port ${r.udpPorts.join(',')}`);
      assert.ok((p.bytesSent ?? 0) > 0 && (p.bytesReceived ?? 0) > 0, `${what} carries bytes both ways`);
    }
  }
}

test('embedded TURN over UDP: relay-only livekit-client pages exchange 1280x720 video through it, and a resume stays on it', { timeout: 130_000 }, async () => {
  const r = await run('udp');
  const url = new RegExp(`^turn:127\\.0\\.0\\.1:${r.turnUdpPort}\\?transport=udp$`);
  assertRelayed(r, { relayProtocol: 'udp', url, relayPorts: [30000, 30100] });
  const pcs = r.pairs.a.length + r.pairs.b.length;
  assert.ok((r.turnStats?.allocations ?? 0) >= pcs, `one allocation per PeerConnection (${pcs}) at least: ${JSON.stringify(r.turnStats)}`);
  const res = r.resume!;
  assert.equal(res.sidAfter, res.sidBefore, 'a resume, not a full reconnect');
  assert.ok(!res.events.includes('disconnected'), res.events.join(','));
  assert.equal(res.credentialsIssuedOnResume, 1, 'the ReconnectResponse carried a fresh credential');
  assert.ok(res.framesAfter > res.framesBefore + 30);
  const sub = receivingPc(res.pairsAfter);
  assert.equal(sub?.localType, 'relay', JSON.stringify(res.pairsAfter));
  assert.match(sub.url ?? '', url);
});

test('embedded TURN over TLS: Chromium validates the certificate (test CA in its NSS db) and relays through turns:', { timeout: 130_000 }, async () => {
  const r = await run('tls');
  assertRelayed(r, { relayProtocol: 'tls', url: new RegExp(`^turns:localhost:${r.turnTlsPort}\\?transport=tcp$`), relayPorts: [30000, 30100] });
  assert.equal(r.turnUdpPort, undefined, 'TURN over UDP was off');
  assert.ok((r.turnStats?.allocations ?? 0) >= r.pairs.a.length + r.pairs.b.length, `one allocation per PeerConnection at least: ${JSON.stringify(r.turnStats)}`);
});

test('control: without the test CA in the NSS db, Chromium refuses the TURN/TLS certificate and a relay-only client cannot connect', { timeout: 130_000 }, async () => {
  const r = (await run('tls-untrusted')) as unknown as {
    connectError: string | null; turnStats: { allocations: number; requests: number }; tls: { accepted: number; handshakeFailures: number };
  };
  assert.notEqual(r.connectError, null, 'connect failed');
  assert.ok(r.tls.handshakeFailures > 0, `Chromium tried and aborted the TLS handshake: ${JSON.stringify(r.tls)}`);
  assert.equal(r.tls.accepted, 0, 'no TLS connection was completed');
  assert.equal(r.turnStats.requests, 0, 'no TURN request arrived');
});

test('coturn from rtc.turn_servers: relay-only pages connect through it', { timeout: 130_000 }, async () => {
  const r = await run('coturn');
  assertRelayed(r, { relayProtocol: 'udp', url: new RegExp(`^turn:127\\.0\\.0\\.1:${r.coturnPort}\\?transport=udp$`), relayPorts: [31000, 31100] });
  assert.equal(r.turnStats, undefined, 'the embedded server was off');
  const pcs = r.pairs.a.length + r.pairs.b.length;
  assert.ok((r.coturnAllocations ?? 0) >= pcs, `coturn logged a session per PeerConnection (${pcs}): ${r.coturnAllocations}`);
});
