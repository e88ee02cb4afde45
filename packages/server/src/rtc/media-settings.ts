// The configuration's media settings, as every media factory takes them: the in-thread one and each media worker's
// (plain data, so a worker thread gets them as they are).
import type { PacerMode } from '../config/read-media-sections.js';
import type { ServerConfig } from '../config/server-config.js';
import { audioLevelParams, type AudioLevelParams } from '../sfu/audio-level.js';

export interface MediaSettings {
  /** Audio-level meter settings for every published audio track (livekit.yaml `audio:`); LiveKit's defaults if absent. */
  audioLevel?: Partial<AudioLevelParams>;
  /** Dynacast downgrade delay (livekit.yaml video.dynacast_pause_delay); LiveKit's 5 s if absent. */
  dynacastPauseDelayMs?: number;
  /** rtc.congestion_control.allow_pause (a client's subscriber_allow_pause overrides it). */
  allowPause?: boolean;
  /** rtc.congestion_control.enabled (default true). */
  isCongestionControlEnabled?: boolean;
  /** rtc.congestion_control.send_side_bwe_pacer (default no-queue, as LiveKit's). */
  pacer?: PacerMode;
  /** rtc.congestion_control.stream_allocator.min_channel_capacity, bps (default 0). */
  minChannelCapacityBps?: number;
  /** livekit.yaml audio.active_red_encoding: plain Opus RED-encoded for subscribers that accept RED (default off). */
  activeRedEncoding?: boolean;
}

/** What create-server's configuration gives every media factory (in this thread or in a worker). */
export function mediaSettingsOf(config: ServerConfig): MediaSettings {
  return {
    audioLevel: audioLevelParams(config.audio),
    dynacastPauseDelayMs: config.video.dynacastPauseDelayMs,
    allowPause: config.rtc.congestionControl.allowPause,
    isCongestionControlEnabled: config.rtc.congestionControl.enabled,
    pacer: config.rtc.congestionControl.pacer,
    minChannelCapacityBps: config.rtc.congestionControl.minChannelCapacityBps,
    activeRedEncoding: config.audio.activeRedEncoding,
  };
}

