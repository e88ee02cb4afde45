// Readers for livekit.yaml's media settings Atrium honours: `rtc.congestion_control` (LiveKit's
// CongestionControlConfig: `enabled`, `allow_pause`) and `video` (`dynacast_pause_delay`). LiveKit's estimator tuning
// keys are refused as "not supported yet" rather than ignored.
import type { YamlMap, YamlReader } from './yaml-reader.js';

export const CONGESTION_CONTROL_KEYS = [
  'enabled', 'allow_pause', 'stream_allocator', 'remote_bwe', 'use_send_side_bwe_interceptor', 'use_send_side_bwe',
  'send_side_bwe_pacer', 'send_side_bwe',
] as const;
/** Keys of LiveKit's congestion control that tune parts Atrium does not have. */
const ESTIMATOR_TUNING_KEYS = CONGESTION_CONTROL_KEYS.filter((k) => k !== 'enabled' && k !== 'allow_pause');
export const VIDEO_KEYS = ['dynacast_pause_delay', 'stream_tracker_manager', 'codec_regression_threshold'] as const;

export interface CongestionControlSettings {
  /** Layer allocation follows each subscriber's bandwidth estimate (LiveKit default true). */
  enabled: boolean;
  /** The allocator may pause a subscriber's video entirely when not even its lowest layer fits (LiveKit default false). */
  allowPause: boolean;
}

export const LIVEKIT_DEFAULT_CONGESTION_CONTROL: Readonly<CongestionControlSettings> = { enabled: true, allowPause: false };
/** LiveKit's `video.dynacast_pause_delay` default. */
export const LIVEKIT_DEFAULT_DYNACAST_PAUSE_DELAY_MS = 5000;

const DURATION_UNITS_MS: Record<string, number> = { ns: 1e-6, us: 1e-3, µs: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** A Go duration as LiveKit's YAML takes it ("5s", "1.5s", "500ms", "1m30s"); undefined when it is not one. */
export function parseGoDuration(text: string): number | undefined {
  const t = text.trim();
  if (t === '0') return 0;
  const re = /(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/gy;
  let total = 0;
  let matched = 0;
  for (let m = re.exec(t); m !== null; m = re.exec(t)) {
    total += Number(m[1]) * DURATION_UNITS_MS[m[2]!]!;
    matched += m[0].length;
  }
  return matched === t.length && matched > 0 ? total : undefined;
}

export function readCongestionControl(r: YamlReader, rtc: YamlMap | undefined): Partial<CongestionControlSettings> {
  const m = r.map(rtc?.['congestion_control'], 'rtc.congestion_control', CONGESTION_CONTROL_KEYS);
  const out: Partial<CongestionControlSettings> = {};
  const enabled = r.bool(m, 'rtc.congestion_control', 'enabled');
  const allowPause = r.bool(m, 'rtc.congestion_control', 'allow_pause');
  if (enabled !== undefined) out.enabled = enabled;
  if (allowPause !== undefined) out.allowPause = allowPause;
  for (const key of ESTIMATOR_TUNING_KEYS) {
    const v = m?.[key];
    if (v === undefined || v === null || v === false) continue;
    r.fail(`rtc.congestion_control.${key}`, 'is not supported yet: Atrium has no tunable bandwidth estimator; remove it');
  }
  return out;
}

/** `video.dynacast_pause_delay` in ms (a Go duration such as "5s", or a number of seconds). */
export function readVideo(r: YamlReader, top: YamlMap): { dynacastPauseDelayMs?: number } {
  const m = r.map(top['video'], 'video', VIDEO_KEYS);
  const out: { dynacastPauseDelayMs?: number } = {};
  const raw = m?.['dynacast_pause_delay'];
  if (raw !== undefined && raw !== null) {
    const ms = typeof raw === 'number' ? raw * 1000 : typeof raw === 'string' ? parseGoDuration(raw) : undefined;
    if (ms === undefined || !Number.isFinite(ms) || ms < 0 || ms > 3_600_000) {
      r.fail('video.dynacast_pause_delay', `must be a duration such as "5s" (at most 1h), got ${JSON.stringify(raw)}`);
    } else {
      out.dynacastPauseDelayMs = ms;
    }
  }
  for (const key of ['stream_tracker_manager', 'codec_regression_threshold'] as const) {
    const v = m?.[key];
    if (v === undefined || v === null || v === 0) continue;
    r.fail(`video.${key}`, key === 'codec_regression_threshold'
      ? 'is not supported yet: every subscriber gets the codec it can decode (no codec regression); remove it'
      : 'is not supported yet: layer activity is tracked with fixed windows; remove it');
  }
  return out;
}
