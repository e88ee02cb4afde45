// One track egress's media side: ffmpeg listening on loopback UDP, a hidden participant subscribed to the track, and
// the relay between them. Reports ACTIVE at the first packet written (a key frame for video) and, once, how it ended:
// finalized on stop(), or failed when ffmpeg dies, no media comes, or the participant loses its seat.
import { stat } from 'node:fs/promises';
import type { Logger } from '@atrium/webrtc';
import type { RemoteStream } from '@atrium/webrtc/pc/remote-stream.js';
import { EgressParticipant } from './egress-participant.js';
import { FfmpegMuxer } from './ffmpeg-muxer.js';
import { RtpRelay } from './rtp-relay.js';
import type { EgressRecorder, RecorderCallbacks, TrackEgressJob } from './egress-manager.js';

export interface TrackRecorderOptions {
  job: TrackEgressJob;
  callbacks: RecorderCallbacks;
  url: string;
  apiKey: string;
  apiSecret: string;
  ffmpegPath: string;
  logger: Logger;
  /** No media written this long after the start: the egress fails (default 15 s). */
  startTimeoutMs?: number;
}

const KEY_FRAME_REQUEST_INTERVAL_MS = 500;

export function startTrackRecorder(opts: TrackRecorderOptions): EgressRecorder {
  const recorder = new TrackRecorder(opts);
  void recorder.run();
  return recorder;
}

class TrackRecorder implements EgressRecorder {
  private readonly opts: TrackRecorderOptions;
  private readonly log: Logger;
  private muxer: FfmpegMuxer | undefined;
  private participant: EgressParticipant | undefined;
  private relay: RtpRelay | undefined;
  private isStopping = false;
  private isEnded = false;
  private failure: string | undefined;
  private endReason: string | undefined;
  private startTimer: NodeJS.Timeout | undefined;
  private lastKeyFrameRequestMs = -Infinity;

  constructor(opts: TrackRecorderOptions) {
    this.opts = opts;
    this.log = opts.logger;
  }

  async run(): Promise<void> {
    const { job } = this.opts;
    try {
      this.muxer = await FfmpegMuxer.start({ ffmpegPath: this.opts.ffmpegPath, container: job.container, outputPath: job.localPath, logger: this.log });
      this.log.debug({ pid: this.muxer.pid, port: this.muxer.port }, 'ffmpeg started');
      void this.muxer.exited.then((exit) => {
        if (!exit.isClean && !this.isStopping) this.fail(exit.reason);
      });
      if (this.isStopping) return this.finish();
      this.startTimer = setTimeout(() => {
        if (!this.relay || this.relay.packetsSent === 0) this.fail(`no media from track ${job.trackSid} within ${(this.opts.startTimeoutMs ?? 15_000) / 1000} s`);
      }, this.opts.startTimeoutMs ?? 15_000);
      this.startTimer.unref();
      this.participant = await EgressParticipant.join({
        url: this.opts.url,
        apiKey: this.opts.apiKey,
        apiSecret: this.opts.apiSecret,
        roomName: job.roomName,
        identity: job.egressId,
        trackSid: job.trackSid,
        logger: this.log,
        onStream: (s) => this.onStream(s),
        // removed from the room (it closed, or the API removed it): the recording ends like a stop, as LiveKit's does
        onLost: (why) => this.endWith(`the egress participant left the room: ${why}`),
      });
      // stopped or failed while joining: finish() ran without the participant
      if (this.isEnded) await this.participant.leave();
      else if (this.isStopping) await this.finish();
    } catch (err) {
      this.fail((err as Error).message);
    }
  }

  private onStream(stream: RemoteStream): RemoteStream['onRtp'] {
    const muxer = this.muxer;
    const codec = stream.primaryCodec;
    if (!muxer || this.relay) return () => {};
    const relay = new RtpRelay({ mimeType: codec?.mimeType ?? this.opts.job.container.encodingName, clockRate: stream.clockRate, port: muxer.port });
    this.relay = relay;
    relay.onStart = () => {
      this.log.debug('first packet written');
      this.opts.callbacks.active();
    };
    relay.onNeedKeyFrame = () => {
      const now = performance.now();
      if (now - this.lastKeyFrameRequestMs < KEY_FRAME_REQUEST_INTERVAL_MS) return;
      this.lastKeyFrameRequestMs = now;
      this.participant?.requestKeyFrame(stream);
    };
    if (this.opts.job.kind === 'video') relay.onNeedKeyFrame();
    return (buf, h) => relay.handle(buf, h);
  }

  stop(): void {
    if (this.isStopping) return;
    this.isStopping = true;
    // run() finishes when it is still starting; otherwise finish now
    if (this.muxer) void this.finish();
  }

  private endWith(reason: string): void {
    if (this.isEnded || this.isStopping) return;
    this.log.info({ reason }, 'egress ending');
    this.endReason = reason;
    this.stop();
  }

  private fail(reason: string): void {
    if (this.isEnded || this.failure !== undefined) return;
    this.failure = reason;
    this.log.warn({ reason }, 'egress failed');
    this.isStopping = true;
    void this.finish();
  }

  private async finish(): Promise<void> {
    if (this.isEnded) return;
    this.isEnded = true;
    clearTimeout(this.startTimer);
    const participant = this.participant;
    const relay = this.relay;
    // media keeps flowing until ffmpeg has finished: it reads its 'q' only between packets
    const exit = this.muxer ? await this.muxer.stop() : undefined;
    relay?.close();
    await participant?.leave().catch(() => {});
    let sizeBytes = 0;
    try {
      sizeBytes = (await stat(this.opts.job.localPath)).size;
    } catch {
      // no file: nothing was written
    }
    const durationMs = relay?.durationMs ?? 0;
    if (relay && relay.packetsDropped > 0) this.log.warn({ dropped: relay.packetsDropped, sent: relay.packetsSent }, 'egress dropped packets: ffmpeg was not keeping up');
    const error = this.failure ?? (exit && !exit.isClean ? exit.reason : undefined);
    this.opts.callbacks.ended({ ...(error !== undefined ? { error } : {}), ...(this.endReason !== undefined ? { details: this.endReason } : {}), sizeBytes, durationMs });
  }
}
