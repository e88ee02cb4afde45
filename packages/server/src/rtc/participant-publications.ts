// A participant's publications: tracks announced by AddTrackRequest (pending, by cid), media that arrived
// before its request (waiting), and published tracks (by sid) once media and request are bound together.
import { TrackType } from '@livekit/protocol';
import type { AddTrackRequest, TrackInfo, VideoLayer } from '@livekit/protocol';
import { newTrackSid } from '@atrium/protocol';
import type { Logger } from '@atrium/webrtc';
import type { PublishedMediaTrack } from './participant-media.js';
import type { PublishedTrack } from './participant-host.js';
import { audioFeaturesOf, publisherOpusParams, trackInfoFromAddTrack, updateCodecInfo } from './track-info.js';
import { PublishCodecs } from './publish-codecs.js';
import type { LayerSpec } from '../sfu/video-layers.js';

export interface PublicationEvents {
  /** Media and request are bound: the track is published. */
  bound(track: PublishedTrack): void;
  /** A published track's media ended (unpublished on the client). */
  ended(track: PublishedTrack): void;
  /** A published track's backup codec started or stopped (its TrackInfo changed). */
  codecsChanged(track: PublishedTrack): void;
}

/** LiveKit's cMaxPendingTracks: AddTrackRequests awaiting their media at once; more get LIMIT_EXCEEDED. */
export const MAX_PENDING_TRACKS = 20;

export class ParticipantPublications {
  private readonly pending = new Map<string, TrackInfo>();
  private readonly published = new Map<string, PublishedTrack>();
  /** Media that arrived before its AddTrackRequest. */
  private waiting: PublishedMediaTrack[] = [];
  /** cid of a backup codec's media (a further AddTrackRequest with the track's sid) -> the track's sid. */
  private readonly backupCids = new Map<string, string>();
  /** mid of a published backup codec's media -> its track's sid and codec. */
  private readonly backupMids = new Map<string, { trackSid: string; mimeType: string }>();
  private readonly events: PublicationEvents;
  private readonly logger: Logger;
  private readonly codecs: PublishCodecs;

  constructor(opts: { events: PublicationEvents; logger: Logger; codecs?: PublishCodecs }) {
    this.events = opts.events;
    this.logger = opts.logger;
    this.codecs = opts.codecs ?? PublishCodecs.all();
  }

  get tracks(): PublishedTrack[] {
    return [...this.published.values()];
  }
  get publishedCount(): number {
    return this.published.size;
  }
  getPublished(trackSid: string): PublishedTrack | undefined {
    return this.published.get(trackSid);
  }
  /** The published track carried on `mid` (and the msid track id, when given). */
  publishedByMid(mid: string, msidTrackId?: string): PublishedTrack | undefined {
    for (const t of this.published.values()) {
      if (t.mid === mid && (msidTrackId === undefined || t.msidTrackId === msidTrackId)) return t;
    }
    return undefined;
  }
  getPending(trackSid: string): TrackInfo | undefined {
    for (const info of this.pending.values()) if (info.sid === trackSid) return info;
    return undefined;
  }

  /**
   * Why an allowed publisher's AddTrackRequest cannot be taken (LiveKit's addPendingTrack), or undefined: a sid
   * that names no track of ours (a backup codec for an unknown track), or too many tracks pending already.
   */
  refusalOf(req: AddTrackRequest): { reason: 'not_found' | 'limit_exceeded'; message: string } | undefined {
    if (req.sid) {
      if (this.published.has(req.sid) || this.getPending(req.sid)) return undefined;
      return { reason: 'not_found', message: `track ${req.sid.slice(0, 64)} not found` };
    }
    if (!this.pending.has(req.cid) && this.pending.size >= MAX_PENDING_TRACKS) {
      return { reason: 'limit_exceeded', message: `too many pending tracks, rejecting new track, numPendingTracks: ${this.pending.size}` };
    }
    return undefined;
  }

  /**
   * An allowed AddTrackRequest: returns the TrackInfo to answer with. A request naming a known sid (a backup
   * codec) or a cid already pending gets that track again; otherwise a new pending track, bound at once to
   * media that is already waiting for it.
   */
  add(req: AddTrackRequest): TrackInfo {
    if (req.sid) {
      const existing = this.published.get(req.sid)?.info ?? this.getPending(req.sid);
      if (existing) {
        // A backup codec for this track (livekit-client, after a SubscribedQualityUpdate asked for it).
        for (const mime of updateCodecInfo(existing, req)) {
          if (mime.toLowerCase() === existing.mimeType.toLowerCase()) continue;
          const entry = existing.codecs.find((c) => c.mimeType === mime);
          if (entry && entry.cid !== '') this.backupCids.set(entry.cid, req.sid);
          if (req.cid !== '') this.backupCids.set(req.cid, req.sid);
          this.logger.debug({ track: req.sid, cid: req.cid, mimeType: mime }, 'backup codec announced');
        }
        return existing;
      }
    }
    const pendingForCid = this.pending.get(req.cid);
    if (pendingForCid) return pendingForCid;
    const info = trackInfoFromAddTrack(req, newTrackSid({ type: req.type, source: req.source }), this.codecs);
    this.pending.set(req.cid, info);
    this.logger.debug({ cid: req.cid, track: info.sid }, 'track pending');
    return info;
  }

  /** After answering an add: binds media that arrived before the request, if any matches. */
  bindWaiting(cid: string, info: TrackInfo): void {
    const backupOf = this.backupCids.get(cid);
    if (backupOf !== undefined) {
      const i = this.waiting.findIndex((m) => m.msidTrackId === cid);
      const track = this.published.get(backupOf);
      const media = i >= 0 ? this.waiting[i] : undefined;
      if (media && track) {
        this.waiting.splice(i, 1);
        this.bindBackup(track, media);
      }
      return;
    }
    if (this.pending.get(cid) !== info) return;
    const i = this.waiting.findIndex((m) => matchesPending(m, cid, info));
    const j = i >= 0 ? i : this.waiting.findIndex((m) => kindMatches(m, info));
    const media = j >= 0 ? this.waiting[j] : undefined;
    if (!media) return;
    this.waiting.splice(j, 1);
    this.bind(cid, info, media);
  }

  /** New media from the publisher PC: bound to its pending request (by msid/cid, else by kind), or kept waiting. */
  mediaArrived(media: PublishedMediaTrack): void {
    const backupOf = this.backupCids.get(media.msidTrackId);
    if (backupOf !== undefined) {
      const track = this.published.get(backupOf);
      if (track) this.bindBackup(track, media);
      else this.waiting.push(media);
      return;
    }
    let match: [string, TrackInfo] | undefined;
    for (const entry of this.pending) {
      if (matchesPending(media, entry[0], entry[1])) {
        match = entry;
        break;
      }
    }
    if (!match) {
      for (const entry of this.pending) {
        if (kindMatches(media, entry[1])) {
          match = entry;
          break;
        }
      }
    }
    if (!match) {
      this.logger.debug({ msidTrackId: media.msidTrackId, mid: media.mid }, 'media waits for its AddTrackRequest');
      this.waiting.push(media);
      return;
    }
    this.bind(match[0], match[1], media);
  }

  /** Media on `mid` ended: the published track it carried (if any) is removed and reported. */
  mediaEnded(mid: string, msidTrackId: string): void {
    this.waiting = this.waiting.filter((m) => m.mid !== mid);
    const backup = this.backupMids.get(mid);
    if (backup !== undefined) {
      // A backup codec stopped (its m-line went away): the track goes on in its other codecs.
      this.backupMids.delete(mid);
      const track = this.published.get(backup.trackSid);
      const entry = track?.info.codecs.find((c) => c.mimeType === backup.mimeType);
      if (track && entry) {
        entry.mid = '';
        this.events.codecsChanged(track);
      }
      return;
    }
    const all = [...this.published.values()];
    const track =
      all.find((t) => t.mid === mid && (msidTrackId === '' || t.msidTrackId === msidTrackId)) ?? all.find((t) => t.mid === mid);
    if (!track) return;
    this.published.delete(track.info.sid);
    this.logger.info({ track: track.info.sid }, 'track unpublished');
    this.events.ended(track);
  }

  /**
   * cid (and simulcast-codec cids) -> the mime type each pending or published track asked for. A pending audio track
   * asks for RED unless it disabled it (LiveKit's setCodecPreferencesOpusRedForPublisher); a published one keeps the
   * codec it was published with, so a renegotiation never switches its codec.
   */
  requestedCodecs(): Map<string, string> {
    const out = new Map<string, string>();
    const add = (cid: string, info: TrackInfo): void => {
      for (const c of info.codecs) {
        if (c.mimeType === '') continue;
        if (c.cid !== '') out.set(c.cid, c.mimeType);
        if (!out.has(cid)) out.set(cid, c.mimeType);
      }
    };
    for (const [cid, info] of this.pending) {
      if (info.type === TrackType.AUDIO) out.set(cid, info.disableRed ? 'audio/opus' : 'audio/red');
      else add(cid, info);
    }
    for (const t of this.published.values()) add(t.msidTrackId, t.info);
    return out;
  }

  /** msid track id (cid) -> the Opus parameters the publisher's answer sets for each pending or published audio track. */
  opusParams(): Map<string, string> {
    const out = new Map<string, string>();
    for (const [cid, info] of this.pending) if (info.type === TrackType.AUDIO) out.set(cid, publisherOpusParams(info));
    for (const t of this.published.values()) if (t.info.type === TrackType.AUDIO) out.set(t.msidTrackId, publisherOpusParams(t.info));
    return out;
  }

  clear(): void {
    this.pending.clear();
    this.published.clear();
    this.waiting = [];
  }

  /** The media of a backup codec of `track` arrived: the track's primary source takes it as that codec. */
  private bindBackup(track: PublishedTrack, media: PublishedMediaTrack): void {
    const entry = track.info.codecs.find((c) => c.mimeType.toLowerCase() === media.mimeType.toLowerCase());
    if (entry === undefined) {
      this.logger.warn({ track: track.info.sid, mimeType: media.mimeType }, 'backup media in a codec the track did not announce; ignored');
      return;
    }
    entry.mid = media.mid;
    if (media.msidTrackId !== entry.cid) entry.sdpCid = media.msidTrackId;
    media.source.setVideoLayers?.(layerSpecsOfCodec(entry.layers), track.info.width, track.info.height);
    if (track.info.muted) media.source.setMuted(true);
    track.source.addBackupCodec?.(media.source);
    this.backupMids.set(media.mid, { trackSid: track.info.sid, mimeType: entry.mimeType });
    this.logger.info({ track: track.info.sid, mid: media.mid, mimeType: media.mimeType }, 'backup codec published');
    this.events.codecsChanged(track);
  }

  private bind(cid: string, info: TrackInfo, media: PublishedMediaTrack): void {
    this.pending.delete(cid);
    info.mid = media.mid;
    info.mimeType = media.mimeType;
    const codec = info.codecs[0];
    if (codec) {
      codec.mimeType = media.mimeType;
      codec.mid = media.mid;
      if (media.msidTrackId !== cid) codec.sdpCid = media.msidTrackId;
    }
    if (info.muted) media.source.setMuted(true);
    media.source.setVideoLayers?.(layerSpecsOf(info), info.width, info.height);
    media.source.setBackupCodecs?.(info.codecs.slice(1).map((c) => ({ mimeType: c.mimeType, layers: layerSpecsOfCodec(c.layers) })));
    if (info.type === TrackType.AUDIO) media.source.setAudioFeatures?.(audioFeaturesOf(info));
    const track: PublishedTrack = { info, source: media.source, mid: media.mid, msidTrackId: media.msidTrackId, subscribers: new Set() };
    this.published.set(info.sid, track);
    this.logger.info({ track: info.sid, mid: media.mid, mimeType: media.mimeType }, 'track published');
    this.events.bound(track);
  }
}

/** The primary codec's announced layers (or the track's), as the SFU's layer specs. */
export function layerSpecsOf(info: TrackInfo): LayerSpec[] {
  const codecLayers = info.codecs[0]?.layers ?? [];
  return layerSpecsOfCodec(codecLayers.length > 0 ? codecLayers : info.layers);
}

export function layerSpecsOfCodec(layers: readonly VideoLayer[]): LayerSpec[] {
  return layers
    .filter((l) => l.quality <= 2)
    .map((l) => ({ quality: l.quality as LayerSpec['quality'], width: l.width, height: l.height, bitrateBps: l.bitrate }));
}

function matchesPending(media: PublishedMediaTrack, cid: string, info: TrackInfo): boolean {
  if (media.msidTrackId === cid) return true;
  return info.codecs.some((c) => c.cid !== '' && c.cid === media.msidTrackId);
}

function kindMatches(media: PublishedMediaTrack, info: TrackInfo): boolean {
  return (media.kind === 'audio' && info.type === TrackType.AUDIO) || (media.kind === 'video' && info.type === TrackType.VIDEO);
}
