// Steps shared by the resume and scenario e2e files (e2e/resume.test.ts, e2e/scenarios.test.ts): two pages with
// cameras, the decoding-gap sampler, and the two outcomes of a lost connection: a resume (same sid, same tracks, no
// leave seen by the other page) or exactly one clean full reconnect.
import assert from 'node:assert/strict';
import type { AtriumUnderTest } from './server.js';
import type { BrowserHarness } from './browser.js';
import type { BrowserParticipant, PageEvent, RemoteTrackStats } from './browser-participant.js';
import type { StepRunner } from './steps.js';

export const MEDIA_TIMEOUT_MS = 20_000;
export const RECONNECT_TIMEOUT_MS = 20_000;

export const camera = (rows: RemoteTrackStats[], identity: string): RemoteTrackStats | undefined =>
  rows.find((r) => r.participant === identity && r.source === 'camera');

export interface Room2 {
  room: string;
  a: BrowserParticipant;
  b: BrowserParticipant;
}

/** Pages A (alice) and B (bob) in a new room, both publishing a camera and decoding the other's. */
export async function twoCameras(run: StepRunner, srv: AtriumUnderTest, harness: BrowserHarness, tag: string, prefix = 'resume'): Promise<Room2> {
  const room = `${prefix}-${tag}-${Date.now()}`;
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

export const sidOf = (p: BrowserParticipant): Promise<string> => p.call<string>('run', 'return room.localParticipant.sid');

/** The ICE ufrags of the server in B's PCs' remote descriptions (new ones after an ICE restart). */
export function remoteUfrags(p: BrowserParticipant): Promise<{ subscriber: string | undefined; publisher: string | undefined }> {
  return p.call('run', `
    const ufrag = (t) => { const d = t && t.pc && t.pc.remoteDescription; const m = d && /a=ice-ufrag:(\\S+)/.exec(d.sdp); return m ? m[1] : undefined; };
    const pcm = room.engine.pcManager;
    return { subscriber: ufrag(pcm.subscriber), publisher: ufrag(pcm.publisher) };
  `);
}

export function eventsOf(events: PageEvent[], from: number, type: string, participant?: string): PageEvent[] {
  return events.slice(from).filter((e) => e.type === type && (participant === undefined || e.participant === participant));
}

/**
 * Samples, inside page B, what it decodes of A's camera every 20 ms (inbound-rtp framesDecoded of the track's receiver)
 * until stopped; the gap is the longest time during which the decoded frame count did not grow (the media gap the
 * resume cost, at the resolution of one sample plus a frame interval).
 */
export async function frameSampler(b: BrowserParticipant, of = 'alice'): Promise<{ stop: () => Promise<{ gapMs: number; samples: number }> }> {
  await b.call('run', `
    const alice = [...room.remoteParticipants.values()].find((p) => p.identity === ${JSON.stringify(of)});
    const pub = alice && [...alice.trackPublications.values()].find((x) => x.source === 'camera');
    if (!pub || !pub.track) throw new Error('no camera track of ' + ${JSON.stringify(of)});
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
export async function expectResume(
  run: StepRunner, srv: AtriumUnderTest, r: Room2, name: string, trigger: string, opts: { resumes?: number } = {},
): Promise<{ reconnectMs: number; gapMs: number }> {
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
    assert.equal(participant.resumes, resumesBefore + (opts.resumes ?? 1), 'the server resumed the participant');
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
  return { reconnectMs, gapMs: gap.gapMs };
}

/** The case that must end in one clean full reconnect: a new sid, A sees B leave once and come back, media again. */
export async function expectOneFullReconnect(run: StepRunner, r: Room2, name: string, trigger: string): Promise<string> {
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

