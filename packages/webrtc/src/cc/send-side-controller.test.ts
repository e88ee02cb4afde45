import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../clock.js';
import { SendHistory } from '../stages/header-stamp-stage.js';
import type { TransportWideFeedback } from '../rtp/index.js';
import { SendSideController } from './send-side-controller.js';

/**
 * A sender of 1200-byte packets at `sendBps` through a link of `capacityBps` (a FIFO queue): records each send in the
 * history and, every 50 ms, hands the controller TWCC feedback built from the arrival times the queue gives.
 */
function drive(c: SendSideController, clock: ManualClock, history: SendHistory, state: { seq: number; linkFreeMs: number; reported: number; arrivals: Map<number, number> },
  o: { ms: number; sendBps: number; capacityBps: number }): void {
  const size = 1200;
  const gapMs = (size * 8 * 1000) / o.sendBps;
  const arrivals = state.arrivals;
  const endMs = clock.nowMs() + o.ms;
  let nextSendMs = clock.nowMs();
  let nextFeedbackMs = clock.nowMs() + 50;
  while (clock.nowMs() < endMs) {
    const now = clock.nowMs();
    while (nextSendMs <= now) {
      history.record(state.seq, now, size);
      const start = Math.max(now, state.linkFreeMs);
      state.linkFreeMs = start + (size * 8 * 1000) / o.capacityBps;
      arrivals.set(state.seq, state.linkFreeMs + 20);
      state.seq++;
      nextSendMs += gapMs;
    }
    if (now >= nextFeedbackMs) {
      nextFeedbackMs += 50;
      const first = state.reported;
      let last = first;
      while (last < state.seq && (arrivals.get(last) ?? Infinity) <= now) last++;
      if (last > first) {
        const packets = [];
        const refMs = Math.floor(arrivals.get(first)! / 64) * 64;
        let prevUs = refMs * 1000;
        for (let s = first; s < last; s++) {
          const us = Math.round(arrivals.get(s)! * 4) * 250;
          packets.push({ seq: s & 0xffff, received: true, deltaUs: us - prevUs });
          prevUs = us;
        }
        const fb: TransportWideFeedback = { type: 'twcc', senderSsrc: 1, mediaSsrc: 2, baseSeq: first & 0xffff, packetStatusCount: packets.length, referenceTimeMs: refMs, fbPktCount: 0, packets };
        c.onTransportFeedback(fb);
        state.reported = last;
      }
    }
    clock.advance(1);
  }
}

test('no estimate until a second of feedback; then at least the start rate; a capacity drop brings it down and says so', () => {
  const clock = new ManualClock();
  const history = new SendHistory();
  let drops = 0;
  const c = new SendSideController({ clock, history, onEstimateDrop: () => drops++ });
  const state = { seq: 0, linkFreeMs: 0, reported: 0, arrivals: new Map<number, number>() };
  drive(c, clock, history, state, { ms: 500, sendBps: 2_000_000, capacityBps: 10_000_000 });
  assert.equal(c.estimateBps(), Infinity, "still warming up");
  drive(c, clock, history, state, { ms: 1500, sendBps: 2_000_000, capacityBps: 10_000_000 });
  const warm = c.estimateBps();
  assert.ok(warm >= 1_900_000 && warm < 4_000_000, `starts from what arrived (2 Mbps): ${warm}`);
  drive(c, clock, history, state, { ms: 3000, sendBps: 2_000_000, capacityBps: 600_000 });
  const capped = c.estimateBps();
  assert.ok(capped < 800_000, `follows the 600 kbps link down: ${capped}`);
  assert.ok(drops > 0, 'the drop was signalled');
  assert.equal(c.feedbackStats.packetsUnknown, 0);
});

test('a narrow link from the start: the estimate starts no lower than 1 Mbps and comes down within seconds', () => {
  const clock = new ManualClock();
  const history = new SendHistory();
  const c = new SendSideController({ clock, history });
  const state = { seq: 0, linkFreeMs: 0, reported: 0, arrivals: new Map<number, number>() };
  drive(c, clock, history, state, { ms: 1500, sendBps: 1_500_000, capacityBps: 400_000 });
  assert.ok(c.estimateBps() >= 1_000_000, `start: ${c.estimateBps()}`);
  drive(c, clock, history, state, { ms: 4000, sendBps: 1_500_000, capacityBps: 400_000 });
  assert.ok(c.estimateBps() < 600_000, `after 4 s: ${c.estimateBps()}`);
});

test('probe requests go to the pacer, not while one runs; RTT reaches the estimator', () => {
  const clock = new ManualClock();
  const calls: number[] = [];
  let probing = false;
  const pacer = {
    get isProbing() { return probing; },
    setRateBps() {},
    startProbe(req: { targetBps: number }) { calls.push(req.targetBps); probing = true; return true; },
    stopProbe() { probing = false; },
  };
  const c = new SendSideController({ clock, history: new SendHistory(), pacer: pacer as never });
  assert.equal(c.probe(2_000_000), true);
  assert.equal(c.probe(3_000_000), false, 'one at a time');
  probing = false;
  assert.equal(c.probe(3_000_000), true);
  assert.deepEqual(calls, [2_000_000, 3_000_000]);
  c.onRtt(120);
  c.close();
  assert.equal(c.probe(1), false, 'closed');
});
