// Connection quality of one media stream, as LiveKit grades it: a 0..100 score from packet loss and delay
// (a simplified E-model), moved quickly down and slowly up, mapped to EXCELLENT/GOOD/POOR/LOST and a MOS.
import { ConnectionQuality } from '@livekit/protocol';

/**
 * Cumulative counters of one stream at one moment; the scorer works on the difference between two samples.
 * Publisher side: what we receive (our receive statistics). Subscriber side: what the subscriber's receiver
 * reports (RTCP RR) say about what we send.
 */
export interface StreamQualitySample {
  /** Stable per participant, e.g. `pub:TR_x` / `sub:TR_x`. */
  key: string;
  side: 'publisher' | 'subscriber';
  kind: 'audio' | 'video';
  mimeType: string;
  /** Packets expected so far (publisher: highest - first sequence + 1; subscriber: the RR's extended highest seq). */
  packetsExpected: number;
  packetsLost: number;
  jitterMs: number;
  /** Round-trip time, 0 when unknown. */
  rttMs: number;
  /** Monotonic time of the last RTCP from the remote (publisher SR, subscriber RR); -Infinity if none. */
  lastRtcpMs: number;
  /** Subscriber side: packets we have sent so far (tells "not streaming" from "no reports"). */
  packetsSent?: number;
  /**
   * Subscriber video: spatial layers its bandwidth holds it below what it asked for (0 none, 3 paused). LiveKit grades
   * a subscriber that gets a lower layer than it wants down: one layer short is at best GOOD, more (or paused) POOR.
   */
  heldBackLayers?: number;
  isMuted: boolean;
  /** Publisher side: what arrives now per spatial layer (bits/s, 0 for a layer not flowing), for the operator view. */
  layerBitrateBps?: readonly number[];
}

export const MAX_SCORE = 100;
const MIN_SCORE = 30;
const INCREASE_FACTOR = 0.4;
const DECREASE_FACTOR = 0.8;
/** Score at or below which a stream is GOOD / POOR / LOST (LiveKit's transition points). */
const GOOD_AT = 80;
const POOR_AT = 40;
const LOST_AT = 20;
/** Subscriber side: streaming without any receiver report for this long scores as dry. */
const NO_REPORT_TOO_LONG_MS = 30_000;

/** How much each percent of loss costs, by codec (opus 8: 2.5% loss -> GOOD, 7.5% -> POOR; video 10). */
export function packetLossWeight(kind: 'audio' | 'video', mimeType: string): number {
  if (kind === 'video') return 10;
  return mimeType.toLowerCase() === 'audio/red' ? 4 : 8;
}

export function scoreToQuality(score: number): ConnectionQuality {
  if (score > GOOD_AT) return ConnectionQuality.EXCELLENT;
  if (score > POOR_AT) return ConnectionQuality.GOOD;
  if (score > LOST_AT) return ConnectionQuality.POOR;
  return ConnectionQuality.LOST;
}

/** The 0..100 score as a mean opinion score, 1.0..4.5 (what ConnectionQualityInfo.score carries). */
export function scoreToMos(score: number): number {
  if (score <= 0) return 1;
  if (score >= 100) return 4.5;
  return 1 + 0.035 * score + 0.000007 * score * (score - 60) * (100 - score);
}

/** Order of qualities from worst to best (the protobuf numbers are not ordered: LOST = 3). */
export function qualityRank(q: ConnectionQuality): number {
  switch (q) {
    case ConnectionQuality.LOST:
      return 0;
    case ConnectionQuality.POOR:
      return 1;
    case ConnectionQuality.GOOD:
      return 2;
    default:
      return 3;
  }
}

/** Packet score of one window: 100 minus a delay effect and a weighted loss percentage. */
export function packetScore(w: { packets: number; lost: number; jitterMs: number; rttMs: number; lossWeight: number }): number {
  const delayMs = w.rttMs / 2 + w.jitterMs * 2;
  const delayEffect = delayMs > 160 ? (delayMs - 120) / 10 : delayMs / 40;
  const lossPercent = w.packets > 0 ? (Math.max(0, w.lost) * 100) / w.packets : 0;
  return Math.max(0, MAX_SCORE - delayEffect - lossPercent * w.lossWeight);
}

/** Highest score a subscriber stream held `layers` below its request can have (one layer: GOOD; more: POOR). */
function bandwidthCap(layers: number): number {
  if (layers <= 0) return MAX_SCORE;
  return layers === 1 ? GOOD_AT : POOR_AT;
}

/** Scores one stream from successive samples; call `update` once per quality interval. */
export class StreamQualityScorer {
  private scoreValue = MAX_SCORE;
  private prev: StreamQualitySample | undefined;
  private prevAtMs = 0;
  private maxPacketRate = 0;
  private streamingSinceMs = -1;

  get score(): number {
    return this.scoreValue;
  }
  get quality(): ConnectionQuality {
    return scoreToQuality(this.scoreValue);
  }

  update(s: StreamQualitySample, nowMs: number): void {
    const prev = this.prev;
    const prevAtMs = this.prevAtMs;
    this.prev = { ...s };
    this.prevAtMs = nowMs;
    if (prev === undefined) return; // the first sample is the baseline
    if (s.isMuted) {
      // Muted: nothing to judge; back to the top unless the stream is lost.
      if (this.scoreValue > LOST_AT) this.scoreValue = MAX_SCORE;
      this.streamingSinceMs = -1;
      return;
    }
    const windowMs = nowMs - prevAtMs;
    if (windowMs <= 0) return;
    const expected = s.packetsExpected - prev.packetsExpected;
    const lost = s.packetsLost - prev.packetsLost;
    const cap = bandwidthCap(s.heldBackLayers ?? 0);
    if (s.side === 'subscriber') {
      const sent = (s.packetsSent ?? 0) - (prev.packetsSent ?? 0);
      if (sent <= 0) {
        // Paused for lack of bandwidth is not "not streaming": the viewer sees no video.
        if (cap < MAX_SCORE) this.scoreValue = Math.min(this.scoreValue, cap);
        this.streamingSinceMs = -1;
        return; // not streaming: keep the score
      }
      if (this.streamingSinceMs < 0) this.streamingSinceMs = prevAtMs;
      if (s.lastRtcpMs <= prevAtMs) {
        // No report in this window: wait, unless reports have been missing for too long.
        const since = Math.max(this.streamingSinceMs, s.lastRtcpMs);
        if (nowMs - since > NO_REPORT_TOO_LONG_MS) this.scoreValue = POOR_AT;
        return;
      }
      if (prev.lastRtcpMs === -Infinity) return; // the first report is the baseline
      if (expected <= 0) return;
    } else if (expected <= 0) {
      // Nothing arrived although the track is not muted: POOR, LOST when the sender's RTCP went quiet too.
      this.scoreValue = nowMs - s.lastRtcpMs > 2 * windowMs ? LOST_AT : POOR_AT;
      return;
    }
    // Loss weighs less when the packet rate is below the best seen (DTX silence, a static screen).
    const packetRate = (expected * 1000) / windowMs;
    if (packetRate > this.maxPacketRate) this.maxPacketRate = packetRate;
    const rateShare = this.maxPacketRate > 0 ? Math.min(1, packetRate / this.maxPacketRate) : 1;
    const lossWeight = packetLossWeight(s.kind, s.mimeType) * Math.sqrt(rateShare);
    const target = Math.min(cap, packetScore({ packets: expected, lost, jitterMs: s.jitterMs, rttMs: s.rttMs, lossWeight }));
    const factor = target < this.scoreValue ? DECREASE_FACTOR : INCREASE_FACTOR;
    this.scoreValue = Math.min(cap, Math.max(MIN_SCORE, factor * target + (1 - factor) * this.scoreValue));
  }
}

/** A participant's quality: the worst of its streams (EXCELLENT with MOS 4.5 when it has none). */
export function worstQuality(scorers: Iterable<StreamQualityScorer>): { quality: ConnectionQuality; mos: number } {
  let quality: ConnectionQuality = ConnectionQuality.EXCELLENT;
  let score = MAX_SCORE;
  for (const s of scorers) {
    const q = s.quality;
    if (qualityRank(q) < qualityRank(quality) || (q === quality && s.score < score)) {
      quality = q;
      score = s.score;
    }
  }
  return { quality, mos: scoreToMos(score) };
}
