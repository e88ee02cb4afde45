// Deterministic RoomService fuzz: every method gets random requests (seeded PRNG over the request descriptors:
// huge strings, extreme and overflowing numbers, unknown enum values, thousands of entries) as protobuf and JSON,
// plus wrong-typed JSON and protobuf garbage, while participants are in the room. Every answer must be a valid
// reply or a Twirp client error, never `internal`. Reproduce with FUZZ_SEED=<seed> FUZZ_COUNT=<n>.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  CreateRoomRequest, ListRoomsRequest, DeleteRoomRequest, ListParticipantsRequest, RoomParticipantIdentity, MuteRoomTrackRequest,
  UpdateParticipantRequest, UpdateSubscriptionsRequest, UpdateRoomMetadataRequest, SendDataRequest, AddTrackRequest, TrackType,
  TrackSource, Ping,
} from '@livekit/protocol';
import type { JoinResponse } from '@livekit/protocol';
import { createAccessToken } from '@atrium/protocol';
import { waitFor } from '@atrium/webrtc/testing/wait-for.js';
import { createServer } from '../create-server.js';
import type { AtriumServer } from '../create-server.js';
import { devConfig } from '../config/server-config.js';
import { FakeMediaFactory, FakeTrackSource } from '../rtc/fake-media.js';
import { TestSignalClient } from '../signal/test-signal-client.js';
import { RandomMessages } from '../signal/random-message.js';
import type { MessageTypeLike } from '../signal/random-message.js';
import { errorLogger } from '../signal/error-logger.js';

const SEED = Number(process.env['FUZZ_SEED'] ?? 20261121);
const COUNT = Number(process.env['FUZZ_COUNT'] ?? 1000);
const ROOM = 'fz-room';

const METHODS: Record<string, MessageTypeLike> = {
  CreateRoom: CreateRoomRequest,
  ListRooms: ListRoomsRequest,
  DeleteRoom: DeleteRoomRequest,
  ListParticipants: ListParticipantsRequest,
  GetParticipant: RoomParticipantIdentity,
  RemoveParticipant: RoomParticipantIdentity,
  MutePublishedTrack: MuteRoomTrackRequest,
  UpdateParticipant: UpdateParticipantRequest,
  UpdateSubscriptions: UpdateSubscriptionsRequest,
  UpdateRoomMetadata: UpdateRoomMetadataRequest,
  SendData: SendDataRequest,
} as unknown as Record<string, MessageTypeLike>;

/** Wrong types, overflowing numbers and unknown enum names for any method (JSON bodies). */
const HOSTILE_JSON = [
  'null', '[]', '"x"', '5', 'true', '{"room": 5}', '{"room": {}}', '{"name": ["a"]}', '{"identity": null}', '{"room": "fz-room", "identity": 7}',
  '{"emptyTimeout": -1}', '{"emptyTimeout": 1e30}', '{"maxParticipants": "many"}', '{"departureTimeout": 4294967296}',
  '{"kind": "BOGUS"}', '{"kind": 99}', '{"data": "***not base64***"}', '{"permission": {"canPublishSources": ["NOPE"]}}',
  '{"attributes": {"a": 1}}', '{"attributes": []}', '{"trackSids": "TR_x"}', '{"participantTracks": [5]}', '{"muted": "yes"}',
  '{"names": [null]}', '{"__proto__": {"room": "fz-room"}}', '{"room": "fz-room", "nonce": "AAAA"}', '{', '{"room": "\\ud800"}',
];

let server: AtriumServer;
let fake: FakeMediaFactory;
const logger = errorLogger();
/** Process warnings while fuzzing (a TimeoutOverflowWarning meant a huge empty_timeout closed the room at once). */
const warnings: string[] = [];
const onWarning = (w: Error): void => void warnings.push(`${w.name}: ${w.message}`);
process.on('warning', onWarning);
after(() => process.off('warning', onWarning));

before(async () => {
  fake = new FakeMediaFactory();
  server = await createServer(devConfig({ port: 0, rtc: { udpPort: 0 }, room: { departureTimeoutSec: 0 } }), { mediaFactory: fake, logger });
});
after(() => server.close());

test(`random RoomService requests (seed ${SEED}, ${COUNT}) get a reply or a Twirp client error, never internal`, async () => {
  const base = `http://127.0.0.1:${server.httpPort}/twirp/livekit.RoomService/`;
  const token = await createAccessToken({
    apiKey: 'devkey', apiSecret: 'secret', identity: 'fuzz-admin',
    video: { roomAdmin: true, room: ROOM, roomCreate: true, roomList: true },
  });
  // Participants in the fuzzed room (rejoined when removed), and a watcher elsewhere.
  const watcher = await TestSignalClient.join(server.url, 'watcher', '', { roomJoin: true, room: 'fz-quiet' });
  const join = async (identity: string): Promise<{ c: TestSignalClient; sid: string }> => {
    const c = await TestSignalClient.join(server.url, identity, '', { roomJoin: true, room: ROOM });
    return { c, sid: (c.messages[0]?.value as JoinResponse).participant?.sid ?? '' };
  };
  /** alice publishes a camera track in each of her sessions. */
  const publish = async (c: TestSignalClient): Promise<string> => {
    c.send({ case: 'addTrack', value: new AddTrackRequest({ cid: 'cam', type: TrackType.VIDEO, source: TrackSource.CAMERA }) });
    const published = await c.waitFor((m) => m.case === 'trackPublished');
    const source = new FakeTrackSource('video', 'video/VP8');
    fake.mediaOf('alice').emit('trackPublished', { msidTrackId: 'cam', msidStreamId: 's', mid: '0', kind: 'video', mimeType: 'video/VP8', rids: [], source });
    return (published.value as { track: { sid: string } }).track.sid;
  };
  let alice = await join('alice');
  let bob = await join('bob');
  let trackSid = await publish(alice.c);

  const pool = [ROOM, ROOM, ROOM, 'alice', 'bob', alice.sid, bob.sid, trackSid, 'fz-other'];
  const rm = new RandomMessages(SEED, { pool, maxEntries: 1000, maxStringLength: 100_000 });
  const names = Object.keys(METHODS);
  type Req = { room?: unknown; identity?: unknown; trackSid?: unknown; muted?: unknown; toBinary(): Uint8Array; toJsonString(): string };
  /** Aims most requests at the populated room, its participants and its track, so the handlers run past their checks. */
  const steer = (msg: object): Req => {
    const req = msg as Req;
    if ('room' in req && rm.chance(0.8)) req.room = ROOM;
    if ('identity' in req && rm.chance(0.6)) req.identity = rm.pick(['alice', 'bob']);
    if ('trackSid' in req && rm.chance(0.6)) req.trackSid = trackSid;
    if ('muted' in req && rm.chance(0.6)) req.muted = true;
    return req;
  };
  const codes = new Map<string, number>();

  for (let i = 0; i < COUNT; i++) {
    const methodName = rm.pick(names);
    const type = METHODS[methodName]!;
    let body: Uint8Array | string;
    let contentType: string;
    const r = rm.random();
    if (r < 0.55) {
      body = steer(rm.message(type)).toBinary();
      contentType = 'application/protobuf';
    } else if (r < 0.8) {
      body = steer(rm.message(type)).toJsonString();
      contentType = 'application/json';
    } else if (r < 0.9) {
      body = rm.pick(HOSTILE_JSON);
      contentType = 'application/json';
    } else {
      const garbage = new Uint8Array(rm.int(200));
      for (let j = 0; j < garbage.length; j++) garbage[j] = rm.int(256);
      body = garbage;
      contentType = 'application/protobuf';
    }
    const res = await fetch(base + methodName, {
      method: 'POST',
      headers: { 'Content-Type': contentType, Authorization: `Bearer ${token}` },
      body: typeof body === 'string' ? body : Buffer.from(body),
    });
    const text = Buffer.from(await res.arrayBuffer());
    const label = `seed ${SEED} request ${i} ${methodName} (${contentType}, ${text.length} bytes answered)`;
    if (res.status !== 200) {
      const err = JSON.parse(text.toString('utf8')) as { code: string; msg: string };
      codes.set(`${methodName} ${err.code}`, (codes.get(`${methodName} ${err.code}`) ?? 0) + 1);
      assert.ok(res.status >= 400 && res.status < 500, `${label}: ${res.status} ${err.code}: ${err.msg}`);
    } else {
      codes.set(`${methodName} ok`, (codes.get(`${methodName} ok`) ?? 0) + 1);
    }
    assert.deepEqual(logger.errors, [], `${label}: the server logged errors`);
    // Removed or deleted: come back, so later requests find participants again.
    if (alice.c.closed) {
      alice = await join('alice');
      trackSid = await publish(alice.c);
    }
    if (bob.c.closed) bob = await join('bob');
    if (i % 100 === 99) {
      watcher.send({ case: 'pingReq', value: new Ping({ timestamp: BigInt(i) }) });
      await watcher.waitFor((m) => m.case === 'pongResp' && m.value.lastPingTimestamp === BigInt(i));
    }
  }
  // Every method answered something other than an error at least once (the fuzz reaches the handlers).
  for (const m of names) assert.ok((codes.get(`${m} ok`) ?? 0) > 0, `${m} never succeeded: ${JSON.stringify([...codes])}`);

  for (const c of [alice.c, bob.c, watcher]) c.close();
  server.rooms.close();
  await waitFor(() => {
    const r = server.resources();
    return r.rooms === 0 && r.sessions === 0;
  }, { timeoutMs: 3000, intervalMs: 5, label: 'everything released', describe: () => JSON.stringify(server.resources()) });
  assert.deepEqual(logger.errors, []);
  assert.deepEqual(warnings, []);
});
