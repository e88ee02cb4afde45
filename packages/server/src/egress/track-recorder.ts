// One egress's media side: ffmpeg listening on loopback UDP (a port per track), a hidden participant subscribed to
// the tracks, and a relay per track between them (RTP, and the sender reports ffmpeg aligns the tracks with).
// Reports ACTIVE at the first packet written (a key frame for video) and, once, how it ended: finalized on stop(), or
// failed when ffmpeg dies or no media comes; removed from the room, it ends like a stop.
import { dirname, join as joinPath } from 'node:path';
import type { RemoteStream } from '@atrium/webrtc/pc/remote-stream.js';
import type { EgressParticipant } from './egress-participant.js';
import { FfmpegMuxer } from './ffmpeg-muxer.js';
import { RtpRelay } from './rtp-relay.js';
import type { EgressJob, EgressRecorder } from './egress-manager.js';
import { RecorderLifecycle, throttled } from './recorder-lifecycle.js';
import type { RecorderOptions } from './recorder-lifecycle.js';
import { encoderArgs, ffmpegOutputArgs, scaleFilter } from './egress-outputs.js';
import { JobOutputs } from './job-outputs.js';

/**
 * ffmpeg's arguments after the SDP input for a job: the tracks copied (file, images), or decoded and encoded to
 * H.264/AAC at the job's settings (HLS, RTMP, MP4 from VP8, encoding options), then the plan's outputs.
 */
export function trackOutputArgs(job: EgressJob): string[] {
  const video = job.tracks.findIndex((t) => t.kind === 'video');
  const audio = job.tracks.findIndex((t) => t.kind === 'audio');
  const { plan } = job;
  const encoded: string[] = [];
  if (plan.file || plan.segments || plan.stream) {
    const maps = job.tracks.flatMap((_t, i) => ['-map', `0:${i}`]);
    if (job.transcode) {
      encoded.push(...maps);
      if (video >= 0) encoded.push('-filter:v', scaleFilter(job.transcode));
      // a gap in the audio (packets lost, a mute) becomes silence, so audio keeps its place against the video; no
      // stretching (async=1: gaps filled, never resampled faster or slower, which would shift the pitch)
      if (audio >= 0) encoded.push('-filter:a', 'aresample=async=1');
      encoded.push(...encoderArgs(job.transcode, { video: video >= 0, audio: audio >= 0 }), '-flags', '+global_header');
    } else {
      encoded.push(...maps, '-c', 'copy');
    }
  }
  return [...encoded, ...ffmpegOutputArgs(plan, { videoInput: video >= 0 ? `0:${video}` : undefined })];
}

export interface TrackRecorderOptions extends RecorderOptions {
  /** No media written this long after the start: the egress fails (default 15 s). */
  startTimeoutMs?: number;
}

const KEY_FRAME_REQUEST_INTERVAL_MS = 500;

export function startTrackRecorder(opts: TrackRecorderOptions): EgressRecorder {
  const recorder = new TrackRecorder(opts);
  void recorder.run();
  return recorder;
}

class TrackRecorder extends RecorderLifecycle {
  private readonly opts: TrackRecorderOptions;
  private muxer: FfmpegMuxer | undefined;
  private participant: EgressParticipant | undefined;
  private readonly relays = new Map<string, RtpRelay>();
  private isActive = false;
  private startTimer: NodeJS.Timeout | undefined;

  constructor(opts: TrackRecorderOptions) {
    super(opts.logger, opts.callbacks);
    this.opts = opts;
    this.outputs = new JobOutputs(opts.job.plan, { ffmpegPath: opts.ffmpegPath, logger: this.log, onStreamsChanged: () => opts.callbacks.updated?.() });
  }

  // run() finishes when it is still starting
  protected get canFinish(): boolean {
    return this.muxer !== undefined;
  }


  async run(): Promise<void> {
    const { job } = this.opts;
    try {
      const { plan } = job;
      const dirs = [plan.file?.localPath, plan.segments && joinPath(plan.segments.localDir, plan.segments.segmentPrefix), plan.image && joinPath(plan.image.localDir, plan.image.prefix)]
        .filter((p): p is string => p !== undefined).map((p) => dirname(p));
      this.muxer = await FfmpegMuxer.start({
        ffmpegPath: this.opts.ffmpegPath, formats: job.tracks.map((t) => t.format), outputPath: job.localPath, logger: this.log,
        outputArgs: trackOutputArgs(job), extraDirs: dirs, pipeStdout: this.outputs?.wantsStdout === true,
      });
      // a full disk, or an upload that failed while recording (a segment), ends the egress: FAILED with the reason
      this.muxer.onWriteError = (line) => this.fail(`ffmpeg could not write its output: ${line}`);
      this.outputs?.start(this.muxer.stdout ?? undefined, (why) => this.fail(why));
      this.log.debug({ pid: this.muxer.pid, ports: this.muxer.ports }, 'ffmpeg started');
      void this.muxer.exited.then((exit) => {
        if (!exit.isClean && !this.isStopping) this.fail(exit.reason);
      });
      if (this.isStopping) return this.finish();
      const startTimeoutMs = this.opts.startTimeoutMs ?? 15_000;
      this.startTimer = setTimeout(() => {
        if (!this.isActive) this.fail(`no media from ${job.tracks.map((t) => t.trackSid).join(', ')} within ${startTimeoutMs / 1000} s`);
      }, startTimeoutMs);
      this.startTimer.unref();
      this.participant = await this.joinRoom(this.opts, {
        trackSids: job.tracks.map((t) => t.trackSid),
        onStream: (s, trackSid) => this.onStream(s, trackSid),
      });
      // stopped or failed while joining: finish() ran without the participant
      if (this.isEnded) await this.participant.leave();
      else if (this.isStopping) await this.finish();
    } catch (err) {
      this.fail((err as Error).message);
    }
  }

  private onStream(stream: RemoteStream, trackSid: string): RemoteStream['onRtp'] {
    const muxer = this.muxer;
    const index = this.opts.job.tracks.findIndex((t) => t.trackSid === trackSid);
    const track = this.opts.job.tracks[index];
    if (!muxer || !track || this.relays.has(trackSid)) return () => {};
    const relay = new RtpRelay({ mimeType: stream.primaryCodec?.mimeType ?? `${track.kind}/${track.format.encodingName}`, clockRate: stream.clockRate, port: muxer.ports[index]! });
    this.relays.set(trackSid, relay);
    relay.onStart = () => {
      this.log.debug({ track: trackSid }, 'first packet written');
      if (this.isActive) return;
      this.isActive = true;
      this.opts.callbacks.active();
    };
    relay.onNeedKeyFrame = throttled(() => this.participant?.requestKeyFrame(stream), KEY_FRAME_REQUEST_INTERVAL_MS);
    stream.onRtcp = (pkt) => {
      if (pkt.type === 'sr') relay.forwardSenderReport(pkt);
    };
    if (track.kind === 'video') relay.onNeedKeyFrame();
    return (buf, h) => relay.handle(buf, h);
  }

  protected async finish(): Promise<void> {
    if (this.isEnded) return;
    this.isEnded = true;
    clearTimeout(this.startTimer);
    const participant = this.participant;
    // media keeps flowing until ffmpeg has finished: it reads its 'q' only between packets (a silent track is woken)
    const relays = [...this.relays.values()];
    const exit = this.muxer ? await this.muxer.stop(() => relays.map((r) => r.wake()).some(Boolean)) : undefined;
    for (const relay of this.relays.values()) relay.close();
    await participant?.leave().catch(() => {});
    // the encoder's stdout ended: each stream's FLV is finished; the files are measured and uploaded
    const done = await this.outputs?.finish();
    let durationMs = 0;
    for (const [track, relay] of this.relays) {
      durationMs = Math.max(durationMs, relay.durationMs);
      if (relay.packetsDropped > 0) this.log.warn({ track, dropped: relay.packetsDropped, sent: relay.packetsSent }, 'egress dropped packets: ffmpeg was not keeping up');
    }
    this.report({ sizeBytes: done?.outputs.file?.sizeBytes ?? 0, durationMs, ...done }, exit && !exit.isClean ? exit.reason : undefined);
  }
}
