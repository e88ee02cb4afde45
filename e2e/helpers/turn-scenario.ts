// Scenario for e2e/turn.test.ts, run in a network namespace of its own (fixed TURN ports cannot clash there): Atrium
// in-process and two livekit-client pages in headless Chromium that connect with rtcConfig.iceTransportPolicy 'relay'
// (only relay candidates on the client side), both publishing their camera. Modes:
//   udp     the embedded TURN server over UDP (turn.udp_port), from the JoinResponse's ice_servers; then B's signal
//           connection drops and it resumes: the ReconnectResponse brings a fresh credential, the ICE restart gathers
//           relay candidates again, and B decodes A again over the relay.
//   tls     the embedded TURN server over TLS only (turn.tls_port, turn.udp_port 0): a certificate from a test CA
//           that Chromium trusts through an NSS database under a temporary HOME (helpers/test-ca.ts).
//   tls-untrusted  the control for tls: the same, but the NSS database does not hold the CA. Chromium must refuse
//           the certificate, so no relay candidate exists and the relay-only client cannot connect.
//   coturn  the embedded server off; coturn (started here) given to clients through rtc.turn_servers.
// Prints one JSON line: each page's selected candidate pairs (local candidate type, relay protocol, TURN URL), what
// each page decodes of the other's camera, and the embedded server's allocations.
import { launchBrowser, type BrowserHarness } from './browser.js';
import type { BrowserParticipant, RemoteTrackStats } from './browser-participant.js';
import { selectedPairs } from './selected-pairs.js';
import { emitScenarioResult, assertInsideScenarioNamespace } from './netns.js';
import { startAtrium, type AtriumUnderTest } from './server.js';
import { createTestCa, type TestCa } from './test-ca.js';
import { startCoturn, type Coturn } from './coturn.js';

const MODES = ['udp', 'tls', 'tls-untrusted', 'coturn'] as const;
type Mode = (typeof MODES)[number];
const mode = process.argv[2] as Mode;
if (!MODES.includes(mode)) throw new Error(`usage: turn-scenario.ts <${MODES.join('|')}>`);

export const TURN_UDP_PORT = 3478;
export const TURN_TLS_PORT = 5349;
export const COTURN_PORT = 3479;
const MEDIA_TIMEOUT_MS = 40_000;

const log = (line: string): void => {
  process.stderr.write(`[turn ${mode} ${new Date().toISOString().slice(11, 23)}] ${line}\n`);
};

function camera(rows: RemoteTrackStats[], identity: string): RemoteTrackStats | undefined {
  return rows.find((r) => r.participant === identity && r.source === 'camera');
}

async function main(): Promise<void> {
  assertInsideScenarioNamespace();
  let server: AtriumUnderTest | undefined;
  let browser: BrowserHarness | undefined;
  let ca: TestCa | undefined;
  let coturn: Coturn | undefined;
  try {
    if (mode === 'tls' || mode === 'tls-untrusted') {
      ca = await createTestCa({ dnsName: 'localhost', ip: '127.0.0.1', nssHome: true, trustCa: mode === 'tls' });
    }
    if (mode === 'coturn') {
      coturn = await startCoturn({ port: COTURN_PORT, relayMin: 31000, relayMax: 31100 });
      log(`coturn pid ${coturn.pid} on UDP ${coturn.port}`);
    }
    server = await startAtrium({
      config: {
        turn: mode === 'coturn'
          ? { enabled: false }
          : {
            enabled: true, udpPort: mode === 'udp' ? TURN_UDP_PORT : 0, relayRangeStart: 30000, relayRangeEnd: 30100,
            ...(ca ? { tlsPort: TURN_TLS_PORT, domain: 'localhost', certFile: ca.certFile, keyFile: ca.keyFile } : {}),
          },
        rtc: coturn ? { turnServers: [{ host: '127.0.0.1', port: coturn.port, protocol: 'udp', username: coturn.username, credential: coturn.password }] } : {},
      },
    });
    const srv = server;
    const udpPorts = [...srv.server.udpPorts];
    log(`Atrium: media UDP ${udpPorts.join(',')}, TURN UDP ${srv.server.turn.udpPort}, TURN TLS ${srv.server.turn.tlsPort}`);

    browser = await launchBrowser({
      extraArgs: ['--disable-background-timer-throttling', '--disable-renderer-backgrounding', '--disable-backgrounding-occluded-windows'],
      ...(ca?.home !== undefined ? { env: { ...process.env, HOME: ca.home } } : {}),
    });
    const room = `turn-${mode}-${Date.now()}`;
    const [a, b] = await browser.openParticipants(['A', 'B']);
    if (!a || !b) throw new Error('pages did not open');
    const connectOptions = { rtcConfig: { iceTransportPolicy: 'relay' } };
    if (mode === 'tls-untrusted') {
      const t0 = Date.now();
      const error = await a.callWithin(40_000, 'connect', srv.url, await srv.token({ identity: 'a', room }), {}, connectOptions)
        .then(() => undefined, (err: Error) => err.message);
      const turnStats = srv.server.turn.server?.stats;
      log(`untrusted: connect ${error === undefined ? 'succeeded' : 'failed'} after ${Date.now() - t0} ms: ${error}`);
      emitScenarioResult({ ok: true, mode, connectError: error ?? null, turnStats, tls: srv.server.turn.tlsStats });
      return;
    }
    for (const [p, identity] of [[a, 'a'], [b, 'b']] as const) {
      const t0 = Date.now();
      await p.callWithin(40_000, 'connect', srv.url, await srv.token({ identity, room }), {}, connectOptions);
      log(`${identity} connected in ${Date.now() - t0} ms`);
      await p.setCameraEnabled(true);
    }
    const decode = (p: BrowserParticipant, other: string): Promise<RemoteTrackStats> => p.waitForDecoding(
      (rows) => camera(rows, other),
      (r) => r.frameWidth === 1280 && r.frameHeight === 720 && r.framesDecoded > 30,
      { label: `${other}'s camera decoded at 1280x720 over TURN`, timeoutMs: MEDIA_TIMEOUT_MS },
    );
    const [atA, atB] = await Promise.all([decode(a, 'b'), decode(b, 'a')]);
    const summary = (r: RemoteTrackStats) => ({ width: r.frameWidth, height: r.frameHeight, framesDecoded: r.framesDecoded, codec: r.codec });
    const pairs = {
      a: await selectedPairs(a),
      b: await selectedPairs(b),
    };
    log(`selected pairs: ${JSON.stringify(pairs)}`);
    let resume: unknown;
    if (mode === 'udp') resume = await runResume(b, srv);
    const turnStats = srv.server.turn.server?.stats;
    emitScenarioResult({
      ok: true, mode, udpPorts, turnUdpPort: srv.server.turn.udpPort, turnTlsPort: srv.server.turn.tlsPort, coturnPort: coturn?.port,
      decoded: { atA: summary(atA), atB: summary(atB) }, pairs, turnStats, resume,
      coturnAllocations: coturn ? (coturn.log().match(/session \d+: new, realm=/g) ?? []).length : undefined,
    });
  } catch (err) {
    log(`failed: ${(err as Error).stack ?? String(err)}`);
    if (browser) for (const line of browser.logs().slice(-40)) log(`browser: ${line}`);
    if (coturn) log(`coturn log tail:\n${coturn.log().slice(-3000)}`);
    emitScenarioResult({ ok: false, mode, error: (err as Error).message });
    process.exitCode = 1;
  } finally {
    await browser?.close();
    await server?.close();
    await coturn?.stop();
    ca?.remove();
  }
}

/** B's signal connection drops; it resumes (same sid) and decodes A again, still over the relay. */
async function runResume(b: BrowserParticipant, srv: AtriumUnderTest): Promise<unknown> {
  const sidBefore = await b.call<string>('run', 'return room.localParticipant.sid;');
  const issuedBefore = srv.server.turn.credentialsIssued;
  const from = await b.eventCount();
  const framesBefore = camera(await b.remoteTrackStats(), 'a')?.framesDecoded ?? 0;
  await b.call('run', "room.simulateScenario('signal-reconnect'); return true;");
  await b.waitForEvent((e) => e.type === 'reconnected', { label: 'resumed', timeoutMs: 20_000, fromIndex: from });
  const events = (await b.events()).slice(from).map((e) => e.type);
  const decoded = await b.waitForDecoding((rows) => camera(rows, 'a'), (r) => r.frameWidth === 1280 && r.framesDecoded > framesBefore + 30,
    { label: "a's camera decoded again after the resume", timeoutMs: MEDIA_TIMEOUT_MS });
  const r = {
    sidBefore, sidAfter: await b.call<string>('run', 'return room.localParticipant.sid;'), events,
    credentialsIssuedOnResume: srv.server.turn.credentialsIssued - issuedBefore,
    framesBefore, framesAfter: decoded.framesDecoded, pairsAfter: await selectedPairs(b),
  };
  log(`resume: ${JSON.stringify(r)}`);
  return r;
}

await main();
