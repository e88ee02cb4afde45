// The life of one ingress's state (livekit_ingress.proto IngressState): INACTIVE until a stream arrives, BUFFERING while
// it connects, PUBLISHING once its tracks are in the room, then COMPLETE (the sender ended it) or ERROR (it failed).
// Pure: the caller gives the time and reports what each transition means (webhooks, limits).
import { IngressState, IngressState_Status, InputAudioState, InputVideoState, TrackType } from '@livekit/protocol';
import type { TrackInfo } from '@livekit/protocol';

export const IngressStatus = IngressState_Status;

/** What a transition started or ended, for webhooks (ingress_started / ingress_ended). */
export type IngressTransition = 'started' | 'ended' | 'changed' | 'none';

/** A status counts against the concurrency limit while a stream is live. */
export function isActiveStatus(status: IngressState_Status): boolean {
  return status === IngressState_Status.ENDPOINT_BUFFERING || status === IngressState_Status.ENDPOINT_PUBLISHING;
}

export class IngressStateError extends Error {
  readonly code = 'ingress_state';
}

/** A fresh, inactive state. */
export function inactiveState(nowMs: number): IngressState {
  return new IngressState({ status: IngressState_Status.ENDPOINT_INACTIVE, updatedAt: nanos(nowMs) });
}

/**
 * A new stream begins (a WHIP offer was accepted): BUFFERING, a new resource id, started now, the end and error of the
 * previous stream cleared. Refused while another stream is live: one stream per ingress at a time.
 */
export function startStream(state: IngressState, opts: { nowMs: number; resourceId: string; roomId: string }): IngressTransition {
  if (isActiveStatus(state.status)) throw new IngressStateError('the ingress already has a live stream');
  state.status = IngressState_Status.ENDPOINT_BUFFERING;
  state.error = '';
  state.resourceId = opts.resourceId;
  state.roomId = opts.roomId;
  state.startedAt = nanos(opts.nowMs);
  state.endedAt = 0n;
  state.updatedAt = nanos(opts.nowMs);
  state.tracks = [];
  state.video = undefined;
  state.audio = undefined;
  return 'started';
}

/** The stream's tracks are published in the room (or their list changed while publishing). Ignored once ended. */
export function setPublishing(state: IngressState, tracks: readonly TrackInfo[], nowMs: number): IngressTransition {
  if (!isActiveStatus(state.status)) return 'none';
  state.status = IngressState_Status.ENDPOINT_PUBLISHING;
  state.tracks = tracks.map((t) => t.clone());
  // What the input carries: as a transcoding ingress read it from the input (setInput), else as far as the published
  // tracks tell (codec and, when announced, size).
  const video = tracks.find((t) => t.type === TrackType.VIDEO);
  const audio = tracks.find((t) => t.type === TrackType.AUDIO);
  state.video ??= video ? new InputVideoState({ mimeType: video.mimeType, width: video.width, height: video.height }) : undefined;
  state.audio ??= audio ? new InputAudioState({ mimeType: audio.mimeType, channels: audio.stereo ? 2 : 1, sampleRate: 48_000 }) : undefined;
  state.updatedAt = nanos(nowMs);
  return 'changed';
}

/**
 * The live stream ended: COMPLETE without `error` (INACTIVE when `inactive`: an RTMP publisher left, and the ingress
 * waits for the next), ERROR with it. Ignored when no stream is live (idempotent).
 */
export function endStream(state: IngressState, opts: { nowMs: number; error?: string; inactive?: boolean }): IngressTransition {
  if (!isActiveStatus(state.status)) return 'none';
  const normalEnd = opts.inactive === true ? IngressState_Status.ENDPOINT_INACTIVE : IngressState_Status.ENDPOINT_COMPLETE;
  state.status = opts.error !== undefined ? IngressState_Status.ENDPOINT_ERROR : normalEnd;
  state.error = opts.error ?? '';
  state.endedAt = nanos(opts.nowMs);
  state.updatedAt = nanos(opts.nowMs);
  state.tracks = [];
  state.video = undefined;
  state.audio = undefined;
  return 'ended';
}

/** What the input carries (a transcoding ingress reads it from the stream), while a stream is live. */
export function setInput(state: IngressState, input: { video?: InputVideoState; audio?: InputAudioState }, nowMs: number): void {
  if (!isActiveStatus(state.status)) return;
  if (input.video) state.video = input.video.clone();
  if (input.audio) state.audio = input.audio.clone();
  state.updatedAt = nanos(nowMs);
}

/** IngressState times are Unix nanoseconds (as LiveKit's time.Now().UnixNano()). */
function nanos(ms: number): bigint {
  return BigInt(Math.floor(ms)) * 1_000_000n;
}

/** A stream that could not even begin (a URL ingress refused at start): ERROR with why, without a start time. */
export function failIdle(state: IngressState, opts: { nowMs: number; error: string }): void {
  if (isActiveStatus(state.status)) return;
  state.status = IngressState_Status.ENDPOINT_ERROR;
  state.error = opts.error;
  state.updatedAt = nanos(opts.nowMs);
}
