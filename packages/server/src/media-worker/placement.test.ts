// Placement of a participant on the least loaded media worker (placement.ts): by the utilization each worker reports,
// plus what the participants placed since its report are expected to add; equal loads fall back to participant count.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { estimatedLoad, leastLoadedWorker, LOAD_TIE, MIN_PARTICIPANT_LOAD, ROOM_KEEP_LOAD, roomWorker, smoothedUtilization, type PlacementCandidate } from './placement.js';

const worker = (index: number, participants: number, loopUtilization?: number, sessions = participants, placedSinceReport = 0, packetsPerSecond = 0): PlacementCandidate => ({
  index, participants, placedSinceReport,
  report: loopUtilization === undefined ? undefined : { loopUtilization, sessions, packetsPerSecond },
});

test('a busier worker loses to an idler one even when it has fewer participants', () => {
  // Worker 0: 3 participants streaming 1080p (70% busy); worker 1: 10 listeners (15% busy).
  assert.equal(leastLoadedWorker([worker(0, 3, 0.7), worker(1, 10, 0.15)]), 1);
  assert.equal(leastLoadedWorker([worker(0, 10, 0.15), worker(1, 3, 0.7)]), 0);
});

test('loads within LOAD_TIE are equal: the fewest participants, then the fewest packets/s', () => {
  assert.equal(leastLoadedWorker([worker(0, 5, 0.02), worker(1, 4, 0.02 + LOAD_TIE - 0.01)]), 1);
  assert.equal(leastLoadedWorker([worker(0, 4, 0.1, 4, 0, 900), worker(1, 4, 0.1, 4, 0, 300)]), 1);
  assert.equal(leastLoadedWorker([worker(0, 4, 0.1, 4, 0, 300), worker(1, 4, 0.1, 4, 0, 300)]), 0, 'all equal: the first');
  // Before any report: by count.
  assert.equal(leastLoadedWorker([worker(0, 2), worker(1, 1), worker(2, 3)]), 1);
});

test('participants placed since a report count at the worker\'s own cost per participant, so a burst of joins spreads', () => {
  // Both reported 40% busy: worker 0 with 4 sessions (0.1 each), worker 1 with 40 (0.01 each).
  const w0 = worker(0, 4, 0.4, 4);
  const w1 = worker(1, 40, 0.4, 40);
  assert.ok(Math.abs(estimatedLoad({ ...w0, placedSinceReport: 2 }) - 0.6) < 1e-9);
  assert.ok(Math.abs(estimatedLoad({ ...w1, placedSinceReport: 2 }) - 0.42) < 1e-9);
  // Joins in one report interval: each goes where the estimate is lowest; worker 0 gets its share, then loses to 1.
  const placed = [0, 0];
  for (let i = 0; i < 30; i++) {
    const cands = [{ ...w0, participants: 4 + placed[0]!, placedSinceReport: placed[0]! }, { ...w1, participants: 40 + placed[1]!, placedSinceReport: placed[1]! }];
    placed[leastLoadedWorker(cands)]!++;
  }
  assert.ok(placed[0]! >= 1 && placed[1]! >= 1, `both took joins (${placed.join('/')})`);
  assert.ok(placed[1]! > placed[0]!, `the worker whose participants cost less took more (${placed.join('/')})`);
  // A worker that reported no sessions yet still counts its new participants.
  assert.equal(estimatedLoad(worker(0, 3, 0, 0, 3)), 3 * MIN_PARTICIPANT_LOAD);
});

test('no candidate is an error', () => {
  assert.throws(() => leastLoadedWorker([]), /no media worker/);
});

test("a room's next participant goes to its worker while that holds fewer than the limit and is under ROOM_KEEP_LOAD", () => {
  const idle = [worker(0, 20, 0.2, 20), worker(1, 3, 0.05, 3)];
  assert.equal(roomWorker([[0, 20]], idle, 64), 0, 'a 20-person room on a 20% busy worker stays there');
  assert.equal(roomWorker([[0, 64]], idle, 64), -1, 'at the limit: the room spans');
  const busy = [worker(0, 20, ROOM_KEEP_LOAD + 0.05, 20), worker(1, 3, 0.05, 3)];
  assert.equal(roomWorker([[0, 20]], busy, 64), -1, 'past half busy: the room spans (leastLoadedWorker picks)');
  assert.equal(roomWorker([[0, 20], [1, 3]], busy, 64), 1, 'the room already on worker 1 continues there');
  // Joins since the last report count: 20 sessions at 0.02 each, 10 more placed -> 0.4 + 0.2 = 0.6.
  const burst = [worker(0, 30, 0.4, 20, 10), worker(1, 0, 0)];
  assert.equal(roomWorker([[0, 30]], burst, 64), -1, 'a burst of joins since the report pushes it past the limit');
  assert.equal(roomWorker([[0, 2]], [worker(1, 0, 0)], 64), -1, 'its worker cannot take participants now (not a candidate)');
  assert.equal(roomWorker([], idle, 64), -1, 'a new room: no worker of its own');
});

test('steady utilization: a one-second burst moves it by a quarter, a lasting load reaches ROOM_KEEP_LOAD in seconds', () => {
  let u = smoothedUtilization(0, 0.77); // the report of a meeting's join burst
  assert.ok(Math.abs(u - 0.1925) < 1e-9);
  u = smoothedUtilization(u, 0.4);
  assert.ok(u < ROOM_KEEP_LOAD, `after the burst the room's own load: ${u}`);
  let lasting = 0;
  let seconds = 0;
  while (lasting < ROOM_KEEP_LOAD) {
    lasting = smoothedUtilization(lasting, 0.8);
    seconds++;
  }
  assert.ok(seconds <= 4, `a worker 80% busy counts as past the limit after ${seconds} reports`);
});

test("roomWorker weighs a worker's steady utilization when it has one, not its last report", () => {
  const burst = { ...worker(0, 18, 0.77, 17), steadyUtilization: smoothedUtilization(0, 0.77) };
  assert.equal(roomWorker([[0, 18]], [burst, worker(1, 0, 0.01)], 64), 0, 'a join burst (77% in one report) keeps the room');
  assert.equal(roomWorker([[0, 18]], [{ ...burst, steadyUtilization: 0.6 }, worker(1, 0, 0.01)], 64), -1, 'a lasting load spans it');
});
