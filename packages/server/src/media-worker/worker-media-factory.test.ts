// WorkerMediaFactory with real worker threads: what a replacement worker is sent, and in which order, and where
// participants go while it starts. The `peer` messages that give it its pipes to the other workers go first, before
// anything placed on it (commands wait in its port's queue until it runs): a subscription to a track on another worker
// that arrived before its pipe would find none and be dropped (docs/multicore.md, Failure). While it starts, new and
// rejoining participants go to a worker that is ready (one placed on a starting worker waits for its answers).
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

test('a replacement worker gets its pipes first; while it starts, participants go to the ready worker', { timeout: 60_000 }, async () => {
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
  assert.equal(replacement.udpPort, 0, 'the replacement is not ready yet');
  assert.deepEqual(sent.filter((s) => s.threadId === replacement.worker.threadId), [
    { threadId: replacement.worker.threadId, t: 'peer', worker: 1 },
  ], 'its pipe to worker 1, sent at its start');
  assert.deepEqual(
    sent.filter((s) => s.threadId === f.workers[1]!.worker.threadId && s.t === 'peer'),
    [{ threadId: f.workers[1]!.worker.threadId, t: 'peer', worker: 0 }],
    'worker 1 gets the other end',
  );
  // A participant rejoining while the replacement starts goes to the worker that is ready.
  const rejoined = f.createParticipantMedia({ participantSid: 'PA_rejoined', identity: 'rejoined', logger: silentLogger, roomName: 'r' });
  assert.ok(rejoined instanceof WorkerParticipantMedia);
  assert.equal(rejoined.worker, 1, 'placed on the ready worker, not the starting one');

  await waitFor(() => (replacement.udpPort !== 0 ? true : undefined), { label: 'the replacement ready', timeoutMs: 30_000 });
  assert.equal(sent.filter((s) => s.t === 'peer').length, 2, 'no second pair of pipes once it is ready (that would drop the first)');
  // Once ready it takes participants again: the least loaded.
  const later = f.createParticipantMedia({ participantSid: 'PA_later', identity: 'later', logger: silentLogger, roomName: 'other' });
  assert.ok(later instanceof WorkerParticipantMedia);
  assert.equal(later.worker, 0, 'the ready replacement, which has fewer participants');
  // Each worker reports how busy its event loop was (what placement weighs): a share, and small for idle workers.
  for (const w of f.workers) {
    const u = await waitFor(() => w.last?.loopUtilization, { label: `worker ${w.index} loop utilization`, timeoutMs: 5_000 });
    assert.ok(u >= 0 && u < 0.5, `worker ${w.index}: ${u}`);
  }
  rejoined.close();
  later.close();
});
