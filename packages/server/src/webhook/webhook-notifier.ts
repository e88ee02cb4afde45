// Sends LiveKit webhooks (docs/livekit-protocol.md 8): one FIFO queue per (URL, room), delivered one event at a
// time, retried with exponential backoff, bounded, fire and forget. `notify()` never blocks or throws.
import type { WebhookEvent } from '@livekit/protocol';
import type { Clock, Logger, TimerHandle } from '@atrium/webrtc';
import { newWebhookEventId } from '@atrium/protocol';
import { encodeWebhookBody, signWebhook } from './webhook-signer.js';

export interface WebhookRetryOptions {
  /** Attempts per event and URL, the first included (>= 1). */
  maxAttempts: number;
  /** Delay before the second attempt; doubles per attempt. */
  initialDelayMs: number;
  /** Upper bound of one backoff delay. */
  maxDelayMs: number;
}

export interface WebhookNotifierOptions {
  urls: string[];
  apiKey: string;
  apiSecret: string;
  clock: Clock;
  logger: Logger;
  fetch?: typeof fetch;
  retry?: Partial<WebhookRetryOptions>;
  /** Events waiting per (URL, room) queue; past it the oldest waiting one is dropped. Default 200. */
  maxQueueLength?: number;
  /** One HTTP attempt is aborted after this long. Default 10 s. */
  requestTimeoutMs?: number;
}

export const DEFAULT_WEBHOOK_RETRY: WebhookRetryOptions = { maxAttempts: 5, initialDelayMs: 500, maxDelayMs: 10_000 };
export const DEFAULT_WEBHOOK_QUEUE_LENGTH = 200;
export const DEFAULT_WEBHOOK_REQUEST_TIMEOUT_MS = 10_000;
export const DEFAULT_WEBHOOK_CLOSE_TIMEOUT_MS = 2_000;

/** An event encoded once, shared by every URL's queue. */
interface QueuedEvent {
  name: string;
  id: string;
  body: string;
}

interface RoomQueue {
  key: string;
  url: string;
  roomName: string;
  waiting: QueuedEvent[];
  running: Promise<void> | undefined;
}

interface Sleep {
  handle: TimerHandle;
  resolve: () => void;
}

/** Backoff before attempt `attempt + 1` (attempt counts from 1). */
export function webhookBackoffMs(retry: WebhookRetryOptions, attempt: number): number {
  return Math.min(retry.maxDelayMs, retry.initialDelayMs * 2 ** (attempt - 1));
}

export class WebhookNotifier {
  private readonly urls: readonly string[];
  private readonly apiKey: string;
  private readonly apiSecret: string;
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly fetchFn: typeof fetch;
  private readonly retry: WebhookRetryOptions;
  private readonly maxQueueLength: number;
  private readonly requestTimeoutMs: number;
  private readonly queues = new Map<string, RoomQueue>();
  private readonly sleeps = new Set<Sleep>();
  private readonly inflight = new Set<AbortController>();
  private closing = false;
  private aborted = false;

  constructor(opts: WebhookNotifierOptions) {
    this.urls = [...opts.urls];
    this.apiKey = opts.apiKey;
    this.apiSecret = opts.apiSecret;
    this.clock = opts.clock;
    this.log = opts.logger;
    this.fetchFn = opts.fetch ?? globalThis.fetch;
    this.retry = { ...DEFAULT_WEBHOOK_RETRY, ...opts.retry };
    if (!(this.retry.maxAttempts >= 1)) this.retry.maxAttempts = 1;
    this.maxQueueLength = Math.max(1, opts.maxQueueLength ?? DEFAULT_WEBHOOK_QUEUE_LENGTH);
    this.requestTimeoutMs = opts.requestTimeoutMs ?? DEFAULT_WEBHOOK_REQUEST_TIMEOUT_MS;
  }

  /** Events waiting or being delivered, over all queues. */
  get pendingCount(): number {
    let n = 0;
    for (const q of this.queues.values()) n += q.waiting.length + (q.running ? 1 : 0);
    return n;
  }

  /**
   * Queues `event` for every URL. Fills `id` (`EV_…`) and `createdAt` (unix seconds) when unset.
   * Returns at once; never throws. `opts.roomName` queues an event that carries no room (ingress events) behind that
   * room's events, so they keep their order with the room's.
   */
  notify(event: WebhookEvent, opts: { roomName?: string } = {}): void {
    try {
      if (this.closing) {
        this.log.warn({ event: event.event }, 'webhook notifier closed; event dropped');
        return;
      }
      if (this.urls.length === 0) return;
      if (!event.id) event.id = newWebhookEventId();
      if (event.createdAt === 0n) event.createdAt = BigInt(Math.floor(this.clock.wallMs() / 1000));
      const item: QueuedEvent = { name: event.event, id: event.id, body: encodeWebhookBody(event) };
      const roomName = event.room?.name ?? opts.roomName ?? '';
      for (const url of this.urls) this.enqueue(url, roomName, item);
    } catch (err) {
      this.log.error({ err, event: event?.event }, 'webhook could not be queued');
    }
  }

  /**
   * Stops accepting events and delivers what it can within `timeoutMs`; then aborts requests in flight,
   * cancels backoffs, drops what is left (with a warning) and leaves no timer behind.
   */
  async close(timeoutMs = DEFAULT_WEBHOOK_CLOSE_TIMEOUT_MS): Promise<void> {
    this.closing = true;
    const runners = (): Promise<void>[] =>
      [...this.queues.values()].flatMap((q) => (q.running ? [q.running] : []));
    if (runners().length === 0) return;
    let deadline: TimerHandle | undefined;
    const timedOut = new Promise<void>((resolve) => {
      deadline = this.clock.setTimeout(resolve, timeoutMs);
    });
    await Promise.race([Promise.all(runners()), timedOut]);
    if (deadline !== undefined) this.clock.clearTimeout(deadline);
    if (runners().length === 0) return;
    this.aborted = true;
    for (const s of this.sleeps) {
      this.clock.clearTimeout(s.handle);
      s.resolve();
    }
    this.sleeps.clear();
    for (const c of this.inflight) c.abort();
    await Promise.all(runners());
  }

  private enqueue(url: string, roomName: string, item: QueuedEvent): void {
    const key = `${url}\n${roomName}`;
    let q = this.queues.get(key);
    if (!q) {
      q = { key, url, roomName, waiting: [], running: undefined };
      this.queues.set(key, q);
    }
    if (q.waiting.length >= this.maxQueueLength) {
      const dropped = q.waiting.shift();
      this.log.warn(
        { url, room: roomName, event: dropped?.name, id: dropped?.id, maxQueueLength: this.maxQueueLength },
        'webhook queue full; oldest event dropped',
      );
    }
    q.waiting.push(item);
    if (!q.running) q.running = this.run(q);
  }

  /** Drains one queue in order; removes it when empty. */
  private async run(q: RoomQueue): Promise<void> {
    // Start on a later tick so notify() returns before any work happens.
    await Promise.resolve();
    try {
      for (let item = q.waiting.shift(); item; item = q.waiting.shift()) {
        if (this.aborted) {
          this.dropAborted(q, item);
          continue;
        }
        await this.deliver(q, item);
      }
    } catch (err) {
      this.log.error({ err, url: q.url, room: q.roomName }, 'webhook queue failed');
    } finally {
      q.running = undefined;
      if (q.waiting.length === 0) this.queues.delete(q.key);
      else if (!this.aborted) q.running = this.run(q);
      else {
        for (const item of q.waiting) this.dropAborted(q, item);
        q.waiting.length = 0;
        this.queues.delete(q.key);
      }
    }
  }

  private dropAborted(q: RoomQueue, item: QueuedEvent): void {
    this.log.warn({ url: q.url, room: q.roomName, event: item.name, id: item.id }, 'webhook dropped at close');
  }

  /** Posts one event with retries; gives up with a warning after maxAttempts. */
  private async deliver(q: RoomQueue, item: QueuedEvent): Promise<void> {
    const ctx = { url: q.url, room: q.roomName, event: item.name, id: item.id };
    for (let attempt = 1; ; attempt++) {
      const failure = await this.post(q.url, item.body);
      if (failure === undefined) {
        this.log.debug({ ...ctx, attempt }, 'webhook sent');
        return;
      }
      if (this.aborted) {
        this.log.warn({ ...ctx, attempt, failure }, 'webhook dropped at close');
        return;
      }
      if (attempt >= this.retry.maxAttempts) {
        this.log.warn({ ...ctx, attempts: attempt, failure }, 'webhook failed; giving up');
        return;
      }
      const delayMs = webhookBackoffMs(this.retry, attempt);
      this.log.debug({ ...ctx, attempt, failure, delayMs }, 'webhook failed; retrying');
      await this.sleep(delayMs);
      if (this.aborted) {
        this.log.warn({ ...ctx, attempts: attempt }, 'webhook dropped at close');
        return;
      }
    }
  }

  /** One HTTP attempt; returns undefined on a 2xx, else a short failure description. */
  private async post(url: string, body: string): Promise<string | undefined> {
    const controller = new AbortController();
    this.inflight.add(controller);
    const timer = this.clock.setTimeout(() => controller.abort(), this.requestTimeoutMs);
    try {
      const token = signWebhook(body, this.apiKey, this.apiSecret, Math.floor(this.clock.wallMs() / 1000));
      const res = await this.fetchFn(url, {
        method: 'POST',
        headers: {
          'Content-Type': 'application/webhook+json',
          Authorization: token,
          'User-Agent': 'LiveKit',
        },
        body,
        signal: controller.signal,
      });
      // Read the body so the connection can be reused.
      await res.arrayBuffer().catch(() => undefined);
      return res.status >= 200 && res.status < 300 ? undefined : `HTTP ${res.status}`;
    } catch (err) {
      return err instanceof Error ? `${err.name}: ${err.message}` : String(err);
    } finally {
      this.clock.clearTimeout(timer);
      this.inflight.delete(controller);
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const entry: Sleep = {
        resolve,
        handle: this.clock.setTimeout(() => {
          this.sleeps.delete(entry);
          resolve();
        }, ms),
      };
      this.sleeps.add(entry);
    });
  }
}
