// What a transcoding ingress (RTMP) encodes, from the ingress's video/audio options: LiveKit's encoding presets
// (livekit_ingress.proto IngressVideoEncodingPreset / IngressAudioEncodingPreset) or explicit options (frame rate,
// layers with width/height/bitrate; audio bitrate and channels). The top layer's size, frame rate and bitrate are the
// preset's own; the lower layers halve the size each step, as LiveKit's. Atrium encodes VP8 whatever the preset's
// name says (docs/ingress.md: libvpx at its cheapest realtime setting is what keeps up on a small machine; every
// WebRTC client decodes it).
import { AudioCodec, IngressAudioEncodingPreset, IngressVideoEncodingPreset, VideoCodec } from '@livekit/protocol';
import type { IngressAudioOptions, IngressVideoOptions } from '@livekit/protocol';
import { IngressError } from './ingress-error.js';
import type { LayerSize } from './whip-offer.js';

export interface VideoEncodingPlan {
  /** Lowest first; more than one is simulcast. */
  layers: LayerSize[];
  frameRate: number;
}

export interface AudioEncodingPlan {
  kbps: number;
  channels: 1 | 2;
}

/** Layers of a preset, from the top one down: each halves the size; bitrates as livekit-client's 180p/360p/540p. */
function ladder(top: LayerSize, count: number, lowerKbps: readonly number[]): LayerSize[] {
  const out: LayerSize[] = [top];
  for (let i = 1; i < count; i++) {
    const prev = out[0]!;
    out.unshift({ width: even(prev.width / 2), height: even(prev.height / 2), kbps: lowerKbps[i - 1]! });
  }
  return out;
}

const even = (n: number): number => Math.max(2, Math.round(n / 2) * 2);

const P = IngressVideoEncodingPreset;
const PRESETS: Readonly<Record<number, () => VideoEncodingPlan>> = {
  [P.H264_720P_30FPS_3_LAYERS]: () => ({ frameRate: 30, layers: ladder({ width: 1280, height: 720, kbps: 1_900 }, 3, [500, 150]) }),
  [P.H264_1080P_30FPS_3_LAYERS]: () => ({ frameRate: 30, layers: ladder({ width: 1920, height: 1080, kbps: 3_500 }, 3, [1_000, 300]) }),
  [P.H264_540P_25FPS_2_LAYERS]: () => ({ frameRate: 25, layers: ladder({ width: 960, height: 540, kbps: 1_000 }, 2, [250]) }),
  [P.H264_720P_30FPS_1_LAYER]: () => ({ frameRate: 30, layers: [{ width: 1280, height: 720, kbps: 1_900 }] }),
  [P.H264_1080P_30FPS_1_LAYER]: () => ({ frameRate: 30, layers: [{ width: 1920, height: 1080, kbps: 3_500 }] }),
  [P.H264_720P_30FPS_3_LAYERS_HIGH_MOTION]: () => ({ frameRate: 30, layers: ladder({ width: 1280, height: 720, kbps: 2_500 }, 3, [650, 200]) }),
  [P.H264_1080P_30FPS_3_LAYERS_HIGH_MOTION]: () => ({ frameRate: 30, layers: ladder({ width: 1920, height: 1080, kbps: 4_500 }, 3, [1_300, 400]) }),
  [P.H264_540P_25FPS_2_LAYERS_HIGH_MOTION]: () => ({ frameRate: 25, layers: ladder({ width: 960, height: 540, kbps: 1_300 }, 2, [330]) }),
  [P.H264_720P_30FPS_1_LAYER_HIGH_MOTION]: () => ({ frameRate: 30, layers: [{ width: 1280, height: 720, kbps: 2_500 }] }),
  [P.H264_1080P_30FPS_1_LAYER_HIGH_MOTION]: () => ({ frameRate: 30, layers: [{ width: 1920, height: 1080, kbps: 4_500 }] }),
};

/** LiveKit's default: H264_720P_30FPS_3_LAYERS. */
export const DEFAULT_VIDEO_PRESET = P.H264_720P_30FPS_3_LAYERS;
const MAX_LAYERS = 3;
const MAX_SIDE = 4_096;

/** The plan for an ingress's video options; refuses what cannot be encoded (IngressError invalid_argument). */
export function videoPlan(video: IngressVideoOptions | undefined): VideoEncodingPlan {
  const enc = video?.encodingOptions;
  if (enc?.case === 'options') {
    const o = enc.value;
    if (o.videoCodec !== VideoCodec.DEFAULT_VC && o.videoCodec !== VideoCodec.VP8 && o.videoCodec !== VideoCodec.H264_BASELINE && o.videoCodec !== VideoCodec.H264_MAIN && o.videoCodec !== VideoCodec.H264_HIGH) {
      throw new IngressError('invalid_argument', `video codec ${VideoCodec[o.videoCodec] ?? o.videoCodec} is not supported for transcoding (Atrium encodes VP8)`);
    }
    if (o.layers.length === 0) return { ...videoPlan(undefined), frameRate: positiveOr(o.frameRate, 30) };
    if (o.layers.length > MAX_LAYERS) throw new IngressError('invalid_argument', `at most ${MAX_LAYERS} video layers`);
    const layers = o.layers.map((l) => {
      if (l.width < 16 || l.height < 16 || l.width > MAX_SIDE || l.height > MAX_SIDE) throw new IngressError('invalid_argument', `layer size ${l.width}x${l.height} outside 16..${MAX_SIDE}`);
      return { width: even(l.width), height: even(l.height), kbps: Math.max(50, Math.round((l.bitrate || 0) / 1000) || Math.round((l.width * l.height) / 500)) };
    }).sort((a, b) => a.width * a.height - b.width * b.height);
    const frameRate = positiveOr(o.frameRate, 30);
    if (frameRate > 60) throw new IngressError('invalid_argument', `frame rate ${frameRate} over 60`);
    return { layers, frameRate };
  }
  const preset = enc?.case === 'preset' ? enc.value : DEFAULT_VIDEO_PRESET;
  const plan = PRESETS[preset];
  if (!plan) throw new IngressError('invalid_argument', `unknown video encoding preset ${String(preset)}`);
  return plan();
}

export function audioPlan(audio: IngressAudioOptions | undefined): AudioEncodingPlan {
  const enc = audio?.encodingOptions;
  if (enc?.case === 'options') {
    const o = enc.value;
    if (o.audioCodec !== AudioCodec.DEFAULT_AC && o.audioCodec !== AudioCodec.OPUS) {
      throw new IngressError('invalid_argument', `audio codec ${AudioCodec[o.audioCodec] ?? o.audioCodec} is not supported (Atrium encodes Opus)`);
    }
    if (o.channels > 2) throw new IngressError('invalid_argument', `${o.channels} audio channels (at most 2)`);
    const kbps = o.bitrate > 0 ? Math.round(o.bitrate / 1000) : 96;
    if (kbps < 6 || kbps > 510) throw new IngressError('invalid_argument', `audio bitrate ${o.bitrate} outside Opus's 6-510 kbps`);
    return { kbps, channels: o.channels === 1 ? 1 : 2 };
  }
  if (enc?.case === 'preset' && enc.value === IngressAudioEncodingPreset.OPUS_MONO_64KBS) return { kbps: 64, channels: 1 };
  if (enc?.case === 'preset' && enc.value !== IngressAudioEncodingPreset.OPUS_STEREO_96KBPS) {
    throw new IngressError('invalid_argument', `unknown audio encoding preset ${String(enc.value)}`);
  }
  return { kbps: 96, channels: 2 };
}

function positiveOr(v: number, fallback: number): number {
  return Number.isFinite(v) && v > 0 ? v : fallback;
}
