// Atrium's Prometheus metrics, named as LiveKit names them (pkg/telemetry/prometheus) so dashboards carry
// over: room/participant/track gauges read from the RoomManager at scrape time, media counters summed from
// the SFU's per-stream counters (SfuStats), and a sampled forwarding-latency histogram. docs/metrics.md lists them.
import { JobType, TrackType, WorkerStatus } from '@livekit/protocol';
import type { Dispatcher } from '../agent/dispatcher.js';
import type { RoomManager } from '../rtc/room-manager.js';
import type { SubscriberCongestionState } from '../rtc/participant-media.js';
import type { KindCounters } from '../sfu/sfu-stats.js';
import type { MediaStatsView } from '../media-worker/worker-media-factory.js';
import type { TurnServerStats } from '@atrium/webrtc/turn/index.js';
import { MetricsRegistry } from './registry.js';
import type { Histogram } from './registry.js';

/** LiveKit's forward-latency buckets (50 us .. 20 ms) with 5, 10 and 25 us below them: our fan-out is fast. */
export const FORWARD_LATENCY_BUCKETS_NS: readonly number[] = [
  5e3, 10e3, 25e3, 50e3, 100e3, 250e3, 500e3, 1e6, 2e6, 3e6, 5e6, 10e6, 20e6,
];

const KINDS = ['audio', 'video'] as const;
type Kind = (typeof KINDS)[number];

export interface RoomCounts {
  rooms: number;
  participants: number;
  published: Record<Kind, number>;
  subscribed: Record<Kind, number>;
}

/** Walks rooms -> participants -> tracks (control plane, at scrape time). */
export function countRooms(rooms: RoomManager): RoomCounts {
  const out: RoomCounts = { rooms: 0, participants: 0, published: { audio: 0, video: 0 }, subscribed: { audio: 0, video: 0 } };
  for (const room of rooms.listRooms()) {
    if (room.isClosed) continue;
    out.rooms++;
    const kindBySid = new Map<string, Kind>();
    const participants = room.listParticipants();
    for (const p of participants) {
      out.participants++;
      for (const t of p.tracks) {
        const kind: Kind | undefined = t.info.type === TrackType.AUDIO ? 'audio' : t.info.type === TrackType.VIDEO ? 'video' : undefined;
        if (kind === undefined) continue;
        out.published[kind]++;
        kindBySid.set(t.info.sid, kind);
      }
    }
    for (const p of participants) {
      for (const sid of p.subscriptions) {
        const kind = kindBySid.get(sid);
        if (kind !== undefined) out.subscribed[kind]++;
      }
    }
  }
  return out;
}

export interface ServerMetrics {
  readonly registry: MetricsRegistry;
  /** Feed for SfuStats.forwardLatency (nanoseconds). */
  readonly forwardLatency: Histogram;
}

export function createServerMetrics(opts: {
  nodeId: string;
  rooms: () => RoomManager | undefined;
  stats: () => MediaStatsView | undefined;
  agents?: () => Dispatcher | undefined;
  /** The media worker threads (absent or undefined: media runs in the main thread). */
  mediaWorkers?: () => MediaWorkersView | undefined;
  /** The embedded TURN server's counters (absent or undefined: TURN is off, and its families stay empty). */
  turn?: () => TurnServerStats | undefined;
}): ServerMetrics {
  const registry = new MetricsRegistry({ constLabels: { node_id: opts.nodeId, node_type: 'SERVER' } });
  let counts: RoomCounts | undefined;
  let media: Record<Kind, KindCounters> | undefined;
  // The first family of a scrape takes the snapshots the others read.
  registry.gauge({
    name: 'livekit_room_total',
    help: 'Rooms open on this node.',
    collect: (m) => {
      const rooms = opts.rooms();
      counts = rooms ? countRooms(rooms) : undefined;
      media = opts.stats()?.snapshot();
      m.set({}, counts?.rooms ?? 0);
    },
  });
  registry.gauge({ name: 'livekit_participant_total', help: 'Participants in the rooms of this node.', collect: (m) => m.set({}, counts?.participants ?? 0) });
  registry.gauge({
    name: 'livekit_track_published_total',
    help: 'Published tracks, by kind.',
    labelNames: ['kind'],
    collect: (m) => {
      for (const kind of KINDS) m.set({ kind }, counts?.published[kind] ?? 0);
    },
  });
  registry.gauge({
    name: 'livekit_track_subscribed_total',
    help: 'Track subscriptions, by kind of the subscribed track.',
    labelNames: ['kind'],
    collect: (m) => {
      for (const kind of KINDS) m.set({ kind }, counts?.subscribed[kind] ?? 0);
    },
  });
  const packetCounter = (name: string, help: string, pick: (c: KindCounters) => [initial: number, retransmit: number, incoming: number]) =>
    registry.counter({
      name,
      help,
      labelNames: ['direction', 'transmission', 'kind'],
      collect: (m) => {
        for (const kind of KINDS) {
          const c = media?.[kind];
          if (c === undefined) continue;
          const [initial, retransmit, incoming] = pick(c);
          m.set({ direction: 'incoming', transmission: 'initial', kind }, incoming);
          m.set({ direction: 'outgoing', transmission: 'initial', kind }, initial);
          m.set({ direction: 'outgoing', transmission: 'retransmit', kind }, retransmit);
        }
      },
    });
  packetCounter('livekit_packet_total', 'RTP packets received from publishers (incoming) and sent to subscribers (outgoing).', (c) => [
    c.packetsOut - c.retransmitPacketsOut,
    c.retransmitPacketsOut,
    c.packetsIn,
  ]);
  packetCounter('livekit_packet_bytes', 'RTP bytes (whole packets) received from publishers and sent to subscribers.', (c) => [
    c.bytesOut - c.retransmitBytesOut,
    c.retransmitBytesOut,
    c.bytesIn,
  ]);
  const rtcpCounter = (name: string, help: string, incoming: (c: KindCounters) => number, outgoing: (c: KindCounters) => number) =>
    registry.counter({
      name,
      help,
      labelNames: ['direction'],
      collect: (m) => {
        if (media === undefined) return;
        m.set({ direction: 'incoming' }, incoming(media.audio) + incoming(media.video));
        m.set({ direction: 'outgoing' }, outgoing(media.audio) + outgoing(media.video));
      },
    });
  rtcpCounter(
    'livekit_nack_total',
    'NACKed packets: received from subscribers (incoming), requested from publishers (outgoing).',
    (c) => c.nacksIn,
    (c) => c.nacksOut,
  );
  rtcpCounter(
    'livekit_pli_total',
    'Keyframe requests: PLI/FIR received from subscribers (incoming), PLIs sent to publishers (outgoing).',
    (c) => c.plisIn,
    (c) => c.plisOut,
  );
  registry.counter({
    name: 'atrium_retransmit_cache_total',
    help: 'NACKed packets answered from the packet cache (hit) or not (miss: evicted, unknown, or resent within an RTT).',
    labelNames: ['result'],
    collect: (m) => {
      if (media === undefined) return;
      m.set({ result: 'hit' }, media.audio.retransmitPacketsOut + media.video.retransmitPacketsOut);
      m.set({ result: 'miss' }, media.audio.retransmitMisses + media.video.retransmitMisses);
    },
  });
  registry.counter({
    name: 'atrium_rtx_packet_total',
    help: 'Retransmissions sent on subscribers\' RTX streams (RFC 4588); the rest of the retransmit count went on the media SSRC.',
    collect: (m) => {
      if (media !== undefined) m.set({}, media.audio.rtxPacketsOut + media.video.rtxPacketsOut);
    },
  });
  registry.counter({
    name: 'atrium_stream_allocator_total',
    help: 'Subscribers\' stream allocator decisions: layer upgrades, downgrades, pauses for lack of bandwidth, probes.',
    labelNames: ['decision'],
    collect: (m) => {
      const a = opts.stats()?.allocation;
      if (a === undefined) return;
      m.set({ decision: 'upgrade' }, a.upgrades);
      m.set({ decision: 'downgrade' }, a.downgrades);
      m.set({ decision: 'pause' }, a.pauses);
      m.set({ decision: 'probe' }, a.probes);
    },
  });
  registry.gauge({
    name: 'atrium_turn_allocations',
    help: 'Allocations held by the embedded TURN server (docs/turn.md).',
    collect: (m) => {
      const t = opts.turn?.();
      if (t !== undefined) m.set({}, t.allocations);
    },
  });
  registry.counter({
    name: 'atrium_turn_relayed_packet_total',
    help: 'Datagrams the embedded TURN server relayed (to_peer, to_client), or dropped for want of a permission (no_permission).',
    labelNames: ['direction'],
    collect: (m) => {
      const t = opts.turn?.();
      if (t === undefined) return;
      m.set({ direction: 'to_peer' }, t.relayedToPeer);
      m.set({ direction: 'to_client' }, t.relayedToClient);
      m.set({ direction: 'no_permission' }, t.droppedNoPermission);
    },
  });
  registry.counter({
    name: 'atrium_turn_request_total',
    help: 'TURN/STUN requests the embedded TURN server answered, by result (error includes the 401 challenges).',
    labelNames: ['result'],
    collect: (m) => {
      const t = opts.turn?.();
      if (t === undefined) return;
      m.set({ result: 'success' }, t.requests - t.errorResponses);
      m.set({ result: 'error' }, t.errorResponses);
    },
  });
  const perSubscriber = (name: string, help: string, pick: (s: SubscriberCongestionState) => number) =>
    registry.gauge({
      name,
      help,
      labelNames: ['participant_id'],
      collect: (m) => {
        const rooms = opts.rooms();
        if (rooms === undefined) return;
        for (const room of rooms.listRooms()) {
          if (room.isClosed) continue;
          for (const p of room.listParticipants()) {
            const state = p.media.congestionState?.();
            if (state === undefined) continue;
            const v = pick(state);
            if (Number.isFinite(v)) m.set({ participant_id: p.sid }, v);
          }
        }
      },
    });
  perSubscriber('atrium_subscriber_estimate_bps', 'Send-side bandwidth estimate of each subscriber (after its warm-up).', (s) => s.estimateBps);
  perSubscriber('atrium_subscriber_allocated_bps', 'What the video layers allocated to each subscriber cost (measured layer bitrates).', (s) => s.allocatedBps);
  perSubscriber('atrium_subscriber_paused_tracks', 'Video tracks paused for each subscriber for lack of bandwidth.', (s) => s.pausedTracks);
  const forwardLatency = registry.histogram({
    name: 'livekit_forward_latency_ns',
    help: 'Sampled time in ns from an RTP packet reaching the SFU receiver to its send to every subscriber.',
    buckets: FORWARD_LATENCY_BUCKETS_NS,
  });
  registerAgentMetrics(registry, opts.agents ?? (() => undefined));
  registerMediaWorkerMetrics(registry, opts.mediaWorkers ?? (() => undefined));
  return { registry, forwardLatency };
}

/** What the media worker metrics read: each worker's placement and its last pushed report, and the replacements. */
export interface MediaWorkersView {
  readonly workers: readonly {
    index: number;
    participants: number;
    isAlive: boolean;
    last: { packetsPerSecond: number; sessions: number; loopUtilization?: number | undefined } | undefined;
  }[];
  readonly restarts: number;
}

/** Per media worker thread (label `worker`): whether it runs, placement and load; and how many were replaced. */
function registerMediaWorkerMetrics(registry: MetricsRegistry, view: () => MediaWorkersView | undefined): void {
  const perWorker = (name: string, help: string, pick: (w: MediaWorkersView['workers'][number]) => number | undefined) =>
    registry.gauge({
      name,
      help,
      labelNames: ['worker'],
      collect: (m) => {
        for (const w of view()?.workers ?? []) {
          const v = pick(w);
          if (v !== undefined) m.set({ worker: String(w.index) }, v);
        }
      },
    });
  perWorker('atrium_media_worker_up', 'Whether the media worker thread is running (0 while a dead one is being replaced).', (w) => (w.isAlive ? 1 : 0));
  perWorker('atrium_media_worker_participants', 'Participants whose media is placed on the worker.', (w) => w.participants);
  perWorker('atrium_media_worker_sessions', 'Media sessions the worker reported in its last report.', (w) => w.last?.sessions);
  perWorker('atrium_media_worker_forwarded_packets_per_second', 'RTP packets/s the worker sent to subscribers over its last report interval.', (w) => w.last?.packetsPerSecond);
  perWorker('atrium_media_worker_loop_utilization', "Share of its last report interval the worker's event loop was busy, 0-1 (what placement weighs).", (w) => w.last?.loopUtilization);
  registry.counter({
    name: 'atrium_media_worker_restarts_total',
    help: 'Media worker threads replaced after dying (their participants were asked to reconnect).',
    collect: (m) => {
      const v = view();
      if (v !== undefined) m.set({}, v.restarts);
    },
  });
}

/** Agent workers by job type and status, jobs by state, and dispatch events (docs/agents.md). */
function registerAgentMetrics(registry: MetricsRegistry, dispatcher: () => Dispatcher | undefined): void {
  registry.gauge({
    name: 'atrium_agent_workers',
    help: 'Agent workers registered on /agent, by job type and status.',
    labelNames: ['job_type', 'status'],
    collect: (m) => {
      const rows = dispatcher()?.workerSummary() ?? [];
      for (const type of [JobType.JT_ROOM, JobType.JT_PUBLISHER, JobType.JT_PARTICIPANT]) {
        for (const status of [WorkerStatus.WS_AVAILABLE, WorkerStatus.WS_FULL]) {
          const count = rows.find((r) => r.jobType === type && r.status === status)?.count ?? 0;
          m.set({ job_type: JobType[type].slice(3).toLowerCase(), status: WorkerStatus[status].slice(3).toLowerCase() }, count);
        }
      }
    },
  });
  registry.gauge({
    name: 'atrium_agent_jobs',
    help: 'Agent jobs not ended: waiting for a worker (pending), offered to one (offered), or assigned (running).',
    labelNames: ['state'],
    collect: (m) => {
      const counts = { pending: 0, offered: 0, running: 0 };
      for (const j of dispatcher()?.listJobs() ?? []) counts[j.assignedTo !== undefined ? 'running' : j.offeredTo !== undefined ? 'offered' : 'pending']++;
      for (const [state, n] of Object.entries(counts)) m.set({ state }, n);
    },
  });
  registry.counter({
    name: 'atrium_agent_job_events_total',
    help: 'Agent job events: launched (restarts included), offered, declined, timed_out, assigned, succeeded, failed, restarted.',
    labelNames: ['event'],
    collect: (m) => {
      const c = dispatcher()?.counters;
      if (c === undefined) return;
      m.set({ event: 'launched' }, c.launched);
      m.set({ event: 'offered' }, c.offered);
      m.set({ event: 'declined' }, c.declined);
      m.set({ event: 'timed_out' }, c.timedOut);
      m.set({ event: 'assigned' }, c.assigned);
      m.set({ event: 'succeeded' }, c.succeeded);
      m.set({ event: 'failed' }, c.failed);
      m.set({ event: 'restarted' }, c.restarted);
    },
  });
}
