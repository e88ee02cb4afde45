// Builds the TrackInfo of a new publication from an AddTrackRequest (docs/livekit-protocol.md 3.1, 3.3),
// and the codecs the server lets clients publish (JoinResponse.enabled_publish_codecs).
import { TrackInfo, SimulcastCodecInfo, TrackType, TrackSource } from '@livekit/protocol';
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
  // Primary codec: the first simulcast codec the server supports, else the kind's default.
  let primaryMime: string | undefined;
  let primaryLayers = req.layers;
  let videoLayerMode = 0;
  for (const c of req.simulcastCodecs) {
    const mime = mimeTypeFromCodecName(c.codec);
    if (mime !== undefined && codecs.isEnabled(mime)) {
      primaryMime = mime;
      if (c.layers.length > 0) primaryLayers = c.layers;
      videoLayerMode = c.videoLayerMode;
      break;
    }
  }
  if (req.type !== TrackType.AUDIO && req.type !== TrackType.VIDEO) primaryMime = undefined;
  const mimeType = primaryMime ?? (req.type === TrackType.DATA ? '' : defaultMime(req.type));
  const layers = req.type === TrackType.VIDEO ? sortedLayers(primaryLayers) : [];
  const codec = new SimulcastCodecInfo({ mimeType, cid: req.cid, layers, videoLayerMode });
  return new TrackInfo({
    sid,
    type: req.type,
    name: req.name,
    muted: req.muted,
    width: req.width,
    height: req.height,
    simulcast: layers.length > 1 && videoLayerMode !== 2,
    disableDtx: req.disableDtx,
    source: req.source,
    layers: layers.map((l) => l.clone()),
    mimeType,
    codecs: [codec],
    stereo: req.stereo,
    disableRed: req.disableRed,
    encryption: req.encryption,
    stream: req.stream || defaultStreamName(req.source),
    audioFeatures: [...req.audioFeatures],
    backupCodecPolicy: req.backupCodecPolicy,
  });
}
