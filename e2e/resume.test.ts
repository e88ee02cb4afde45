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
import type { BrowserParticipant, PageEvent, RemoteTrackStats } from './helpers/browser-participant.js';
import { createStepRunner, type StepRunner } from './helpers/steps.js';
import { recordingLogger } from './helpers/log-recorder.js';
import { waitFor } from '@atrium/webrtc/testing/wait-for.js';

const MEDIA_TIMEOUT_MS = 20_000;
const RECONNECT_TIMEOUT_MS = 20_000;

const serverLog = recordingLogger();
const suite = useAtriumAndBrowser({ atrium: { overrides: { logger: serverLog } } });

const camera = (rows: RemoteTrackStats[], identity: string): RemoteTrackStats | undefined =>
  rows.find((r) => r.participant === identity && r.source === 'camera');

interface Room2 {
  room: string;
  a: BrowserParticipant;
  b: BrowserParticipant;
}

/** Pages A (alice) and B (bob) in a new room, both publishing a camera and decoding the other's. */
async function twoCameras(run: StepRunner, srv: AtriumUnderTest, harness: BrowserHarness, tag: string): Promise<Room2> {
  const room = `resume-${tag}-${Date.now()}`;
  const [a, b] = await run.step('open pages A and B', () => Promise.all([harness.openParticipant(`A-${tag}`), harness.openParticipant(`B-${tag}`)]));
  const [tokenA, tokenB] = await Promise.all([srv.token({ identity: 'alice', room }), srv.token({ identity: 'bob', room })]);
  await run.step('A and B connect', async () => {
    await a.connect(srv.url, tokenA);
    await b.connect(srv.url, tokenB);
  });
  await run.step('A and B publish their camera', () => Promise.all([a.setCameraEnabled(true), b.setCameraEnabled(true)]));
  await run.step('each decodes the other\'s camera', () =>
    Promise.all([
      b.waitForStats((rows) => camera(rows, 'alice'), (r) => r.framesDecoded > 30 && r.frameWidth > 0, { label: 'alice\'s camera', timeoutMs: MEDIA_TIMEOUT_MS }),
      a.waitForStats((rows) => camera(rows, 'bob'), (r) => r.framesDecoded > 30 && r.frameWidth > 0, { label: 'bob\'s camera', timeoutMs: MEDIA_TIMEOUT_MS }),
    ]),
  );
  return { room, a, b };
}

const sidOf = (p: BrowserParticipant): Promise<string> => p.call<string>('run', 'return room.localParticipant.sid');

/** The ICE ufrags of the server in B's PCs' remote descriptions (new ones after an ICE restart). */
function remoteUfrags(p: BrowserParticipant): Promise<{ subscriber: string | undefined; publisher: string | undefined }> {
  return p.call('run', `
    const ufrag = (t) => { const d = t && t.pc && t.pc.remoteDescription; const m = d && /a=ice-ufrag:(\\S+)/.exec(d.sdp); return m ? m[1] : undefined; };
    const pcm = room.engine.pcManager;
    return { subscriber: ufrag(pcm.subscriber), publisher: ufrag(pcm.publisher) };
  `);
}

function eventsOf(events: PageEvent[], from: number, type: string, participant?: string): PageEvent[] {
  return events.slice(from).filter((e) => e.type === type && (participant === undefined || e.participant === participant));
}

/**
 * Samples, inside page B, what it decodes of A's camera every 20 ms (inbound-rtp framesDecoded of the track's receiver)
 * until stopped; the gap is the longest time during which the decoded frame count did not grow (the media gap the
 * resume cost, at the resolution of one sample plus a frame interval).
 */
async function frameSampler(b: BrowserParticipant): Promise<{ stop: () => Promise<{ gapMs: number; samples: number }> }> {
  await b.call('run', `
    const alice = [...room.remoteParticipants.values()].find((p) => p.identity === 'alice');
    const pub = alice && [...alice.trackPublications.values()].find((x) => x.source === 'camera');
    if (!pub || !pub.track) throw new Error('no camera track of alice');
    const receiver = pub.track.receiver;
    const state = { running: true, samples: [] };
    window.__frameSampler = state;
    (async () => {
      while (state.running) {
        const stats = await receiver.getStats();
        let frames = 0;
        stats.forEach((r) => { if (r.type === 'inbound-rtp' && r.kind === 'video') frames = Math.max(frames, r.framesDecoded || 0); });
        state.samples.push([performance.now(), frames]);
        await new Promise((res) => setTimeout(res, 20));
      }
    })();
  `);
  return {
    stop: () => b.call('run', `
      const state = window.__frameSampler;
      state.running = false;
      const s = state.samples;
      let gapMs = 0;
      let lastGrowth = s.length > 0 ? s[0][0] : 0;
      for (let i = 1; i < s.length; i++) {
        if (s[i][1] > s[i - 1][1]) { gapMs = Math.max(gapMs, s[i][0] - lastGrowth); lastGrowth = s[i][0]; }
      }
      return { gapMs: Math.round(gapMs), samples: s.length };
    `),
  };
}

/** B loses its signal connection through `trigger` (page code) and must resume: everything stays as it was. */
async function expectResume(run: StepRunner, srv: AtriumUnderTest, r: Room2, name: string, trigger: string): Promise<void> {
  const { a, b } = r;
  const before = await run.step(`${name}: note sids, track sids and ICE credentials`, async () => ({
    sid: await sidOf(b),
    bSees: camera(await b.remoteTrackStats(), 'alice')!.trackSid,
    aSees: camera(await a.remoteTrackStats(), 'bob')!.trackSid,
    aEvents: await a.eventCount(),
    bEvents: await b.eventCount(),
    ufrags: await remoteUfrags(b),
    frames: camera(await b.remoteTrackStats(), 'alice')!.framesDecoded,
    size: ((row) => `${row.frameWidth}x${row.frameHeight}`)(camera(await b.remoteTrackStats(), 'alice')!),
  }));
  const participant = srv.server.rooms.getRoom(r.room)?.getParticipant(before.sid);
  assert.ok(participant, 'bob on the server');
  const resumesBefore = participant.resumes;
  const sampler = await frameSampler(b);
  const startMs = Date.now();
  await run.step(`${name}: trigger`, () => b.call('run', trigger));
  await run.step(`${name}: B reconnects`, () => b.waitForEvent((e) => e.type === 'reconnected', { label: 'reconnected', timeoutMs: RECONNECT_TIMEOUT_MS, fromIndex: before.bEvents }));
  const reconnectMs = Date.now() - startMs;
  const after = await run.step(`${name}: B decodes A's camera again (30 more frames, full size)`, () =>
    b.waitForStats((rows) => camera(rows, 'alice'), (row) => row.framesDecoded > before.frames + 30 && row.frameWidth >= 160 && row.frameHeight >= 90, {
      label: 'alice\'s camera after the resume', timeoutMs: MEDIA_TIMEOUT_MS,
    }),
  );
  await run.step(`${name}: A decodes B's camera too`, async () => {
    const start = camera(await a.remoteTrackStats(), 'bob')!.framesDecoded;
    await a.waitForStats((rows) => camera(rows, 'bob'), (row) => row.framesDecoded > start + 30 && row.frameWidth >= 160, { label: 'bob\'s camera after the resume', timeoutMs: MEDIA_TIMEOUT_MS });
  });
  const gap = await sampler.stop();
  run.note(`${name}: reconnected after ${reconnectMs} ms; longest decoding gap ${gap.gapMs} ms (${gap.samples} samples); ${after.codec ?? '?'} ${after.frameWidth}x${after.frameHeight}`);
  process.stdout.write(`# ${name}: reconnected after ${reconnectMs} ms, media gap ${gap.gapMs} ms, B decodes ${after.frameWidth}x${after.frameHeight} (before: ${before.size})\n`);

  await run.step(`${name}: same participant sid, same track sids, nobody left, nothing republished`, async () => {
    assert.equal(await sidOf(b), before.sid, 'B keeps its participant sid');
    assert.equal(camera(await b.remoteTrackStats(), 'alice')!.trackSid, before.bSees);
    assert.equal(camera(await a.remoteTrackStats(), 'bob')!.trackSid, before.aSees);
    const aEvents = await a.events();
    assert.deepEqual(eventsOf(aEvents, before.aEvents, 'participantDisconnected', 'bob'), [], 'A saw no ParticipantDisconnected for B');
    assert.deepEqual(eventsOf(aEvents, before.aEvents, 'participantConnected', 'bob'), []);
    assert.deepEqual(eventsOf(aEvents, before.aEvents, 'trackUnpublished', 'bob'), [], 'B\'s track was not unpublished');
    assert.deepEqual(eventsOf(aEvents, before.aEvents, 'trackPublished', 'bob'), [], 'B\'s track was not republished');
    const bEvents = await b.events();
    assert.deepEqual(eventsOf(bEvents, before.bEvents, 'participantDisconnected'), []);
    assert.deepEqual(eventsOf(bEvents, before.bEvents, 'localTrackPublished'), [], 'B did not republish');
    assert.equal(participant.resumes, resumesBefore + 1, 'the server resumed the participant');
    assert.equal(srv.server.rooms.getRoom(r.room)?.getParticipant(before.sid), participant);
  });
  await run.step(`${name}: every PC restarted ICE (new server credentials in B's remote descriptions)`, async () => {
    const now = await remoteUfrags(b);
    assert.ok(now.publisher);
    assert.notEqual(now.publisher, before.ufrags.publisher, 'the publisher answer to the ICE-restart offer has new ICE credentials');
    // Signalling v1 (E2E_SIGNAL_V1=1, docs/signal-v1.md) has one PC, the client's: its answer is the one above.
    if (before.ufrags.subscriber === undefined) return;
    assert.ok(now.subscriber);
    assert.notEqual(now.subscriber, before.ufrags.subscriber, 'the subscriber offer after the resume has new ICE credentials');
  });
}

/** The case that must end in one clean full reconnect: a new sid, A sees B leave once and come back, media again. */
async function expectOneFullReconnect(run: StepRunner, r: Room2, name: string, trigger: string): Promise<string> {
  const { a, b } = r;
  const sid = await sidOf(b);
  const aEvents = await a.eventCount();
  const bEvents = await b.eventCount();
  await run.step(`${name}: trigger`, () => b.call('run', trigger));
  await run.step(`${name}: B reconnects`, () => b.waitForEvent((e) => e.type === 'reconnected', { label: 'reconnected', timeoutMs: RECONNECT_TIMEOUT_MS, fromIndex: bEvents }));
  await run.step(`${name}: B decodes A's camera again, A decodes B's new track`, () =>
    Promise.all([
      b.waitForStats((rows) => camera(rows, 'alice'), (row) => row.framesDecoded > 30 && row.frameWidth >= 160, { label: 'alice\'s camera', timeoutMs: MEDIA_TIMEOUT_MS }),
      a.waitForStats((rows) => camera(rows, 'bob'), (row) => row.framesDecoded > 30 && row.frameWidth >= 160, { label: 'bob\'s camera', timeoutMs: MEDIA_TIMEOUT_MS }),
    ]),
  );
  const newSid = await sidOf(b);
  assert.notEqual(newSid, sid, 'a full reconnect gives a new sid');
  // Let any second cycle show up before counting.
  await new Promise((res) => setTimeout(res, 2_000));
  const events = await a.events();
  const left = eventsOf(events, aEvents, 'participantDisconnected', 'bob');
  const joined = eventsOf(events, aEvents, 'participantConnected', 'bob');
  run.note(`${name}: A saw bob leave ${left.length}x and join ${joined.length}x; new sid ${newSid}`);
  assert.equal(left.length, 1, 'one leave');
  assert.equal(joined.length, 1, 'one rejoin');
  return newSid;
}

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


