// Self-test of the impaired-network helpers (helpers/netns*.ts): each case runs helpers/netns-selftest-scenario.ts
// in a network namespace of its own and checks measured rates, losses and delays against what was configured,
// and the kernel's counters against the packets sent. Needs root (CI runs as root): fails with the reason otherwise.
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { canCreateNetworkNamespaces, helperPath, isProcessRunning, runInNetworkNamespace, type NetnsRunResult } from './helpers/netns.js';

const SCENARIO = helperPath('netns-selftest-scenario.ts');

interface Rate {
  payloadKbit: number;
  wireKbit: number;
  packets: number;
}
interface Tbf {
  packets: number;
  drops: number;
}
interface CapResult {
  sentDown: number;
  sentUp: number;
  receivedDown: number;
  receivedUp: number;
  down: Rate;
  up: Rate;
  tbf: Tbf;
  directPackets: number;
}
interface CapDportResult {
  sentA: number;
  sentB: number;
  receivedA: number;
  receivedB: number;
  a: Rate;
  b: Rate;
  tbf: Tbf;
  directPackets: number;
}
interface HelperStats {
  seen: number;
  dropped: number;
  delayed: number;
  released: number;
  pending: number;
  verdictErrors: number;
}
interface ImpairResult {
  sent: number;
  received: number;
  duplicates: number;
  lossPercent: number;
  delayMedianMs: number;
  delayMinMs: number;
  delayMaxMs: number;
  controlSent: number;
  controlReceived: number;
  controlDelayMedianMs: number;
  upSent: number;
  upReceived: number;
  upDelayMedianMs: number;
  helper: HelperStats;
  helperFinal: HelperStats;
  helperPid: number;
  rulePackets: number;
  rulesAfterStop: number;
}
interface UpdateResult {
  sent: number;
  received: number;
  before: Rate;
  after: Rate;
  tbf: Tbf;
  capClassesAfterRemove: number;
}

function within(actual: number, expected: number, fraction: number, what: string): void {
  const lo = expected * (1 - fraction);
  const hi = expected * (1 + fraction);
  assert.ok(actual >= lo && actual <= hi, `${what}: ${actual} not within ${expected} ±${fraction * 100}% (${lo}..${hi})`);
}

// A zombie counts as gone: the helper's parent died and pid 1 reaps it in its own time.
const isHelperAlive = (pid: number) => isProcessRunning(pid, 'atrium-nfq');

/** Runs one scenario; it must exit 0 with a result line and leave no process behind. */
async function runScenario<T>(name: string, timeoutMs = 15_000): Promise<T> {
  const r: NetnsRunResult = await runInNetworkNamespace(SCENARIO, [name], { timeoutMs });
  const detail = `scenario ${name}: code ${r.code} signal ${r.signal} timedOut ${r.timedOut}\n${r.stderr}`;
  assert.equal(r.code, 0, detail);
  assert.ok(r.json !== undefined, `${detail}\nno result line in stdout: ${r.stdout}`);
  assert.deepEqual(r.leftoverPids, [], `scenario ${name} left processes behind`);
  assert.ok(r.netnsId !== undefined, 'the runner saw the scenario enter its namespace');
  process.stderr.write(`netns ${name}: ${JSON.stringify(r.json)}\n`);
  return r.json as T;
}

describe('network namespace helpers (tc htb/tbf caps, NFQUEUE loss and delay)', () => {
  before(async () => {
    const check = await canCreateNetworkNamespaces({ withImpairment: true });
    if (!check.ok) throw new Error(`cannot run impaired-network tests: ${check.reason}`);
  });

  it('caps server -> client at 600 kbit/s while client -> server is unaffected', async () => {
    const r = await runScenario<CapResult>('cap');
    within(r.down.wireKbit, 600, 0.2, 'server -> client rate on the wire (kbit/s)');
    within(r.down.payloadKbit, 600, 0.2, 'server -> client payload rate (kbit/s)');
    within(r.up.payloadKbit, 1200, 0.05, 'client -> server payload rate (kbit/s)');
    assert.equal(r.receivedUp, r.sentUp, 'client -> server lost nothing');
    // Every server packet went through the tbf (sent or dropped there), and nothing else did.
    assert.equal(r.tbf.packets + r.tbf.drops, r.sentDown, 'tbf saw exactly the server -> client packets');
    assert.equal(r.tbf.packets, r.receivedDown, 'what the tbf sent is what the client got');
    assert.equal(r.directPackets, r.sentUp, 'client -> server packets went out unclassified');
  });

  it('a cap for dport = client A leaves client B alone', async () => {
    const r = await runScenario<CapDportResult>('cap-dport');
    within(r.a.wireKbit, 600, 0.2, 'server -> A rate on the wire (kbit/s)');
    within(r.b.payloadKbit, 1200, 0.05, 'server -> B payload rate (kbit/s)');
    assert.equal(r.receivedB, r.sentB, 'B lost nothing');
    assert.equal(r.tbf.packets + r.tbf.drops, r.sentA, 'tbf saw exactly the packets to A');
    assert.equal(r.directPackets, r.sentB, 'packets to B went out unclassified');
  });

  it('5% loss and 40 ms delay, measured over 2400 packets, only on the matched flow', async () => {
    const r = await runScenario<ImpairResult>('impair');
    assert.ok(r.sent >= 2000, `sent ${r.sent} packets`);
    assert.ok(r.lossPercent >= 3 && r.lossPercent <= 7, `measured loss ${r.lossPercent}% not in 3..7%`);
    assert.equal(r.duplicates, 0);
    const addedMs = r.delayMedianMs - r.controlDelayMedianMs;
    assert.ok(addedMs >= 30 && addedMs <= 50, `added one-way delay ${addedMs} ms not 40 ±10 ms`);
    assert.ok(r.delayMinMs >= 39.5, `a packet arrived after ${r.delayMinMs} ms, before the delay`);
    // The unmatched flows: other client port from the same server port, and client -> server.
    assert.equal(r.controlReceived, r.controlSent, 'server -> other client port lost nothing');
    assert.ok(r.controlDelayMedianMs < 5, `server -> other client port delayed ${r.controlDelayMedianMs} ms`);
    assert.equal(r.upReceived, r.upSent, 'client -> server lost nothing');
    assert.ok(r.upDelayMedianMs < 5, `client -> server delayed ${r.upDelayMedianMs} ms`);
    // The rule hit exactly the intended packets, and the helper's counters agree with what arrived.
    assert.equal(r.rulePackets, r.sent, 'iptables rule packets = packets sent on the impaired flow');
    assert.equal(r.helper.seen, r.sent, 'helper saw every packet of the flow');
    assert.equal(r.helper.dropped, r.sent - r.received, 'helper drops = packets missing at the client');
    assert.equal(r.helper.released, r.received);
    assert.equal(r.helper.verdictErrors, 0);
    assert.equal(r.helperFinal.pending, 0, 'nothing held when the helper stopped');
    assert.equal(r.rulesAfterStop, 0, 'stop() removed the rule');
    assert.ok(!isHelperAlive(r.helperPid), 'helper exited');
  });

  it('update(rate) lifts a cap mid-run', async () => {
    const r = await runScenario<UpdateResult>('update');
    within(r.before.wireKbit, 300, 0.2, 'rate under the 300 kbit/s cap (wire)');
    within(r.after.payloadKbit, 1200, 0.1, 'rate after lifting the cap (payload, all that is sent)');
    assert.equal(r.tbf.packets + r.tbf.drops, r.sent);
    assert.equal(r.tbf.packets, r.received);
    assert.equal(r.capClassesAfterRemove, 0, 'remove() deleted the class');
  });

  it('a scenario killed on timeout leaves no process behind (helper included)', async () => {
    const r = await runInNetworkNamespace(SCENARIO, ['hang'], { timeoutMs: 6_000 });
    assert.equal(r.timedOut, true, `the hang scenario ended by itself: code ${r.code}\n${r.stderr}`);
    const helperPid = (r.json as { helperPid?: number } | undefined)?.helperPid;
    assert.ok(typeof helperPid === 'number', `the scenario started its helper before the timeout:\n${r.stderr}`);
    assert.deepEqual(r.leftoverPids, [], 'nothing was left in the namespace or the process group');
    assert.ok(!isHelperAlive(helperPid), 'the NFQUEUE helper is gone');
  });
});
