// The egresses of this server: starts track egresses (validated against the live room and track), keeps their
// EgressInfo, lists and stops them, ends them with their room or track, and reports each change as a LiveKit
// webhook (egress_started / egress_updated / egress_ended). The media side is an injected RecorderFactory.
import { resolve as resolvePath, join as joinPath } from 'node:path';
import { EgressInfo, EgressSourceType, EgressStatus, EncodedFileType, FileInfo, ImagesInfo, ParticipantEgressRequest, RoomCompositeEgressRequest, S3Upload, SegmentsInfo, StreamInfoList, TrackCompositeEgressRequest, TrackEgressRequest, TrackSource, TrackType } from '@livekit/protocol';
import type { EncodedFileOutput, StreamInfo } from '@livekit/protocol';
import type { Room as RoomInfo, TrackInfo, WebhookEvent } from '@livekit/protocol';
import type { Clock, Logger } from '@atrium/webrtc';
import { randomBase62 } from '@atrium/protocol';
import type { RoomEvents } from '../rtc/room-events.js';
import { buildEgressWebhookEvent, WebhookEventName } from '../webhook/webhook-events.js';
import { EgressRecord, msToNs } from './egress-record.js';
import { EgressError } from './egress-error.js';
import { outputFilename } from './filename-template.js';
import type { TemplateValues } from './filename-template.js';
import { compositeContainer, containerForMime, rtpFormatForMime } from './track-container.js';
import { checkStreamUrl, encodingSettings, fileTypeName, imagesInfo, needsH264Aac, normalizeOutputs, redactRequest, segmentsInfo } from './egress-outputs.js';
import type { EncodingSettings, OutputPlan, OutputsRequest } from './egress-outputs.js';
import type { OutputResults } from './output-collector.js';
import { checkS3Upload } from './s3-upload.js';
import type { OutputContainer, RtpFormat } from './track-container.js';
import { compositeSettings, layoutOrThrow } from './room-composite/composite-request.js';
import type { CompositeSettings } from './room-composite/composite-request.js';
import type { LayoutSpec } from './room-composite/layout.js';

export interface EgressJobTrack {
  trackSid: string;
  kind: 'audio' | 'video';
  format: RtpFormat;
}

/** What a recorder is asked to do: these tracks of one room, into the plan's outputs (copied or transcoded). */
export interface EgressJob {
  egressId: string;
  roomName: string;
  tracks: readonly EgressJobTrack[];
  /** The file's container when the tracks are copied. */
  container: OutputContainer;
  /** Absolute path of the main output (the file, else the playlist, else the images' prefix). */
  localPath: string;
  /** Set for a room composite: no fixed tracks, the whole room composed and encoded with these settings. */
  composite?: CompositeSettings;
  plan: OutputPlan;
  /** Set when the tracks are decoded and encoded (H.264/AAC) rather than copied. */
  transcode: EncodingSettings | undefined;
  /** Set for a track egress to a WebSocket: the audio as raw PCM to this URL, no file (websocket-recorder.ts). */
  websocketUrl?: string;
}

export interface RecorderResult {
  /** Set when the recording failed (ffmpeg died, no media arrived...). */
  error?: string;
  /** Why it ended on its own without failing (e.g. removed from the room), for EgressInfo.details. */
  details?: string;
  /** Bytes written, duration of the media in the file (0 when unknown). */
  sizeBytes: number;
  durationMs: number;
  /** Sizes, counts and (uploaded) locations of the plan's outputs. */
  outputs?: OutputResults;
  /** Each stream URL's final state. */
  streams?: StreamInfo[];
}

export interface RecorderCallbacks {
  /** Media is reaching the muxer: the egress is ACTIVE. */
  active(): void;
  /** The recorder finished (after stop, or on its own when it failed). Called once. */
  ended(result: RecorderResult): void;
  /** A stream URL started, finished or failed (egress_updated). */
  updated?(): void;
}

export interface EgressRecorder {
  /** Finalize the output and end (then `ended` is called). Idempotent. */
  stop(): void;
  /** Room composite: switch to another layout while recording. */
  updateLayout?(layout: LayoutSpec): void;
  /** UpdateStream: starts pushing to `add`, stops `remove` (URLs checked by the manager). */
  updateStream?(add: readonly string[], remove: readonly string[]): void;
  /** The stream URLs' states now. */
  streamResults?(): StreamInfo[];
  /** The stream URLs being pushed to now. */
  activeStreamUrls?(): string[];
}

export type RecorderFactory = (job: EgressJob, callbacks: RecorderCallbacks) => EgressRecorder;

/** A published track as the manager needs it. */
export interface TrackLookup {
  room: RoomInfo;
  publisherIdentity: string;
  track: TrackInfo;
}

export interface EgressManagerOptions {
  /** The live room named `roomName` (undefined: none), and its published track `trackSid` in it. */
  findRoom(roomName: string): RoomInfo | undefined;
  findTrack(roomName: string, trackSid: string): TrackLookup | undefined;
  /** The published tracks of the participant `identity` (undefined: no such participant in the live room). */
  findParticipantTracks(roomName: string, identity: string): TrackLookup[] | undefined;
  startRecorder: RecorderFactory;
  /** `egress.file_base_dir`: file outputs are written under it. */
  fileBaseDir: string;
  /** `egress.s3`: where outputs without an upload of their own are uploaded (none: kept local). */
  defaultS3?: S3Upload;
  clock: Clock;
  logger: Logger;
  notify?: (event: WebhookEvent) => void;
  /** Live egresses at most (default 16): each costs an ffmpeg process. */
  maxActive?: number;
  /** Ended egresses kept for ListEgress (default 200, oldest dropped first). */
  maxEnded?: number;
}

export interface ListEgressFilter {
  roomName?: string;
  egressId?: string;
  activeOnly?: boolean;
}

const TRACK_SOURCE_NAMES: Record<number, string> = {
  [TrackSource.UNKNOWN]: 'unknown',
  [TrackSource.CAMERA]: 'camera',
  [TrackSource.MICROPHONE]: 'microphone',
  [TrackSource.SCREEN_SHARE]: 'screen_share',
  [TrackSource.SCREEN_SHARE_AUDIO]: 'screen_share_audio',
};

interface Entry {
  record: EgressRecord;
  /** The egress ends when any of these tracks is unpublished. */
  trackSids: readonly string[];
  recorder: EgressRecorder | undefined;
  /** Set when the file is written, for the result. */
  filename: string;
  localPath: string;
  plan: OutputPlan;
}

export class EgressManager {
  private readonly opts: EgressManagerOptions;
  private readonly entries = new Map<string, Entry>();
  private readonly log: Logger;
  private isClosed = false;

  constructor(opts: EgressManagerOptions) {
    this.opts = opts;
    this.log = opts.logger;
  }

  private get nowMs(): number {
    return this.opts.clock.wallMs();
  }

  /** StartTrackEgress: validates, records STARTING and starts the recorder. Throws EgressError on bad requests. */
  startTrackEgress(req: TrackEgressRequest): EgressInfo {
    if (this.isClosed) throw new EgressError('unavailable', 'the server is shutting down');
    if (req.roomName === '') throw new EgressError('invalid_argument', 'room_name is required');
    if (req.trackId === '') throw new EgressError('invalid_argument', 'track_id is required');
    const output = req.output;
    if (output.case === 'websocketUrl') return this.startWebsocketEgress(req, output.value);
    if (output.case !== 'file') throw new EgressError('invalid_argument', 'an output is required (file or websocket_url)');
    const upload = this.uploadOf(output.value.output);
    if (req.webhooks.length > 0) throw new EgressError('unimplemented', 'per-request webhooks are not supported yet (the server webhook config gets egress events)');
    const room = this.opts.findRoom(req.roomName);
    if (!room) throw new EgressError('not_found', `room ${req.roomName} does not exist`);
    const found = this.opts.findTrack(req.roomName, req.trackId);
    if (!found) throw new EgressError('not_found', `track ${req.trackId} is not published in room ${req.roomName}`);
    const { track } = found;
    const mime = track.mimeType || track.codecs[0]?.mimeType || '';
    const container = containerForMime(mime);
    if (!container) throw new EgressError('unimplemented', `track egress of ${mime || 'this codec'} is not supported (Opus, VP8 and H.264 are)`);
    const format = rtpFormatForMime(mime)!;
    const filename = outputFilename(output.value.filepath, container.extension, this.templateValues(room, found));
    const localPath = joinPath(resolvePath(this.opts.fileBaseDir), filename);
    return this.launch({
      request: { case: 'track', value: req.clone() },
      room,
      tracks: [{ trackSid: track.sid, kind: track.type === TrackType.AUDIO ? 'audio' : 'video', format }],
      container,
      plan: { file: { filename, localPath, muxer: container.muxer, upload }, segments: undefined, stream: undefined, image: undefined },
      transcode: undefined,
    });
  }

  /**
   * StartTrackEgress to a `websocket_url`, as LiveKit's: an audio track decoded to raw PCM (s16le, 48 kHz, two channels
   * interleaved) in binary messages, and `{"muted": true|false}` text messages when the track is muted or unmuted.
   */
  private startWebsocketEgress(req: TrackEgressRequest, url: string): EgressInfo {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      throw new EgressError('invalid_argument', 'websocket_url is not a URL');
    }
    if (parsed.protocol !== 'ws:' && parsed.protocol !== 'wss:') throw new EgressError('invalid_argument', 'websocket_url must be a ws:// or wss:// URL');
    if (req.webhooks.length > 0) throw new EgressError('unimplemented', 'per-request webhooks are not supported yet (the server webhook config gets egress events)');
    const room = this.opts.findRoom(req.roomName);
    if (!room) throw new EgressError('not_found', `room ${req.roomName} does not exist`);
    const found = this.opts.findTrack(req.roomName, req.trackId);
    if (!found) throw new EgressError('not_found', `track ${req.trackId} is not published in room ${req.roomName}`);
    const mime = found.track.mimeType || found.track.codecs[0]?.mimeType || '';
    const format = rtpFormatForMime(mime);
    if (found.track.type !== TrackType.AUDIO || format?.encodingName !== 'opus') {
      throw new EgressError('invalid_argument', `a websocket_url takes an audio track (LiveKit's too); ${req.trackId} is ${mime || 'not audio'}`);
    }
    return this.launch({
      request: { case: 'track', value: req.clone() },
      room,
      tracks: [{ trackSid: found.track.sid, kind: 'audio', format }],
      container: { extension: '.ogg', muxer: 'ogg' },
      plan: { file: undefined, segments: undefined, stream: undefined, image: undefined },
      transcode: undefined,
      websocketUrl: url,
    });
  }

  /**
   * StartTrackCompositeEgress: one audio and/or one video track into one file, copied as they are (no transcoding):
   * VP8 (+ Opus) -> WebM, H.264 (+ Opus) -> MP4, Opus alone -> OGG.
   */
  startTrackCompositeEgress(req: TrackCompositeEgressRequest): EgressInfo {
    this.checkCommon(req);
    if (req.audioTrackId === '' && req.videoTrackId === '') throw new EgressError('invalid_argument', 'audio_track_id or video_track_id is required');
    this.checkHasOutput(req);
    const room = this.opts.findRoom(req.roomName);
    if (!room) throw new EgressError('not_found', `room ${req.roomName} does not exist`);
    const lookup = (sid: string, kind: TrackType): TrackLookup | undefined => {
      if (sid === '') return undefined;
      const found = this.opts.findTrack(req.roomName, sid);
      if (!found) throw new EgressError('not_found', `track ${sid} is not published in room ${req.roomName}`);
      if (found.track.type !== kind) throw new EgressError('invalid_argument', `track ${sid} is not ${kind === TrackType.AUDIO ? 'an audio' : 'a video'} track`);
      return found;
    };
    const audio = lookup(req.audioTrackId, TrackType.AUDIO);
    const video = lookup(req.videoTrackId, TrackType.VIDEO);
    return this.startComposite({ case: 'trackComposite', value: req.clone() }, room, audio, video, req);
  }

  /**
   * StartParticipantEgress: the participant's camera (or screen share with `screen_share`) and microphone (or screen
   * share audio) as they are published when the request comes, recorded like a track composite. Tracks published
   * later are not picked up (LiveKit's participant egress follows them; not built yet).
   */
  startParticipantEgress(req: ParticipantEgressRequest): EgressInfo {
    this.checkCommon(req);
    if (req.identity === '') throw new EgressError('invalid_argument', 'identity is required');
    this.checkHasOutput(req);
    const room = this.opts.findRoom(req.roomName);
    if (!room) throw new EgressError('not_found', `room ${req.roomName} does not exist`);
    const tracks = this.opts.findParticipantTracks(req.roomName, req.identity);
    if (!tracks) throw new EgressError('not_found', `participant ${req.identity} is not in room ${req.roomName}`);
    const bySource = (source: TrackSource): TrackLookup | undefined => tracks.find((t) => t.track.source === source);
    const video = bySource(req.screenShare ? TrackSource.SCREEN_SHARE : TrackSource.CAMERA);
    const audio = bySource(req.screenShare ? TrackSource.SCREEN_SHARE_AUDIO : TrackSource.MICROPHONE);
    if (!video && !audio) {
      throw new EgressError('failed_precondition', `participant ${req.identity} publishes no ${req.screenShare ? 'screen share' : 'camera or microphone'} track yet (egress of tracks published later is not supported yet)`);
    }
    return this.startComposite({ case: 'participant', value: req.clone() }, room, audio, video, { output: { case: undefined }, ...req });
  }

  /**
   * StartRoomCompositeEgress: every participant's camera and microphone, composed with a built-in layout (or the
   * microphones alone with `audio_only`) and encoded to H.264/AAC MP4 (or Opus OGG), following the room as it changes
   * (room-composite/room-composite-recorder.ts).
   */
  startRoomCompositeEgress(req: RoomCompositeEgressRequest): EgressInfo {
    // encoding options are the composite's own business (compositeSettings)
    this.checkCommon(req);
    this.checkHasOutput(req);
    const files = req.fileOutputs.length > 0 || req.output.case !== 'file' ? req.fileOutputs : [req.output.value];
    const wantsLive = req.streamOutputs.length + req.segmentOutputs.length > 0 || req.output.case === 'stream' || req.output.case === 'segments';
    // HLS and RTMP take AAC: without a file, the settings are those of an MP4 (an audio-only composite too)
    const settings = compositeSettings(req, files[0]?.fileType ?? (wantsLive ? EncodedFileType.MP4 : EncodedFileType.DEFAULT_FILETYPE));
    if (wantsLive && settings.encoding.audio?.codec === 'opus') {
      throw new EgressError('invalid_argument', 'HLS and RTMP outputs take AAC audio: not beside an OGG file or Opus audio');
    }
    const room = this.opts.findRoom(req.roomName);
    if (!room) throw new EgressError('not_found', `room ${req.roomName} does not exist`);
    const values: TemplateValues = {
      roomName: room.name, roomId: room.sid, trackId: '', trackSource: '', trackType: req.audioOnly ? 'audio' : 'video', publisherIdentity: '', now: new Date(this.nowMs),
    };
    const plan = normalizeOutputs(req, {
      baseDir: this.opts.fileBaseDir,
      values,
      // LiveKit's name for a composite without a path: `<room name>-<time>`
      stem: room.name,
      fileContainer: () => settings.encoding.container,
      defaultUpload: this.opts.defaultS3,
    });
    this.checkUploads(plan);
    if (plan.image && !settings.encoding.video) throw new EgressError('invalid_argument', 'an image output needs video (not audio_only)');
    return this.launch({ request: { case: 'roomComposite', value: req.clone() }, room, tracks: [], container: settings.encoding.container, plan, transcode: undefined, composite: settings });
  }

  /** UpdateLayout: another built-in layout for a live room composite with video. */
  updateLayout(egressId: string, layout: string): EgressInfo {
    if (egressId === '') throw new EgressError('invalid_argument', 'egress_id is required');
    const entry = this.entries.get(egressId);
    if (!entry) throw new EgressError('not_found', `egress ${egressId} does not exist`);
    const request = entry.record.info.request;
    if (request.case !== 'roomComposite') throw new EgressError('invalid_argument', `egress ${egressId} is not a room composite: only those have a layout`);
    if (request.value.audioOnly) throw new EgressError('invalid_argument', `egress ${egressId} is audio only: it has no layout`);
    if (!entry.record.isLive) throw new EgressError('failed_precondition', `egress ${egressId} has already ended`);
    const spec = layoutOrThrow(layout);
    entry.recorder?.updateLayout?.(spec);
    request.value.layout = layout;
    this.emit(WebhookEventName.egressUpdated, entry.record);
    return entry.record.info.clone();
  }

  /** What every composite-style request must satisfy before its tracks are looked at. */
  private checkCommon(req: { roomName: string; webhooks: unknown[] }): void {
    if (this.isClosed) throw new EgressError('unavailable', 'the server is shutting down');
    if (req.roomName === '') throw new EgressError('invalid_argument', 'room_name is required');
    if (req.webhooks.length > 0) throw new EgressError('unimplemented', 'per-request webhooks are not supported yet (the server webhook config gets egress events)');
  }

  /** Before any lookup: a request without an output is refused at once. */
  private checkHasOutput(req: { output?: { case: string | undefined }; fileOutputs: unknown[]; streamOutputs: unknown[]; segmentOutputs: unknown[]; imageOutputs: unknown[] }): void {
    if (req.output?.case === undefined && req.fileOutputs.length + req.streamOutputs.length + req.segmentOutputs.length + req.imageOutputs.length === 0) {
      throw new EgressError('invalid_argument', 'an output is required (file, stream, segments or image)');
    }
  }

  /** A file/segments/image output's upload: S3 (checked), none (`egress.s3` if configured), others refused. */
  private uploadOf(output: { case: string | undefined; value?: unknown }): S3Upload | undefined {
    if (output.case === undefined) return this.opts.defaultS3;
    if (output.case !== 's3') throw new EgressError('unimplemented', `upload to ${output.case} is not supported (s3 is; files are otherwise written under egress.file_base_dir)`);
    const why = checkS3Upload(output.value as S3Upload);
    if (why) throw new EgressError('invalid_argument', why);
    return output.value as S3Upload;
  }

  /** The uploads a request names are usable (the configured `egress.s3` was checked at start-up). */
  private checkUploads(plan: OutputPlan): void {
    for (const o of [plan.file, plan.segments, plan.image]) {
      const up = o?.upload;
      if (up && up !== this.opts.defaultS3) {
        const why = checkS3Upload(up);
        if (why) throw new EgressError('invalid_argument', why);
      }
    }
  }

  private startComposite(
    request: EgressInfo['request'], room: RoomInfo, audio: TrackLookup | undefined, video: TrackLookup | undefined,
    req: OutputsRequest & { options: { case: 'preset'; value: number } | { case: 'advanced'; value: import('@livekit/protocol').EncodingOptions } | { case: undefined; value?: undefined } },
  ): EgressInfo {
    const formatOf = (l: TrackLookup | undefined): RtpFormat | undefined => {
      if (!l) return undefined;
      const mime = l.track.mimeType || l.track.codecs[0]?.mimeType || '';
      const f = rtpFormatForMime(mime);
      if (!f) throw new EgressError('unimplemented', `egress of ${mime || 'this codec'} is not supported (Opus, VP8 and H.264 are)`);
      return f;
    };
    const audioFormat = formatOf(audio);
    const videoFormat = formatOf(video);
    // HLS and RTMP take H.264/AAC only, and encoding options ask for an encode: then the tracks are transcoded
    const wantsStreams = req.streamOutputs.length > 0 || req.segmentOutputs.length > 0 || req.output.case === 'stream' || req.output.case === 'segments';
    let transcode: EncodingSettings | undefined = wantsStreams || req.options.case !== undefined ? encodingSettings(req.options) : undefined;
    let container: OutputContainer = { extension: '.mp4', muxer: 'mp4' };
    const fileContainer = (fileType: EncodedFileType): OutputContainer => {
      if (!transcode) {
        const copied = compositeContainer(videoFormat, audioFormat, fileType);
        if (typeof copied !== 'string') return (container = copied);
        // VP8 into MP4: LiveKit's default, an H.264/AAC encode
        if (!(videoFormat && fileType === EncodedFileType.MP4)) throw new EgressError('unimplemented', copied);
        transcode = encodingSettings(req.options);
      }
      if (fileType !== EncodedFileType.DEFAULT_FILETYPE && fileType !== EncodedFileType.MP4) {
        throw new EgressError('unimplemented', `a transcoded recording (H.264/AAC, for HLS, RTMP or encoding options) is written as MP4 (${fileTypeName(fileType)} asked)`);
      }
      return (container = { extension: '.mp4', muxer: 'mp4' });
    };
    const first = (video ?? audio)!;
    const plan = normalizeOutputs(req, {
      baseDir: this.opts.fileBaseDir,
      values: this.templateValues(room, first),
      // LiveKit's name for a composite without a path: `<room name>-<time>`
      stem: room.name,
      fileContainer,
      defaultUpload: this.opts.defaultS3,
    });
    this.checkUploads(plan);
    if (plan.image && !video) throw new EgressError('invalid_argument', 'an image output needs a video track');
    if (needsH264Aac(plan) && !transcode) transcode = encodingSettings(req.options);
    const tracks: EgressJobTrack[] = [];
    if (video && videoFormat) tracks.push({ trackSid: video.track.sid, kind: 'video', format: videoFormat });
    if (audio && audioFormat) tracks.push({ trackSid: audio.track.sid, kind: 'audio', format: audioFormat });
    return this.launch({ request, room, tracks, container, plan, transcode });
  }

  private templateValues(room: RoomInfo, found: TrackLookup): TemplateValues {
    const { track } = found;
    return {
      roomName: room.name,
      roomId: room.sid,
      trackId: track.sid,
      trackSource: TRACK_SOURCE_NAMES[track.source] ?? 'unknown',
      trackType: track.type === TrackType.AUDIO ? 'audio' : 'video',
      publisherIdentity: found.publisherIdentity,
      now: new Date(this.nowMs),
    };
  }

  private launch(what: { request: EgressInfo['request']; room: RoomInfo; tracks: EgressJobTrack[]; container: OutputContainer; plan: OutputPlan; transcode: EncodingSettings | undefined; composite?: CompositeSettings; websocketUrl?: string }): EgressInfo {
    const { room, plan } = what;
    const live = [...this.entries.values()].filter((e) => e.record.isLive).length;
    if (live >= (this.opts.maxActive ?? 16)) throw new EgressError('resource_exhausted', `too many egresses running (${live})`);
    const base = resolvePath(this.opts.fileBaseDir);
    const filename = plan.file?.filename ?? plan.segments?.playlistName ?? plan.image?.prefix ?? '';
    const localPath = plan.file?.localPath ?? joinPath(base, filename);
    // two ffmpegs writing one file would leave neither recording readable (an egress that writes no file, e.g. only
    // streams or a websocket, collides with nothing)
    for (const e of this.entries.values()) {
      if (filename !== '' && e.record.isLive && e.localPath === localPath) throw new EgressError('already_exists', `egress ${e.record.info.egressId} is writing ${filename}`);
    }
    const egressId = `EG_${randomBase62(12)}`;
    // what ListEgress and webhooks show: stream keys masked, S3 credentials replaced (the recorder has the plan)
    const shown = what.request.value?.clone();
    if (shown) redactRequest(shown as Parameters<typeof redactRequest>[0]);
    const info = new EgressInfo({ egressId, roomId: room.sid, roomName: room.name, sourceType: EgressSourceType.SDK, request: { case: what.request.case, value: shown } as EgressInfo['request'] });
    const record = new EgressRecord(info, this.nowMs);
    const entry: Entry = { record, trackSids: what.tracks.map((t) => t.trackSid), recorder: undefined, filename, localPath, plan };
    this.entries.set(egressId, entry);
    this.prune();
    this.emit(WebhookEventName.egressStarted, record);
    const job: EgressJob = { egressId, roomName: room.name, tracks: what.tracks, container: what.container, localPath, plan, transcode: what.transcode, ...(what.composite ? { composite: what.composite } : {}), ...(what.websocketUrl !== undefined ? { websocketUrl: what.websocketUrl } : {}) };
    let isEnded = false;
    try {
      entry.recorder = this.opts.startRecorder(job, {
        active: () => {
          if (record.activate(this.nowMs)) this.emit(WebhookEventName.egressUpdated, record);
        },
        ended: (result) => {
          if (isEnded) return;
          isEnded = true;
          this.finish(entry, result);
        },
        updated: () => {
          const streams = entry.recorder?.streamResults?.();
          if (!streams || !entry.record.isLive) return;
          entry.record.info.streamResults = streams;
          entry.record.info.updatedAt = msToNs(this.nowMs);
          this.emit(WebhookEventName.egressUpdated, record);
        },
      });
    } catch (err) {
      isEnded = true;
      this.finish(entry, { error: `the recorder could not start: ${(err as Error).message}`, sizeBytes: 0, durationMs: 0 });
    }
    this.log.info({ egressId, room: room.name, tracks: entry.trackSids, file: localPath }, 'egress started');
    return info.clone();
  }

  private finish(entry: Entry, result: RecorderResult): void {
    const { record } = entry;
    entry.recorder = undefined;
    if (result.details !== undefined && record.info.details === '') record.info.details = result.details;
    const endedAt = msToNs(this.nowMs);
    const { plan } = entry;
    const out = result.outputs;
    const fileBytes = out?.file?.sizeBytes ?? result.sizeBytes;
    const file = plan.file
      ? new FileInfo({
        filename: plan.file.filename,
        location: out?.file?.location ?? plan.file.localPath,
        size: BigInt(Math.max(0, Math.round(fileBytes))),
        duration: msToNs(result.durationMs),
        startedAt: record.info.startedAt,
        endedAt,
      })
      : undefined;
    const info = record.info;
    if (plan.segments && out?.segments) info.segmentResults = [segmentsInfo(plan.segments, out.segments, info.startedAt, endedAt)];
    if (plan.image && out?.imageCount !== undefined) info.imageResults = [imagesInfo(plan.image, out.imageCount, info.startedAt, endedAt)];
    if (result.streams) info.streamResults = result.streams;
    // the deprecated single result, for an egress without a file
    if (!file && info.segmentResults[0]) info.result = { case: 'segments', value: info.segmentResults[0] };
    else if (!file && info.streamResults.length > 0) info.result = { case: 'stream', value: new StreamInfoList({ info: info.streamResults }) };
    const error = result.error ?? out?.error;
    const changed = error !== undefined
      ? record.hasStarted ? record.fail(this.nowMs, error, file) : record.abort(this.nowMs, error)
      : record.complete(this.nowMs, file && fileBytes > 0 ? file : undefined);
    if (!changed) return;
    this.log.info({ egressId: record.info.egressId, status: record.info.status, error: record.info.error || undefined, bytes: fileBytes }, 'egress ended');
    this.emit(WebhookEventName.egressEnded, record);
  }

  /** StopEgress: moves a live egress to ENDING and finalizes its output. */
  stopEgress(egressId: string, details = 'stopped by StopEgress'): EgressInfo {
    if (egressId === '') throw new EgressError('invalid_argument', 'egress_id is required');
    const entry = this.entries.get(egressId);
    if (!entry) throw new EgressError('not_found', `egress ${egressId} does not exist`);
    if (!entry.record.isLive) throw new EgressError('failed_precondition', `egress ${egressId} has already ended`);
    this.endEntry(entry, details);
    return entry.record.info.clone();
  }

  /** UpdateStream: adds and removes RTMP URLs of a live egress with a stream output; the other outputs go on. */
  updateStream(egressId: string, add: readonly string[], remove: readonly string[]): EgressInfo {
    if (egressId === '') throw new EgressError('invalid_argument', 'egress_id is required');
    const entry = this.entries.get(egressId);
    if (!entry) throw new EgressError('not_found', `egress ${egressId} does not exist`);
    if (!entry.record.isLive || entry.record.status === EgressStatus.EGRESS_ENDING) throw new EgressError('failed_precondition', `egress ${egressId} has already ended`);
    const recorder = entry.recorder;
    if (!entry.plan.stream || !recorder?.updateStream || !recorder.activeStreamUrls) throw new EgressError('failed_precondition', `egress ${egressId} has no stream output`);
    if (add.length === 0 && remove.length === 0) throw new EgressError('invalid_argument', 'add_output_urls or remove_output_urls is required');
    add.forEach(checkStreamUrl);
    const active = recorder.activeStreamUrls();
    for (const url of remove) if (!active.includes(url)) throw new EgressError('not_found', 'a url to remove is not streamed by this egress');
    for (const url of add) if (active.includes(url) && !remove.includes(url)) throw new EgressError('already_exists', 'a url to add is already streamed by this egress');
    if (active.length - remove.length + add.length > 8) throw new EgressError('invalid_argument', '8 stream urls at most');
    recorder.updateStream(add, remove);
    const streams = recorder.streamResults?.();
    if (streams) entry.record.info.streamResults = streams;
    entry.record.info.updatedAt = msToNs(this.nowMs);
    this.emit(WebhookEventName.egressUpdated, entry.record);
    return entry.record.info.clone();
  }

  private endEntry(entry: Entry, details: string): void {
    if (entry.record.ending(this.nowMs, details)) this.emit(WebhookEventName.egressUpdated, entry.record);
    entry.recorder?.stop();
  }

  listEgress(filter: ListEgressFilter = {}): EgressInfo[] {
    const out: EgressInfo[] = [];
    for (const [id, e] of this.entries) {
      if (filter.egressId && id !== filter.egressId) continue;
      if (filter.roomName && e.record.info.roomName !== filter.roomName) continue;
      if (filter.activeOnly && !e.record.isLive) continue;
      out.push(e.record.info.clone());
    }
    return out;
  }

  /** Ends egresses when their room closes or their track goes away. */
  roomEvents(): RoomEvents {
    return {
      roomFinished: (room) => {
        for (const e of this.entries.values()) if (e.record.isLive && e.record.info.roomName === room.name) this.endEntry(e, 'the room ended');
      },
      trackUnpublished: (room, _participant, track) => {
        for (const e of this.entries.values()) {
          if (e.record.isLive && e.record.info.roomName === room.name && e.trackSids.includes(track.sid)) this.endEntry(e, 'the track was unpublished');
        }
      },
    };
  }

  /** Live egresses count; tests and resources(). */
  get liveCount(): number {
    let n = 0;
    for (const e of this.entries.values()) if (e.record.isLive) n++;
    return n;
  }

  /** Stops every live egress (server shutdown) and waits until they ended, at most `timeoutMs`. */
  async close(timeoutMs = 5_000): Promise<void> {
    this.isClosed = true;
    for (const e of this.entries.values()) if (e.record.isLive) this.endEntry(e, 'the server shut down');
    // real time, not the injected clock: this waits for child processes to write their files
    const deadline = performance.now() + timeoutMs;
    while (this.liveCount > 0 && performance.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  }

  private prune(): void {
    const max = this.opts.maxEnded ?? 200;
    let ended = 0;
    for (const e of this.entries.values()) if (!e.record.isLive) ended++;
    for (const [id, e] of this.entries) {
      if (ended <= max) break;
      if (!e.record.isLive) {
        this.entries.delete(id);
        ended--;
      }
    }
  }

  private emit(name: Parameters<typeof buildEgressWebhookEvent>[0], record: EgressRecord): void {
    if (!this.opts.notify) return;
    try {
      this.opts.notify(buildEgressWebhookEvent(name, record.info));
    } catch (err) {
      this.log.warn({ err }, 'egress webhook failed');
    }
  }
}
