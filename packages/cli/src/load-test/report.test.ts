// Load-test accounting: loss from sequence numbers, latency percentiles, merging re-subscriptions, the verdict
// (--max-loss, failed joins, subscribers that got nothing), the table and the JSON.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LatencyHistogram, SubscriptionStats, percentile } from './stats.js';
import { buildReport, subscriptionKey, formatBitrate, formatReport, reportJson } from './report.js';
import type { ReportInput, SubscriptionRecord } from './report.js';
import { mergeSubscriptions } from './runner.js';
import { RtpStreamWriter, opusPacket, wallClockMs } from './packetizer.js';

test('subscription stats: packets, bytes, frames, loss from the extended sequence span, latency from the trailer', () => {
  const s = new SubscriptionStats('sub', 'TR_a', 0);
  const w = new RtpStreamWriter({ ssrc: 1, payloadType: 111, extensions: Buffer.alloc(0) });
  const seqs = [100, 101, 103, 102, 106, 107]; // 104 and 105 never come; 102 late
  for (const [i, seq] of seqs.entries()) {
    const buf = opusPacket(w, { payloadBytes: 80, timestamp: 0, sentAtMs: wallClockMs() - 3 });
    s.onRtp(buf, 12, 80, seq, i % 2 === 1, 1000 + i * 20);
  }
  assert.equal(s.packets, 6);
  assert.equal(s.bytes, 6 * 92);
  assert.equal(s.frames, 3);
  assert.equal(s.expected, 8);
  assert.equal(s.lost, 2);
  assert.equal(s.spanMs, 100);
  assert.equal(s.latency.count, 6);
  assert.ok(s.latency.percentile(50) >= 3 && s.latency.percentile(50) < 4, `latency ${s.latency.percentile(50)}`);
  const none = new SubscriptionStats('sub', 'TR_b', 0);
  assert.equal(none.expected, 0);
  assert.equal(none.lost, 0);
});

test('subscription stats: a packet not decrypted counts for packets, bytes, frames and loss, not for latency', () => {
  const s = new SubscriptionStats('sub', 'TR_a', 0);
  const w = new RtpStreamWriter({ ssrc: 1, payloadType: 111, extensions: Buffer.alloc(0) });
  for (let seq = 0; seq < 32; seq++) {
    const buf = opusPacket(w, { payloadBytes: 80, timestamp: 0, sentAtMs: wallClockMs() - 3 });
    const isDecrypted = seq % 16 === 0;
    if (!isDecrypted) buf.fill(0xa5, 12); // ciphertext: no trailer to read
    if (seq !== 7) s.onRtp(buf, 12, 80, seq, seq % 4 === 3, 1000 + seq * 20, isDecrypted);
  }
  assert.equal(s.packets, 31);
  assert.equal(s.packetsDecrypted, 2);
  assert.equal(s.bytes, 31 * 92);
  assert.equal(s.frames, 7);
  assert.equal(s.lost, 1, 'loss from the sequence numbers of every packet');
  assert.equal(s.latency.count, 2, 'latency from the decrypted sample');
  const [m] = mergeSubscriptions([s]);
  assert.equal(m!.packetsDecrypted, 2);
});

test('latency histogram and percentiles', () => {
  const h = new LatencyHistogram();
  assert.ok(Number.isNaN(h.percentile(50)));
  for (let i = 1; i <= 100; i++) h.add(i / 10); // 0.1 .. 10 ms
  assert.ok(Math.abs(h.percentile(50) - 5) <= 0.05, `p50 ${h.percentile(50)}`);
  assert.ok(Math.abs(h.percentile(99) - 9.9) <= 0.05, `p99 ${h.percentile(99)}`);
  for (let i = 0; i < 100; i++) h.add(1234.3);
  assert.equal(h.percentile(75), 1234.3, 'slow samples in 1 ms buckets, never above the maximum');
  h.add(60_000);
  assert.equal(h.percentile(100), 60_000, 'beyond 10 s: the maximum');
  assert.equal(h.percentile(99), 1234.5, 'the middle of its 1 ms bucket');
  const g = new LatencyHistogram();
  g.merge(h);
  assert.equal(g.count, 201);
  assert.equal(percentile([5, 1, 3], 50), 3);
  assert.equal(percentile([5, 1, 3, 9], 95), 9);
  assert.ok(Number.isNaN(percentile([], 50)));
});

test('a re-subscription (new stream) adds to the first record of that subscriber and track', () => {
  const a = new SubscriptionStats('s', 'T', 100);
  const b = new SubscriptionStats('s', 'T', 100);
  const buf = Buffer.alloc(50);
  a.onRtp(buf, 12, 38, 10, true, 300);
  a.onRtp(buf, 12, 38, 12, true, 400);
  b.onRtp(buf, 12, 38, 0, true, 900);
  const [m, ...rest] = mergeSubscriptions([a, b, new SubscriptionStats('t', 'T', 0)]);
  assert.equal(rest.length, 1);
  assert.equal(m!.packets, 3);
  assert.equal(m!.expected, 4);
  assert.equal(m!.lost, 1);
  assert.equal(m!.firstMediaMs, 200);
  assert.equal(rest[0]!.packets, 0);
  assert.ok(Number.isNaN(rest[0]!.firstMediaMs));
});

function sub(subscriber: string, trackSid: string, packets: number, lost: number, latencyMs = 1): SubscriptionRecord {
  const latency = new LatencyHistogram();
  for (let i = 0; i < packets; i++) latency.add(latencyMs);
  return { subscriber, trackSid, packets, bytes: packets * 1000, frames: packets / 5, expected: packets + lost, lost, spanMs: 10_000, firstMediaMs: 120, latency };
}

function input(subs: SubscriptionRecord[], over: Partial<ReportInput> = {}): ReportInput {
  return {
    room: 'r', url: 'http://h', mediaMs: 10_000, maxLossPct: 1,
    shape: { videoPublishers: 1, audioPublishers: 1, subscribers: 2, videoResolution: 'high', simulcast: true, durationSec: 10, numPerSecond: 5 },
    joins: [
      { identity: 'v', role: 'video-publisher', isJoined: true, joinMs: 200 },
      { identity: 'a', role: 'audio-publisher', isJoined: true, joinMs: 100 },
      { identity: 's1', role: 'subscriber', isJoined: true, joinMs: 20 },
      { identity: 's2', role: 'subscriber', isJoined: true, joinMs: 30 },
    ],
    tracks: [
      { sid: 'TR_v', publisher: 'v', kind: 'video', layers: ['q', 'h', 'f'], packetsSent: 3000, bytesSent: 3_000_000, framesSent: 900 },
      { sid: 'TR_a', publisher: 'a', kind: 'audio', layers: [''], packetsSent: 500, bytesSent: 50_000, framesSent: 500 },
    ],
    subscriptions: subs,
    tester: { cpuUserMs: 800, cpuSystemMs: 200, wallMs: 12_000 },
    ...over,
  };
}

test('report: per-track loss, bitrate, frame rate, latency; the summary; a pass', () => {
  const r = buildReport(input([sub('s1', 'TR_v', 1000, 0), sub('s2', 'TR_v', 990, 10, 3), sub('s1', 'TR_a', 500, 0), sub('s2', 'TR_a', 500, 0)]));
  assert.equal(r.isPassed, true, r.failures.join('; '));
  const v = r.tracks[0]!;
  assert.equal(v.receiving, 2);
  assert.equal(v.packetsReceived, 1990);
  assert.equal(v.packetsLost, 10);
  assert.equal(v.lossPct, 0.5);
  assert.equal(v.layers, 'q,h,f');
  assert.equal(v.bitrateBps, Math.round((1000 * 8000 / 10 + 990 * 8000 / 10) / 2));
  assert.equal(v.fps, 19.9);
  assert.equal(v.sendBitrateBps, 2_400_000);
  assert.ok(Math.abs(v.latencyMs.p50 - 1) <= 0.035, `p50 ${v.latencyMs.p50}`);
  assert.ok(Math.abs(v.latencyMs.p99 - 3) <= 0.035, `p99 ${v.latencyMs.p99}`);
  assert.equal(r.tracks[1]!.layers, 'single');
  assert.equal(r.tracks[1]!.fps, 50, 'audio: packets per second');
  assert.equal(r.summary.packetsSent, 3500);
  assert.equal(r.summary.packetsLost, 10);
  assert.equal(r.summary.lossPct, Number(((100 * 10) / 3000).toFixed(3)));
  assert.deepEqual(r.summary.subscriptions, { expected: 4, receiving: 4 });
  assert.deepEqual(r.participants, { expected: 4, joined: 4, failed: 0, joinMs: { p50: 30, p95: 200, max: 200 } });
  assert.equal(r.tester.cpuSec, 1);
  assert.equal(r.tester.cpuPctOfOneCore, 8.3);
  assert.equal(r.tester.cpuUsPerPacket, Number(((1000 * 1000) / (3500 + 2990)).toFixed(2)));
  const text = formatReport(r);
  assert.match(text, /^TRACK +PUBLISHER +KIND +LAYERS +SENT +SUBS +RECEIVED +LOSS +BITRATE\/SUB +FPS +FIRST MEDIA +LATENCY p50 \/ p99\n/);
  assert.match(text, /TR_v +v +video +q,h,f +3,000 +2\/2 +1,990 +0\.50% +796\.0 kbps +19\.9 +120 ms +1\.0 ms \/ 3\.0 ms/);
  assert.match(text, /tester CPU +1 s in 12 s \(8\.3% of one core\)/);
  assert.match(text, /\nPASS: loss 0\.33% <= 1%/);
  const json = JSON.parse(reportJson(r)) as { tracks: { perSubscriber: unknown[] }[]; isPassed: boolean };
  assert.equal(json.isPassed, true);
  assert.equal(json.tracks[0]!.perSubscriber.length, 2);
});

test('report: fails on loss above --max-loss, on a failed join, and on a subscriber that got nothing of a track', () => {
  const lossy = buildReport(input([sub('s1', 'TR_v', 900, 100), sub('s2', 'TR_v', 1000, 0), sub('s1', 'TR_a', 500, 0), sub('s2', 'TR_a', 500, 0)]));
  assert.equal(lossy.isPassed, false);
  assert.deepEqual(lossy.failures, ['packet loss 3.33% is above --max-loss 1%']);
  assert.match(formatReport(lossy), /\nFAIL: packet loss 3\.33% is above --max-loss 1%\n$/);
  assert.equal(buildReport(input(lossy.tracks.length ? [sub('s1', 'TR_v', 900, 100), sub('s2', 'TR_v', 1000, 0), sub('s1', 'TR_a', 500, 0), sub('s2', 'TR_a', 500, 0)] : [], { maxLossPct: 5 })).isPassed, true);

  const missingInput = input([sub('s1', 'TR_v', 1000, 0), sub('s1', 'TR_a', 500, 0), sub('s2', 'TR_a', 500, 0), { ...sub('s2', 'TR_v', 0, 0), firstMediaMs: NaN }]);
  const missing = buildReport(missingInput);
  assert.deepEqual(missing.failures, ['1 of 2 subscribers received nothing of video track TR_v from v (s2)']);
  missingInput.joins = missingInput.joins.map((j) => (j.identity === 's2' ? { ...j, diagnostics: 'subscriber PC connecting' } : j));
  assert.deepEqual(buildReport(missingInput).failures, ['1 of 2 subscribers received nothing of video track TR_v from v (s2; s2: subscriber PC connecting)']);
  assert.equal(missing.tracks[0]!.receiving, 1);

  const failedJoin = input([sub('s1', 'TR_v', 1000, 0), sub('s1', 'TR_a', 500, 0)]);
  failedJoin.joins = failedJoin.joins.map((j) => (j.identity === 's2' ? { identity: 's2', role: 'subscriber', isJoined: false, error: 'signalling rejected: HTTP 401' } : j));
  const r = buildReport(failedJoin);
  assert.deepEqual(r.failures, ['1 of 4 participants failed to join (s2: signalling rejected: HTTP 401)']);
  assert.equal(r.participants.failed, 1);
  assert.deepEqual(r.summary.subscriptions, { expected: 2, receiving: 2 }, 'only joined subscribers are expected to receive');
});

test("report: the tester's media-window cost, the decryption sample, and SRTP authentication failures as a failure", () => {
  const subs = [sub('s1', 'TR_v', 1000, 0), sub('s2', 'TR_v', 1000, 0), sub('s1', 'TR_a', 500, 0), sub('s2', 'TR_a', 500, 0)].map((s) => ({ ...s, packetsDecrypted: s.packets / 10 }));
  const media = { cpuMs: 300, wallMs: 10_000, packetsSent: 3000, packetsReceived: 27_000, loopDelayMs: { p99: 1.23, max: 4.5 } };
  const r = buildReport(input(subs, {
    tester: { cpuUserMs: 800, cpuSystemMs: 200, wallMs: 12_000, media },
    receive: { decryptEvery: 16, packetsNotDecrypted: 2700, authFailures: 0, replayed: 0 },
  }));
  assert.equal(r.isPassed, true, r.failures.join('; '));
  assert.deepEqual(r.tester.media, { cpuSec: 0.3, wallSec: 10, cpuPctOfOneCore: 3, packets: 30_000, cpuUsPerPacket: 10, loopDelayMs: { p99: 1.2, max: 4.5 }, isBusy: false });
  assert.deepEqual(r.receive, { decryptEvery: 16, packetsDecrypted: 300, packetsNotDecrypted: 2700, authFailures: 0, replayed: 0 });
  const text = formatReport(r);
  assert.match(text, /tester media +10 µs per packet sent or received while media flowed \(0\.3 s CPU in 10 s, 3% of one core, 30,000 packets; event-loop delay p99 1\.2 ms, max 4\.5 ms\)\n/);
  const busy = buildReport(input(subs, { tester: { cpuUserMs: 800, cpuSystemMs: 200, wallMs: 12_000, media: { ...media, cpuMs: 9000 } } }));
  assert.equal(busy.tester.media?.isBusy, true, '90% of one core');
  assert.match(formatReport(busy), /the tester was busy: loss and latency may be its own/);
  const late = buildReport(input(subs, { tester: { cpuUserMs: 800, cpuSystemMs: 200, wallMs: 12_000, media: { ...media, loopDelayMs: { p99: 35, max: 80 } } } }));
  assert.equal(late.tester.media?.isBusy, true, 'a late event loop');
  assert.match(text, /decryption +1 in 16 packets per stream authenticated and decrypted \(300, the rest counted from the clear header\); 0 failed authentication/);
  const bad = buildReport(input(subs, { receive: { decryptEvery: 16, packetsNotDecrypted: 2700, authFailures: 3, replayed: 0 } }));
  assert.equal(bad.isPassed, false);
  assert.deepEqual(bad.failures, ['3 received packets failed SRTP authentication']);
  assert.equal(buildReport(input(subs)).receive, undefined, 'absent when not given');
});

test('report JSON: nothing measured is null, not NaN', () => {
  const r = buildReport(input([], { joins: [], tracks: [] }));
  const json = JSON.parse(reportJson(r)) as { summary: { latencyMs: { p50: unknown } }; participants: { joinMs: { p50: unknown } } };
  assert.equal(json.summary.latencyMs.p50, null);
  assert.equal(json.participants.joinMs.p50, null);
  assert.equal(formatBitrate(1_234_567), '1.23 Mbps');
  assert.equal(formatBitrate(42_300), '42.3 kbps');
  assert.equal(formatBitrate(999), '999 bps');
});

test('report with --layout: a track a subscriber disabled (no tile) is not expected of it; one it shows still is', () => {
  const shape = { videoPublishers: 1, audioPublishers: 1, subscribers: 2, videoResolution: 'high', simulcast: true, durationSec: 10, numPerSecond: 5, layout: 'speaker' };
  const disabledSubscriptions = new Set([subscriptionKey('s2', 'TR_v')]);
  const r = buildReport(input([sub('s1', 'TR_v', 1000, 0), sub('s1', 'TR_a', 500, 0), sub('s2', 'TR_a', 500, 0)], { shape, disabledSubscriptions }));
  assert.equal(r.isPassed, true, r.failures.join('; '));
  assert.equal(r.tracks[0]!.subscribers, 1, 'only s1 shows the video');
  assert.deepEqual(r.summary.subscriptions, { expected: 3, receiving: 3 });
  assert.match(formatReport(r), /\nPASS: .* every track its speaker layout shows\n$/);
  const missing = buildReport(input([sub('s1', 'TR_a', 500, 0), sub('s2', 'TR_a', 500, 0)], { shape, disabledSubscriptions }));
  assert.deepEqual(missing.failures, ['1 of 1 subscribers received nothing of video track TR_v from v (s1)']);
});

test('report with --simulate-speakers: the requests and updates are reported; a subscriber that saw none fails the run', () => {
  const subs = [sub('s1', 'TR_v', 1000, 0), sub('s2', 'TR_v', 1000, 0), sub('s1', 'TR_a', 500, 0), sub('s2', 'TR_a', 500, 0)];
  const ok = buildReport(input(subs, { speakers: { requests: 2, updatesReceived: [4, 3] } }));
  assert.equal(ok.isPassed, true, ok.failures.join('; '));
  assert.deepEqual(ok.speakers, { requests: 2, subscribers: 2, subscribersUpdated: 2, updatesReceived: 7 });
  assert.match(formatReport(ok), /speakers +2 simulated speaker requests; 7 speaker updates received, by 2 of 2 subscribers/);
  const bad = buildReport(input(subs, { speakers: { requests: 2, updatesReceived: [4, 0] } }));
  assert.equal(bad.isPassed, false);
  assert.match(bad.failures.join('; '), /--simulate-speakers: 1 of 2 subscribers saw no speaker update after 2 requests/);
});
