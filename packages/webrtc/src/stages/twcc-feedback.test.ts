import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../clock.js';
import { silentLogger } from '../logger.js';
import { createRtpHeader, parseRtcp, parseRtpHeader, serializeRtpPacket, type TransportWideFeedback } from '../rtp/index.js';
import { StageScheduler } from './stage-scheduler.js';
import { TwccFeedbackGenerator, type TwccFeedbackOptions } from './twcc-feedback.js';
import type { StageContext } from './rtp-stage.js';

const LOCAL_SSRC = 0xabcd;

interface Sent { atMs: number; bytes: number; fb: TransportWideFeedback }

function setup(opts: TwccFeedbackOptions = {}): { clock: ManualClock; gen: TwccFeedbackGenerator; sent: Sent[] } {
  const clock = new ManualClock();
  const sent: Sent[] = [];
  const ctx: StageContext = {
    clock, logger: silentLogger, scheduler: new StageScheduler({ clock }), localSsrc: LOCAL_SSRC,
    sendRtcp: () => assert.fail('feedback goes out as bytes'),
    sendRtcpBytes: (buf) => {
      const pkts = parseRtcp(buf);
      assert.equal(pkts.length, 1);
      const fb = pkts[0]!;
      assert.equal(fb.type, 'twcc');
      sent.push({ atMs: clock.nowMs(), bytes: buf.length, fb: fb as TransportWideFeedback });
    },
  };
  const gen = new TwccFeedbackGenerator(ctx, opts);
  gen.setExtensionId(3);
  return { clock, gen, sent };
}

/** What the sender reads from feedback: seq (16-bit) -> arrival µs, or null for "not received", in report order. */
function decode(fbs: readonly TransportWideFeedback[]): { seq: number; arrivalUs: number | null }[] {
  const out: { seq: number; arrivalUs: number | null }[] = [];
  for (const fb of fbs) {
    let t = fb.referenceTimeMs * 1000;
    for (const p of fb.packets) {
      if (!p.received) {
        out.push({ seq: p.seq, arrivalUs: null });
        continue;
      }
      t += p.deltaUs!;
      out.push({ seq: p.seq, arrivalUs: t });
    }
  }
  return out;
}

/** Records [seq, arrivalMs] pairs (arrival times given directly; the clock is not moved), then runs the timer. */
function feed(s: ReturnType<typeof setup>, arrivals: readonly (readonly [number, number])[], ssrc = 0x1111): void {
  for (const [seq, atMs] of arrivals) s.gen.record(seq, atMs, ssrc);
}

function assertArrivals(got: { seq: number; arrivalUs: number | null }[], want: readonly (readonly [number, number | null])[]): void {
  assert.deepEqual(got.map((g) => g.seq), want.map((w) => w[0]), 'reported sequence numbers');
  for (let i = 0; i < want.length; i++) {
    const w = want[i]![1];
    const g = got[i]!.arrivalUs;
    if (w === null) assert.equal(g, null, `seq ${want[i]![0]} not received`);
    else assert.ok(g !== null && Math.abs(g - w * 1000) <= 125, `seq ${want[i]![0]}: reported ${g} µs, arrived ${w * 1000} µs`);
  }
}

const table: { name: string; arrivals: [number, number][]; want: [number, number | null][]; packets?: number }[] = [
  {
    name: 'in order',
    arrivals: [[0, 1000.3], [1, 1001.1], [2, 1005], [3, 1005], [4, 1070.9]],
    want: [[0, 1000.3], [1, 1001.1], [2, 1005], [3, 1005], [4, 1070.9]],
  },
  {
    name: 'reordered (a negative delta is a large symbol)',
    arrivals: [[10, 2000], [11, 2001], [13, 2002], [12, 2004.5], [14, 2005]],
    want: [[10, 2000], [11, 2001], [12, 2004.5], [13, 2002], [14, 2005]],
  },
  {
    name: 'lost runs (short, and a long run-length one); trailing losses are not reported yet',
    arrivals: [[0, 10], [1, 11], [3, 12], [40, 20], [41, 21]],
    want: [[0, 10], [1, 11], [2, null], [3, 12], ...Array.from({ length: 36 }, (_, i): [number, null] => [4 + i, null]), [40, 20], [41, 21]],
  },
  {
    name: 'wrap at 65535',
    arrivals: [[65533, 500], [65534, 501], [65535, 502], [0, 503], [1, 504], [3, 505]],
    want: [[65533, 500], [65534, 501], [65535, 502], [0, 503], [1, 504], [2, null], [3, 505]],
  },
  {
    name: 'duplicates keep the first arrival',
    arrivals: [[7, 100], [8, 101], [7, 102], [9, 103], [8, 104]],
    want: [[7, 100], [8, 101], [9, 103]],
  },
  {
    name: 'a gap over 8.19 s (beyond a 16-bit delta) starts a new feedback packet',
    arrivals: [[0, 1], [1, 2], [2, 10_000], [3, 10_001]],
    want: [[0, 1], [1, 2], [2, 10_000], [3, 10_001]],
    packets: 2,
  },
  {
    name: 'a reordered packet 9 s earlier (a negative delta beyond 16 bits) starts a new feedback packet',
    arrivals: [[1, 9500], [0, 500], [2, 9501]],
    want: [[0, 500], [1, 9500], [2, 9501]],
    packets: 2,
  },
];

for (const row of table) {
  test(`twcc feedback: ${row.name}`, () => {
    const s = setup({ intervalMs: 50 });
    feed(s, row.arrivals);
    s.clock.advance(1);
    assert.equal(s.sent.length, row.packets ?? 1, 'feedback packets');
    assertArrivals(decode(s.sent.map((x) => x.fb)), row.want);
    for (const [i, x] of s.sent.entries()) {
      assert.equal(x.fb.senderSsrc, LOCAL_SSRC);
      assert.equal(x.fb.mediaSsrc, 0x1111);
      assert.equal(x.fb.fbPktCount, i);
    }
  });
}

test('twcc feedback: the reference time is the first arrival rounded down to 64 ms', () => {
  const s = setup();
  feed(s, [[0, 1000.3], [1, 1100]]);
  s.clock.advance(1);
  const fb = s.sent[0]!.fb;
  assert.equal(fb.referenceTimeMs, 960);
  assert.equal(fb.packets[0]!.deltaUs, 40_250); // 40.3 ms in 250 µs units, a large symbol (> 255 units)
  // 24-bit reference wraps: arrival after 2^24 * 64 ms.
  const late = setup();
  feed(late, [[0, 2 ** 24 * 64 + 130]]);
  late.clock.advance(1);
  assert.equal(late.sent[0]!.fb.referenceTimeMs, 128);
  assert.equal(late.sent[0]!.fb.packets[0]!.deltaUs, 2000);
});

test('twcc feedback: rounding to 250 µs does not add up over many packets', () => {
  const s = setup();
  const arrivals: [number, number][] = [];
  for (let i = 0; i < 200; i++) arrivals.push([i, 3 + i * 0.1]); // 100 µs apart: every delta rounds
  feed(s, arrivals);
  s.clock.advance(1);
  assertArrivals(decode(s.sent.map((x) => x.fb)), arrivals);
});

test('twcc feedback: a packet late after its number was reported lost is reported again from there', () => {
  const s = setup();
  feed(s, [[0, 10], [1, 11], [3, 12]]);
  s.clock.advance(20);
  assertArrivals(decode([s.sent[0]!.fb]), [[0, 10], [1, 11], [2, null], [3, 12]]);
  feed(s, [[2, 30], [4, 31]]);
  s.clock.advance(100);
  assert.equal(s.sent.length, 2);
  assert.equal(s.sent[1]!.fb.baseSeq, 2);
  assertArrivals(decode([s.sent[1]!.fb]), [[2, 30], [3, 12], [4, 31]]);
});

test('twcc feedback: a big burst is split into packets within the size limit, covering every number once', () => {
  const s = setup({ maxFeedbackBytes: 300, urgentPackets: 100_000 });
  const arrivals: [number, number][] = [];
  for (let i = 0; i < 3000; i++) if (i % 17 !== 5) arrivals.push([(60_000 + i) & 0xffff, 1 + i * 0.05]);
  feed(s, arrivals);
  s.clock.advance(1);
  assert.ok(s.sent.length > 10, `${s.sent.length} packets`);
  for (const x of s.sent) assert.ok(x.bytes <= 300, `${x.bytes} bytes`);
  const got = decode(s.sent.map((x) => x.fb));
  assert.equal(got.length, 3000 - 0); // every number from the first to the last, lost ones included
  const byArrival = new Map(arrivals.map(([seq, ms]) => [seq, ms]));
  for (const g of got) {
    const ms = byArrival.get(g.seq);
    if (ms === undefined) assert.equal(g.arrivalUs, null);
    else assert.ok(g.arrivalUs !== null && Math.abs(g.arrivalUs - ms * 1000) <= 125);
  }
  // Consecutive packets continue where the last one ended.
  for (let i = 1; i < s.sent.length; i++) {
    const prev = s.sent[i - 1]!.fb;
    assert.equal(s.sent[i]!.fb.baseSeq, (prev.baseSeq + prev.packetStatusCount) & 0xffff);
  }
});

test('twcc feedback: the feedback packet count is 8 bits and wraps', () => {
  const s = setup();
  for (let i = 0; i < 300; i++) {
    s.gen.record(i, s.clock.nowMs(), 1);
    s.clock.advance(50);
  }
  assert.equal(s.sent.length, 300);
  assert.deepEqual(s.sent.slice(254, 259).map((x) => x.fb.fbPktCount), [254, 255, 0, 1, 2]);
});

test('twcc feedback: every 50 ms while packets arrive, none when idle; sooner when many are pending', () => {
  const s = setup({ intervalMs: 50, urgentPackets: 200 });
  let seq = 0;
  for (let t = 0; t < 1000; t += 10) {
    s.gen.record(seq++, s.clock.nowMs(), 1);
    s.clock.advance(10);
  }
  const times = s.sent.map((x) => x.atMs);
  assert.equal(times[0], 0, 'the first packet after idle is reported at once');
  for (let i = 1; i < times.length; i++) assert.equal(times[i]! - times[i - 1]!, 50);
  assert.equal(s.sent.length, 21); // at 0, 50, ..., 1000 ms
  assert.equal(decode(s.sent.map((x) => x.fb)).length, 100);
  assert.equal(s.gen.pendingPackets, 0);
  const before = s.sent.length;
  s.clock.advance(5000);
  assert.equal(s.sent.length, before, 'no feedback without packets');
  // 250 packets in 1 ms: feedback goes at the 200th, not 50 ms later.
  s.clock.advance(100);
  s.gen.record(seq++, s.clock.nowMs(), 1);
  s.clock.advance(10);
  const t0 = s.clock.nowMs();
  for (let i = 0; i < 250; i++) s.gen.record(seq++, t0, 1);
  s.clock.advance(1);
  assert.equal(s.sent.at(-1)!.atMs, t0);
  assert.equal(s.gen.pendingPackets, 0);
  assert.equal(s.gen.packetsRecorded, seq);
  assert.equal(s.gen.feedbackPacketsSent, s.sent.length);
});

test('twcc feedback: reported packets are forgotten after 500 ms; a late one from before then is dropped', () => {
  const s = setup({ backWindowMs: 500 });
  feed(s, [[0, 0], [1, 1], [3, 2]]);
  s.clock.advance(10);
  feed(s, [[4, 600], [5, 601]]);
  s.clock.advance(700);
  assert.equal(s.sent.length, 2);
  feed(s, [[2, 700], [1, 700]]); // 2 was lost, 1 a duplicate: both from before the window
  feed(s, [[6, 702]]);
  s.clock.advance(100);
  assert.equal(s.gen.stalePackets, 2);
  assertArrivals(decode([s.sent[2]!.fb]), [[6, 702]]);
});

test('twcc feedback: the media SSRC is the SSRC of the last packet recorded', () => {
  const s = setup();
  s.gen.record(0, 1, 0x1111);
  s.gen.record(1, 2, 0x2222);
  s.clock.advance(1);
  assert.equal(s.sent[0]!.fb.mediaSsrc, 0x2222);
});

test('twcc feedback: only packets carrying the negotiated extension (2 bytes) are recorded; none once closed', () => {
  const s = setup();
  const h = createRtpHeader();
  const packet = (seq: number, extensions: { id: number; value: Uint8Array }[]): Buffer => {
    const buf = serializeRtpPacket({ payloadType: 96, sequenceNumber: 1, timestamp: 0, ssrc: 0x1111, extensions, payload: Uint8Array.of(1) });
    assert.ok(parseRtpHeader(buf, h));
    return buf;
  };
  const record = (buf: Buffer): void => {
    assert.ok(parseRtpHeader(buf, h));
    s.gen.recordRtp(buf, h, s.clock.nowMs());
  };
  record(packet(0, [{ id: 3, value: Uint8Array.of(0x12, 0x34) }]));
  record(packet(0, [{ id: 2, value: Uint8Array.of(1, 2, 3) }, { id: 3, value: Uint8Array.of(0x12, 0x35) }]));
  record(packet(0, []));
  record(packet(0, [{ id: 4, value: Uint8Array.of(0x12, 0x36) }]));
  record(packet(0, [{ id: 3, value: Uint8Array.of(0x12, 0x37, 0) }]));
  assert.equal(s.gen.packetsRecorded, 2);
  s.clock.advance(1);
  assert.deepEqual(decode(s.sent.map((x) => x.fb)).map((g) => g.seq), [0x1234, 0x1235]);
  s.gen.setExtensionId(0);
  record(packet(0, [{ id: 3, value: Uint8Array.of(0x12, 0x38) }]));
  assert.equal(s.gen.packetsRecorded, 2);
  s.gen.setExtensionId(3);
  s.gen.close();
  assert.equal(s.gen.extensionId, 0, 'closed stays off');
  s.gen.setExtensionId(3);
  assert.equal(s.gen.extensionId, 0);
  s.gen.record(0x1239, 1, 1);
  s.clock.advance(1000);
  assert.equal(s.sent.length, 1);
  assert.equal(s.clock.pendingTimers, 0);
});
