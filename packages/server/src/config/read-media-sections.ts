// Readers for livekit.yaml's media settings Atrium honours: `rtc.congestion_control` (LiveKit's
// CongestionControlConfig: `enabled`, `allow_pause`, `use_send_side_bwe`, `send_side_bwe_pacer`,
// `stream_allocator.probe_mode` / `min_channel_capacity`) and `video` (`dynacast_pause_delay`). LiveKit's estimator
// tuning keys are refused as "not supported yet" rather than ignored.
import type { YamlMap, YamlReader } from './yaml-reader.js';

export const CONGESTION_CONTROL_KEYS = [
  'enabled', 'allow_pause', 'stream_allocator', 'remote_bwe', 'use_send_side_bwe_interceptor', 'use_send_side_bwe',
  'send_side_bwe_pacer', 'send_side_bwe',
] as const;
/** Keys of LiveKit's congestion control that tune parts Atrium does not have (its GCC estimator has no such knobs). */
const ESTIMATOR_TUNING_KEYS = ['remote_bwe', 'use_send_side_bwe_interceptor', 'send_side_bwe'] as const;
const STREAM_ALLOCATOR_KEYS = [
  'probe_mode', 'min_channel_capacity', 'disable_estimation_unmanaged_tracks', 'probe_overage_pct', 'probe_min_bps',
  'paused_min_wait',
] as const;
/**
 * How the subscriber transport paces. `no-queue` (LiveKit's default) and `pass-through` send every packet at once,
 * in order, with no rate limit: the allocator's layer choice is what fits the estimate. (In LiveKit the two differ
 * only in which goroutine sends; Atrium sends from the forwarding turn in both.) `leaky-bucket` holds the subscriber
 * to 2.5 x its estimate, queueing and dropping late video.
 */
export type PacerMode = 'no-queue' | 'pass-through' | 'leaky-bucket';
const PACER_MODES: readonly PacerMode[] = ['no-queue', 'pass-through', 'leaky-bucket'];
export const VIDEO_KEYS = ['dynacast_pause_delay', 'stream_tracker_manager', 'codec_regression_threshold'] as const;

export interface CongestionControlSettings {
  /** Layer allocation follows each subscriber's bandwidth estimate (LiveKit default true). */
  enabled: boolean;
  /** The allocator may pause a subscriber's video entirely when not even its lowest layer fits (LiveKit default false). */
  allowPause: boolean;
  /** `send_side_bwe_pacer` (default no-queue, as LiveKit's). */
  pacer: PacerMode;
  /** `stream_allocator.min_channel_capacity`: the estimate never goes below this, bps (default 0: no floor). */
  minChannelCapacityBps: number;
}

export const LIVEKIT_DEFAULT_CONGESTION_CONTROL: Readonly<CongestionControlSettings> = {
  enabled: true, allowPause: false, pacer: 'no-queue', minChannelCapacityBps: 0,
};
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
  const sendSide = r.bool(m, 'rtc.congestion_control', 'use_send_side_bwe');
  if (sendSide === false) {
    r.fail('rtc.congestion_control.use_send_side_bwe', 'Atrium estimates bandwidth on the send side only (transport-wide CC feedback); remove the key or set it true');
  }
  const pacer = r.str(m, 'rtc.congestion_control', 'send_side_bwe_pacer');
  if (pacer !== undefined) {
    if ((PACER_MODES as readonly string[]).includes(pacer)) out.pacer = pacer as PacerMode;
    else r.fail('rtc.congestion_control.send_side_bwe_pacer', `'${pacer}' is not one of ${PACER_MODES.join(', ')}`);
  }
  const sa = r.map(m?.['stream_allocator'], 'rtc.congestion_control.stream_allocator', STREAM_ALLOCATOR_KEYS);
  const probeMode = r.str(sa, 'rtc.congestion_control.stream_allocator', 'probe_mode');
  if (probeMode !== undefined && probeMode !== 'padding') {
    r.fail('rtc.congestion_control.stream_allocator.probe_mode', `'${probeMode}' is not supported: Atrium probes with padding (probe_mode: padding)`);
  }
  const minCapacity = r.int(sa, 'rtc.congestion_control.stream_allocator', 'min_channel_capacity', 0, 1_000_000_000);
  if (minCapacity !== undefined) out.minChannelCapacityBps = minCapacity;
  for (const key of STREAM_ALLOCATOR_KEYS) {
    if (key === 'probe_mode' || key === 'min_channel_capacity') continue;
    const v = sa?.[key];
    if (v === undefined || v === null) continue;
    r.fail(`rtc.congestion_control.stream_allocator.${key}`, 'is not supported yet: remove it');
  }
  for (const key of ESTIMATOR_TUNING_KEYS) {
    const v = m?.[key];
    if (v === undefined || v === null || v === false) continue;
    r.fail(`rtc.congestion_control.${key}`, 'is not supported yet: Atrium\'s estimator (GCC) has no such knobs; remove it');
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
