// Helpers around @livekit/rtc-node (the native LiveKit SDK) for the e2e tests: connect, publish a sine
// tone and a moving test pattern, and read received audio samples and video frame sizes, all with bounded waits.
// Call `dispose()` from @livekit/rtc-node at the end of a test file or the process may not exit.
import {
  AudioFrame,
  AudioSource,
  AudioStream,
  ConnectionState,
  LocalAudioTrack,
  LocalVideoTrack,
  Room,
  RoomEvent,
  TrackKind,
  TrackPublishOptions,
  TrackSource,
  VideoBufferType,
  VideoCodec,
  VideoFrame,
  VideoSource,
  VideoStream,
  type LocalTrackPublication,
  type RemoteParticipant,
  type RemoteTrack,
  type RemoteTrackPublication,
  dispose,
} from '@livekit/rtc-node';
import { fillSine, firstNonSilentSample } from './tone.js';
import { waitFor, withTimeout } from '@atrium/webrtc/testing/wait-for.js';

/** Connects a new rtc-node Room (autoSubscribe on, dynacast off) within `timeoutMs`. */
export async function connectRtcNode(
  url: string,
  token: string,
  options: { label: string; timeoutMs?: number; autoSubscribe?: boolean; eventLog?: string[] },
): Promise<Room> {
  const room = new Room();
  if (options.eventLog) recordRoomEvents(room, options.label, options.eventLog);
  const timeoutMs = options.timeoutMs ?? 20_000;
  try {
    await withTimeout(
      room.connect(url, token, { autoSubscribe: options.autoSubscribe ?? true, dynacast: false }),
      timeoutMs,
      `${options.label} to connect (rtc-node)`,
    );
  } catch (err) {
    await room.disconnect().catch(() => undefined);
    throw err;
  }
  return room;
}

/** Appends a line per notable room event (connection, participants, tracks, data) to `sink`, for failure dumps. */
export function recordRoomEvents(room: Room, label: string, sink: string[]): void {
  const add = (text: string): void => {
    sink.push(`${new Date().toISOString().slice(11, 23)} [${label}] ${text}`);
  };
  room.on(RoomEvent.ConnectionStateChanged, (state) => add(`connection state ${ConnectionState[state] ?? state}`));
  room.on(RoomEvent.Disconnected, (reason) => add(`disconnected (reason ${reason})`));
  room.on(RoomEvent.Reconnecting, () => add('reconnecting'));
  room.on(RoomEvent.Reconnected, () => add('reconnected'));
  room.on(RoomEvent.ParticipantConnected, (p) => add(`participant connected ${p.identity}`));
  room.on(RoomEvent.ParticipantDisconnected, (p) => add(`participant disconnected ${p.identity}`));
  room.on(RoomEvent.LocalTrackPublished, (pub) => add(`local track published ${pub.sid} ${kindName(pub.kind)}`));
  room.on(RoomEvent.TrackPublished, (pub, p) => add(`track published ${p.identity} ${pub.sid} ${kindName(pub.kind)}`));
  room.on(RoomEvent.TrackSubscribed, (_t, pub, p) => add(`track subscribed ${p.identity} ${pub.sid} ${kindName(pub.kind)}`));
  room.on(RoomEvent.TrackUnsubscribed, (_t, pub, p) => add(`track unsubscribed ${p.identity} ${pub.sid}`));
  room.on(RoomEvent.TrackSubscriptionFailed, (sid, p, reason) => add(`track subscription failed ${p.identity} ${sid}: ${reason}`));
  room.on(RoomEvent.TrackMuted, (pub, p) => add(`track muted ${p.identity} ${pub.sid}`));
  room.on(RoomEvent.TrackUnmuted, (pub, p) => add(`track unmuted ${p.identity} ${pub.sid}`));
}

function kindName(kind: TrackKind | undefined): string {
  return kind === TrackKind.KIND_AUDIO ? 'audio' : kind === TrackKind.KIND_VIDEO ? 'video' : `kind ${String(kind)}`;
}

export interface SubscribedRemoteTrack {
  track: RemoteTrack;
  publication: RemoteTrackPublication;
  participant: RemoteParticipant;
}

/** Waits until `room` has a subscribed remote track of `kind` (optionally from `identity`). */
export async function waitForRemoteTrack(
  room: Room,
  options: { kind: 'audio' | 'video'; identity?: string; label: string; timeoutMs: number },
): Promise<SubscribedRemoteTrack> {
  const kind = options.kind === 'audio' ? TrackKind.KIND_AUDIO : TrackKind.KIND_VIDEO;
  return waitFor(
    () => {
      for (const participant of room.remoteParticipants.values()) {
        if (options.identity !== undefined && participant.identity !== options.identity) continue;
        for (const publication of participant.trackPublications.values()) {
          if (publication.kind === kind && publication.track) {
            return { track: publication.track, publication, participant };
          }
        }
      }
      return undefined;
    },
    {
      label: options.label,
      timeoutMs: options.timeoutMs,
      describe: () => `remote participants: ${describeRemote(room)}`,
    },
  );
}

function describeRemote(room: Room): string {
  const parts: string[] = [];
  for (const p of room.remoteParticipants.values()) {
    const pubs = [...p.trackPublications.values()].map(
      (pub) => `${pub.sid ?? '?'}(${kindName(pub.kind)}, ${pub.track ? 'subscribed' : 'not subscribed'})`,
    );
    parts.push(`${p.identity}[${pubs.join(' ')}]`);
  }
  return parts.length > 0 ? parts.join(', ') : 'none';
}

export interface RunningPublisher {
  publication: LocalTrackPublication;
  /** Frames handed to the source so far. */
  framesSent(): number;
  /** Stops producing frames (the track stays published until the room disconnects). Idempotent. */
  stop(): Promise<void>;
}

/**
 * Publishes a microphone track carrying a sine tone from an AudioSource: mono, `sampleRate` Hz,
 * `frameMs` frames via captureFrame (which paces the loop in real time), until `maxDurationMs` or stop().
 * With `rightFrequencyHz` the source has two channels: `frequencyHz` on the left, `rightFrequencyHz` on the right.
 * `dtx` and `red` go to TrackPublishOptions (rtc-node's defaults: both on).
 */
export async function publishSineTone(
  room: Room,
  options: {
    frequencyHz: number; rightFrequencyHz?: number; sampleRate?: number; frameMs?: number; amplitude?: number;
    maxDurationMs: number; trackName?: string; dtx?: boolean; red?: boolean;
  },
): Promise<RunningPublisher> {
  const sampleRate = options.sampleRate ?? 48_000;
  const samplesPerFrame = (sampleRate * (options.frameMs ?? 10)) / 1000;
  const channels = options.rightFrequencyHz === undefined ? 1 : 2;
  const source = new AudioSource(sampleRate, channels);
  const track = LocalAudioTrack.createAudioTrack(options.trackName ?? 'sine', source);
  const local = requireLocal(room);
  const publication = await withTimeout(
    local.publishTrack(track, new TrackPublishOptions({
      source: TrackSource.SOURCE_MICROPHONE,
      ...(options.dtx !== undefined ? { dtx: options.dtx } : {}),
      ...(options.red !== undefined ? { red: options.red } : {}),
    })),
    15_000,
    'rtc-node to publish the sine track',
  );
  return runAudioLoop(source, publication, {
    sampleRate, channels, samplesPerFrame, maxDurationMs: options.maxDurationMs, what: 'the sine loop',
    next: (frames) => {
      const tone = (frequencyHz: number): Int16Array => {
        const data = new Int16Array(samplesPerFrame);
        fillSine(data, {
          frequencyHz,
          sampleRate,
          startSample: frames * samplesPerFrame,
          ...(options.amplitude !== undefined ? { amplitude: options.amplitude } : {}),
        });
        return data;
      };
      const left = tone(options.frequencyHz);
      let data = left;
      if (options.rightFrequencyHz !== undefined) {
        const right = tone(options.rightFrequencyHz);
        data = new Int16Array(samplesPerFrame * 2);
        for (let i = 0; i < samplesPerFrame; i++) {
          data[2 * i] = left[i] ?? 0;
          data[2 * i + 1] = right[i] ?? 0;
        }
      }
      return data;
    },
  });
}

/**
 * Publishes a microphone track from an AudioSource (mono, `sampleRate`) fed with `frameMs` frames that `next`
 * produces, until `maxDurationMs` or stop(). captureFrame paces the loop in real time; `queueSizeMs` (default 100)
 * bounds how far ahead of the network the loop runs. `next` is told when its frame should start playing out
 * (epoch ms: now plus what is still queued), so a test can time events in the audio.
 */
export async function publishGeneratedAudio(
  room: Room,
  options: {
    next: (frame: { index: number; samples: number; playoutAtMs: number }) => Int16Array;
    sampleRate?: number; frameMs?: number; queueSizeMs?: number; maxDurationMs: number; trackName?: string;
  },
): Promise<RunningPublisher> {
  const sampleRate = options.sampleRate ?? 48_000;
  const samplesPerFrame = (sampleRate * (options.frameMs ?? 10)) / 1000;
  const source = new AudioSource(sampleRate, 1, options.queueSizeMs ?? 100);
  const track = LocalAudioTrack.createAudioTrack(options.trackName ?? 'generated', source);
  const publication = await withTimeout(
    requireLocal(room).publishTrack(track, new TrackPublishOptions({ source: TrackSource.SOURCE_MICROPHONE })),
    15_000,
    'rtc-node to publish the audio track',
  );
  return runAudioLoop(source, publication, {
    sampleRate, channels: 1, samplesPerFrame, maxDurationMs: options.maxDurationMs, what: 'the audio loop',
    next: (index) => options.next({ index, samples: samplesPerFrame, playoutAtMs: Date.now() + source.queuedDuration }),
  });
}

/**
 * Publishes a camera track (simulcast off) from a VideoSource of `width`x`height` I420 frames that `paint` fills
 * (`frame` is the packed I420 buffer to overwrite, `index` counts frames), at `fps`, until `maxDurationMs` or stop().
 */
export async function publishPaintedVideo(
  room: Room,
  options: {
    width: number; height: number; fps: number; maxDurationMs: number; trackName?: string;
    paint: (frame: Uint8Array, index: number) => void;
  },
): Promise<RunningPublisher> {
  const { width, height } = options;
  const source = new VideoSource(width, height);
  const track = LocalVideoTrack.createVideoTrack(options.trackName ?? 'painted', source);
  const publication = await withTimeout(
    requireLocal(room).publishTrack(track, new TrackPublishOptions({ source: TrackSource.SOURCE_CAMERA, simulcast: false })),
    15_000,
    'rtc-node to publish the video track',
  );
  const i420 = new Uint8Array(width * height + 2 * Math.ceil(width / 2) * Math.ceil(height / 2));
  return runVideoLoop(source, publication, options, (frames) => {
    options.paint(i420, frames);
    return new VideoFrame(i420, width, height, VideoBufferType.I420);
  });
}

/**
 * Publishes a camera track from a VideoSource of `width`x`height` RGBA frames with a moving gradient
 * at `fps`, simulcast off (so subscribers receive the published size), until `maxDurationMs` or stop().
 */
export async function publishTestPattern(
  room: Room,
  options: {
    width: number; height: number; fps: number; maxDurationMs: number; trackName?: string;
    /** rtc-node's VideoCodec (VP8 default). */
    videoCodec?: VideoCodec;
    simulcast?: boolean;
    /** e.g. 'L3T3_KEY': one SVC stream (VP9, AV1); without it rtc-node sends these codecs in one layer. */
    scalabilityMode?: string;
  },
): Promise<RunningPublisher> {
  const { width, height } = options;
  const source = new VideoSource(width, height);
  const track = LocalVideoTrack.createVideoTrack(options.trackName ?? 'pattern', source);
  const publication = await withTimeout(
    requireLocal(room).publishTrack(
      track,
      new TrackPublishOptions({
        source: TrackSource.SOURCE_CAMERA,
        simulcast: options.simulcast ?? false,
        ...(options.videoCodec !== undefined ? { videoCodec: options.videoCodec } : {}),
        ...(options.scalabilityMode !== undefined ? { scalabilityMode: options.scalabilityMode } : {}),
      }),
    ),
    15_000,
    'rtc-node to publish the video track',
  );
  const rgba = new Uint8Array(width * height * 4);
  return runVideoLoop(source, publication, options, (frames) => {
    paintPattern(rgba, width, height, frames);
    return new VideoFrame(rgba, width, height, VideoBufferType.RGBA);
  });
}

/**
 * Feeds `source` a frame from `next` every `samplesPerFrame` until `maxDurationMs` or stop(); captureFrame paces the
 * loop in real time. stop() clears the queue, waits for the loop (5 s at most) and closes the source.
 */
function runAudioLoop(
  source: AudioSource,
  publication: RunningPublisher['publication'],
  o: { sampleRate: number; channels: number; samplesPerFrame: number; maxDurationMs: number; what: string; next: (index: number) => Int16Array },
): RunningPublisher {
  let stopped = false;
  let frames = 0;
  const startedAtMs = Date.now();
  const loop = (async () => {
    while (!stopped && Date.now() - startedAtMs < o.maxDurationMs) {
      await source.captureFrame(new AudioFrame(o.next(frames), o.sampleRate, o.channels, o.samplesPerFrame));
      frames++;
    }
  })();
  let stopping: Promise<void> | undefined;
  return {
    publication,
    framesSent: () => frames,
    stop() {
      stopping ??= (async () => {
        stopped = true;
        source.clearQueue();
        await withTimeout(loop, 5_000, `${o.what} to stop`).catch(() => undefined);
        await source.close();
      })();
      return stopping;
    },
  };
}

/** Captures `frame(index)` on `source` every 1/fps s (timestamps from the start) until `maxDurationMs` or stop(). */
function runVideoLoop(
  source: VideoSource,
  publication: RunningPublisher['publication'],
  o: { fps: number; maxDurationMs: number },
  frame: (index: number) => VideoFrame,
): RunningPublisher {
  let frames = 0;
  const startedAtMs = Date.now();
  const produce = (): void => {
    if (Date.now() - startedAtMs >= o.maxDurationMs) {
      clearInterval(timer);
      return;
    }
    source.captureFrame(frame(frames), BigInt(Date.now() - startedAtMs) * 1000n);
    frames++;
  };
  const timer = setInterval(produce, Math.round(1000 / o.fps));
  produce();
  let stopping: Promise<void> | undefined;
  return {
    publication,
    framesSent: () => frames,
    stop() {
      stopping ??= (async () => {
        clearInterval(timer);
        await source.close();
      })();
      return stopping;
    },
  };
}

/** Diagonal colour bands that move one step per frame, so every frame differs and the encoder has work. */
function paintPattern(rgba: Uint8Array, width: number, height: number, frame: number): void {
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * 4;
      const v = (x + y + frame * 4) & 0xff;
      rgba[i] = v;
      rgba[i + 1] = 255 - v;
      rgba[i + 2] = (x * 255) / width;
      rgba[i + 3] = 255;
    }
  }
}

export interface ReceivedAudio {
  /** Mono samples from the first non-silent sample on. */
  samples: Int16Array;
  framesRead: number;
  /** Samples read (at `sampleRate`) before the first non-silent one. */
  leadingSilenceSamples: number;
}

/**
 * Reads `track` through an AudioStream (mono, `sampleRate`), skips leading silence, and returns
 * `windowSamples` samples of signal. Fails after `timeoutMs` with how much was received.
 */
export async function readAudioWindow(
  track: RemoteTrack,
  options: { sampleRate: number; windowSamples: number; timeoutMs: number; silenceThreshold?: number },
): Promise<ReceivedAudio> {
  const stream = new AudioStream(track, { sampleRate: options.sampleRate, numChannels: 1 });
  const reader = stream.getReader();
  const samples = new Int16Array(options.windowSamples);
  let filled = 0;
  let framesRead = 0;
  let leadingSilenceSamples = 0;
  let started = false;
  const deadline = Date.now() + options.timeoutMs;
  try {
    while (filled < samples.length) {
      const frame = await readBefore(reader, deadline, 'an audio frame');
      if (frame === undefined) break;
      framesRead++;
      let data = frame.channels === 1 ? frame.data : firstChannel(frame);
      if (!started) {
        const first = firstNonSilentSample(data, options.silenceThreshold);
        if (first < 0) {
          leadingSilenceSamples += data.length;
          continue;
        }
        started = true;
        leadingSilenceSamples += first;
        data = data.subarray(first);
      }
      const n = Math.min(data.length, samples.length - filled);
      samples.set(data.subarray(0, n), filled);
      filled += n;
    }
  } finally {
    await reader.cancel().catch(() => undefined);
  }
  if (filled < samples.length) {
    throw new Error(
      `received ${filled} of ${samples.length} non-silent audio samples within ${options.timeoutMs} ms ` +
        `(${framesRead} frames read, ${leadingSilenceSamples} silent samples skipped)`,
    );
  }
  return { samples, framesRead, leadingSilenceSamples };
}

/** The next value from a stream reader, or undefined when the stream ends or `deadlineMs` (epoch ms) passes. */
async function readBefore<T>(reader: ReadableStreamDefaultReader<T>, deadlineMs: number, what: string): Promise<T | undefined> {
  const remainingMs = deadlineMs - Date.now();
  if (remainingMs <= 0) return undefined;
  const result = await withTimeout(reader.read(), remainingMs, what).catch(() => undefined);
  return result === undefined || result.done ? undefined : result.value;
}

/**
 * Reads `track` through a two-channel AudioStream (`sampleRate`), skips `skipSamples` per channel (decoder start-up),
 * and returns `windowSamples` samples of each channel. Fails after `timeoutMs` with how much was received.
 */
export async function readStereoWindow(
  track: RemoteTrack,
  options: { sampleRate: number; windowSamples: number; skipSamples: number; timeoutMs: number },
): Promise<{ left: Int16Array; right: Int16Array }> {
  const stream = new AudioStream(track, { sampleRate: options.sampleRate, numChannels: 2 });
  const reader = stream.getReader();
  const left = new Int16Array(options.windowSamples);
  const right = new Int16Array(options.windowSamples);
  let seen = 0;
  let filled = 0;
  const deadline = Date.now() + options.timeoutMs;
  try {
    while (filled < left.length) {
      const frame = await readBefore(reader, deadline, 'an audio frame');
      if (frame === undefined) break;
      for (let i = 0; i < frame.samplesPerChannel && filled < left.length; i++, seen++) {
        if (seen < options.skipSamples) continue;
        left[filled] = frame.data[i * frame.channels] ?? 0;
        right[filled] = frame.data[i * frame.channels + (frame.channels > 1 ? 1 : 0)] ?? 0;
        filled++;
      }
    }
  } finally {
    await reader.cancel().catch(() => undefined);
  }
  if (filled < left.length) throw new Error(`received ${filled} of ${left.length} stereo samples within ${options.timeoutMs} ms`);
  return { left, right };
}

function firstChannel(frame: AudioFrame): Int16Array {
  const out = new Int16Array(frame.samplesPerChannel);
  for (let i = 0; i < out.length; i++) out[i] = frame.data[i * frame.channels] ?? 0;
  return out;
}

export interface VideoFrameSize {
  width: number;
  height: number;
}

/**
 * Reads frames from `track` through a VideoStream until `count` of them satisfy `accept` (default: any).
 * Returns the sizes of every frame read; fails after `timeoutMs` listing the sizes seen.
 */
export async function readVideoFrames(
  track: RemoteTrack,
  options: { count: number; timeoutMs: number; accept?: (size: VideoFrameSize) => boolean },
): Promise<VideoFrameSize[]> {
  const stream = new VideoStream(track);
  const reader = stream.getReader();
  const seen: VideoFrameSize[] = [];
  let accepted = 0;
  const deadline = Date.now() + options.timeoutMs;
  try {
    while (accepted < options.count) {
      const event = await readBefore(reader, deadline, 'a video frame');
      if (event === undefined) break;
      const size = { width: event.frame.width, height: event.frame.height };
      seen.push(size);
      if (!options.accept || options.accept(size)) accepted++;
    }
  } finally {
    await reader.cancel().catch(() => undefined);
  }
  if (accepted < options.count) {
    throw new Error(
      `got ${accepted} of ${options.count} acceptable video frames within ${options.timeoutMs} ms; ` +
        `sizes seen: ${summarizeSizes(seen)}`,
    );
  }
  return seen;
}

function summarizeSizes(sizes: VideoFrameSize[]): string {
  if (sizes.length === 0) return 'none';
  const counts = new Map<string, number>();
  for (const s of sizes) counts.set(`${s.width}x${s.height}`, (counts.get(`${s.width}x${s.height}`) ?? 0) + 1);
  return [...counts].map(([size, n]) => `${size} x${n}`).join(', ');
}

function requireLocal(room: Room): NonNullable<Room['localParticipant']> {
  if (!room.localParticipant) throw new Error('rtc-node room is not connected (no local participant)');
  return room.localParticipant;
}

/** One teardown step: what it is (for the log), the work, and how long it may take. */
export interface TeardownStep {
  what: string;
  work: () => Promise<unknown>;
  timeoutMs?: number;
}

/**
 * Bounded, error-tolerant end of an rtc-node test file: stops publishers, disconnects rooms, runs `also` (e.g.
 * closing Atrium), then disposes rtc-node's native side, without which the process stays alive.
 */
export async function teardownRtcNode(parts: { publishers: RunningPublisher[]; rooms: Room[]; also?: TeardownStep[] }): Promise<void> {
  const steps: TeardownStep[] = [
    { what: 'stopping publishers', work: () => Promise.all(parts.publishers.map((p) => p.stop())), timeoutMs: 5_000 },
    { what: 'disconnecting rtc-node rooms', work: () => Promise.all(parts.rooms.map((r) => r.disconnect())) },
    ...(parts.also ?? []),
    { what: 'disposing rtc-node', work: () => dispose() },
  ];
  for (const step of steps) {
    await withTimeout(step.work(), step.timeoutMs ?? 10_000, step.what).catch((err: unknown) =>
      process.stderr.write(`${step.what}: ${String(err)}\n`),
    );
  }
}
