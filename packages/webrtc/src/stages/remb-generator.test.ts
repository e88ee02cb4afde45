import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../clock.js';
import { silentLogger } from '../logger.js';
import { ABS_SEND_TIME_UNITS_PER_S, createRtpHeader, parseRtcp, parseRtpHeader, serializeRtpPacket, type Remb } from '../rtp/index.js';
import { StageScheduler } from './stage-scheduler.js';
import { RembGenerator, type RembGeneratorOptions } from './remb-generator.js';
import type { StageContext } from './rtp-stage.js';

const LOCAL_SSRC = 0xabcd;
const MEDIA_SSRC = 0x1111;

interface Sent { atMs: number; remb: Remb }

function setup(opts: RembGeneratorOptions = {}): { clock: ManualClock; gen: RembGenerator; sent: Sent[] } {
  const clock = new ManualClock();
  const sent: Sent[] = [];
  const ctx: StageContext = {
    clock, logger: silentLogger, scheduler: new StageScheduler({ clock }), localSsrc: LOCAL_SSRC,
    sendRtcp: () => assert.fail('REMB goes out as bytes'),
    sendRtcpBytes: (buf) => {
      const pkts = parseRtcp(buf);
      assert.equal(pkts.length, 1);
      assert.equal(pkts[0]!.type, 'remb');
      sent.push({ atMs: clock.nowMs(), remb: pkts[0] as Remb });
    },
  };
  const gen = new RembGenerator(ctx, { mediaSsrcs: () => [MEDIA_SSRC], ...opts });
  gen.setExtensionId(2);
  return { clock, gen, sent };
}

/** abs-send-time of a send time in ms (24 bits: wraps every 64 s). */
function absSendTime(sendMs: number): number {
  return Math.floor((sendMs * ABS_SEND_TIME_UNITS_PER_S) / 1000) & 0xffffff;
}

interface LinkOptions {
  /** Sender rate (bps) and packet size. */
  sendBps: number;
  packetBytes?: number;
  /** Bottleneck capacity (bps) as a function of time; a FIFO in front of it (drop-tail over `queueLimitMs`). */
  capacityBps: (nowMs: number) => number;
  baseDelayMs?: number;
  queueLimitMs?: number;
  /** The sender's clock starts here (abs-send-time offset; e.g. near the 64 s wrap). */
  sendClockOffsetMs?: number;
}

/**
 * Runs `durationMs` of a paced sender through a FIFO bottleneck into the generator, 1 ms steps of the manual clock;
 * packets are handed over when they arrive. Returns the REMBs sent meanwhile.
 */
function runLink(s: ReturnType<typeof setup>, link: LinkOptions, durationMs: number): void {
  const size = link.packetBytes ?? 1200;
  const gapMs = (size * 8 * 1000) / link.sendBps;
  const base = link.baseDelayMs ?? 20;
  const queueLimitMs = link.queueLimitMs ?? 2000;
  const offset = link.sendClockOffsetMs ?? 0;
  const state = (s as unknown as { link?: { nextSendMs: number; linkFreeMs: number; inFlight: number[] } });
  state.link ??= { nextSendMs: s.clock.nowMs(), linkFreeMs: 0, inFlight: [] };
  const st = state.link;
  const end = s.clock.nowMs() + durationMs;
  while (s.clock.nowMs() < end) {
    const now = s.clock.nowMs();
    while (st.nextSendMs <= now) {
      const sendMs = st.nextSendMs;
      st.nextSendMs += gapMs;
      const start = Math.max(sendMs, st.linkFreeMs);
      if (start - sendMs > queueLimitMs) continue; // dropped at the tail
      st.linkFreeMs = start + (size * 8 * 1000) / link.capacityBps(sendMs);
      st.inFlight.push(sendMs, st.linkFreeMs + base);
    }
    let i = 0;
    while (i < st.inFlight.length && st.inFlight[i + 1]! <= now) {
      s.gen.record(absSendTime(st.inFlight[i]! + offset), st.inFlight[i + 1]!, size, MEDIA_SSRC);
      i += 2;
    }
    if (i > 0) st.inFlight.splice(0, i);
    s.clock.advance(1);
  }
}

test('REMB: a steady clean link keeps the estimate at or above the incoming rate; one REMB a second', () => {
  const s = setup();
  runLink(s, { sendBps: 2_000_000, capacityBps: () => 10_000_000 }, 10_000);
  assert.equal(s.gen.delayState, 'normal');
  const incoming = s.gen.incomingBps;
  assert.ok(Math.abs(incoming - 2_000_000) < 100_000, `incoming ${incoming}`);
  assert.ok(s.sent.length >= 8 && s.sent.length <= 10, `${s.sent.length} REMBs in 10 s`);
  // The first REMB after the 1 s warm-up, then one a second: the gaps are the interval (to the 100 ms update tick).
  assert.ok(s.sent[0]!.atMs >= 1000 && s.sent[0]!.atMs <= 1200, `first at ${s.sent[0]!.atMs}`);
  for (let i = 1; i < s.sent.length; i++) {
    const gap = s.sent[i]!.atMs - s.sent[i - 1]!.atMs;
    assert.ok(gap >= 1000 && gap <= 1100, `gap ${gap} ms`);
  }
  for (const r of s.sent) {
    assert.ok(r.remb.bitrateBps >= 0.97 * 2_000_000, `REMB ${r.remb.bitrateBps} at ${r.atMs} ms below the incoming rate`);
    assert.equal(r.remb.senderSsrc, LOCAL_SSRC);
    assert.deepEqual(r.remb.ssrcs, [MEDIA_SSRC]);
  }
  assert.equal(s.gen.rembsSent, s.sent.length);
  // The wire format keeps 18 bits of mantissa.
  assert.ok(Math.abs(s.gen.lastRembBps - s.sent.at(-1)!.remb.bitrateBps) <= s.gen.lastRembBps / 2 ** 17);
});

test('REMB: a capacity drop (2 Mbit/s sent into a 500 kbit/s FIFO) brings the REMB below 600 kbit/s within 2 s, at once', () => {
  const s = setup();
  let capacityBps = 10_000_000;
  const link: LinkOptions = { sendBps: 2_000_000, capacityBps: () => capacityBps };
  runLink(s, link, 5000);
  const before = s.sent.at(-1)!.remb.bitrateBps;
  assert.ok(before >= 2_000_000, `before the drop ${before}`);
  const dropAtMs = s.clock.nowMs();
  const sentBefore = s.sent.length;
  capacityBps = 500_000;
  runLink(s, link, 3000);
  const after = s.sent.slice(sentBefore);
  const low = after.find((r) => r.remb.bitrateBps < 600_000);
  assert.ok(low !== undefined, `REMBs after the drop: ${after.map((r) => `${r.atMs - dropAtMs}ms:${r.remb.bitrateBps}`).join(' ')}`);
  assert.ok(low.atMs - dropAtMs <= 2000, `below 600 kbit/s ${low.atMs - dropAtMs} ms after the drop`);
  assert.ok(low.remb.bitrateBps >= 300_000, `not far below the capacity: ${low.remb.bitrateBps}`);
  // Decreases went out at once, not on the 1 s schedule: some REMBs less than a second apart.
  const gaps = after.map((r, i) => r.atMs - (i === 0 ? s.sent[sentBefore - 1]!.atMs : after[i - 1]!.atMs));
  assert.ok(gaps.some((g) => g < 1000), `gaps ${gaps.join(',')}`);
  for (let i = 0; i < after.length; i++) {
    const prev = i === 0 ? s.sent[sentBefore - 1]! : after[i - 1]!;
    if (after[i]!.atMs - prev.atMs < 1000) assert.ok(after[i]!.remb.bitrateBps < 0.97 * prev.remb.bitrateBps, 'only a >3% drop goes out early');
  }
});

test('REMB: an immediate one when the estimate falls by more than 3%, none early for a smaller fall', () => {
  const s = setup({ updateIntervalMs: 100 });
  const link: LinkOptions = { sendBps: 1_500_000, capacityBps: () => 10_000_000 };
  runLink(s, link, 2500);
  // Up to just after a periodic REMB: the next is a second away.
  const periodic = s.sent.length;
  while (s.sent.length === periodic) runLink(s, link, 1);
  const n = s.sent.length;
  const last = s.sent.at(-1)!;
  const ctl = (s.gen as unknown as { delay: { rateControl: { setEstimate(bps: number, nowMs: number): void } } }).delay.rateControl;
  // 2% lower: waits for the interval.
  ctl.setEstimate(last.remb.bitrateBps * 0.98, s.clock.nowMs());
  const t0 = s.clock.nowMs();
  runLink(s, link, 200);
  assert.equal(s.sent.length, n, 'a 2% fall waits for the next periodic REMB');
  // 5% lower than the last sent: at the next update tick.
  ctl.setEstimate(last.remb.bitrateBps * 0.95, s.clock.nowMs());
  runLink(s, link, 150);
  assert.equal(s.sent.length, n + 1, 'a 5% fall goes out at once');
  assert.ok(s.sent.at(-1)!.atMs - t0 < 400 && s.sent.at(-1)!.atMs - last.atMs < 1000);
  assert.ok(s.sent.at(-1)!.remb.bitrateBps <= last.remb.bitrateBps * 0.96);
});

test('REMB: the send times unwrap across the 64 s abs-send-time wrap', () => {
  const s = setup();
  // The sender's clock is 2 s before a wrap: the link runs 6 s across it.
  runLink(s, { sendBps: 1_000_000, capacityBps: () => 10_000_000, sendClockOffsetMs: 62_000 }, 6000);
  assert.equal(s.gen.delayState, 'normal', 'no jump in the send times: no over- or under-use');
  assert.ok(s.sent.length >= 4);
  for (const r of s.sent) assert.ok(r.remb.bitrateBps >= 970_000, `REMB ${r.remb.bitrateBps}`);
});

test('REMB: reads the abs-send-time element of the negotiated id; nothing without it, nothing once turned off', () => {
  const s = setup();
  const h = createRtpHeader();
  const packet = (id: number, sendMs: number, seq: number): Buffer => {
    const v = absSendTime(sendMs);
    const buf = serializeRtpPacket({
      payloadType: 96, sequenceNumber: seq, timestamp: seq * 3000, ssrc: MEDIA_SSRC,
      extensions: [{ id, value: Uint8Array.of(v >>> 16, (v >>> 8) & 0xff, v & 0xff) }], payload: Buffer.alloc(1000),
    });
    assert.ok(parseRtpHeader(buf, h));
    return buf;
  };
  for (let i = 0; i < 10; i++) s.gen.recordRtp(packet(3, i * 5, i), h, i * 5);
  assert.equal(s.gen.packetsRecorded, 0, 'another id: not read');
  for (let i = 0; i < 10; i++) s.gen.recordRtp(packet(2, i * 5, i), h, i * 5);
  assert.equal(s.gen.packetsRecorded, 10);
  s.gen.setExtensionId(0);
  assert.equal(s.gen.nextDeadlineMs(), Infinity);
  s.gen.recordRtp(packet(2, 60, 11), h, 60);
  assert.equal(s.gen.packetsRecorded, 10);
  s.clock.advance(3000);
  assert.equal(s.sent.length, 0);
  s.gen.close();
  s.gen.setExtensionId(2);
  assert.equal(s.gen.extensionId, 0, 'closed stays off');
});
