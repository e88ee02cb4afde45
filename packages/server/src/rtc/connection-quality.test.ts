import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConnectionQuality, ParticipantInfo_State, SignalResponse, TrackInfo, TrackSource, TrackType } from '@livekit/protocol';
import type { ConnectionQualityInfo } from '@livekit/protocol';
import { ManualClock } from '@atrium/webrtc';
import { StreamQualityScorer, packetScore, scoreToMos, scoreToQuality, worstQuality } from './connection-quality.js';
import type { StreamQualitySample } from './connection-quality.js';
import { ConnectionQualityMonitor } from './connection-quality-monitor.js';
import type { ObservedParticipant } from './speaker-detector.js';
import type { MediaTrackSource } from './participant-media.js';

const Q = ConnectionQuality;

/** A publisher-side audio stream at 50 pkt/s that can lose packets and jitter, sampled every 5 s. */
class Stream {
  sample: StreamQualitySample;
  constructor(side: 'publisher' | 'subscriber' = 'publisher', kind: 'audio' | 'video' = 'audio') {
    this.sample = {
      key: 'k', side, kind, mimeType: kind === 'audio' ? 'audio/opus' : 'video/VP8', packetsExpected: 0, packetsLost: 0,
      jitterMs: 0, rttMs: 0, lastRtcpMs: -Infinity, packetsSent: 0, isMuted: false,
    };
  }
  /** 5 s of traffic with `lossPercent` lost; `rtcpAtMs` = when the last RTCP arrived. */
  window(lossPercent: number, opts: { jitterMs?: number; packets?: number; rtcpAtMs?: number } = {}): StreamQualitySample {
    const packets = opts.packets ?? 250;
    const s = this.sample;
    s.packetsExpected += packets;
    s.packetsLost += Math.round((packets * lossPercent) / 100);
    s.packetsSent = (s.packetsSent ?? 0) + packets;
    s.jitterMs = opts.jitterMs ?? 0;
    if (opts.rtcpAtMs !== undefined) s.lastRtcpMs = opts.rtcpAtMs;
    return { ...s };
  }
}

/** Feeds `windows` 5-second windows to a fresh scorer and returns the quality after each. */
function run(windows: Array<(st: Stream, nowMs: number) => StreamQualitySample>, stream = new Stream()): ConnectionQuality[] {
  const scorer = new StreamQualityScorer();
  let nowMs = 0;
  scorer.update({ ...stream.sample }, nowMs); // baseline
  return windows.map((w) => {
    nowMs += 5000;
    scorer.update(w(stream, nowMs), nowMs);
    return scorer.quality;
  });
}

test('score bands and MOS: >80 EXCELLENT, >40 GOOD, >20 POOR, else LOST; MOS 1..4.5', () => {
  assert.deepEqual([100, 81, 80, 41, 40, 21, 20, 0].map(scoreToQuality), [Q.EXCELLENT, Q.EXCELLENT, Q.GOOD, Q.GOOD, Q.POOR, Q.POOR, Q.LOST, Q.LOST]);
  assert.equal(scoreToMos(100), 4.5);
  assert.equal(scoreToMos(0), 1);
  assert.ok(scoreToMos(80) > 3.8 && scoreToMos(80) < 4.3);
});

test('packet score: opus loses 8 points per percent of loss; jitter adds delay', () => {
  assert.equal(packetScore({ packets: 100, lost: 0, jitterMs: 0, rttMs: 0, lossWeight: 8 }), 100);
  assert.equal(packetScore({ packets: 100, lost: 5, jitterMs: 0, rttMs: 0, lossWeight: 8 }), 60);
  assert.equal(packetScore({ packets: 100, lost: 0, jitterMs: 20, rttMs: 0, lossWeight: 8 }), 99);
  assert.equal(packetScore({ packets: 100, lost: 0, jitterMs: 100, rttMs: 0, lossWeight: 8 }), 92);
});

test('a clean stream stays EXCELLENT; loss drops it fast and it recovers slowly', () => {
  const clean = (st: Stream): StreamQualitySample => st.window(0);
  assert.deepEqual(run([clean, clean, clean]), [Q.EXCELLENT, Q.EXCELLENT, Q.EXCELLENT]);
  const lossy = (st: Stream): StreamQualitySample => st.window(5); // target 60: GOOD
  assert.deepEqual(run([lossy, lossy, clean, clean, clean]), [Q.GOOD, Q.GOOD, Q.GOOD, Q.EXCELLENT, Q.EXCELLENT]);
  const heavy = (st: Stream): StreamQualitySample => st.window(15); // target 0: floored at 30 -> POOR
  assert.deepEqual(run([heavy, heavy]), [Q.POOR, Q.POOR]);
});

test('large jitter alone degrades quality', () => {
  const jittery = (st: Stream): StreamQualitySample => st.window(0, { jitterMs: 150 }); // 300 ms delay -> 82
  const bad = (st: Stream): StreamQualitySample => st.window(0, { jitterMs: 310 }); // 620 ms delay -> 50
  const awful = (st: Stream): StreamQualitySample => st.window(0, { jitterMs: 500 }); // 1 s delay -> 12
  assert.deepEqual(run([jittery]), [Q.EXCELLENT]);
  assert.deepEqual(run([bad, bad]), [Q.GOOD, Q.GOOD]);
  assert.deepEqual(run([awful]), [Q.POOR]);
});

test('publisher side: no packets is POOR while its RTCP still arrives, LOST when that stops too', () => {
  const dryWithSr = (st: Stream, nowMs: number): StreamQualitySample => st.window(0, { packets: 0, rtcpAtMs: nowMs - 1000 });
  assert.deepEqual(run([dryWithSr]), [Q.POOR]);
  const silent = (st: Stream): StreamQualitySample => st.window(0, { packets: 0 });
  assert.deepEqual(run([(st) => st.window(0), silent]), [Q.EXCELLENT, Q.LOST]);
  const muted = (st: Stream): StreamQualitySample => ({ ...st.window(0, { packets: 0 }), isMuted: true });
  assert.deepEqual(run([muted, muted]), [Q.EXCELLENT, Q.EXCELLENT], 'a muted track sends nothing and is fine');
});

test('subscriber side scores from receiver reports; the first report is the baseline; none while not sending', () => {
  const sub = new Stream('subscriber', 'video');
  const report = (loss: number) => (st: Stream, nowMs: number): StreamQualitySample => st.window(loss, { rtcpAtMs: nowMs - 100 });
  const idle = (st: Stream): StreamQualitySample => ({ ...st.sample });
  // 4% video loss -> 60 (GOOD).
  assert.deepEqual(run([report(0), report(4), report(4), idle], sub), [Q.EXCELLENT, Q.GOOD, Q.GOOD, Q.GOOD]);
  const noReports = (st: Stream): StreamQualitySample => st.window(0);
  const qualities = run(Array.from({ length: 8 }, () => noReports), new Stream('subscriber'));
  assert.equal(qualities[4], Q.EXCELLENT, 'waits for reports');
  assert.equal(qualities[7], Q.POOR, 'streaming without any report for over 30 s');
});

test('subscriber video held below its request by bandwidth: one layer is at best GOOD, two or paused POOR', () => {
  const held = (layers: number) => (st: Stream, nowMs: number): StreamQualitySample => ({ ...st.window(0, { rtcpAtMs: nowMs - 100 }), heldBackLayers: layers });
  const paused = (st: Stream): StreamQualitySample => ({ ...st.sample, heldBackLayers: 3 });
  // The first report is the baseline; recovery is slow (0.4 of the way per window: 40 -> 64 -> 78, both GOOD).
  assert.deepEqual(run([held(0), held(0), held(1), held(1), held(2), held(0), held(0)], new Stream('subscriber', 'video')), [
    Q.EXCELLENT, Q.EXCELLENT, Q.GOOD, Q.GOOD, Q.POOR, Q.GOOD, Q.GOOD,
  ]);
  assert.deepEqual(run([held(0), held(0), paused], new Stream('subscriber', 'video')), [Q.EXCELLENT, Q.EXCELLENT, Q.POOR]);
});

test('worst stream decides; no streams is EXCELLENT at MOS 4.5', () => {
  assert.deepEqual(worstQuality([]), { quality: Q.EXCELLENT, mos: 4.5 });
  const good = new StreamQualityScorer();
  const bad = new StreamQualityScorer();
  const a = new Stream();
  const b = new Stream();
  good.update({ ...a.sample }, 0);
  bad.update({ ...b.sample }, 0);
  good.update(a.window(0), 5000);
  bad.update(b.window(0, { packets: 0 }), 5000);
  assert.equal(worstQuality([good, bad]).quality, Q.LOST);
});

// ---- the room monitor ----

class QualitySource implements MediaTrackSource {
  readonly kind = 'audio' as const;
  readonly mimeType = 'audio/opus';
  readonly stream = new Stream();
  setMuted(): void {}
  receiveQuality(): StreamQualitySample {
    return { ...this.stream.sample };
  }
}

function member(sid: string, protocol = 16): ObservedParticipant & { sent: SignalResponse[]; source: QualitySource; subscriptions: Set<string> } {
  const source = new QualitySource();
  const sent: SignalResponse[] = [];
  const info = new TrackInfo({ sid: `TR_${sid}`, type: TrackType.AUDIO, source: TrackSource.MICROPHONE });
  return {
    sid, state: ParticipantInfo_State.ACTIVE, isHidden: false, protocol, subscriptions: new Set(), media: {}, sent, source,
    tracks: [{ info, source, mid: '0', msidTrackId: 'x', subscribers: new Set() }],
    send: (m) => sent.push(m),
  };
}

function qualityUpdates(p: { sent: SignalResponse[] }): ConnectionQualityInfo[][] {
  return p.sent.flatMap((m) => (m.message.case === 'connectionQuality' ? [m.message.value.updates] : []));
}

test('monitor: first update for new participants, then only on change; own quality plus subscribed publishers', () => {
  const clock = new ManualClock();
  const alice = member('alice');
  const bob = member('bob', 9); // an old client: LOST becomes POOR
  bob.subscriptions.add('TR_alice');
  const monitor = new ConnectionQualityMonitor({ clock, participants: () => [alice, bob] });
  monitor.start();
  const flow = (): void => {
    alice.source.stream.window(0);
    bob.source.stream.window(0);
  };
  clock.advance(5000);
  const first = (p: { sent: SignalResponse[] }): string[] => qualityUpdates(p).at(-1)!.map((i) => `${i.participantSid}:${Q[i.quality]}:${i.score}`);
  assert.deepEqual(first(alice), ['alice:EXCELLENT:4.5']);
  assert.deepEqual(first(bob), ['alice:EXCELLENT:4.5', 'bob:EXCELLENT:4.5']);
  flow();
  clock.advance(5000);
  assert.equal(qualityUpdates(bob).length, 1, 'no change: nothing sent');
  bob.source.stream.window(0); // alice's publisher goes silent
  clock.advance(5000);
  const last = qualityUpdates(bob).at(-1)!;
  assert.deepEqual(last.map((i) => Q[i.quality]), ['POOR', 'EXCELLENT'], 'alice LOST, shown to the old client as POOR');
  assert.deepEqual(qualityUpdates(alice).at(-1)!.map((i) => Q[i.quality]), ['LOST']);
  monitor.close();
  assert.equal(clock.pendingTimers, 0);
});
