// Deterministic signalling fuzz over a real WebSocket (fake media): thousands of SignalRequests of every kind with
// random field values from a seeded PRNG, sent by one participant while others watch. Reproduce a failure with
// FUZZ_SEED=<seed> (and FUZZ_COUNT=<n>): node --import tsx --test packages/server/src/signal/signal-fuzz.test.ts
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { SignalRequest, AddTrackRequest, TrackType, TrackSource, Ping, UpdateParticipantMetadata } from '@livekit/protocol';
import type { JoinResponse } from '@livekit/protocol';
import { waitFor } from '@atrium/webrtc/testing/wait-for.js';
import { createServer } from '../create-server.js';
import type { AtriumServer } from '../create-server.js';
import { devConfig } from '../config/server-config.js';
import { FakeMediaFactory, FakeTrackSource } from '../rtc/fake-media.js';
import { TestSignalClient } from './test-signal-client.js';
import { RandomMessages } from './random-message.js';
import type { MessageTypeLike } from './random-message.js';
import { errorLogger } from './error-logger.js';

const SEED = Number(process.env['FUZZ_SEED'] ?? 20261121);
const COUNT = Number(process.env['FUZZ_COUNT'] ?? 3000);
const BURST = Number(process.env['FUZZ_BURST'] ?? 30);
/** Frames above this would be refused by the server's maxPayload (a legitimate close): regenerated instead. */
const MAX_FRAME_BYTES = 3 * 1024 * 1024;
const polling = { timeoutMs: 3000, intervalMs: 5 } as const;

let server: AtriumServer;
let fake: FakeMediaFactory;
const logger = errorLogger();

before(async () => {
  fake = new FakeMediaFactory();
  server = await createServer(devConfig({ port: 0, rtc: { udpPort: 0 }, room: { departureTimeoutSec: 0 } }), { mediaFactory: fake, logger });
});
after(() => server.close());

const grant = { roomJoin: true, room: 'fuzz', canUpdateOwnMetadata: true } as const;

async function publish(c: TestSignalClient, identity: string, cid: string, kind: 'audio' | 'video'): Promise<string> {
  const type = kind === 'audio' ? TrackType.AUDIO : TrackType.VIDEO;
  c.send({ case: 'addTrack', value: new AddTrackRequest({ cid, name: cid, type, source: kind === 'audio' ? TrackSource.MICROPHONE : TrackSource.CAMERA }) });
  const published = await c.waitFor((m) => m.case === 'trackPublished' && m.value.cid === cid);
  const source = new FakeTrackSource(kind, kind === 'audio' ? 'audio/opus' : 'video/VP8');
  fake.mediaOf(identity).emit('trackPublished', { msidTrackId: cid, msidStreamId: 's', mid: cid, kind, mimeType: source.mimeType, rids: [], source });
  return (published.value as { track: { sid: string } }).track.sid;
}

/** The watcher answers pings and keeps hearing about the room: the server is up and undisturbed. */
async function assertWatcherServed(watcher: TestSignalClient, label: string): Promise<void> {
  const from = watcher.messages.length;
  const ts = BigInt(from + 1);
  watcher.send({ case: 'pingReq', value: new Ping({ timestamp: ts }) });
  await watcher.waitFor((m) => m.case === 'pongResp' && m.value.lastPingTimestamp === ts, { from, timeoutMs: 3000 }).catch((err: unknown) => {
    throw new Error(`${label}: the watcher got no pong: ${String(err)}`);
  });
  assert.equal(watcher.closed, false, `${label}: the watcher was disconnected`);
}

test(`random SignalRequests of every kind (seed ${SEED}, ${COUNT} requests) never disturb the server or others`, async () => {
  const watcher = await TestSignalClient.join(server.url, 'watcher', '', grant);
  const pub = await TestSignalClient.join(server.url, 'pub', '', grant);
  const pubTrack = await publish(pub, 'pub', 'pub-cam', 'video');
  const pubAudio = await publish(pub, 'pub', 'pub-mic', 'audio');
  let fuzzer = await TestSignalClient.join(server.url, 'fz', '', grant);
  const ownTrack = await publish(fuzzer, 'fz', 'fz-cam', 'video');
  const sidOf = (c: TestSignalClient): string => ((c.messages[0]?.value as JoinResponse).participant?.sid ?? '');
  const pool = ['fuzz', 'watcher', 'pub', 'fz', sidOf(watcher), sidOf(pub), sidOf(fuzzer), pubTrack, pubAudio, ownTrack, 'pub-cam', 'fz-cam', 'v=0'];
  const rm = new RandomMessages(SEED, { pool });
  const cases = [...RandomMessages.cases(SignalRequest as unknown as MessageTypeLike, 'message'), 'garbage'];
  let rejoins = 0;
  let sent = 0;

  for (let burstStart = 0; burstStart < COUNT; burstStart += BURST) {
    const burst: string[] = [];
    for (let i = burstStart; i < Math.min(COUNT, burstStart + BURST); i++) {
      const kase = rm.pick(cases);
      burst.push(kase);
      if (kase === 'garbage') {
        // Random bytes: mostly undecodable (the session ends with a LeaveRequest, which is fine).
        const bytes = new Uint8Array(1 + rm.int(64));
        for (let j = 0; j < bytes.length; j++) bytes[j] = rm.int(256);
        if (fuzzer.ws.readyState === fuzzer.ws.OPEN) fuzzer.ws.send(bytes);
        continue;
      }
      let req = rm.oneofCase(SignalRequest as unknown as MessageTypeLike<SignalRequest>, 'message', kase);
      if (req.message.case === 'offer' && rm.chance(0.9)) req.message.value.sdp = `v=0 ${req.message.value.sdp}`;
      let bytes = req.toBinary();
      while (bytes.length > MAX_FRAME_BYTES) {
        req = rm.oneofCase(SignalRequest as unknown as MessageTypeLike<SignalRequest>, 'message', kase);
        bytes = req.toBinary();
      }
      if (fuzzer.ws.readyState === fuzzer.ws.OPEN) fuzzer.ws.send(bytes);
      sent++;
    }
    const label = `seed ${SEED}, requests ${burstStart}..${burstStart + burst.length - 1} [${burst.join(',')}]`;
    await assertWatcherServed(watcher, label);
    assert.deepEqual(logger.errors, [], `${label}: the server logged errors`);
    // The fuzzer may have been sent away (leave, a bad offer, garbage): it comes back as a new session.
    if (fuzzer.closed || fuzzer.messages.some((m) => m.case === 'leave')) {
      fuzzer.close();
      fuzzer = await TestSignalClient.join(server.url, 'fz', '', grant);
      rejoins++;
    }
  }
  assert.ok(sent > COUNT / 2, `${sent} requests sent`);

  // Others still hear about the room: pub's metadata reaches the watcher.
  pub.send({ case: 'updateMetadata', value: new UpdateParticipantMetadata({ metadata: 'after-fuzz', requestId: 1 }) });
  await watcher.waitFor((m) => m.case === 'update' && m.value.participants.some((p) => p.identity === 'pub' && p.metadata === 'after-fuzz'));
  for (const c of [fuzzer, watcher, pub]) c.close();
  await waitFor(() => {
    const r = server.resources();
    return r.rooms === 0 && r.sessions === 0 && r.udpRegistrations === 0;
  }, { ...polling, label: `everything released (seed ${SEED}, ${rejoins} rejoins)`, describe: () => JSON.stringify(server.resources()) });
  assert.deepEqual(logger.errors, []);
});
