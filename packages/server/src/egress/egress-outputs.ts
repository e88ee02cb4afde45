// The outputs of one egress, independent of where its media comes from (RTP tracks copied or transcoded, or a composed
// picture): a request's file/segments/stream/image outputs normalized into one OutputPlan (LiveKit's names and
// defaults, livekit/egress pkg/config), the ffmpeg encoder and output arguments that write all of them from one
// process (tee muxer), and the EgressInfo results (fileResults, segmentResults, streamResults, imageResults).
// The stream part leaves ffmpeg as MPEG-TS on its stdout; egress/stream-fanout.ts pushes it to each RTMP URL, so
// UpdateStream can add and remove URLs without touching the file.
import { join as joinPath, posix, resolve as resolvePath } from 'node:path';
import {
  EncodedFileType,
  EncodingOptionsPreset,
  ImageFileSuffix,
  ImagesInfo,
  SegmentedFileSuffix,
  SegmentsInfo,
  StreamInfo,
  StreamInfo_Status,
  StreamProtocol,
} from '@livekit/protocol';
import type { EncodedFileOutput, EncodingOptions, ImageOutput, S3Upload, SegmentedFileOutput, StreamOutput } from '@livekit/protocol';
import { EgressError } from './egress-error.js';
import { cleanRelativePath, formatTemplateTime, replacePlaceholders } from './filename-template.js';
import type { TemplateValues } from './filename-template.js';

/** What the encoder makes when a request needs transcoding (LiveKit's EncodingOptions, resolved). */
export interface EncodingSettings {
  width: number;
  height: number;
  framerate: number;
  videoBitrateKbps: number;
  audioBitrateKbps: number;
  audioFrequency: number;
  /** Seconds between key frames (the HLS segments cut on them). */
  keyFrameIntervalSec: number;
}

/** LiveKit's default preset H264_720P_30 (with Atrium's 2 s GOP: segments and stream joins start sooner). */
export const H264_720P_30: EncodingSettings = {
  width: 1280, height: 720, framerate: 30, videoBitrateKbps: 3000, audioBitrateKbps: 128, audioFrequency: 44100, keyFrameIntervalSec: 2,
};

const PRESETS: Record<number, Partial<EncodingSettings>> = {
  [EncodingOptionsPreset.H264_720P_30]: {},
  [EncodingOptionsPreset.H264_720P_60]: { framerate: 60, videoBitrateKbps: 4500 },
  [EncodingOptionsPreset.H264_1080P_30]: { width: 1920, height: 1080, videoBitrateKbps: 4500 },
  [EncodingOptionsPreset.H264_1080P_60]: { width: 1920, height: 1080, framerate: 60, videoBitrateKbps: 6000 },
  [EncodingOptionsPreset.PORTRAIT_H264_720P_30]: { width: 720, height: 1280 },
  [EncodingOptionsPreset.PORTRAIT_H264_720P_60]: { width: 720, height: 1280, framerate: 60, videoBitrateKbps: 4500 },
  [EncodingOptionsPreset.PORTRAIT_H264_1080P_30]: { width: 1080, height: 1920, videoBitrateKbps: 4500 },
  [EncodingOptionsPreset.PORTRAIT_H264_1080P_60]: { width: 1080, height: 1920, framerate: 60, videoBitrateKbps: 6000 },
};

/** A request's `options` (preset or advanced) resolved; bad values are refused. */
export function encodingSettings(options: { case: 'preset'; value: EncodingOptionsPreset } | { case: 'advanced'; value: EncodingOptions } | { case: undefined; value?: undefined }): EncodingSettings {
  if (options.case === 'preset') {
    const p = PRESETS[options.value];
    if (!p) throw new EgressError('invalid_argument', `unknown encoding preset ${options.value}`);
    return { ...H264_720P_30, ...p };
  }
  if (options.case !== 'advanced') return { ...H264_720P_30 };
  const a = options.value;
  // LiveKit's video_codec/audio_codec: H.264 main/high and AAC (defaults) are what Atrium encodes
  if (a.videoCodec > 3) throw new EgressError('unimplemented', 'only H.264 video encoding is supported');
  if (a.audioCodec !== 0 && a.audioCodec !== 2) throw new EgressError('unimplemented', 'only AAC audio encoding is supported');
  const s: EncodingSettings = {
    width: a.width || H264_720P_30.width,
    height: a.height || H264_720P_30.height,
    framerate: a.framerate || H264_720P_30.framerate,
    videoBitrateKbps: a.videoBitrate || H264_720P_30.videoBitrateKbps,
    audioBitrateKbps: a.audioBitrate || H264_720P_30.audioBitrateKbps,
    audioFrequency: a.audioFrequency || H264_720P_30.audioFrequency,
    keyFrameIntervalSec: a.keyFrameInterval || H264_720P_30.keyFrameIntervalSec,
  };
  const bad = (what: string): never => {
    throw new EgressError('invalid_argument', `advanced encoding: ${what}`);
  };
  if (s.width < 16 || s.width > 3840 || s.height < 16 || s.height > 3840 || s.width % 2 !== 0 || s.height % 2 !== 0) bad('width and height must be even, 16 to 3840');
  if (s.framerate < 1 || s.framerate > 60) bad('framerate must be 1 to 60');
  if (s.videoBitrateKbps < 50 || s.videoBitrateKbps > 50_000) bad('video_bitrate must be 50 to 50000 kbps');
  if (s.audioBitrateKbps < 16 || s.audioBitrateKbps > 512) bad('audio_bitrate must be 16 to 512 kbps');
  if (![8000, 16000, 22050, 24000, 32000, 44100, 48000].includes(s.audioFrequency)) bad('audio_frequency must be a common rate (44100, 48000...)');
  if (s.keyFrameIntervalSec < 0.5 || s.keyFrameIntervalSec > 20) bad('key_frame_interval must be 0.5 to 20 s');
  return s;
}

export interface FilePlan {
  /** Relative to the base directory: FileInfo.filename. */
  filename: string;
  localPath: string;
  /** ffmpeg's -f. */
  muxer: string;
  upload: S3Upload | undefined;
}

export interface SegmentPlan {
  /** Relative paths (SegmentsInfo names), and the local directory everything is written in. */
  playlistName: string;
  livePlaylistName: string | undefined;
  /** Relative path of each segment without its `_00000.ts`. */
  segmentPrefix: string;
  localDir: string;
  segmentDurationSec: number;
  upload: S3Upload | undefined;
}

export interface StreamPlan {
  /** The URLs to push to at the start (RTMP/RTMPS). */
  urls: string[];
}

export interface ImagePlan {
  /** Relative prefix of each image (ImagesInfo.filename_prefix). */
  prefix: string;
  localDir: string;
  intervalSec: number;
  width: number;
  height: number;
  /** `index` (prefix_00000.jpeg), `timestamp` or `overwrite` (prefix.jpeg). */
  suffix: 'index' | 'timestamp' | 'overwrite';
  upload: S3Upload | undefined;
}

export interface OutputPlan {
  file: FilePlan | undefined;
  segments: SegmentPlan | undefined;
  stream: StreamPlan | undefined;
  image: ImagePlan | undefined;
}

/** The output fields shared by track composite, participant and room composite requests. */
export interface OutputsRequest {
  output: { case: 'file'; value: EncodedFileOutput } | { case: 'stream'; value: StreamOutput } | { case: 'segments'; value: SegmentedFileOutput } | { case: string | undefined; value?: unknown };
  fileOutputs: EncodedFileOutput[];
  streamOutputs: StreamOutput[];
  segmentOutputs: SegmentedFileOutput[];
  imageOutputs: ImageOutput[];
}

export interface NormalizeContext {
  baseDir: string;
  values: TemplateValues;
  /** Generated names start with it (`<room name>-<time>` for composites). */
  stem: string;
  /** The file's container for a requested file type (decided by the caller: copy or transcode). */
  fileContainer(fileType: EncodedFileType): { extension: string; muxer: string };
  /** `egress.s3`: uploads for outputs that name none. */
  defaultUpload: S3Upload | undefined;
}

const MAX_STREAM_URLS = 8;

function uploadOf(o: { output: { case: string | undefined; value?: unknown } }, fallback: S3Upload | undefined): S3Upload | undefined {
  switch (o.output.case) {
    case undefined:
      return fallback;
    case 's3':
      return o.output.value as S3Upload;
    default:
      throw new EgressError('unimplemented', `upload to ${o.output.case} is not supported (s3 is)`);
  }
}

function one<T>(what: string, items: T[]): T | undefined {
  if (items.length > 1) throw new EgressError('invalid_argument', `one ${what} output at most`);
  return items[0];
}

/** A URL Atrium can push to; throws a clear error otherwise. */
export function checkStreamUrl(url: string): string {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new EgressError('invalid_argument', `stream url ${redactStreamUrl(url)} is not a URL`);
  }
  if (u.protocol !== 'rtmp:' && u.protocol !== 'rtmps:') throw new EgressError('invalid_argument', `stream url ${redactStreamUrl(url)}: only rtmp:// and rtmps:// are supported`);
  if (u.hostname === '') throw new EgressError('invalid_argument', `stream url ${redactStreamUrl(url)} has no host`);
  if (url.length > 2048) throw new EgressError('invalid_argument', 'stream url is too long');
  return url;
}

/**
 * A stream URL as it may be logged or returned: the stream key (the last path segment, and any query string) masked,
 * e.g. rtmp://host/live/abcd1234 -> rtmp://host/live/{a...4}. Credentials in the authority are masked too.
 */
export function redactStreamUrl(url: string): string {
  const m = /^([a-z][a-z0-9+.-]*:\/\/)(?:[^/@]*@)?([^/?#]*)(\/[^?#]*)?/i.exec(url);
  if (!m) return '{redacted}';
  const [, scheme, host, path = ''] = m;
  const hadAuth = url.slice(scheme!.length).split('/')[0]!.includes('@');
  const slash = path.lastIndexOf('/');
  const key = path.slice(slash + 1);
  const masked = key.length === 0 ? '' : key.length <= 4 ? '{...}' : `{${key.slice(0, 1)}...${key.slice(-1)}}`;
  return `${scheme}${hadAuth ? '{auth}@' : ''}${host}${path.slice(0, slash + 1)}${masked}`;
}

function dropKnownExtension(name: string, exts: readonly string[]): string {
  const dot = name.lastIndexOf('.');
  return dot > name.lastIndexOf('/') && exts.includes(name.slice(dot).toLowerCase()) ? name.slice(0, dot) : name;
}

function segmentPlan(o: SegmentedFileOutput, ctx: NormalizeContext): SegmentPlan {
  if (o.protocol !== 0 && o.protocol !== 1) throw new EgressError('invalid_argument', `unknown segmented file protocol ${o.protocol}`);
  if (o.filenameSuffix === SegmentedFileSuffix.TIMESTAMP) throw new EgressError('unimplemented', 'segment filename_suffix TIMESTAMP is not supported (INDEX is)');
  const clean = (s: string): string => cleanRelativePath(replacePlaceholders(s, ctx.values));
  const exts = ['.m3u8', '.ts'];
  const playlist = clean(o.playlistName);
  const live = clean(o.livePlaylistName);
  let playlistDir = playlist.includes('/') ? posix.dirname(playlist) + '/' : '';
  let playlistBase = dropKnownExtension(posix.basename(playlist), exts);
  const liveDir = live.includes('/') ? posix.dirname(live) + '/' : '';
  const liveBase = dropKnownExtension(posix.basename(live), exts);
  const prefix = clean(o.filenamePrefix);
  let segmentDir = prefix.includes('/') ? posix.dirname(prefix) + '/' : '';
  let segmentBase = prefix.endsWith('/') ? '' : posix.basename(prefix);
  if (prefix.endsWith('/')) segmentDir = prefix;
  if (liveDir !== '' && liveDir !== playlistDir) throw new EgressError('invalid_argument', 'live_playlist_name must be in the same directory as playlist_name');
  // as LiveKit: the segments' directory is kept only below the playlist's
  if (segmentDir !== '') {
    if (segmentDir === playlistDir) segmentDir = '';
    else if (playlistDir === '') {
      playlistDir = segmentDir;
      segmentDir = '';
    } else if (segmentDir.startsWith(playlistDir)) segmentDir = segmentDir.slice(playlistDir.length);
  }
  if (playlistBase === '') playlistBase = segmentBase !== '' ? segmentBase : `${ctx.stem}-${formatTemplateTime(ctx.values.now)}`;
  if (segmentBase === '') segmentBase = playlistBase;
  const playlistName = `${playlistDir}${playlistBase}.m3u8`;
  const livePlaylistName = liveBase === '' ? undefined : `${playlistDir}${liveBase}.m3u8`;
  if (livePlaylistName === playlistName) throw new EgressError('invalid_argument', 'live_playlist_name cannot be identical to playlist_name');
  const duration = o.segmentDuration === 0 ? 4 : o.segmentDuration;
  if (duration < 1 || duration > 60) throw new EgressError('invalid_argument', 'segment_duration must be 1 to 60 s');
  return {
    playlistName,
    livePlaylistName,
    segmentPrefix: `${playlistDir}${segmentDir}${segmentBase}`,
    localDir: resolvePath(ctx.baseDir),
    segmentDurationSec: duration,
    upload: uploadOf(o, ctx.defaultUpload),
  };
}

function imagePlan(o: ImageOutput, ctx: NormalizeContext): ImagePlan {
  if (o.imageCodec !== 0 && o.imageCodec !== 1) throw new EgressError('unimplemented', 'only JPEG images are supported');
  const interval = o.captureInterval === 0 ? 10 : o.captureInterval;
  if (interval < 1 || interval > 3600) throw new EgressError('invalid_argument', 'capture_interval must be 1 to 3600 s');
  if (o.width < 0 || o.height < 0 || o.width > 3840 || o.height > 3840 || o.width % 2 !== 0 || o.height % 2 !== 0) {
    throw new EgressError('invalid_argument', 'image width and height must be even, 0 (the video\'s) to 3840');
  }
  let prefix = dropKnownExtension(cleanRelativePath(replacePlaceholders(o.filenamePrefix, ctx.values)), ['.jpeg', '.jpg']);
  if (prefix === '' || prefix.endsWith('/')) prefix = `${prefix}${ctx.stem}-${formatTemplateTime(ctx.values.now)}`;
  const suffix = o.filenameSuffix === ImageFileSuffix.IMAGE_SUFFIX_TIMESTAMP ? 'timestamp' : o.filenameSuffix === ImageFileSuffix.IMAGE_SUFFIX_NONE_OVERWRITE ? 'overwrite' : 'index';
  return { prefix, localDir: resolvePath(ctx.baseDir), intervalSec: interval, width: o.width, height: o.height, suffix, upload: uploadOf(o, ctx.defaultUpload) };
}

/** A request's outputs as one plan: at most one of each kind, names per LiveKit's rules, bad values refused. */
export function normalizeOutputs(req: OutputsRequest, ctx: NormalizeContext): OutputPlan {
  const files = [...req.fileOutputs];
  const streams = [...req.streamOutputs];
  const segments = [...req.segmentOutputs];
  // the deprecated single `output` counts only when the lists are empty (as LiveKit's egress; livekit-server-sdk sends
  // a single output both ways)
  if (files.length + streams.length + segments.length + req.imageOutputs.length === 0) {
    if (req.output.case === 'file') files.push(req.output.value as EncodedFileOutput);
    if (req.output.case === 'stream') streams.push(req.output.value as StreamOutput);
    if (req.output.case === 'segments') segments.push(req.output.value as SegmentedFileOutput);
  }
  const f = one('file', files);
  const st = one('stream', streams);
  const sg = one('segments', segments);
  const im = one('image', req.imageOutputs);
  if (!f && !st && !sg && !im) throw new EgressError('invalid_argument', 'an output is required (file, stream, segments or image)');
  let file: FilePlan | undefined;
  if (f) {
    const container = ctx.fileContainer(f.fileType);
    const requested = cleanRelativePath(replacePlaceholders(f.filepath, ctx.values));
    let filename: string;
    if (requested === '' || requested.endsWith('/')) filename = `${requested}${ctx.stem}-${formatTemplateTime(ctx.values.now)}${container.extension}`;
    else filename = `${dropKnownExtension(requested, ['.ogg', '.ivf', '.mp4', '.webm', '.ts', '.m3u8', '.mp3'])}${container.extension}`;
    file = { filename, localPath: joinPath(resolvePath(ctx.baseDir), filename), muxer: container.muxer, upload: uploadOf(f, ctx.defaultUpload) };
  }
  let stream: StreamPlan | undefined;
  if (st) {
    if (st.protocol !== StreamProtocol.DEFAULT_PROTOCOL && st.protocol !== StreamProtocol.RTMP) throw new EgressError('unimplemented', 'only RTMP/RTMPS streams are supported');
    if (st.urls.length === 0) throw new EgressError('invalid_argument', 'a stream output needs at least one url');
    if (st.urls.length > MAX_STREAM_URLS) throw new EgressError('invalid_argument', `${MAX_STREAM_URLS} stream urls at most`);
    const urls = st.urls.map(checkStreamUrl);
    if (new Set(urls).size !== urls.length) throw new EgressError('invalid_argument', 'the same stream url twice');
    stream = { urls };
  }
  return { file, segments: sg ? segmentPlan(sg, ctx) : undefined, stream, image: im ? imagePlan(im, ctx) : undefined };
}

/** Whether the plan's outputs can only take H.264/AAC (HLS and RTMP). */
export function needsH264Aac(plan: OutputPlan): boolean {
  return plan.segments !== undefined || plan.stream !== undefined;
}

/** The libx264 + AAC encoder arguments for the mapped streams (`-map`s come before, outputs after). */
export function encoderArgs(s: EncodingSettings, media: { video: boolean; audio: boolean }): string[] {
  const args: string[] = [];
  if (media.video) {
    const gop = String(Math.max(1, Math.round(s.framerate * s.keyFrameIntervalSec)));
    args.push(
      '-c:v', 'libx264', '-preset', 'veryfast', '-tune', 'zerolatency', '-pix_fmt', 'yuv420p',
      '-b:v', `${s.videoBitrateKbps}k`, '-maxrate', `${s.videoBitrateKbps}k`, '-bufsize', `${s.videoBitrateKbps * 2}k`,
      '-g', gop, '-keyint_min', gop, '-sc_threshold', '0',
      // SPS/PPS with every key frame: a stream joined later (UpdateStream) and each segment decode on their own
      '-x264-params', 'repeat-headers=1',
    );
  }
  if (media.audio) args.push('-c:a', 'aac', '-b:a', `${s.audioBitrateKbps}k`, '-ar', String(s.audioFrequency), '-ac', '2');
  return args;
}

/** The scale/pad/fps filter that fits any input picture into the encoding size (letterboxed, as LiveKit). */
export function scaleFilter(s: EncodingSettings): string {
  return `scale=${s.width}:${s.height}:force_original_aspect_ratio=decrease,pad=${s.width}:${s.height}:(ow-iw)/2:(oh-ih)/2,fps=${s.framerate},format=yuv420p`;
}

/** Escapes a value inside a tee slave (`[k=v:k=v]path`). */
function teeEscape(s: string): string {
  return s.replace(/[\\:|[\]=']/g, (c) => `\\${c}`);
}

export function segmentFilePattern(plan: SegmentPlan): string {
  return joinPath(plan.localDir, `${plan.segmentPrefix}_%05d.ts`);
}

export function imageFilePattern(plan: ImagePlan): string {
  const stem = joinPath(plan.localDir, plan.prefix);
  return plan.suffix === 'overwrite' ? `${stem}.jpeg` : plan.suffix === 'timestamp' ? `${stem}_%Y%m%d%H%M%S.jpeg` : `${stem}_%05d.jpeg`;
}

/**
 * ffmpeg output arguments writing the plan's file, segments and stream (MPEG-TS on stdout) from the encoded streams
 * already mapped (`-map`s and codec options before these), through one tee muxer when there are several.
 * `videoInput` is the input specifier the image output decodes (e.g. `0:v`); undefined: no video, no images.
 */
export function ffmpegOutputArgs(plan: OutputPlan, opts: { videoInput: string | undefined; imageFilterPrefix?: string }): string[] {
  const slaves: { format: string; options: [string, string][]; target: string }[] = [];
  if (plan.file) slaves.push({ format: plan.file.muxer, options: plan.file.muxer === 'mp4' ? [['movflags', '+faststart']] : [], target: plan.file.localPath });
  if (plan.segments) {
    slaves.push({
      format: 'hls',
      options: [
        ['hls_time', String(plan.segments.segmentDurationSec)],
        ['hls_list_size', '0'],
        ['hls_segment_filename', segmentFilePattern(plan.segments)],
        ['hls_flags', 'independent_segments'],
      ],
      target: joinPath(plan.segments.localDir, plan.segments.playlistName),
    });
  }
  if (plan.stream) slaves.push({ format: 'mpegts', options: [], target: 'pipe:1' });
  const args: string[] = [];
  if (slaves.length === 1) {
    const s = slaves[0]!;
    args.push('-f', s.format);
    for (const [k, v] of s.options) args.push(`-${k}`, v);
    args.push('-y', s.target);
  } else if (slaves.length > 1) {
    const spec = slaves
      .map((s) => `[${[['f', s.format], ...s.options].map(([k, v]) => `${k}=${teeEscape(v!)}`).join(':')}]${teeEscape(s.target)}`)
      .join('|');
    args.push('-f', 'tee', '-y', spec);
  }
  if (plan.image && opts.videoInput !== undefined) {
    const im = plan.image;
    const scale = im.width > 0 && im.height > 0 ? `,scale=${im.width}:${im.height}` : im.width > 0 ? `,scale=${im.width}:-2` : im.height > 0 ? `,scale=-2:${im.height}` : '';
    args.push(
      '-map', opts.videoInput, '-an',
      '-vf', `${opts.imageFilterPrefix ?? ''}fps=1/${im.intervalSec}${scale}`,
      '-c:v', 'mjpeg', '-q:v', '3', '-f', 'image2',
      ...(im.suffix === 'overwrite' ? ['-update', '1'] : im.suffix === 'timestamp' ? ['-strftime', '1'] : ['-start_number', '0']),
      '-y', imageFilePattern(im),
    );
  }
  return args;
}

/** The HLS playlist's segments (name, seconds) in order, parsed from its text. */
export function parsePlaylist(text: string): { name: string; durationSec: number }[] {
  const out: { name: string; durationSec: number }[] = [];
  let pending: number | undefined;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line.startsWith('#EXTINF:')) pending = parseFloat(line.slice(8));
    else if (line !== '' && !line.startsWith('#') && pending !== undefined) {
      out.push({ name: line, durationSec: pending });
      pending = undefined;
    }
  }
  return out;
}

/** A live playlist: the last `window` segments of the playlist, no end tag while live. */
export function livePlaylist(segments: readonly { name: string; durationSec: number }[], window: number, ended: boolean): string {
  const first = Math.max(0, segments.length - window);
  const shown = segments.slice(first);
  const target = Math.max(1, ...shown.map((s) => Math.ceil(s.durationSec)));
  const lines = ['#EXTM3U', '#EXT-X-VERSION:3', `#EXT-X-TARGETDURATION:${target}`, `#EXT-X-MEDIA-SEQUENCE:${first}`];
  for (const s of shown) lines.push(`#EXTINF:${s.durationSec.toFixed(6)},`, s.name);
  if (ended) lines.push('#EXT-X-ENDLIST');
  return `${lines.join('\n')}\n`;
}

export interface SegmentsResult {
  segmentCount: number;
  durationMs: number;
  sizeBytes: number;
  playlistLocation: string;
  livePlaylistLocation: string;
}

export function segmentsInfo(plan: SegmentPlan, r: SegmentsResult, startedAtNs: bigint, endedAtNs: bigint): SegmentsInfo {
  return new SegmentsInfo({
    playlistName: plan.playlistName,
    livePlaylistName: plan.livePlaylistName ?? '',
    duration: BigInt(Math.round(r.durationMs)) * 1_000_000n,
    size: BigInt(Math.round(r.sizeBytes)),
    playlistLocation: r.playlistLocation,
    livePlaylistLocation: r.livePlaylistLocation,
    segmentCount: BigInt(r.segmentCount),
    startedAt: startedAtNs,
    endedAt: endedAtNs,
  });
}

export function imagesInfo(plan: ImagePlan, imageCount: number, startedAtNs: bigint, endedAtNs: bigint): ImagesInfo {
  return new ImagesInfo({ filenamePrefix: plan.prefix, imageCount: BigInt(imageCount), startedAt: startedAtNs, endedAt: endedAtNs });
}

/** One stream URL's state, as StreamInfo (the URL redacted). */
export interface StreamState {
  url: string;
  status: 'active' | 'finished' | 'failed';
  error?: string;
  startedAtMs: number;
  endedAtMs?: number;
}

export function streamInfo(s: StreamState): StreamInfo {
  const ms = (x: number): bigint => BigInt(Math.round(x)) * 1_000_000n;
  const end = s.endedAtMs;
  return new StreamInfo({
    url: redactStreamUrl(s.url),
    startedAt: ms(s.startedAtMs),
    endedAt: end !== undefined ? ms(end) : 0n,
    duration: end !== undefined ? ms(end - s.startedAtMs) : 0n,
    status: s.status === 'active' ? StreamInfo_Status.ACTIVE : s.status === 'finished' ? StreamInfo_Status.FINISHED : StreamInfo_Status.FAILED,
    error: s.error ?? '',
  });
}

/** A file type's name for messages. */
export function fileTypeName(t: EncodedFileType): string {
  return EncodedFileType[t] ?? String(t);
}

const REDACTED = '{redacted}';

function redactUploadIn(o: { output: { case: string | undefined; value?: unknown } }): void {
  if (o.output.case !== 's3') return;
  const u = o.output.value as S3Upload;
  if (u.accessKey !== '') u.accessKey = REDACTED;
  if (u.secret !== '') u.secret = REDACTED;
  if (u.sessionToken !== '') u.sessionToken = REDACTED;
}

/**
 * A request as EgressInfo.request shows it (ListEgress, webhooks): stream keys masked and S3 credentials replaced,
 * as LiveKit's egress does. Changes `req` in place: pass a clone.
 */
export function redactRequest(req: {
  output?: { case: string | undefined; value?: unknown };
  fileOutputs?: EncodedFileOutput[]; streamOutputs?: StreamOutput[]; segmentOutputs?: SegmentedFileOutput[]; imageOutputs?: ImageOutput[];
}): void {
  const streams = [...(req.streamOutputs ?? [])];
  const uploads: { output: { case: string | undefined; value?: unknown } }[] = [...(req.fileOutputs ?? []), ...(req.segmentOutputs ?? []), ...(req.imageOutputs ?? [])];
  if (req.output?.case === 'stream') streams.push(req.output.value as StreamOutput);
  else if (req.output?.case === 'file' || req.output?.case === 'segments') uploads.push(req.output.value as EncodedFileOutput);
  for (const s of streams) s.urls = s.urls.map(redactStreamUrl);
  for (const o of uploads) redactUploadIn(o);
}
