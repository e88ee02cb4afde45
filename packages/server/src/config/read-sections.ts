// Readers for livekit.yaml's `audio:` and `prometheus:` sections (LiveKit's pkg/sfu/audio AudioLevelConfig,
// pkg/config PrometheusConfig), each problem reported with its key.
import type { YamlMap, YamlReader } from './yaml-reader.js';
import type { AudioConfig, MetricsAuth } from './server-config.js';

export const AUDIO_KEYS = ['active_level', 'min_percentile', 'update_interval', 'smooth_intervals', 'active_red_encoding', 'enable_loss_proxying'] as const;
export const PROMETHEUS_KEYS = ['port', 'username', 'password'] as const;

/** Bounds Atrium accepts for `audio.update_interval` (ms): shorter than one packet or longer than a minute means nothing useful. */
export const AUDIO_UPDATE_INTERVAL_MIN_MS = 10;
export const AUDIO_UPDATE_INTERVAL_MAX_MS = 60_000;

export interface AudioSection {
  /** Only the fields the file sets. */
  audio: Partial<AudioConfig>;
  /** A feature Atrium does not have (refused when true, by unsupported-settings.ts). */
  enableLossProxying: boolean;
}

export function readAudio(r: YamlReader, top: YamlMap): AudioSection {
  const m = r.map(top['audio'], 'audio', AUDIO_KEYS);
  const audio: Partial<AudioConfig> = {};
  const set = <K extends keyof AudioConfig>(k: K, v: AudioConfig[K] | undefined): void => {
    if (v !== undefined) audio[k] = v;
  };
  set('activeLevel', r.int(m, 'audio', 'active_level', 0, 127));
  set('minPercentile', r.int(m, 'audio', 'min_percentile', 0, 100));
  const interval = m?.['update_interval'];
  if (interval === 0) {
    // LiveKit reads 0 as "no audio levels" but its speaker loop then spins; refuse it rather than guess.
    r.fail('audio.update_interval', `must be between ${AUDIO_UPDATE_INTERVAL_MIN_MS} and ${AUDIO_UPDATE_INTERVAL_MAX_MS} ms (0 does not turn speaker detection off in Atrium)`);
  } else {
    set('updateIntervalMs', r.int(m, 'audio', 'update_interval', AUDIO_UPDATE_INTERVAL_MIN_MS, AUDIO_UPDATE_INTERVAL_MAX_MS));
  }
  set('smoothIntervals', r.int(m, 'audio', 'smooth_intervals', 0, 100));
  set('activeRedEncoding', r.bool(m, 'audio', 'active_red_encoding'));
  return {
    audio,
    enableLossProxying: r.bool(m, 'audio', 'enable_loss_proxying') ?? false,
  };
}

export interface PrometheusSection {
  /** The port from `prometheus.port` or the older `prometheus_port`; undefined when neither is set. */
  port: number | undefined;
  auth: MetricsAuth | null;
}

/**
 * `prometheus.port` and the deprecated top-level `prometheus_port` name the same thing: either may be set, or both to
 * the same port (LiveKit lets `prometheus_port` win silently; two different ports are refused here). Username and
 * password go together, as LiveKit requires.
 */
export function readPrometheus(r: YamlReader, top: YamlMap): PrometheusSection {
  const legacy = r.port(top, '', 'prometheus_port');
  const m = r.map(top['prometheus'], 'prometheus', PROMETHEUS_KEYS);
  const current = r.port(m, 'prometheus', 'port');
  let port = current ?? legacy;
  if (legacy !== undefined && current !== undefined && legacy !== 0 && current !== 0 && legacy !== current) {
    r.fail('prometheus.port', `is ${current} but prometheus_port (its older name) is ${legacy}: set only prometheus.port`);
    port = undefined;
  } else if (legacy !== undefined && legacy !== 0) {
    port = legacy;
  }
  const username = r.str(m, 'prometheus', 'username') ?? '';
  const password = r.str(m, 'prometheus', 'password') ?? '';
  if ((username === '') !== (password === '')) {
    r.fail(username === '' ? 'prometheus.username' : 'prometheus.password', 'is missing: set both prometheus.username and prometheus.password, or neither');
    return { port, auth: null };
  }
  return { port, auth: username === '' ? null : { username, password } };
}
