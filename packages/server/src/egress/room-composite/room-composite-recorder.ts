// A room composite egress's media side: the hidden egress participant follows the room (every participant's camera
// and microphone, subscribed as they are published, dropped as they go), a decoder ffmpeg per track turns their RTP
// into raw frames and PCM, and on a wall clock the compositor draws the layout and the mixer mixes the microphones,
// handing fixed-rate video and audio to the encoder ffmpeg. The clock never waits for media: nothing arriving (an
// empty room, a muted camera) still gives frames and silence, so the file keeps the wall time.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ParticipantInfo_Kind, ParticipantInfo_State, TrackSource, TrackType } from '@livekit/protocol';
import type { ParticipantInfo, SpeakerInfo, TrackInfo } from '@livekit/protocol';
import type { Logger } from '@atrium/webrtc';
import type { RemoteStream } from '@atrium/webrtc/pc/remote-stream.js';
import type { EgressParticipant } from '../egress-participant.js';
import type { SignalMessage } from '../egress-participant.js';
import type { EgressRecorder } from '../egress-manager.js';
import { RecorderLifecycle, throttled } from '../recorder-lifecycle.js';
import type { RecorderOptions } from '../recorder-lifecycle.js';
import { RtpRelay } from '../rtp-relay.js';
import { JobOutputs } from '../job-outputs.js';
import { rtpFormatForMime } from '../track-container.js';
import { AudioMixer, SAMPLE_RATE } from './audio-mixer.js';
import { CompositeEncoder } from './composite-encoder.js';
import type { CompositeSettings } from './composite-request.js';
import { Compositor } from './compositor.js';
import { describeExit } from './ffmpeg-child.js';
import { MAX_GRID_TILES } from './layout.js';
import type { LayoutSpec } from './layout.js';
import { TrackDecoder } from './track-decoder.js';

export interface RoomCompositeRecorderOptions extends RecorderOptions {
  settings: CompositeSettings;
}

const TICK_MS = 10;
const AUDIO_CHUNK_MS = 20;
const AUDIO_CHUNK_FRAMES = (SAMPLE_RATE * AUDIO_CHUNK_MS) / 1000;
/** Audio chunks owed (the pipe full) beyond this are dropped, counted: the mixer's queues hold no more anyway. */
const MAX_AUDIO_OWED_MS = 1_000;
/** At the stop, the audio still owed and a last frame go to the encoder first, for at most this long. */
const FLUSH_TIMEOUT_MS = 10_000;
const KEY_FRAME_REQUEST_INTERVAL_MS = 500;
/** A decoder that dies on its own is restarted this many times per track at most. */
const MAX_DECODER_RESTARTS = 3;
const ENCODER_START_TIMEOUT_MS = 10_000;
/** Microphones mixed at most (the first to join): each is a decoder process. */
const MAX_MIXED_MICROPHONES = 32;

interface RoomParticipant {
  sid: string;
  identity: string;
  /** Join time (ms when the server gives it, else s), then first sight: the grid's order. */
  joinedAt: bigint;
  seen: number;
  camera: TrackInfo | undefined;
  microphone: TrackInfo | undefined;
}

interface TrackState {
  sid: string;
  kind: 'audio' | 'video';
  identity: string;
  stream: RemoteStream | undefined;
  relay: RtpRelay | undefined;
  decoder: TrackDecoder | undefined;
  restarts: number;
  isClosed: boolean;
}

export function startRoomCompositeRecorder(opts: RoomCompositeRecorderOptions): EgressRecorder {
  const r = new RoomCompositeRecorder(opts);
  void r.run();
  return r;
}

/** The camera and microphone a participant is shown and heard with (screen shares are not composed yet). */
function pickTracks(info: ParticipantInfo): { camera: TrackInfo | undefined; microphone: TrackInfo | undefined } {
  const video = info.tracks.filter((t) => t.type === TrackType.VIDEO && t.source !== TrackSource.SCREEN_SHARE);
  const audio = info.tracks.filter((t) => t.type === TrackType.AUDIO && t.source !== TrackSource.SCREEN_SHARE_AUDIO);
  return {
    camera: video.find((t) => t.source === TrackSource.CAMERA) ?? video[0],
    microphone: audio.find((t) => t.source === TrackSource.MICROPHONE) ?? audio[0],
  };
}

class RoomCompositeRecorder extends RecorderLifecycle {
  private readonly opts: RoomCompositeRecorderOptions;
  private readonly compositor: Compositor | undefined;
  private readonly mixer: AudioMixer | undefined;
  private encoder: CompositeEncoder | undefined;
  private participant: EgressParticipant | undefined;
  private readonly people = new Map<string, RoomParticipant>();
  private readonly tracks = new Map<string, TrackState>();
  private readonly speakerLevels = new Map<string, number>();
  private seenCount = 0;
  private hasHadPeople = false;
  private speaker: string | undefined;
  private workDir = '';
  private timer: NodeJS.Timeout | undefined;
  private startMs = 0;
  /** The next video frame's index on the timeline; frames skipped (the pipe full: the encoder repeats the last). */
  private nextFrame = 0;
  private framesSkipped = 0;
  /** Audio chunks of the timeline done (written or dropped), and dropped. */
  private chunksDone = 0;
  private chunksDropped = 0;
  private isActive = false;

  constructor(opts: RoomCompositeRecorderOptions) {
    super(opts.logger, opts.callbacks);
    this.opts = opts;
    this.outputs = new JobOutputs(opts.job.plan, { ffmpegPath: opts.ffmpegPath, logger: this.log, onStreamsChanged: () => opts.callbacks.updated?.() });
    const { video, audio } = opts.settings.encoding;
    this.compositor = video ? new Compositor(video, opts.settings.layout) : undefined;
    this.mixer = audio ? new AudioMixer() : undefined;
  }

  async run(): Promise<void> {
    const { job } = this.opts;
    try {
      this.workDir = await mkdtemp(join(tmpdir(), `atrium-${job.egressId}-`));
      this.encoder = await CompositeEncoder.start({
        ffmpegPath: this.opts.ffmpegPath, encoding: this.opts.settings.encoding, outputPath: job.localPath, logger: this.log.child({ ffmpegRole: 'encoder' }), plan: job.plan,
      });
      this.log.debug({ pid: this.encoder.pid }, 'composite encoder started');
      this.encoder.onWriteError = (line) => this.fail(`the encoder ffmpeg could not write its output: ${line}`);
      // an upload that failed while recording (a segment) ends the egress: FAILED with the reason
      this.outputs?.start(this.encoder.stdout, (why) => this.fail(why));
      void this.encoder.exited.then((exit) => {
        if (!this.isStopping) this.fail(describeExit('the encoder ffmpeg', exit));
      });
      if (this.isStopping) return this.finish();
      this.participant = await this.joinRoom(this.opts, {
        trackSids: [],
        onStream: (s, trackSid) => this.onStream(s, trackSid),
        onJoin: (join) => this.applyParticipants(join.otherParticipants),
        onRoomSignal: (msg) => this.onRoomSignal(msg),
      });
      if (this.isEnded) return void (await this.participant.leave());
      if (this.isStopping) return this.finish();
      this.syncTracks();
      await this.startClock();
    } catch (err) {
      this.fail((err as Error).message);
    }
  }

  // run() finishes when it is still starting (before the participant joined)
  protected get canFinish(): boolean {
    return this.participant !== undefined;
  }

  updateLayout(spec: LayoutSpec): void {
    this.compositor?.setLayout(spec);
  }


  // --- the room ---

  private onRoomSignal(msg: SignalMessage): void {
    if (msg.case === 'update') this.applyParticipants(msg.value.participants);
    else if (msg.case === 'speakersChanged') this.applySpeakers(msg.value.speakers);
  }

  private applyParticipants(infos: readonly ParticipantInfo[]): void {
    for (const info of infos) {
      const gone = info.state === ParticipantInfo_State.DISCONNECTED;
      // other recorders and agents-as-egress are not part of the picture; neither is anyone hidden
      if (gone || info.kind === ParticipantInfo_Kind.EGRESS || info.permission?.hidden === true || info.identity === this.opts.job.egressId) {
        this.people.delete(info.sid);
        this.speakerLevels.delete(info.sid);
        continue;
      }
      const seen = this.people.get(info.sid)?.seen ?? this.seenCount++;
      const joinedAt = info.joinedAtMs > 0n ? info.joinedAtMs : info.joinedAt * 1000n;
      this.people.set(info.sid, { sid: info.sid, identity: info.identity, joinedAt, seen, ...pickTracks(info) });
    }
    // before the participant exists (the join's snapshot), syncTracks runs once it does
    if (this.participant) this.syncTracks();
    // LiveKit's room composite stops when every participant has left (not when it starts in an empty room)
    if (this.people.size > 0) this.hasHadPeople = true;
    else if (this.hasHadPeople && this.participant) this.endWith('all participants left the room');
  }

  private applySpeakers(speakers: readonly SpeakerInfo[]): void {
    for (const s of speakers) {
      if (s.active && s.level > 0) this.speakerLevels.set(s.sid, s.level);
      else this.speakerLevels.delete(s.sid);
    }
    let loudest: string | undefined;
    let level = 0;
    for (const [sid, l] of this.speakerLevels) {
      if (l > level && this.people.has(sid)) {
        loudest = sid;
        level = l;
      }
    }
    // the last speaker stays large through silence, as LiveKit's speaker layout does
    if (loudest !== undefined) this.speaker = this.people.get(loudest)!.identity;
    this.refreshPicture();
  }

  /** Subscribes to new cameras/microphones, drops tracks no longer published, refreshes the layout. */
  private syncTracks(): void {
    const want = new Map<string, { kind: 'audio' | 'video'; identity: string }>();
    // each track costs a decoder process: the cameras a layout can show at most, a bounded number of microphones
    let cameras = 0;
    let microphones = 0;
    for (const p of this.joinOrder()) {
      if (this.compositor && p.camera && cameras++ < MAX_GRID_TILES) want.set(p.camera.sid, { kind: 'video', identity: p.identity });
      if (this.mixer && p.microphone && microphones++ < MAX_MIXED_MICROPHONES) want.set(p.microphone.sid, { kind: 'audio', identity: p.identity });
    }
    const added: string[] = [];
    for (const [sid, w] of want) {
      if (this.tracks.has(sid)) continue;
      this.tracks.set(sid, { sid, kind: w.kind, identity: w.identity, stream: undefined, relay: undefined, decoder: undefined, restarts: 0, isClosed: false });
      added.push(sid);
    }
    const removed: string[] = [];
    for (const [sid, t] of this.tracks) {
      if (want.has(sid)) continue;
      this.closeTrack(t);
      this.tracks.delete(sid);
      removed.push(sid);
    }
    if (added.length > 0 || removed.length > 0) this.log.debug({ added, removed }, 'composite tracks');
    this.participant?.subscribe(added, true);
    this.participant?.subscribe(removed, false);
    this.refreshPicture();
  }

  private joinOrder(): RoomParticipant[] {
    return [...this.people.values()].sort((a, b) => (a.joinedAt < b.joinedAt ? -1 : a.joinedAt > b.joinedAt ? 1 : a.seen - b.seen));
  }

  private refreshPicture(): void {
    if (!this.compositor) return;
    const people = this.joinOrder();
    this.compositor.setParticipants(people.map((p) => ({ identity: p.identity })));
    this.compositor.setSpeaker(this.speaker);
    // a muted (or unpublished) camera shows the placeholder, not its last frame
    for (const p of people) if (!p.camera || p.camera.muted) this.compositor.setFrame(p.identity, undefined);
  }

  private mutedMicrophones(): Set<string> {
    const muted = new Set<string>();
    for (const p of this.people.values()) if (p.microphone?.muted) muted.add(p.microphone.sid);
    return muted;
  }

  // --- media in ---

  private onStream(stream: RemoteStream, trackSid: string): RemoteStream['onRtp'] {
    const t = this.tracks.get(trackSid);
    if (!t || t.stream) return () => {};
    t.stream = stream;
    stream.onRtcp = () => {};
    void this.startDecoder(t);
    return (buf, h) => t.relay?.handle(buf, h);
  }

  private async startDecoder(t: TrackState): Promise<void> {
    const stream = t.stream!;
    const mime = stream.primaryCodec?.mimeType ?? '';
    const format = rtpFormatForMime(mime);
    if (!format) {
      this.log.warn({ track: t.sid, mime }, 'composite: a track in a codec we cannot decode is left out');
      return;
    }
    const { video } = this.opts.settings.encoding;
    let decoder: TrackDecoder;
    try {
      decoder = await TrackDecoder.start({
        ffmpegPath: this.opts.ffmpegPath,
        format,
        workDir: this.workDir,
        videoSize: decodeSize(video ?? { width: 1280, height: 720 }),
        logger: this.log.child({ ffmpegRole: 'decoder', track: t.sid }),
        onData: (data) => this.onDecoded(t, data),
      });
    } catch (err) {
      this.log.warn({ err, track: t.sid }, 'composite: the track decoder did not start');
      return;
    }
    if (t.isClosed || this.isEnded) return decoder.stop();
    t.decoder = decoder;
    const relay = new RtpRelay({ mimeType: mime, clockRate: stream.clockRate, port: decoder.port });
    relay.onNeedKeyFrame = throttled(() => this.participant?.requestKeyFrame(stream), KEY_FRAME_REQUEST_INTERVAL_MS);
    t.relay = relay;
    if (t.kind === 'video') relay.onNeedKeyFrame();
    void decoder.exited.then((exit) => {
      relay.close();
      if (t.relay === relay) t.relay = undefined;
      if (t.decoder === decoder) t.decoder = undefined;
      if (t.isClosed || this.isStopping) return;
      // died on its own: start another (it begins at the next key frame), a few times at most
      this.log.warn({ track: t.sid, reason: describeExit('the decoder ffmpeg', exit) }, 'composite: a track decoder died');
      if (t.restarts++ < MAX_DECODER_RESTARTS) void this.startDecoder(t);
    });
  }

  private onDecoded(t: TrackState, data: Buffer): void {
    if (t.isClosed) return;
    if (t.kind === 'audio') return this.mixer?.push(t.sid, data);
    const person = [...this.people.values()].find((p) => p.camera?.sid === t.sid);
    if (!this.compositor || !person || person.camera?.muted) return;
    this.compositor.setFrame(t.identity, { ...decodeSize(this.compositor), data });
  }

  private closeTrack(t: TrackState): void {
    t.isClosed = true;
    t.decoder?.stop();
    t.relay?.close();
    if (t.kind === 'audio') this.mixer?.remove(t.sid);
    else this.compositor?.setFrame(t.identity, undefined);
  }

  // --- the clock ---

  /**
   * Starts the wall clock once the encoder reads: ffmpeg takes a moment (more on a busy machine) before it reads its
   * first frame, and frames owed for that moment would be dropped as the encoder "falling behind".
   */
  private async startClock(): Promise<void> {
    const encoder = this.encoder!;
    this.startMs = performance.now();
    this.tick();
    const deadline = performance.now() + ENCODER_START_TIMEOUT_MS;
    while (!encoder.isDrained()) {
      if (this.isStopping) return;
      if (performance.now() > deadline) return this.fail(`the encoder ffmpeg read nothing within ${ENCODER_START_TIMEOUT_MS / 1000} s`);
      await new Promise((r) => setTimeout(r, 10));
    }
    // the first frame (and audio chunk) is the start of the timeline
    this.startMs = performance.now();
    this.timer = setInterval(() => this.tick(), TICK_MS);
    // ACTIVE from here: the file's time runs with the wall clock from now on
    this.isActive = true;
    this.callbacks.active();
  }

  private tick(): void {
    if (!this.encoder || this.isStopping) return;
    this.writeDue(performance.now() - this.startMs);
  }

  /**
   * Writes what is due at `elapsed` ms of the timeline: the newest video frame (one per frame period; when the pipe is
   * full it is skipped, and the encoder repeats the previous one at its time), and every audio chunk due, each
   * stamped with its place on the timeline. True when nothing due is left unwritten.
   */
  private writeDue(elapsed: number): boolean {
    const encoder = this.encoder!;
    let isDone = true;
    const { video } = this.opts.settings.encoding;
    if (this.compositor && video) {
      const index = Math.floor((elapsed * video.fps) / 1000);
      if (index >= this.nextFrame) {
        if (encoder.canWriteVideo()) {
          encoder.writeVideo(this.compositor.compose(), (index * 1000) / video.fps);
          this.framesSkipped += index - this.nextFrame;
          this.nextFrame = index + 1;
        } else {
          isDone = false;
        }
      }
    }
    if (this.mixer) {
      const due = Math.floor(elapsed / AUDIO_CHUNK_MS) + 1;
      const maxOwed = Math.ceil(MAX_AUDIO_OWED_MS / AUDIO_CHUNK_MS);
      if (due - this.chunksDone > maxOwed) {
        this.chunksDropped += due - this.chunksDone - maxOwed;
        this.chunksDone = due - maxOwed;
      }
      const muted = this.mutedMicrophones();
      while (this.chunksDone < due && encoder.canWriteAudio()) {
        encoder.writeAudio(this.mixer.mix(AUDIO_CHUNK_FRAMES, muted), this.chunksDone * AUDIO_CHUNK_MS);
        this.chunksDone++;
      }
      if (this.chunksDone < due) isDone = false;
    }
    return isDone;
  }

  /** At the stop: the audio owed and a frame at the stop's time go to the encoder first, so the file lasts the wall time. */
  private async flushOwed(): Promise<void> {
    const encoder = this.encoder;
    if (!encoder || !this.isActive || this.failure !== undefined) return;
    const elapsed = performance.now() - this.startMs;
    const deadline = performance.now() + FLUSH_TIMEOUT_MS;
    while (encoder.isRunning && !this.writeDue(elapsed) && performance.now() < deadline) await new Promise((r) => setTimeout(r, 5));
  }

  // --- the end ---

  protected async finish(): Promise<void> {
    if (this.isEnded) return;
    this.isEnded = true;
    clearInterval(this.timer);
    await this.flushOwed();
    const exit = this.encoder ? await this.encoder.stop() : undefined;
    for (const t of this.tracks.values()) this.closeTrack(t);
    await this.participant?.leave().catch(() => {});
    if (this.workDir) await rm(this.workDir, { recursive: true, force: true }).catch(() => {});
    const { video } = this.opts.settings.encoding;
    // the file's timeline: the wall time recorded (skipped frames are repeats, not gaps)
    const durationMs = video ? (this.nextFrame * 1000) / video.fps : (this.chunksDone - this.chunksDropped) * AUDIO_CHUNK_MS;
    if (this.framesSkipped > 0 || this.chunksDropped > 0) {
      this.log.warn({ framesSkipped: this.framesSkipped, frames: this.nextFrame, audioChunksDropped: this.chunksDropped }, 'composite: the encoder did not keep up');
    }
    const unclean = exit && (exit.code !== 0 || exit.signal !== null || exit.writeError !== undefined) ? describeExit('the encoder ffmpeg', exit) : undefined;
    // the encoder's stdout ended: each stream's FLV is finished; then the outputs are measured and uploaded
    const done = await this.outputs?.finish();
    this.report({ sizeBytes: done?.outputs.file?.sizeBytes ?? 0, durationMs, ...done }, unclean);
  }
}

/**
 * The size tracks are decoded at: half the output in each direction (a 2x2 grid tile at 720p is exactly that);
 * larger tiles (the speaker's) are scaled up from it. Keeps four decoders' raw output near 40 MB/s at 720p30.
 */
export function decodeSize(out: { width: number; height: number }): { width: number; height: number } {
  const even = (v: number): number => Math.max(16, Math.floor(v / 4) * 2);
  return { width: even(out.width), height: even(out.height) };
}
