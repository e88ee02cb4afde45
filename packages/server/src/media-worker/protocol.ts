// The messages between the main thread (signalling, rooms: the control plane) and a media worker (sockets, ICE,
// DTLS, SRTP, receivers and down tracks: the data plane). ParticipantMedia's commands go in, its events come out; what
// the control plane polls (speaking levels, quality, congestion, counters) is pushed by the worker on a timer.
// Everything here is structured-clone data. docs/multicore.md describes the split.
import type { MessagePort } from 'node:worker_threads';
import type { KindCounters, AllocationCounters } from '../sfu/sfu-stats.js';
import type { StreamQualitySample } from '../rtc/connection-quality.js';
import type {
  DataKind, MediaKind, SessionDescriptionMessage, SignalTargetValue, SubscriberCongestionState,
} from '../rtc/participant-media.js';
import type { TrackSettings } from '../sfu/subscriber-session.js';
import type { MirrorSpec, SourceDescriptor, SourceRef } from './pipe.js';
import type { MediaSettings } from '../rtc/media-settings.js';
import type { LayerSpec } from '../sfu/video-layers.js';

/** What a worker is started with (worker_threads workerData). */
export interface MediaWorkerConfig {
  index: number;
  udpPort: number;
  /** Passive ICE-TCP listener port (0: ephemeral); undefined: off. */
  tcpPort?: number | undefined;
  bindAddress: string;
  advertisedAddress: string;
  logLevel: string;
  /** room.enabled_codecs. */
  enabledCodecs: { mime: string; fmtpLine: string }[];
  /** The configuration's media settings, as the in-thread factory takes them. */
  media: MediaSettings;
  /** Collect forwarding-latency samples for the main thread's histogram (metrics on). */
  collectLatency: boolean;
}

export type MediaCall =
  | { op: 'handleSubscriberAnswer'; args: [sdp: string, id: number] }
  | { op: 'addRemoteCandidate'; args: [candidateInit: string, target: SignalTargetValue] }
  | { op: 'startSubscriber'; args: [] }
  | { op: 'restartIce'; args: [] }
  | { op: 'setSubscriberCapacityOverride'; args: [bps: number] }
  | { op: 'unsubscribe'; args: [trackSid: string] }
  | { op: 'updateTrackSettings'; args: [trackSid: string, settings: TrackSettings] }
  | { op: 'sendData'; args: [payload: Uint8Array, kind: DataKind] }
  | { op: 'close'; args: [] };

export type SourceCall =
  | { op: 'setMuted'; args: [muted: boolean] }
  | { op: 'setVideoLayers'; args: [layers: LayerSpec[], width: number, height: number] }
  | { op: 'setAudioFeatures'; args: [features: MirrorSpec['state']['audioFeatures']] }
  | { op: 'setBackupCodecs'; args: [codecs: MirrorSpec['state']['backupCodecs']] };

export type ToWorker =
  | {
      t: 'create'; mediaId: number; participantSid: string; identity: string; isAdaptiveStream: boolean;
      candidateProtocol?: 'tcp'; isSinglePeerConnection?: boolean;
      subscriberAllowPause?: boolean; logBindings: Record<string, unknown>;
    }
  | {
      t: 'offer'; mediaId: number; req: number; sdp: string; id: number;
      codecByTrackId: [string, string][]; opusParamsByTrackId: [string, string][];
    }
  | ({ t: 'call'; mediaId: number } & MediaCall)
  | { t: 'subscribe'; mediaId: number; source: MirrorSpec; publisherSid: string; trackSid: string }
  /** Sent to every worker: the origin applies it to the track, the others to their mirror of it if any. */
  | ({ t: 'source'; ref: SourceRef } & SourceCall)
  | { t: 'addBackup'; ref: SourceRef; backup: MirrorSpec }
  | { t: 'peer'; worker: number; port: MessagePort }
  | { t: 'shutdown' };

export interface PublishedMessage {
  t: 'published';
  mediaId: number;
  sourceId: number;
  descriptor: SourceDescriptor;
  msidTrackId: string;
  msidStreamId: string;
  mid: string;
  kind: MediaKind;
  mimeType: string;
  rids: string[];
}

export interface WorkerStatsMessage {
  t: 'stats';
  counters: Record<MediaKind, KindCounters>;
  allocation: AllocationCounters;
  sessions: number;
  udpRegistrations: number;
  /** Forwarding-latency samples (ns) since the last message. */
  latencyNs: number[];
  /** Forwarded packets/s over the last interval. */
  packetsPerSecond: number;
  /** Share of the last interval the worker's event loop was busy, 0-1 (placement load; placement.ts). */
  loopUtilization: number;
  pipePacketsOut: number;
  pipePacketsIn: number;
}

export type FromWorker =
  /** `threadId`: the OS thread id (Linux), so CPU per thread can be told apart from outside (/proc/<pid>/task). */
  | { t: 'ready'; udpPort: number; tcpPort?: number | undefined; threadId?: number }
  | { t: 'event'; mediaId: number; name: string; payload: unknown }
  | PublishedMessage
  | { t: 'reply'; req: number; answer?: SessionDescriptionMessage; error?: { message: string; code?: string } }
  /** Audio sources' speaking levels, as [sourceId, level] pairs flattened. */
  | { t: 'levels'; levels: number[] }
  | {
      t: 'quality';
      sources: [sourceId: number, sample: StreamQualitySample][];
      media: [mediaId: number, samples: StreamQualitySample[], congestion: SubscriberCongestionState | undefined][];
    }
  | WorkerStatsMessage
  | { t: 'log'; level: 'debug' | 'info' | 'warn' | 'error'; bindings: Record<string, unknown>; obj: Record<string, unknown>; msg: string | undefined }
  | { t: 'closed' };
