// Speaking level of one published audio track from the RFC 6464 client-to-mixer audio level extension
// (https://www.rfc-editor.org/rfc/rfc6464): per packet on the hot path, windowed and smoothed for the room.
import { findHeaderExtension } from '@atrium/webrtc/rtp/index.js';
import type { RtpHeader } from '@atrium/webrtc/rtp/index.js';

/** RFC 6464 level of digital silence (-127 dBov). */
export const SILENT_AUDIO_LEVEL = 127;

export interface AudioLevelParams {
  /** Packets at or louder than -activeLevel dBov count as speech (LiveKit default 35). */
  activeLevel: number;
  /** Share of a window (percent) that must be speech for the window to count (LiveKit default 40). */
  minPercentile: number;
  /** Audio time per observation window, ms (LiveKit's audio update_interval, default 400). */
  observeDurationMs: number;
  /** Windows averaged by the exponential smoothing; 0 or 1 disables it (LiveKit default 2). */
  smoothIntervals: number;
}

export const defaultAudioLevelParams: AudioLevelParams = {
  activeLevel: 35,
  minPercentile: 40,
  observeDurationMs: 400,
  smoothIntervals: 2,
};

/** The meter's settings from livekit.yaml's `audio:` section (config AudioConfig; the window is the update interval). */
export function audioLevelParams(audio: { activeLevel: number; minPercentile: number; updateIntervalMs: number; smoothIntervals: number }): AudioLevelParams {
  return { activeLevel: audio.activeLevel, minPercentile: audio.minPercentile, observeDurationMs: audio.updateIntervalMs, smoothIntervals: audio.smoothIntervals };
}

/** -dBov (0 loudest .. 127 silent) to a linear level in 0..1: 10^(-level/20). */
export function linearAudioLevel(dBov: number): number {
  return Math.pow(10, -dBov / 20);
}

/**
 * Reads the level (0..127 -dBov, the V bit dropped) from the audio-level extension `extensionId` of a
 * parsed packet, or -1 when the packet does not carry it. Allocation-free.
 */
export function readAudioLevel(buf: Uint8Array, h: RtpHeader, extensionId: number): number {
  const at = findHeaderExtension(buf, h, extensionId);
  return at < 0 ? -1 : buf[at]! & 0x7f;
}

/**
 * Per track: every packet adds its audio duration (from RTP timestamp steps) to the current window, and to
 * the window's speech time when loud enough, keeping the loudest level. A full window becomes a linear
 * level (loudest level weighted by the speech share), smoothed exponentially over windows.
 */
export class AudioLevelMeter {
  private readonly params: AudioLevelParams;
  private readonly clockRate: number;
  private readonly minActiveMs: number;
  private readonly smoothFactor: number;
  /** Linear level at which a smoothed level counts as speaking. */
  readonly activeThreshold: number;
  private smoothed = 0;
  private loudest = SILENT_AUDIO_LEVEL;
  private activeMs = 0;
  private observedMs = 0;
  private lastObservedAtMs = -Infinity;
  private lastTimestamp = 0;
  private hasTimestamp = false;
  /** Packets observed with a level (for tests and stats). */
  packetsObserved = 0;

  constructor(opts: { clockRate: number; params?: Partial<AudioLevelParams> }) {
    this.params = { ...defaultAudioLevelParams, ...opts.params };
    this.clockRate = opts.clockRate;
    this.minActiveMs = (this.params.minPercentile * this.params.observeDurationMs) / 100;
    this.smoothFactor = this.params.smoothIntervals > 1 ? 2 / (this.params.smoothIntervals + 1) : 1;
    this.activeThreshold = linearAudioLevel(this.params.activeLevel);
  }

  /** Hot path: one packet's level (0..127) and RTP timestamp. The first packet only sets the time base. */
  observePacket(level: number, rtpTimestamp: number, nowMs: number): void {
    if (!this.hasTimestamp) {
      this.hasTimestamp = true;
      this.lastTimestamp = rtpTimestamp;
      this.lastObservedAtMs = nowMs;
      return;
    }
    const delta = (rtpTimestamp - this.lastTimestamp) >>> 0;
    if (delta === 0 || delta >= 0x80000000) return; // same frame, or late/reordered
    this.lastTimestamp = rtpTimestamp;
    const durationMs = Math.min((delta * 1000) / this.clockRate, this.params.observeDurationMs);
    this.observe(level, durationMs, nowMs);
  }

  /** Adds `durationMs` of audio at `level` (0..127 -dBov); closes the window when it is full. */
  observe(level: number, durationMs: number, nowMs: number): void {
    this.packetsObserved++;
    this.lastObservedAtMs = nowMs;
    this.observedMs += durationMs;
    if (level <= this.params.activeLevel) {
      this.activeMs += durationMs;
      if (level < this.loudest) this.loudest = level;
    }
    if (this.observedMs < this.params.observeDurationMs) return;
    let next = 0;
    if (this.activeMs >= this.minActiveMs) {
      // Weight the loudest level by how much of the window was speech: all of it leaves it as is.
      const weightDb = 20 * Math.log10(this.activeMs / this.observedMs);
      const linear = linearAudioLevel(this.loudest - weightDb);
      next = this.smoothed + (linear - this.smoothed) * this.smoothFactor;
    }
    this.reset(next);
  }

  /**
   * Control plane: the smoothed linear level (0..1) when it counts as speaking, else 0. A track that has not
   * been observed for two windows (muted, stopped) reads as silent.
   */
  speakingLevel(nowMs: number): number {
    if (nowMs - this.lastObservedAtMs >= 2 * this.params.observeDurationMs) this.reset(0);
    return this.smoothed >= this.activeThreshold ? this.smoothed : 0;
  }

  private reset(smoothed: number): void {
    this.smoothed = smoothed;
    this.loudest = SILENT_AUDIO_LEVEL;
    this.activeMs = 0;
    this.observedMs = 0;
  }
}
