// Scenario for e2e/address-change.test.ts, run inside a network namespace by runInNetworkNamespace (call it ns1).
// It makes a second namespace (ns2, held by a `sleep` in this process group) joined to ns1 by a veth pair: Atrium on
// 10.77.0.1 (ns1's end), page A (alice) in a Chromium in ns1, page B (bob) in a Chromium started in ns2 (through a
// wrapper that nsenters it), whose only way out is its veth end at 10.77.0.2. Both publish a camera and decode the
// other's. Then B's address changes: 10.77.0.3 is added to its interface and 10.77.0.2 removed (as when a laptop gets
// a new lease, or moves between networks). The session must survive: B keeps its participant sid and track sids, A
// sees no leave, and both decode the other's camera again; the decoding gap at A is measured. Prints one JSON line.
import { spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitFor } from '@atrium/webrtc/testing/wait-for.js';
import { CHROMIUM_PATH } from '@atrium/webrtc/testing/chromium.js';
import { launchBrowser, type BrowserHarness } from './browser.js';
import { selectedPairs } from './selected-pairs.js';
import { emitScenarioResult, assertInsideScenarioNamespace, processesInNetworkNamespace } from './netns.js';
import { netnsExec } from './netns-shaping.js';
import { startAtrium, type AtriumUnderTest } from './server.js';
import { camera, frameSampler, sidOf } from './resume-steps.js';

const SERVER_IP = '10.77.0.1';
const OLD_IP = '10.77.0.2';
const NEW_IP = '10.77.0.3';
const MEDIA_TIMEOUT_MS = 30_000;
/** How long the session may take to recover after the address change (ICE checks, or a resume with an ICE restart). */
const RECOVERY_TIMEOUT_MS = 45_000;
const PRIVATE_NETWORK_CHECKS = [
  'BlockInsecurePrivateNetworkRequests', 'PrivateNetworkAccessSendPreflights', 'PrivateNetworkAccessRespectPreflightResults',
  'LocalNetworkAccessChecks',
];
const NO_THROTTLING = ['--disable-background-timer-throttling', '--disable-renderer-backgrounding', '--disable-backgrounding-occluded-windows'];

const log = (line: string): void => {
  process.stderr.write(`[address-change ${new Date().toISOString().slice(11, 23)}] ${line}\n`);
};

async function main(): Promise<void> {
  assertInsideScenarioNamespace();
  const ns1 = readlinkSync('/proc/self/ns/net');
  const holder = spawn('unshare', ['-n', 'sleep', '600'], { stdio: 'ignore' });
  const tmp = mkdtempSync(join(tmpdir(), 'atrium-addr-'));
  let server: AtriumUnderTest | undefined;
  let browserA: BrowserHarness | undefined;
  let browserB: BrowserHarness | undefined;
  let ns2: string | undefined;
  try {
    const pid = holder.pid;
    if (pid === undefined) throw new Error('could not start the ns2 holder');
    ns2 = await waitFor(() => {
      try {
        const ns = readlinkSync(`/proc/${pid}/ns/net`);
        return ns !== ns1 ? ns : undefined;
      } catch {
        return undefined;
      }
    }, { label: 'the second namespace', timeoutMs: 5_000 });
    const nsPath = `/proc/${pid}/ns/net`;
    const in2 = (cmd: string, args: string[]): Promise<string> => netnsExec('nsenter', [`--net=${nsPath}`, '--', cmd, ...args]);
    await netnsExec('ip', ['link', 'add', 'va', 'type', 'veth', 'peer', 'name', 'vb']);
    await netnsExec('ip', ['link', 'set', 'vb', 'netns', String(pid)]);
    await netnsExec('ip', ['addr', 'add', `${SERVER_IP}/24`, 'dev', 'va']);
    await netnsExec('ip', ['link', 'set', 'va', 'up']);
    await in2('ip', ['link', 'set', 'lo', 'up']);
    // Removing the primary address would take the secondary one with it unless secondaries are promoted.
    await in2('sysctl', ['-q', '-w', 'net.ipv4.conf.all.promote_secondaries=1']);
    await in2('ip', ['addr', 'add', `${OLD_IP}/24`, 'dev', 'vb']);
    await in2('ip', ['link', 'set', 'vb', 'up']);
    log(`ns2 ${ns2}: veth ${SERVER_IP} (ns1) <-> ${OLD_IP} (ns2)`);

    const wrapper = join(tmp, 'chromium-in-ns2');
    writeFileSync(wrapper, `#!/bin/sh\nexec nsenter --net=${nsPath} -- ${CHROMIUM_PATH} "$@"\n`);
    chmodSync(wrapper, 0o755);

    server = await startAtrium({ config: { bindAddresses: [SERVER_IP] } });
    const srv = server;
    log(`Atrium at ${srv.url}, UDP ${srv.server.udpPorts.join(',')}`);
    browserA = await launchBrowser({ extraArgs: NO_THROTTLING });
    // B's page comes through Playwright's routing (no network to ns1's page server), so Chromium does not know the
    // page's address space and treats it as public: its requests to Atrium's private address would then be refused
    // by the local/private network access checks, which are off for this browser (one --disable-features flag: the last wins).
    browserB = await launchBrowser({
      executablePath: wrapper, routePages: true, omitArgs: ['--disable-features=WebRtcHideLocalIpsWithMdns'],
      extraArgs: [...NO_THROTTLING, `--disable-features=WebRtcHideLocalIpsWithMdns,${PRIVATE_NETWORK_CHECKS.join(',')}`],
    });
    const a = await browserA.openParticipant('A');
    const b = await browserB.openParticipant('B');
    const room = `address-change-${Date.now()}`;
    await a.connect(srv.url, await srv.token({ identity: 'alice', room }));
    await b.connect(srv.url, await srv.token({ identity: 'bob', room }));
    await a.setCameraEnabled(true);
    await b.setCameraEnabled(true);
    await Promise.all([
      a.waitForStats((rows) => camera(rows, 'bob'), (r) => r.framesDecoded > 30 && r.frameWidth > 0, { label: "bob's camera at A", timeoutMs: MEDIA_TIMEOUT_MS }),
      b.waitForStats((rows) => camera(rows, 'alice'), (r) => r.framesDecoded > 30 && r.frameWidth > 0, { label: "alice's camera at B", timeoutMs: MEDIA_TIMEOUT_MS }),
    ]);
    const before = {
      sid: await sidOf(b),
      trackAtA: camera(await a.remoteTrackStats(), 'bob')!.trackSid,
      framesAtA: camera(await a.remoteTrackStats(), 'bob')!.framesDecoded,
      framesAtB: camera(await b.remoteTrackStats(), 'alice')!.framesDecoded,
      aEvents: await a.eventCount(),
      bEvents: await b.eventCount(),
      pairs: await selectedPairs(b),
      resumes: srv.server.rooms.getRoom(room)?.getParticipant(await sidOf(b))?.resumes ?? -1,
    };
    log(`before: ${JSON.stringify(before)}`);
    if (!before.pairs.every((p) => p.localAddress === OLD_IP)) throw new Error(`B's pairs do not use ${OLD_IP}: ${JSON.stringify(before.pairs)}`);

    const sampler = await frameSampler(a, 'bob');
    const t0 = Date.now();
    await in2('ip', ['addr', 'add', `${NEW_IP}/24`, 'dev', 'vb']);
    await in2('ip', ['addr', 'del', `${OLD_IP}/24`, 'dev', 'vb']);
    log(`B's address moved from ${OLD_IP} to ${NEW_IP}`);

    await Promise.all([
      a.waitForStats((rows) => camera(rows, 'bob'), (r) => r.framesDecoded > before.framesAtA + 60, { label: "bob's camera at A after the move", timeoutMs: RECOVERY_TIMEOUT_MS }),
      b.waitForStats((rows) => camera(rows, 'alice'), (r) => r.framesDecoded > before.framesAtB + 60, { label: "alice's camera at B after the move", timeoutMs: RECOVERY_TIMEOUT_MS }),
    ]);
    // Both directions again: B's pairs now start at its new address.
    const pairsAfter = await waitFor(async () => {
      const p = await selectedPairs(b);
      return p.length > 0 && p.every((x) => x.localAddress === NEW_IP) ? p : undefined;
    }, { label: `B's selected pairs on ${NEW_IP}`, timeoutMs: 15_000 });
    const recoveredMs = Date.now() - t0;
    const gap = await sampler.stop();
    const aEvents = (await a.events()).slice(before.aEvents);
    const bEvents = (await b.events()).slice(before.bEvents);
    const participant = srv.server.rooms.getRoom(room)?.getParticipant(before.sid);
    const result = {
      ok: true,
      sidBefore: before.sid,
      sidAfter: await sidOf(b),
      trackBefore: before.trackAtA,
      trackAfter: camera(await a.remoteTrackStats(), 'bob')?.trackSid,
      onServer: participant !== undefined && !participant.isClosed,
      resumes: (participant?.resumes ?? -1) - before.resumes,
      aSawBob: aEvents.filter((e) => e.participant === 'bob').map((e) => e.type),
      bEvents: bEvents.map((e) => e.type).filter((t) => t !== 'activeSpeakersChanged' && t !== 'connectionQualityChanged'),
      pairsBefore: before.pairs,
      pairsAfter,
      recoveredMs,
      gapAtAMs: gap.gapMs,
      samples: gap.samples,
    };
    log(`after: ${JSON.stringify(result)}`);
    if (process.env['E2E_ADDRESS_VERBOSE'] === '1') for (const line of browserB.logs()) log(`B: ${line}`);
    emitScenarioResult(result);
  } catch (err) {
    log(`failed: ${(err as Error).stack ?? String(err)}`);
    for (const h of [browserA, browserB]) if (h) for (const line of h.logs().slice(-30)) log(`browser: ${line}`);
    emitScenarioResult({ ok: false, error: (err as Error).message });
    process.exitCode = 1;
  } finally {
    await browserB?.close().catch(() => undefined);
    await browserA?.close().catch(() => undefined);
    await server?.close().catch(() => undefined);
    // Whatever still runs in ns2 (a Chromium that did not close) goes with the holder.
    if (ns2 !== undefined) for (const p of processesInNetworkNamespace(ns2)) if (p !== holder.pid) process.kill(p, 'SIGKILL');
    holder.kill('SIGKILL');
    rmSync(tmp, { recursive: true, force: true });
  }
}

await main();
