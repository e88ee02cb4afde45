// Tests for WebhookNotifier: a real HTTP receiver on 127.0.0.1 checks every webhook with livekit-server-sdk's
// WebhookReceiver (order, independence of rooms, retries, give-up); a fake fetch plus ManualClock checks
// backoff timing, bounded queues and that close() leaves no timers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebhookEvent, Room, ParticipantInfo, TrackInfo } from '@livekit/protocol';
import { WebhookReceiver } from 'livekit-server-sdk';
import { ManualClock, silentLogger, systemClock } from '@atrium/webrtc';
import type { Logger } from '@atrium/webrtc';
import { waitFor, withTimeout } from '@atrium/webrtc/testing/wait-for.js';
import { WebhookNotifier, webhookBackoffMs } from './webhook-notifier.js';

const KEY = 'APIwebhook';
const SECRET = 'webhook-secret-of-at-least-32-chars';
const FAST_RETRY = { maxAttempts: 4, initialDelayMs: 5, maxDelayMs: 20 };

interface Received {
  body: string;
  auth: string;
  contentType: string;
  userAgent: string;
  event: WebhookEvent;
}

/** A local webhook receiver; `respond` picks the status for each request (after verification). */
async function startReceiver(
  respond: (event: WebhookEvent, n: number) => number | Promise<number> = () => 200,
  secret = SECRET,
) {
  const received: Received[] = [];
  const rejected: string[] = [];
  let requests = 0;
  const verifier = new WebhookReceiver(KEY, secret);
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const auth = req.headers.authorization ?? '';
      const n = ++requests;
      verifier.receive(body, auth).then(
        async (event) => {
          const status = await respond(event, n);
          if (status >= 200 && status < 300) {
            received.push({
              body,
              auth,
              contentType: req.headers['content-type'] ?? '',
              userAgent: req.headers['user-agent'] ?? '',
              event,
            });
          }
          res.writeHead(status).end();
        },
        (err: unknown) => {
          rejected.push(String(err));
          res.writeHead(401).end();
        },
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/webhook`;
  return {
    url,
    received,
    rejected,
    get requests() {
      return requests;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

function ev(name: string, room: string, extra: Partial<WebhookEvent> = {}): WebhookEvent {
  return new WebhookEvent({ event: name, room: new Room({ name: room, sid: `RM_${room}` }), ...extra });
}

function recordingLogger(): Logger & { warnings: string[] } {
  const warnings: string[] = [];
  const l: Logger & { warnings: string[] } = {
    warnings,
    debug: () => {},
    info: () => {},
    warn: (obj, msg) => void warnings.push(msg ?? String(obj)),
    error: (obj, msg) => void warnings.push(`error: ${msg ?? String(obj)}`),
    child: () => l,
  };
  return l;
}

test('every event reaches the receiver, verified by WebhookReceiver, with LiveKit headers and fields', async () => {
  const rx = await startReceiver();
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
  const rx = await startReceiver();
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
  const rx = await startReceiver(async () => {
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
  const rx = await startReceiver(async (event) => {
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
  const rx = await startReceiver((_event, requestNo) => (requestNo <= 2 ? 503 : 200));
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
  const rx = await startReceiver((event) => (event.event === 'room_started' ? 500 : 200));
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
  const rx = await startReceiver();
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
  const rx = await startReceiver(() => 200, 'the-receivers-real-secret-32-chars-x');
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
  const a = await startReceiver();
  const b = await startReceiver();
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

// ---- ManualClock and a fake fetch: timing, bounds, close ----

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
