// What a StartRoomCompositeEgress request asks for, checked and turned into the layout and the encoder's settings,
// with LiveKit's defaults: layout `speaker`, H264_720P_30 (1280x720, 30 fps, 3000 kbps, H.264 main) and AAC at
// 128 kbps into MP4; audio-only into OGG (Opus) unless MP4 is asked. `preset` and `advanced` EncodingOptions are
// honoured where ffmpeg can (sizes, rates, bitrates, key frame interval, H.264 profile, AAC/Opus); what is not
// built is refused with a clear error rather than ignored.
import { AudioCodec, AudioMixing, EncodedFileType, EncodingOptionsPreset, VideoCodec } from '@livekit/protocol';
import type { RoomCompositeEgressRequest } from '@livekit/protocol';
import { EgressError } from '../egress-error.js';
import type { OutputContainer } from '../track-container.js';
import { parseLayout } from './layout.js';
import type { LayoutSpec } from './layout.js';

export interface CompositeVideoEncoding {
  width: number;
  height: number;
  fps: number;
  bitrateKbps: number;
  keyFrameIntervalSec: number;
  profile: 'baseline' | 'main' | 'high';
}

export interface CompositeAudioEncoding {
  codec: 'aac' | 'opus';
  bitrateKbps: number;
  /** The file's sample rate (AAC; Opus is always 48 kHz). */
  sampleRate: number;
}

export interface CompositeEncoding {
  video?: CompositeVideoEncoding;
  audio?: CompositeAudioEncoding;
  container: OutputContainer;
}

export interface CompositeSettings {
  layout: LayoutSpec;
  encoding: CompositeEncoding;
}

interface PresetValues {
  width: number;
  height: number;
  fps: number;
  bitrateKbps: number;
}

/** LiveKit's EncodingOptionsPreset values (livekit/egress). */
const PRESETS: Partial<Record<EncodingOptionsPreset, PresetValues>> = {
  [EncodingOptionsPreset.H264_720P_30]: { width: 1280, height: 720, fps: 30, bitrateKbps: 3000 },
  [EncodingOptionsPreset.H264_720P_60]: { width: 1280, height: 720, fps: 60, bitrateKbps: 4500 },
  [EncodingOptionsPreset.H264_1080P_30]: { width: 1920, height: 1080, fps: 30, bitrateKbps: 4500 },
  [EncodingOptionsPreset.H264_1080P_60]: { width: 1920, height: 1080, fps: 60, bitrateKbps: 6000 },
  [EncodingOptionsPreset.PORTRAIT_H264_720P_30]: { width: 720, height: 1280, fps: 30, bitrateKbps: 3000 },
  [EncodingOptionsPreset.PORTRAIT_H264_720P_60]: { width: 720, height: 1280, fps: 60, bitrateKbps: 4500 },
  [EncodingOptionsPreset.PORTRAIT_H264_1080P_30]: { width: 1080, height: 1920, fps: 30, bitrateKbps: 4500 },
  [EncodingOptionsPreset.PORTRAIT_H264_1080P_60]: { width: 1080, height: 1920, fps: 60, bitrateKbps: 6000 },
};

const DEFAULT_KEY_FRAME_INTERVAL_SEC = 2;
const DEFAULT_AUDIO_KBPS = 128;
const MP4: OutputContainer = { extension: '.mp4', muxer: 'mp4' };
const OGG: OutputContainer = { extension: '.ogg', muxer: 'ogg' };

/** Bounds that keep one egress from asking for more than a server can encode (and ffmpeg from odd sizes). */
const MAX_PIXELS = 1920 * 1920;
const MAX_FPS = 60;

/** The layout name of a request or an UpdateLayout, as a spec; invalid_argument for names we do not know. */
export function layoutOrThrow(name: string): LayoutSpec {
  const spec = parseLayout(name);
  if (!spec) throw new EgressError('invalid_argument', `unknown layout "${name}" (built in: grid, speaker, single-speaker, each also -dark or -light)`);
  return spec;
}

/** Checks a room composite request's own fields (not its outputs) and returns what to build. */
export function compositeSettings(req: RoomCompositeEgressRequest, fileType: EncodedFileType): CompositeSettings {
  if (req.customBaseUrl !== '') throw new EgressError('unimplemented', 'custom_base_url (custom web templates) is not supported: Atrium composes rooms itself with the built-in layouts');
  if (req.audioOnly && req.videoOnly) throw new EgressError('invalid_argument', 'audio_only and video_only cannot both be set');
  if (req.audioMixing !== AudioMixing.DEFAULT_MIXING) throw new EgressError('unimplemented', `audio_mixing ${AudioMixing[req.audioMixing] ?? req.audioMixing} is not supported (only the default mix)`);
  const layout = layoutOrThrow(req.layout);
  let v: PresetValues = PRESETS[EncodingOptionsPreset.H264_720P_30]!;
  let keyFrameIntervalSec = DEFAULT_KEY_FRAME_INTERVAL_SEC;
  let profile: CompositeVideoEncoding['profile'] = 'main';
  let audioCodec: AudioCodec = AudioCodec.DEFAULT_AC;
  let audioKbps = DEFAULT_AUDIO_KBPS;
  let sampleRate = 48_000;
  if (req.options.case === 'preset') {
    const p = PRESETS[req.options.value];
    if (!p) throw new EgressError('unimplemented', `preset ${EncodingOptionsPreset[req.options.value] ?? req.options.value} is not supported (a composite is always encoded)`);
    v = p;
  } else if (req.options.case === 'advanced') {
    const a = req.options.value;
    if (a.width < 0 || a.height < 0 || a.framerate < 0 || a.videoBitrate < 0 || a.audioBitrate < 0 || a.keyFrameInterval < 0) {
      throw new EgressError('invalid_argument', 'encoding options cannot be negative');
    }
    const width = a.width || v.width;
    const height = a.height || v.height;
    if (width % 2 !== 0 || height % 2 !== 0 || width < 16 || height < 16 || width * height > MAX_PIXELS) {
      throw new EgressError('invalid_argument', `width and height must be even, at least 16 and at most ${MAX_PIXELS} pixels in all (${width}x${height} asked)`);
    }
    const fps = a.framerate || v.fps;
    if (fps > MAX_FPS) throw new EgressError('invalid_argument', `framerate ${fps} is above ${MAX_FPS}`);
    v = { width, height, fps, bitrateKbps: a.videoBitrate || v.bitrateKbps };
    if (a.keyFrameInterval > 0) keyFrameIntervalSec = a.keyFrameInterval;
    if (a.videoCodec === VideoCodec.VP8) throw new EgressError('unimplemented', 'VP8 room composites are not supported (H.264 is)');
    if (a.videoCodec === VideoCodec.H264_BASELINE) profile = 'baseline';
    if (a.videoCodec === VideoCodec.H264_HIGH) profile = 'high';
    if (a.audioCodec === AudioCodec.AC_MP3) throw new EgressError('unimplemented', 'MP3 audio is not supported (AAC and Opus are)');
    audioCodec = a.audioCodec;
    if (a.audioBitrate > 0) audioKbps = a.audioBitrate;
    if (a.audioFrequency > 0) {
      if (a.audioFrequency !== 44_100 && a.audioFrequency !== 48_000) throw new EgressError('invalid_argument', `audio_frequency ${a.audioFrequency} (44100 or 48000)`);
      sampleRate = a.audioFrequency;
    }
  }
  if (fileType === EncodedFileType.MP3) throw new EgressError('unimplemented', 'MP3 files are not supported (MP4 and OGG are)');
  let container: OutputContainer;
  if (req.audioOnly) {
    container = fileType === EncodedFileType.MP4 ? MP4 : OGG;
  } else {
    if (fileType === EncodedFileType.OGG) throw new EgressError('invalid_argument', 'OGG cannot hold video: set audio_only, or write MP4');
    container = MP4;
  }
  // OGG holds Opus; MP4 AAC unless Opus is asked for
  const codec: CompositeAudioEncoding['codec'] = container === OGG || audioCodec === AudioCodec.OPUS ? 'opus' : 'aac';
  return {
    layout,
    encoding: {
      container,
      ...(req.audioOnly ? {} : { video: { ...v, keyFrameIntervalSec, profile } }),
      ...(req.videoOnly ? {} : { audio: { codec, bitrateKbps: audioKbps, sampleRate } }),
    },
  };
}
