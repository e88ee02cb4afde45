// How every recorder ends, shared by the track recorder and the room composite recorder: stop() (finalize), endWith()
// (ended on its own, e.g. removed from the room: like a stop, with the reason as details) and fail() (a failure with
// its reason), each leading to one finish(), which reports through one `ended` callback (with the outputs' results).
import type { Logger } from '@atrium/webrtc';
import type { StreamInfo } from '@livekit/protocol';
import type { EgressJob, EgressRecorder, RecorderCallbacks, RecorderResult } from './egress-manager.js';
import type { JobOutputs } from './job-outputs.js';
import { EgressParticipant } from './egress-participant.js';
import type { EgressParticipantOptions } from './egress-participant.js';

/** What every recorder is started with. */
export interface RecorderOptions {
  job: EgressJob;
  callbacks: RecorderCallbacks;
  /** ws://host:port of this server, and the key the egress participant joins with. */
  url: string;
  apiKey: string;
  apiSecret: string;
  ffmpegPath: string;
  logger: Logger;
}

export abstract class RecorderLifecycle implements EgressRecorder {
  protected readonly log: Logger;
  protected readonly callbacks: RecorderCallbacks;
  protected isStopping = false;
  protected isEnded = false;
  protected failure: string | undefined;
  protected endReason: string | undefined;
  /** The job's file/HLS/stream/image outputs, for recorders that write them. */
  protected outputs: JobOutputs | undefined;

  constructor(log: Logger, callbacks: RecorderCallbacks) {
    this.log = log;
    this.callbacks = callbacks;
  }

  /** True once run() has got far enough that a stop finishes at once; before that, run() finishes when it sees it. */
  protected abstract get canFinish(): boolean;
  /** Tears down and reports through `ended()`; must set isEnded first and do nothing when it was set. */
  protected abstract finish(): Promise<void>;

  /**
   * Joins the egress's room as its hidden participant (identity: the egress id). Removed from the room (it closed, or
   * the API removed it), the recording ends like a stop, as LiveKit's does.
   */
  protected joinRoom(opts: RecorderOptions, how: Pick<EgressParticipantOptions, 'trackSids' | 'onStream' | 'onJoin' | 'onRoomSignal'>): Promise<EgressParticipant> {
    return EgressParticipant.join({
      url: opts.url,
      apiKey: opts.apiKey,
      apiSecret: opts.apiSecret,
      roomName: opts.job.roomName,
      identity: opts.job.egressId,
      logger: this.log,
      onLost: (why) => this.endWith(`the egress participant left the room: ${why}`),
      ...how,
    });
  }

  updateStream(add: readonly string[], remove: readonly string[]): void {
    this.outputs?.updateStream(add, remove);
  }

  streamResults(): StreamInfo[] {
    return this.outputs?.streamResults() ?? [];
  }

  activeStreamUrls(): string[] {
    return this.outputs?.activeStreamUrls() ?? [];
  }

  /** The one `ended` report: the failure (else `exitError`, how the encoder ended badly), the details, the results. */
  protected report(result: Omit<RecorderResult, 'error' | 'details'>, exitError: string | undefined): void {
    const error = this.failure ?? exitError;
    this.callbacks.ended({ ...(error !== undefined ? { error } : {}), ...(this.endReason !== undefined ? { details: this.endReason } : {}), ...result });
  }

  stop(): void {
    if (this.isStopping) return;
    this.isStopping = true;
    if (this.canFinish) void this.finish();
  }

  protected endWith(reason: string): void {
    if (this.isEnded || this.isStopping) return;
    this.log.info({ reason }, 'egress ending');
    this.endReason = reason;
    this.stop();
  }

  protected fail(reason: string): void {
    if (this.isEnded || this.failure !== undefined) return;
    this.failure = reason;
    this.log.warn({ reason }, 'egress failed');
    this.isStopping = true;
    void this.finish();
  }
}

/** Calls `request` at most once per `intervalMs` (key frame requests while waiting for one). */
export function throttled(request: () => void, intervalMs: number): () => void {
  let lastMs = -Infinity;
  return () => {
    const now = performance.now();
    if (now - lastMs < intervalMs) return;
    lastMs = now;
    request();
  };
}
