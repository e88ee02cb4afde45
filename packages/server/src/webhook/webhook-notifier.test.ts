// Tests for WebhookNotifier against a real HTTP receiver on 127.0.0.1 that checks every webhook with
// livekit-server-sdk's WebhookReceiver: fields and headers, per-room order, independent rooms, retries, give-up.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { WebhookEvent, Room, ParticipantInfo, TrackInfo } from '@livekit/protocol';
import { silentLogger, systemClock } from '@atrium/webrtc';
import { waitFor } from '@atrium/webrtc/testing/wait-for.js';
import { WebhookNotifier } from './webhook-notifier.js';
import { startWebhookReceiver, recordingLogger } from './test-webhook-receiver.js';

const KEY = 'APIwebhook';
const SECRET = 'webhook-secret-of-at-least-32-chars';
const FAST_RETRY = { maxAttempts: 4, initialDelayMs: 5, maxDelayMs: 20 };

function ev(name: string, room: string, extra: Partial<WebhookEvent> = {}): WebhookEvent {
  return new WebhookEvent({ event: name, room: new Room({ name: room, sid: `RM_${room}` }), ...extra });
}

test('every event reaches the receiver, verified by WebhookReceiver, with LiveKit headers and fields', async () => {
  const rx = await startWebhookReceiver(KEY, SECRET);
  const n = new WebhookNotifier({ urls: [rx.url], apiKey: KEY, apiSecret: SECRET, clock: systemClock, logger: silentLogger });
  try {
    const before = Math.floor(Date.now() / 1000);
    n.notify(ev('room_started', 'a'));
    n.notify(ev('participant_joined', 'a', { participant: new ParticipantInfo({ sid: 'PA_1', identity: 'alice' }) }));
    n.notify(
      ev('track_published', 'a', {
        participant: new ParticipantInfo({ sid: 'PA_1', identity: 'alice' }),
        track: new TrackInfo({ sid: 'TR_1', name: 'mic' }),
      }),
    );
    n.notify(ev('track_unpublished', 'a', { track: new TrackInfo({ sid: 'TR_1' }) }));
    n.notify(ev('participant_left', 'a', { participant: new ParticipantInfo({ sid: 'PA_1', identity: 'alice' }) }));
    n.notify(ev('room_finished', 'a'));
    await waitFor(() => rx.received.length === 6, { timeoutMs: 5000, intervalMs: 5, label: 'six webhooks' });
    assert.deepEqual(
      rx.received.map((r) => r.event.event),
      ['room_started', 'participant_joined', 'track_published', 'track_unpublished', 'participant_left', 'room_finished'],
    );
    const ids = new Set<string>();
    for (const r of rx.received) {
      assert.equal(r.contentType, 'application/webhook+json');
      assert.equal(r.userAgent, 'LiveKit');
      assert.doesNotMatch(r.auth, /^Bearer /);
      assert.equal(r.event.room?.name, 'a');
      assert.equal(r.event.room?.sid, 'RM_a');
      assert.match(r.event.id, /^EV_[0-9A-Za-z]{12}$/);
      ids.add(r.event.id);
      assert.ok(r.event.createdAt >= BigInt(before) && r.event.createdAt <= BigInt(Math.floor(Date.now() / 1000)));
      assert.match(r.body, /"createdAt":"\d+"/);
    }
    assert.equal(ids.size, 6);
    const pub = rx.received[2]!.event;
    assert.equal(pub.participant?.identity, 'alice');
    assert.equal(pub.track?.sid, 'TR_1');
    assert.equal(pub.track?.name, 'mic');
    assert.deepEqual(rx.rejected, []);
  } finally {
    await n.close();
    await rx.close();
  }
});

test('a caller-set id and createdAt are kept', async () => {
  const rx = await startWebhookReceiver(KEY, SECRET);
  const n = new WebhookNotifier({ urls: [rx.url], apiKey: KEY, apiSecret: SECRET, clock: systemClock, logger: silentLogger });
  try {
    n.notify(ev('room_started', 'x', { id: 'EV_fixed', createdAt: 1234n }));
    await waitFor(() => rx.received.length === 1, { timeoutMs: 5000, intervalMs: 5, label: 'one webhook' });
    assert.equal(rx.received[0]!.event.id, 'EV_fixed');
    assert.equal(rx.received[0]!.event.createdAt, 1234n);
  } finally {
    await n.close();
    await rx.close();
  }
});

test('events of one room arrive in order even when the receiver is slow at random', async () => {
  const rx = await startWebhookReceiver(KEY, SECRET, async () => {
    await new Promise((r) => setImmediate(r));
    return 200;
  });
  const n = new WebhookNotifier({ urls: [rx.url], apiKey: KEY, apiSecret: SECRET, clock: systemClock, logger: silentLogger });
  try {
    const COUNT = 40;
    for (let i = 0; i < COUNT; i++) {
      n.notify(ev('participant_joined', 'r1', { participant: new ParticipantInfo({ identity: `p${i}` }) }));
      n.notify(ev('participant_joined', 'r2', { participant: new ParticipantInfo({ identity: `q${i}` }) }));
    }
    await waitFor(() => rx.received.length === 2 * COUNT, { timeoutMs: 10_000, intervalMs: 5, label: 'all webhooks' });
    const of = (room: string) =>
      rx.received.filter((r) => r.event.room?.name === room).map((r) => r.event.participant?.identity);
    assert.deepEqual(of('r1'), Array.from({ length: COUNT }, (_, i) => `p${i}`));
    assert.deepEqual(of('r2'), Array.from({ length: COUNT }, (_, i) => `q${i}`));
  } finally {
    await n.close();
    await rx.close();
  }
});

test('a stuck room does not hold back another room', async () => {
  let release: (() => void) | undefined;
  const held = new Promise<void>((r) => (release = r));
  const rx = await startWebhookReceiver(KEY, SECRET, async (event) => {
    if (event.room?.name === 'stuck') await held;
    return 200;
  });
  const n = new WebhookNotifier({ urls: [rx.url], apiKey: KEY, apiSecret: SECRET, clock: systemClock, logger: silentLogger });
  try {
    n.notify(ev('room_started', 'stuck'));
    n.notify(ev('room_finished', 'stuck'));
    n.notify(ev('room_started', 'free'));
    n.notify(ev('room_finished', 'free'));
    await waitFor(() => rx.received.length === 2, { timeoutMs: 5000, intervalMs: 5, label: 'free room delivered' });
    assert.deepEqual(
      rx.received.map((r) => `${r.event.room?.name}:${r.event.event}`),
      ['free:room_started', 'free:room_finished'],
    );
    // The stuck room's second event waits behind its first (one in flight, one waiting).
    await waitFor(() => n.pendingCount === 2, { timeoutMs: 5000, intervalMs: 5, label: 'only the stuck room pending' });
    assert.equal(rx.requests, 3);
    release?.();
    await waitFor(() => rx.received.length === 4, { timeoutMs: 5000, intervalMs: 5, label: 'stuck room delivered' });
    assert.deepEqual(
      rx.received.slice(2).map((r) => `${r.event.room?.name}:${r.event.event}`),
      ['stuck:room_started', 'stuck:room_finished'],
    );
  } finally {
    release?.();
    await n.close();
    await rx.close();
  }
});

test('a receiver that fails the first attempts gets retries, then the event, and order is kept', async () => {
  const rx = await startWebhookReceiver(KEY, SECRET, (_event, requestNo) => (requestNo <= 2 ? 503 : 200));
  const n = new WebhookNotifier({
    urls: [rx.url],
    apiKey: KEY,
    apiSecret: SECRET,
    clock: systemClock,
    logger: silentLogger,
    retry: FAST_RETRY,
  });
  try {
    n.notify(ev('room_started', 'a'));
    n.notify(ev('room_finished', 'a'));
    await waitFor(() => rx.received.length === 2, { timeoutMs: 5000, intervalMs: 5, label: 'after retries' });
    assert.equal(rx.requests, 4);
    assert.deepEqual(rx.received.map((r) => r.event.event), ['room_started', 'room_finished']);
  } finally {
    await n.close();
    await rx.close();
  }
});

test('gives up after maxAttempts with a warning, then delivers the next event', async () => {
  const rx = await startWebhookReceiver(KEY, SECRET, (event) => (event.event === 'room_started' ? 500 : 200));
  const logger = recordingLogger();
  const n = new WebhookNotifier({ urls: [rx.url], apiKey: KEY, apiSecret: SECRET, clock: systemClock, logger, retry: FAST_RETRY });
  try {
    n.notify(ev('room_started', 'a'));
    n.notify(ev('room_finished', 'a'));
    await waitFor(() => rx.received.length === 1, { timeoutMs: 5000, intervalMs: 5, label: 'next event' });
    assert.equal(rx.requests, FAST_RETRY.maxAttempts + 1);
    assert.equal(rx.received[0]!.event.event, 'room_finished');
    assert.deepEqual(logger.warnings, ['webhook failed; giving up']);
  } finally {
    await n.close();
    await rx.close();
  }
});

test('a network error (nothing listening) is retried and finally dropped; notify never throws', async () => {
  const rx = await startWebhookReceiver(KEY, SECRET);
  const deadUrl = rx.url;
  await rx.close();
  const logger = recordingLogger();
  const n = new WebhookNotifier({ urls: [deadUrl], apiKey: KEY, apiSecret: SECRET, clock: systemClock, logger, retry: FAST_RETRY });
  n.notify(ev('room_started', 'a'));
  await waitFor(() => logger.warnings.length === 1, { timeoutMs: 5000, intervalMs: 5, label: 'give-up warning' });
  assert.deepEqual(logger.warnings, ['webhook failed; giving up']);
  await waitFor(() => n.pendingCount === 0, { timeoutMs: 1000, intervalMs: 5, label: 'queue empty' });
  await n.close();
});

test('signed with the wrong secret: the SDK receiver rejects every attempt', async () => {
  const rx = await startWebhookReceiver(KEY, 'the-receivers-real-secret-32-chars-x');
  const n = new WebhookNotifier({
    urls: [rx.url],
    apiKey: KEY,
    apiSecret: SECRET,
    clock: systemClock,
    logger: silentLogger,
    retry: { maxAttempts: 2, initialDelayMs: 1, maxDelayMs: 1 },
  });
  try {
    n.notify(ev('room_started', 'a'));
    await waitFor(() => rx.rejected.length === 2 && n.pendingCount === 0, { timeoutMs: 5000, intervalMs: 5, label: 'rejections' });
    assert.equal(rx.received.length, 0);
    assert.match(rx.rejected[0]!, /signature/i);
  } finally {
    await n.close();
    await rx.close();
  }
});

test('every URL gets every event', async () => {
  const a = await startWebhookReceiver(KEY, SECRET);
  const b = await startWebhookReceiver(KEY, SECRET);
  const n = new WebhookNotifier({ urls: [a.url, b.url], apiKey: KEY, apiSecret: SECRET, clock: systemClock, logger: silentLogger });
  try {
    n.notify(ev('room_started', 'r'));
    await waitFor(() => a.received.length === 1 && b.received.length === 1, { timeoutMs: 5000, intervalMs: 5, label: 'both urls' });
    assert.equal(a.received[0]!.body, b.received[0]!.body);
  } finally {
    await n.close();
    await a.close();
    await b.close();
  }
});
