// Session resume (docs/resume.md) with unmodified livekit-client 2.23 in headless Chromium: two pages in a room, both
// publishing their camera. Page B loses its signal connection (livekit-client's `simulateScenario('signal-reconnect')`,
// and its WebSocket closed under it) and resumes: it keeps its participant sid, A sees no ParticipantDisconnected and
// no republished track, the track sids are unchanged, both PCs restart ICE (new credentials from the server in B's
// subscriber offer and publisher answer), and B decodes A's camera again after the gap (measured and printed). B away
// for 4 s while A mutes, sends data and gets new metadata: B has all of it after the resume. With
// media workers (the default) and with `rtc.media_workers: 0`. Then the resumes that cannot be honoured: an unknown sid
// (refused with a LeaveRequest RECONNECT: one clean full reconnect), and `resume-reconnect`, which livekit-client itself
// turns into a full reconnect after a successful resume (its simulated failure), which must cost one leave/rejoin only.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { useAtriumAndBrowser, boundedClose } from './helpers/suite.js';
import { startAtrium, type AtriumUnderTest } from './helpers/server.js';
import type { BrowserHarness } from './helpers/browser.js';
import { createStepRunner, type StepRunner } from './helpers/steps.js';
import { recordingLogger } from './helpers/log-recorder.js';
import { waitFor } from '@atrium/webrtc/testing/wait-for.js';
import {
  MEDIA_TIMEOUT_MS, RECONNECT_TIMEOUT_MS, camera, sidOf, twoCameras, expectResume, expectOneFullReconnect, type Room2,
} from './helpers/resume-steps.js';

const serverLog = recordingLogger();
const suite = useAtriumAndBrowser({ atrium: { overrides: { logger: serverLog } } });

/**
 * B's signal connection stays down for 4 s (signal-reconnect with a reconnect delay). Meanwhile A mutes its camera
 * and sends reliable data, and the server changes A's metadata: after the resume B has the mute and the metadata (kept
 * signal messages) and the data (it never left the data channel); A unmutes and B decodes again.
 */
async function expectKeptWhileAway(run: StepRunner, srv: AtriumUnderTest, r: Room2, name: string): Promise<void> {
  const { a, b } = r;
  const sidB = await sidOf(b);
  const sidA = await sidOf(a);
  const participantB = srv.server.rooms.getRoom(r.room)?.getParticipant(sidB);
  assert.ok(participantB);
  const bEvents = await b.eventCount();
  const camSid = camera(await b.remoteTrackStats(), 'alice')!.trackSid;
  await run.step(`${name}: B's signal goes down for 4 s`, async () => {
    await b.call('run', `room.simulateScenario('signal-reconnect', 4000); return true;`);
    await waitFor(() => participantB.isAwaitingResume || undefined, { label: 'the server keeps B for a resume', timeoutMs: 5_000 });
  });
  await run.step(`${name}: while B is away, A mutes its camera and sends reliable data; the server sets A's metadata`, async () => {
    await a.call('run', `await room.localParticipant.setCameraEnabled(false); return true;`);
    await a.publishData('sent while B was away', { reliable: true });
    srv.server.rooms.getRoom(r.room)?.getParticipant(sidA)?.updateFromServer({ metadata: 'changed while B was away' });
    assert.equal(participantB.isAwaitingResume, true, 'B was still away');
  });
  await run.step(`${name}: B resumes`, () => b.waitForEvent((e) => e.type === 'reconnected', { label: 'reconnected', timeoutMs: RECONNECT_TIMEOUT_MS, fromIndex: bEvents }));
  await run.step(`${name}: B got the mute, the metadata and the data`, async () => {
    await b.waitForEvent((e) => e.type === 'trackMuted' && e.participant === 'alice' && e.trackSid === camSid, { label: 'alice\'s camera muted', timeoutMs: 10_000, fromIndex: bEvents });
    await b.waitForEvent((e) => e.type === 'dataReceived' && e.text === 'sent while B was away', { label: 'the data', timeoutMs: 10_000, fromIndex: bEvents });
    await waitFor(async () => (await b.call<string>('run', `return [...room.remoteParticipants.values()].find((p) => p.identity === 'alice').metadata;`)) === 'changed while B was away' || undefined, { label: 'alice\'s metadata at B', timeoutMs: 10_000 });
    assert.equal(await sidOf(b), sidB);
  });
  await run.step(`${name}: A unmutes; B decodes its camera again`, async () => {
    await a.call('run', `await room.localParticipant.setCameraEnabled(true); return true;`);
    const start = camera(await b.remoteTrackStats(), 'alice')!.framesDecoded;
    await b.waitForStats((rows) => camera(rows, 'alice'), (row) => !row.muted && row.framesDecoded > start + 30 && row.frameWidth >= 160, { label: 'alice\'s camera unmuted', timeoutMs: MEDIA_TIMEOUT_MS });
  });
}

const KILL_WEBSOCKET = `room.engine.client.ws.close({ closeCode: 4000, reason: 'e2e: killed' });`;

async function resumeScenarios(run: StepRunner, srv: AtriumUnderTest, harness: BrowserHarness, tag: string): Promise<Room2> {
  const r = await twoCameras(run, srv, harness, tag);
  await expectResume(run, srv, r, `${tag} signal-reconnect`, `await room.simulateScenario('signal-reconnect');`);
  await expectResume(run, srv, r, `${tag} WebSocket closed`, KILL_WEBSOCKET);
  await expectKeptWhileAway(run, srv, r, `${tag} away 4 s`);
  return r;
}

test('resume with media workers: signal-reconnect, a closed WebSocket and 4 s away keep sid, tracks, media and messages', { timeout: 180_000 }, async () => {
  const { server: srv, browser: harness } = suite.started();
  const run = createStepRunner({ scenario: 'resume.test.ts (workers)', logs: () => [...harness.logs(), ...serverLog.lines()] });
  const r = await resumeScenarios(run, srv, harness, 'workers');

  // A resume naming a sid the server does not know: refused with a clear reason, one full reconnect.
  const logFrom = serverLog.entries.length;
  await expectOneFullReconnect(run, r, 'unknown sid', `room.engine.participantSid = 'PA_e2eunknown'; await room.simulateScenario('signal-reconnect');`);
  const refusal = serverLog.entries.slice(logFrom).find((e) => e.msg.startsWith('resume refused'));
  assert.ok(refusal, 'the server logged the refused resume');
  assert.equal(refusal.fields['reason'], 'unknown participant sid PA_e2eunknown');
  run.note(`server: ${refusal.msg}`);

  // livekit-client's resume-reconnect: a resume that the client fails on purpose after the ReconnectResponse, then a
  // full reconnect (RTCEngine.attemptReconnect escalates any non-signal error). It must cost one leave/rejoin only.
  await expectOneFullReconnect(run, r, 'resume-reconnect', `await room.simulateScenario('resume-reconnect');`);
  await Promise.all([r.a.disconnect(), r.b.disconnect()]);
  await Promise.all([r.a.close(), r.b.close()]);
  process.stdout.write(run.history().split('\n').map((l) => `# ${l}`).join('\n') + '\n');
});

test('resume without media workers (rtc.media_workers: 0): the same three cases', { timeout: 120_000 }, async () => {
  const { browser: harness } = suite.started();
  const srv = await startAtrium({ config: { rtc: { mediaWorkers: 0 } }, overrides: { logger: serverLog } });
  try {
    assert.equal(srv.server.mediaWorkers, undefined);
    const run = createStepRunner({ scenario: 'resume.test.ts (in-thread)', logs: () => [...harness.logs(), ...serverLog.lines()] });
    const r = await resumeScenarios(run, srv, harness, 'inthread');
    await Promise.all([r.a.disconnect(), r.b.disconnect()]);
    await Promise.all([r.a.close(), r.b.close()]);
    process.stdout.write(run.history().split('\n').map((l) => `# ${l}`).join('\n') + '\n');
  } finally {
    await boundedClose('closing the in-thread Atrium', () => srv.close(), 10_000);
  }
});


