// Reads a WHIP offer (RFC 9725 section 4.2: an SDP offer, sendonly audio/video) into what the ingress participant
// announces: one AddTrackRequest per media m-line, as livekit-client would send before its own offer. m-lines without
// a=msid (some WHIP encoders leave it out) get one, because the media side names tracks by their msid.
import { AddTrackRequest, TrackSource, TrackType, VideoLayer, VideoQuality } from '@livekit/protocol';
import type { IngressAudioOptions, IngressVideoOptions } from '@livekit/protocol';
import { parseSdp } from '@atrium/webrtc/sdp/parse-sdp.js';
import type { MediaSection } from '@atrium/webrtc/sdp/sdp-model.js';
import { ridRank } from '../rtc/webrtc-track-source.js';
import { IngressError } from './ingress-error.js';

/** A video layer's size and bitrate, as a transcoding ingress encodes it. */
export interface LayerSize {
  width: number;
  height: number;
  kbps: number;
}

export interface WhipMedia {
  readonly mid: string;
  readonly kind: 'audio' | 'video';
  /** The msid track id (given or added): the AddTrackRequest's cid. */
  readonly trackId: string;
  readonly rids: readonly string[];
}

export interface WhipOffer {
  /** The offer as the media side gets it (msid added where missing). */
  readonly sdp: string;
  readonly media: readonly WhipMedia[];
}

/** At most this many media m-lines in one WHIP offer (a camera and a microphone need two). */
export const MAX_WHIP_MEDIA = 4;

const sends = (m: MediaSection): boolean => m.direction === 'sendonly' || m.direction === 'sendrecv';

export function readWhipOffer(text: string, opts: { streamId: string }): WhipOffer {
  let parsed;
  try {
    parsed = parseSdp(text);
  } catch (err) {
    throw new IngressError('invalid_argument', `the body is not an SDP offer: ${(err as Error).message}`);
  }
  const media: WhipMedia[] = [];
  const missingMsid = new Map<string, string>();
  for (const m of parsed.media) {
    if (m.kind === 'application' || m.port === 0 || !sends(m)) continue;
    const trackId = m.msid?.trackId && m.msid.trackId !== '-' ? m.msid.trackId : `${m.kind}-${m.mid}`;
    if (!m.msid || m.msid.trackId !== trackId) missingMsid.set(m.mid, trackId);
    media.push({ mid: m.mid, kind: m.kind, trackId, rids: m.rids.filter((r) => r.direction === 'send').map((r) => r.id) });
  }
  if (media.length === 0) throw new IngressError('invalid_argument', 'the offer sends no audio or video (a WHIP offer needs a sendonly audio or video m-line)');
  if (media.length > MAX_WHIP_MEDIA) throw new IngressError('invalid_argument', `the offer sends ${media.length} media m-lines; at most ${MAX_WHIP_MEDIA} are taken`);
  if (media.filter((m) => m.kind === 'video').length > 1 || media.filter((m) => m.kind === 'audio').length > 1) {
    throw new IngressError('invalid_argument', 'the offer sends more than one audio or more than one video m-line; an ingress publishes one of each');
  }
  return { sdp: missingMsid.size > 0 ? withMsids(text, missingMsid, opts.streamId) : text, media };
}

/** Adds `a=msid:<stream> <track>` (replacing any msid line) to each m-section whose mid is in `byMid`. */
function withMsids(sdp: string, byMid: ReadonlyMap<string, string>, streamId: string): string {
  const eol = sdp.includes('\r\n') ? '\r\n' : '\n';
  const sections = sdp.split(/(?=^m=)/m);
  return sections
    .map((section) => {
      const mid = /^a=mid:(.+?)\s*$/m.exec(section)?.[1];
      const trackId = mid !== undefined ? byMid.get(mid) : undefined;
      if (trackId === undefined) return section;
      const lines = section.split(/\r?\n/).filter((l) => !l.startsWith('a=msid:'));
      const at = lines.findIndex((l) => l.startsWith('a=mid:'));
      lines.splice(at + 1, 0, `a=msid:${streamId} ${trackId}`);
      return lines.join(eol);
    })
    .join('');
}

/**
 * The AddTrackRequest an ingress participant sends for one m-line: the ingress's track name and source (defaults
 * camera / microphone), Opus without RED (a WHIP sender encodes what it offered), and for simulcast one layer per rid,
 * lowest first (q, h, f as livekit-client names them). Layer sizes are not in the SDP and stay 0 until Atrium reads
 * them from the stream.
 */
export function addTrackRequestFor(
  m: WhipMedia,
  opts: { audio?: IngressAudioOptions | undefined; video?: IngressVideoOptions | undefined; videoLayers?: readonly LayerSize[] | undefined },
): AddTrackRequest {
  if (m.kind === 'audio') {
    return new AddTrackRequest({
      cid: m.trackId,
      type: TrackType.AUDIO,
      name: opts.audio?.name || 'audio',
      source: opts.audio?.source || TrackSource.MICROPHONE,
      disableRed: true,
    });
  }
  const ordered = [...m.rids].sort((a, b) => ridRank(a) - ridRank(b)).slice(0, 3);
  const qualities = [VideoQuality.LOW, VideoQuality.MEDIUM, VideoQuality.HIGH];
  // Sizes when the sender is ours (a transcoding ingress knows what it encodes), lowest first as the rids.
  const sizes = opts.videoLayers;
  const sized = (i: number): { width: number; height: number; bitrate: number } =>
    sizes?.[i] ? { width: sizes[i].width, height: sizes[i].height, bitrate: sizes[i].kbps * 1000 } : { width: 0, height: 0, bitrate: 0 };
  const layers = ordered.length > 1 ? ordered.map((_rid, i) => new VideoLayer({ quality: qualities[i]!, ...sized(i) })) : [];
  const top = sizes && sizes.length > 0 ? sizes[sizes.length - 1]! : undefined;
  return new AddTrackRequest({
    cid: m.trackId,
    type: TrackType.VIDEO,
    name: opts.video?.name || 'video',
    source: opts.video?.source || TrackSource.CAMERA,
    layers,
    ...(top ? { width: top.width, height: top.height } : {}),
  });
}
