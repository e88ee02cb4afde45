// Signalling v1 (`/rtc/v1`, single PeerConnection, docs/signal-v1.md) with unmodified livekit-client 2.23 in headless
// Chromium, left at its default (RoomOptions.singlePeerConnection true): the server serves /rtc/v1 (no 404 fallback:
// no retry warning in the page, the participant is single-PC on the server, the page has no subscriber PC). Two pages
// publish camera and microphone and each decodes the other's camera at the size the publisher sends and at frame rate,
// and receives its audio; reliable data both ways; mute/unmute; a late third joiner; a fifth video track for one subscriber (more than the three
// recvonly m-lines livekit-client pre-creates: MediaSectionsRequirement); a killed WebSocket resumes with the same sid;
// and a v0 page (`singlePeerConnection: false`) in the same room sees and decodes the v1 pages and is decoded by them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { useAtriumAndBrowser } from './helpers/suite.js';
import type { BrowserParticipant, RemoteTrackStats } from './helpers/browser-participant.js';
import { createStepRunner, type StepRunner } from './helpers/steps.js';
import { recordingLogger } from './helpers/log-recorder.js';
import type { AtriumUnderTest } from './helpers/server.js';
import { waitFor } from '@atrium/webrtc/testing/wait-for.js';

const MEDIA_TIMEOUT_MS = 25_000;
const EVENT_TIMEOUT_MS = 10_000;
const RECONNECT_TIMEOUT_MS = 20_000;

const serverLog = recordingLogger();
const suite = useAtriumAndBrowser({ atrium: { config: { rtc: { signalV1: true } }, overrides: { logger: serverLog } } });

const track = (rows: RemoteTrackStats[], identity: string, source: string): RemoteTrackStats | undefined =>
  rows.find((r) => r.participant === identity && r.source === source);

const sidOf = (p: BrowserParticipant): Promise<string> => p.call<string>('run', 'return room.localParticipant.sid');

/** What livekit-client's engine says about its transports: 'publisher-only' and no subscriber PC in single-PC mode. */
const transports = (p: BrowserParticipant): Promise<{ mode: string; hasSubscriber: boolean }> =>
  p.call('run', 'const m = room.engine.pcManager; return { mode: m.mode, hasSubscriber: !!m.subscriber };');

/** The publisher's camera encodings: size and frames encoded so far, per rid. */
async function cameraEncodings(p: BrowserParticipant): Promise<{ rid: string; size: string; framesEncoded: number }[]> {
  const rows = await p.localVideoSenderStats();
  return rows.filter((r) => r.source === 'camera' && r.frameWidth > 0).map((r) => ({ rid: r.rid, size: `${r.frameWidth}x${r.frameHeight}`, framesEncoded: r.framesEncoded }));
}

/**
 * `viewer` decodes `publisher`'s camera, measured over 4 s once its size has settled (up to three windows: one may straddle a layer switch): at a size the publisher's encoder sends; receiving (inbound-rtp
 * framesReceived) at least 3/4 of the frames the publisher encodes at that size (the SFU loses none), and decoding at
 * least half of them and 5 fps (the other helpers' load on this 2-core machine slows Chromium's decoders and encoders,
 * not what the server does); and its microphone's packets and decoded samples keep coming.
 */
async function expectMediaFrom(run: StepRunner, viewer: BrowserParticipant, publisher: BrowserParticipant, identity: string): Promise<string> {
  const cam = await run.step(`${viewer.label} decodes ${identity}'s camera`, () =>
    viewer.waitForStats((rows) => track(rows, identity, 'camera'), (r) => r.framesDecoded > 30 && r.frameWidth > 0, {
      label: `${identity}'s camera at ${viewer.label}`, timeoutMs: MEDIA_TIMEOUT_MS,
    }),
  );
  // A joiner's layers step up as its bandwidth estimate grows (each switch waits for a key frame): measure once the
  // decoded size has held for 2 s (or after 15 s whatever it is).
  const sizeNow = async (): Promise<string> => {
    const r = track(await viewer.remoteTrackStats(), identity, 'camera');
    return `${r?.frameWidth ?? 0}x${r?.frameHeight ?? 0}`;
  };
  const settleUntil = Date.now() + 15_000;
  for (let same = 0, last = await sizeNow(); same < 4 && Date.now() < settleUntil;) {
    await new Promise((r) => setTimeout(r, 500));
    const now = await sizeNow();
    same = now === last ? same + 1 : 0;
    last = now;
  }
  const received = (r: RemoteTrackStats | undefined): number => Number((r as { framesReceived?: number } | undefined)?.framesReceived ?? 0);
  const sizeOf = (r: RemoteTrackStats | undefined): string => `${r?.frameWidth ?? 0}x${r?.frameHeight ?? 0}`;
  // A 4 s window; up to three, since a layer switch inside one (the allocator following a busy machine's estimates)
  // mixes two layers' frame rates: one window on one layer must show the rates.
  let failure = '';
  let decoded = '';
  for (let attempt = 1; attempt <= 3; attempt++) {
    const startRow = track(await viewer.remoteTrackStats(), identity, 'camera');
    const sentBefore = await cameraEncodings(publisher);
    const startMs = Date.now();
    await new Promise((r) => setTimeout(r, 4000));
    const endRow = track(await viewer.remoteTrackStats(), identity, 'camera');
    const sentAfter = await cameraEncodings(publisher);
    const seconds = (Date.now() - startMs) / 1000;
    const decodedFps = ((endRow?.framesDecoded ?? 0) - (startRow?.framesDecoded ?? 0)) / seconds;
    const receivedFps = (received(endRow) - received(startRow)) / seconds;
    // The layer(s) received in the window: the encoded rate of the slower one if the allocator switched meanwhile.
    const rates = [sizeOf(startRow), sizeOf(endRow)].map((size) => {
      const after = sentAfter.find((e) => e.size === size);
      const before = sentBefore.find((e) => e.rid === after?.rid);
      return after !== undefined && before !== undefined ? (after.framesEncoded - before.framesEncoded) / seconds : NaN;
    });
    const sentFps = Math.min(...rates.filter((x) => !Number.isNaN(x)));
    decoded = sizeOf(endRow);
    run.note(`${viewer.label} <- ${identity}: ${cam.codec ?? '?'} ${decoded}, received ${receivedFps.toFixed(1)} fps, decoded ${decodedFps.toFixed(1)} fps; ${identity} encodes ${sentAfter.map((e) => e.size).join(', ')}, this size at ${sentFps.toFixed(1)} fps (window ${attempt})`);
    assert.ok(sentAfter.some((e) => e.size === decoded), `${viewer.label} decodes ${identity}'s camera at a size it sends (${decoded}; sent ${sentAfter.map((e) => e.size).join(', ')})`);
    if (receivedFps < 0.75 * sentFps) failure = `${viewer.label} receives ${identity}'s camera at ${receivedFps.toFixed(1)} fps; ${identity} encodes it at ${sentFps.toFixed(1)} fps`;
    else if (decodedFps < 5 || decodedFps < 0.5 * sentFps) failure = `${viewer.label} decodes ${identity}'s camera at ${decodedFps.toFixed(1)} fps; ${identity} encodes it at ${sentFps.toFixed(1)} fps`;
    else {
      failure = '';
      break;
    }
  }
  assert.equal(failure, '', failure);
  const mic = track(await viewer.remoteTrackStats(), identity, 'microphone');
  assert.ok(mic, `${viewer.label} has ${identity}'s microphone`);
  const later = await viewer.waitForStats((rows) => track(rows, identity, 'microphone'), (r) => r.packetsReceived > mic.packetsReceived + 50 && (r.totalSamplesReceived ?? 0) > 0, {
    label: `${identity}'s microphone at ${viewer.label}`, timeoutMs: MEDIA_TIMEOUT_MS,
  });
  run.note(`${viewer.label} <- ${identity}: ${later.codec ?? '?'} audio, ${later.packetsReceived} packets, ${later.totalSamplesReceived ?? 0} samples`);
  return decoded;
}

async function expectServedV1(srv: AtriumUnderTest, room: string, p: BrowserParticipant): Promise<void> {
  const sid = await sidOf(p);
  assert.equal(srv.server.rooms.getRoom(room)?.getParticipant(sid)?.isSinglePeerConnection, true, `${p.label} joined over /rtc/v1`);
  assert.deepEqual(await transports(p), { mode: 'publisher-only', hasSubscriber: false }, `${p.label} runs one PeerConnection`);
}

test('livekit-client on /rtc/v1: media both ways, mute, a late joiner, more m-lines, resume, and a v0 page alongside', { timeout: 240_000 }, async (t) => {
  const { server: srv, browser: harness } = suite.started();
  const run = createStepRunner({ scenario: 'signal-v1.test.ts', logs: () => [...harness.logs(), ...serverLog.lines()] });
  const room = `v1-${Date.now()}`;
  const [a, b] = await run.step('open pages A and B', () => Promise.all([harness.openParticipant('A'), harness.openParticipant('B')]));
  const token = (identity: string) => srv.token({ identity, room });

  await run.step('A and B connect with livekit-client defaults', async () => {
    await a.connect(srv.url, await token('alice'));
    await b.connect(srv.url, await token('bob'));
  });
  await run.step('the server served /rtc/v1: single-PC participants, no fallback warning in the pages', async () => {
    await expectServedV1(srv, room, a);
    await expectServedV1(srv, room, b);
    const fallback = harness.logs().filter((l) => /Retrying|v1 RTC path not found|v0-rtc/.test(l));
    assert.deepEqual(fallback, [], 'no v1 -> v0 fallback in the page logs');
  });

  await run.step('A and B publish camera and microphone', () => Promise.all([a.enableCameraAndMicrophone(), b.enableCameraAndMicrophone()]));
  await expectMediaFrom(run, b, a, 'alice');
  await expectMediaFrom(run, a, b, 'bob');

  await run.step('data over the one PC: B receives reliable data from A, and A from B, with the sender named', async () => {
    await a.publishData('v1 hello from alice', { reliable: true });
    const atB = await b.waitForEvent((e) => e.type === 'dataReceived' && e.text === 'v1 hello from alice', { label: 'data at B', timeoutMs: EVENT_TIMEOUT_MS });
    assert.equal(atB.participant, 'alice');
    await b.publishData('v1 hello from bob', { reliable: true });
    const atA = await a.waitForEvent((e) => e.type === 'dataReceived' && e.text === 'v1 hello from bob', { label: 'data at A', timeoutMs: EVENT_TIMEOUT_MS });
    assert.equal(atA.participant, 'bob');
  });

  await run.step("A mutes and unmutes its microphone: B sees both; A's camera off and on: B decodes it again", async () => {
    let from = await b.eventCount();
    await a.setMicrophoneEnabled(false);
    await b.waitForEvent((e) => e.type === 'trackMuted' && e.participant === 'alice' && e.source === 'microphone', { label: 'trackMuted', timeoutMs: EVENT_TIMEOUT_MS, fromIndex: from });
    from = await b.eventCount();
    await a.setMicrophoneEnabled(true);
    await b.waitForEvent((e) => e.type === 'trackUnmuted' && e.participant === 'alice' && e.source === 'microphone', { label: 'trackUnmuted', timeoutMs: EVENT_TIMEOUT_MS, fromIndex: from });
    await a.call('run', 'await room.localParticipant.setCameraEnabled(false); return true;');
    await b.waitForStats((rows) => track(rows, 'alice', 'camera'), (r) => r.muted, { label: "alice's camera muted", timeoutMs: EVENT_TIMEOUT_MS });
    const frames = track(await b.remoteTrackStats(), 'alice', 'camera')!.framesDecoded;
    await a.call('run', 'await room.localParticipant.setCameraEnabled(true); return true;');
    await b.waitForStats((rows) => track(rows, 'alice', 'camera'), (r) => !r.muted && r.framesDecoded > frames + 30, { label: "alice's camera again", timeoutMs: MEDIA_TIMEOUT_MS });
  });

  const c = await run.step('a late third joiner C connects (v1) and publishes', async () => {
    const page = await harness.openParticipant('C');
    await page.connect(srv.url, await token('carol'));
    await expectServedV1(srv, room, page);
    await page.enableCameraAndMicrophone();
    return page;
  });
  await expectMediaFrom(run, c, a, 'alice');
  await expectMediaFrom(run, c, b, 'bob');
  await expectMediaFrom(run, a, c, 'carol');

  await run.step('A and B share their screens: C receives 4 video tracks, one more than the m-lines it pre-created', async () => {
    await a.setScreenShareEnabled(true);
    await b.setScreenShareEnabled(true);
    for (const [who, source] of [['alice', 'camera'], ['bob', 'camera'], ['alice', 'screen_share'], ['bob', 'screen_share']] as const) {
      const row = await c.waitForStats((rows) => track(rows, who, source), (r) => r.framesDecoded > 10 && r.frameWidth > 0, {
        label: `${who}'s ${source} at C`, timeoutMs: MEDIA_TIMEOUT_MS,
      });
      run.note(`C <- ${who} ${source}: ${row.frameWidth}x${row.frameHeight}, ${row.framesDecoded} frames`);
    }
    const videoMids = await c.call<number>('run', "return room.engine.pcManager.publisher.getTransceivers().filter((t) => t.receiver.track.kind === 'video' && t.direction === 'recvonly').length;");
    // livekit-client pre-creates 3 recvonly video m-lines; a 4th exists only because the server asked for it.
    assert.ok(videoMids >= 4, `C added recvonly video m-lines when asked (${videoMids})`);
  });

  await run.step('B loses its WebSocket and resumes with the same sid; A sees no leave; media again', async () => {
    const sid = await sidOf(b);
    const participant = srv.server.rooms.getRoom(room)?.getParticipant(sid);
    assert.ok(participant);
    const resumes = participant.resumes;
    const [aFrom, bFrom] = [await a.eventCount(), await b.eventCount()];
    const frames = track(await b.remoteTrackStats(), 'alice', 'camera')!.framesDecoded;
    await b.call('run', "room.engine.client.ws.close({ closeCode: 4000, reason: 'e2e: killed' }); return true;");
    await b.waitForEvent((e) => e.type === 'reconnected', { label: 'reconnected', timeoutMs: RECONNECT_TIMEOUT_MS, fromIndex: bFrom });
    await b.waitForStats((rows) => track(rows, 'alice', 'camera'), (r) => r.framesDecoded > frames + 30, { label: "alice's camera after the resume", timeoutMs: MEDIA_TIMEOUT_MS });
    assert.equal(await sidOf(b), sid, 'same participant sid');
    assert.equal(participant.resumes, resumes + 1, 'the server resumed B');
    assert.equal(participant.isSinglePeerConnection, true);
    assert.deepEqual((await a.events()).slice(aFrom).filter((e) => e.type === 'participantDisconnected' && e.participant === 'bob'), []);
  });

  const d = await run.step('a v0 page D (singlePeerConnection: false) joins the same room and publishes', async () => {
    const page = await harness.openParticipant('D');
    await page.connect(srv.url, await token('dave'), { singlePeerConnection: false });
    const sid = await sidOf(page);
    assert.equal(srv.server.rooms.getRoom(room)?.getParticipant(sid)?.isSinglePeerConnection, false);
    assert.deepEqual(await transports(page), { mode: 'subscriber-primary', hasSubscriber: true });
    await page.enableCameraAndMicrophone();
    return page;
  });
  await expectMediaFrom(run, d, a, 'alice');
  await expectMediaFrom(run, a, d, 'dave');

  await Promise.all([a, b, c, d].map((p) => p.disconnect().catch(() => undefined)));
  t.diagnostic(`steps:\n${run.history()}`);
});
