// Compatibility: webhooks from real room events. Two @livekit/rtc-node participants join, one publishes a sine
// tone, both leave; a local receiver verifies every webhook with livekit-server-sdk's WebhookReceiver.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Room } from '@livekit/rtc-node';
import type { WebhookEvent } from '@livekit/protocol';
import { startWebhookReceiver } from '@atrium/server/webhook/test-webhook-receiver.js';
import { connectRtcNode, publishSineTone, type RunningPublisher, teardownRtcNode } from './helpers/rtc-node.js';
import { startAtrium, DEV_API_KEY, DEV_API_SECRET, type AtriumUnderTest } from './helpers/server.js';
import { waitFor, withTimeout } from '@atrium/webrtc/testing/wait-for.js';

const EVENT_TIMEOUT_MS = 15_000;
const ROOM = 'webhooks-e2e';

let server: AtriumUnderTest | undefined;
let receiver: Awaited<ReturnType<typeof startWebhookReceiver>> | undefined;
const rooms: Room[] = [];
const publishers: RunningPublisher[] = [];

before(async () => {
  receiver = await startWebhookReceiver(DEV_API_KEY, DEV_API_SECRET);
  server = await withTimeout(
    startAtrium({ config: { room: { departureTimeoutSec: 1 }, webhook: { apiKey: DEV_API_KEY, urls: [receiver.url] } } }),
    15_000,
    'Atrium to start',
  );
});

after(() =>
  teardownRtcNode({
    publishers,
    rooms,
    also: [
      { what: 'closing Atrium', work: () => server?.close() ?? Promise.resolve() },
      { what: 'closing the webhook receiver', work: () => receiver?.close() ?? Promise.resolve(), timeoutMs: 5_000 },
    ],
  }),
);

function eventsOfRoom(): WebhookEvent[] {
  assert.ok(receiver);
  return receiver.received.map((r) => r.event).filter((e) => e.room?.name === ROOM);
}

function describe(e: WebhookEvent): string {
  return [e.event, e.participant?.identity, e.track ? 'track' : undefined].filter((x) => x !== undefined).join(' ');
}

async function until(pred: (names: string[]) => boolean, label: string): Promise<void> {
  await waitFor(() => pred(eventsOfRoom().map(describe)), { timeoutMs: EVENT_TIMEOUT_MS, intervalMs: 20, label: `${label}; got ${eventsOfRoom().map(describe).join(', ')}` });
}

async function connect(identity: string): Promise<Room> {
  assert.ok(server);
  const room = await connectRtcNode(server.url, await server.token({ identity, room: ROOM }), { label: identity });
  rooms.push(room);
  return room;
}

test('rtc-node join, publish and leave produce verified webhooks in LiveKit order', async () => {
  assert.ok(receiver && server);
  const alice = await connect('alice');
  await until((n) => n.includes('participant_joined alice'), 'alice joined');
  const bob = await connect('bob');
  await until((n) => n.includes('participant_joined bob'), 'bob joined');

  const tone = await publishSineTone(alice, { frequencyHz: 440, maxDurationMs: 20_000 });
  publishers.push(tone);
  await until((n) => n.includes('track_published alice track'), 'track published');

  await tone.stop();
  await alice.disconnect();
  await until((n) => n.includes('participant_left alice'), 'alice left');
  await bob.disconnect();
  await until((n) => n.includes('room_finished'), 'room finished');

  assert.deepEqual(receiver.rejected, [], 'every request verified');
  const events = eventsOfRoom();
  assert.deepEqual(events.map(describe), [
    'room_started',
    'participant_joined alice',
    'participant_joined bob',
    'track_published alice track',
    'track_unpublished alice track',
    'participant_left alice',
    'participant_left bob',
    'room_finished',
  ]);
  const sid = events[0]?.room?.sid ?? '';
  assert.match(sid, /^RM_/);
  assert.ok(events.every((e) => e.room?.sid === sid && e.id.startsWith('EV_') && e.createdAt > 0n));
  const published = events[3]?.track;
  assert.equal(published?.sid, tone.publication.sid);
  assert.equal(published?.name, 'sine');
  assert.equal(events[4]?.track?.sid, tone.publication.sid);
  assert.equal(events[1]?.participant?.sid, alice.localParticipant?.sid);
  assert.ok(receiver.received.every((r) => r.contentType === 'application/webhook+json' && r.userAgent === 'LiveKit'));
  await waitFor(() => server!.server.rooms.roomCount === 0, { timeoutMs: 5_000, intervalMs: 20, label: 'room gone' });
});
