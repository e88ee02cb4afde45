// Tests for WebhookNotifier's timing with a ManualClock and a fake fetch: backoff schedule, bounded queues,
// and close(): flushes what it can, is bounded, and leaves no timers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { WebhookEvent, Room, ParticipantInfo } from '@livekit/protocol';
import { ManualClock, silentLogger } from '@atrium/webrtc';
import { withTimeout } from '@atrium/webrtc/testing/wait-for.js';
import { WebhookNotifier, webhookBackoffMs } from './webhook-notifier.js';
import { recordingLogger } from './test-webhook-receiver.js';

const KEY = 'APIwebhook';
const SECRET = 'webhook-secret-of-at-least-32-chars';

function ev(name: string, room: string, extra: Partial<WebhookEvent> = {}): WebhookEvent {
  return new WebhookEvent({ event: name, room: new Room({ name: room, sid: `RM_${room}` }), ...extra });
}

/** Lets pending promise callbacks run (no time passes on the ManualClock). */
async function settle(): Promise<void> {
  for (let i = 0; i < 10; i++) await new Promise((r) => setImmediate(r));
}

function fakeFetch(statusFor: (n: number) => number | 'hang' | 'throw') {
  const calls: { atMs: number; body: string }[] = [];
  let clockRef: ManualClock | undefined;
  const fn = (async (_url: string | URL | Request, init?: RequestInit) => {
    calls.push({ atMs: clockRef?.nowMs() ?? 0, body: String(init?.body) });
    const s = statusFor(calls.length);
    if (s === 'throw') throw new TypeError('fetch failed');
    if (s === 'hang') {
      return new Promise<Response>((_resolve, reject) => {
        init?.signal?.addEventListener('abort', () => reject(new DOMException('aborted', 'AbortError')));
      });
    }
    return new Response(null, { status: s });
  }) as typeof fetch;
  return { fn, calls, bind: (c: ManualClock) => (clockRef = c) };
}

test('backoff doubles from initialDelayMs up to maxDelayMs', async () => {
  assert.deepEqual(
    [1, 2, 3, 4, 5].map((a) => webhookBackoffMs({ maxAttempts: 9, initialDelayMs: 100, maxDelayMs: 500 }, a)),
    [100, 200, 400, 500, 500],
  );
  const clock = new ManualClock();
  const f = fakeFetch((n) => (n < 4 ? 'throw' : 200));
  f.bind(clock);
  const n = new WebhookNotifier({
    urls: ['http://h/w'],
    apiKey: KEY,
    apiSecret: SECRET,
    clock,
    logger: silentLogger,
    fetch: f.fn,
    retry: { maxAttempts: 5, initialDelayMs: 100, maxDelayMs: 250 },
  });
  n.notify(ev('room_started', 'a'));
  assert.equal(f.calls.length, 0, 'notify() does no work synchronously');
  await settle();
  for (let i = 0; i < 14; i++) {
    clock.advance(50);
    await settle();
  }
  assert.deepEqual(f.calls.map((c) => c.atMs), [0, 100, 300, 550]);
  assert.equal(n.pendingCount, 0);
  assert.equal(clock.pendingTimers, 0);
  await n.close();
});

test('a full queue drops its oldest waiting event with a warning', async () => {
  const clock = new ManualClock();
  const f = fakeFetch(() => 200);
  const logger = recordingLogger();
  const n = new WebhookNotifier({ urls: ['http://h/w'], apiKey: KEY, apiSecret: SECRET, clock, logger, fetch: f.fn, maxQueueLength: 3 });
  for (let i = 0; i < 6; i++) n.notify(ev('participant_joined', 'a', { participant: new ParticipantInfo({ identity: `p${i}` }) }));
  n.notify(ev('room_started', 'other'));
  assert.equal(logger.warnings.length, 3);
  await settle();
  const sent = f.calls.map((c) => {
    const e = WebhookEvent.fromJsonString(c.body);
    return `${e.room?.name}:${e.participant?.identity ?? ''}`;
  });
  assert.deepEqual(sent.filter((s) => s.startsWith('a:')), ['a:p3', 'a:p4', 'a:p5']);
  assert.deepEqual(sent.filter((s) => s.startsWith('other:')), ['other:']);
  await n.close();
});

test('close() flushes what is deliverable and leaves no timers', async () => {
  const clock = new ManualClock();
  const f = fakeFetch(() => 200);
  const n = new WebhookNotifier({ urls: ['http://h/w'], apiKey: KEY, apiSecret: SECRET, clock, logger: silentLogger, fetch: f.fn });
  n.notify(ev('room_started', 'a'));
  n.notify(ev('room_finished', 'a'));
  await withTimeout(n.close(), 5000, 'close() with deliverable events');
  assert.equal(f.calls.length, 2);
  assert.equal(clock.pendingTimers, 0);
  const logger = recordingLogger();
  const closed = new WebhookNotifier({ urls: ['http://h/w'], apiKey: KEY, apiSecret: SECRET, clock, logger, fetch: f.fn });
  await closed.close();
  closed.notify(ev('room_started', 'late'));
  assert.deepEqual(logger.warnings, ['webhook notifier closed; event dropped']);
  await settle();
  assert.equal(f.calls.length, 2);
});

test('close() is bounded: a hanging request is aborted, backoffs cancelled, the rest dropped, no timers left', async () => {
  const clock = new ManualClock();
  const f = fakeFetch((n) => (n === 1 ? 'hang' : 'throw'));
  f.bind(clock);
  const logger = recordingLogger();
  const n = new WebhookNotifier({
    urls: ['http://h/w'],
    apiKey: KEY,
    apiSecret: SECRET,
    clock,
    logger,
    fetch: f.fn,
    retry: { maxAttempts: 10, initialDelayMs: 1000, maxDelayMs: 1000 },
  });
  n.notify(ev('room_started', 'hang'));
  n.notify(ev('room_finished', 'hang'));
  n.notify(ev('room_started', 'retrying'));
  await settle();
  assert.equal(f.calls.length, 2); // one hanging, one failed and now in backoff
  let closed = false;
  const closing = n.close(500).then(() => (closed = true));
  await settle();
  assert.equal(closed, false);
  clock.advance(500);
  await withTimeout(closing, 5000, 'close() after its deadline');
  assert.equal(clock.pendingTimers, 0);
  assert.equal(n.pendingCount, 0);
  assert.equal(f.calls.length, 2, 'nothing more is sent after the close deadline');
  assert.equal(logger.warnings.filter((w) => w === 'webhook dropped at close').length, 3);
});
