// ICE over TCP (issue 11) with unmodified livekit-client 2.23 in headless Chromium, in a network namespace this test
// creates (helpers/ice-tcp-scenario.ts): with UDP to Atrium's ports dropped by iptables, the publisher's camera reaches
// the subscriber over passive ICE-TCP (both pages' PeerConnections select a TCP pair to an ICE-TCP port) and is decoded
// at 1280x720 (the top simulcast layer of livekit-client's default 720p capture); the control run with UDP allowed
// selects UDP. Also what simulateScenario('force-tcp') does, and a resume (signal-reconnect, ICE restart) while on TCP.
// Needs root: fails with the reason otherwise.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { helperPath, namespaceScenario } from './helpers/netns.js';
import { receivingPc, sendingPc } from './helpers/selected-pairs.js';
import type { SelectedPair } from './helpers/selected-pairs.js';

const SCENARIO = helperPath('ice-tcp-scenario.ts');

interface ScenarioResult {
  ok: boolean;
  error?: string;
  mode: string;
  udpPorts: number[];
  tcpPorts: number[];
  connectMs: number;
  totalMs: number;
  decoded: { width: number; height: number; framesDecoded: number; codec: string };
  pairs: { pub: SelectedPair[]; sub: SelectedPair[] };
  rule: { packets: number; bytes: number } | null;
  forceTcp?: unknown;
  resume?: unknown;
}

const run = namespaceScenario<ScenarioResult>(SCENARIO, { timeoutMs: 100_000, verboseEnv: 'E2E_ICE_TCP_VERBOSE' });

function assertPairs(r: ScenarioResult, protocol: 'tcp' | 'udp'): void {
  const ports = protocol === 'tcp' ? r.tcpPorts : r.udpPorts;
  // The publisher's media goes out on pub's publisher PC and arrives on sub's receiving PC; pub's receiving PC is
  // connected too. Over /rtc (two PCs) the receiving PC is the subscriber PC, and livekit-client opens a publisher PC
  // only when something is published, so sub has none selected; over /rtc/v1 the one PC does both.
  const required = [['pub', 'publisher', sendingPc(r.pairs.pub)], ['pub', 'receiving', receivingPc(r.pairs.pub)], ['sub', 'receiving', receivingPc(r.pairs.sub)]] as const;
  for (const [page, role, p] of required) {
    const what = `${page} ${role} PC: ${JSON.stringify(p)} of ${JSON.stringify(r.pairs[page])}`;
    assert.ok(p, what);
    assert.equal(p.remoteProtocol, protocol, what);
    assert.equal(p.localProtocol, protocol, what);
    assert.ok(p.remotePort !== undefined && ports.includes(p.remotePort), `${what} ends on one of ${ports.join(',')}`);
    if (protocol === 'tcp') {
      assert.equal(p.remoteTcpType, 'passive', what);
      assert.equal(p.localTcpType, 'active', what);
    }
    assert.ok((p.bytesReceived ?? 0) > 0 && (p.bytesSent ?? 0) > 0, `${what} carries bytes both ways`);
  }
  for (const p of [...r.pairs.pub, ...r.pairs.sub]) {
    if (p.remoteProtocol !== undefined) assert.equal(p.remoteProtocol, protocol, `every selected pair is ${protocol}: ${JSON.stringify(p)}`);
  }
}

test('UDP to Atrium dropped: livekit-client connects over ICE-TCP, publishes, and the other page decodes 1280x720', { timeout: 120_000 }, async () => {
  const r = await run('block-udp');
  assert.deepEqual([r.decoded.width, r.decoded.height], [1280, 720]);
  assertPairs(r, 'tcp');
  assert.ok(r.rule && r.rule.packets > 0, `the UDP drop rule was hit (${JSON.stringify(r.rule)})`);
});

test('control: with UDP allowed the same clients select the UDP path', { timeout: 120_000 }, async () => {
  const r = await run('allow-udp');
  assert.deepEqual([r.decoded.width, r.decoded.height], [1280, 720]);
  assertPairs(r, 'udp');
  assert.equal(r.rule, null);
});

interface ForceTcpResult {
  error?: string;
  sidBefore: string;
  sidAfter?: string;
  sameSid: boolean;
  afterMs: number;
  settled: { state: string; events: string[] };
  pairsAfter: SelectedPair[];
  decodedAfter?: { width: number; height: number };
}

test("simulateScenario('force-tcp'): livekit-client reconnects and Atrium then offers only ICE-TCP, so media moves to TCP", { timeout: 120_000 }, async () => {
  const r = await run('force-tcp');
  assertPairs(r, 'udp'); // before: UDP, as in the control run
  const f = r.forceTcp as ForceTcpResult;
  assert.equal(f.error, undefined, 'simulateScenario resolved');
  assert.equal(f.settled.state, 'connected', JSON.stringify(f.settled));
  // livekit-client 2.23 answers force-tcp with a full reconnect (a simulated LeaveRequest RECONNECT): a new sid.
  assert.equal(f.sameSid, false, `a full reconnect: ${f.sidBefore} -> ${f.sidAfter}`);
  const pub = f.pairsAfter.find((p) => p.pc === 'publisher');
  assert.ok(pub, JSON.stringify(f.pairsAfter));
  assert.equal(pub.remoteProtocol, 'tcp', `after force-tcp: ${JSON.stringify(f.pairsAfter)}`);
  assert.equal(pub.remoteTcpType, 'passive');
  assert.ok(pub.remotePort !== undefined && r.tcpPorts.includes(pub.remotePort));
  assert.deepEqual(f.decodedAfter, { width: 1280, height: 720 }, 'the subscriber decodes the camera again');
});

interface ResumeResult {
  sidBefore: string;
  sidAfter: string;
  reconnectedMs: number;
  events: string[];
  framesBefore: number;
  framesAfter: number;
  pairsAfter: SelectedPair[];
}

test('UDP dropped: a subscriber whose signal connection drops resumes (same sid, ICE restarted) and keeps decoding over TCP', { timeout: 120_000 }, async () => {
  const r = await run('resume-tcp');
  assertPairs(r, 'tcp');
  const res = r.resume as ResumeResult;
  assert.equal(res.sidAfter, res.sidBefore, 'a resume, not a full reconnect');
  assert.ok(!res.events.includes('disconnected'), `no disconnect: ${res.events.join(',')}`);
  assert.ok(res.framesAfter > res.framesBefore + 30, 'decoding again');
  const subPc = receivingPc(res.pairsAfter);
  assert.equal(subPc?.remoteProtocol, 'tcp', `after the resume: ${JSON.stringify(res.pairsAfter)}`);
  assert.ok(subPc.remotePort !== undefined && r.tcpPorts.includes(subPc.remotePort));
});
