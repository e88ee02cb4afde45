// WorkerMediaFactory with real worker threads: what a replacement worker is sent, and in which order. Participants
// are placed on a replacement as soon as it exists (before it is ready) and their commands wait in its port's queue;
// the `peer` messages that give it its pipes to the other workers must be ahead of them, or a subscription to a track
// on another worker finds no pipe and is dropped (docs/multicore.md, Failure).
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { Worker } from 'node:worker_threads';
import { silentLogger } from '@atrium/webrtc';
import { waitFor } from '@atrium/webrtc/testing/wait-for.js';
import { WorkerMediaFactory, WorkerParticipantMedia } from './worker-media-factory.js';
import type { ToWorker } from './protocol.js';

let factory: WorkerMediaFactory | undefined;
const originalPostMessage = Worker.prototype.postMessage;

after(async () => {
  Worker.prototype.postMessage = originalPostMessage;
  await factory?.close();
});

test('a replacement worker gets its pipes before the participants placed on it while it starts', { timeout: 60_000 }, async () => {
  const f = await WorkerMediaFactory.start({
    workers: 2,
    roomParticipantsPerWorker: 2,
    udpPort: 0,
    logger: silentLogger,
    worker: { bindAddress: '127.0.0.1', advertisedAddress: '127.0.0.1', logLevel: 'warn', enabledCodecs: [], media: {} },
  });
  factory = f;
  // What the main thread posts to each worker thread, in order.
  const sent: { threadId: number; t: ToWorker['t']; worker?: number }[] = [];
  Worker.prototype.postMessage = function (this: Worker, m: ToWorker, ...rest: unknown[]) {
    sent.push({ threadId: this.threadId, t: m.t, ...(m.t === 'peer' ? { worker: m.worker } : {}) });
    return (originalPostMessage as (...a: unknown[]) => void).call(this, m, ...rest);
  } as typeof Worker.prototype.postMessage;

  const dead = f.workers[0]!.worker;
  await dead.terminate();
  const replacement = await waitFor(() => (f.workers[0]?.worker !== dead ? f.workers[0] : undefined), {
    label: 'a replacement for worker 0', timeoutMs: 10_000, describe: () => `restarts ${f.restarts}`,
  });
  // A rejoining participant, placed while the replacement is still starting.
  assert.equal(replacement.udpPort, 0, 'the replacement is not ready yet');
  const media = f.createParticipantMedia({ participantSid: 'PA_rejoined', identity: 'rejoined', logger: silentLogger, roomName: 'r' });
  assert.ok(media instanceof WorkerParticipantMedia);
  assert.equal(media.worker, 0, 'placed on the replacement');

  const toReplacement = sent.filter((s) => s.threadId === replacement.worker.threadId);
  assert.deepEqual(toReplacement, [
    { threadId: replacement.worker.threadId, t: 'peer', worker: 1 },
    { threadId: replacement.worker.threadId, t: 'create' },
  ], 'its pipe to worker 1 first, then the participant');
  assert.deepEqual(
    sent.filter((s) => s.threadId === f.workers[1]!.worker.threadId && s.t === 'peer'),
    [{ threadId: f.workers[1]!.worker.threadId, t: 'peer', worker: 0 }],
    'worker 1 gets the other end',
  );

  await waitFor(() => (replacement.udpPort !== 0 ? true : undefined), { label: 'the replacement ready', timeoutMs: 30_000 });
  assert.equal(sent.filter((s) => s.t === 'peer').length, 2, 'no second pair of pipes once it is ready (that would drop the first)');
  media.close();
});
