// Agent dispatch, with LiveKit's behaviour (pkg/rtc/room.go agent dispatches, pkg/agent/client.go LaunchJob,
// pkg/service/agentservice.go JobRequest, pkg/agent/worker.go AssignJob) plus what LiveKit Cloud documents:
//
// - A room gets its dispatches when it starts: those of its configuration (the token's `roomConfig.agents` or
//   CreateRoom `agents`), or else one with an empty agent name (the automatic one). CreateDispatch adds more.
// - Each dispatch launches one JT_ROOM job at once, a JT_PARTICIPANT job per participant that joins and a JT_PUBLISHER
//   job per participant the first time it publishes (agents, egress and recorders launch nothing). A job goes only to
//   workers registered with the same agent name, job type and deployment; with workers in several namespaces
//   (deprecated) one job per namespace.
// - An offer goes to an available worker chosen at random weighted by its spare capacity (1 - load); a decline, an
//   answer timeout or the worker leaving moves it to a worker not yet tried. With none left a JT_ROOM job waits for a
//   worker (LiveKit drops it; waiting lets a worker started after the room still get it); participant jobs are launched
//   only when a worker of their type is registered.
// - Restarts (JobRestartPolicy JRP_ON_FAILURE, the default): a job fails when its worker disconnects, when the worker
//   reports JS_FAILED, or when its agent participant drops out of the room without leaving (signal lost, media
//   failure). A failed job is replaced by a new job for the same dispatch and target, offered like a new one, once its
//   agent participant is gone (so two copies of an agent never share a room), at most MAX_RESTARTS times in
//   RESTART_WINDOW_MS. An agent leaving the room on purpose ends its job (the worker gets a JobTermination, as LiveKit).
//
// Pure: no sockets, time from the clock, randomness injectable.
import {
  AgentDispatch, AgentDispatchState, DisconnectReason, Job, JobRestartPolicy, JobState, JobStatus, JobType, ParticipantInfo_Kind,
  WorkerStatus,
} from '@livekit/protocol';
import type {
  AvailabilityResponse, ParticipantInfo, ParticipantPermission, Room as RoomInfo, RoomAgentDispatch, UpdateJobStatus,
} from '@livekit/protocol';
import { randomBase62 } from '@atrium/protocol';
import type { Clock, Logger, TimerHandle } from '@atrium/webrtc';

/** LiveKit's AssignJobTimeout: how long a worker has to answer an AvailabilityRequest. */
export const AVAILABILITY_TIMEOUT_MS = 10_000;
/** A dispatch target's job is restarted at most this many times within RESTART_WINDOW_MS. */
export const MAX_RESTARTS = 3;
export const RESTART_WINDOW_MS = 5 * 60_000;

export interface WorkerRegistration {
  id: string;
  agentName: string;
  namespace: string;
  jobType: JobType;
  version: string;
  permissions: ParticipantPermission;
  deployment?: string;
}

/** What the dispatcher asks the transport to send. Must not throw. */
export interface DispatcherSink {
  sendAvailability(workerId: string, job: Job): void;
  sendAssignment(workerId: string, job: Job, answer: AvailabilityResponse): void;
  sendTermination(workerId: string, jobId: string): void;
}

export interface DispatcherOptions {
  clock: Clock;
  logger: Logger;
  sink: DispatcherSink;
  availabilityTimeoutMs?: number;
  /** Uniform in [0, 1); Math.random by default. */
  random?: () => number;
  /** Set on every job (`agents.enable_user_data_recording` / `_redaction`). */
  enableRecording?: boolean;
  enableRedaction?: boolean;
}

/** What a dispatch asks for (RoomAgentDispatch, CreateAgentDispatchRequest). */
export interface DispatchRequest {
  agentName: string;
  metadata: string;
  restartPolicy?: JobRestartPolicy;
  deployment?: string;
  attributes?: Record<string, string>;
}

/** Counters of dispatch events since start (metrics). */
export interface DispatcherCounters {
  /** Jobs created (restarts included). */
  launched: number;
  offered: number;
  declined: number;
  timedOut: number;
  assigned: number;
  succeeded: number;
  failed: number;
  restarted: number;
}

interface WorkerEntry extends WorkerRegistration {
  deployment: string;
  status: WorkerStatus;
  load: number;
}

interface RoomEntry {
  info: RoomInfo;
  /** Participants (not agents, egress or recorders) by identity. */
  participants: Map<string, ParticipantInfo>;
  /** Identities that launched their JT_PUBLISHER jobs (cleared when they leave). */
  published: Set<string>;
  /** Identities of agent participants in the room. */
  agents: Set<string>;
}

interface JobEntry {
  job: Job;
  roomName: string;
  /** The dispatch that launched it (none for simulate_job). */
  dispatchId?: string;
  /** The job keeps the namespace it was launched for; otherwise it takes the offered worker's. */
  namespaceFixed: boolean;
  /** Workers already offered this job (not offered again). */
  attempted: Set<string>;
  /** Only this worker may take it (simulate_job). */
  onlyWorkerId?: string;
  offeredTo?: string;
  timer?: TimerHandle;
  assignedTo?: string;
  /** Failed (its worker left or reported JS_FAILED) with its agent still in the room: restarted when it leaves. */
  failedWhilePresent?: string;
}

/** A read-only view of a job, for tests and logs. */
export interface JobView {
  id: string;
  roomName: string;
  dispatchId: string;
  agentName: string;
  type: JobType;
  participantIdentity: string;
  namespace: string;
  status: JobStatus;
  offeredTo: string | undefined;
  assignedTo: string | undefined;
  error: string;
}

/** Departures that are not the agent's (or the server's) choice: its job failed. */
const UNEXPECTED_DEPARTURES: ReadonlySet<DisconnectReason> = new Set([
  DisconnectReason.SIGNAL_CLOSE,
  DisconnectReason.MEDIA_FAILURE,
  DisconnectReason.STATE_MISMATCH,
  DisconnectReason.CONNECTION_TIMEOUT,
  DisconnectReason.AGENT_ERROR,
]);

/** LiveKit's IsDependent as far as a ParticipantInfo tells: agents, egress, recorders launch no jobs. */
function isDependent(p: ParticipantInfo): boolean {
  return p.kind === ParticipantInfo_Kind.AGENT || p.kind === ParticipantInfo_Kind.EGRESS || p.permission?.agent === true || p.permission?.recorder === true;
}

export class Dispatcher {
  readonly counters: DispatcherCounters = { launched: 0, offered: 0, declined: 0, timedOut: 0, assigned: 0, succeeded: 0, failed: 0, restarted: 0 };
  private readonly opts: DispatcherOptions;
  private readonly random: () => number;
  private readonly workers = new Map<string, WorkerEntry>();
  /** Jobs not ended yet. */
  private readonly jobs = new Map<string, JobEntry>();
  /** Dispatches by id; `state.jobs` holds every job each launched (ended ones with their final state). */
  private readonly dispatches = new Map<string, AgentDispatch>();
  private readonly rooms = new Map<string, RoomEntry>();
  /** Restart times per dispatch target (`dispatch/type/identity`). */
  private readonly restartTimes = new Map<string, number[]>();

  constructor(opts: DispatcherOptions) {
    this.opts = opts;
    this.random = opts.random ?? Math.random;
  }

  get workerCount(): number {
    return this.workers.size;
  }

  /** Registered workers by job type and status (metrics). */
  workerSummary(): { jobType: JobType; status: WorkerStatus; count: number }[] {
    const out = new Map<string, { jobType: JobType; status: WorkerStatus; count: number }>();
    for (const w of this.workers.values()) {
      const key = `${w.jobType}/${w.status}`;
      const row = out.get(key) ?? { jobType: w.jobType, status: w.status, count: 0 };
      row.count++;
      out.set(key, row);
    }
    return [...out.values()];
  }

  addWorker(reg: WorkerRegistration): void {
    this.workers.set(reg.id, { ...reg, deployment: reg.deployment ?? '', status: WorkerStatus.WS_AVAILABLE, load: 0 });
    this.opts.logger.info({ workerID: reg.id, agentName: reg.agentName, jobType: JobType[reg.jobType], namespace: reg.namespace, version: reg.version }, 'agent worker registered');
    this.offerPending();
  }

  /** update_worker: status (when given) and load. */
  updateWorker(workerId: string, update: { status?: WorkerStatus | undefined; load: number }): void {
    const w = this.workers.get(workerId);
    if (!w) return;
    if (update.status !== undefined && update.status !== w.status) {
      w.status = update.status;
      this.opts.logger.debug({ workerID: workerId, status: WorkerStatus[w.status] }, 'agent worker status changed');
    }
    w.load = Number.isFinite(update.load) ? Math.min(1, Math.max(0, update.load)) : 0;
    if (w.status === WorkerStatus.WS_AVAILABLE) this.offerPending();
  }

  /** The worker disconnected: its offers move on; its running jobs fail (and restart, see the file comment). */
  removeWorker(workerId: string): void {
    if (!this.workers.delete(workerId)) return;
    this.opts.logger.info({ workerID: workerId }, 'agent worker deregistered');
    for (const entry of [...this.jobs.values()]) {
      if (entry.offeredTo === workerId) this.offerNext(entry, 'worker closed');
      else if (entry.assignedTo === workerId) this.jobFailed(entry, 'agent worker disconnected');
    }
  }

  /**
   * A room started: its configured dispatches (`agents`, from the token's roomConfig or CreateRoom) or else the
   * automatic one (empty agent name), each launching its JT_ROOM job. Returns the dispatches' ids.
   */
  roomStarted(room: RoomInfo, agents?: readonly RoomAgentDispatch[]): string[] {
    this.ensureRoom(room);
    const requests: DispatchRequest[] = agents && agents.length > 0 ? agents.map((a) => ({ ...a })) : [{ agentName: '', metadata: '' }];
    return requests.map((req) => this.addDispatch(room, req).id);
  }

  /** An explicit dispatch (CreateDispatch): its JT_ROOM job, and participant jobs for the room's participants. */
  createDispatch(room: RoomInfo, req: DispatchRequest): AgentDispatch {
    this.ensureRoom(room);
    return this.addDispatch(room, req).clone();
  }

  /** A participant joined (became active): JT_PARTICIPANT jobs; an agent's arrival is noted for its job. */
  participantJoined(room: RoomInfo, p: ParticipantInfo): void {
    const r = this.roomEntry(room);
    if (!r) return;
    if (isDependent(p)) {
      r.agents.add(p.identity);
      return;
    }
    r.participants.set(p.identity, p);
    for (const d of this.dispatchesOf(room.name)) this.launchTarget(d, JobType.JT_PARTICIPANT, p);
  }

  /** A track was published: the participant's first launches its JT_PUBLISHER jobs. */
  trackPublished(room: RoomInfo, p: ParticipantInfo): void {
    const r = this.roomEntry(room);
    if (!r || isDependent(p) || r.published.has(p.identity)) return;
    r.published.add(p.identity);
    r.participants.set(p.identity, p);
    for (const d of this.dispatchesOf(room.name)) this.launchTarget(d, JobType.JT_PUBLISHER, p);
  }

  /**
   * A participant left. An agent leaving on purpose ends its job (its worker told to terminate it); an agent dropping
   * out ends it as failed (restarted). A participant's jobs not yet running are dropped.
   */
  participantLeft(room: RoomInfo, p: ParticipantInfo): void {
    const r = this.roomEntry(room);
    if (!r) return;
    r.participants.delete(p.identity);
    r.published.delete(p.identity);
    r.agents.delete(p.identity);
    for (const entry of [...this.jobs.values()]) {
      if (entry.roomName !== room.name) continue;
      if (entry.assignedTo !== undefined && entry.job.state?.participantIdentity === p.identity) {
        this.agentLeft(entry, p.disconnectReason);
      } else if (entry.assignedTo === undefined && entry.job.participant?.identity === p.identity) {
        this.endJob(entry, JobStatus.JS_SUCCESS, 'participant left before the job started');
      }
    }
  }

  /** Dispatches of a room (all, or the one with `dispatchId`), copies with their jobs. */
  listDispatches(roomName: string, dispatchId = ''): AgentDispatch[] {
    return this.dispatchesOf(roomName)
      .filter((d) => dispatchId === '' || d.id === dispatchId)
      .map((d) => d.clone());
  }

  /**
   * DeleteDispatch: the dispatch goes; its running jobs get a JobTermination, offers and pending jobs are dropped.
   * Undefined when the room has no such dispatch.
   */
  deleteDispatch(roomName: string, dispatchId: string): AgentDispatch | undefined {
    const d = this.dispatches.get(dispatchId);
    if (!d || d.room !== roomName) return undefined;
    this.dispatches.delete(dispatchId);
    for (const entry of [...this.jobs.values()]) {
      if (entry.dispatchId !== dispatchId) continue;
      if (entry.assignedTo !== undefined && this.workers.has(entry.assignedTo)) {
        this.opts.logger.info({ jobID: entry.job.id, workerID: entry.assignedTo, dispatchID: dispatchId }, 'agent dispatch deleted; terminating its job');
        this.opts.sink.sendTermination(entry.assignedTo, entry.job.id);
      }
      this.endJob(entry, JobStatus.JS_SUCCESS, '');
    }
    if (d.state) d.state.deletedAt = this.nowNs();
    this.forgetRestarts(dispatchId);
    return d.clone();
  }

  /** A room ended: its running jobs get a JobTermination; offers, pending jobs and its dispatches are dropped. */
  roomFinished(roomName: string): void {
    for (const entry of [...this.jobs.values()]) {
      if (entry.roomName !== roomName || entry.onlyWorkerId !== undefined) continue;
      if (entry.assignedTo !== undefined && this.workers.has(entry.assignedTo)) this.opts.sink.sendTermination(entry.assignedTo, entry.job.id);
      this.endJob(entry, JobStatus.JS_SUCCESS, '');
    }
    for (const d of [...this.dispatches.values()]) {
      if (d.room !== roomName) continue;
      this.dispatches.delete(d.id);
      this.forgetRestarts(d.id);
    }
    this.rooms.delete(roomName);
  }

  /** simulate_job: a job with the given (or a made-up) room, offered to this worker only, as LiveKit. */
  simulateJob(workerId: string, room: RoomInfo, participant: Job['participant']): string | undefined {
    const w = this.workers.get(workerId);
    if (!w) return undefined;
    const job = new Job({
      id: `AJ_${randomBase62()}`,
      type: participant ? JobType.JT_PUBLISHER : JobType.JT_ROOM,
      room,
      ...(participant ? { participant } : {}),
      namespace: w.namespace,
      agentName: w.agentName,
      state: new JobState({ status: JobStatus.JS_PENDING }),
    });
    const entry: JobEntry = { job, roomName: room.name, namespaceFixed: true, attempted: new Set(), onlyWorkerId: workerId };
    this.jobs.set(job.id, entry);
    this.offer(entry, w);
    return job.id;
  }

  /** The worker's AvailabilityResponse. Answers for jobs not offered to it are logged and ignored (as LiveKit). */
  answer(workerId: string, res: AvailabilityResponse): void {
    const entry = this.jobs.get(res.jobId);
    if (!entry || entry.offeredTo !== workerId) {
      this.opts.logger.warn({ workerID: workerId, jobID: res.jobId }, 'availability response for a job not offered to this worker');
      return;
    }
    this.clearOffer(entry);
    if (res.terminate) {
      this.endJob(entry, JobStatus.JS_SUCCESS, '');
      return;
    }
    if (!res.available) {
      this.counters.declined++;
      this.offerNext(entry, 'worker not available');
      return;
    }
    const now = this.nowNs();
    const state = entry.job.state ?? new JobState();
    state.status = JobStatus.JS_RUNNING;
    state.workerId = workerId;
    state.participantIdentity = res.participantIdentity || `agent-${entry.job.id}`;
    state.startedAt = now;
    state.updatedAt = now;
    entry.job.state = state;
    entry.assignedTo = workerId;
    this.counters.assigned++;
    this.opts.logger.info({ jobID: entry.job.id, workerID: workerId, room: entry.roomName, jobType: JobType[entry.job.type], participant: state.participantIdentity }, 'assigned agent job to worker');
    this.opts.sink.sendAssignment(workerId, entry.job, res);
  }

  /** update_job from the worker running the job. */
  updateJob(workerId: string, update: UpdateJobStatus): void {
    const entry = this.jobs.get(update.jobId);
    if (!entry || entry.assignedTo !== workerId) {
      this.opts.logger.debug({ workerID: workerId, jobID: update.jobId }, 'job update for an unknown job');
      return;
    }
    const state = entry.job.state ?? new JobState();
    state.updatedAt = this.nowNs();
    entry.job.state = state;
    if (update.status === JobStatus.JS_FAILED) {
      this.jobFailed(entry, update.error || 'the worker reported the job failed');
      return;
    }
    state.status = update.status;
    state.error = update.error;
    if (update.status === JobStatus.JS_SUCCESS) {
      this.opts.logger.info({ jobID: entry.job.id, workerID: workerId }, 'agent job ended');
      this.endJob(entry, JobStatus.JS_SUCCESS, update.error);
    }
  }

  listJobs(): JobView[] {
    return [...this.jobs.values()].map((e) => ({
      id: e.job.id,
      roomName: e.roomName,
      dispatchId: e.dispatchId ?? '',
      agentName: e.job.agentName,
      type: e.job.type,
      participantIdentity: e.job.participant?.identity ?? '',
      namespace: e.job.namespace,
      status: e.job.state?.status ?? JobStatus.JS_PENDING,
      offeredTo: e.offeredTo,
      assignedTo: e.assignedTo,
      error: e.job.state?.error ?? '',
    }));
  }

  /** Drops every timer and job. Idempotent. */
  close(): void {
    for (const entry of this.jobs.values()) this.clearOffer(entry);
    this.jobs.clear();
    this.workers.clear();
    this.dispatches.clear();
    this.rooms.clear();
    this.restartTimes.clear();
  }

  // ---- launching ----

  private addDispatch(room: RoomInfo, req: DispatchRequest): AgentDispatch {
    const dispatch = new AgentDispatch({
      id: `AD_${randomBase62()}`,
      agentName: req.agentName,
      room: room.name,
      metadata: req.metadata,
      restartPolicy: req.restartPolicy ?? JobRestartPolicy.JRP_ON_FAILURE,
      deployment: req.deployment ?? '',
      attributes: { ...req.attributes },
      state: new AgentDispatchState({ createdAt: this.nowNs() }),
    });
    this.dispatches.set(dispatch.id, dispatch);
    this.opts.logger.info({ dispatchID: dispatch.id, room: room.name, agentName: req.agentName }, 'agent dispatch created');
    this.launch(dispatch, JobType.JT_ROOM, undefined, true);
    const r = this.rooms.get(room.name);
    for (const p of r?.participants.values() ?? []) {
      if (r?.published.has(p.identity)) this.launchTarget(dispatch, JobType.JT_PUBLISHER, p);
      this.launchTarget(dispatch, JobType.JT_PARTICIPANT, p);
    }
    return dispatch;
  }

  /** Participant jobs only go out when a worker of their kind is registered (as LiveKit). */
  private launchTarget(d: AgentDispatch, type: JobType, p: ParticipantInfo): void {
    this.launch(d, type, p, false);
  }

  /** One job per namespace of the matching workers (one job taking the first taker's namespace when there are none). */
  private launch(d: AgentDispatch, type: JobType, participant: ParticipantInfo | undefined, waitForWorkers: boolean): void {
    const namespaces = new Set<string>();
    for (const w of this.workers.values()) if (this.workerMatches(w, d.agentName, type, d.deployment)) namespaces.add(w.namespace);
    if (namespaces.size === 0) {
      if (!waitForWorkers) return;
      this.launchOne(d, type, participant, undefined);
      return;
    }
    for (const ns of namespaces) this.launchOne(d, type, participant, ns);
  }

  private launchOne(d: AgentDispatch, type: JobType, participant: ParticipantInfo | undefined, namespace: string | undefined): JobEntry | undefined {
    const r = this.rooms.get(d.room);
    if (!r) return undefined;
    const job = new Job({
      id: `AJ_${randomBase62()}`,
      dispatchId: d.id,
      type,
      room: r.info,
      ...(participant ? { participant } : {}),
      namespace: namespace ?? '',
      agentName: d.agentName,
      metadata: d.metadata,
      deployment: d.deployment,
      attributes: { ...d.attributes },
      enableRecording: this.opts.enableRecording ?? false,
      enableRedaction: this.opts.enableRedaction ?? false,
      state: new JobState({ status: JobStatus.JS_PENDING }),
    });
    d.state?.jobs.push(job);
    const entry: JobEntry = { job, roomName: d.room, dispatchId: d.id, namespaceFixed: namespace !== undefined, attempted: new Set() };
    this.jobs.set(job.id, entry);
    this.counters.launched++;
    this.opts.logger.info({ dispatchID: d.id, jobID: job.id, room: d.room, agentName: d.agentName, jobType: JobType[type], participant: participant?.identity }, 'agent job launched');
    this.offerNext(entry, undefined);
    return entry;
  }

  // ---- failures and restarts ----

  /** The job's worker left or reported failure: restart now, or when its agent (still in the room) leaves. */
  private jobFailed(entry: JobEntry, reason: string): void {
    const identity = entry.job.state?.participantIdentity ?? '';
    if (this.rooms.get(entry.roomName)?.agents.has(identity)) {
      this.opts.logger.warn({ jobID: entry.job.id, workerID: entry.assignedTo, room: entry.roomName, reason }, 'agent job failed; its agent is still in the room, restart when it leaves');
      entry.failedWhilePresent = reason;
      return;
    }
    this.failAndRestart(entry, reason);
  }

  private agentLeft(entry: JobEntry, reason: DisconnectReason): void {
    if (entry.failedWhilePresent !== undefined) {
      this.failAndRestart(entry, entry.failedWhilePresent);
      return;
    }
    const worker = entry.assignedTo;
    if (worker !== undefined && this.workers.has(worker)) this.opts.sink.sendTermination(worker, entry.job.id);
    if (UNEXPECTED_DEPARTURES.has(reason)) {
      this.failAndRestart(entry, `agent participant dropped out of the room (${DisconnectReason[reason]})`);
      return;
    }
    this.opts.logger.info({ jobID: entry.job.id, workerID: worker, room: entry.roomName, reason: DisconnectReason[reason] }, 'agent left the room; job ended');
    this.endJob(entry, JobStatus.JS_SUCCESS, '');
  }

  private failAndRestart(entry: JobEntry, reason: string): void {
    this.endJob(entry, JobStatus.JS_FAILED, reason);
    const d = entry.dispatchId !== undefined ? this.dispatches.get(entry.dispatchId) : undefined;
    const r = this.rooms.get(entry.roomName);
    const log = { jobID: entry.job.id, room: entry.roomName, dispatchID: entry.dispatchId, reason };
    if (!d || !r) {
      this.opts.logger.warn(log, 'agent job failed');
      return;
    }
    if (d.restartPolicy === JobRestartPolicy.JRP_NEVER) {
      this.opts.logger.warn(log, 'agent job failed; its dispatch never restarts');
      return;
    }
    const target = entry.job.participant;
    if (target && !r.participants.has(target.identity)) {
      this.opts.logger.warn(log, 'agent job failed; its participant has left, not restarted');
      return;
    }
    const key = `${d.id}/${entry.job.type}/${target?.identity ?? ''}`;
    const now = this.opts.clock.nowMs();
    const times = (this.restartTimes.get(key) ?? []).filter((t) => now - t < RESTART_WINDOW_MS);
    if (times.length >= MAX_RESTARTS) {
      this.restartTimes.set(key, times);
      this.opts.logger.error({ ...log, restarts: times.length }, `agent job failed ${MAX_RESTARTS + 1} times in ${RESTART_WINDOW_MS / 60_000} min; not restarted again`);
      return;
    }
    times.push(now);
    this.restartTimes.set(key, times);
    this.counters.restarted++;
    const next = this.launchOne(d, entry.job.type, target ?? undefined, entry.namespaceFixed ? entry.job.namespace : undefined);
    this.opts.logger.warn({ ...log, newJobID: next?.job.id, restart: times.length }, 'agent job failed; restarting it');
  }

  // ---- offers ----

  private nowNs(): bigint {
    return BigInt(Math.round(this.opts.clock.wallMs())) * 1_000_000n;
  }

  private ensureRoom(room: RoomInfo): void {
    if (!this.rooms.has(room.name)) this.rooms.set(room.name, { info: room, participants: new Map(), published: new Set(), agents: new Set() });
  }

  /** The restart budgets of a dispatch's targets (keys `dispatch/type/identity`). */
  private forgetRestarts(dispatchId: string): void {
    for (const key of [...this.restartTimes.keys()]) if (key.startsWith(`${dispatchId}/`)) this.restartTimes.delete(key);
  }

  private roomEntry(room: RoomInfo): RoomEntry | undefined {
    const r = this.rooms.get(room.name);
    if (r) r.info = room;
    return r;
  }

  private dispatchesOf(roomName: string): AgentDispatch[] {
    return [...this.dispatches.values()].filter((d) => d.room === roomName);
  }

  private workerMatches(w: WorkerEntry, agentName: string, type: JobType, deployment: string): boolean {
    return w.agentName === agentName && w.jobType === type && w.deployment === deployment;
  }

  /** A worker not offered this job yet, at random weighted by spare capacity (LiveKit selectWorkerWeightedByLoad). */
  private choose(entry: JobEntry): WorkerEntry | undefined {
    const candidates: { w: WorkerEntry; weight: number }[] = [];
    let sum = 0;
    for (const w of this.workers.values()) {
      if (entry.onlyWorkerId !== undefined) {
        if (w.id !== entry.onlyWorkerId) continue;
      } else {
        if (!this.workerMatches(w, entry.job.agentName, entry.job.type, entry.job.deployment)) continue;
        if (entry.namespaceFixed && w.namespace !== entry.job.namespace) continue;
      }
      if (w.status !== WorkerStatus.WS_AVAILABLE || entry.attempted.has(w.id)) continue;
      const weight = Math.max(0, 1 - w.load);
      if (weight <= 0) continue;
      candidates.push({ w, weight });
      sum += weight;
    }
    if (candidates.length === 0) return undefined;
    let pick = this.random() * sum;
    for (const c of candidates) {
      pick -= c.weight;
      if (pick < 0) return c.w;
    }
    return candidates[candidates.length - 1]!.w;
  }

  private offerNext(entry: JobEntry, reason: string | undefined): void {
    this.clearOffer(entry);
    if (reason) this.opts.logger.info({ jobID: entry.job.id, room: entry.roomName, reason }, 'agent job not taken; trying the next worker');
    if (entry.onlyWorkerId !== undefined) {
      this.endJob(entry, JobStatus.JS_FAILED, reason ?? 'not taken');
      return;
    }
    const w = this.choose(entry);
    if (!w) {
      this.opts.logger.info({ jobID: entry.job.id, room: entry.roomName, agentName: entry.job.agentName, jobType: JobType[entry.job.type] }, 'no agent worker available; job pending');
      return;
    }
    this.offer(entry, w);
  }

  private offer(entry: JobEntry, w: WorkerEntry): void {
    entry.attempted.add(w.id);
    entry.offeredTo = w.id;
    if (!entry.namespaceFixed) entry.job.namespace = w.namespace;
    this.counters.offered++;
    entry.timer = this.opts.clock.setTimeout(() => {
      entry.timer = undefined;
      if (entry.offeredTo !== w.id) return;
      this.counters.timedOut++;
      this.offerNext(entry, 'availability timeout');
    }, this.opts.availabilityTimeoutMs ?? AVAILABILITY_TIMEOUT_MS);
    this.opts.sink.sendAvailability(w.id, entry.job);
  }

  /** Pending jobs (no offer out, not assigned) get another try. */
  private offerPending(): void {
    for (const entry of [...this.jobs.values()]) {
      if (entry.offeredTo === undefined && entry.assignedTo === undefined && entry.onlyWorkerId === undefined) {
        const w = this.choose(entry);
        if (w) this.offer(entry, w);
      }
    }
  }

  private clearOffer(entry: JobEntry): void {
    if (entry.timer !== undefined) this.opts.clock.clearTimeout(entry.timer);
    entry.timer = undefined;
    entry.offeredTo = undefined;
  }

  private endJob(entry: JobEntry, status: JobStatus, error: string): void {
    this.clearOffer(entry);
    if (!this.jobs.delete(entry.job.id)) return;
    const state = entry.job.state ?? new JobState();
    state.status = status;
    state.error = error;
    state.endedAt = this.nowNs();
    state.updatedAt = state.endedAt;
    entry.job.state = state;
    if (status === JobStatus.JS_FAILED) this.counters.failed++;
    else if (entry.assignedTo !== undefined) this.counters.succeeded++;
  }
}
