// A draining server sends the participants still in at its deadline LeaveRequest{RECONNECT, SERVER_SHUTDOWN}
// (docs/scenarios.md): unmodified livekit-client 2.23 in headless Chromium then rejoins instead of disconnecting. Two
// pages with cameras on server 1; server 1 drains with a short deadline and stops; server 2 starts on the same URL
// (a restart, or the node a load balancer picks). Both pages reconnect on their own (Reconnecting, Reconnected, never
// Disconnected), get new participant sids on server 2, and decode each other's camera again; the time from the leave
// to decoding again is measured and printed.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { withTimeout } from '@atrium/webrtc/testing/wait-for.js';
import { boundedClose, ATRIUM_START_TIMEOUT_MS, CHROMIUM_LAUNCH_TIMEOUT_MS } from './helpers/suite.js';
import { launchBrowser, type BrowserHarness } from './helpers/browser.js';
import { startAtrium, type AtriumUnderTest } from './helpers/server.js';
import { createStepRunner } from './helpers/steps.js';
import { recordingLogger } from './helpers/log-recorder.js';
import { MEDIA_TIMEOUT_MS, camera, sidOf, eventsOf } from './helpers/resume-steps.js';

const serverLog = recordingLogger();
/** Both servers as configured by E2E_MEDIA_WORKERS (media workers by default). */
const config = {};
let harness: BrowserHarness | undefined;
const servers: AtriumUnderTest[] = [];

before(async () => {
  harness = await withTimeout(launchBrowser(), CHROMIUM_LAUNCH_TIMEOUT_MS, 'Chromium to launch');
});
after(async () => {
  await boundedClose('closing Chromium', () => harness?.close() ?? Promise.resolve(), 15_000);
  for (const s of servers) await boundedClose('closing Atrium', () => s.close(), 10_000);
});

test('drain: participants still in at the deadline are asked to reconnect, and rejoin the server that takes over', { timeout: 120_000 }, async () => {
  assert.ok(harness);
  const run = createStepRunner({ scenario: 'drain.test.ts', logs: () => [...harness!.logs(), ...serverLog.lines()] });
  const first = await withTimeout(startAtrium({ config, overrides: { logger: serverLog } }), ATRIUM_START_TIMEOUT_MS, 'Atrium 1 to start');
  servers.push(first);
  // The cameras are published from the page's own getUserMedia track (user-provided): on a full reconnect livekit-client
  // republishes such a track as it is. A camera it opened itself is restarted (a new getUserMedia) first, and with two
  // pages restarting the fake camera at once, one of them now and then sent no video afterwards (bytesSent 0, encodings
  // active, track live): a browser-side effect this test is not about.
  const room = `drain-${Date.now()}`;
  const [a, b] = await run.step('open pages A and B', () => Promise.all([harness!.openParticipant('A-drain'), harness!.openParticipant('B-drain')]));
  await run.step('A and B connect and publish a camera track of their own', async () => {
    await a.connect(first.url, await first.token({ identity: 'alice', room }));
    await b.connect(first.url, await first.token({ identity: 'bob', room }));
    for (const p of [a, b]) {
      await p.call('run', `
        const stream = await navigator.mediaDevices.getUserMedia({ video: { width: 1280, height: 720 } });
        await room.localParticipant.publishTrack(stream.getVideoTracks()[0], { source: 'camera', simulcast: true });
        return true;`);
    }
  });
  await run.step('each decodes the other\'s camera', () =>
    Promise.all([
      b.waitForStats((rows) => camera(rows, 'alice'), (x) => x.framesDecoded > 30 && x.frameWidth > 0, { label: 'alice at B', timeoutMs: MEDIA_TIMEOUT_MS }),
      a.waitForStats((rows) => camera(rows, 'bob'), (x) => x.framesDecoded > 30 && x.frameWidth > 0, { label: 'bob at A', timeoutMs: MEDIA_TIMEOUT_MS }),
    ]),
  );
  const r = { room, a, b };
  const before = { a: await sidOf(r.a), b: await sidOf(r.b), aEvents: await r.a.eventCount(), bEvents: await r.b.eventCount() };

  const leftAtMs = await run.step('server 1 drains (1 s deadline) and stops', async () => {
    await first.server.drain({ timeoutMs: 1_000 });
    return Date.now();
  });
  const leaves = serverLog.entries.filter((e) => e.msg === 'participant closed' && e.fields['reason'] === 'SERVER_SHUTDOWN');
  assert.equal(leaves.length, 2, 'both participants were closed with SERVER_SHUTDOWN');
  const second = await run.step('server 2 starts on the same port', () =>
    withTimeout(startAtrium({ config, port: first.httpPort, overrides: { logger: serverLog } }), ATRIUM_START_TIMEOUT_MS, 'Atrium 2 to start'),
  );
  servers.push(second);
  assert.equal(second.url, first.url);

  await run.step('both pages reconnect on their own', () =>
    Promise.all([
      r.a.waitForEvent((e) => e.type === 'reconnected', { label: 'A reconnected', timeoutMs: 45_000, fromIndex: before.aEvents }),
      r.b.waitForEvent((e) => e.type === 'reconnected', { label: 'B reconnected', timeoutMs: 45_000, fromIndex: before.bEvents }),
    ]),
  );
  await run.step('each decodes the other\'s camera again, from server 2', () =>
    Promise.all([
      r.b.waitForStats((rows) => camera(rows, 'alice'), (x) => x.framesDecoded > 30 && x.frameWidth >= 160, { label: 'alice at B', timeoutMs: MEDIA_TIMEOUT_MS }),
      r.a.waitForStats((rows) => camera(rows, 'bob'), (x) => x.framesDecoded > 30 && x.frameWidth >= 160, { label: 'bob at A', timeoutMs: MEDIA_TIMEOUT_MS }),
    ]),
  );
  const backMs = Date.now() - leftAtMs;
  await run.step('new sessions on server 2; nobody was told to give up', async () => {
    const after = { a: await sidOf(r.a), b: await sidOf(r.b) };
    assert.notEqual(after.a, before.a);
    assert.notEqual(after.b, before.b);
    const room = second.server.rooms.getRoom(r.room);
    assert.equal(room?.participantCount, 2, 'both on server 2');
    assert.ok(room?.getParticipant(after.a) && room.getParticipant(after.b));
    assert.deepEqual(eventsOf(await r.a.events(), before.aEvents, 'disconnected'), [], 'A never disconnected');
    assert.deepEqual(eventsOf(await r.b.events(), before.bEvents, 'disconnected'), [], 'B never disconnected');
    assert.equal(await r.a.connectionState(), 'connected');
  });
  run.note(`drain: both pages decode each other again ${backMs} ms after server 1 stopped`);
  process.stdout.write(`# drain: back to decoding ${backMs} ms after server 1 stopped (server 2 started on the same port)\n`);
  await Promise.all([r.a.disconnect(), r.b.disconnect()]);
  await Promise.all([r.a.close(), r.b.close()]);
  process.stdout.write(run.history().split('\n').map((l) => `# ${l}`).join('\n') + '\n');
});
