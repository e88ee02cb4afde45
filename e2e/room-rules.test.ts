// Compatibility: room rules as unmodified clients see them. livekit-client 2.23 in Chromium and @livekit/rtc-node
// against two Atriums (one with auto_create off, max_participants 2 and short timeouts; one with defaults), with
// livekit-server-sdk for the server API and token checks.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { RoomServiceClient, TokenVerifier, TrackSource, type ClaimGrants } from 'livekit-server-sdk';
import { RoomEvent, type Room as RtcNodeRoom } from '@livekit/rtc-node';
import { launchBrowser, type BrowserHarness } from './helpers/browser.js';
import type { BrowserParticipant, PageEvent } from './helpers/browser-participant.js';
import { startAtrium, DEV_API_KEY, DEV_API_SECRET, type AtriumUnderTest } from './helpers/server.js';
import { connectRtcNode, publishSineTone, teardownRtcNode, type RunningPublisher } from './helpers/rtc-node.js';
import { createStepRunner } from './helpers/steps.js';
import { waitFor, withTimeout } from '@atrium/webrtc/testing/wait-for.js';

const EVENT_TIMEOUT_MS = 10_000;
/** RoomUpdate carries participant counts at most every 5 s (as LiveKit). */
const ROOM_UPDATE_TIMEOUT_MS = 12_000;
/** livekit-client ConnectionErrorReason values. */
const NOT_ALLOWED = 0;
const LEAVE_REQUEST = 4;

let rules: AtriumUnderTest | undefined;
let main: AtriumUnderTest | undefined;
let browser: BrowserHarness | undefined;
const rtcRooms: RtcNodeRoom[] = [];
const publishers: RunningPublisher[] = [];

before(async () => {
  rules = await withTimeout(
    startAtrium({ config: { room: { autoCreate: false, maxParticipants: 2, emptyTimeoutSec: 2, departureTimeoutSec: 1 } } }),
    15_000,
    'Atrium (rules) to start',
  );
  main = await withTimeout(startAtrium(), 15_000, 'Atrium (defaults) to start');
  browser = await withTimeout(launchBrowser(), 30_000, 'Chromium to launch');
});

after(() =>
  teardownRtcNode({
    publishers,
    rooms: rtcRooms,
    also: [
      { what: 'closing Chromium', work: () => browser?.close() ?? Promise.resolve(), timeoutMs: 15_000 },
      { what: 'closing Atrium (rules)', work: () => rules?.close() ?? Promise.resolve() },
      { what: 'closing Atrium (defaults)', work: () => main?.close() ?? Promise.resolve() },
    ],
  }),
);

interface ConnectFailure {
  name: string;
  message: string;
  reason: number;
  status: number | null;
  context: unknown;
}

/** Connects a throwaway livekit-client Room in the page; null when it connected (then it disconnects), else the error. */
function tryConnect(page: BrowserParticipant, url: string, token: string): Promise<ConnectFailure | null> {
  return page.callWithin<ConnectFailure | null>(
    40_000,
    'run',
    `const r = new LK.Room();
     try { await r.connect(${JSON.stringify(url)}, ${JSON.stringify(token)}); await r.disconnect(); return null; }
     catch (e) { return { name: e.name, message: String(e.message), reason: e.reason, status: e.status ?? null, context: e.context ?? null }; }`,
  );
}

/** Records the room events this file looks at into the page's event list (call after connect, before acting). */
function recordRuleEvents(page: BrowserParticipant): Promise<void> {
  return page.call(
    'run',
    `const E = LK.RoomEvent;
     room.on(E.ParticipantMetadataChanged, (prev, p) => record('metadataChanged', { participant: p.identity, value: p.metadata }));
     room.on(E.ParticipantNameChanged, (name, p) => record('nameChanged', { participant: p.identity, value: name }));
     room.on(E.ParticipantAttributesChanged, (changed, p) => record('attributesChanged', { participant: p.identity, value: JSON.stringify(p.attributes) }));
     room.on(E.RoomMetadataChanged, (m) => record('roomMetadataChanged', { value: m }));
     room.on(E.RecordingStatusChanged, (on) => record('recordingStatusChanged', { value: on }));
`,
  );
}

/** The page's current refresh-capable token (what livekit-client would reconnect with). */
function engineToken(page: BrowserParticipant): Promise<string> {
  return page.call<string>('run', 'return room.engine.token;');
}

async function verified(token: string): Promise<ClaimGrants> {
  return new TokenVerifier(DEV_API_KEY, DEV_API_SECRET).verify(token);
}

function has(type: string, pred: (e: PageEvent) => boolean = () => true): (e: PageEvent) => boolean {
  return (e) => e.type === type && pred(e);
}

async function rtcNode(server: AtriumUnderTest, identity: string, room: string, grants: Record<string, unknown> = {}): Promise<RtcNodeRoom> {
  const r = await connectRtcNode(server.url, await server.token({ identity, room, grants }), { label: identity });
  rtcRooms.push(r);
  return r;
}

test('auto_create off and max_participants, as livekit-client and rtc-node see them', { timeout: 120_000 }, async () => {
  assert.ok(rules && browser);
  const srv = rules;
  const harness = browser;
  const run = createStepRunner({ scenario: 'room-rules.test.ts (auto_create, max_participants)', logs: () => harness.logs() });
  const api = new RoomServiceClient(srv.httpUrl, DEV_API_KEY, DEV_API_SECRET);
  const [a, c] = await harness.openParticipants(['rules-A', 'rules-C']);
  assert.ok(a && c);

  await run.step('a join to a room that does not exist: validate 404, livekit-client NotAllowed with LiveKit text', async () => {
    const token = await srv.token({ identity: 'nobody', room: 'nowhere' });
    const res = await fetch(`${srv.httpUrl}/rtc/validate?access_token=${token}`);
    assert.equal(res.status, 404);
    assert.equal(await res.text(), 'requested room does not exist');
    const failure = await tryConnect(c, srv.url, token);
    assert.ok(failure, 'the connect fails');
    assert.equal(failure.reason, NOT_ALLOWED, JSON.stringify(failure));
    assert.equal(failure.status, 404);
    assert.match(failure.message, /requested room does not exist/);
    assert.deepEqual((await api.listRooms()).map((r) => r.name), [], 'nothing created');
  });

  const created = await run.step('CreateRoom makes a room with the configured limit', () => api.createRoom({ name: 'capped', emptyTimeout: 60 }));
  assert.equal(created.maxParticipants, 2);

  await run.step('alice (livekit-client) and bob (rtc-node) join the created room', async () => {
    await a.connect(srv.url, await srv.token({ identity: 'alice', room: 'capped' }));
    await rtcNode(srv, 'bob', 'capped');
    assert.equal(await a.call<number>('run', 'return room.roomInfo.maxParticipants;'), 2, 'Room.max_participants reaches the client');
  });

  await run.step('a third participant gets LeaveRequest JOIN_FAILURE: livekit-client and rtc-node both refuse', async () => {
    const failure = await tryConnect(c, srv.url, await srv.token({ identity: 'carol', room: 'capped' }));
    assert.ok(failure, 'carol is refused');
    assert.equal(failure.reason, LEAVE_REQUEST, JSON.stringify(failure));
    // livekit-client re-wraps the error and drops the DisconnectReason (JOIN_FAILURE on the wire, see room-rules unit test).
    assert.match(failure.message, /leave request/);
    await assert.rejects(
      connectRtcNode(srv.url, await srv.token({ identity: 'dave', room: 'capped' }), { label: 'dave', timeoutMs: 20_000 }),
      'rtc-node dave is refused',
    );
    const names = (await api.listParticipants('capped')).map((p) => p.identity).sort();
    assert.deepEqual(names, ['alice', 'bob']);
  });

  await run.step('bob rejoining with the same identity is admitted (he replaces his old session)', async () => {
    const oldBob = rtcRooms.at(-1);
    assert.ok(oldBob);
    const disconnected = new Promise<void>((resolve) => oldBob.once(RoomEvent.Disconnected, () => resolve()));
    await rtcNode(srv, 'bob', 'capped');
    await withTimeout(disconnected, EVENT_TIMEOUT_MS, 'the old bob session to be disconnected');
    assert.equal((await api.listParticipants('capped')).length, 2);
  });

  await run.step("CreateRoom's maxParticipants is per room", async () => {
    const solo = await api.createRoom({ name: 'solo', emptyTimeout: 60, maxParticipants: 1 });
    assert.equal(solo.maxParticipants, 1);
    await rtcNode(srv, 'erin', 'solo');
    const failure = await tryConnect(c, srv.url, await srv.token({ identity: 'frank', room: 'solo' }));
    assert.equal(failure?.reason, LEAVE_REQUEST, JSON.stringify(failure));
    assert.equal((await api.listRooms(['solo']))[0]?.maxParticipants, 1);
  });

  await a.disconnect();
});

test('empty_timeout and departure_timeout from the config close rooms', { timeout: 60_000 }, async () => {
  assert.ok(rules);
  const srv = rules;
  const api = new RoomServiceClient(srv.httpUrl, DEV_API_KEY, DEV_API_SECRET);
  const gone = (name: string, label: string) =>
    waitFor(async () => !(await api.listRooms([name])).some((r) => r.name === name), { label, timeoutMs: 10_000, intervalMs: 100 });

  const idle = await api.createRoom({ name: 'idle' });
  assert.equal(idle.emptyTimeout, 2, 'the config empty_timeout');
  assert.equal(idle.departureTimeout, 1, 'the config departure_timeout');
  const startedMs = Date.now();
  await gone('idle', 'the idle room to close (empty_timeout 2 s)');
  assert.ok(Date.now() - startedMs >= 1500, `closed after ${Date.now() - startedMs} ms, not before the timeout`);

  // emptyTimeout 60 keeps the room while nobody joined; after the last one leaves, departure_timeout (1 s) applies.
  await api.createRoom({ name: 'departed', emptyTimeout: 60 });
  const visitor = await rtcNode(srv, 'visitor', 'departed');
  await visitor.disconnect();
  await gone('departed', 'the room to close 1 s after its last participant left');
});

test('client metadata updates, RoomUpdate and refresh tokens with livekit-client', { timeout: 120_000 }, async () => {
  assert.ok(main && browser);
  const srv = main;
  const harness = browser;
  const run = createStepRunner({ scenario: 'room-rules.test.ts (metadata, RoomUpdate, refresh_token)', logs: () => harness.logs() });
  const api = new RoomServiceClient(srv.httpUrl, DEV_API_KEY, DEV_API_SECRET);
  const roomName = `meta-${Date.now()}`;
  const [a, b] = await harness.openParticipants(['meta-A', 'meta-B']);
  assert.ok(a && b);
  const tokenA = await srv.token({ identity: 'alice', room: roomName, grants: { canUpdateOwnMetadata: true } });
  const tokenB = await srv.token({ identity: 'bob', room: roomName });

  await run.step('alice (may update her metadata) and bob (may not) connect', async () => {
    await a.connect(srv.url, tokenA);
    await recordRuleEvents(a);
    await b.connect(srv.url, tokenB);
    await recordRuleEvents(b);
  });

  await run.step('alice sets metadata, name and attributes: each call resolves and bob sees each change', async () => {
    await a.call('run', `await room.localParticipant.setMetadata('m1');
      await room.localParticipant.setName('Alice');
      await room.localParticipant.setAttributes({ team: 'blue', role: 'host' });
      await room.localParticipant.setAttributes({ role: '' });`);
    await b.waitForEvent(has('metadataChanged', (e) => e.participant === 'alice' && e['value'] === 'm1'), { label: 'metadata m1', timeoutMs: EVENT_TIMEOUT_MS });
    await b.waitForEvent(has('nameChanged', (e) => e.participant === 'alice' && e['value'] === 'Alice'), { label: 'name Alice', timeoutMs: EVENT_TIMEOUT_MS });
    await b.waitForEvent(has('attributesChanged', (e) => e.participant === 'alice' && e['value'] === JSON.stringify({ team: 'blue' })), {
      label: 'attributes {team: blue} (role deleted)',
      timeoutMs: EVENT_TIMEOUT_MS,
    });
  });

  await run.step('bob without canUpdateOwnMetadata is refused NOT_ALLOWED; an over-long name is LIMIT_EXCEEDED', async () => {
    const refusal = await b.call<{ name: string; reasonName: string; message: string }>(
      'run',
      `try { await room.localParticipant.setMetadata('nope'); return null; } catch (e) { return { name: e.name, reasonName: e.reasonName, message: e.message }; }`,
    );
    assert.deepEqual(refusal, { name: 'SignalRequestError', reasonName: 'NOT_ALLOWED', message: 'does not have permission to update own metadata' });
    const tooLong = await a.call<{ reasonName: string } | null>(
      'run',
      `try { await room.localParticipant.setName('x'.repeat(300)); return null; } catch (e) { return { reasonName: e.reasonName }; }`,
    );
    assert.equal(tooLong?.reasonName, 'LIMIT_EXCEEDED');
    assert.equal((await api.getParticipant(roomName, 'bob')).metadata, '');
  });

  await run.step('RoomUpdate: room metadata at once, the participant count within 5 s', async () => {
    await api.updateRoomMetadata(roomName, 'room-md');
    await a.waitForEvent(has('roomMetadataChanged', (e) => e['value'] === 'room-md'), { label: 'room metadata', timeoutMs: EVENT_TIMEOUT_MS });
    await waitFor(async () => (await a.call<number>('run', 'return room.numParticipants;')) === 2, {
      label: 'room.numParticipants 2 on alice',
      timeoutMs: ROOM_UPDATE_TIMEOUT_MS,
    });
  });

  await run.step("refresh_token: alice's client holds a new token with her current claims", async () => {
    const claims = await waitFor(
      async () => {
        const token = await engineToken(a);
        if (token === tokenA) return undefined;
        const c = await verified(token);
        return c.name === 'Alice' ? c : undefined;
      },
      { label: 'a refreshed token carrying the new name', timeoutMs: EVENT_TIMEOUT_MS },
    );
    assert.equal(claims.sub, 'alice');
    assert.equal(claims.metadata, 'm1');
    assert.deepEqual(claims.attributes, { team: 'blue' });
    assert.equal(claims.video?.room, roomName);
    assert.equal(claims.video?.canUpdateOwnMetadata, true);
    assert.ok((claims.exp ?? 0) - Date.now() / 1000 > 500, 'valid for at least ~10 minutes');
  });

  await run.step('UpdateParticipant: bob gets a token with the new claims at once, and may now update his metadata', async () => {
    await api.updateParticipant(roomName, 'bob', {
      metadata: 'from-api',
      name: 'Bob B',
      attributes: { k: 'v' },
      permission: { canPublish: true, canSubscribe: true, canPublishData: true, canUpdateMetadata: true },
    });
    const claims = await waitFor(
      async () => {
        const c = await verified(await engineToken(b));
        return c.video?.canUpdateOwnMetadata === true && c.name === 'Bob B' ? c : undefined;
      },
      { label: "bob's refreshed token", timeoutMs: EVENT_TIMEOUT_MS },
    );
    assert.equal(claims.metadata, 'from-api');
    assert.deepEqual(claims.attributes, { k: 'v' });
    await waitFor(async () => b.call<boolean>('run', 'return room.localParticipant.permissions.canUpdateMetadata;'), {
      label: "bob's client holds canUpdateMetadata",
      timeoutMs: EVENT_TIMEOUT_MS,
    });
    await b.call('run', `await room.localParticipant.setMetadata('mine now');`);
    await a.waitForEvent(has('metadataChanged', (e) => e.participant === 'bob' && e['value'] === 'mine now'), { label: "bob's own metadata", timeoutMs: EVENT_TIMEOUT_MS });
  });

  await Promise.all([a.disconnect(), b.disconnect()]);
});

test('hidden recorders: not announced or counted, recording status shown; canPublishSources enforced', { timeout: 120_000 }, async () => {
  assert.ok(main && browser);
  const srv = main;
  const harness = browser;
  const run = createStepRunner({ scenario: 'room-rules.test.ts (hidden, recorder, canPublishSources)', logs: () => harness.logs() });
  const api = new RoomServiceClient(srv.httpUrl, DEV_API_KEY, DEV_API_SECRET);
  const roomName = `rec-${Date.now()}`;
  const [a, m] = await harness.openParticipants(['rec-A', 'rec-M']);
  assert.ok(a && m);

  await run.step('alice connects and watches', async () => {
    await a.connect(srv.url, await srv.token({ identity: 'alice', room: roomName }));
    await recordRuleEvents(a);
  });

  const recorder = await run.step('a hidden recorder (rtc-node) joins and publishes a tone', async () => {
    const r = await rtcNode(srv, 'recorder', roomName, { hidden: true, recorder: true });
    publishers.push(await publishSineTone(r, { frequencyHz: 440, maxDurationMs: 60_000 }));
    return r;
  });

  await run.step('alice sees the recording status, and the recorder carries recorder/hidden in its permission', async () => {
    await a.waitForEvent(has('recordingStatusChanged', (e) => e['value'] === true), { label: 'recording on', timeoutMs: EVENT_TIMEOUT_MS });
    assert.equal(await a.call<boolean>('run', 'return room.isRecording;'), true);
    const info = await api.getParticipant(roomName, 'recorder');
    assert.equal(info.permission?.recorder, true);
    assert.equal(info.permission?.hidden, true);
    await waitFor(async () => (await api.getParticipant(roomName, 'recorder')).tracks.length === 1, {
      label: "the recorder's track published on the server",
      timeoutMs: EVENT_TIMEOUT_MS,
    });
  });

  await run.step('mic-only mallory: the camera is refused by livekit-client, the microphone is published', async () => {
    await m.connect(srv.url, await srv.token({ identity: 'mallory', room: roomName, grants: { canPublishSources: [TrackSource.MICROPHONE] } }));
    const sources = await m.call<number[]>('run', 'return room.localParticipant.permissions.canPublishSources;');
    assert.deepEqual(sources, [2], 'permission.canPublishSources = [MICROPHONE] reaches the client');
    const error = await m.call<string | null>(
      'run',
      `try { await room.localParticipant.setCameraEnabled(true); return null; } catch (e) { return e.name + ': ' + e.message; }`,
    );
    assert.match(error ?? 'no error', /insufficient permissions/);
    await m.setMicrophoneEnabled(true);
    assert.deepEqual((await m.localPublications()).map((p) => String(p.source)), ['microphone']);
  });

  await run.step("alice sees mallory's microphone only; the recorder stays invisible and uncounted", async () => {
    await a.waitForEvent(has('trackPublished', (e) => e.participant === 'mallory' && e.source === 'microphone'), {
      label: "mallory's microphone",
      timeoutMs: EVENT_TIMEOUT_MS,
    });
    const pubs = (await api.getParticipant(roomName, 'mallory')).tracks;
    assert.equal(pubs.length, 1, 'the server holds only the microphone');
    await waitFor(async () => (await a.call<number>('run', 'return room.numParticipants;')) === 2, {
      label: 'numParticipants 2 (alice, mallory; not the recorder)',
      timeoutMs: ROOM_UPDATE_TIMEOUT_MS,
    });
    const events = await a.events();
    assert.equal(events.filter((e) => e.participant === 'recorder').length, 0, 'no event names the recorder');
    assert.equal(events.filter((e) => e.type === 'trackPublished' && e.source === 'camera').length, 0, 'no camera anywhere');
    const remote = await a.call<{ identity: string }[]>('remoteParticipants');
    assert.deepEqual(remote.map((p) => p.identity), ['mallory']);
  });

  await run.step('the recorder leaves: recording off', async () => {
    await publishers.pop()?.stop();
    await recorder.disconnect();
    await a.waitForEvent(has('recordingStatusChanged', (e) => e['value'] === false), { label: 'recording off', timeoutMs: EVENT_TIMEOUT_MS });
  });

  await Promise.all([a.disconnect(), m.disconnect()]);
});
