// Builds the TrackInfo of a new publication from an AddTrackRequest (docs/livekit-protocol.md 3.1, 3.3), and what an
// audio TrackInfo asks of the publisher's answer (Opus DTX/stereo, RED; docs/livekit-protocol.md 3.6).
import { AudioTrackFeature, Encryption_Type, TrackInfo, SimulcastCodecInfo, TrackType, TrackSource } from '@livekit/protocol';
import type { AddTrackRequest, VideoLayer } from '@livekit/protocol';
import { PublishCodecs } from './publish-codecs.js';

const MIME_BY_CODEC: Record<string, string> = {
  opus: 'audio/opus',
  red: 'audio/red',
  vp8: 'video/VP8',
  vp9: 'video/VP9',
  h264: 'video/H264',
  h265: 'video/H265',
  av1: 'video/AV1',
};

/** 'vp8' or 'video/vp8' -> 'video/VP8'; undefined when unknown. */
export function mimeTypeFromCodecName(codec: string): string | undefined {
  const name = codec.toLowerCase().replace(/^(audio|video)\//, '');
  // Own keys only: a client's codec name such as 'constructor' must not find Object.prototype's members.
  return Object.hasOwn(MIME_BY_CODEC, name) ? MIME_BY_CODEC[name] : undefined;
}

function defaultMime(type: TrackType): string {
  return type === TrackType.AUDIO ? 'audio/opus' : 'video/VP8';
}

/** Layers sorted low -> high quality, copied so later changes to the request don't leak in. */
function sortedLayers(layers: readonly VideoLayer[]): VideoLayer[] {
  return layers.map((l) => l.clone()).sort((a, b) => a.quality - b.quality);
}

/** The default stream name LiveKit derives from the source. */
export function defaultStreamName(source: TrackSource): string {
  return source === TrackSource.SCREEN_SHARE || source === TrackSource.SCREEN_SHARE_AUDIO ? 'screen' : 'camera';
}

/**
 * The codecs an AddTrackRequest names that this server cannot take (none of them enabled), e.g. ['h265'], or [] when
 * it names none or at least one is usable.
 */
export function unusableCodecs(req: AddTrackRequest, codecs: PublishCodecs): string[] {
  const named = req.simulcastCodecs.filter((c) => c.codec !== '');
  if (named.length === 0 || named.some((c) => codecs.isEnabled(mimeTypeFromCodecName(c.codec)))) return [];
  return named.map((c) => c.codec);
}

export function trackInfoFromAddTrack(req: AddTrackRequest, sid: string, codecs: PublishCodecs = PublishCodecs.all()): TrackInfo {
  // Codecs: every enabled simulcast codec in the client's order (the primary first, then backups, whose cid is empty
  // until their media is published), each with its own layers or the request's; else the kind's default codec.
  const isMedia = req.type === TrackType.AUDIO || req.type === TrackType.VIDEO;
  const list: SimulcastCodecInfo[] = [];
  if (isMedia) {
    for (const c of req.simulcastCodecs) {
      const mime = mimeTypeFromCodecName(c.codec);
      if (mime === undefined || !codecs.isEnabled(mime) || list.some((x) => x.mimeType === mime)) continue;
      const layers = req.type === TrackType.VIDEO ? sortedLayers(c.layers.length > 0 ? c.layers : req.layers) : [];
      list.push(new SimulcastCodecInfo({ mimeType: mime, cid: c.cid, layers, videoLayerMode: c.videoLayerMode }));
    }
  }
  if (list.length === 0) {
    const mimeType = req.type === TrackType.DATA || !isMedia ? '' : defaultMime(req.type);
    const layers = req.type === TrackType.VIDEO ? sortedLayers(req.layers) : [];
    list.push(new SimulcastCodecInfo({ mimeType, cid: req.cid, layers, videoLayerMode: 0 }));
  }
  const primary = list[0]!;
  // The primary's entry carries the request's cid (livekit-client sets it; others may leave it empty).
  if (primary.cid === '') primary.cid = req.cid;
  return new TrackInfo({
    sid,
    type: req.type,
    name: req.name,
    muted: req.muted,
    width: req.width,
    height: req.height,
    simulcast: primary.layers.length > 1 && primary.videoLayerMode !== 2,
    disableDtx: req.disableDtx,
    source: req.source,
    layers: primary.layers.map((l) => l.clone()),
    mimeType: primary.mimeType,
    codecs: list,
    stereo: req.stereo,
    disableRed: req.disableRed,
    encryption: req.encryption,
    stream: req.stream || defaultStreamName(req.source),
    audioFeatures: audioFeaturesFromRequest(req),
    backupCodecPolicy: req.backupCodecPolicy,
  });
}

/**
 * A further AddTrackRequest for a published track (its `sid` set): livekit-client publishing a backup codec the server
 * asked for. Updates the codec entries it names (cid, layers) as LiveKit's UpdateCodecInfo; returns the mime types updated.
 */
export function updateCodecInfo(info: TrackInfo, req: AddTrackRequest): string[] {
  const updated: string[] = [];
  for (const c of req.simulcastCodecs) {
    const mime = mimeTypeFromCodecName(c.codec);
    const entry = info.codecs.find((x) => mime !== undefined && x.mimeType.toLowerCase() === mime.toLowerCase());
    if (entry === undefined) continue;
    entry.cid = c.cid !== '' ? c.cid : req.cid;
    const layers = c.layers.length > 0 ? c.layers : req.layers;
    if (layers.length > 0) entry.layers = sortedLayers(layers);
    updated.push(entry.mimeType);
  }
  return updated;
}

/**
 * The request's audio features, each once, with the deprecated `stereo` and `disable_dtx` flags added as TF_STEREO
 * and TF_NO_DTX (LiveKit's AddTrack does the same, so subscribers and the answer read one list).
 */
function audioFeaturesFromRequest(req: AddTrackRequest): AudioTrackFeature[] {
  const out = [...new Set(req.audioFeatures)];
  if (req.stereo && !out.includes(AudioTrackFeature.TF_STEREO)) out.push(AudioTrackFeature.TF_STEREO);
  if (req.disableDtx && !out.includes(AudioTrackFeature.TF_NO_DTX)) out.push(AudioTrackFeature.TF_NO_DTX);
  return out;
}

export function isStereoTrack(info: TrackInfo): boolean {
  return info.stereo || info.audioFeatures.includes(AudioTrackFeature.TF_STEREO);
}

export function isDtxDisabled(info: TrackInfo): boolean {
  return info.disableDtx || info.audioFeatures.includes(AudioTrackFeature.TF_NO_DTX);
}

/**
 * Opus format parameters the publisher's answer sets for an audio track, as LiveKit's configurePublisherAnswer:
 * `usedtx=1` unless DTX is disabled, `stereo=1;maxaveragebitrate=510000` for a stereo track. '' for video.
 */
export function publisherOpusParams(info: TrackInfo): string {
  if (info.type !== TrackType.AUDIO) return '';
  const params: string[] = [];
  if (!isDtxDisabled(info)) params.push('usedtx=1');
  if (isStereoTrack(info)) params.push('stereo=1', 'maxaveragebitrate=510000');
  return params.join(';');
}

/** What subscribers of an audio track are offered depends on these (webrtc-track-source.ts subscriberCodecsFor). */
export function audioFeaturesOf(info: TrackInfo): { isStereo: boolean; isRedDisabled: boolean; isEncrypted: boolean } {
  return { isStereo: isStereoTrack(info), isRedDisabled: info.disableRed, isEncrypted: info.encryption !== Encryption_Type.NONE };
}
